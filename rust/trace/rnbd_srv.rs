// SPDX-License-Identifier: GPL-2.0-or-later

//! The `rnbd_srv` events of C's `rnbd-srv-trace.h`: `create_sess` and `destroy_sess` (class
//! `rnbd_srv_link_class`), `process_rdma`, `process_msg_sess_info`, `process_msg_open` and
//! `process_msg_close`.
//!
//! C header: [rnbd/server/rnbd-srv-trace.h](../../rnbd/server/rnbd-srv-trace.h).

use super::{enabled_fn, str_arg, Dir};
use crate::bindings;

/// `create_sess` or `destroy_sess`, named as in C.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LinkEvent {
    /// `create_sess`: a session was set up for a new RTRS session.
    CreateSess,
    /// `destroy_sess`: a session with devices still open ends (C fires it only then).
    DestroySess,
}

enabled_fn! {
    fn create_sess_enabled = rnbd_rs_trace_create_sess_enabled;
}
enabled_fn! {
    fn destroy_sess_enabled = rnbd_rs_trace_destroy_sess_enabled;
}

impl LinkEvent {
    /// Whether the event is on.
    #[inline]
    pub(crate) fn enabled(self) -> bool {
        match self {
            Self::CreateSess => create_sess_enabled(),
            Self::DestroySess => destroy_sess_enabled(),
        }
    }

    /// Records the event for session `sessname` of queue depth `qdepth`.
    pub(crate) fn fire(self, sessname: &[u8], qdepth: i32) {
        let (sessname, sessname_len) = str_arg(sessname);
        let arg = bindings::rnbd_rs_trace_srv_link {
            sessname,
            sessname_len,
            qdepth,
        };
        let f = match self {
            Self::CreateSess => bindings::rnbd_rs_trace_create_sess,
            Self::DestroySess => bindings::rnbd_rs_trace_destroy_sess,
        };
        // SAFETY: `arg` and the name it points to live across the call; the C function
        // only copies them into the trace buffer.
        unsafe { f(&arg) };
    }
}

/// The fields of `process_rdma`: an IO message as it arrived.
pub(crate) struct ProcessRdma<'a> {
    /// The session name.
    pub(crate) sessname: &'a [u8],
    /// The RTRS direction of the request.
    pub(crate) dir: Dir,
    /// The session's protocol version.
    pub(crate) ver: u8,
    /// The message's device id.
    pub(crate) device_id: u32,
    /// The message's sector.
    pub(crate) sector: u64,
    /// The message's `rw` word (operation and flags, `enum rnbd_io_flags`).
    pub(crate) flags: u32,
    /// The message's `bi_size`.
    pub(crate) bi_size: u32,
    /// The message's priority.
    pub(crate) ioprio: u16,
    /// Length of the request's data area.
    pub(crate) datalen: u32,
    /// Length of the message.
    pub(crate) usrlen: usize,
}

enabled_fn! {
    /// Whether `process_rdma` is on; check before gathering its fields (IO path).
    pub(crate) fn process_rdma_enabled = rnbd_rs_trace_process_rdma_enabled;
}

/// Records `process_rdma` (nothing if it is off).
pub(crate) fn process_rdma(p: &ProcessRdma<'_>) {
    let (sessname, sessname_len) = str_arg(p.sessname);
    let arg = bindings::rnbd_rs_trace_process_rdma {
        sessname,
        sessname_len,
        // CAST: `Dir` is 0 or 1.
        dir: p.dir as u8,
        ver: p.ver,
        device_id: p.device_id,
        sector: p.sector,
        flags: p.flags,
        bi_size: p.bi_size,
        ioprio: p.ioprio,
        datalen: p.datalen,
        usrlen: p.usrlen,
    };
    // SAFETY: `arg` and the name it points to live across the call; the C function only
    // copies them into the trace buffer.
    unsafe { bindings::rnbd_rs_trace_process_rdma(&arg) };
}

enabled_fn! {
    /// Whether `process_msg_sess_info` is on.
    pub(crate) fn sess_info_enabled = rnbd_rs_trace_process_msg_sess_info_enabled;
}

/// Records `process_msg_sess_info`: session `sessname` agreed on `proto_ver`, the client
/// sent `clt_ver`, the server speaks `srv_ver`.
pub(crate) fn sess_info(sessname: &[u8], proto_ver: u8, clt_ver: u8, srv_ver: u8) {
    let (sessname, sessname_len) = str_arg(sessname);
    let arg = bindings::rnbd_rs_trace_sess_info {
        sessname,
        sessname_len,
        proto_ver,
        clt_ver,
        srv_ver,
    };
    // SAFETY: `arg` and the name it points to live across the call; the C function only
    // copies them into the trace buffer.
    unsafe { bindings::rnbd_rs_trace_process_msg_sess_info(&arg) };
}

enabled_fn! {
    /// Whether `process_msg_open` is on.
    pub(crate) fn msg_open_enabled = rnbd_rs_trace_process_msg_open_enabled;
}

/// Records `process_msg_open`: session `sessname` asks for `dev_name` in `access_mode`
/// (numbered as `enum rnbd_access_mode`).
pub(crate) fn msg_open(sessname: &[u8], dev_name: &[u8], access_mode: u8) {
    let (sessname, sessname_len) = str_arg(sessname);
    let (dev_name, dev_name_len) = str_arg(dev_name);
    let arg = bindings::rnbd_rs_trace_msg_open {
        sessname,
        sessname_len,
        dev_name,
        dev_name_len,
        access_mode,
    };
    // SAFETY: `arg` and the strings it points to live across the call; the C function
    // only copies them into the trace buffer.
    unsafe { bindings::rnbd_rs_trace_process_msg_open(&arg) };
}

enabled_fn! {
    /// Whether `process_msg_close` is on.
    pub(crate) fn msg_close_enabled = rnbd_rs_trace_process_msg_close_enabled;
}

/// Records `process_msg_close`: session `sessname` closes `device_id`.
pub(crate) fn msg_close(sessname: &[u8], device_id: u32) {
    let (sessname, sessname_len) = str_arg(sessname);
    let arg = bindings::rnbd_rs_trace_msg_close {
        sessname,
        sessname_len,
        device_id,
    };
    // SAFETY: `arg` and the name it points to live across the call; the C function only
    // copies them into the trace buffer.
    unsafe { bindings::rnbd_rs_trace_process_msg_close(&arg) };
}
