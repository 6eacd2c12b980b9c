// SPDX-License-Identifier: GPL-2.0-or-later

//! Self-test of `rust/block`.
//!
//! Two parts:
//!
//! - [`run`]: bios on an existing block device (`/dev/ram1` in the VM): exclusive
//!   read-write open and its limits, pattern writes of several sizes read back and compared
//!   (synchronous and completion-driven submission), FUA and PREFLUSH writes, an empty
//!   flush, discard then zeros, unsupported ops failing with `EOPNOTSUPP`, a second
//!   exclusive open failing with `EBUSY`, and a read-only open refusing a write bio.
//! - [`MemDisk`]: a memory-backed blk-mq disk, `rnbd_rs_st0`, with two default hardware
//!   queues and one poll queue, which the VM case drives from user space (dd, fio with
//!   verification, O_DIRECT, polled I/O, sysfs limits, a capacity change).

use crate::block::{
    bdev::{Bdev, Holder, Mode},
    bio::{Bio, Flags, Op},
    mq::{
        self, Busy, GenDisk, GenDiskBuilder, Geometry, HwCtx, Major, OwnedRef, ReqOp, Request,
        RequestRef, Segment, SgTable, TimeoutAction,
    },
    SECTOR_SHIFT,
};
use crate::error::errno;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{
    c_str, new_condvar, new_spinlock,
    prelude::*,
    str::CStr,
    sync::{Arc, ArcBorrow, CondVar, SpinLock},
};

/// The holder of the test's exclusive open.
static HOLDER_A: u32 = 0xa;
/// Another holder, which must be refused while `HOLDER_A` holds the device.
static HOLDER_B: u32 = 0xb;

/// A completion the test thread waits on.
#[pin_data]
struct Waiter {
    /// The status and buffer of the completed bio, once it completed.
    #[pin]
    state: SpinLock<Option<(Result, KVec<u8>)>>,
    /// Signalled when `state` is set.
    #[pin]
    cv: CondVar,
}

impl Waiter {
    /// A new, empty waiter.
    fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                state <- new_spinlock!(None, "block_test::Waiter::state"),
                cv <- new_condvar!("block_test::Waiter::cv"),
            }),
            GFP_KERNEL,
        )
    }

    /// Waits until the completion ran and returns what it delivered.
    fn wait(&self) -> (Result, KVec<u8>) {
        let mut g = self.state.lock();
        loop {
            if let Some(done) = g.take() {
                return done;
            }
            self.cv.wait(&mut g);
        }
    }
}

/// Submits `bio` with a completion closure and waits for it.
fn submit_and_wait(bio: Bio<KVec<u8>>) -> Result<(Result, KVec<u8>)> {
    let w = Waiter::new()?;
    let w2 = w.clone();
    bio.submit(move |res, buf| {
        *w2.state.lock() = Some((res, buf));
        w2.cv.notify_all();
    })?;
    Ok(w.wait())
}

/// A buffer of `len` bytes with a pattern depending on `seed`.
fn pattern(len: usize, seed: u32) -> Result<KVec<u8>> {
    let mut v = KVec::with_capacity(len, GFP_KERNEL)?;
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    for _ in 0..len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        // CAST: Keeps the low byte of the generator on purpose.
        v.push(x as u8, GFP_KERNEL)?;
    }
    Ok(v)
}

/// A zeroed buffer of `len` bytes.
fn zeroed(len: usize, fill: u8) -> Result<KVec<u8>> {
    Ok(KVec::from_elem(fill, len, GFP_KERNEL)?)
}

/// Writes `data` at `sector` with `flags`, synchronously; returns the buffer.
fn write(bdev: &Arc<Bdev>, sector: u64, flags: Flags, data: KVec<u8>) -> Result<KVec<u8>> {
    let (res, buf) = Bio::new(bdev, Op::Write, flags, sector, data)?.submit_wait();
    res.map(|()| buf)
}

