// SPDX-License-Identifier: GPL-2.0-or-later

//! Self-test of `rust/block`.
