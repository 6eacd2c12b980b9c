// SPDX-License-Identifier: GPL-2.0-or-later

//! The `rtrs_clt` events of C's `rtrs-clt-trace.h`: `rtrs_clt_reconnect_work`,
//! `rtrs_clt_close_conns` and `rtrs_rdma_error_recovery` (class `rtrs_clt_conn_class`).
//!
//! C header: [rtrs/client/rtrs-clt-trace.h](../../rtrs/client/rtrs-clt-trace.h).

use super::{enabled_fn, str_arg};
use crate::bindings;

/// An event of the class, named as in C.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ConnEvent {
    /// `rtrs_clt_reconnect_work`: a reconnect attempt starts.
    ReconnectWork,
    /// `rtrs_clt_close_conns`: the path is being closed.
    CloseConns,
    /// `rtrs_rdma_error_recovery`: an error on the path.
    RdmaErrorRecovery,
}

/// The fields of an event: a client path as it is when the event fires.
pub(crate) struct Conn<'a> {
    /// The path's sysfs directory name (`<src>@<dst>`; C calls the field `sessname`).
    pub(crate) sessname: &'a [u8],
    /// The path's state, numbered as `enum rtrs_clt_state`.
    pub(crate) state: i32,
    /// Reconnect attempts since the path was last connected.
    pub(crate) reconnect_attempts: i32,
    /// The session's `max_reconnect_attempts`.
    pub(crate) max_reconnect_attempts: i32,
    /// Failed reconnects (`stats/reconnects`, second number).
    pub(crate) fail_cnt: i32,
    /// Successful reconnects (`stats/reconnects`, first number).
    pub(crate) success_cnt: i32,
}

enabled_fn! {
    fn reconnect_work_enabled = rnbd_rs_trace_rtrs_clt_reconnect_work_enabled;
}
enabled_fn! {
    fn close_conns_enabled = rnbd_rs_trace_rtrs_clt_close_conns_enabled;
}
enabled_fn! {
    fn rdma_error_recovery_enabled = rnbd_rs_trace_rtrs_rdma_error_recovery_enabled;
}

impl ConnEvent {
    /// Whether the event is on; check before gathering its fields.
    #[inline]
    pub(crate) fn enabled(self) -> bool {
        match self {
            Self::ReconnectWork => reconnect_work_enabled(),
            Self::CloseConns => close_conns_enabled(),
            Self::RdmaErrorRecovery => rdma_error_recovery_enabled(),
        }
    }

    /// Records the event with the fields `c` (nothing if it is off). Any context.
    pub(crate) fn fire(self, c: &Conn<'_>) {
        let (sessname, sessname_len) = str_arg(c.sessname);
        let arg = bindings::rnbd_rs_trace_clt_conn {
            sessname,
            sessname_len,
            state: c.state,
            reconnect_attempts: c.reconnect_attempts,
            max_reconnect_attempts: c.max_reconnect_attempts,
            fail_cnt: c.fail_cnt,
            success_cnt: c.success_cnt,
        };
        let f = match self {
            Self::ReconnectWork => bindings::rnbd_rs_trace_rtrs_clt_reconnect_work,
            Self::CloseConns => bindings::rnbd_rs_trace_rtrs_clt_close_conns,
            Self::RdmaErrorRecovery => bindings::rnbd_rs_trace_rtrs_rdma_error_recovery,
        };
        // SAFETY: `arg` and the name it points to live across the call; the C function
        // only copies them into the trace buffer (at most `sessname_len` bytes of the name)
        // and may run in any context.
        unsafe { f(&arg) };
    }
}