/// Reads `len` bytes at `sector` through a completion-driven bio.
fn read(bdev: &Arc<Bdev>, sector: u64, len: usize) -> Result<KVec<u8>> {
    let bio = Bio::new(bdev, Op::Read, Flags::NONE, sector, zeroed(len, 0x5a)?)?;
    let (res, buf) = submit_and_wait(bio)?;
    res.map(|()| buf)
}

/// Checks that `got` equals `want`, naming the step otherwise.
fn same(step: &str, got: &[u8], want: &[u8]) -> Result {
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(0);
        pr_err!("block: {}: data differs at byte {}\n", step, at);
        return Err(EIO);
    }
    Ok(())
}

/// Checks that `res` is the error `want`.
fn expect_err<T>(step: &str, res: Result<T>, want: Error) -> Result {
    match res {
        Err(e) if e == want => Ok(()),
        Err(e) => {
            pr_err!("block: {}: got {:?}, expected {:?}\n", step, e, want);
            Err(EINVAL)
        }
        Ok(_) => {
            pr_err!("block: {}: succeeded, expected {:?}\n", step, want);
            Err(EINVAL)
        }
    }
}

/// Runs the bio test on the block device at `path`, which it overwrites.
pub(crate) fn run(path: &CStr) -> Result {
    let bdev = Arc::new(
        Bdev::open(path, Mode::ReadWrite, Some(Holder::of(&HOLDER_A)))?,
        GFP_KERNEL,
    )?;
    pr_info!(
        "block: {} open rw exclusive: {} sectors, lbs {}, pbs {}, max_hw_sectors {}, max_segments {}, discard {} (granularity {}), write_zeroes {}, secure_erase {}, read_only {}\n",
        path,
        bdev.nr_sectors(),
        bdev.logical_block_size(),
        bdev.physical_block_size(),
        bdev.max_hw_sectors(),
        bdev.max_segments(),
        bdev.max_discard_sectors(),
        bdev.discard_granularity(),
        bdev.max_write_zeroes_sectors(),
        bdev.max_secure_erase_sectors(),
        bdev.read_only()
    );
    if bdev.nr_sectors() < 8192 || !bdev.writable() || bdev.mode() != Mode::ReadWrite {
        return Err(EINVAL);
    }

    // Pattern writes of several sizes, including multi-page and a full 256-page bio.
    let sizes: [usize; 5] = [512, 4096, 3 * 4096 + 512, 128 * 1024, 1024 * 1024];
    let mut sector = 0u64;
    for (i, &len) in sizes.iter().enumerate() {
        // CAST: The index is below 5.
        let want = pattern(len, i as u32 + 1)?;
        let written = write(&bdev, sector, Flags::NONE, want)?;
        let got = read(&bdev, sector, len)?;
        same("pattern", &got, &written)?;
        pr_info!(
            "block: wrote and read back {} bytes at sector {}\n",
            len,
            sector
        );
        // CAST: `len` is at most 1 MiB.
        sector += (len as u64 >> SECTOR_SHIFT) + 8;
    }

    // FUA and PREFLUSH writes, and an empty flush.
    let fua = write(&bdev, 4096, Flags::FUA, pattern(8192, 11)?)?;
    same("fua", &read(&bdev, 4096, 8192)?, &fua)?;
    pr_info!("block: FUA write read back\n");
    let pf = write(
        &bdev,
        4200,
        Flags::PREFLUSH | Flags::FUA | Flags::SYNC,
        pattern(4096, 12)?,
    )?;
    same("preflush", &read(&bdev, 4200, 4096)?, &pf)?;
    pr_info!("block: PREFLUSH|FUA write read back\n");
    Bio::without_data(&bdev, Op::Flush, Flags::NONE, 0, 0)?
        .submit_wait()
        .0?;
    pr_info!("block: empty flush completed\n");

    // Discard on page boundaries (brd frees whole pages), then zeros are read.
    let at = 6144u64;
    let len = 64 * 1024;
    write(&bdev, at, Flags::NONE, pattern(len, 13)?)?;
    if bdev.max_discard_sectors() > 0 {
        // CAST: 64 KiB in sectors.
        Bio::without_data(
            &bdev,
            Op::Discard,
            Flags::NONE,
            at,
            (len >> SECTOR_SHIFT) as u32,
        )?
        .submit_wait()
        .0?;
        same("discard", &read(&bdev, at, len)?, &zeroed(len, 0)?)?;
        pr_info!(
            "block: discard of {} bytes at sector {} reads back zeros\n",
            len,
            at
        );
    }

    // Write zeroes and secure erase zero the range where the device supports them, and
    // fail with EOPNOTSUPP, through the completion, where it does not.
    for (op, name, max) in [
        (
            Op::WriteZeroes,
            "write zeroes",
            bdev.max_write_zeroes_sectors(),
        ),
        (
            Op::SecureErase,
            "secure erase",
            bdev.max_secure_erase_sectors(),
        ),
    ] {
        if max == 0 {
            let res = Bio::without_data(&bdev, op, Flags::NONE, at, 8)?
                .submit_wait()
                .0;
            expect_err(name, res, errno!(EOPNOTSUPP))?;
            pr_info!(
                "block: {} refused with EOPNOTSUPP (not supported by {})\n",
                name,
                path
            );
            continue;
        }
        write(&bdev, at, Flags::NONE, pattern(len, 14)?)?;
        // CAST: 64 KiB in sectors.
        let sectors = core::cmp::min((len >> SECTOR_SHIFT) as u32, max);
        Bio::without_data(&bdev, op, Flags::NONE, at, sectors)?
            .submit_wait()
            .0?;
        // CAST: At most 128 sectors.
        let zeroed_len = (sectors as usize) << SECTOR_SHIFT;
        same(name, &read(&bdev, at, zeroed_len)?, &zeroed(zeroed_len, 0)?)?;
        pr_info!(
            "block: {} of {} sectors at sector {} reads back zeros\n",
            name,
            sectors,
            at
        );
    }

    // Misuse caught before submission.
    expect_err(
        "empty read",
        Bio::new(&bdev, Op::Read, Flags::NONE, 0, KVec::new()),
        EINVAL,
    )?;
    expect_err(
        "FUA read",
        Bio::new(&bdev, Op::Read, Flags::FUA, 0, zeroed(512, 0)?),
        EINVAL,
    )?;
    pr_info!("block: empty and FUA reads refused with EINVAL\n");

    // A second exclusive writer with another holder is refused while the first holds it.
    expect_err(
        "second exclusive open",
        Bdev::open(path, Mode::ReadWrite, Some(Holder::of(&HOLDER_B))),
        EBUSY,
    )?;
    pr_info!("block: second exclusive open refused with EBUSY\n");

    // A read-only open reads the data but refuses write bios.
    let ro = Arc::new(Bdev::open(path, Mode::Read, None)?, GFP_KERNEL)?;
    same("read-only read", &read(&ro, 4096, 8192)?, &fua)?;
    expect_err(
        "write on read-only open",
        Bio::new(&ro, Op::Write, Flags::NONE, 0, zeroed(512, 1)?),
        EBADF,
    )?;
    expect_err(
        "discard on read-only open",
        Bio::without_data(&ro, Op::Discard, Flags::NONE, 0, 8),
        EBADF,
    )?;
    pr_info!("block: read-only open reads, refuses write and discard bios with EBADF\n");
    drop(ro);

    // Dropping the exclusive open releases the claim.
    drop(bdev);
    drop(Bdev::open(
        path,
        Mode::ReadWrite,
        Some(Holder::of(&HOLDER_B)),
    )?);
    pr_info!("block: exclusive claim released on drop\n");
    pr_info!("block: bio test passed\n");
    Ok(())
}

