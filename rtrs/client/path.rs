// SPDX-License-Identifier: GPL-2.0-or-later

//! One path of a client session (`struct rtrs_clt_path`): the [`Path`] an admin sees in
//! sysfs, which lives from the first connect until the path is removed, and its [`Conns`]:
//! connections, the server's chunk table and the request slots, rebuilt on every reconnect.
//!
//! C version: [drivers/infiniband/ulp/rtrs/rtrs-clt.c](srctree/drivers/infiniband/ulp/rtrs/rtrs-clt.c)
//! (`init_conns`, `rtrs_send_path_info`, `post_recv_path`, `rtrs_clt_rdma_done`,
//! `rtrs_rdma_error_recovery`, `rtrs_clt_err_recovery_work`, `rtrs_clt_reconnect_work`,
//! `rtrs_clt_close_work`, `rtrs_clt_stop_and_destroy_conns`, `fail_all_outstanding_reqs`).
//!
//! Glossary: IU: information unit, a DMA-mapped message buffer; rbuf: one server chunk
//! (address and rkey); buf_id: chunk index = permit index = request slot; imm: 32-bit
//! immediate data; hb: heartbeat; MR: fast-registration memory region.
//!
//! Life of a path (state table in `state.rs`): an error (lost connection, failed work
//! request, heartbeat silence) moves CONNECTED to RECONNECTING and queues the error
//! recovery, which tears the connections down, fails the requests in flight over to other
//! paths and schedules a reconnect after `reconnect_delay_sec` (plus jitter). Each attempt
//! waits [`recon::BACKOFF_MS`], connects again (CONNECTING) and is CONNECTED, or counts as
//! failed and starts over; after `max_reconnect_attempts` the path closes (CLOSED), where
//! an admin's `reconnect` can revive it.
//!
//! Ownership: the path holds its current [`Conns`] in an RCU slot ([`RcuArc`]); IO reads
//! it inside an RCU read-side section after checking the state, and the teardown empties
//! the slot (waiting for a grace period) before it flushes the connections, so no request
//! is posted on connections being torn down. The completion targets posted on the
//! connections hold an `Arc<Conns>`, which holds the path.

use crate::addr_fmt::AddrText;
use crate::clt::Core;
use crate::con::{Accepted, Con, ConSetup, CONNECT_TIMEOUT_MS, SERVICE_CON_QUEUE_DEPTH};
use crate::hb::{self, Heartbeat, Tick};
use crate::imm::{self, Imm, ImmLayout};
use crate::rdma::cm::SockAddr;
use crate::rdma::cq::{Cqe, CqeHandler, Wc, WcOpcode, WcStatus};
use crate::rdma::dma::{DmaBuf, DmaDir};
use crate::rdma::pd::Pd;
use crate::rdma::wr::{RecvWr, SendWr};
use crate::recon;
use crate::req::{Failed, Req, ReqSlot};
use crate::state::State;
use crate::stats::Stats;
use crate::sync::{
    impl_has_delayed_work, msleep, new_delayed_work, Completion, DelayedWork, DelayedWorkItem,
    RcuArc, TryLock,
};
use crate::trace::{
    rtrs_clt::{Conn, ConnEvent},
    NameBuf,
};
use crate::{cpu, errno, msg};
use core::num::NonZeroU32;
use core::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::{new_mutex, pin_init};

/// How often the wait for the INFO_RSP looks for a lost connection, in milliseconds.
const INFO_POLL_MS: u32 = 100;

/// 4 KiB pages per request MR at most (`RTRS_MAX_SEGMENTS`).
const MAX_SEGMENTS: u32 = 128;

/// The chunk a request lands in on the server.
pub(crate) struct Rbuf {
    /// Remote address of the chunk.
    addr: u64,
    /// Current rkey (changes with every RKEY_RSP on `always_invalidate` servers).
    rkey: AtomicU32,
}

/// The work items of a path, by `DelayedWork` id.
mod work {
    /// The heartbeat timer.
    pub(super) const HB: u64 = 0;
    /// Error recovery: tear down, then schedule a reconnect.
    pub(super) const ERR: u64 = 1;
    /// One reconnect attempt.
    pub(super) const RECONNECT: u64 = 2;
    /// Closing: tear down, then CLOSED.
    pub(super) const CLOSE: u64 = 3;
}

