// SPDX-License-Identifier: GPL-2.0-or-later

//! Self-test of `rust/rdma`.
//!
//! PLACEHOLDER, ABSENT TEST: this file only gives `ctl/rdma` something to call until the
//! `rdma` area's own `rdma_test.rs` replaces it at merge.

use kernel::prelude::*;

/// Runs the `rdma` self-test with the argument written to `ctl/rdma`.
///
/// Absent: always fails with `ENODEV`.
pub(crate) fn run(_arg: &str) -> Result {
    pr_warn!("rdma self-test: absent in this build (placeholder)\n");
    Err(ENODEV)
}