/// Name of the memory-backed test disk.
pub(crate) const DISK_NAME: &CStr = c_str!("rnbd_rs_st0");
/// Size of the disk's memory in bytes (16 MiB).
const STORE_BYTES: usize = 16 << 20;
/// Size of one allocation of the store.
const CHUNK: usize = 64 << 10;
/// Capacity at creation (12 MiB), grown to the full store afterwards.
const FIRST_SECTORS: u64 = (12 << 20) >> SECTOR_SHIFT;
/// Segments per request, also the size of each request's [`SgTable`].
const MAX_SEGMENTS: u16 = 32;
/// Tags per hardware queue.
const QUEUE_DEPTH: u32 = 64;

/// The disk's state, shared by all its queues: the queue data.
#[pin_data]
struct Store {
    /// The bytes of the disk, in `CHUNK`-sized allocations.
    #[pin]
    data: SpinLock<KVec<KVec<u8>>>,
    /// Requests of the poll queue waiting for `poll`, by tag.
    #[pin]
    poll_list: SpinLock<KVec<Option<Request<MemOps>>>>,
    /// Requests ended by `poll`.
    polled: AtomicU64,
    /// Requests ended through `complete`.
    completed: AtomicU64,
    /// Opens of the disk.
    opens: AtomicU64,
    /// Requests seen by `queue_rq` on the default queues.
    queued: AtomicU64,
    /// Requests handed back with [`Busy`] to exercise the requeue path.
    busy: AtomicU64,
    /// Flush requests (`REQ_OP_FLUSH`, made by blk-mq from `REQ_PREFLUSH`).
    flushes: AtomicU64,
    /// Writes with `REQ_FUA`.
    fua: AtomicU64,
}

