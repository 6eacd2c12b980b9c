// SPDX-License-Identifier: GPL-2.0-or-later

//! One path of a client session: its connections, the server's chunk table, the request
//! slots, receive processing and the IO submission (`struct rtrs_clt_path`).
//!
//! C version: [drivers/infiniband/ulp/rtrs/rtrs-clt.c](srctree/drivers/infiniband/ulp/rtrs/rtrs-clt.c)
//! (`init_conns`, `rtrs_send_path_info`, `process_info_rsp`, `post_recv_path`,
//! `rtrs_clt_rdma_done`, `rtrs_clt_write_req`, `rtrs_clt_read_req`).
//!
//! Glossary: IU: information unit, a DMA-mapped message buffer; rbuf: one server chunk
//! (address and rkey); buf_id: chunk index = permit index = request slot; imm: 32-bit
//! immediate data; hb: heartbeat; MR: fast-registration memory region.
//!
//! Ownership: a [`Path`] owns its connections; the completion targets posted on them hold
//! an `Arc<Path>`, so the QPs are flushed ([`Path::stop`]) before the path can go.

use crate::con::{Accepted, Con, ConSetup, CONNECT_TIMEOUT_MS, SERVICE_CON_QUEUE_DEPTH};
use crate::hb::{self, Heartbeat, Tick};
use crate::imm::{self, Imm, ImmLayout};
use crate::rdma::cm::SockAddr;
use crate::rdma::cq::{Cqe, CqeHandler, Wc, WcOpcode, WcStatus};
use crate::rdma::dma::{DmaBuf, DmaDir};
use crate::rdma::pd::Pd;
use crate::rdma::wr::{RecvWr, SendWr};
use crate::req::{Dir, Req, ReqSlot};
use crate::state::State;
use crate::stats::Stats;
use crate::sync::{
    impl_has_delayed_work, new_delayed_work, Completion, DelayedWork, DelayedWorkItem, OwnedQueue,
    TryLock,
};
use crate::{errno, msg};
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use kernel::pin_init;
use kernel::prelude::*;
use kernel::sync::Arc;

/// 4 KiB pages per request MR at most (`RTRS_MAX_SEGMENTS`).
const MAX_SEGMENTS: u32 = 128;

/// The chunk a request lands in on the server.
pub(crate) struct Rbuf {
    /// Remote address of the chunk.
    addr: u64,
    /// Current rkey (changes with every RKEY_RSP on `always_invalidate` servers).
    rkey: AtomicU32,
}

/// One RTRS path, connected.
#[pin_data]
pub(crate) struct Path {
    /// The path's UUID (`sess_uuid`), stable across reconnects.
    pub(crate) uuid: [u8; 16],
    /// `cid_num`: `nr_cpu_ids + nr_poll_queues + 1`.
    pub(crate) con_num: u16,
    /// Connections with IRQ-driven CQs: cid 0 and one per possible CPU.
    pub(crate) irq_con_num: u16,
    /// What the server announced.
    pub(crate) acc: Accepted,
    /// `max_io_size + max_hdr_size`.
    pub(crate) chunk_size: u32,
    /// Signal every n-th IO work request (`min(QD, 512)`).
    signal_interval: u32,
    /// Pages per request MR.
    pub(crate) max_pages_per_mr: u32,
    /// How a request's chunk and offset go into the immediate data.
    layout: ImmLayout,
    /// The path's state (`rtrs_clt_state`), changed only by [`Path::change_state`]; an
    /// atomic because completions (softirq) change it too.
    state: AtomicU32,
    /// The heartbeat miss counter: zeroed by every receive. A receive that finds it taken
    /// by the tick skips the reset, which only delays the next heartbeat.
    hb: TryLock<Heartbeat>,
    /// When the last heartbeat was sent, in ns (`ktime_get`).
    hb_last_sent: AtomicU64,
    /// Last heartbeat round trip in ns.
    pub(crate) cur_latency: AtomicU64,
    /// The heartbeat timer (§10).
    #[pin]
    hb_work: DelayedWork<Path>,
    /// Flushes the connections after an error ([`Path::error`]).
    #[pin]
    err_work: DelayedWork<Path, 1>,
    /// The workqueue of the heartbeat.
    wq: Arc<OwnedQueue>,
    /// Completion target of heartbeats and their answers, allocated once: answers are sent
    /// from the receive completion (softirq), which must not allocate.
    hb_done: Arc<Cqe<HbAckDone>>,
    /// The first error that broke the path (0 while healthy).
    pub(crate) err: AtomicI32,
    /// Set by the first [`Path::stop`].
    stopped: AtomicBool,
    /// Server chunks, indexed by buf_id.
    rbufs: KVec<Rbuf>,
    /// Request slots, indexed by buf_id.
    reqs: KVec<Arc<Cqe<ReqSlot>>>,
    /// Connections, indexed by cid.
    cons: KVec<Con>,
    /// The protection domain of the connections (dropped after them).
    pd: Arc<Pd>,
    /// Port of the RDMA device, for sysfs.
    pub(crate) hca_port: u32,
    /// Name of the RDMA device, for sysfs.
    pub(crate) hca_name: KVec<u8>,
    /// Local address of cid 0 after it connected.
    pub(crate) src: SockAddr,
    /// Server address.
    pub(crate) dst: SockAddr,
    /// Statistics (sysfs `stats/`).
    pub(crate) stats: Arc<Stats>,
}

