// SPDX-License-Identifier: GPL-2.0-or-later

//! What arrives on a server connection and what goes back: the INFO exchange (§5), the
//! steady receives (§8), requests (§9.4), responses (§9.5, §9.6) and heartbeat answers
//! (§10).
//!
//! C version: `rtrs_srv_info_req_done`, `process_info_req`, `post_recv_path`,
//! `rtrs_srv_rdma_done`, `process_io_req`, `rtrs_srv_inv_rkey_done`, `rdma_write_sg`,
//! `send_io_resp_imm`, `rtrs_srv_resp_rdma` in `drivers/infiniband/ulp/rtrs/rtrs-srv.c`.

use crate::ctx::CmHandler;
use crate::error::errno;
use crate::ffi_api::LinkEv;
use crate::hb::{self, Tick};
use crate::imm::{io_rsp, Imm, ImmLayout, HB_ACK_IMM, HB_MSG_IMM};
use crate::msg::{
    decode_info_req, encode_info_rsp, info_rsp_len, IoHdr, RkeyRsp, SgDesc, INFO_REQ_LEN,
    MAX_IO_HDR_LEN, RKEY_RSP_LEN,
};
use crate::rdma::cq::{Cqe, CqeHandler, Wc, WcOpcode, WcStatus};
use crate::rdma::dma::{DmaBuf, DmaDir};
use crate::rdma::qp::Qp;
use crate::rdma::wr::{Access, RecvWr, SendWr, Sge};
use crate::sess::{Con, Path, PathState};
use crate::sync::{DelayedWork, DelayedWorkItem};
use crate::sysfs_tree::{PathSysfs, SessSysfs};
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::Arc;

/// `SERVICE_CON_QUEUE_DEPTH`: empty receives kept on connection 0.
const SERVICE_RECVS: usize = 512;

impl CqeHandler for Con {
    fn done(this: Arc<Cqe<Self>>, wc: &Wc) {
        if wc.status() != WcStatus::Success {
            if wc.status() != WcStatus::FlushErr {
                pr_err!(
                    "{:?} (vendor {:#x}) on cid {}: closing the path\n",
                    wc.status(),
                    wc.vendor_err(),
                    this.cid
                );
            }
            this.path.schedule_close();
            return;
        }
        match wc.opcode() {
            WcOpcode::Recv if this.cid == 0 => info_req(&this, wc),
            WcOpcode::RecvRdmaWithImm => recv_imm(this, wc),
            WcOpcode::Recv => {
                pr_err!("unexpected SEND on cid {}: closing the path\n", this.cid);
                this.path.schedule_close();
            }
            _ => {}
        }
    }
}

/// Posts connection 0's receive for the INFO_REQ on its new `qp` (before the accept).
pub(crate) fn post_info_recv(con: &Arc<Cqe<Con>>, qp: &Qp) -> Result {
    let path = &con.path;
    let sge = [path
        .info_req
        .sge(0, INFO_REQ_LEN, path.pd.local_dma_lkey())?];
    qp.post_recv(&mut [RecvWr::new(&sge, con.clone())])
}

/// The connection objects of every `cid` of `path`, if all are there.
fn all_cons(path: &Path) -> Result<KVec<Arc<Cqe<Con>>>> {
    let mut v = KVec::with_capacity(usize::from(path.cid_num), GFP_KERNEL)?;
    let cons = path.cons.lock();
    if cons.len() != usize::from(path.cid_num) {
        return Err(EINVAL);
    }
    for c in cons.iter() {
        match c.as_ref().map(|id| id.handler()) {
            Some(CmHandler::Con(con)) => v.push(con.clone(), GFP_KERNEL)?,
            _ => return Err(EINVAL),
        }
    }
    Ok(v)
}

/// Posts `n` empty receives on `con`.
fn post_empty_recvs(con: &Arc<Cqe<Con>>, n: usize) -> Result {
    if n == 1 {
        // The hot path (a re-post per request): no allocation.
        return post_recv(con, &mut [RecvWr::new(&[], con.clone())]);
    }
    let mut wrs = KVec::with_capacity(n, GFP_KERNEL)?;
    for _ in 0..n {
        wrs.push(RecvWr::new(&[], con.clone()), GFP_KERNEL)?;
    }
    post_recv(con, &mut wrs)
}

