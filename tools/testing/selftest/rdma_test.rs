// SPDX-License-Identifier: GPL-2.0-or-later

//! Self-test of `rust/rdma`, over a soft-RDMA loopback (both ends in this module).
//!
//! Steps, each logged with one `rdma:` line: an `ib_client` sees the devices come and go;
//! a listener on `<addr>:12345`; a connect carrying private data is rejected with private
//! data; a second connect is accepted, private data checked both ways; SEND and
//! SEND_WITH_IMM both ways; a server region fast-registered (REG_MR) and announced in a
//! SEND; RDMA_WRITE_WITH_IMM and RDMA_READ into and from it; LOCAL_INV, a new key
//! (`inc_rkey`) and a new REG_MR; a read under the new key works, a read under the old key
//! fails with a remote access error; disconnect, the server id dropped inside its own
//! DISCONNECTED handler; teardown.
//!
//! CQs: the client polls directly (`IB_POLL_DIRECT`, from the waiting loop), the server
//! sends complete in softirq and its receives on the workqueue.

use crate::rdma::cm::{CmId, CmIdRef, ConnParam, ConnRequest, Event, EventKind, Handler, SockAddr};
use crate::rdma::cq::{Cq, Cqe, CqeHandler, PollCtx, Wc, WcOpcode, WcStatus};
use crate::rdma::device::{Client, ClientSlot, Device, Registration};
use crate::rdma::dma::{DmaBuf, DmaDir, SgBuf};
use crate::rdma::mr::Mr;
use crate::rdma::pd::Pd;
use crate::rdma::qp::QpCaps;
use crate::rdma::wr::{Access, RecvWr, SendWr, Sge};
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::prelude::*;
use kernel::sync::{Arc, CondVar, Mutex};
use kernel::time::msecs_to_jiffies;
use kernel::{c_str, new_condvar, new_mutex};

/// The port the listener uses.
const PORT: u16 = 12345;
/// Private data of the connect that the server rejects.
const REJECT_ME: &[u8] = b"reject-me: rnbd-rs rdma selftest";
/// Private data of the server's reject.
const REJECTED: &[u8] = b"rejected by the rnbd-rs selftest server";
/// Private data of the connect that the server accepts.
const HELLO: &[u8] = b"hello from the client: rnbd-rs rdma";
/// Private data of the server's accept.
const WELCOME: &[u8] = b"welcome from the server: rnbd-rs rdma selftest";
/// Bytes per message buffer.
const MSG: usize = 256;
/// Immediate data of the client's RDMA_WRITE_WITH_IMM.
const WRITE_IMM: u32 = 0xc0ffee;
/// Immediate data of the server's SEND_WITH_IMM.
const SEND_IMM: u32 = 0x5eed;
/// How long one step may take, in milliseconds.
const STEP_MS: u32 = 10_000;

// Completion tags: one slot each.
/// Client SEND.
const C_SEND: usize = 0;
/// Client receive of the server's messages.
const C_RECV: usize = 1;
/// Client RDMA_WRITE_WITH_IMM.
const C_WRITE: usize = 2;
/// Client RDMA_READ.
const C_READ: usize = 3;
/// Server receive.
const S_RECV: usize = 4;
/// Server SEND.
const S_SEND: usize = 5;
/// Server LOCAL_INV.
const S_INV: usize = 6;
/// Number of tags.
const NTAGS: usize = 7;

/// What the last completion of one tag reported; written in any completion context.
struct Slot {
    count: AtomicU32,
    status: AtomicU32,
    opcode: AtomicU32,
    len: AtomicU32,
    imm: AtomicU32,
}

impl Slot {
    /// An empty slot.
    const fn new() -> Self {
        Self {
            count: AtomicU32::new(0),
            status: AtomicU32::new(0),
            opcode: AtomicU32::new(0),
            len: AtomicU32::new(0),
            imm: AtomicU32::new(0),
        }
    }
}

/// A completion as recorded in a slot.
struct Seen {
    status: WcStatus,
    opcode: WcOpcode,
    len: u32,
    imm: u32,
}

/// An rdma_cm event as recorded by the test handler.
struct CmMsg {
    seq: u64,
    role: Role,
    kind: EventKind,
    status: i32,
    data: [u8; 64],
    len: usize,
}

