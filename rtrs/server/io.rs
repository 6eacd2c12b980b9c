// SPDX-License-Identifier: GPL-2.0-or-later

//! What arrives on a server connection and what goes back: the INFO exchange (§5), the
//! steady receives (§8), requests (§9.4), responses (§9.5, §9.6), send signalling (§9.8)
//! and heartbeat answers (§10).
//!
//! The IO path allocates nothing and takes no lock shared by several connections. Every
//! chunk has an [`OpSlot`], made with the path: a request claims its chunk's slot (a peer
//! reusing a chunk that is still in use is a protocol error that closes the path) and the
//! slot is the `rtrs_srv_op` handle the user answers with [`respond`], from any context.
//! The response is posted right there, on the connection the request came on, which the
//! request reaches through its [`Pass`] of the path's connection table. Responses are
//! signalled every `interval`-th only; [`SqBudget`] keeps the send queue from overflowing
//! and parks a response for a later send completion when it is full, as C does.
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
use crate::rdma::cm::CmId;
use crate::rdma::cq::{Cqe, CqeHandler, Wc, WcOpcode, WcStatus};
use crate::rdma::dma::{DmaBuf, DmaDir};
use crate::rdma::qp::Qp;
use crate::rdma::wr::{Access, ErrorSink, RecvWr, SendWr, Sge};
use crate::sess::{Con, Path, PathState, Sess, CONNECTING_TIMEOUT_MS};
use crate::sync::{DelayedWork, DelayedWorkItem, Pass, TryLock, TryLockGuard};
use crate::sysfs_tree::{addr_text, PathSysfs, SessSysfs};
use crate::trace::{self, rtrs_srv::RespImm, Dir, NameBuf};
use core::num::NonZeroU32;
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use kernel::prelude::*;
use kernel::sync::Arc;

/// `SERVICE_CON_QUEUE_DEPTH`: empty receives kept on connection 0.
const SERVICE_RECVS: usize = 512;
/// Largest signal interval (C: `min(queue_depth, SERVICE_CON_QUEUE_DEPTH)`).
const MAX_SIGNAL_INTERVAL: u32 = 512;
/// Send-queue entries kept aside for heartbeat messages and answers.
const HB_WRS: u32 = 4;
/// Scans of the chunks for parked responses per send completion, at most.
const RETRY_SCANS: u32 = 4;

/// The connections of a connected path, by `cid`: what the IO path posts on.
///
/// Lives in the path's gate from the INFO exchange until the path closes; the reference
/// to the path (a cycle) keeps the path, hence every [`OpSlot`], alive while a pass exists,
/// and goes when closing takes the table out.
pub(crate) struct ConTable {
    /// The path.
    pub(crate) path: Arc<Path>,
    /// Its rdma_cm ids, index = `cid`, all present; each owns its QP.
    pub(crate) ids: KVec<Option<CmId<CmHandler>>>,
}

impl ConTable {
    /// The QP and the connection object of `cid`.
    fn con(&self, cid: u16) -> Option<(&Qp, &Arc<Cqe<Con>>)> {
        let id = self.ids.get(usize::from(cid))?.as_ref()?;
        match id.handler() {
            CmHandler::Con(con) => Some((id.qp()?, con)),
            CmHandler::Listener => None,
        }
    }
}

/// Send-queue space of one connection, counted in response chains, and its signalling
/// (§9.8).
///
/// Every response chain takes one unit; every `interval`-th is signalled, and its
/// completion gives back `interval` units (the signalled chain and those before it, which
/// the hardware completed first). The queue is sized by [`SqBudget::plan`] for `units`
/// chains of the longest kind plus `slack` more: chains may be posted in another order than
/// their counter values, so a completion may give back a few units of chains still being
/// posted; `slack` covers those. `units >= 2 * interval`, so while responses wait for space
/// a signalled chain is always outstanding, whose completion makes room.
pub(crate) struct SqBudget {
    /// Chains that may still be posted.
    free: AtomicI32,
    /// Chains counted so far, from 1 (C: `wr_cnt`).
    wr_cnt: AtomicU32,
    /// Every `interval`-th chain is signalled (never zero: no division check in the IO path).
    interval: NonZeroU32,
    /// Responses parked in their slots until space comes back.
    pub(crate) parked: AtomicU32,
}