/// One RTRS path: what survives reconnects.
#[pin_data]
pub(crate) struct Path {
    /// The path's UUID (`sess_uuid`), stable across reconnects.
    pub(crate) uuid: [u8; 16],
    /// The session.
    pub(crate) core: Arc<Core>,
    /// Local address (resolved by the first connect; reconnects bind it).
    pub(crate) src: SockAddr,
    /// Server address.
    pub(crate) dst: SockAddr,
    /// Port of the RDMA device, for sysfs.
    pub(crate) hca_port: u32,
    /// Name of the RDMA device, for sysfs.
    pub(crate) hca_name: KVec<u8>,
    /// Statistics (sysfs `stats/`).
    pub(crate) stats: Arc<Stats>,
    /// The path's state (`rtrs_clt_state`), changed only by [`Path::change_state`]; an
    /// atomic because completions (softirq) change it too.
    state: AtomicU32,
    /// The connections while the path has them.
    live: RcuArc<Conns>,
    /// Queue depth the server gave at the first connect; a reconnect must get the same.
    queue_depth: u16,
    /// Largest IO size the server gave at the first connect.
    max_io_size: u32,
    /// Pages per request MR at the first connect.
    max_pages_per_mr: u32,
    /// Reconnect attempts since the path was last connected.
    reconnect_attempts: AtomicU32,
    /// Set when the queue depth changed on reconnect: no more automatic attempts.
    no_auto_reconnect: AtomicBool,
    /// Connect attempts, sent as `recon_cnt`.
    recon_cnt: AtomicU16,
    /// The error of the current incident was logged.
    err_logged: AtomicBool,
    /// Counted in the session's connected paths (`established`).
    established: AtomicBool,
    /// The heartbeat miss counter: zeroed by every receive. A receive that finds it taken
    /// by the tick skips the reset, which only delays the next heartbeat.
    hb: TryLock<Heartbeat>,
    /// When the last heartbeat was sent, in ns (`ktime_get`).
    hb_last_sent: AtomicU64,
    /// Last heartbeat round trip in ns.
    pub(crate) cur_latency: AtomicU64,
    /// Serialises connecting and tearing down (`init_mutex`).
    #[pin]
    init_lock: Mutex<()>,
    /// The heartbeat timer (§10).
    #[pin]
    hb_work: DelayedWork<Path, { work::HB }>,
    /// Error recovery ([`Path::error`]).
    #[pin]
    err_work: DelayedWork<Path, { work::ERR }>,
    /// Reconnect attempts.
    #[pin]
    reconnect_work: DelayedWork<Path, { work::RECONNECT }>,
    /// Closing ([`Path::close`]).
    #[pin]
    close_work: DelayedWork<Path, { work::CLOSE }>,
}

/// The connections of a path and what belongs to them: built by every (re)connect.
pub(crate) struct Conns {
    /// The path.
    path: Arc<Path>,
    /// What the server announced.
    pub(crate) acc: Accepted,
    /// `max_io_size + max_hdr_size`.
    chunk_size: u32,
    /// Signal every n-th IO work request (`min(QD, 512)`).
    signal_interval: NonZeroU32,
    /// How a request's chunk and offset go into the immediate data.
    layout: ImmLayout,
    /// Completion target of heartbeats and their answers, allocated once: answers are sent
    /// from the receive completion (softirq), which must not allocate.
    hb_done: Arc<Cqe<HbAckDone>>,
    /// Server chunks, indexed by buf_id.
    rbufs: KVec<Rbuf>,
    /// Request slots, indexed by buf_id.
    reqs: KVec<Arc<Cqe<ReqSlot>>>,
    /// Connections, indexed by cid.
    cons: KVec<Con>,
    /// The protection domain of the connections (dropped after them).
    pd: Arc<Pd>,
}

/// A connected set of connections with the path information exchanged, before it is
/// attached to a [`Path`].
pub(crate) struct Link {
    acc: Accepted,
    chunk_size: u32,
    max_pages_per_mr: u32,
    rbufs: KVec<Rbuf>,
    cons: KVec<Con>,
    pd: Arc<Pd>,
    hca_port: u32,
    hca_name: KVec<u8>,
    src: SockAddr,
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
    conns: Arc<Conns>,
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
}