/// The CM events not consumed yet, in arrival order (`seq`).
struct CmLog {
    msgs: [Option<CmMsg>; 16],
    seq: u64,
}

/// The resources the connections share, created once the device is known.
struct Res {
    pd: Arc<Pd>,
    client_cq: Arc<Cq>,
    server_send_cq: Arc<Cq>,
    server_recv_cq: Arc<Cq>,
    server_recv: DmaBuf,
}

/// State shared by the test thread and the handlers.
#[pin_data]
struct Ctx {
    #[pin]
    cm: Mutex<CmLog>,
    #[pin]
    res: Mutex<Option<Res>>,
    #[pin]
    server_conn: Mutex<Option<CmId<TestCm>>>,
    #[pin]
    sleep: Mutex<()>,
    #[pin]
    wake: CondVar,
    slots: [Slot; NTAGS],
}

/// Which id an event handler serves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Listener,
    Client,
    Server,
}

/// The rdma_cm handler of every id of the test.
struct TestCm {
    role: Role,
    ctx: Arc<Ctx>,
    /// Connect from the ROUTE_RESOLVED handler with this private data (the RTRS client's
    /// way, `rdma_connect_locked`).
    connect_on_route: Option<&'static [u8]>,
}

impl TestCm {
    /// Records an event for the test thread.
    fn record(&self, kind: EventKind, status: i32, data: &[u8]) {
        let mut log = self.ctx.cm.lock();
        let seq = log.seq;
        log.seq += 1;
        let mut msg = CmMsg {
            seq,
            role: self.role,
            kind,
            status,
            data: [0; 64],
            len: data.len().min(64),
        };
        msg.data[..msg.len].copy_from_slice(&data[..msg.len]);
        match log.msgs.iter_mut().find(|m| m.is_none()) {
            Some(free) => *free = Some(msg),
            None => pr_err!("rdma: CM event log full\n"),
        }
        drop(log);
        self.ctx.wake.notify_all();
    }

    /// Takes a connection request: QP, receive posted, accept with private data.
    fn accept(&self, req: ConnRequest<'_, Self>) -> Result {
        let id = req.adopt(TestCm {
            role: Role::Server,
            ctx: self.ctx.clone(),
            connect_on_route: None,
        })?;
        {
            let res = self.ctx.res.lock();
            let res = res.as_ref().ok_or(EINVAL)?;
            let qp = id.create_qp(&res.pd, &res.server_send_cq, &res.server_recv_cq, caps())?;
            let sge = [res.server_recv.sge(0, MSG, res.pd.local_dma_lkey())?];
            qp.post_recv(&mut [RecvWr::new(&sge, done(&self.ctx, S_RECV)?)])?;
        }
        id.accept(&conn_param(WELCOME))?;
        *self.ctx.server_conn.lock() = Some(id);
        Ok(())
    }
}

impl Handler for TestCm {
    fn event(&self, id: &CmIdRef, event: &Event<'_>) {
        self.record(event.kind, event.status, event.private_data);
        if let (EventKind::RouteResolved, Some(data)) = (event.kind, self.connect_on_route) {
            if let Err(e) = id.connect(&conn_param(data)) {
                pr_err!("rdma: connect from the handler failed: {:?}\n", e);
            }
        }
        if self.role == Role::Server && event.kind == EventKind::Disconnected {
            // Drop the server's id inside its own handler: the abstraction defers the
            // teardown to the end of this call and lets rdma_cm destroy the id.
            let conn = self.ctx.server_conn.lock().take();
            drop(conn);
        }
    }

    fn connect_request(&self, req: ConnRequest<'_, Self>) {
        self.record(EventKind::Other(u32::MAX), 0, req.private_data());
        if req.private_data().starts_with(REJECT_ME) {
            if let Err(e) = req.reject(REJECTED) {
                pr_err!("rdma: reject failed: {:?}\n", e);
            }
        } else if let Err(e) = self.accept(req) {
            pr_err!("rdma: accept failed: {:?}\n", e);
        }
    }
}

/// The completion handler of the test: records into the tag's slot.
struct Done {
    ctx: Arc<Ctx>,
    tag: usize,
}