/// The receive of INFO_RSP on cid 0.
struct InfoRecv {
    buf: DmaBuf,
    len: AtomicU32,
    ok: AtomicU32,
    done: Pin<KBox<Completion>>,
}

impl CqeHandler for InfoRecv {
    fn done(this: Arc<Cqe<Self>>, wc: &Wc) {
        if wc.status() == WcStatus::Success && wc.opcode() == WcOpcode::Recv {
            this.len.store(wc.byte_len(), Ordering::Relaxed);
            this.ok.store(1, Ordering::Release);
        } else if wc.status() != WcStatus::FlushErr {
            pr_err!("path info response recv failed: {:?}\n", wc.status());
        }
        this.done.complete();
    }
}

/// The send of INFO_REQ; keeps its buffer alive until the send completed.
struct InfoSend {
    _buf: DmaBuf,
}

impl CqeHandler for InfoSend {
    fn done(_this: Arc<Cqe<Self>>, wc: &Wc) {
        if wc.status() != WcStatus::Success && wc.status() != WcStatus::FlushErr {
            pr_err!("path info request send failed: {:?}\n", wc.status());
        }
    }
}

/// One steady-state receive of a connection; re-posted after each completion.
pub(crate) struct IoRecv {
    path: Arc<Path>,
    cid: u16,
    /// 8-byte buffer for RKEY_RSP when the server sets `NEW_RKEY_F`.
    buf: Option<DmaBuf>,
}

/// Completions of heartbeats and their answers: only errors matter.
pub(crate) struct HbAckDone;

impl CqeHandler for HbAckDone {
    fn done(_this: Arc<Cqe<Self>>, wc: &Wc) {
        if !matches!(wc.status(), WcStatus::Success | WcStatus::FlushErr) {
            pr_err!("heartbeat send failed: {:?}\n", wc.status());
        }
    }
}

/// What connecting a path needs.
pub(crate) struct PathSetup<'a> {
    /// Session name for INFO_REQ.
    pub(crate) sessname: &'a [u8],
    /// The session's UUID.
    pub(crate) paths_uuid: [u8; 16],
    /// This path's UUID.
    pub(crate) uuid: [u8; 16],
    /// Local address, if any.
    pub(crate) src: Option<&'a SockAddr>,
    /// Server address.
    pub(crate) dst: &'a SockAddr,
    /// `nr_cpu_ids`.
    pub(crate) nr_cpus: u32,
    /// Poll queues of the user.
    pub(crate) nr_poll_queues: u32,
    /// `first_conn` of cid 0.
    pub(crate) first_conn: bool,
    /// Connect attempt counter of the path (sent as `recon_cnt`).
    pub(crate) recon_cnt: u16,
    /// The module's workqueue, for the heartbeat.
    pub(crate) wq: &'a Arc<OwnedQueue>,
}

