// SPDX-License-Identifier: GPL-2.0-or-later

//! A mapped device: `/dev/rnbd<N>`, its blk-mq queue sending IO over RTRS (wire protocol
//! §14.7), and its `/sys/block/rnbd<N>/rnbd/` directory (sysfs ABI §4.5).

use crate::block::mq::SgTable;
use crate::block::mq::{self, Busy, GenDisk, GenDiskBuilder, Geometry, HwCtx, ReqOp, Request};
use crate::error::errno;
use crate::map_opts::{parse_ulong, UlongError};
use crate::naming::{link_name, MINORS_PER_DEV};
use crate::proto::{AccessMode, Io, Op, OpenRsp, CACHE_FUA, CACHE_WRITEBACK};
use crate::rq_flags::{io_flags, RqFlags};
use crate::rtrs::clt::{ConType, Dir, Permit, RqIo};
use crate::sess::Sess;
use crate::sysfs::{trim, Action, Attribute, AttributeOperations, Attributes, Kobject, KobjectRef};
use crate::sysfs::{Link, Page};
use crate::Client;
use core::fmt::Write;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::{Arc, ArcBorrow, Mutex};
use kernel::{c_str, new_mutex};

/// The state of a device (C `enum rnbd_clt_dev_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum State {
    /// Being mapped.
    Init = 0,
    /// Open on the server: IO flows.
    Mapped = 1,
    /// Mapped, but the RTRS session lost all paths: IO fails.
    Disconnected = 2,
    /// Being or been unmapped.
    Unmapped = 3,
}

impl State {
    /// The `state` file's text.
    fn name(self) -> &'static str {
        match self {
            State::Init => "init",
            State::Mapped => "open",
            State::Disconnected => "closed",
            State::Unmapped => "unmapped",
        }
    }
}

/// A device index (`rnbd<N>`), given back to the client when dropped: when the device is
/// unmapped and nobody has it open any more (as C frees it with the last device reference).
pub(crate) struct Index {
    /// The index.
    n: u32,
    /// Where it came from.
    client: Arc<Client>,
}

impl Index {
    /// Takes the lowest free index; `ENOSPC` if none.
    pub(crate) fn alloc(client: &Arc<Client>) -> Result<Self> {
        let n = client.minors.lock().alloc().ok_or(ENOSPC)?;
        Ok(Self {
            n,
            client: client.clone(),
        })
    }
}

impl Drop for Index {
    fn drop(&mut self) {
        self.client.minors.lock().free(self.n);
    }
}

/// What exists while a device is mapped: dropped in field order on unmap.
struct Mapped {
    /// `ctl/devices/<device_path mangled>@<sessname>`.
    _link: Link,
    /// `/sys/block/rnbd<N>/rnbd/`, whose payload is the device (a cycle broken on unmap).
    _dir: Kobject<Dev>,
    /// The disk, whose queue data is the device (a cycle broken on unmap).
    disk: GenDisk<DevOps>,
}

/// What `unmap` and `open` agree on under the device lock.
struct Inner {
    /// The disk and its sysfs entries, while mapped.
    mapped: Option<Mapped>,
    /// Opens of the block device.
    open_cnt: u32,
    /// `rnbd<N>`, until unmapped and closed by all.
    index: Option<Index>,
}

/// A device mapped (or being mapped) from a session.
#[pin_data]
pub(crate) struct Dev {
    /// The session; the device holds a reference for as long as it exists.
    pub(crate) sess: Arc<Sess>,
    /// `N` of `rnbd<N>`.
    index: u32,
    /// The path on the server (`device_path=`), at most 254 bytes.
    pub(crate) pathname: KVec<u8>,
    /// How the device is opened.
    pub(crate) access_mode: AccessMode,
    /// The server's id of the device in the session (changes on remap).
    device_id: AtomicU32,
    /// [`State`].
    state: AtomicU8,
    /// Size in bytes as C computes it for `getgeo` (`nsectors * logical_block_size`).
    size: AtomicU64,
    /// The logical block size.
    lbs: AtomicU32,
    /// The disk and open count.
    #[pin]
    inner: Mutex<Inner>,
}

