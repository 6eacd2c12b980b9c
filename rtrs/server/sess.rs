// SPDX-License-Identifier: GPL-2.0-or-later

//! Sessions, paths and connections of the server (wire protocol §2, §4.4-§4.6, §6, §11).
//!
//! A [`Sess`] is found by the client's `paths_uuid` and owns the chunks (`queue_depth`
//! buffers of `max_chunk_size` bytes). A [`Path`] is found by `sess_uuid`; it maps the
//! chunks on its own device, registers them in its MRs, and owns its connections: one
//! rdma_cm id with QP and pooled CQ per `cid`. Closing a path runs on the module's
//! workqueue (it destroys ids, which an rdma_cm handler must not do for its siblings).
//!
//! While connecting, the ids sit in [`Path::cons`] (a lock, process context only). Once the
//! INFO exchange starts they move into the path's [`Gate`] ([`ConTable`]), where the IO
//! path reaches them in any context without a lock; closing shuts the gate, waits for the
//! requests the user still holds and takes the ids back.
//!
//! C version: `rtrs_rdma_connect`, `__alloc_srv`, `__alloc_path`, `create_con`,
//! `map_cont_bufs`, `rtrs_srv_close_work` in `drivers/infiniband/ulp/rtrs/rtrs-srv.c`.

use crate::ctx::{CmHandler, Ctx};
use crate::error::errno;
use crate::hb::Heartbeat;
use crate::io::{ConTable, InvFifo, OpSlot, Quiet, SqBudget};
use crate::msg::{ConnReq, ConnRsp, MsgError, NEW_RKEY_F};
use crate::msg::{INFO_REQ_LEN, RKEY_RSP_LEN};
use crate::rdma::cm::{CmId, ConnParam, ConnRequest, SockAddr};
use crate::rdma::cq::{Cq, Cqe, PollCtx};
use crate::rdma::device::DeviceRef;
use crate::rdma::dma::{ContigBuf, DmaBuf, DmaDir, DmaMapping};
use crate::rdma::mr::Mr;
use crate::rdma::pd::Pd;
use crate::rdma::qp::QpCaps;
use crate::sync::{impl_has_delayed_work, new_delayed_work, DelayedWork, DelayedWorkItem};
use crate::sync::{Gate, TryLock};
use crate::sysfs_tree::{PathSysfs, SessSysfs};
use crate::{globals, Params, MAX_HDR_SIZE};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex, SpinLock};

/// `MAX_PATHS_NUM`: paths per session.
const MAX_PATHS_NUM: usize = 128;
/// `SERVICE_CON_QUEUE_DEPTH`: receive depth basis of connection 0.
const SERVICE_CON_QUEUE_DEPTH: u32 = 512;
/// How long a path may stay connecting (connections up, no INFO_REQ yet) before it is
/// closed as a zombie that would refuse the client's reconnects (as the later C fix
/// "add check and closure for possible zombie paths"; 6.12 keeps them forever).
pub(crate) const CONNECTING_TIMEOUT_MS: u32 = 30_000;

/// A server session: the chunks shared by its paths.
#[pin_data]
pub(crate) struct Sess {
    /// The client's session UUID.
    pub(crate) paths_uuid: [u8; 16],
    /// `sess_queue_depth` when the session was created: the number of chunks.
    pub(crate) queue_depth: u16,
    /// `max_chunk_size` when the session was created.
    pub(crate) chunk_size: u32,
    /// `always_invalidate` when the session was created.
    pub(crate) always_invalidate: bool,
    /// The chunks, index = `buf_id`.
    pub(crate) chunks: KVec<Arc<ContigBuf>>,
    /// The user's private pointer (`rtrs_srv_set_sess_priv`), as an address.
    pub(crate) user_priv: AtomicUsize,
    /// Name and paths.
    #[pin]
    pub(crate) inner: Mutex<SessInner>,
}

/// The mutable part of a [`Sess`].
pub(crate) struct SessInner {
    /// The session name from the first INFO_REQ (`sessname`), empty before.
    pub(crate) name: KVec<u8>,
    /// The paths, connecting or connected.
    pub(crate) paths: KVec<Arc<Path>>,
    /// Paths that reached CONNECTED and are not closed yet.
    pub(crate) connected: u32,
    /// `/sys/class/rtrs-server/<name>`, from the first INFO_REQ to the last path's close.
    pub(crate) sysfs: Option<SessSysfs>,
}