impl Path {
    /// Connects all connections, exchanges the path information and posts the receives
    /// (§4.2, §5, §8). Returns the path in state CONNECTED.
    pub(crate) fn connect(setup: &PathSetup<'_>) -> Result<Arc<Self>> {
        let con_num = setup.nr_cpus + setup.nr_poll_queues + 1;
        let con_num = u16::try_from(con_num)
            .ok()
            .filter(|n| *n <= msg::MAX_CID_NUM)
            .ok_or(EINVAL)?;
        let irq_con_num = u16::try_from(setup.nr_cpus + 1).map_err(|_| EINVAL)?;
        let mut pd = None;
        let mut cons = KVec::with_capacity(con_num.into(), GFP_KERNEL)?;
        let mut acc = None;
        let mut first_conn = setup.first_conn;
        for cid in 0..con_num {
            let cs = ConSetup {
                cid,
                req: msg::ConnReq {
                    cid,
                    cid_num: con_num,
                    recon_cnt: setup.recon_cnt,
                    sess_uuid: setup.uuid,
                    paths_uuid: setup.paths_uuid,
                    first_conn,
                },
                src: setup.src,
                dst: setup.dst,
                queue_depth: acc.map_or(0, |a: Accepted| a.queue_depth.into()),
                direct: cid >= irq_con_num,
                cpu: u32::from(cid.saturating_sub(1)) % setup.nr_cpus.max(1),
            };
            let (con, a) = Con::connect(&cs, &mut pd)?;
            if let Some(a) = a {
                acc = Some(a);
                // The session exists on the server from now on.
                first_conn = true;
            }
            cons.push(con, GFP_KERNEL)?;
        }
        let acc = acc.ok_or(EINVAL)?;
        let pd = pd.ok_or(EINVAL)?;
        if acc.queue_depth == 0 {
            pr_err!("server announced queue depth 0\n");
            return Err(errno!(ECONNRESET));
        }
        let chunk_size = acc
            .max_io_size
            .checked_add(acc.max_hdr_size)
            .ok_or(errno!(ECONNRESET))?;
        let dev = cons[0].cm().device().ok_or(ENODEV)?;
        let attrs = dev.attrs();
        let hca_port = cons[0].cm().port_num();
        let mut hca_name = KVec::new();
        hca_name.extend_from_slice(dev.name().as_bytes(), GFP_KERNEL)?;
        let src = cons[0].cm().src_addr();
        let shift = 12u32;
        let by_size = u32::try_from(attrs.max_mr_size >> shift).unwrap_or(u32::MAX);
        let max_pages_per_mr = MAX_SEGMENTS
            .min(by_size)
            .min(attrs.max_fast_reg_page_list_len);

        // INFO exchange on cid 0.
        let qd: usize = acc.queue_depth.into();
        let info = Cqe::new(InfoRecv {
            buf: DmaBuf::new(dev, msg::info_rsp_len(qd), DmaDir::FromDevice)?,
            len: AtomicU32::new(0),
            ok: AtomicU32::new(0),
            done: KBox::pin_init(Completion::new(), GFP_KERNEL)?,
        })?;
        let lkey = pd.local_dma_lkey();
        {
            let sge = [info.buf.sge(0, info.buf.len(), lkey)?];
            cons[0]
                .qp()?
                .post_recv(&mut [RecvWr::new(&sge, info.clone())])?;
        }
        let req = msg::encode_info_req(setup.sessname).map_err(|_| EINVAL)?;
        let mut sbuf = DmaBuf::new(dev, req.len(), DmaDir::ToDevice)?;
        sbuf.write(0, &req)?;
        let sge = [sbuf.sge(0, req.len(), lkey)?];
        let send = Cqe::new(InfoSend { _buf: sbuf })?;
        cons[0]
            .qp()?
            .post_send(&mut [SendWr::send(&sge).signaled(send)])?;
        if info.done.wait_timeout_ms(CONNECT_TIMEOUT_MS).is_err() {
            pr_err!("waiting for the path info response timed out\n");
            return Err(errno!(ETIMEDOUT));
        }
        if info.ok.load(Ordering::Acquire) == 0 {
            return Err(errno!(ECONNRESET));
        }
        // CAST: `byte_len` is at most the posted buffer length, a `usize`.
        let len = (info.len.load(Ordering::Relaxed) as usize).min(info.buf.len());
        let mut raw = KVec::from_elem(0u8, len, GFP_KERNEL)?;
        info.buf.sync_for_cpu();
        info.buf.read(0, &mut raw)?;
        let rsp = msg::InfoRsp::decode(&raw, acc.queue_depth, chunk_size).map_err(|e| {
            pr_err!("invalid path info response: {:?}\n", e);
            errno!(ECONNRESET)
        })?;
        let mut rbufs = KVec::with_capacity(qd, GFP_KERNEL)?;
        for (addr, rkey) in rsp.chunks() {
            rbufs.push(
                Rbuf {
                    addr,
                    rkey: AtomicU32::new(rkey),
                },
                GFP_KERNEL,
            )?;
        }
        if rbufs.len() != qd {
            pr_err!(
                "path info response maps {} chunks, not {}\n",
                rbufs.len(),
                qd
            );
            return Err(errno!(ECONNRESET));
        }
        let stats = Stats::new(setup.nr_cpus)?;
        let mut reqs = KVec::with_capacity(qd, GFP_KERNEL)?;
        for i in 0..qd {
            // CAST: `qd` fits in `u16`.
            reqs.push(
                ReqSlot::new(
                    dev,
                    &pd,
                    i as u32,
                    acc.max_hdr_size,
                    max_pages_per_mr,
                    stats.clone(),
                )?,
                GFP_KERNEL,
            )?;
        }
        let hb_done = Cqe::new(HbAckDone)?;
        let hb_work = new_delayed_work!("rtrs_clt_hb");
        let err_work = new_delayed_work!("rtrs_clt_err_recovery");
        let path = Arc::pin_init(
            pin_init!(Self {
                uuid: setup.uuid,
                con_num,
                irq_con_num,
                acc,
                chunk_size,
                signal_interval: u32::from(acc.queue_depth).min(SERVICE_CON_QUEUE_DEPTH),
                max_pages_per_mr,
                layout: ImmLayout::new(acc.queue_depth),
                state: AtomicU32::new(State::Connecting as u32),
                hb: TryLock::new(Heartbeat::default()),
                hb_last_sent: AtomicU64::new(0),
                cur_latency: AtomicU64::new(0),
                hb_work <- hb_work,
                err_work <- err_work,
                wq: setup.wq.clone(),
                hb_done,
                err: AtomicI32::new(0),
                stopped: AtomicBool::new(false),
                rbufs,
                reqs,
                cons,
                pd,
                hca_port,
                hca_name,
                src,
                dst: *setup.dst,
                stats,
            }),
            GFP_KERNEL,
        )?;
        for con in path.cons.iter() {
            con.attach(&path);
        }
        if let Err(e) = Self::post_recvs(&path) {
            Self::stop(&path);
            return Err(e);
        }
        path.change_state(State::Connected);
        path.stats.path_up();
        DelayedWork::<Path, 0>::queue(&path, &path.wq, hb::INTERVAL_MS);
        Ok(path)
    }