/// `<device_path@sessname>`, how C `rnbd_clt_log` names a device in the log.
impl core::fmt::Debug for Dev {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "<{}@{}>", BStr(&self.pathname), &*self.sess.name)
    }
}

impl Dev {
    /// `N` of `rnbd<N>`.
    pub(crate) fn index(&self) -> u32 {
        self.index
    }

    /// The state.
    pub(crate) fn state(&self) -> State {
        match self.state.load(Ordering::Acquire) {
            0 => State::Init,
            1 => State::Mapped,
            2 => State::Disconnected,
            _ => State::Unmapped,
        }
    }

    /// Sets the state.
    fn set_state(&self, s: State) -> State {
        let old = self.state.swap(s as u8, Ordering::AcqRel);
        match old {
            0 => State::Init,
            1 => State::Mapped,
            2 => State::Disconnected,
            _ => State::Unmapped,
        }
    }

    /// Maps `pathname` over `sess` (sysfs ABI §4.3 steps 8-12). On failure nothing is left
    /// but the session, which the caller closes if it has no device.
    pub(crate) fn map(
        client: &Arc<Client>,
        sess: &Arc<Sess>,
        pathname: &[u8],
        access_mode: AccessMode,
    ) -> Result<Arc<Dev>> {
        let slot = Index::alloc(client)?;
        let n = slot.n;
        let mut path = KVec::new();
        path.extend_from_slice(pathname, GFP_KERNEL)?;
        let dev = Arc::pin_init(
            pin_init!(Dev {
                sess: sess.clone(),
                index: n,
                pathname: path,
                access_mode,
                device_id: AtomicU32::new(0),
                state: AtomicU8::new(State::Init as u8),
                size: AtomicU64::new(0),
                lbs: AtomicU32::new(512),
                inner <- new_mutex!(Inner {
                    mapped: None,
                    open_cnt: 0,
                    index: Some(slot),
                }),
            }),
            GFP_KERNEL,
        )?;
        sess.add_dev(dev.clone())?;
        let rsp = match sess.open_dev(&dev) {
            Ok(r) => r,
            Err(e) => {
                pr_err!("{:?}: OPEN failed: {:?}\n", dev, e);
                dev.abandon();
                return Err(e);
            }
        };
        if rsp.logical_block_size == 0 {
            pr_err!("{:?}: the server reported logical block size 0\n", dev);
            dev.abandon();
            sess.close_dev(rsp.device_id, false);
            return Err(EINVAL);
        }
        dev.device_id.store(rsp.device_id, Ordering::Relaxed);
        dev.set_geometry(&rsp);
        dev.set_state(State::Mapped);
        if let Err(e) = dev.setup(client, &rsp) {
            pr_err!("{:?}: setting up the disk failed: {:?}\n", dev, e);
            dev.abandon();
            sess.close_dev(rsp.device_id, true);
            return Err(e);
        }
        Ok(dev)
    }

    /// Undoes a map that failed: out of the session, disk gone, index free.
    fn abandon(&self) {
        self.set_state(State::Unmapped);
        self.sess.remove_dev(self);
        let (mapped, index) = {
            let mut inner = self.inner.lock();
            (inner.mapped.take(), inner.index.take())
        };
        drop(mapped);
        drop(index);
    }

    /// Keeps what `getgeo` needs from an OPEN_RSP.
    fn set_geometry(&self, rsp: &OpenRsp) {
        let lbs = u32::from(rsp.logical_block_size);
        self.lbs.store(lbs, Ordering::Relaxed);
        self.size
            .store(rsp.nsectors.wrapping_mul(u64::from(lbs)), Ordering::Relaxed);
    }