impl Store {
    /// Copies between the store and the data of `rq` (a read or a write).
    fn transfer(&self, rq: &mut Request<MemOps>, write: bool) -> Result {
        let (rqref, pdu): (OwnedRef<'_>, &mut Pdu) = rq.parts();
        let pos = usize::try_from(rqref.sector())? << SECTOR_SHIFT;
        let end = pos.checked_add(rqref.bytes() as usize).ok_or(EINVAL)?;
        if end > STORE_BYTES {
            return Err(EIO);
        }
        let mut mapped = rqref.map_sg(&mut pdu.sg)?;
        let mut data = self.data.lock();
        let mut at = pos;
        mapped.for_each_segment(|seg: &mut Segment<'_>| {
            let mut off = 0;
            while off < seg.len() {
                let (c, o) = (at / CHUNK, at % CHUNK);
                let n = core::cmp::min(seg.len() - off, CHUNK - o);
                let chunk = data.get_mut(c).ok_or(EIO)?;
                if write {
                    seg.read_into(off, &mut chunk[o..o + n])?;
                } else {
                    seg.write_from(off, &chunk[o..o + n])?;
                }
                off += n;
                at += n;
            }
            Ok(())
        })?;
        if at != end {
            return Err(EIO);
        }
        Ok(())
    }

    /// Zeroes the range of a discard, write-zeroes or secure-erase request.
    fn zero(&self, rq: &RequestRef) -> Result {
        let pos = usize::try_from(rq.sector())? << SECTOR_SHIFT;
        let end = pos.checked_add(rq.bytes() as usize).ok_or(EINVAL)?;
        if end > STORE_BYTES {
            return Err(EIO);
        }
        let mut data = self.data.lock();
        let mut at = pos;
        while at < end {
            let (c, o) = (at / CHUNK, at % CHUNK);
            let n = core::cmp::min(end - at, CHUNK - o);
            data.get_mut(c).ok_or(EIO)?[o..o + n].fill(0);
            at += n;
        }
        Ok(())
    }