    /// Posts the steady-state receives on every connection (§8).
    fn post_recvs(this: &Arc<Self>) -> Result {
        let new_rkey = this.acc.flags & msg::NEW_RKEY_F != 0;
        let dev = this.cons[0].cm().device().ok_or(ENODEV)?;
        for con in this.cons.iter() {
            let n = if con.cid == 0 {
                SERVICE_CON_QUEUE_DEPTH
            } else {
                this.acc.queue_depth.into()
            } * 2;
            for _ in 0..n {
                let buf = if new_rkey {
                    Some(DmaBuf::new(dev, msg::RKEY_RSP_LEN, DmaDir::FromDevice)?)
                } else {
                    None
                };
                let recv = Cqe::new(IoRecv {
                    path: this.clone(),
                    cid: con.cid,
                    buf,
                })?;
                this.post_io_recv(con.cid, recv)?;
            }
        }
        Ok(())
    }

    /// The connection with index `cid`.
    pub(crate) fn con(&self, cid: u16) -> Option<&Con> {
        self.cons.get(usize::from(cid))
    }

    /// Whether the path carries IO.
    pub(crate) fn connected(&self) -> bool {
        self.state() == State::Connected
    }

    /// A path error: logged once, further IO refused, connections flushed. (Reconnecting
    /// the path is not implemented.)
    pub(crate) fn error(this: &Arc<Self>, why: &core::fmt::Arguments<'_>) {
        if this
            .err
            .compare_exchange(0, -1, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            pr_err!("path error: {}\n", why);
        }
        // CONNECTED -> CONNECTING_ERR is not in the table; without recovery the path
        // closes: the connections are flushed from a work item, which fails the requests
        // in flight.
        if this.change_state(State::Closing) {
            DelayedWork::<Path, 1>::queue(this, &this.wq, 0);
        }
    }