impl Sess {
    /// A new session for `paths_uuid` with the module parameters `p`.
    fn new(paths_uuid: [u8; 16], p: &Params) -> Result<Arc<Self>> {
        let mut chunks = KVec::with_capacity(usize::from(p.queue_depth), GFP_KERNEL)?;
        for _ in 0..p.queue_depth {
            // CAST: `max_chunk_size` is at most 2^28 (checked at load).
            chunks.push(
                Arc::new(ContigBuf::new(p.max_chunk_size as usize)?, GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        Arc::pin_init(
            pin_init!(Self {
                paths_uuid,
                queue_depth: p.queue_depth,
                chunk_size: p.max_chunk_size,
                always_invalidate: p.always_invalidate,
                chunks,
                user_priv: AtomicUsize::new(0),
                inner <- kernel::new_mutex!(SessInner {
                    name: KVec::new(),
                    paths: KVec::new(),
                    connected: 0,
                    sysfs: None,
                }),
            }),
            GFP_KERNEL,
        )
    }

    /// The `ConnRsp` accepting a connection of this session (§4.5).
    fn conn_rsp(&self) -> ConnRsp {
        ConnRsp {
            errno: 0,
            queue_depth: self.queue_depth,
            max_io_size: self.chunk_size - MAX_HDR_SIZE,
            max_hdr_size: MAX_HDR_SIZE,
            flags: if self.always_invalidate {
                NEW_RKEY_F
            } else {
                0
            },
        }
    }
}

/// The state of a server path.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum PathState {
    /// Connections arrive; INFO_REQ not yet processed.
    Connecting = 0,
    /// INFO exchange done: IO flows.
    Connected = 1,
    /// Being closed.
    Closing = 2,
}

impl_has_delayed_work! { impl HasDelayedWork<0> for Path { self.hb_work } }
impl_has_delayed_work! { impl HasDelayedWork<1> for Path { self.close_work } }

/// The request counters of a path (`stats/rdma`).
#[derive(Default)]
pub(crate) struct PathCounters {
    /// READ requests.
    pub(crate) read_cnt: AtomicU64,
    /// Their bytes: data area and user message (the immediate's offset).
    pub(crate) read_bytes: AtomicU64,
    /// WRITE requests.
    pub(crate) write_cnt: AtomicU64,
    /// Their bytes, as for reads.
    pub(crate) write_bytes: AtomicU64,
}

/// One MR of a path over consecutive chunks (§6).
pub(crate) struct SrvMr {
    /// The region.
    pub(crate) mr: Mr,
    /// How many chunks it covers.
    pub(crate) count: u32,
}

/// A path of a session: one (client, server) address pair, its connections, and the
/// chunks mapped and registered on its device.
#[pin_data]
pub(crate) struct Path {
    /// The session.
    pub(crate) sess: Arc<Sess>,
    /// The server context.
    pub(crate) ctx: Arc<Ctx>,
    /// The client's path UUID.
    pub(crate) sess_uuid: [u8; 16],
    /// Connections announced by the client.
    pub(crate) cid_num: u16,
    /// The server's address (the client's destination).
    pub(crate) local: SockAddr,
    /// The client's address.
    pub(crate) peer: SockAddr,
    /// The device of the path.
    pub(crate) dev: DeviceRef,
    /// The port on the device.
    pub(crate) port_num: u32,
    /// Protection domain of all connections of the path.
    pub(crate) pd: Arc<Pd>,
    /// The chunks mapped on `dev`, index = `buf_id`.
    pub(crate) maps: KVec<DmaMapping>,
    /// `always_invalidate`: one MR per chunk, else `chunks_per_mr` chunks per MR. Read at
    /// the INFO exchange; with `always_invalidate`, MR `i` is then used only by the request
    /// holding chunk `i`, so its lock is never contended.
    pub(crate) mrs: KVec<TryLock<SrvMr>>,
    /// How many MRs.
    pub(crate) nr_mrs: usize,
    /// The receive buffer of the INFO_REQ.
    pub(crate) info_req: DmaBuf,
    /// The INFO_RSP, kept until the path goes.
    #[pin]
    pub(crate) info_rsp: Mutex<Option<DmaBuf>>,
    /// `always_invalidate`: one RKEY_RSP send buffer per chunk.
    pub(crate) rkey_bufs: Option<DmaMapping>,
    /// [`PathState`] as `u8`.
    state: AtomicU8,
    /// `stats/rdma`.
    pub(crate) stats: PathCounters,
    /// The state of each chunk's request, index = `buf_id` (C: `ops_ids`).
    pub(crate) ops: KVec<OpSlot>,
    /// The connections, from the INFO exchange until the path closes; every request the
    /// user holds has a pass.
    #[pin]
    pub(crate) io: Gate<ConTable>,
    /// Completion target of the work requests nobody waits for (INFO_RSP, heartbeats).
    pub(crate) quiet: Arc<Cqe<Quiet>>,
    /// Something was received since the last heartbeat tick (set on every receive, without
    /// a lock; the tick folds it into `hb`).
    pub(crate) heard: AtomicBool,
    /// Heartbeat misses (§10); heartbeat work only.
    #[pin]
    pub(crate) hb: SpinLock<Heartbeat>,
    /// The heartbeat timer while the path is connected; before, the connecting time-out
    /// ([`CONNECTING_TIMEOUT_MS`]).
    #[pin]
    pub(crate) hb_work: DelayedWork<Path, 0>,
    /// Runs [`Path::close`]; queued once, by [`Path::schedule_close`].
    #[pin]
    close_work: DelayedWork<Path, 1>,
    /// Whether the path was connected when closing started.
    was_connected: AtomicBool,
    /// The path's sysfs directory, once connected.
    #[pin]
    pub(crate) sysfs: Mutex<Option<PathSysfs>>,
    /// The connections by `cid` while the path connects; empty once they moved to `io`
    /// or the path closes (process context only).
    #[pin]
    pub(crate) cons: SpinLock<KVec<Option<CmId<CmHandler>>>>,
}

impl Path {
    /// A new path of `sess` on `dev`: chunks mapped, MRs allocated and mapped (§6).
    #[allow(clippy::too_many_arguments)]
    fn new(
        ctx: &Arc<Ctx>,
        sess: &Arc<Sess>,
        req: &ConnReq,
        dev: DeviceRef,
        port_num: u32,
        local: SockAddr,
        peer: SockAddr,
    ) -> Result<Arc<Self>> {
        let pd = Pd::new(&dev)?;
        let mut maps = KVec::with_capacity(sess.chunks.len(), GFP_KERNEL)?;
        for c in sess.chunks.iter() {
            maps.push(
                DmaMapping::new(&dev, c.clone(), DmaDir::Bidirectional)?,
                GFP_KERNEL,
            )?;
        }
        let qd = u32::from(sess.queue_depth);
        let per_mr = if sess.always_invalidate {
            1
        } else {
            let max = dev.attrs().max_fast_reg_page_list_len.max(1);
            // As few MRs as fit, all of (nearly) the same size.
            let mrs = qd.div_ceil(max).max(1);
            qd.div_ceil(mrs)
        };
        let mut mrs = KVec::new();
        let mut first = 0;
        while first < qd {
            let count = per_mr.min(qd - first);
            let mut mr = Mr::new(&pd, count)?;
            let refs: KVec<&DmaMapping> = {
                let mut v = KVec::with_capacity(count as usize, GFP_KERNEL)?;
                for m in &maps[first as usize..(first + count) as usize] {
                    v.push(m, GFP_KERNEL)?;
                }
                v
            };
            mr.map_dma(&refs, sess.chunk_size)?;
            // The initial key is bumped once and registered by the chain before INFO_RSP.
            mr.inc_rkey();
            mrs.push(TryLock::new(SrvMr { mr, count }), GFP_KERNEL)?;
            first += count;
        }
        let nr_mrs = mrs.len();
        let info_req = DmaBuf::new(&dev, INFO_REQ_LEN, DmaDir::FromDevice)?;
        let rkey_bufs = if sess.always_invalidate {
            let b = Arc::new(
                ContigBuf::new(RKEY_RSP_LEN * usize::from(sess.queue_depth))?,
                GFP_KERNEL,
            )?;
            Some(DmaMapping::new(&dev, b, DmaDir::ToDevice)?)
        } else {
            None
        };
        let mut cons = KVec::with_capacity(usize::from(req.cid_num), GFP_KERNEL)?;
        for _ in 0..req.cid_num {
            cons.push(None, GFP_KERNEL)?;
        }
        let quiet = Cqe::new(Quiet)?;
        let mut ops = KVec::with_capacity(usize::from(sess.queue_depth), GFP_KERNEL)?;
        for buf_id in 0..sess.queue_depth {
            ops.push(OpSlot::new(buf_id), GFP_KERNEL)?;
        }
        Arc::pin_init(
            pin_init!(Self {
                sess: sess.clone(),
                ctx: ctx.clone(),
                sess_uuid: req.sess_uuid,
                cid_num: req.cid_num,
                local,
                peer,
                dev,
                port_num,
                pd,
                maps,
                mrs,
                nr_mrs,
                info_req,
                info_rsp <- kernel::new_mutex!(None),
                rkey_bufs,
                state: AtomicU8::new(PathState::Connecting as u8),
                stats: PathCounters::default(),
                ops,
                io <- Gate::new(),
                quiet,
                heard: AtomicBool::new(false),
                hb <- kernel::new_spinlock!(Heartbeat::default()),
                hb_work <- new_delayed_work!("rtrs_srv_hb"),
                close_work <- new_delayed_work!("rtrs_srv_close"),
                was_connected: AtomicBool::new(false),
                sysfs <- kernel::new_mutex!(None),
                cons <- kernel::new_spinlock!(cons),
            }),
            GFP_KERNEL,
        )
    }

    /// The current state.
    pub(crate) fn state(&self) -> PathState {
        match self.state.load(Ordering::Acquire) {
            0 => PathState::Connecting,
            1 => PathState::Connected,
            _ => PathState::Closing,
        }
    }

    /// Moves from `from` to `to`; false if the path was not in `from`.
    pub(crate) fn change_state(&self, from: PathState, to: PathState) -> bool {
        self.state
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Starts closing the path, once: the work runs on the module's workqueue. May be called
    /// from any context; allocates nothing (the work item is part of the path).
    pub(crate) fn schedule_close(self: &Arc<Self>) {
        let prev = self.state.swap(PathState::Closing as u8, Ordering::AcqRel);
        if prev == PathState::Closing as u8 {
            return;
        }
        self.was_connected
            .store(prev == PathState::Connected as u8, Ordering::Release);
        match globals() {
            Ok(g) => {
                DelayedWork::<Path, 1>::queue(self, &g.wq, 0);
            }
            // Only while the module unloads, after every user closed its server.
            Err(_) => pr_err!("no workqueue to close a path on\n"),
        }
    }

    /// Closes the path (§11, server side): disconnect and drain every connection, wait for
    /// the requests the user holds, destroy the connections, leave the session (freeing it
    /// with its last path), tell the user when the session's last connected path went.
    fn close(self: Arc<Self>) {
        DelayedWork::<Path, 0>::cancel_sync(&self);
        // Under the list lock, so that the INFO exchange either moved the ids into the gate
        // before, or finds the list empty after (and gives up).
        let own = self.io.enter();
        let connecting = {
            let mut cons = self.cons.lock();
            self.io.shut();
            core::mem::take(&mut *cons)
        };
        let connected = own.as_ref().map_or(&[][..], |t| &t.ids[..]);
        let connected = connected.iter().flatten();
        for id in Iterator::chain(connecting.iter().flatten(), connected.clone()) {
            let _ = id.disconnect();
        }
        for id in Iterator::chain(connecting.iter().flatten(), connected.clone()) {
            if let Some(qp) = id.qp() {
                qp.drain();
            }
        }
        drop(own);
        // Dropped here, outside the lock (destroying an id sleeps).
        drop(connecting);
        // The user answers what it holds (nothing is sent any more); C waits the same way.
        // Responses parked for send-queue space are dropped: no completion will retry them.
        while self.io.wait_drained_ms(1000).is_err() {
            crate::io::drop_parked(&self);
        }
        // Destroys the connected ids (draining once more what was posted meanwhile) and
        // drops the table's path reference; ours keeps the path until the end.
        drop(self.io.take());
        drop(self.sysfs.lock().take());
        let sess = &self.sess;
        let last_connected = {
            let mut si = sess.inner.lock();
            remove_arc(&mut si.paths, &self);
            if si.paths.is_empty() {
                drop(si.sysfs.take());
            }
            if self.was_connected.load(Ordering::Acquire) {
                si.connected = si.connected.saturating_sub(1);
                si.connected == 0
            } else {
                false
            }
        };
        if last_connected {
            self.ctx
                .ops
                .link_ev(sess, crate::ffi_api::LinkEv::Disconnected);
        }
        self.ctx.forget_sess_if_empty(sess);
    }
}

/// Removes `x` from `v` (6.12's `KVec` has no `remove`: the rest is moved to a new one).
pub(crate) fn remove_arc<T>(v: &mut KVec<Arc<T>>, x: &Arc<T>) {
    if !v.iter().any(|e| Arc::ptr_eq(e, x)) {
        return;
    }
    let Ok(mut kept) = KVec::with_capacity(v.len(), GFP_KERNEL) else {
        pr_err!("out of memory removing a list entry\n");
        return;
    };
    for e in core::mem::take(v) {
        if !Arc::ptr_eq(&e, x) {
            // Cannot fail: the capacity is there.
            let _ = kept.push(e, GFP_KERNEL);
        }
    }
    *v = kept;
}

impl DelayedWorkItem<1> for Path {
    /// The close work ([`Path::schedule_close`]).
    fn run(this: Arc<Self>) {
        this.close();
    }
}

/// One connection of a path, and the completion target of its work requests.
pub(crate) struct Con {
    /// The path.
    pub(crate) path: Arc<Path>,
    /// The connection index.
    pub(crate) cid: u16,
    /// Send-queue space and signalling of the responses (§9.8).
    pub(crate) sq: SqBudget,
    /// `always_invalidate`: the chunks whose LOCAL_INV is posted on this connection, in
    /// posting order (completion handler only).
    pub(crate) inv: TryLock<InvFifo>,
}

/// The errno a malformed CONNECT private data gets (§4.4: all `-ECONNRESET`).
fn conn_req_errno(e: MsgError) -> Error {
    pr_err!("bad connection request: {:?}\n", e);
    errno!(ECONNRESET)
}

/// Rejects with a `ConnRsp` carrying `e`.
fn reject(req: ConnRequest<'_, CmHandler>, e: Error) {
    // CAST: errnos are at most 4095 in magnitude: they fit in `i16`.
    let rsp = ConnRsp::reject(e.to_errno() as i16);
    if let Err(err) = req.reject(&rsp.encode()) {
        pr_err!("rdma_reject failed: {}\n", err.to_errno());
    }
}

/// Handles a CONNECT_REQUEST on a listener (§4.4).
pub(crate) fn connect_request(ctx: &Arc<Ctx>, req: ConnRequest<'_, CmHandler>) {
    if req.device().is_some_and(|d| d.attrs().iwarp) {
        // No RDMA WRITE with immediate data (§7): no IO request could reach us.
        pr_err!("connection over iWARP refused: RTRS needs RDMA WRITE with immediate data\n");
        return reject(req, errno!(EOPNOTSUPP));
    }
    let creq = match ConnReq::decode(req.private_data()) {
        Ok(r) => r,
        Err(e) => return reject(req, conn_req_errno(e)),
    };
    let path = match find_path(ctx, &req, &creq) {
        Ok(p) => p,
        Err(e) => return reject(req, e),
    };
    if let Err(e) = create_con(&path, req, creq.cid) {
        pr_err!("connection {} failed: {}\n", creq.cid, e.to_errno());
        path.schedule_close();
    }
}

/// Finds or creates the session and the path of a request, with the checks of §4.4.
fn find_path(
    ctx: &Arc<Ctx>,
    req: &ConnRequest<'_, CmHandler>,
    creq: &ConnReq,
) -> Result<Arc<Path>> {
    let g = globals()?;
    let mut sessions = ctx.sessions.lock();
    let sess = match sessions.iter().find(|s| s.paths_uuid == creq.paths_uuid) {
        Some(s) => s.clone(),
        None if !creq.first_conn => {
            pr_err!("connection to an unknown session without first_conn\n");
            return Err(ENXIO);
        }
        None => {
            let s = Sess::new(creq.paths_uuid, &g.params).map_err(|_| ENOMEM)?;
            sessions.push(s.clone(), GFP_KERNEL)?;
            s
        }
    };
    let res = find_path_in(ctx, &sess, req, creq);
    drop(sessions);
    if res.is_err() {
        ctx.forget_sess_if_empty(&sess);
    }
    res
}

/// The path part of [`find_path`], for session `sess`.
fn find_path_in(
    ctx: &Arc<Ctx>,
    sess: &Arc<Sess>,
    req: &ConnRequest<'_, CmHandler>,
    creq: &ConnReq,
) -> Result<Arc<Path>> {
    let mut si = sess.inner.lock();
    if let Some(p) = si.paths.iter().find(|p| p.sess_uuid == creq.sess_uuid) {
        if p.state() != PathState::Connecting {
            pr_err!("connection to a path that is not connecting\n");
            return Err(errno!(ECONNRESET));
        }
        if p.cid_num != creq.cid_num {
            pr_err!(
                "cid_num {} differs from the path's {}\n",
                creq.cid_num,
                p.cid_num
            );
            return Err(errno!(ECONNRESET));
        }
        if p.cons
            .lock()
            .get(usize::from(creq.cid))
            .map_or(true, |c| c.is_some())
        {
            pr_err!("connection {} already exists\n", creq.cid);
            return Err(errno!(ECONNRESET));
        }
        return Ok(p.clone());
    }
    if si.paths.len() >= MAX_PATHS_NUM {
        pr_err!("too many paths in the session\n");
        return Err(errno!(ECONNRESET));
    }
    let (local, peer) = (req.src_addr(), req.dst_addr());
    if si.paths.iter().any(|p| {
        p.local.addr_bytes() == local.addr_bytes() && p.peer.addr_bytes() == peer.addr_bytes()
    }) {
        pr_err!("path with the same addresses exists\n");
        return Err(errno!(EEXIST));
    }
    let dev = req.device().ok_or(ENODEV)?.get()?;
    let port_num = req.port_num();
    let path = Path::new(ctx, sess, creq, dev, port_num, local, peer)?;
    si.paths.push(path.clone(), GFP_KERNEL)?;
    if let Ok(g) = globals() {
        DelayedWork::<Path, 0>::queue(&path, &g.wq, CONNECTING_TIMEOUT_MS);
    }
    Ok(path)
}

/// Takes the request as connection `cid` of `path`: QP and CQ (§4.6), accept (§4.5).
fn create_con(path: &Arc<Path>, req: ConnRequest<'_, CmHandler>, cid: u16) -> Result {
    let sess = &path.sess;
    let attrs = path.dev.attrs();
    let qd = u32::from(sess.queue_depth);
    // CAST: At most `queue_depth` MRs.
    let nr_mrs = path.nr_mrs as u32;
    let (send, sq) = SqBudget::plan(sess, cid, nr_mrs, attrs.max_qp_wr)?;
    let recv = if cid == 0 {
        attrs.max_qp_wr.min(2 * SERVICE_CON_QUEUE_DEPTH + 2)
    } else {
        qd + 1
    };
    let con = Cqe::new(Con {
        path: path.clone(),
        cid,
        sq,
        inv: TryLock::new(InvFifo::new(if sess.always_invalidate { qd } else { 0 })?),
    })?;
    let id = req.adopt(CmHandler::Con(con.clone()))?;
    let rsp = sess.conn_rsp().encode();
    let res = (|| {
        let vectors = attrs.num_comp_vectors.max(1);
        let cq = Cq::from_pool(
            &path.dev,
            send + recv,
            u32::from(cid) % vectors,
            PollCtx::Workqueue,
        )?;
        let qp = id.create_qp(
            &path.pd,
            &cq,
            &cq,
            QpCaps {
                max_send_wr: send,
                max_recv_wr: recv,
                max_send_sge: 1,
                max_recv_sge: 1,
            },
        )?;
        if cid == 0 {
            crate::io::post_info_recv(&con, qp)?;
        }
        id.accept(&ConnParam {
            private_data: &rsp,
            rnr_retry_count: 7,
            ..Default::default()
        })
    })();
    if let Err(e) = res {
        // CAST: As in `reject`.
        let _ = id.reject(&ConnRsp::reject(e.to_errno() as i16).encode());
        return Err(e);
    }
    let mut cons = path.cons.lock();
    match cons.get_mut(usize::from(cid)) {
        Some(slot) => *slot = Some(id),
        // The path closed meanwhile: the id goes (destroyed when this handler returns).
        None => drop(id),
    }
    Ok(())
}