    /// The disk, its `rnbd/` directory and symlink, then the `online` uevent.
    fn setup(self: &Arc<Self>, client: &Arc<Client>, rsp: &OpenRsp) -> Result {
        let sess = &self.sess;
        let max_io = sess.max_io_size.load(Ordering::Relaxed);
        let max_segs = sess.max_segments.load(Ordering::Relaxed);
        let mut b = GenDiskBuilder::new()
            .block_sizes(
                rsp.logical_block_size.into(),
                rsp.physical_block_size.into(),
            )
            .io_opt(max_io)
            .max_hw_sectors(max_io / 512)
            .max_segments(u16::try_from(max_segs).unwrap_or(u16::MAX))
            .virt_boundary_mask(4095)
            .discard(
                rsp.max_discard_sectors,
                rsp.discard_granularity,
                rsp.discard_alignment,
            )
            .max_write_zeroes_sectors(rsp.max_write_zeroes_sectors)
            .capacity_sectors(rsp.nsectors)
            .read_only(self.access_mode == AccessMode::Ro)
            .devt(
                client.major.major(),
                self.index * MINORS_PER_DEV,
                MINORS_PER_DEV,
            );
        if rsp.secure_discard != 0 {
            b = b.max_secure_erase_sectors(rsp.max_discard_sectors);
        }
        if rsp.cache_policy & CACHE_WRITEBACK != 0 {
            b = b.write_cache(true).fua(rsp.cache_policy & CACHE_FUA != 0);
        }
        let name = CString::try_from_fmt(kernel::fmt!("rnbd{}", self.index))?;
        let disk = b.build(client.module, &name, sess.tag_set()?, self.clone())?;
        let dir = Kobject::new(disk.kobject(), kernel::fmt!("rnbd"), self.clone())?;
        let mut lname = KVec::new();
        for c in link_name(&self.pathname, sess.name.as_bytes()) {
            lname.push(c, GFP_KERNEL)?;
        }
        lname.push(0, GFP_KERNEL)?;
        let lname = CStr::from_bytes_with_nul(&lname).map_err(|_| EINVAL)?;
        let link = {
            let devices = client.devices.lock();
            let devices = devices.as_ref().ok_or(ENODEV)?;
            Link::new(devices.kobject(), disk.kobject(), lname)?
        };
        let _ = disk.kobject().uevent(Action::Online);
        self.inner.lock().mapped = Some(Mapped {
            _link: link,
            _dir: dir,
            disk,
        });
        Ok(())
    }

    /// Unmaps the device (`unmap_device`, module unload): `EBUSY` if it is open and not
    /// `force`; the disk and sysfs entries go, then CLOSE tells the server. The session is
    /// closed when this was its last device.
    pub(crate) fn unmap(&self, client: &Client, force: bool) -> Result {
        let (mapped, was_open) = {
            let mut inner = self.inner.lock();
            if self.state() == State::Unmapped {
                pr_info!("{:?}: already being unmapped\n", self);
                return Err(errno!(EALREADY));
            }
            if !force && inner.open_cnt > 0 {
                pr_err!(
                    "{:?}: closing the device failed, it is in use ({} users)\n",
                    self,
                    inner.open_cnt
                );
                return Err(EBUSY);
            }
            let old = self.set_state(State::Unmapped);
            if inner.open_cnt == 0 {
                drop(inner.index.take());
            }
            (inner.mapped.take(), old == State::Mapped)
        };
        let last = self.sess.remove_dev(self);
        drop(mapped);
        if was_open {
            self.sess
                .close_dev(self.device_id.load(Ordering::Relaxed), true);
        }
        if last {
            client.sessions.lock().remove(&self.sess);
            self.sess.close();
        }
        Ok(())
    }