impl CqeHandler for Done {
    fn done(this: Arc<Cqe<Self>>, wc: &Wc) {
        let slot = &this.ctx.slots[this.tag];
        let status = match wc.status() {
            WcStatus::Success => 0,
            WcStatus::FlushErr => 1,
            WcStatus::RemAccessErr => 2,
            WcStatus::Other(_) => 3,
        };
        let opcode = match wc.opcode() {
            WcOpcode::Send => 0,
            WcOpcode::RdmaWrite => 1,
            WcOpcode::RdmaRead => 2,
            WcOpcode::LocalInv => 3,
            WcOpcode::RegMr => 4,
            WcOpcode::Recv => 5,
            WcOpcode::RecvRdmaWithImm => 6,
            WcOpcode::Other(_) => 7,
        };
        slot.status.store(status, Ordering::Relaxed);
        slot.opcode.store(opcode, Ordering::Relaxed);
        slot.len.store(wc.byte_len(), Ordering::Relaxed);
        slot.imm
            .store(wc.imm_data().unwrap_or(0), Ordering::Relaxed);
        slot.count.fetch_add(1, Ordering::Release);
        this.ctx.wake.notify_all();
    }
}

/// A completion target for `tag`.
fn done(ctx: &Arc<Ctx>, tag: usize) -> Result<Arc<Cqe<Done>>> {
    Cqe::new(Done {
        ctx: ctx.clone(),
        tag,
    })
}

/// The QP sizes of the test.
fn caps() -> QpCaps {
    QpCaps {
        max_send_wr: 16,
        max_recv_wr: 16,
        max_send_sge: 2,
        max_recv_sge: 2,
    }
}

/// Connection parameters with `data`.
fn conn_param(data: &[u8]) -> ConnParam<'_> {
    ConnParam {
        private_data: data,
        responder_resources: 4,
        initiator_depth: 4,
        retry_count: 7,
        rnr_retry_count: 7,
        flow_control: 1,
    }
}

/// Sleeps a little or until a handler notifies; polls the client CQ first.
fn nap(ctx: &Ctx) {
    let polled = ctx.res.lock().as_ref().map(|r| r.client_cq.clone());
    if let Some(cq) = polled {
        if cq.process_direct(16).is_err() {
            pr_err!("rdma: process_direct failed\n");
        }
    }
    let mut g = ctx.sleep.lock();
    let _ = ctx
        .wake
        .wait_interruptible_timeout(&mut g, msecs_to_jiffies(20));
}

/// Waits for the next CM event of `role`; `ETIMEDOUT` after `STEP_MS`.
fn wait_cm(ctx: &Ctx, role: Role) -> Result<CmMsg> {
    for _ in 0..STEP_MS / 20 {
        {
            let mut log = ctx.cm.lock();
            let first = log
                .msgs
                .iter_mut()
                .filter(|m| m.as_ref().is_some_and(|m| m.role == role))
                .min_by_key(|m| m.as_ref().map_or(u64::MAX, |m| m.seq));
            if let Some(msg) = first.and_then(|m| m.take()) {
                return Ok(msg);
            }
        }
        nap(ctx);
    }
    pr_err!("rdma: timeout waiting for a CM event of {:?}\n", role);
    Err(EAGAIN)
}

/// Waits for the next CM event of `role` and checks it is `kind`.
fn expect_cm(ctx: &Ctx, role: Role, kind: EventKind) -> Result<CmMsg> {
    let m = wait_cm(ctx, role)?;
    if m.kind != kind {
        pr_err!(
            "rdma: {:?} got {:?} (status {}), expected {:?}\n",
            role,
            m.kind,
            m.status,
            kind
        );
        return Err(EIO);
    }
    Ok(m)
}