    /// Carries out a request.
    fn execute(&self, rq: &mut Request<MemOps>) -> Result {
        if rq.op() == ReqOp::Flush {
            self.flushes.fetch_add(1, Ordering::Relaxed);
        }
        if rq.is_fua() {
            self.fua.fetch_add(1, Ordering::Relaxed);
        }
        match rq.op() {
            ReqOp::Read => self.transfer(rq, false),
            ReqOp::Write => self.transfer(rq, true),
            ReqOp::Flush => Ok(()),
            ReqOp::Discard | ReqOp::WriteZeroes | ReqOp::SecureErase => self.zero(rq),
            ReqOp::Other(_) => Err(errno!(EOPNOTSUPP)),
        }
    }
}

/// The per-request data of the test disk.
struct Pdu {
    /// The request's data, mapped.
    sg: SgTable,
    /// The status to end with in `complete`.
    status: Result,
}

/// The operations of the test disk.
struct MemOps;

#[vtable]
impl mq::Operations for MemOps {
    type RequestData = Pdu;
    type QueueData = Arc<Store>;

    fn init_request_data() -> Result<Pdu> {
        Ok(Pdu {
            sg: SgTable::new(usize::from(MAX_SEGMENTS), GFP_KERNEL)?,
            status: Ok(()),
        })
    }

    fn queue_rq(
        store: ArcBorrow<'_, Store>,
        hctx: &HwCtx,
        mut rq: Request<Self>,
        _is_last: bool,
    ) -> core::result::Result<(), Busy<Self>> {
        if hctx.is_poll() {
            // Polled requests wait for `poll`, in the slot of their tag.
            let mut list = store.poll_list.lock();
            let slot = usize::try_from(rq.tag()).ok().and_then(|t| list.get_mut(t));
            match slot {
                Some(slot @ None) => *slot = Some(rq),
                _ => {
                    drop(list);
                    rq.end(Err(EIO));
                }
            }
            return Ok(());
        }
        // Every 64th request is handed back once, as a driver out of resources would; blk-mq
        // requeues it and dispatches it again.
        if store.queued.fetch_add(1, Ordering::Relaxed) % 64 == 63 {
            store.busy.fetch_add(1, Ordering::Relaxed);
            return Err(Busy {
                rq,
                dev_resource: false,
            });
        }
        // Other requests are carried out here and completed through `complete`.
        let res = store.execute(&mut rq);
        rq.parts().1.status = res;
        rq.complete();
        Ok(())
    }

    fn complete(store: ArcBorrow<'_, Store>, rq: Request<Self>) {
        store.completed.fetch_add(1, Ordering::Relaxed);
        let status = rq.data().status;
        rq.end(status);
    }

    fn poll(store: ArcBorrow<'_, Store>, _hctx: &HwCtx) -> u32 {
        let mut n = 0;
        loop {
            // Take one request at a time: the list lock is not held while ending it.
            let next = store
                .poll_list
                .lock()
                .iter_mut()
                .find_map(|slot| slot.take());
            let Some(mut rq) = next else { break };
            let res = store.execute(&mut rq);
            rq.end(res);
            n += 1;
        }
        store.polled.fetch_add(u64::from(n), Ordering::Relaxed);
        n
    }

    fn timeout(_store: ArcBorrow<'_, Store>, rq: &RequestRef) -> TimeoutAction {
        pr_warn!("block: request tag {} timed out\n", rq.tag());
        TimeoutAction::ResetTimer
    }