    /// Disconnects every connection and flushes their work requests: every request in
    /// flight completes with an error, every receive gives its path reference back.
    pub(crate) fn stop(this: &Arc<Self>) {
        if this.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        this.change_state(State::Closing);
        // The work holds a reference; `stopped` keeps it from re-arming.
        DelayedWork::<Path, 0>::cancel_sync(this);
        for con in this.cons.iter() {
            con.detach();
            con.stop();
        }
        // Requests whose response can no longer come.
        for slot in this.reqs.iter() {
            ReqSlot::fail(slot, errno!(ECONNABORTED));
        }
        this.change_state(State::Closed);
    }

    /// Waits for a running error recovery and cancels a pending one. Not from the recovery.
    pub(crate) fn cancel_recovery(this: &Arc<Self>) {
        DelayedWork::<Path, 1>::cancel_sync(this);
    }

    /// The path's state.
    pub(crate) fn state(&self) -> State {
        state_of(self.state.load(Ordering::Acquire))
    }

    /// Moves to `new` if the state table allows it from the current state; returns whether
    /// it did (`rtrs_clt_change_state`).
    pub(crate) fn change_state(&self, new: State) -> bool {
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            let mut st = state_of(cur);
            if !st.change(new) {
                return false;
            }
            match self
                .state
                .compare_exchange(cur, new as u32, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(now) => cur = now,
            }
        }
    }

    /// Polls the direct CQ of connection `index + 1` without a budget, as
    /// `rtrs_clt_rdma_cq_direct` does (the block layer's poll queue numbers count the default
    /// queues too).
    pub(crate) fn poll(&self, index: u32) -> Result<u32> {
        let cid = u16::try_from(index + 1).map_err(|_| EINVAL)?;
        // CAST: `i32::MAX` fits in `u32`; it stands for C's unlimited budget of -1.
        self.con(cid).ok_or(EINVAL)?.poll_direct(i32::MAX as u32)
    }

    /// Submits a request on connection `cid` with request slot `buf_id` (§9.2, §9.3).
    pub(crate) fn request(
        this: &Arc<Self>,
        cid: u16,
        buf_id: u32,
        io: Req<'_>,
        mi: bool,
    ) -> Result {
        let s = &**this;
        if !s.connected() {
            return Err(errno!(ECONNABORTED));
        }
        let (Some(con), Some(slot), Some(rbuf)) = (
            s.con(cid),
            // CAST: `u32` fits in `usize`.
            s.reqs.get(buf_id as usize),
            s.rbufs.get(buf_id as usize),
        ) else {
            return Err(EINVAL);
        };
        if con.lost() {
            Self::error(this, &kernel::fmt!("connection {} lost", cid));
            return Err(errno!(ECONNABORTED));
        }
        let qp = con.qp()?;
        let signal =
            con.wr_cnt.fetch_add(1, Ordering::Relaxed).wrapping_add(1) % s.signal_interval == 0;
        let write = io.dir == Dir::Write;
        let bytes = (io.usr.len() + io.data_len) as u64;
        ReqSlot::submit(
            slot,
            qp,
            io,
            crate::req::Target {
                addr: rbuf.addr,
                rkey: rbuf.rkey.load(Ordering::Acquire),
                layout: s.layout,
                buf_id,
                chunk_size: s.chunk_size,
                max_hdr_size: s.acc.max_hdr_size,
                lkey: s.pd.local_dma_lkey(),
            },
            signal,
            mi,
        )?;
        s.stats.request(write, bytes);
        Ok(())
    }

    /// Handles an IO response for request slot `msg_id`.
    fn io_rsp(this: &Arc<Self>, cid: u16, msg_id: u32, errno: i32, w_inv: bool) {
        let Some(slot) = this.reqs.get(msg_id as usize) else {
            Self::error(
                this,
                &kernel::fmt!("IO response for msg_id {} >= queue depth", msg_id),
            );
            return;
        };
        let qp = this.con(cid).and_then(|c| c.qp().ok());
        if let Err(e) = ReqSlot::complete(slot, qp, errno, w_inv) {
            Self::error(
                this,
                &kernel::fmt!("completing request {} failed: {:?}", msg_id, e),
            );
        }
    }
}

