// SPDX-License-Identifier: GPL-2.0-or-later

//! Host build of the modules' pure-logic files, for `cargo test`.
//!
//! Each file is included by path exactly as the module crates include it, at the same
//! place in the crate (so `crate::addr` resolves the same way in both builds).
#![allow(dead_code, unreachable_pub)]

#[path = "../../../rtrs/common/addr.rs"]
mod addr;
#[path = "../../../rtrs/common/addr_fmt.rs"]
mod addr_fmt;
#[path = "../../../rnbd/server/dev_path.rs"]
mod dev_path;
#[path = "../../../rtrs/common/hb.rs"]
mod hb;
#[path = "../../../rtrs/common/imm.rs"]
mod imm;
#[path = "../../../rnbd/client/map_opts.rs"]
mod map_opts;
#[path = "../../../rtrs/client/mp_policy.rs"]
mod mp_policy;
#[path = "../../../rtrs/common/msg.rs"]
mod msg;
#[path = "../../../rnbd/client/naming.rs"]
mod naming;
#[path = "../../../rtrs/client/permit.rs"]
mod permit;
#[path = "../../../rnbd/common/proto.rs"]
mod proto;
#[path = "../../../rtrs/client/recon.rs"]
mod recon;
#[path = "../../../rnbd/client/rq_flags.rs"]
mod rq_flags;
#[path = "../../../rtrs/client/state.rs"]
mod state;
#[path = "../../../rtrs/common/wire.rs"]
mod wire;

/// Property and fuzz tests of the parsers of peer and sysfs input.
#[cfg(test)]
mod fuzz;