    /// The session lost its last path: `closed`, `offline` uevent.
    pub(crate) fn disconnected(&self) {
        let inner = self.inner.lock();
        if self
            .state
            .compare_exchange(
                State::Mapped as u8,
                State::Disconnected as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
        {
            if let Some(m) = &inner.mapped {
                let _ = m.disk.kobject().uevent(Action::Offline);
            }
        }
    }

    /// Opens the device on the server again (`remap_device`, reconnect): on success the
    /// capacity and device id are refreshed and the state is `open` again.
    pub(crate) fn remap(&self) -> Result {
        let rsp = self.sess.open_dev(self)?;
        let inner = self.inner.lock();
        if self.state() == State::Unmapped {
            return Err(ENODEV);
        }
        if rsp.logical_block_size == 0 {
            return Err(EINVAL);
        }
        if self.state() == State::Disconnected {
            if let Some(m) = &inner.mapped {
                m.disk.set_capacity_and_notify(rsp.nsectors);
                let _ = m.disk.kobject().uevent(Action::Online);
            }
            pr_info!("{:?}: device online, device remapped successfully\n", self);
        }
        self.set_geometry(&rsp);
        self.device_id.store(rsp.device_id, Ordering::Relaxed);
        self.set_state(State::Mapped);
        Ok(())
    }
}

/// A request's PDU (C `struct rnbd_iu`): the permit and scatterlist while in flight.
pub(crate) struct Iu {
    /// The permit the request is sent with; put back on completion.
    permit: Option<Permit>,
    /// The data mapping; grown to what the request needs.
    sg: SgTable,
}

/// The blk-mq side of the mapped devices.
pub(crate) struct DevOps;

/// Entries a PDU's scatterlist starts with (C `RNBD_INLINE_SG_CNT`).
const INLINE_SG_CNT: usize = 2;

impl DevOps {
    /// The RNBD op of a block request; `None` for ops RNBD does not carry.
    fn op(op: ReqOp) -> Option<Op> {
        Some(match op {
            ReqOp::Read => Op::Read,
            ReqOp::Write => Op::Write,
            ReqOp::Flush => Op::Flush,
            ReqOp::Discard => Op::Discard,
            ReqOp::SecureErase => Op::SecureErase,
            ReqOp::WriteZeroes => Op::WriteZeroes,
            ReqOp::Other(_) => return None,
        })
    }
}

#[vtable]
impl mq::Operations for DevOps {
    type RequestData = Iu;
    type QueueData = Arc<Dev>;

    fn init_request_data() -> Result<Iu> {
        Ok(Iu {
            permit: None,
            sg: SgTable::new(INLINE_SG_CNT, GFP_KERNEL)?,
        })
    }

    fn queue_rq(
        dev: ArcBorrow<'_, Dev>,
        _hctx: &HwCtx,
        mut rq: Request<Self>,
        _is_last: bool,
    ) -> core::result::Result<(), Busy<Self>> {
        if dev.state() != State::Mapped {
            rq.end(Err(EIO));
            return Ok(());
        }
        let Some(op) = Self::op(rq.op()) else {
            rq.end(Err(errno!(EOPNOTSUPP)));
            return Ok(());
        };
        let Some(rtrs) = dev.sess.rtrs.enter() else {
            rq.end(Err(EIO));
            return Ok(());
        };
        let Some(permit) = rtrs.get_permit(ConType::Io, false) else {
            return Err(Busy {
                rq,
                dev_resource: false,
            });
        };
        let need = usize::from(rq.nr_phys_segments()).max(1);
        {
            let (_, iu) = rq.parts();
            if iu.sg.capacity() < need {
                match SgTable::new(need, GFP_ATOMIC) {
                    Ok(t) => iu.sg = t,
                    Err(_) => {
                        drop(permit);
                        return Err(Busy {
                            rq,
                            dev_resource: false,
                        });
                    }
                }
            }
            iu.permit = Some(permit);
        }
        let flags = RqFlags {
            sync: rq.is_sync(),
            fua: rq.is_fua(),
            preflush: rq.is_preflush(),
        };
        let msg = Io {
            device_id: dev.device_id.load(Ordering::Relaxed),
            sector: rq.sector(),
            op,
            flags: io_flags(op, flags),
            bi_size: rq.bytes(),
            prio: rq.ioprio(),
        }
        .encode();
        let dir = if op.is_write() { Dir::Write } else { Dir::Read };
        match rtrs.request_rq(dir, &msg, rq, op.has_data()) {
            Ok(()) => Ok(()),
            Err((e, mut rq)) => {
                drop(rq.parts().1.permit.take());
                if e == EAGAIN || e == ENOMEM {
                    Err(Busy {
                        rq,
                        dev_resource: false,
                    })
                } else {
                    log_xfer_error(&dev, e);
                    rq.end(Err(EIO));
                    Ok(())
                }
            }
        }
    }