impl Path {
    /// Posts one steady-state receive on connection `cid`.
    fn post_io_recv(&self, cid: u16, recv: Arc<Cqe<IoRecv>>) -> Result {
        let qp = self.con(cid).ok_or(EINVAL)?.qp()?;
        match &recv.buf {
            Some(buf) => {
                let sge = [buf.sge(0, buf.len(), self.pd.local_dma_lkey())?];
                qp.post_recv(&mut [RecvWr::new(&sge, recv.clone())])
            }
            None => qp.post_recv(&mut [RecvWr::new(&[], recv.clone())]),
        }
    }

    /// Sends a heartbeat or its answer on cid 0: an empty RDMA_WRITE_WITH_IMM (§10).
    fn send_hb(&self, imm: u32) -> Result {
        let qp = self.con(0).ok_or(EINVAL)?.qp()?;
        let wr = SendWr::rdma_write_with_imm(&[], 0, 0, imm).signaled(self.hb_done.clone());
        qp.post_send(&mut [wr])
    }

    /// An RKEY_RSP arrived in `buf` with immediate data `imm` (§9.6).
    fn rkey_rsp(this: &Arc<Self>, cid: u16, wc: &Wc, buf: &DmaBuf) -> Result {
        if (wc.byte_len() as usize) < msg::RKEY_RSP_LEN {
            pr_err!("rkey response is malformed: size {}\n", wc.byte_len());
            return Err(EINVAL);
        }
        let mut raw = [0u8; msg::RKEY_RSP_LEN];
        buf.sync_for_cpu();
        buf.read(0, &mut raw)?;
        let rsp = msg::RkeyRsp::decode(&raw, this.acc.queue_depth).map_err(|e| {
            pr_err!("rkey response is malformed: {:?}\n", e);
            EINVAL
        })?;
        buf.sync_for_device();
        if let Some(Imm::IoRsp {
            msg_id,
            errno,
            w_inv,
        }) = wc.imm_data().map(|i| this.layout.decode(i))
        {
            if msg_id != u32::from(rsp.buf_id) {
                pr_err!(
                    "rkey response for buf_id {} with msg_id {}\n",
                    rsp.buf_id,
                    msg_id
                );
                return Err(EINVAL);
            }
            this.rbufs[usize::from(rsp.buf_id)]
                .rkey
                .store(rsp.rkey, Ordering::Release);
            Self::io_rsp(this, cid, msg_id, errno, w_inv);
        }
        Ok(())
    }
}