impl SqBudget {
    /// The send-queue size of connection `cid` of a path of `sess` with `nr_mrs` MRs on a
    /// device allowing `max_qp_wr` entries, and its budget.
    ///
    /// Besides the chains: the drain request, heartbeats, with `always_invalidate` one
    /// LOCAL_INV per chunk (at most one per chunk is outstanding: the next request on a
    /// chunk waits for the response), and on connection 0 the INFO_RSP chain (a REG_MR per
    /// MR and the SEND).
    pub(crate) fn plan(sess: &Sess, cid: u16, nr_mrs: u32, max_qp_wr: u32) -> Result<(u32, Self)> {
        let qd = u32::from(sess.queue_depth);
        let (chain, local_inv) = if sess.always_invalidate {
            // RDMA_WRITE, REG_MR, SEND_WITH_INV, SEND_WITH_IMM.
            (4, qd)
        } else {
            // RDMA_WRITE, SEND_WITH_INV, RDMA_WRITE_WITH_IMM.
            (3, 0)
        };
        let info = if cid == 0 { nr_mrs + 1 } else { 0 };
        let reserve = 1 + HB_WRS + local_inv + info;
        // Concurrent posters on one connection: a task, a softirq and a hardirq per CPU,
        // and never more than the requests there can be.
        let slack = (3 * crate::cpu::nr_cpu_ids()).min(qd);
        let want_interval = qd.min(MAX_SIGNAL_INTERVAL);
        let want = reserve + chain * (qd.max(2 * want_interval) + 2 * slack);
        // CAST: 512.
        let floor = if cid == 0 {
            2 * SERVICE_RECVS as u32 + 2
        } else {
            0
        };
        let send = max_qp_wr.min(want.max(floor));
        let units = (send.saturating_sub(reserve) / chain).saturating_sub(2 * slack);
        if units < 2 {
            pr_err!(
                "send queue of {} entries too small for queue depth {}\n",
                send,
                qd
            );
            return Err(ENOMEM);
        }
        let interval = NonZeroU32::new(want_interval.min(units / 2)).unwrap_or(NonZeroU32::MIN);
        let free = i32::try_from(units).map_err(|_| EINVAL)?;
        Ok((
            send,
            Self {
                free: AtomicI32::new(free),
                wr_cnt: AtomicU32::new(1),
                interval,
                parked: AtomicU32::new(0),
            },
        ))
    }

    /// Takes one unit for a chain: `Some(signalled)`, or `None` if the queue is full.
    fn reserve(&self) -> Option<bool> {
        if self.free.fetch_sub(1, Ordering::AcqRel) <= 0 {
            self.free.fetch_add(1, Ordering::AcqRel);
            return None;
        }
        let n = self.wr_cnt.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        Some(n % self.interval == 0)
    }

    /// The chain counter as it was before the last [`Self::reserve`] (what C's
    /// `send_io_resp_imm` tracepoint reads before counting the response); concurrent
    /// responses of the connection may have moved it since.
    fn count_before_last(&self) -> u32 {
        self.wr_cnt.load(Ordering::Relaxed).wrapping_sub(1)
    }

    /// A signalled chain completed: it and the `interval - 1` before it left the queue.
    fn credit(&self) {
        // CAST: `interval` is at most `units / 2`, which fits in `i32`.
        self.free
            .fetch_add(self.interval.get() as i32, Ordering::AcqRel);
    }
}

/// The chunks whose LOCAL_INV is outstanding on a connection, in posting order: the send
/// queue completes them in that order (`always_invalidate`).
pub(crate) struct InvFifo {
    /// Ring storage, one entry per chunk.
    ids: KVec<u16>,
    /// Index of the oldest entry.
    head: usize,
    /// Entries.
    len: usize,
}

impl InvFifo {
    /// A ring for up to `cap` chunks.
    pub(crate) fn new(cap: u32) -> Result<Self> {
        Ok(Self {
            // CAST: `u32` fits in `usize`.
            ids: KVec::from_elem(0, cap as usize, GFP_KERNEL)?,
            head: 0,
            len: 0,
        })
    }