    fn poll(dev: ArcBorrow<'_, Dev>, hctx: &HwCtx) -> u32 {
        dev.sess
            .rtrs
            .enter()
            .map_or(0, |rtrs| rtrs.rdma_cq_direct(hctx.index()))
    }

    fn open(dev: ArcBorrow<'_, Dev>, write: bool) -> Result {
        if write && dev.access_mode == AccessMode::Ro {
            return Err(EPERM);
        }
        let mut inner = dev.inner.lock();
        if dev.state() == State::Unmapped {
            return Err(EIO);
        }
        inner.open_cnt += 1;
        Ok(())
    }

    fn release(dev: ArcBorrow<'_, Dev>) {
        let mut inner = dev.inner.lock();
        inner.open_cnt = inner.open_cnt.saturating_sub(1);
        if inner.open_cnt == 0 && dev.state() == State::Unmapped {
            drop(inner.index.take());
        }
    }

    fn getgeo(dev: ArcBorrow<'_, Dev>, _capacity: u64) -> Result<Geometry> {
        let lbs = u64::from(dev.lbs.load(Ordering::Relaxed));
        let size = dev.size.load(Ordering::Relaxed).wrapping_mul(lbs / 512);
        // CAST: C stores the cylinders in an `unsigned short`, truncating.
        Ok(Geometry {
            heads: 4,
            sectors: 16,
            cylinders: (size >> 6) as u16,
        })
    }
}

/// Logs a failed submission.
fn log_xfer_error(dev: &Dev, e: Error) {
    pr_err!("{:?}: RTRS failed to transfer IO, err: {:?}\n", dev, e);
}

impl RqIo for DevOps {
    fn io_parts(iu: &mut Iu) -> (Option<&Permit>, &mut SgTable) {
        (iu.permit.as_ref(), &mut iu.sg)
    }

    fn confirm(mut rq: Request<Self>, res: Result) {
        drop(rq.parts().1.permit.take());
        rq.end(res);
    }
}

/// Bytes shown as text: ASCII as is, other bytes as `?`.
pub(crate) struct BStr<'a>(pub(crate) &'a [u8]);

impl core::fmt::Display for BStr<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for &c in self.0 {
            f.write_char(if c.is_ascii() { char::from(c) } else { '?' })?;
        }
        Ok(())
    }
}

/// `state`.
const STATE: u64 = 0;
/// `session`.
const SESSION: u64 = 1;
/// `mapping_path`.
const MAPPING_PATH: u64 = 2;
/// `access_mode`.
const ACCESS_MODE: u64 = 3;
/// `nr_poll_queues`.
const NR_POLL_QUEUES: u64 = 4;
/// `unmap_device`.
const UNMAP_DEVICE: u64 = 5;
/// `remap_device`.
const REMAP_DEVICE: u64 = 6;
/// `resize`.
const RESIZE: u64 = 7;