impl CqeHandler for IoRecv {
    fn done(this: Arc<Cqe<Self>>, wc: &Wc) {
        let path = &this.path;
        match wc.status() {
            WcStatus::Success => {}
            WcStatus::FlushErr => return,
            s => {
                Path::error(path, &kernel::fmt!("RDMA receive failed: {:?}", s));
                return;
            }
        }
        if let Some(mut hb) = path.hb.try_lock() {
            hb.heard();
        }
        let cid = this.cid;
        if let Some(con) = path.con(cid) {
            path.stats.completion_on(con.cpu);
        }
        match wc.opcode() {
            WcOpcode::RecvRdmaWithImm => {
                let Some(imm) = wc.imm_data() else {
                    Path::error(path, &kernel::fmt!("RDMA write without immediate data"));
                    return;
                };
                match path.layout.decode(imm) {
                    Imm::IoRsp {
                        msg_id,
                        errno,
                        w_inv,
                    } => Path::io_rsp(path, cid, msg_id, errno, w_inv),
                    Imm::HbMsg => {
                        if let Err(e) = path.send_hb(imm::HB_ACK_IMM) {
                            Path::error(path, &kernel::fmt!("heartbeat ack: {:?}", e));
                        }
                    }
                    Imm::HbAck => {
                        let sent = path.hb_last_sent.load(Ordering::Relaxed);
                        let now = now_ns();
                        path.cur_latency
                            .store(now.saturating_sub(sent), Ordering::Relaxed);
                    }
                    Imm::IoReq { .. } | Imm::Unknown(_) => {
                        pr_warn!("unknown IMM type {}\n", imm >> imm::PAYLOAD_BITS);
                    }
                }
            }
            WcOpcode::Recv => {
                // Key invalidations and new keys from the server.
                if wc.invalidated_rkey().is_none() {
                    let res = match &this.buf {
                        Some(buf) => Path::rkey_rsp(path, cid, wc, buf),
                        None => Err(EINVAL),
                    };
                    if res.is_err() {
                        Path::error(path, &kernel::fmt!("bad receive on cid {}", cid));
                        return;
                    }
                }
            }
            o => {
                pr_warn!("unexpected WC type: {:?}\n", o);
                return;
            }
        }
        let path = this.path.clone();
        if let Err(e) = path.post_io_recv(cid, this) {
            Path::error(&path, &kernel::fmt!("re-posting a receive failed: {:?}", e));
        }
    }
}

/// The monotonic clock in ns.
fn now_ns() -> u64 {
    u64::try_from(kernel::time::Ktime::ktime_get().to_ns()).unwrap_or(0)
}

impl_has_delayed_work! { impl HasDelayedWork<0> for Path { self.hb_work } }
impl_has_delayed_work! { impl HasDelayedWork<1> for Path { self.err_work } }

impl DelayedWorkItem<1> for Path {
    /// Error recovery: flushes the connections, failing the requests in flight.
    fn run(this: Arc<Self>) {
        Self::stop(&this);
    }
}

impl DelayedWorkItem for Path {
    /// A heartbeat tick (`rtrs_hb_work`).
    fn run(this: Arc<Self>) {
        if this.stopped.load(Ordering::Acquire) {
            return;
        }
        let tick = this.hb.try_lock().map_or(Tick::Wait, |mut hb| hb.tick());
        match tick {
            Tick::Dead => {
                Path::error(&this, &kernel::fmt!("HB missed max reached"));
                return;
            }
            Tick::Send => {
                this.hb_last_sent.store(now_ns(), Ordering::Relaxed);
                if let Err(e) = this.send_hb(imm::HB_MSG_IMM) {
                    Path::error(&this, &kernel::fmt!("sending heartbeat failed: {:?}", e));
                    return;
                }
            }
            Tick::Wait => {}
        }
        DelayedWork::<Path, 0>::queue(&this, &this.wq, hb::INTERVAL_MS);
    }
}

/// The state with number `v` (as stored by [`Path::change_state`]).
fn state_of(v: u32) -> State {
    [
        State::Connecting,
        State::ConnectingErr,
        State::Reconnecting,
        State::Connected,
        State::Closing,
        State::Closed,
    ]
    .into_iter()
    .find(|s| *s as u32 == v)
    .unwrap_or(State::Dead)
}