    /// Appends `buf_id`; `EINVAL` if full (more LOCAL_INVs than chunks: a protocol error).
    fn push(&mut self, buf_id: u16) -> Result {
        let cap = self.ids.len();
        if self.len == cap {
            return Err(EINVAL);
        }
        // `head` and `len` are below `cap`: one wrap at most (and no division).
        let mut tail = self.head + self.len;
        if tail >= cap {
            tail -= cap;
        }
        let slot = self.ids.get_mut(tail).ok_or(EINVAL)?;
        *slot = buf_id;
        self.len += 1;
        Ok(())
    }

    /// Removes the oldest entry.
    fn pop(&mut self) -> Option<u16> {
        if self.len == 0 {
            return None;
        }
        let id = *self.ids.get(self.head)?;
        self.head += 1;
        if self.head == self.ids.len() {
            self.head = 0;
        }
        self.len -= 1;
        Some(id)
    }
}

/// Reports the failures of unsignalled response work requests, as C's `io_comp_cqe` does;
/// the QP is in the error state then, and the flushed receives close the path.
static SEND_ERRORS: ErrorSink = ErrorSink::new(|wc| {
    if wc.status() != WcStatus::FlushErr {
        pr_err!(
            "{:?} (vendor {:#x}) on a response: closing the path\n",
            wc.status(),
            wc.vendor_err()
        );
    }
});

/// Completion target of work requests whose success nobody waits for (INFO_RSP, heartbeat
/// messages and answers). A failure moves the QP to the error state, which flushes the
/// receives; their completions close the path.
pub(crate) struct Quiet;

impl CqeHandler for Quiet {
    fn done(_this: Arc<Cqe<Self>>, wc: &Wc) {
        if !matches!(wc.status(), WcStatus::Success | WcStatus::FlushErr) {
            pr_err!(
                "{:?} (vendor {:#x}) on a send\n",
                wc.status(),
                wc.vendor_err()
            );
        }
    }
}

/// A request the user is serving.
pub(crate) struct Op {
    /// Keeps the path and its connections while the user holds the request.
    pass: Pass<ConTable>,
    /// The connection the request came on; the response goes there too.
    cid: u16,
    /// The decoded RTRS header.
    hdr: IoHdr,
}

/// Where the request of a chunk is.
enum OpState {
    /// No request.
    Free,
    /// `always_invalidate`: waiting for the LOCAL_INV of the chunk's MR; the header is at
    /// `off`.
    Inval {
        /// Offset of the header in the chunk.
        off: u32,
    },
    /// With the user.
    Held(Op),
    /// Answered with this status, waiting for send-queue space.
    Parked(Op, i32),
}

/// The request state of one chunk (C: `srv_path->ops_ids[buf_id]`), and the `rtrs_srv_op`
/// handle the user gets. Its lock is taken only by whoever owns the request at the time (the
/// completion handler, the user's answer, a retry): contention means the peer broke the
/// protocol.
pub(crate) struct OpSlot {
    /// The chunk.
    buf_id: u16,
    /// The request.
    state: TryLock<OpState>,
}

impl OpSlot {
    /// A free slot for chunk `buf_id`.
    pub(crate) fn new(buf_id: u16) -> Self {
        Self {
            buf_id,
            state: TryLock::new(OpState::Free),
        }
    }
}

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
            WcOpcode::RecvRdmaWithImm => recv_imm(&this, wc),
            WcOpcode::Recv => {
                pr_err!("unexpected SEND on cid {}: closing the path\n", this.cid);
                this.path.schedule_close();
            }
            WcOpcode::Send | WcOpcode::RdmaWrite => io_sent(&this),
            WcOpcode::LocalInv => inv_done(&this),
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

/// Runs `f` on the QP of `con`: from the connection table once the path is connected,
/// without a lock; from the list of connecting ids before (process context).
fn with_qp<R>(con: &Con, f: impl FnOnce(&Qp) -> Result<R>) -> Result<R> {
    if let Some(table) = con.path.io.enter() {
        let (qp, _) = table.con(con.cid).ok_or(errno!(ENOTCONN))?;
        return f(qp);
    }
    let cons = con.path.cons.lock();
    let qp = cons
        .get(usize::from(con.cid))
        .and_then(|c| c.as_ref())
        .and_then(|id| id.qp())
        .ok_or(errno!(ENOTCONN))?;
    f(qp)
}