/// Waits until `tag` completed `n` times in all, and returns the last completion.
fn wait_done(ctx: &Ctx, tag: usize, n: u32) -> Result<Seen> {
    let slot = &ctx.slots[tag];
    for _ in 0..STEP_MS / 20 {
        if slot.count.load(Ordering::Acquire) >= n {
            let status = match slot.status.load(Ordering::Relaxed) {
                0 => WcStatus::Success,
                1 => WcStatus::FlushErr,
                2 => WcStatus::RemAccessErr,
                s => WcStatus::Other(s),
            };
            let opcode = match slot.opcode.load(Ordering::Relaxed) {
                0 => WcOpcode::Send,
                1 => WcOpcode::RdmaWrite,
                2 => WcOpcode::RdmaRead,
                3 => WcOpcode::LocalInv,
                4 => WcOpcode::RegMr,
                5 => WcOpcode::Recv,
                6 => WcOpcode::RecvRdmaWithImm,
                o => WcOpcode::Other(o),
            };
            let len = slot.len.load(Ordering::Relaxed);
            let imm = slot.imm.load(Ordering::Relaxed);
            return Ok(Seen {
                status,
                opcode,
                len,
                imm,
            });
        }
        nap(ctx);
    }
    pr_err!(
        "rdma: timeout waiting for completion {} of tag {}\n",
        n,
        tag
    );
    Err(EAGAIN)
}

/// Waits for a successful completion of `tag` (the `n`-th) with `opcode`.
fn expect_ok(ctx: &Ctx, tag: usize, n: u32, opcode: WcOpcode) -> Result<Seen> {
    let seen = wait_done(ctx, tag, n)?;
    if seen.status != WcStatus::Success || seen.opcode != opcode {
        pr_err!(
            "rdma: tag {}: {:?} {:?}, expected success {:?}\n",
            tag,
            seen.status,
            seen.opcode,
            opcode
        );
        return Err(EIO);
    }
    Ok(seen)
}

/// A byte pattern: `seed` plus the index.
fn pattern(seed: u8, buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        // CAST: Wrapping on purpose: a repeating pattern.
        *b = seed.wrapping_add(i as u8);
    }
}

/// Checks that `got` starts with `want`.
fn check_prefix(what: &str, got: &[u8], want: &[u8]) -> Result {
    if got.len() < want.len() || &got[..want.len()] != want {
        pr_err!("rdma: {}: private data differs\n", what);
        return Err(EIO);
    }
    Ok(())
}

/// The `ib_client` of the test: a PD per device, counted.
struct TestClient;

/// Registration slot of [`TestClient`].
static SLOT: ClientSlot = ClientSlot::new();
/// Devices added to [`TestClient`].
static ADDS: AtomicU32 = AtomicU32::new(0);
/// Devices removed from [`TestClient`].
static REMOVES: AtomicU32 = AtomicU32::new(0);

impl Client for TestClient {
    type Data = Arc<Pd>;

    fn slot() -> &'static ClientSlot {
        &SLOT
    }

    fn add(dev: &Device) -> Result<Arc<Pd>> {
        let pd = Pd::new(dev)?;
        pr_info!(
            "rdma: ib_client add {}: PD with local_dma_lkey {:#x}\n",
            dev.name(),
            pd.local_dma_lkey()
        );
        ADDS.fetch_add(1, Ordering::Relaxed);
        Ok(pd)
    }

    fn remove(dev: &Device, pd: Arc<Pd>) {
        pr_info!("rdma: ib_client remove {}\n", dev.name());
        drop(pd);
        REMOVES.fetch_add(1, Ordering::Relaxed);
    }
}

/// Step 1: `ib_client` registration.
fn client_registration() -> Result {
    let (a0, r0) = (
        ADDS.load(Ordering::Relaxed),
        REMOVES.load(Ordering::Relaxed),
    );
    let reg = Registration::<TestClient>::new(c_str!("rnbd_rs_selftest"))?;
    let added = ADDS.load(Ordering::Relaxed) - a0;
    if added == 0 {
        pr_err!("rdma: ib_client saw no device\n");
        return Err(ENODEV);
    }
    drop(reg);
    let removed = REMOVES.load(Ordering::Relaxed) - r0;
    if removed != added {
        pr_err!("rdma: ib_client: {} added, {} removed\n", added, removed);
        return Err(EIO);
    }
    pr_info!(
        "rdma: ib_client: {} devices added, all removed on unregister\n",
        added
    );
    Ok(())
}

/// Resolves address and route of a new client id to `dst`.
fn resolve(ctx: &Arc<Ctx>, dst: &SockAddr) -> Result<CmId<TestCm>> {
    let id = CmId::new(TestCm {
        role: Role::Client,
        ctx: ctx.clone(),
        connect_on_route: None,
    })?;
    id.resolve_addr(None, dst, 2000)?;
    expect_cm(ctx, Role::Client, EventKind::AddrResolved)?;
    id.resolve_route(2000)?;
    expect_cm(ctx, Role::Client, EventKind::RouteResolved)?;
    Ok(id)
}