#[vtable]
impl AttributeOperations<STATE> for Dev {
    fn show(&self, page: &mut Page<'_>) -> Result {
        writeln!(page, "{}", self.state().name())?;
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<SESSION> for Dev {
    fn show(&self, page: &mut Page<'_>) -> Result {
        page.write_bytes(self.sess.name.as_bytes())?;
        page.write_bytes(b"\n")
    }
}

#[vtable]
impl AttributeOperations<MAPPING_PATH> for Dev {
    fn show(&self, page: &mut Page<'_>) -> Result {
        page.write_bytes(&self.pathname)?;
        page.write_bytes(b"\n")
    }
}

#[vtable]
impl AttributeOperations<ACCESS_MODE> for Dev {
    fn show(&self, page: &mut Page<'_>) -> Result {
        writeln!(page, "{}", self.access_mode.name())?;
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<NR_POLL_QUEUES> for Dev {
    fn show(&self, page: &mut Page<'_>) -> Result {
        writeln!(page, "{}", self.sess.nr_poll_queues)?;
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<UNMAP_DEVICE> for Dev {
    fn show(&self, page: &mut Page<'_>) -> Result {
        page.write_bytes(b"Usage: echo <normal|force> > unmap_device\n")
    }

    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        let force = match trim(input) {
            b"normal" => false,
            b"force" => true,
            other => {
                pr_err!("unmap_device: unknown value: '{}'\n", BStr(other));
                return Err(EINVAL);
            }
        };
        let client = crate::CLIENT.get().ok_or(ENODEV)?;
        let _map = client.map_lock.lock();
        if client.exiting() {
            return Err(ENODEV);
        }
        self.unmap(&client, force)
    }
}

#[vtable]
impl AttributeOperations<REMAP_DEVICE> for Dev {
    fn show(&self, page: &mut Page<'_>) -> Result {
        page.write_bytes(b"Usage: echo <1> > remap_device\n")
    }

    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        if trim(input) != b"1" {
            pr_err!(
                "remap_device: {:?}: unsupported value: '{}'\n",
                self,
                BStr(trim(input))
            );
            return Err(EINVAL);
        }
        match self.state() {
            State::Disconnected => self.remap().inspect_err(|e| {
                pr_err!("remap_device: {:?}: remap failed: {:?}\n", self, e);
            }),
            State::Unmapped => Err(ENODEV),
            State::Mapped => Err(errno!(EALREADY)),
            State::Init => Err(EBUSY),
        }
    }
}

#[vtable]
impl AttributeOperations<RESIZE> for Dev {
    fn show(&self, page: &mut Page<'_>) -> Result {
        page.write_bytes(b"Usage: echo <new size in sectors> > resize\n")
    }

    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        let sectors = parse_ulong(input).map_err(|e| match e {
            UlongError::Invalid => EINVAL,
            UlongError::Range => ERANGE,
        })?;
        let inner = self.inner.lock();
        match (&inner.mapped, self.state()) {
            (Some(m), State::Mapped) => {
                pr_info!("{:?}: resizing to {} sectors\n", self, sectors);
                m.disk.set_capacity_and_notify(sectors);
                Ok(())
            }
            _ => {
                pr_err!(
                    "{:?}: failed to set new size of the device, device is not opened\n",
                    self
                );
                Err(ENOENT)
            }
        }
    }
}

impl Attributes for Dev {
    const ATTRIBUTES: &'static [Attribute<Self>] = &[
        Attribute::new::<STATE>(c_str!("state"), 0o444),
        Attribute::new::<NR_POLL_QUEUES>(c_str!("nr_poll_queues"), 0o444),
        Attribute::new::<SESSION>(c_str!("session"), 0o444),
        Attribute::new::<ACCESS_MODE>(c_str!("access_mode"), 0o444),
        Attribute::new::<MAPPING_PATH>(c_str!("mapping_path"), 0o444),
        Attribute::new_self_removing::<UNMAP_DEVICE>(c_str!("unmap_device"), 0o644),
        Attribute::new::<REMAP_DEVICE>(c_str!("remap_device"), 0o644),
        Attribute::new::<RESIZE>(c_str!("resize"), 0o644),
    ];
}
