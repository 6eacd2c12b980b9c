// SPDX-License-Identifier: GPL-2.0-or-later

//! Self-test of `rust/block`.
//!
//! PLACEHOLDER, ABSENT TEST: this file only gives `ctl/block` something to call until the
//! `block` area's own `block_test.rs` replaces it at merge.

use kernel::prelude::*;

/// Runs the `block` self-test with the argument written to `ctl/block`.
///
/// Absent: always fails with `ENODEV`.
pub(crate) fn run(_arg: &str) -> Result {
    pr_warn!("block self-test: absent in this build (placeholder)\n");
    Err(ENODEV)
}