/// Runs the self-test against the address `arg` (IPv4 or IPv6, of an RDMA device).
pub(crate) fn run(arg: &str) -> Result {
    let dst = SockAddr::parse(arg, PORT)?;
    client_registration()?;

    let ctx = Arc::pin_init(
        pin_init!(Ctx {
            cm <- new_mutex!(CmLog { msgs: [const { None }; 16], seq: 0 }),
            res <- new_mutex!(None),
            server_conn <- new_mutex!(None),
            sleep <- new_mutex!(()),
            wake <- new_condvar!(),
            slots: [const { Slot::new() }; NTAGS],
        }),
        GFP_KERNEL,
    )?;
    let result = connections(&ctx, &dst);
    // Whatever happened: the server id (if still there), then the shared resources.
    let conn = ctx.server_conn.lock().take();
    drop(conn);
    let res = ctx.res.lock().take();
    drop(res);
    result
}

/// Steps 2 to 9: listener, reject, connect, data transfers, registration, teardown.
fn connections(ctx: &Arc<Ctx>, dst: &SockAddr) -> Result {
    let listener = CmId::new(TestCm {
        role: Role::Listener,
        ctx: ctx.clone(),
        connect_on_route: None,
    })?;
    listener.bind_addr(dst)?;
    listener.listen(8)?;
    pr_info!("rdma: listening on port {}\n", PORT);
    {
        let any6 = SockAddr::parse("::", PORT + 1)?;
        let listener6 = CmId::new(TestCm {
            role: Role::Listener,
            ctx: ctx.clone(),
            connect_on_route: None,
        })?;
        listener6.bind_addr(&any6)?;
        listener6.listen(1)?;
        pr_info!(
            "rdma: IPv6 wildcard listener [::]:{} bound, listening, destroyed\n",
            PORT + 1
        );
    }

    // Resources on the device the address resolves to.
    let client = resolve(ctx, dst)?;
    let dev = client.device().ok_or(ENODEV)?;
    let pd = Pd::new(dev)?;
    let res = Res {
        client_cq: Cq::new(dev, 64, 0, PollCtx::Direct)?,
        server_send_cq: Cq::from_pool(dev, 64, 0, PollCtx::Softirq)?,
        server_recv_cq: Cq::new(dev, 64, 0, PollCtx::Workqueue)?,
        server_recv: DmaBuf::new(dev, MSG, DmaDir::FromDevice)?,
        pd: pd.clone(),
    };
    let client_cq = res.client_cq.clone();
    let attrs = dev.attrs();
    if !attrs.fast_reg || attrs.max_fast_reg_page_list_len < 2 || attrs.max_qp_wr < 16 {
        pr_err!(
            "rdma: {} lacks fast registration or queue depth\n",
            dev.name()
        );
        return Err(ENODEV);
    }
    pr_info!(
        "rdma: {} attrs: max_qp_wr {}, max_send_sge {}, fast_reg {} (up to {} pages), {} vectors\n",
        dev.name(),
        attrs.max_qp_wr,
        attrs.max_send_sge,
        attrs.fast_reg,
        attrs.max_fast_reg_page_list_len,
        attrs.num_comp_vectors
    );
    pr_info!(
        "rdma: {} port {}: PD, CQs (direct, pooled softirq, workqueue), DMA buffers\n",
        dev.name(),
        client.port_num()
    );
    *ctx.res.lock() = Some(res);
    let lkey = pd.local_dma_lkey();

    // Reject with private data; this client connects from its ROUTE_RESOLVED handler.
    {
        let rejected = CmId::new(TestCm {
            role: Role::Client,
            ctx: ctx.clone(),
            connect_on_route: Some(REJECT_ME),
        })?;
        rejected.resolve_addr(None, dst, 2000)?;
        expect_cm(ctx, Role::Client, EventKind::AddrResolved)?;
        rejected.create_qp(&pd, &client_cq, &client_cq, caps())?;
        rejected.resolve_route(2000)?;
        expect_cm(ctx, Role::Client, EventKind::RouteResolved)?;
        let req = wait_cm(ctx, Role::Listener)?;
        check_prefix("reject: CONNECT_REQUEST", &req.data[..req.len], REJECT_ME)?;
        let rej = expect_cm(ctx, Role::Client, EventKind::Rejected)?;
        check_prefix("REJECTED", &rej.data[..rej.len], REJECTED)?;
        pr_info!(
            "rdma: reject: connect from the ROUTE_RESOLVED handler; CONNECT_REQUEST carried the client's data, REJECTED the server's ({} bytes)\n",
            REJECTED.len()
        );
    }

    // Connect and accept with private data.
    let c_recv = DmaBuf::new(dev, MSG, DmaDir::FromDevice)?;
    let c_recv_sge = [c_recv.sge(0, MSG, lkey)?];
    let qp = client.create_qp(&pd, &client_cq, &client_cq, caps())?;
    qp.post_recv(&mut [RecvWr::new(&c_recv_sge, done(ctx, C_RECV)?)])?;
    client.connect(&conn_param(HELLO))?;
    let req = wait_cm(ctx, Role::Listener)?;
    check_prefix("CONNECT_REQUEST", &req.data[..req.len], HELLO)?;
    let est = expect_cm(ctx, Role::Client, EventKind::Established)?;
    check_prefix("ESTABLISHED", &est.data[..est.len], WELCOME)?;
    expect_cm(ctx, Role::Server, EventKind::Established)?;
    pr_info!("rdma: connected: private data intact in CONNECT_REQUEST ({} bytes) and ESTABLISHED ({} bytes)\n", HELLO.len(), WELCOME.len());

    // SEND client -> server.
    let mut c_send = DmaBuf::new(dev, MSG, DmaDir::ToDevice)?;
    let mut bytes = [0u8; MSG];
    pattern(7, &mut bytes);
    c_send.write(0, &bytes)?;
    c_send.sync_for_device();
    let sge = [c_send.sge(0, 200, lkey)?];
    qp.post_send(&mut [SendWr::send(&sge).signaled(done(ctx, C_SEND)?)])?;
    expect_ok(ctx, C_SEND, 1, WcOpcode::Send)?;
    let seen = expect_ok(ctx, S_RECV, 1, WcOpcode::Recv)?;
    let mut got = [0u8; MSG];
    with_server(ctx, |res| {
        res.server_recv.sync_for_cpu();
        res.server_recv.read(0, &mut got)
    })?;
    if seen.len != 200 || got[..200] != bytes[..200] {
        pr_err!(
            "rdma: SEND: {} bytes received, or contents differ\n",
            seen.len
        );
        return Err(EIO);
    }
    pr_info!("rdma: SEND client->server: 200 bytes arrived intact\n");

    // Server resources: a region of two pages, fast-registered; a message buffer.
    let mut sg = SgBuf::new(dev, 2, DmaDir::Bidirectional)?;
    let mut region = [0u8; 8192];
    pattern(31, &mut region);
    sg.write(0, &region)?;
    let mut mr = Mr::new(&pd, 2)?;
    mr.map_sg(&sg)?;
    let mut s_send = DmaBuf::new(dev, MSG, DmaDir::ToDevice)?;
    let access = Access::LOCAL_WRITE | Access::REMOTE_READ | Access::REMOTE_WRITE;

    // SEND_WITH_IMM server -> client, chained after REG_MR: it announces iova and rkey.
    let old_rkey = mr.rkey();
    announce(ctx, &mut s_send, &mr, access, 1)?;
    let seen = expect_ok(ctx, C_RECV, 1, WcOpcode::Recv)?;
    c_recv.sync_for_cpu();
    let mut msg = [0u8; 12];
    c_recv.read(0, &mut msg)?;
    let (iova, rkey) = decode(&msg);
    if seen.imm != SEND_IMM
        || seen.len != 12
        || iova != mr.iova()
        || rkey != old_rkey
        || mr.last_reg_status() != 0
    {
        pr_err!(
            "rdma: SEND_WITH_IMM: imm {:#x}, {} bytes, or key message wrong\n",
            seen.imm,
            seen.len
        );
        return Err(EIO);
    }
    pr_info!("rdma: REG_MR of 2 pages (iova {:#x}, rkey {:#x}, {} bytes); SEND_WITH_IMM server->client: imm {:#x} and message intact\n", iova, rkey, mr.length(), seen.imm);

    // RDMA_WRITE_WITH_IMM client -> server region, at offset 4000 (across the page end).
    let c_recv_sge2 = [c_recv.sge(0, MSG, lkey)?];
    qp.post_recv(&mut [RecvWr::new(&c_recv_sge2, done(ctx, C_RECV)?)])?;
    with_server(ctx, |res| {
        let sge = [res.server_recv.sge(0, MSG, res.pd.local_dma_lkey())?];
        server_qp(ctx, |sqp| {
            sqp.post_recv(&mut [RecvWr::new(&sge, done(ctx, S_RECV)?)])
        })
    })?;
    pattern(101, &mut bytes);
    c_send.write(0, &bytes)?;
    c_send.sync_for_device();
    let sge = [c_send.sge(0, MSG, lkey)?];
    qp.post_send(&mut [
        SendWr::rdma_write_with_imm(&sge, iova + 4000, rkey, WRITE_IMM)
            .signaled(done(ctx, C_WRITE)?),
    ])?;
    expect_ok(ctx, C_WRITE, 1, WcOpcode::RdmaWrite)?;
    let seen = expect_ok(ctx, S_RECV, 2, WcOpcode::RecvRdmaWithImm)?;
    sg.read(0, &mut region)?;
    if seen.imm != WRITE_IMM || region[4000..4000 + MSG] != bytes[..] {
        pr_err!(
            "rdma: RDMA_WRITE_WITH_IMM: imm {:#x} or region contents differ\n",
            seen.imm
        );
        return Err(EIO);
    }
    pr_info!("rdma: RDMA_WRITE_WITH_IMM client->server: {} bytes across the page boundary intact, imm {:#x}\n", MSG, seen.imm);

    // RDMA_READ of the whole region.
    let c_read = DmaBuf::new(dev, 8192, DmaDir::FromDevice)?;
    read_region(ctx, qp, &c_read, lkey, iova, rkey, 1)?;
    let mut back = [0u8; 8192];
    c_read.read(0, &mut back)?;
    if back != region {
        pr_err!("rdma: RDMA_READ: contents differ\n");
        return Err(EIO);
    }
    pr_info!("rdma: RDMA_READ client<-server: 8192 bytes intact\n");

    // LOCAL_INV, new key, new REG_MR announced again.
    server_qp(ctx, |sqp| {
        sqp.post_send(&mut [SendWr::local_inv(old_rkey).signaled(done(ctx, S_INV)?)])
    })?;
    expect_ok(ctx, S_INV, 1, WcOpcode::LocalInv)?;
    mr.inc_rkey();
    mr.map_sg(&sg)?;
    let new_rkey = mr.rkey();
    qp.post_recv(&mut [RecvWr::new(&c_recv_sge2, done(ctx, C_RECV)?)])?;
    announce(ctx, &mut s_send, &mr, access, 2)?;
    expect_ok(ctx, C_RECV, 2, WcOpcode::Recv)?;
    c_recv.sync_for_cpu();
    c_recv.read(0, &mut msg)?;
    let (_, announced) = decode(&msg);
    if announced != new_rkey || new_rkey == old_rkey || mr.last_reg_status() != 0 {
        pr_err!(
            "rdma: new key {:#x} (announced {:#x}, old {:#x})\n",
            new_rkey,
            announced,
            old_rkey
        );
        return Err(EIO);
    }
    pr_info!(
        "rdma: LOCAL_INV of rkey {:#x} done; re-registered under rkey {:#x}\n",
        old_rkey,
        new_rkey
    );

    // The new key works, the old one fails with a remote access error (the QP then errs).
    read_region(ctx, qp, &c_read, lkey, iova, new_rkey, 2)?;
    c_read.read(0, &mut back)?;
    if back != region {
        pr_err!("rdma: RDMA_READ with the new key: contents differ\n");
        return Err(EIO);
    }
    pr_info!(
        "rdma: RDMA_READ with the new rkey {:#x}: 8192 bytes intact\n",
        new_rkey
    );
    let sge = [c_read.sge(0, 8192, lkey)?];
    qp.post_send(&mut [SendWr::rdma_read(&sge, iova, old_rkey).signaled(done(ctx, C_READ)?)])?;
    let seen = wait_done(ctx, C_READ, 3)?;
    if seen.status != WcStatus::RemAccessErr {
        pr_err!(
            "rdma: RDMA_READ with the old rkey: {:?}, expected a remote access error\n",
            seen.status
        );
        return Err(EIO);
    }
    pr_info!(
        "rdma: RDMA_READ with the invalidated rkey {:#x}: IB_WC_REM_ACCESS_ERR as expected\n",
        old_rkey
    );

    // Disconnect; the server drops its id inside its DISCONNECTED handler.
    client.disconnect()?;
    expect_cm(ctx, Role::Client, EventKind::Disconnected)?;
    expect_cm(ctx, Role::Server, EventKind::Disconnected)?;
    for _ in 0..STEP_MS / 20 {
        if ctx.server_conn.lock().is_none() {
            break;
        }
        nap(ctx);
    }
    if ctx.server_conn.lock().is_some() {
        pr_err!("rdma: the server id is still there\n");
        return Err(EIO);
    }
    drop(client);
    drop(listener);
    // Every signalled request completed (flushed ones included): the targets came back.
    let posted_recv = ctx.slots[C_RECV].count.load(Ordering::Relaxed);
    pr_info!("rdma: disconnected; server id destroyed from its own handler; QPs drained ({} client receives completed)\n", posted_recv);
    drop(mr);
    drop(sg);
    pr_info!("rdma: all steps passed\n");
    Ok(())
}

