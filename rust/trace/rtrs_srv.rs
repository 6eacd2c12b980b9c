// SPDX-License-Identifier: GPL-2.0-or-later

//! The `rtrs_srv` event of C's `rtrs-srv-trace.h`: `send_io_resp_imm`, an IO response
//! sent by immediate data (no RDMA WRITE of data: every WRITE, READs without data and
//! failed requests).
//!
//! C header: [rtrs/server/rtrs-srv-trace.h](../../rtrs/server/rtrs-srv-trace.h).

use super::{enabled_fn, str_arg, Dir};
use crate::bindings;

/// The fields of `send_io_resp_imm`.
pub(crate) struct RespImm<'a> {
    /// The path's sysfs directory name (`<client>@<server>`; C calls the field `sessname`).
    pub(crate) sessname: &'a [u8],
    /// The request's direction.
    pub(crate) dir: Dir,
    /// The response invalidates the client's rkey (SEND_WITH_INV).
    pub(crate) need_inval: bool,
    /// The `always_invalidate` module parameter.
    pub(crate) always_invalidate: bool,
    /// The request's chunk (`buf_id`).
    pub(crate) msg_id: u32,
    /// The connection's response counter before this response.
    pub(crate) wr_cnt: i32,
    /// Every `signal_interval`-th response is signalled.
    pub(crate) signal_interval: u32,
    /// The path's state, numbered as `enum rtrs_srv_state`.
    pub(crate) state: i32,
    /// The errno answered (0 or negative).
    pub(crate) errno: i32,
}

enabled_fn! {
    /// Whether `send_io_resp_imm` is on; check before gathering its fields (IO path).
    pub(crate) fn send_io_resp_imm_enabled = rnbd_rs_trace_send_io_resp_imm_enabled;
}

/// Records `send_io_resp_imm` (nothing if it is off). Any context.
pub(crate) fn send_io_resp_imm(r: &RespImm<'_>) {
    let (sessname, sessname_len) = str_arg(r.sessname);
    let arg = bindings::rnbd_rs_trace_srv_resp {
        sessname,
        sessname_len,
        // CAST: `Dir` is 0 or 1.
        dir: r.dir as u8,
        need_inval: r.need_inval,
        always_invalidate: r.always_invalidate,
        msg_id: r.msg_id,
        wr_cnt: r.wr_cnt,
        signal_interval: r.signal_interval,
        state: r.state,
        errno: r.errno,
    };
    // SAFETY: `arg` and the name it points to live across the call; the C function only
    // copies them into the trace buffer and may run in any context.
    unsafe { bindings::rnbd_rs_trace_send_io_resp_imm(&arg) };
}