/// Posts `n` empty receives on `con`.
fn post_empty_recvs(con: &Arc<Cqe<Con>>, n: usize) -> Result {
    if n == 1 {
        // The hot path (a re-post per request): no allocation.
        return with_qp(con, |qp| qp.post_recv(&mut [RecvWr::new(&[], con.clone())]));
    }
    let mut wrs = KVec::with_capacity(n, GFP_KERNEL)?;
    for _ in 0..n {
        wrs.push(RecvWr::new(&[], con.clone()), GFP_KERNEL)?;
    }
    with_qp(con, |qp| qp.post_recv(&mut wrs))
}

/// The connection objects of every `cid` of `path`, if all are there (connecting only).
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

/// Moves the ids of `path` into its connection table: from now on the IO path reaches
/// them without a lock. `EINVAL` if the path is closing (it took the list first).
fn open_table(path: &Arc<Path>) -> Result {
    let mut cons = path.cons.lock();
    if path.io.is_shut()
        || cons.len() != usize::from(path.cid_num)
        || !cons.iter().all(Option::is_some)
    {
        return Err(EINVAL);
    }
    let table = ConTable {
        path: path.clone(),
        ids: core::mem::take(&mut *cons),
    };
    if let Err(table) = path.io.open(table) {
        // Cannot happen (opened once, under the lock, and not shut). The ids go back for the
        // close, which destroys them: dropped here, in a completion handler of their own
        // CQ, they would wait for that CQ when their QPs drain.
        *cons = table.ids;
        return Err(EINVAL);
    }
    Ok(())
}