impl Link {
    /// Connects all connections and exchanges the path information (§4.2, §5).
    pub(crate) fn connect(setup: &PathSetup<'_>) -> Result<Self> {
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
        let link_err = |e: Error| {
            for con in cons.iter() {
                con.stop();
            }
            e
        };
        // Until the response, a connection lost (the server closed the path) ends the wait
        // at once, as C's wait on the path state does.
        let mut waited = 0;
        while info.done.wait_timeout_ms(INFO_POLL_MS).is_err() {
            if let Some(con) = cons.iter().find(|c| c.lost()) {
                pr_err!(
                    "connection {} lost before the path info response\n",
                    con.cid
                );
                return Err(link_err(errno!(ECONNRESET)));
            }
            waited += INFO_POLL_MS;
            if waited >= CONNECT_TIMEOUT_MS {
                pr_err!("waiting for the path info response timed out\n");
                return Err(link_err(errno!(ETIMEDOUT)));
            }
        }
        if info.ok.load(Ordering::Acquire) == 0 {
            return Err(link_err(errno!(ECONNRESET)));
        }
        // CAST: `byte_len` is at most the posted buffer length, a `usize`.
        let len = (info.len.load(Ordering::Relaxed) as usize).min(info.buf.len());
        let mut raw = KVec::from_elem(0u8, len, GFP_KERNEL).map_err(|e| link_err(e.into()))?;
        info.buf.sync_for_cpu();
        info.buf.read(0, &mut raw).map_err(link_err)?;
        let rsp = msg::InfoRsp::decode(&raw, acc.queue_depth, chunk_size).map_err(|e| {
            pr_err!("invalid path info response: {:?}\n", e);
            link_err(errno!(ECONNRESET))
        })?;
        let mut rbufs = KVec::with_capacity(qd, GFP_KERNEL).map_err(|e| link_err(e.into()))?;
        for (addr, rkey) in rsp.chunks() {
            rbufs
                .push(
                    Rbuf {
                        addr,
                        rkey: AtomicU32::new(rkey),
                    },
                    GFP_KERNEL,
                )
                .map_err(|e| link_err(e.into()))?;
        }
        if rbufs.len() != qd {
            pr_err!(
                "path info response maps {} chunks, not {}\n",
                rbufs.len(),
                qd
            );
            return Err(link_err(errno!(ECONNRESET)));
        }
        Ok(Self {
            acc,
            chunk_size,
            max_pages_per_mr,
            rbufs,
            cons,
            pd,
            hca_port,
            hca_name,
            src,
        })
    }

    /// Stops the connections of a link that is not used.
    fn stop(self) {
        for con in self.cons.iter() {
            con.stop();
        }
    }
}