/// Posts `wrs` on `con`'s receive queue.
fn post_recv(con: &Con, wrs: &mut [RecvWr<'_>]) -> Result {
    let cons = con.path.cons.lock();
    let qp = cons
        .get(usize::from(con.cid))
        .and_then(|c| c.as_ref())
        .and_then(|id| id.qp())
        .ok_or(errno!(ENOTCONN))?;
    qp.post_recv(wrs)
}

/// Posts `wrs` on `con`'s send queue.
fn post_send(con: &Con, wrs: &mut [SendWr<'_>]) -> Result {
    let cons = con.path.cons.lock();
    let qp = cons
        .get(usize::from(con.cid))
        .and_then(|c| c.as_ref())
        .and_then(|id| id.qp())
        .ok_or(errno!(ENOTCONN))?;
    qp.post_send(wrs)
}

impl DelayedWorkItem for Path {
    /// A heartbeat tick (§10): send an `HB_MSG` on connection 0 if something was heard in
    /// the last interval, close the path once too many passed in silence.
    fn run(this: Arc<Self>) {
        if this.state() != PathState::Connected {
            return;
        }
        let tick = this.hb.lock().tick();
        match tick {
            Tick::Dead => {
                pr_err!("heartbeat timeout: closing the path\n");
                return this.schedule_close();
            }
            Tick::Send => {
                let sent = all_cons(&this).and_then(|cons| {
                    let con = cons.first().ok_or(EINVAL)?;
                    let msg =
                        SendWr::rdma_write_with_imm(&[], 0, 0, HB_MSG_IMM).signaled(con.clone());
                    post_send(con, &mut [msg])
                });
                if let Err(e) = sent {
                    pr_err!(
                        "sending a heartbeat failed: {}; closing the path\n",
                        e.to_errno()
                    );
                    return this.schedule_close();
                }
            }
            Tick::Wait => {}
        }
        if let Ok(g) = crate::globals() {
            DelayedWork::queue(&this, &g.wq, hb::INTERVAL_MS);
        }
    }
}

/// INFO_REQ on connection 0 (§5.1 step 3).
fn info_req(con: &Arc<Cqe<Con>>, wc: &Wc) {
    let path = &con.path;
    if let Err(e) = process_info_req(con, wc) {
        pr_err!(
            "processing INFO_REQ failed: {}; closing the path\n",
            e.to_errno()
        );
        path.schedule_close();
    }
}

/// The steps of [`info_req`].
fn process_info_req(con: &Arc<Cqe<Con>>, wc: &Wc) -> Result {
    let path = &con.path;
    let sess = &path.sess;
    if (wc.byte_len() as usize) < INFO_REQ_LEN {
        pr_err!("INFO_REQ of {} bytes\n", wc.byte_len());
        return Err(EINVAL);
    }
    path.info_req.sync_for_cpu();
    let mut b = [0u8; INFO_REQ_LEN];
    path.info_req.read(0, &mut b)?;
    let name = decode_info_req(&b).map_err(|e| {
        pr_err!("bad INFO_REQ: {:?}\n", e);
        EINVAL
    })?;
    if path.state() != PathState::Connecting {
        return Err(EINVAL);
    }
    // Steady receives on every connection (§8).
    let cons = all_cons(path)?;
    for c in cons.iter() {
        let n = if c.cid == 0 {
            SERVICE_RECVS
        } else {
            usize::from(sess.queue_depth)
        };
        post_empty_recvs(c, n)?;
    }
    // The name must not belong to another client session (§13).
    {
        let sessions = path.ctx.sessions.lock();
        for s in sessions.iter() {
            if Arc::ptr_eq(s, sess) {
                continue;
            }
            if s.inner.lock().name.as_slice() == name {
                pr_err!("session name already used by another client\n");
                return Err(EPERM);
            }
        }
    }
    let first = {
        let mut si = sess.inner.lock();
        if si.name.is_empty() {
            si.name.extend_from_slice(name, GFP_KERNEL)?;
        }
        if si.sysfs.is_none() {
            si.sysfs = Some(SessSysfs::new(&si.name)?);
        }
        if let Some(ss) = si.sysfs.as_ref() {
            *path.sysfs.lock() = Some(PathSysfs::new(ss.paths.kobject(), path)?);
        }
        if !path.change_state(PathState::Connecting, PathState::Connected) {
            return Err(EINVAL);
        }
        if let Ok(g) = crate::globals() {
            DelayedWork::queue(path, &g.wq, hb::INTERVAL_MS);
        }
        si.connected += 1;
        si.connected == 1
    };
    if first && path.ctx.ops.link_ev(sess, LinkEv::Connected) != 0 {
        pr_err!("link_ev CONNECTED refused by the user\n");
        return Err(EINVAL);
    }
    send_info_rsp(con)
}

/// The REG_MR chain of every MR and the INFO_RSP (§5.1 step 3.5).
fn send_info_rsp(con: &Arc<Cqe<Con>>) -> Result {
    let path = &con.path;
    let sess = &path.sess;
    let nr = path.nr_mrs;
    let mut descs = KVec::with_capacity(nr, GFP_KERNEL)?;
    let wrs: KVec<SendWr<'_>> = KVec::with_capacity(nr + 1, GFP_KERNEL)?;
    let mut raw = KVec::from_elem(0u8, info_rsp_len(nr), GFP_KERNEL)?;
    let mut buf = DmaBuf::new(&path.dev, info_rsp_len(nr), DmaDir::ToDevice)?;
    let mrs = path.mrs.lock();
    for m in mrs.iter() {
        descs.push(
            SgDesc {
                addr: m.mr.iova(),
                key: m.mr.rkey(),
                len: m.count * sess.chunk_size,
            },
            GFP_ATOMIC,
        )?;
    }
    let len = info_rsp_len(descs.len());
    encode_info_rsp(&mut raw, &descs).map_err(|_| EINVAL)?;
    buf.write(0, &raw)?;
    buf.sync_for_device();
    let sge = [buf.sge(0, len, path.pd.local_dma_lkey())?];
    let mut wrs = wrs;
    for m in mrs.iter() {
        wrs.push(
            SendWr::reg_mr(&m.mr, Access::LOCAL_WRITE | Access::REMOTE_WRITE),
            GFP_ATOMIC,
        )?;
    }
    wrs.push(SendWr::send(&sge).signaled(con.clone()), GFP_ATOMIC)?;
    post_send(con, &mut wrs)?;
    drop(wrs);
    drop(mrs);
    // Kept until the path goes: the SEND may still read it.
    *path.info_rsp.lock() = Some(buf);
    Ok(())
}

/// A RECV_RDMA_WITH_IMM completion: re-post, then dispatch on the immediate (§9.4).
fn recv_imm(con: Arc<Cqe<Con>>, wc: &Wc) {
    let path = &con.path;
    path.hb.lock().heard();
    if let Err(e) = post_empty_recvs(&con, 1) {
        pr_err!("re-posting a receive failed: {}\n", e.to_errno());
        path.schedule_close();
        return;
    }
    let Some(imm) = wc.imm_data() else {
        pr_err!("RDMA write without immediate data: closing the path\n");
        path.schedule_close();
        return;
    };
    let sess = &path.sess;
    match ImmLayout::new(sess.queue_depth).decode(imm) {
        Imm::IoReq { buf_id, off } => {
            if buf_id >= u32::from(sess.queue_depth) || off >= sess.chunk_size {
                pr_err!(
                    "IO_REQ for chunk {} offset {}: closing the path\n",
                    buf_id,
                    off
                );
                path.schedule_close();
                return;
            }
            io_req(con, buf_id, off);
        }
        Imm::HbMsg => {
            if let Err(e) = post_send(
                &con,
                &mut [SendWr::rdma_write_with_imm(&[], 0, 0, HB_ACK_IMM)],
            ) {
                pr_err!("sending HB_ACK failed: {}\n", e.to_errno());
                path.schedule_close();
            }
        }
        Imm::HbAck => {}
        Imm::IoRsp { .. } | Imm::Unknown(_) => {
            pr_warn!("unknown immediate {:#x} ignored\n", imm);
        }
    }
}

/// A request waiting for the LOCAL_INV of its chunk's MR (`always_invalidate`).
pub(crate) struct InvWait {
    /// The connection the request came on.
    con: Arc<Cqe<Con>>,
    /// The chunk.
    buf_id: u32,
    /// Offset of the header in the chunk.
    off: u32,
}

impl CqeHandler for InvWait {
    fn done(this: Arc<Cqe<Self>>, wc: &Wc) {
        if wc.status() != WcStatus::Success {
            pr_err!("LOCAL_INV failed ({:?}): closing the path\n", wc.status());
            this.con.path.schedule_close();
            return;
        }
        process_io(this.con.clone(), this.buf_id, this.off);
    }
}

/// An IO_REQ for chunk `buf_id` (checked): invalidate first, or process now.
fn io_req(con: Arc<Cqe<Con>>, buf_id: u32, off: u32) {
    let path = &con.path;
    if !path.sess.always_invalidate {
        return process_io(con, buf_id, off);
    }
    let rkey = {
        let mrs = path.mrs.lock();
        // CAST: `buf_id` is below the queue depth, a `u16`.
        match mrs.get(buf_id as usize) {
            Some(m) => m.mr.rkey(),
            None => return path.schedule_close(),
        }
    };
    let res = Cqe::new(InvWait {
        con: con.clone(),
        buf_id,
        off,
    })
    .and_then(|w| post_send(&con, &mut [SendWr::local_inv(rkey).signaled(w)]));
    if let Err(e) = res {
        pr_err!("posting LOCAL_INV failed: {}\n", e.to_errno());
        path.schedule_close();
    }
}

/// A request the user is serving: the `rtrs_srv_op` handle of `rdma_ev`.
pub(crate) struct Op {
    /// The connection the request came on; the response goes there too.
    con: Arc<Cqe<Con>>,
    /// The chunk.
    buf_id: u32,
    /// The decoded RTRS header.
    hdr: IoHdr,
}

impl Drop for Op {
    fn drop(&mut self) {
        let path = &self.con.path;
        if path.inflight.fetch_sub(1, Ordering::AcqRel) == 1 {
            path.ops_done.complete();
        }
    }
}

/// Processes a request: decodes its header and hands it to the user (§9.4).
fn process_io(con: Arc<Cqe<Con>>, buf_id: u32, off: u32) {
    let path = &con.path;
    if path.state() != PathState::Connected {
        return;
    }
    let sess = &path.sess;
    // CAST: `buf_id` is below the queue depth (checked); `off` below the chunk size.
    let (idx, off) = (buf_id as usize, off as usize);
    let Some(map) = path.maps.get(idx) else {
        return path.schedule_close();
    };
    map.sync_for_cpu();
    let chunk = map.buf();
    let mut win = [0u8; MAX_IO_HDR_LEN];
    let n = MAX_IO_HDR_LEN.min(chunk.len() - off);
    if chunk.read(off, &mut win[..n]).is_err() {
        return path.schedule_close();
    }
    let hdr = match IoHdr::decode_at(&win[..n], off, chunk.len()) {
        Ok(h) => h,
        Err(e) => {
            pr_err!(
                "bad request in chunk {} at {}: {:?}; closing the path\n",
                buf_id,
                off,
                e
            );
            return path.schedule_close();
        }
    };
    let usr_len = usize::from(hdr.usr_len());
    let data_len = off - usr_len;
    let (cnt, bytes) = match hdr {
        IoHdr::Read { .. } => (&path.stats.read_cnt, &path.stats.read_bytes),
        IoHdr::Write { .. } => (&path.stats.write_cnt, &path.stats.write_bytes),
    };
    cnt.fetch_add(1, Ordering::Relaxed);
    // CAST: `off` is below the chunk size.
    bytes.fetch_add(off as u64, Ordering::Relaxed);
    let (Ok(data), Ok(usr)) = (chunk.cpu_ptr(0), chunk.cpu_ptr(data_len)) else {
        return path.schedule_close();
    };
    path.inflight.fetch_add(1, Ordering::AcqRel);
    // From here the `Op`'s drop accounts for it.
    let op = match Arc::new(
        Op {
            con: con.clone(),
            buf_id,
            hdr,
        },
        GFP_KERNEL,
    ) {
        Ok(op) => op,
        Err(_) => {
            path.inflight.fetch_sub(1, Ordering::AcqRel);
            return path.schedule_close();
        }
    };
    if let Err((op, err)) = path.ctx.ops.rdma_ev(sess, op, data, data_len, usr, usr_len) {
        respond(op, err);
    }
}

/// Sends the response of `op` with status `errno` (0 or negative).
///
/// The user may answer from any context, hardirq included (bio completions), while the
/// connection and MR locks are taken in process context: the chain is therefore built and
/// posted from the module's workqueue. False if even that could not be queued.
pub(crate) fn respond(op: Arc<Op>, errno: i32) -> bool {
    // Even for a closed path the op goes to the workqueue: it may hold the last reference
    // to the path, whose teardown sleeps. Nothing here keeps another reference for the
    // same reason; if queueing fails the request stays unanswered (as when C fails to
    // post) and the client's heartbeat or timeout ends the path.
    let queued = crate::globals().and_then(|g| {
        g.wq.try_spawn(GFP_ATOMIC, move || respond_now(&op, errno))
            .map_err(|_| ENOMEM)
    });
    if queued.is_err() {
        pr_err!("queueing a response failed\n");
        return false;
    }
    true
}

/// Posts the response chain of `op`, in process context.
fn respond_now(op: &Op, errno: i32) {
    let path = &op.con.path;
    if path.state() != PathState::Connected {
        return;
    }
    if let Err(e) = build_and_post(op, errno) {
        pr_err!(
            "posting the response failed: {}; closing the path\n",
            e.to_errno()
        );
        path.schedule_close();
    }
}

/// The chains of §9.5, posted on the request's connection.
fn build_and_post(op: &Op, errno: i32) -> Result {
    let con = &op.con;
    let path = &con.path;
    let sess = &path.sess;
    // CAST: `buf_id` is below the queue depth.
    let idx = op.buf_id as usize;
    let lkey = path.pd.local_dma_lkey();
    let (need_inval, desc) = match op.hdr {
        IoHdr::Read {
            need_inval, desc, ..
        } => (need_inval, desc),
        IoHdr::Write { .. } => (false, None),
    };
    let map = path.maps.get(idx).ok_or(EINVAL)?;
    // The data of a successful READ goes first, from the start of the chunk.
    let data_desc = desc.filter(|_| errno == 0);
    let data_sge = [Sge::new(
        map.dma_addr(),
        data_desc.map_or(0, |d| d.len),
        lkey,
    )];
    // `always_invalidate`: the chunk's RKEY_RSP slot.
    let rkey_off = idx * RKEY_RSP_LEN;
    let rkey_sge = [Sge::new(
        path.rkey_bufs.as_ref().map_or(0, |b| b.dma_addr()) + rkey_off as u64,
        // CAST: 8 bytes.
        RKEY_RSP_LEN as u32,
        lkey,
    )];
    let mut wrs: KVec<SendWr<'_>> = KVec::with_capacity(4, GFP_KERNEL)?;
    if let Some(d) = data_desc {
        if d.len == 0 || d.len > sess.chunk_size {
            return Err(EINVAL);
        }
        map.sync_for_device();
        wrs.push(SendWr::rdma_write(&data_sge, d.addr, d.key), GFP_KERNEL)?;
    }
    let inval_key = desc.map(|d| d.key).filter(|_| need_inval);
    let imm = io_rsp(op.buf_id, errno, inval_key.is_some());
    if !sess.always_invalidate {
        if let Some(key) = inval_key {
            wrs.push(SendWr::send_with_inv(&[], key), GFP_KERNEL)?;
        }
        wrs.push(
            SendWr::rdma_write_with_imm(&[], 0, 0, imm).signaled(con.clone()),
            GFP_KERNEL,
        )?;
        return post_send(con, &mut wrs);
    }
    // always_invalidate: register the chunk under a new key and tell the client.
    let mut mrs = path.mrs.lock();
    let m = mrs.get_mut(idx).ok_or(EINVAL)?;
    m.mr.inc_rkey();
    let rsp = RkeyRsp {
        // CAST: `buf_id` is below the queue depth, a `u16`.
        buf_id: op.buf_id as u16,
        rkey: m.mr.rkey(),
    }
    .encode();
    let rkey_buf = path.rkey_bufs.as_ref().ok_or(EINVAL)?;
    rkey_buf.buf().write(rkey_off, &rsp)?;
    rkey_buf.sync_for_device();
    let reg = SendWr::reg_mr(&m.mr, Access::LOCAL_WRITE | Access::REMOTE_WRITE);
    match (data_desc.is_some(), inval_key) {
        (true, Some(key)) => {
            wrs.push(reg, GFP_KERNEL)?;
            wrs.push(SendWr::send_with_inv(&[], key), GFP_KERNEL)?;
        }
        (false, Some(key)) => {
            wrs.push(SendWr::send_with_inv(&[], key), GFP_KERNEL)?;
            wrs.push(reg, GFP_KERNEL)?;
        }
        (_, None) => wrs.push(reg, GFP_KERNEL)?,
    }
    wrs.push(
        SendWr::send_with_imm(&rkey_sge, imm).signaled(con.clone()),
        GFP_KERNEL,
    )?;
    post_send(con, &mut wrs)
}