impl DelayedWorkItem<0> for Path {
    /// A heartbeat tick (§10): send an `HB_MSG` on connection 0 if something was heard in
    /// the last interval, close the path once too many passed in silence. Before the path
    /// connects: its connecting time-out, which closes it.
    fn run(this: Arc<Self>) {
        match this.state() {
            PathState::Connected => {}
            PathState::Connecting => {
                pr_err!(
                    "path connecting for {} s without INFO_REQ: closing it\n",
                    CONNECTING_TIMEOUT_MS / 1000
                );
                return this.schedule_close();
            }
            PathState::Closing => return,
        }
        let tick = {
            let mut hb = this.hb.lock();
            if this.heard.swap(false, Ordering::Relaxed) {
                hb.heard();
            }
            hb.tick()
        };
        match tick {
            Tick::Dead => {
                pr_err!("heartbeat timeout: closing the path\n");
                return this.schedule_close();
            }
            Tick::Send => {
                if let Err(e) = send_hb(&this, HB_MSG_IMM) {
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
            DelayedWork::<Path, 0>::queue(&this, &g.wq, hb::INTERVAL_MS);
        }
    }
}

/// Posts a heartbeat message or answer (`imm`) on connection 0.
fn send_hb(path: &Path, imm: u32) -> Result {
    let table = path.io.enter().ok_or(errno!(ENOTCONN))?;
    let (qp, _) = table.con(0).ok_or(errno!(ENOTCONN))?;
    let wr = SendWr::rdma_write_with_imm(&[], 0, 0, imm).signaled(path.quiet.clone());
    qp.post_send(&mut [wr])
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
    drop(cons);
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
    open_table(path)?;
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
        // Replaces the connecting time-out by the heartbeat.
        if let Ok(g) = crate::globals() {
            DelayedWork::<Path, 0>::modify(path, &g.wq, hb::INTERVAL_MS);
        }
        si.connected += 1;
        si.connected == 1
    };
    if first && path.ctx.ops.link_ev(sess, LinkEv::Connected) != 0 {
        pr_err!("link_ev CONNECTED refused by the user\n");
        return Err(EINVAL);
    }
    send_info_rsp(path)
}

/// The REG_MR chain of every MR and the INFO_RSP (§5.1 step 3.5).
fn send_info_rsp(path: &Path) -> Result {
    let sess = &path.sess;
    let nr = path.nr_mrs;
    let mut descs = KVec::with_capacity(nr, GFP_KERNEL)?;
    let mut raw = KVec::from_elem(0u8, info_rsp_len(nr), GFP_KERNEL)?;
    let mut buf = DmaBuf::new(&path.dev, info_rsp_len(nr), DmaDir::ToDevice)?;
    for m in path.mrs.iter() {
        // Before any request: nobody else holds an MR.
        let m = m.try_lock().ok_or(EBUSY)?;
        descs.push(
            SgDesc {
                addr: m.mr.iova(),
                key: m.mr.rkey(),
                len: m.count * sess.chunk_size,
            },
            GFP_KERNEL,
        )?;
    }
    let len = info_rsp_len(descs.len());
    encode_info_rsp(&mut raw, &descs).map_err(|_| EINVAL)?;
    buf.write(0, &raw)?;
    buf.sync_for_device();
    let sge = [buf.sge(0, len, path.pd.local_dma_lkey())?];
    let mut wrs: KVec<SendWr<'_>> = KVec::with_capacity(nr + 1, GFP_KERNEL)?;
    for m in path.mrs.iter() {
        let m = m.try_lock().ok_or(EBUSY)?;
        wrs.push(
            SendWr::reg_mr(&m.mr, Access::LOCAL_WRITE | Access::REMOTE_WRITE),
            GFP_KERNEL,
        )?;
    }
    wrs.push(SendWr::send(&sge).signaled(path.quiet.clone()), GFP_KERNEL)?;
    {
        let table = path.io.enter().ok_or(errno!(ENOTCONN))?;
        let (qp, _) = table.con(0).ok_or(errno!(ENOTCONN))?;
        qp.post_send(&mut wrs)?;
    }
    drop(wrs);
    // Kept until the path goes: the SEND may still read it.
    *path.info_rsp.lock() = Some(buf);
    Ok(())
}

/// A RECV_RDMA_WITH_IMM completion: re-post, then dispatch on the immediate (§9.4).
fn recv_imm(con: &Arc<Cqe<Con>>, wc: &Wc) {
    let path = &con.path;
    if !path.heard.load(Ordering::Relaxed) {
        path.heard.store(true, Ordering::Relaxed);
    }
    if let Err(e) = post_empty_recvs(con, 1) {
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
            // CAST: Below the queue depth, a `u16`.
            io_req(con, buf_id as u16, off);
        }
        Imm::HbMsg => {
            if let Err(e) = send_hb(path, HB_ACK_IMM) {
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

/// An IO_REQ for chunk `buf_id` (checked): claim the chunk, then invalidate first
/// (`always_invalidate`) or process now.
fn io_req(con: &Arc<Cqe<Con>>, buf_id: u16, off: u32) {
    let path = &con.path;
    let Some(slot) = path.ops.get(usize::from(buf_id)) else {
        return path.schedule_close();
    };
    let Some(mut st) = slot
        .state
        .try_lock()
        .filter(|s| matches!(**s, OpState::Free))
    else {
        pr_err!(
            "request for chunk {}, which is still in use: closing the path\n",
            buf_id
        );
        return path.schedule_close();
    };
    if !path.sess.always_invalidate {
        return process_io(con, slot, st, off);
    }
    *st = OpState::Inval { off };
    drop(st);
    if let Err(e) = post_local_inv(con, buf_id) {
        pr_err!(
            "posting LOCAL_INV failed: {}; closing the path\n",
            e.to_errno()
        );
        path.schedule_close();
    }
}

/// Posts the LOCAL_INV of chunk `buf_id`'s MR on `con` and notes the chunk for its
/// completion.
fn post_local_inv(con: &Arc<Cqe<Con>>, buf_id: u16) -> Result {
    let path = &con.path;
    let rkey = path
        .mrs
        .get(usize::from(buf_id))
        .and_then(|m| m.try_lock())
        .map(|m| m.mr.rkey())
        .ok_or(EBUSY)?;
    con.inv.try_lock().ok_or(EBUSY)?.push(buf_id)?;
    let table = path.io.enter().ok_or(errno!(ENOTCONN))?;
    let (qp, _) = table.con(con.cid).ok_or(errno!(ENOTCONN))?;
    qp.post_send(&mut [SendWr::local_inv(rkey).signaled(con.clone())])
}

/// A LOCAL_INV completed: process the request of the oldest chunk invalidated on `con`.
fn inv_done(con: &Arc<Cqe<Con>>) {
    let path = &con.path;
    let buf_id = con.inv.try_lock().and_then(|mut f| f.pop());
    if let Some(slot) = buf_id.and_then(|b| path.ops.get(usize::from(b))) {
        if let Some(st) = slot.state.try_lock() {
            if let OpState::Inval { off } = *st {
                return process_io(con, slot, st, off);
            }
        }
    }
    pr_err!("LOCAL_INV completion without its request: closing the path\n");
    path.schedule_close();
}

/// Processes a request whose chunk `slot` is claimed by `st`: decodes its header and hands
/// it to the user (§9.4). Requests on a path that is not connected are dropped.
fn process_io(con: &Arc<Cqe<Con>>, slot: &OpSlot, mut st: TryLockGuard<'_, OpState>, off: u32) {
    let path = &con.path;
    let Some(pass) = path.io.enter() else {
        *st = OpState::Free;
        return;
    };
    if path.state() != PathState::Connected {
        *st = OpState::Free;
        return;
    }
    let sess = &path.sess;
    let buf_id = slot.buf_id;
    // CAST: `off` is below the chunk size.
    let off = off as usize;
    let Some(map) = path.maps.get(usize::from(buf_id)) else {
        *st = OpState::Free;
        return path.schedule_close();
    };
    map.sync_for_cpu();
    let chunk = map.buf();
    let mut win = [0u8; MAX_IO_HDR_LEN];
    let n = MAX_IO_HDR_LEN.min(chunk.len() - off);
    let hdr = chunk
        .read(off, &mut win[..n])
        .map_err(|_| None)
        .and_then(|()| IoHdr::decode_at(&win[..n], off, chunk.len()).map_err(Some));
    let hdr = match hdr {
        Ok(h) => h,
        Err(e) => {
            pr_err!(
                "bad request in chunk {} at {}: {:?}; closing the path\n",
                buf_id,
                off,
                e
            );
            *st = OpState::Free;
            return path.schedule_close();
        }
    };
    let usr_len = usize::from(hdr.usr_len());
    let data_len = off - usr_len;
    let (Ok(data), Ok(usr)) = (chunk.cpu_ptr(0), chunk.cpu_ptr(data_len)) else {
        *st = OpState::Free;
        return path.schedule_close();
    };
    let (cnt, bytes) = match hdr {
        IoHdr::Read { .. } => (&path.stats.read_cnt, &path.stats.read_bytes),
        IoHdr::Write { .. } => (&path.stats.write_cnt, &path.stats.write_bytes),
    };
    cnt.fetch_add(1, Ordering::Relaxed);
    // CAST: `off` is below the chunk size.
    bytes.fetch_add(off as u64, Ordering::Relaxed);
    *st = OpState::Held(Op {
        pass,
        cid: con.cid,
        hdr,
    });
    // The user may answer before `rdma_ev` returns.
    drop(st);
    if let Err(err) = path
        .ctx
        .ops
        .rdma_ev(sess, slot, data, data_len, usr, usr_len)
    {
        // `con` keeps the path: the reply may go here.
        respond(slot, err).finish();
    }
}

/// Answers the request of `slot` with status `errno` (0 or negative): posts its response
/// chain on the request's connection (§9.5) in the caller's context, which may be any (bio
/// completions run in hardirq or softirq context), without allocating or taking a lock
/// shared with other requests.
///
/// The [`Reply`] says whether it was posted, and holds what keeps `slot` alive: the caller
/// lets go of `slot` before it [`Reply::finish`]es. Not posted if the send queue is full:
/// the response is then parked and posted by a later send completion, as C does. If the path is not connected any more nothing is sent (the client
/// fails the request over or reports it, as for any path loss). If posting fails the path is
/// closed: the client sees the disconnect, and its error recovery fails the requests that
/// were in flight on the path over to another path of the session, or completes them with
/// an error when none is left; no request is left without an answer.
pub(crate) fn respond(slot: &OpSlot, errno: i32) -> Reply {
    let Some(mut st) = slot.state.try_lock() else {
        pr_err!("response for chunk {} while it is busy\n", slot.buf_id);
        return Reply::done(None);
    };
    match core::mem::replace(&mut *st, OpState::Free) {
        OpState::Held(op) => send_or_park(slot, st, op, errno),
        other => {
            *st = other;
            drop(st);
            pr_err!("response for chunk {}, which has no request\n", slot.buf_id);
            Reply::done(None)
        }
    }
}

/// The outcome of [`respond`].
#[must_use]
pub(crate) struct Reply {
    /// Posted (or dropped with its path), not parked.
    sent: bool,
    /// The answered request: its pass keeps the path, hence the slot, alive.
    op: Option<Op>,
}

impl Reply {
    /// Sent or dropped, releasing `op` when finished.
    fn done(op: Option<Op>) -> Self {
        Self { sent: true, op }
    }

    /// Releases the request (the path may go right after) and says whether the response
    /// was sent rather than parked (the `rtrs_srv_resp_rdma` result).
    pub(crate) fn finish(self) -> bool {
        drop(self.op);
        self.sent
    }
}

/// Posts the response of `op` (taken out of `slot`, locked by `st`), or parks it in the slot
/// if the send queue is full.
fn send_or_park(slot: &OpSlot, mut st: TryLockGuard<'_, OpState>, op: Op, errno: i32) -> Reply {
    let table: &ConTable = &op.pass;
    let path = &table.path;
    if path.state() != PathState::Connected {
        drop(st);
        return Reply::done(Some(op));
    }
    let Some((qp, con)) = table.con(op.cid) else {
        drop(st);
        pr_err!("response on a missing connection: closing the path\n");
        path.schedule_close();
        return Reply::done(Some(op));
    };
    let Some(signal) = con.sq.reserve() else {
        con.sq.parked.fetch_add(1, Ordering::AcqRel);
        *st = OpState::Parked(op, errno);
        return Reply {
            sent: false,
            op: None,
        };
    };
    // The chunk is free once the response is out: the client reuses it only after that.
    drop(st);
    if let Err(e) = post_response(table, qp, con, slot.buf_id, &op.hdr, errno, signal) {
        pr_err!(
            "posting the response failed: {}; closing the path\n",
            e.to_errno()
        );
        path.schedule_close();
    }
    Reply::done(Some(op))
}

/// The chain of §9.5 for the request on chunk `buf_id` with header `hdr`, posted on `qp`;
/// its last work request is signalled to `con` if `signal`.
fn post_response(
    table: &ConTable,
    qp: &Qp,
    con: &Arc<Cqe<Con>>,
    buf_id: u16,
    hdr: &IoHdr,
    errno: i32,
    signal: bool,
) -> Result {
    let path = &table.path;
    let sess = &path.sess;
    let idx = usize::from(buf_id);
    let lkey = path.pd.local_dma_lkey();
    let (need_inval, desc) = match *hdr {
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
    let write = match data_desc {
        Some(d) => {
            if d.len == 0 || d.len > sess.chunk_size {
                return Err(EINVAL);
            }
            map.sync_for_device();
            Some(SendWr::rdma_write(&data_sge, d.addr, d.key).errors_to(&SEND_ERRORS))
        }
        None => None,
    };
    let inval_key = desc.map(|d| d.key).filter(|_| need_inval);
    let inv = inval_key.map(|key| SendWr::send_with_inv(&[], key).errors_to(&SEND_ERRORS));
    let imm = io_rsp(u32::from(buf_id), errno, inval_key.is_some());
    // C's `send_io_resp_imm`: every response but a successful READ's RDMA WRITE of data.
    if data_desc.is_none() && trace::rtrs_srv::send_io_resp_imm_enabled() {
        trace_resp_imm(table, con, buf_id, hdr, inval_key.is_some(), errno);
    }
    // `always_invalidate`: the chunk's RKEY_RSP slot.
    let rkey_off = idx * RKEY_RSP_LEN;
    let rkey_sge = [Sge::new(
        // CAST: An offset inside a buffer: fits in `u64`.
        path.rkey_bufs.as_ref().map_or(0, |b| b.dma_addr()) + rkey_off as u64,
        // CAST: 8 bytes.
        RKEY_RSP_LEN as u32,
        lkey,
    )];
    let (reg, last) = if sess.always_invalidate {
        // Register the chunk under a new key and tell the client with the response. The MR
        // is this request's alone; its lock is released before posting, so that the next
        // request on the chunk never finds it taken.
        let mut m = path.mrs.get(idx).and_then(|m| m.try_lock()).ok_or(EBUSY)?;
        m.mr.inc_rkey();
        let rsp = RkeyRsp {
            buf_id,
            rkey: m.mr.rkey(),
        }
        .encode();
        let rkey_buf = path.rkey_bufs.as_ref().ok_or(EINVAL)?;
        rkey_buf.buf().write(rkey_off, &rsp)?;
        rkey_buf.sync_for_device();
        let reg = SendWr::reg_mr(&m.mr, Access::LOCAL_WRITE | Access::REMOTE_WRITE);
        (Some(reg), SendWr::send_with_imm(&rkey_sge, imm))
    } else {
        (None, SendWr::rdma_write_with_imm(&[], 0, 0, imm))
    };
    let last = if signal {
        last.signaled(con.clone())
    } else {
        last.errors_to(&SEND_ERRORS)
    };
    // The orders of §9.5: REG_MR before SEND_WITH_INV after data, after it without data.
    match (write, reg, inv) {
        (None, None, None) => qp.post_send(&mut [last]),
        (Some(w), None, None) => qp.post_send(&mut [w, last]),
        (None, None, Some(i)) => qp.post_send(&mut [i, last]),
        (Some(w), None, Some(i)) => qp.post_send(&mut [w, i, last]),
        (None, Some(r), None) => qp.post_send(&mut [r, last]),
        (Some(w), Some(r), None) => qp.post_send(&mut [w, r, last]),
        (None, Some(r), Some(i)) => qp.post_send(&mut [i, r, last]),
        (Some(w), Some(r), Some(i)) => qp.post_send(&mut [w, r, i, last]),
    }
}

/// Records the tracepoint `send_io_resp_imm` for the response of chunk `buf_id` on `con`.
fn trace_resp_imm(
    table: &ConTable,
    con: &Con,
    buf_id: u16,
    hdr: &IoHdr,
    need_inval: bool,
    errno: i32,
) {
    let path = &table.path;
    // The path's sysfs directory name, as C's `kobject_name(&srv_path->kobj)`.
    let name = NameBuf::new(format_args!(
        "{}@{}",
        addr_text(&path.peer),
        addr_text(&path.local)
    ));
    trace::rtrs_srv::send_io_resp_imm(&RespImm {
        sessname: name.as_bytes(),
        dir: match hdr {
            IoHdr::Read { .. } => Dir::Read,
            IoHdr::Write { .. } => Dir::Write,
        },
        need_inval,
        always_invalidate: path.sess.always_invalidate,
        msg_id: u32::from(buf_id),
        // CAST: C's field is an `int` read from its `atomic_t` counter, which wraps the same.
        wr_cnt: con.sq.count_before_last() as i32,
        signal_interval: con.sq.interval.get(),
        // CAST: `PathState` is numbered as `enum rtrs_srv_state`.
        state: path.state() as i32,
        errno,
    });
}

/// A signalled response chain of `con` completed: give its space back and post what was
/// parked for it.
fn io_sent(con: &Arc<Cqe<Con>>) {
    con.sq.credit();
    // A slot another connection's retry looks at just then is skipped: scan again (its
    // lock is held for a few instructions only).
    for _ in 0..RETRY_SCANS {
        if con.sq.parked.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut skipped = false;
        for slot in con.path.ops.iter() {
            let Some(mut st) = slot.state.try_lock() else {
                skipped = true;
                continue;
            };
            match core::mem::replace(&mut *st, OpState::Free) {
                OpState::Parked(op, errno) if op.cid == con.cid => {
                    con.sq.parked.fetch_sub(1, Ordering::AcqRel);
                    // `con` keeps the path.
                    if !send_or_park(slot, st, op, errno).finish() {
                        return;
                    }
                }
                other => *st = other,
            }
        }
        if !skipped {
            return;
        }
    }
}

/// Drops the responses parked on `path` (closing: nothing is sent any more).
pub(crate) fn drop_parked(path: &Path) {
    for slot in path.ops.iter() {
        let Some(mut st) = slot.state.try_lock() else {
            continue;
        };
        if let OpState::Parked(..) = *st {
            let parked = core::mem::replace(&mut *st, OpState::Free);
            drop(st);
            drop(parked);
        }
    }
}