impl Conns {
    /// Builds the request slots of `link` and attaches it to `path`; posts the receives.
    fn new(path: &Arc<Path>, link: Link) -> Result<Arc<Self>> {
        let parts = (|| -> Result<_> {
            let dev = link.cons[0].cm().device().ok_or(ENODEV)?;
            let qd = usize::from(link.acc.queue_depth);
            let mut reqs = KVec::with_capacity(qd, GFP_KERNEL)?;
            for i in 0..qd {
                // CAST: `qd` fits in `u16`.
                reqs.push(
                    ReqSlot::new(
                        dev,
                        &link.pd,
                        i as u32,
                        link.acc.max_hdr_size,
                        link.max_pages_per_mr,
                        path.clone(),
                    )?,
                    GFP_KERNEL,
                )?;
            }
            Ok((reqs, Cqe::new(HbAckDone)?))
        })();
        let (reqs, hb_done) = match parts {
            Ok(p) => p,
            Err(e) => {
                link.stop();
                return Err(e);
            }
        };
        let conns = Arc::new(
            Self {
                path: path.clone(),
                acc: link.acc,
                chunk_size: link.chunk_size,
                signal_interval: NonZeroU32::new(
                    u32::from(link.acc.queue_depth).min(SERVICE_CON_QUEUE_DEPTH),
                )
                .unwrap_or(NonZeroU32::MIN),
                layout: ImmLayout::new(link.acc.queue_depth),
                hb_done,
                rbufs: link.rbufs,
                reqs,
                cons: link.cons,
                pd: link.pd,
            },
            GFP_KERNEL,
        )?;
        for con in conns.cons.iter() {
            con.attach(path);
        }
        if let Err(e) = Self::post_recvs(&conns) {
            conns.stop();
            return Err(e);
        }
        Ok(conns)
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
                    conns: this.clone(),
                    cid: con.cid,
                    buf,
                })?;
                this.post_io_recv(con.cid, recv)?;
            }
        }
        Ok(())
    }

    /// Disconnects every connection and flushes its work requests: every completion target
    /// posted runs (with a flush error) and gives its reference back.
    fn stop(&self) {
        // Our own disconnect of one connection makes the server close the others: none
        // may report that as an error any more.
        for con in self.cons.iter() {
            con.detach();
        }
        for con in self.cons.iter() {
            con.stop();
        }
    }

    /// The connection with index `cid`.
    fn con(&self, cid: u16) -> Option<&Con> {
        self.cons.get(usize::from(cid))
    }

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

    /// Submits a request on connection `cid` with request slot `buf_id` (§9.2, §9.3).
    fn request(&self, cid: u16, buf_id: u32, io: Req<'_>, mi: bool) -> Result<(), Failed> {
        let path = &self.path;
        let (Some(con), Some(slot), Some(rbuf)) = (
            self.con(cid),
            // CAST: `u32` fits in `usize`.
            self.reqs.get(buf_id as usize),
            self.rbufs.get(buf_id as usize),
        ) else {
            return Err(Failed::new(EINVAL, io));
        };
        if con.lost() {
            Path::error(path, &kernel::fmt!("connection {} lost", cid));
            return Err(Failed::new(errno!(ECONNABORTED), io));
        }
        let qp = match con.qp() {
            Ok(qp) => qp,
            Err(e) => return Err(Failed::new(e, io)),
        };
        let signal =
            con.wr_cnt.fetch_add(1, Ordering::Relaxed).wrapping_add(1) % self.signal_interval == 0;
        let write = io.dir == crate::req::Dir::Write;
        let bytes = (io.usr.len() + io.data_len) as u64;
        ReqSlot::submit(
            slot,
            qp,
            io,
            crate::req::Target {
                addr: rbuf.addr,
                rkey: rbuf.rkey.load(Ordering::Acquire),
                layout: self.layout,
                buf_id,
                cid,
                chunk_size: self.chunk_size,
                max_hdr_size: self.acc.max_hdr_size,
                lkey: self.pd.local_dma_lkey(),
                direct_sges: con.direct_sges,
            },
            signal,
            mi,
        )?;
        path.stats.request(write, bytes);
        Ok(())
    }

    /// Handles an IO response for request slot `msg_id`.
    fn io_rsp(&self, cid: u16, msg_id: u32, errno: i32, w_inv: bool) {
        let Some(slot) = self.reqs.get(msg_id as usize) else {
            Path::error(
                &self.path,
                &kernel::fmt!("IO response for msg_id {} >= queue depth", msg_id),
            );
            return;
        };
        let qp = self.con(cid).and_then(|c| c.qp().ok());
        if let Err(e) = ReqSlot::complete(slot, qp, errno, w_inv) {
            Path::error(
                &self.path,
                &kernel::fmt!("completing request {} failed: {:?}", msg_id, e),
            );
        }
    }

    /// An RKEY_RSP arrived in `buf` with immediate data `imm` (§9.6).
    fn rkey_rsp(&self, cid: u16, wc: &Wc, buf: &DmaBuf) -> Result {
        if (wc.byte_len() as usize) < msg::RKEY_RSP_LEN {
            pr_err!("rkey response is malformed: size {}\n", wc.byte_len());
            return Err(EINVAL);
        }
        let mut raw = [0u8; msg::RKEY_RSP_LEN];
        buf.sync_for_cpu();
        buf.read(0, &mut raw)?;
        let rsp = msg::RkeyRsp::decode(&raw, self.acc.queue_depth).map_err(|e| {
            pr_err!("rkey response is malformed: {:?}\n", e);
            EINVAL
        })?;
        buf.sync_for_device();
        if let Some(Imm::IoRsp {
            msg_id,
            errno,
            w_inv,
        }) = wc.imm_data().map(|i| self.layout.decode(i))
        {
            if msg_id != u32::from(rsp.buf_id) {
                pr_err!(
                    "rkey response for buf_id {} with msg_id {}\n",
                    rsp.buf_id,
                    msg_id
                );
                return Err(EINVAL);
            }
            self.rbufs[usize::from(rsp.buf_id)]
                .rkey
                .store(rsp.rkey, Ordering::Release);
            self.io_rsp(cid, msg_id, errno, w_inv);
        }
        Ok(())
    }

    /// Takes every request still in flight after the connections were flushed and fails it
    /// over to another path of the session; a request no path takes completes with the
    /// error (`fail_all_outstanding_reqs`).
    fn fail_all(&self) {
        for slot in self.reqs.iter() {
            let Some(taken) = ReqSlot::take_in_flight(slot) else {
                continue;
            };
            let (conf, res) =
                taken.resubmit(|cid, io| self.path.core.send(cid, slot.id(), io, true));
            if let (Some(conf), Err(e)) = (conf, res) {
                conf.confirm(e.to_errno());
            }
        }
    }
}