/// Runs `f` on the shared resources.
fn with_server<R>(ctx: &Ctx, f: impl FnOnce(&Res) -> Result<R>) -> Result<R> {
    let res = ctx.res.lock();
    f(res.as_ref().ok_or(EINVAL)?)
}

/// Runs `f` on the server's QP.
fn server_qp<R>(ctx: &Ctx, f: impl FnOnce(&crate::rdma::qp::Qp) -> Result<R>) -> Result<R> {
    let conn = ctx.server_conn.lock();
    let qp = conn.as_ref().and_then(|c| c.qp()).ok_or(ENXIO)?;
    f(qp)
}

/// Server: REG_MR of `mr`, then a SEND_WITH_IMM of (iova, rkey); waits for the send.
fn announce(ctx: &Arc<Ctx>, buf: &mut DmaBuf, mr: &Mr, access: Access, n: u32) -> Result {
    let mut msg = [0u8; 12];
    msg[..8].copy_from_slice(&mr.iova().to_le_bytes());
    msg[8..].copy_from_slice(&mr.rkey().to_le_bytes());
    buf.write(0, &msg)?;
    buf.sync_for_device();
    let lkey = with_server(ctx, |res| Ok(res.pd.local_dma_lkey()))?;
    let sge: [Sge; 1] = [buf.sge(0, 12, lkey)?];
    server_qp(ctx, |sqp| {
        sqp.post_send(&mut [
            SendWr::reg_mr(mr, access),
            SendWr::send_with_imm(&sge, SEND_IMM).signaled(done(ctx, S_SEND)?),
        ])
    })?;
    expect_ok(ctx, S_SEND, n, WcOpcode::Send).map(|_| ())
}

/// Decodes a key message: (iova, rkey).
fn decode(msg: &[u8; 12]) -> (u64, u32) {
    let mut iova = [0u8; 8];
    let mut rkey = [0u8; 4];
    iova.copy_from_slice(&msg[..8]);
    rkey.copy_from_slice(&msg[8..]);
    (u64::from_le_bytes(iova), u32::from_le_bytes(rkey))
}

/// Client: RDMA_READ of the 8 KiB region into `buf`; waits for the `n`-th read.
fn read_region(
    ctx: &Arc<Ctx>,
    qp: &crate::rdma::qp::Qp,
    buf: &DmaBuf,
    lkey: u32,
    iova: u64,
    rkey: u32,
    n: u32,
) -> Result {
    let sge = [buf.sge(0, 8192, lkey)?];
    qp.post_send(&mut [SendWr::rdma_read(&sge, iova, rkey).signaled(done(ctx, C_READ)?)])?;
    expect_ok(ctx, C_READ, n, WcOpcode::RdmaRead)?;
    buf.sync_for_cpu();
    Ok(())
}