    fn open(store: ArcBorrow<'_, Store>, _write: bool) -> Result {
        store.opens.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn release(_store: ArcBorrow<'_, Store>) {}

    fn getgeo(_store: ArcBorrow<'_, Store>, capacity: u64) -> Result<Geometry> {
        Ok(Geometry {
            heads: 64,
            sectors: 32,
            cylinders: u16::try_from(capacity / (64 * 32)).unwrap_or(u16::MAX),
        })
    }
}

/// The memory-backed test disk and its major. Fields drop in order: disk, then major.
pub(crate) struct MemDisk {
    /// The disk.
    disk: GenDisk<MemOps>,
    /// The major the disk's number is from.
    _major: Major,
    /// The store, for the statistics printed on removal.
    store: Arc<Store>,
}

impl MemDisk {
    /// Creates `rnbd_rs_st0`: 2 default and 1 poll hardware queue, 12 MiB, then grows it to
    /// 16 MiB with a capacity change user space sees.
    pub(crate) fn new(module: &'static ThisModule) -> Result<Self> {
        let mut chunks = KVec::with_capacity(STORE_BYTES / CHUNK, GFP_KERNEL)?;
        for _ in 0..STORE_BYTES / CHUNK {
            chunks.push(KVec::from_elem(0u8, CHUNK, GFP_KERNEL)?, GFP_KERNEL)?;
        }
        let mut slots = KVec::with_capacity(QUEUE_DEPTH as usize, GFP_KERNEL)?;
        for _ in 0..QUEUE_DEPTH {
            slots.push(None, GFP_KERNEL)?;
        }
        let store = Arc::pin_init(
            pin_init!(Store {
                data <- new_spinlock!(chunks, "block_test::Store::data"),
                poll_list <- new_spinlock!(slots, "block_test::Store::poll_list"),
                polled: AtomicU64::new(0),
                completed: AtomicU64::new(0),
                opens: AtomicU64::new(0),
                queued: AtomicU64::new(0),
                busy: AtomicU64::new(0),
                flushes: AtomicU64::new(0),
                fua: AtomicU64::new(0),
            }),
            GFP_KERNEL,
        )?;
        let major = Major::new(c_str!("rnbd_rs_st"))?;
        let tag_set = Arc::pin_init(mq::TagSet::new(2, 1, QUEUE_DEPTH, 0), GFP_KERNEL)?;
        let disk = GenDiskBuilder::new()
            .block_sizes(512, 4096)
            .max_hw_sectors(256)
            .max_segments(MAX_SEGMENTS)
            .max_segment_size(65536)
            .discard(2048, 4096, 0)
            .max_write_zeroes_sectors(2048)
            .max_secure_erase_sectors(2048)
            .write_cache(true)
            .fua(true)
            .rotational(false)
            .capacity_sectors(FIRST_SECTORS)
            .devt(major.major(), 0, 16)
            .build(module, DISK_NAME, tag_set, store.clone())?;
        pr_info!(
            "block: disk {} added: major {}, {} sectors\n",
            DISK_NAME,
            major.major(),
            disk.capacity()
        );
        // CAST: 16 MiB in sectors.
        let full = (STORE_BYTES >> SECTOR_SHIFT) as u64;
        disk.set_capacity_and_notify(full);
        if disk.capacity() != full || disk.capacity_bytes() != STORE_BYTES as u64 {
            return Err(EINVAL);
        }
        pr_info!(
            "block: disk {} grown to {} sectors\n",
            DISK_NAME,
            disk.capacity()
        );
        // Queue control: stop, start again, run.
        disk.stop_hw_queues();
        disk.start_stopped_hw_queues(false);
        disk.run_hw_queues(false);
        pr_info!(
            "block: disk {} queues stopped, started and run\n",
            DISK_NAME
        );
        Ok(Self {
            disk,
            _major: major,
            store,
        })
    }
}

impl Drop for MemDisk {
    fn drop(&mut self) {
        pr_info!(
            "block: removing {}: {} requests completed, {} requeued, {} polled, {} flushes, {} FUA, {} opens, {} sectors\n",
            DISK_NAME,
            self.store.completed.load(Ordering::Relaxed),
            self.store.busy.load(Ordering::Relaxed),
            self.store.polled.load(Ordering::Relaxed),
            self.store.flushes.load(Ordering::Relaxed),
            self.store.fua.load(Ordering::Relaxed),
            self.store.opens.load(Ordering::Relaxed),
            self.disk.capacity()
        );
    }
}