impl CqeHandler for IoRecv {
    fn done(this: Arc<Cqe<Self>>, wc: &Wc) {
        let conns = &this.conns;
        let path = &conns.path;
        match wc.status() {
            WcStatus::Success => {}
            WcStatus::FlushErr => {
                Path::flushed(path);
                return;
            }
            s => {
                Path::error(path, &kernel::fmt!("RDMA receive failed: {:?}", s));
                return;
            }
        }
        if let Some(mut hb) = path.hb.try_lock() {
            hb.heard();
        }
        let cid = this.cid;
        if let Some(con) = conns.con(cid) {
            path.stats.completion_on(con.cpu);
        }
        match wc.opcode() {
            WcOpcode::RecvRdmaWithImm => {
                let Some(imm) = wc.imm_data() else {
                    Path::error(path, &kernel::fmt!("RDMA write without immediate data"));
                    return;
                };
                match conns.layout.decode(imm) {
                    Imm::IoRsp {
                        msg_id,
                        errno,
                        w_inv,
                    } => conns.io_rsp(cid, msg_id, errno, w_inv),
                    Imm::HbMsg => {
                        if let Err(e) = conns.send_hb(imm::HB_ACK_IMM) {
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
                        Some(buf) => conns.rkey_rsp(cid, wc, buf),
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
        let conns = this.conns.clone();
        if let Err(e) = conns.post_io_recv(cid, this) {
            Path::error(
                &conns.path,
                &kernel::fmt!("re-posting a receive failed: {:?}", e),
            );
        }
    }
}

impl Path {
    /// Connects a new path of `core` to `dst` (from `src` if given) and returns it
    /// CONNECTED. `first` says the session is new on the server (`for_new_clt`).
    pub(crate) fn create(
        core: &Arc<Core>,
        src: Option<&SockAddr>,
        dst: &SockAddr,
        first: bool,
    ) -> Result<Arc<Self>> {
        let uuid = cpu::uuid_gen();
        let link = Link::connect(&PathSetup {
            sessname: &core.name,
            paths_uuid: core.uuid,
            uuid,
            src,
            dst,
            nr_cpus: core.nr_cpus,
            nr_poll_queues: core.nr_poll_queues,
            first_conn: first,
            recon_cnt: 1,
        })?;
        let mut hca_name = KVec::new();
        let stats = match hca_name
            .extend_from_slice(&link.hca_name, GFP_KERNEL)
            .map_err(Error::from)
            .and_then(|()| Stats::new(core.nr_cpus))
        {
            Ok(s) => s,
            Err(e) => {
                link.stop();
                return Err(e);
            }
        };
        let path = Arc::pin_init(
            pin_init!(Self {
                uuid,
                core: core.clone(),
                src: link.src,
                dst: *dst,
                hca_port: link.hca_port,
                hca_name,
                stats,
                state: AtomicU32::new(State::Connecting as u32),
                live: RcuArc::new(None),
                queue_depth: link.acc.queue_depth,
                max_io_size: link.acc.max_io_size,
                max_pages_per_mr: link.max_pages_per_mr,
                reconnect_attempts: AtomicU32::new(0),
                no_auto_reconnect: AtomicBool::new(false),
                recon_cnt: AtomicU16::new(1),
                err_logged: AtomicBool::new(false),
                established: AtomicBool::new(false),
                hb: TryLock::new(Heartbeat::default()),
                hb_last_sent: AtomicU64::new(0),
                cur_latency: AtomicU64::new(0),
                init_lock <- new_mutex!(()),
                hb_work <- new_delayed_work!("rtrs_clt_hb"),
                err_work <- new_delayed_work!("rtrs_clt_err_recovery"),
                reconnect_work <- new_delayed_work!("rtrs_clt_reconnect"),
                close_work <- new_delayed_work!("rtrs_clt_close"),
            }),
            GFP_KERNEL,
        );
        let path = match path {
            Ok(p) => p,
            Err(e) => {
                link.stop();
                return Err(e);
            }
        };
        let res = {
            let _g = path.init_lock.lock();
            Self::up(&path, link, false)
        };
        if let Err(e) = res {
            Self::close(&path, true);
            return Err(e);
        }
        Ok(path)
    }

    /// Attaches `link` as the path's connections; CONNECTED unless a close came first.
    /// Counts the path as up in the session if `announce` (a new path is counted by
    /// [`Path::announce`] once it is in the session's list). Called with `init_lock` held,
    /// in state CONNECTING.
    fn up(this: &Arc<Self>, link: Link, announce: bool) -> Result {
        if link.acc.queue_depth != this.queue_depth {
            pr_err!(
                "<{}>: Error: queue depth changed\n",
                kernel::str::BStr::from_bytes(&this.core.name)
            );
            pr_err!(
                "<{}>: Disabling auto-reconnect. Trigger a manual reconnect after issue is resolved\n",
                kernel::str::BStr::from_bytes(&this.core.name)
            );
            this.no_auto_reconnect.store(true, Ordering::Relaxed);
            link.stop();
            return Err(errno!(ECONNRESET));
        }
        let conns = Conns::new(this, link)?;
        if let Some(old) = this.live.replace(Some(conns)) {
            old.stop();
        }
        if let Some(mut hb) = this.hb.try_lock() {
            *hb = Heartbeat::default();
        }
        this.err_logged.store(false, Ordering::Relaxed);
        if !this.change_state(State::Connected) {
            // Closed meanwhile: the closer tears the connections down.
            return Err(errno!(ECONNABORTED));
        }
        this.reconnect_attempts.store(0, Ordering::Relaxed);
        this.stats.path_up();
        if announce {
            this.established.store(true, Ordering::Relaxed);
            this.core.path_up();
        }
        pr_info!(
            "<{}>: path {}@{}: connected\n",
            kernel::str::BStr::from_bytes(&this.core.name),
            AddrText::new(this.src.family(), this.src.addr_bytes()),
            AddrText::new(this.dst.family(), this.dst.addr_bytes())
        );
        DelayedWork::<Path, { work::HB }>::queue(this, &this.core.wq, hb::INTERVAL_MS);
        Ok(())
    }

    /// Counts a new path, now in the session's list, as up (`rtrs_clt_path_up`), unless it
    /// went down meanwhile: as in C, the user hears of a path (the first one back after all
    /// were down: RECONNECTED) only once IO can choose it.
    pub(crate) fn announce(this: &Arc<Self>) {
        let _g = this.init_lock.lock();
        if this.state() == State::Connected && !this.established.swap(true, Ordering::Relaxed) {
            this.core.path_up();
        }
    }

    /// One reconnect attempt (`init_path`), in state CONNECTING.
    fn reconnect_once(this: &Arc<Self>) -> Result {
        let _g = this.init_lock.lock();
        let recon_cnt = this
            .recon_cnt
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1);
        let src = any_port(&this.src);
        let link = Link::connect(&PathSetup {
            sessname: &this.core.name,
            paths_uuid: this.core.uuid,
            uuid: this.uuid,
            src: src.as_ref(),
            dst: &this.dst,
            nr_cpus: this.core.nr_cpus,
            nr_poll_queues: this.core.nr_poll_queues,
            first_conn: true,
            recon_cnt,
        })?;
        if this.state() != State::Connecting {
            link.stop();
            return Err(errno!(ECONNABORTED));
        }
        Self::up(this, link, true)
    }

    /// The session's queue depth as this path's server gave it.
    pub(crate) fn queue_depth(&self) -> u16 {
        self.queue_depth
    }

    /// Largest IO size of the path.
    pub(crate) fn max_io_size(&self) -> u32 {
        self.max_io_size
    }

    /// Pages per request MR of the path.
    pub(crate) fn max_pages_per_mr(&self) -> u32 {
        self.max_pages_per_mr
    }

    /// Whether the path carries IO.
    pub(crate) fn connected(&self) -> bool {
        self.state() == State::Connected
    }

    /// A path error (`rtrs_rdma_error_recovery`), from any context: a connected path goes
    /// to RECONNECTING and its error recovery is queued; a connecting one fails.
    pub(crate) fn error(this: &Arc<Self>, why: &core::fmt::Arguments<'_>) {
        this.trace(ConnEvent::RdmaErrorRecovery);
        if !this.err_logged.swap(true, Ordering::AcqRel) {
            pr_err!(
                "<{}>: path {}@{}: error: {} (state {:?})\n",
                kernel::str::BStr::from_bytes(&this.core.name),
                AddrText::new(this.src.family(), this.src.addr_bytes()),
                AddrText::new(this.dst.family(), this.dst.addr_bytes()),
                why,
                this.state()
            );
        }
        if this.change_state_from(State::Connected, State::Reconnecting) {
            DelayedWork::<Path, { work::ERR }>::queue(this, &this.core.wq, 0);
        } else {
            this.change_state_from(State::Connecting, State::ConnectingErr);
        }
    }

    /// A receive was flushed. Our own teardown leaves CONNECTED before it drains the
    /// connections; a flush while CONNECTED means the QP went to the error state by
    /// itself (rxe does so when it cannot send, with the link down; the failing send may
    /// be an unsignalled one, whose error completion nobody sees), which is a path error
    /// as in C, where every failed completion starts the error recovery.
    pub(crate) fn flushed(this: &Arc<Self>) {
        if this.state() == State::Connected {
            Self::error(
                this,
                &kernel::fmt!("receive flushed: the QP is in the error state"),
            );
        }
    }

    /// Tears the connections down (`rtrs_clt_stop_and_destroy_conns`): after every IO
    /// submitter saw the path not CONNECTED, the connections are flushed and the requests
    /// in flight failed over. Process context; not with `init_lock` held.
    fn stop_and_destroy(this: &Arc<Self>) {
        // A connect in progress finishes first (it sees the state and gives up).
        drop(this.init_lock.lock());
        DelayedWork::<Path, { work::HB }>::cancel_sync(this);
        if let Some(conns) = this.live.replace(None) {
            pr_info!(
                "<{}>: path {}@{}: closing the connections ({:?})\n",
                kernel::str::BStr::from_bytes(&this.core.name),
                AddrText::new(this.src.family(), this.src.addr_bytes()),
                AddrText::new(this.dst.family(), this.dst.addr_bytes()),
                this.state()
            );
            conns.stop();
            conns.fail_all();
        }
        if this.established.swap(false, Ordering::Relaxed) {
            this.core.path_down();
        }
    }

    /// Closes the path (`rtrs_clt_close_conns`): CLOSING, then the close work tears it down
    /// and leaves it CLOSED; waits for that if `wait`. Process context.
    pub(crate) fn close(this: &Arc<Self>, wait: bool) {
        this.trace(ConnEvent::CloseConns);
        if this.change_state(State::Closing) {
            DelayedWork::<Path, { work::CLOSE }>::queue(this, &this.core.wq, 0);
        }
        if wait {
            DelayedWork::<Path, { work::CLOSE }>::flush(this);
        }
    }

    /// An admin's `reconnect` (`rtrs_clt_reconnect_from_sysfs`): tears the path down if
    /// needed, reconnects at once and waits for the attempt. `EBUSY` while the path is
    /// connecting or closing, `ENOTCONN` if the attempt failed.
    pub(crate) fn reconnect_now(this: &Arc<Self>) -> Result {
        let old = this.state();
        let changed = this.change_state(State::Reconnecting);
        if changed {
            this.reconnect_attempts.store(0, Ordering::Relaxed);
            this.no_auto_reconnect.store(false, Ordering::Relaxed);
            Self::stop_and_destroy(this);
            DelayedWork::<Path, { work::RECONNECT }>::queue(this, &this.core.wq, 0);
        }
        if changed || old == State::Reconnecting {
            DelayedWork::<Path, { work::RECONNECT }>::flush(this);
            return if this.connected() {
                Ok(())
            } else {
                Err(errno!(ENOTCONN))
            };
        }
        Err(EBUSY)
    }

    /// Closes the path for good and marks it DEAD, for removal. Returns `false` if someone
    /// else removed it already.
    pub(crate) fn kill(this: &Arc<Self>) -> bool {
        loop {
            Self::close(this, true);
            let cur = this.state();
            if cur == State::Dead {
                return false;
            }
            if this.change_state_from(State::Closed, State::Dead) {
                return true;
            }
        }
    }

    /// The path's state.
    pub(crate) fn state(&self) -> State {
        state_of(self.state.load(Ordering::Acquire))
    }

    /// Records the tracepoint `ev` (C `trace_rtrs_*(clt_path)`) with the path as it is now;
    /// nothing is gathered while it is off. Any context.
    fn trace(&self, ev: ConnEvent) {
        if !ev.enabled() {
            return;
        }
        // The path's sysfs directory name, as C's `kobject_name(&clt_path->kobj)`.
        let name = NameBuf::new(format_args!(
            "{}@{}",
            AddrText::new(self.src.family(), self.src.addr_bytes()),
            AddrText::new(self.dst.family(), self.dst.addr_bytes())
        ));
        let (success_cnt, fail_cnt) = self.stats.reconnects();
        ev.fire(&Conn {
            sessname: name.as_bytes(),
            // CAST: `State` is numbered as `enum rtrs_clt_state`.
            state: self.state() as i32,
            // CAST: C's field is an `int`; the counter never gets near `i32::MAX`.
            reconnect_attempts: self.reconnect_attempts.load(Ordering::Relaxed) as i32,
            max_reconnect_attempts: self.core.max_reconnect_attempts.load(Ordering::Relaxed),
            fail_cnt,
            success_cnt,
        });
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

    /// Moves from `old` to `new` only (`rtrs_clt_change_state_from_to`).
    fn change_state_from(&self, old: State, new: State) -> bool {
        old.allows(new)
            && self
                .state
                .compare_exchange(old as u32, new as u32, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    /// Requests in flight and latency, for the multipath policy.
    pub(crate) fn view(&self) -> crate::mp_policy::PathView {
        crate::mp_policy::PathView {
            connected: self.connected(),
            inflight: u32::try_from(self.stats.inflight.load(Ordering::Relaxed)).unwrap_or(0),
            latency_ns: self.cur_latency.load(Ordering::Relaxed),
        }
    }

    /// Polls the direct CQ of connection `index + 1` without a budget, as
    /// `rtrs_clt_rdma_cq_direct` does (the block layer's poll queue numbers count the default
    /// queues too).
    pub(crate) fn poll(&self, index: u32) -> Result<u32> {
        let cid = u16::try_from(index + 1).map_err(|_| EINVAL)?;
        self.live.read(|c| {
            let c = c.ok_or(errno!(ENOTCONN))?;
            // CAST: `i32::MAX` fits in `u32`; it stands for C's unlimited budget of -1.
            c.con(cid).ok_or(EINVAL)?.poll_direct(i32::MAX as u32)
        })
    }

    /// Submits a request on connection `cid` with request slot `buf_id` if the path is
    /// CONNECTED; the request comes back with the error otherwise.
    pub(crate) fn request(
        &self,
        cid: u16,
        buf_id: u32,
        io: Req<'_>,
        mi: bool,
    ) -> Result<(), Failed> {
        self.live.read(move |c| match c {
            // Checked inside the read-side section: the teardown waits for it.
            Some(c) if self.connected() => c.request(cid, buf_id, io, mi),
            _ => Err(Failed::new(errno!(ECONNABORTED), io)),
        })
    }

    /// Counts a request failed over to this path.
    pub(crate) fn failed_over(&self) {
        self.stats.failover();
    }
}

/// The local address `a` with port 0, for binding every connection of a reconnect to the
/// path's source address; `None` (let routing choose) for other families.
fn any_port(a: &SockAddr) -> Option<SockAddr> {
    let (bytes, len) = a.addr_bytes();
    match len {
        4 => Some(SockAddr::ipv4([bytes[0], bytes[1], bytes[2], bytes[3]], 0)),
        16 if u32::from(a.family()) == crate::bindings::AF_INET6 => Some(SockAddr::ipv6(bytes, 0)),
        _ => None,
    }
}

/// The monotonic clock in ns.
fn now_ns() -> u64 {
    u64::try_from(kernel::time::Ktime::ktime_get().to_ns()).unwrap_or(0)
}

impl_has_delayed_work! { impl HasDelayedWork<0> for Path { self.hb_work } }
impl_has_delayed_work! { impl HasDelayedWork<1> for Path { self.err_work } }
impl_has_delayed_work! { impl HasDelayedWork<2> for Path { self.reconnect_work } }
impl_has_delayed_work! { impl HasDelayedWork<3> for Path { self.close_work } }

impl DelayedWorkItem<{ work::ERR }> for Path {
    /// Error recovery (`rtrs_clt_err_recovery_work`): tear down, reconnect later.
    fn run(this: Arc<Self>) {
        Self::stop_and_destroy(&this);
        let delay = recon::delay_ms(
            this.core.reconnect_delay_sec,
            cpu::random_below(recon::SEED_MS),
        );
        DelayedWork::<Path, { work::RECONNECT }>::queue(&this, &this.core.wq, delay);
    }
}

impl DelayedWorkItem<{ work::RECONNECT }> for Path {
    /// One reconnect attempt (`rtrs_clt_reconnect_work`).
    fn run(this: Arc<Self>) {
        this.trace(ConnEvent::ReconnectWork);
        if this.state() != State::Reconnecting {
            return;
        }
        let max = this.core.max_reconnect_attempts.load(Ordering::Relaxed);
        let attempts = this.reconnect_attempts.load(Ordering::Relaxed);
        if this.no_auto_reconnect.load(Ordering::Relaxed) || recon::exhausted(attempts, max) {
            // Close the path completely when the attempts are used up.
            Self::close(&this, false);
            return;
        }
        this.reconnect_attempts
            .store(attempts.wrapping_add(1), Ordering::Relaxed);
        msleep(recon::BACKOFF_MS);
        if this.change_state(State::Connecting) {
            if let Err(e) = Self::reconnect_once(&this) {
                pr_err!(
                    "<{}>: path {}@{}: reconnecting failed: {:?}\n",
                    kernel::str::BStr::from_bytes(&this.core.name),
                    AddrText::new(this.src.family(), this.src.addr_bytes()),
                    AddrText::new(this.dst.family(), this.dst.addr_bytes()),
                    e
                );
                // A failure the connections did not report (no path info response, a
                // time-out) leaves the path CONNECTING, from which it cannot go back to
                // RECONNECTING: CONNECTING_ERR first, as C's init_conns and
                // rtrs_send_path_info do; a path closed meanwhile stays closing.
                this.change_state(State::ConnectingErr);
                if this.change_state(State::Reconnecting) {
                    this.stats.reconnect_failed();
                    DelayedWork::<Path, { work::ERR }>::queue(&this, &this.core.wq, 0);
                }
            }
        }
    }
}

impl DelayedWorkItem<{ work::CLOSE }> for Path {
    /// Closing (`rtrs_clt_close_work`): stop recovery, tear down, CLOSED.
    fn run(this: Arc<Self>) {
        DelayedWork::<Path, { work::ERR }>::cancel_sync(&this);
        DelayedWork::<Path, { work::RECONNECT }>::cancel_sync(&this);
        Self::stop_and_destroy(&this);
        this.change_state(State::Closed);
    }
}

impl DelayedWorkItem for Path {
    /// A heartbeat tick (`rtrs_hb_work`).
    fn run(this: Arc<Self>) {
        if !this.connected() {
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
                let res = this.live.read(|c| match c {
                    Some(c) => c.send_hb(imm::HB_MSG_IMM),
                    None => Err(errno!(ENOTCONN)),
                });
                if let Err(e) = res {
                    Path::error(&this, &kernel::fmt!("sending heartbeat failed: {:?}", e));
                    return;
                }
            }
            Tick::Wait => {}
        }
        DelayedWork::<Path, { work::HB }>::queue(&this, &this.core.wq, hb::INTERVAL_MS);
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
        State::Dead,
    ]
    .into_iter()
    .find(|s| *s as u32 == v)
    .unwrap_or(State::Dead)
}
