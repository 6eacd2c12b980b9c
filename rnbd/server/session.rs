// SPDX-License-Identifier: GPL-2.0-or-later

//! One RNBD session per RTRS session (C `rnbd_srv_session`): the messages of §14 (SESS_INFO,
//! OPEN, CLOSE, IO) and the devices the client opened.

use crate::block::{
    bdev::{Bdev, Mode},
    bio::{self, Bio},
    SECTOR_SHIFT,
};
use crate::dev::Server;
use crate::dev_path::{full_path, PathError, PATH_MAX};
use crate::file::File;
use crate::proto::{
    self, AccessMode, Io, Open, Request, OPEN_RSP_LEN, PROTO_VER_MAJOR, SESS_INFO_LEN,
};
use crate::ratelimit::pr_err_ratelimited;
use crate::rtrs::srv::{SrvOp, SrvSess};
use crate::sess_dev::{Backing, OpenDev, SessDev};
use crate::sysfs::Kobject;
use crate::trace::{
    rnbd_srv::{self, LinkEvent, ProcessRdma},
    Dir,
};
use core::sync::atomic::{AtomicU8, Ordering};
use kernel::{
    new_mutex, new_spinlock,
    prelude::*,
    str::{BStr, CStr, CString},
    sync::{Arc, Mutex, SpinLock},
};

/// What a device id of a session stands for.
enum Id {
    /// Free for the next OPEN.
    Free,
    /// Taken by an OPEN in progress.
    Opening,
    /// An open device.
    Open(Arc<SessDev>),
    /// Force-closed: the client still uses the id, its IO fails with `crate::error::errno!(ENOTCONN)`; free again
    /// when the session ends.
    Closed,
}

/// An RNBD server session.
#[pin_data]
pub(crate) struct Session {
    /// The device registry.
    server: Arc<Server>,
    /// The session name (RTRS path name).
    name: CString,
    /// The RTRS session's queue depth (for the tracepoints).
    queue_depth: i32,
    /// The protocol version from SESS_INFO (0 before it).
    ver: AtomicU8,
    /// The session lock (C `srv_sess->lock`): the directories of the open devices, by id.
    /// OPEN, CLOSE, force close and the teardown hold it.
    #[pin]
    dirs: Mutex<KVec<Option<Kobject<SessDev>>>>,
    /// The device ids, read by IO; changed only with `dirs` held.
    #[pin]
    ids: SpinLock<KVec<Id>>,
}

impl Session {
    /// The session of a new RTRS session (C `create_sess`).
    pub(crate) fn new(server: Arc<Server>, rtrs: &SrvSess) -> Result<Arc<Self>> {
        let name = rtrs.path_name().inspect_err(|e| {
            pr_err!("rtrs_srv_get_path_name(): {:?}\n", e);
        })?;
        let queue_depth = rtrs.queue_depth();
        pr_info!(
            "RTRS session {} connected, queue depth {}\n",
            &*name,
            queue_depth
        );
        let this = Arc::pin_init(
            pin_init!(Self {
                server,
                name,
                queue_depth,
                ver: AtomicU8::new(0),
                dirs <- new_mutex!(KVec::new()),
                ids <- new_spinlock!(KVec::new()),
            }),
            GFP_KERNEL,
        )?;
        this.trace_link(LinkEvent::CreateSess);
        Ok(this)
    }

    /// Records the tracepoint `create_sess` or `destroy_sess` for this session.
    fn trace_link(&self, ev: LinkEvent) {
        if ev.enabled() {
            ev.fire(self.name.as_bytes(), self.queue_depth);
        }
    }

    /// The session name.
    pub(crate) fn name(&self) -> &CStr {
        &self.name
    }

    /// Handles one request (C `rnbd_srv_rdma_ev`).
    pub(crate) fn process(self: &Arc<Self>, mut op: SrvOp) {
        let (data, usr) = op.data_and_usr();
        let usr_len = usr.len();
        match Request::decode(usr) {
            Ok(Request::Io(io)) => self.io(op, io, usr_len),
            Ok(Request::SessInfo { ver }) => {
                let res = self.sess_info(ver, data);
                op.resp_rdma(res);
            }
            Ok(Request::Open(open)) => {
                let res = self.open(&open, data);
                op.resp_rdma(res);
            }
            Ok(Request::Close(close)) => {
                self.close(close.device_id);
                op.resp_rdma(Ok(()));
            }
            Err(e) => {
                pr_err_ratelimited!(
                    "<{}>: bad message of {} bytes: {:?}\n",
                    self.name(),
                    usr_len,
                    e
                );
                op.resp_rdma(Err(EINVAL));
            }
        }
    }

    /// SESS_INFO: agree on the protocol version, reply with it.
    fn sess_info(&self, ver: u8, data: &mut [u8]) -> Result {
        if data.len() < SESS_INFO_LEN {
            pr_err!(
                "<{}>: SESS_INFO with a {} byte reply buffer\n",
                self.name(),
                data.len()
            );
            return Err(EINVAL);
        }
        let agreed = ver.min(PROTO_VER_MAJOR);
        self.ver.store(agreed, Ordering::Relaxed);
        if rnbd_srv::sess_info_enabled() {
            rnbd_srv::sess_info(self.name.as_bytes(), agreed, ver, PROTO_VER_MAJOR);
        }
        reply(data, &proto::encode_sess_info_rsp(agreed));
        Ok(())
    }

    /// OPEN (§14.5, C `process_msg_open`): opens the device or finds it open, and replies
    /// with its id and geometry.
    fn open(self: &Arc<Self>, msg: &Open<'_>, data: &mut [u8]) -> Result {
        if rnbd_srv::msg_open_enabled() {
            rnbd_srv::msg_open(self.name.as_bytes(), msg.dev_name, msg.access_mode.wire());
        }
        let dev_name = BStr::from_bytes(msg.dev_name);
        if data.len() < OPEN_RSP_LEN {
            pr_err!(
                "<{}>: OPEN of '{}' with a {} byte reply buffer\n",
                self.name(),
                dev_name,
                data.len()
            );
            return Err(EINVAL);
        }
        let mut dirs = self.dirs.lock();
        // Idempotent by name: the remap after a reconnect gets the same device and id.
        let open = dirs
            .iter()
            .flatten()
            .find(|d| d.data().path == msg.dev_name);
        let sess_dev = match open {
            Some(d) => d.data().clone(),
            None => {
                let id = self.alloc_id()?;
                match self.open_new(msg, id) {
                    Ok(dir) => {
                        let sess_dev = dir.data().clone();
                        self.publish(&mut dirs, dir)?;
                        sess_dev
                    }
                    Err(e) => {
                        self.set_id(id, Id::Free);
                        return Err(e);
                    }
                }
            }
        };
        let pass = sess_dev.enter().ok_or(crate::error::errno!(ENOTCONN))?;
        reply(data, &sess_dev.open_rsp(&pass).encode());
        Ok(())
    }

    /// Opens the device of an OPEN under the id `id` and creates its directory.
    fn open_new(self: &Arc<Self>, msg: &Open<'_>, id: u32) -> Result<Kobject<SessDev>> {
        let dev_name = BStr::from_bytes(msg.dev_name);
        let search = crate::dev_search_path();
        let mut path = KVec::from_elem(0u8, PATH_MAX, GFP_KERNEL)?;
        let len = match full_path(
            search.as_bytes(),
            self.name.as_bytes(),
            msg.dev_name,
            &mut path,
        ) {
            Ok(len) => len,
            Err(PathError::TooLong) => {
                pr_err!(
                    "Opening device for session {} failed, device path too long. '{}/{}' is longer than PATH_MAX ({})\n",
                    self.name(),
                    search,
                    dev_name,
                    PATH_MAX
                );
                return Err(EINVAL);
            }
            Err(PathError::DotDot) => {
                pr_err!(
                    "Opening device for session {} failed, device path {} contains relative path ..\n",
                    self.name(),
                    dev_name
                );
                return Err(EINVAL);
            }
        };
        let path = CStr::from_bytes_with_nul(&path[..=len]).map_err(|_| EINVAL)?;
        let (backing, name) = open_backing(path, msg.access_mode).inspect_err(|e| {
            pr_err!(
                "Opening device '{}' on session {} failed, failed to open the block device, err: {:?}\n",
                path,
                self.name(),
                e
            );
        })?;
        let share = match &backing {
            Backing::Bdev(b) => {
                self.server
                    .share(name, Some(b.disk_kobject()), msg.access_mode, &self.name)?
            }
            Backing::File(_) => self.server.share(name, None, msg.access_mode, &self.name)?,
        };
        let dev = share.dev().clone();
        let sess_dev = SessDev::new(
            self.clone(),
            id,
            msg.access_mode,
            msg.dev_name,
            OpenDev { backing, share },
        )?;
        let dir = Kobject::new(
            dev.sessions().kobject(),
            kernel::fmt!("{}", self.name()),
            sess_dev.clone(),
        );
        match dir {
            Ok(dir) => {
                pr_info!(
                    "<{}@{}>: Opened device '{}' ({})\n",
                    dev_name,
                    self.name(),
                    dev.name(),
                    msg.access_mode.name()
                );
                Ok(dir)
            }
            Err(e) => {
                pr_err!(
                    "<{}@{}>: Opening device failed, failed to create dev client sysfs files, err: {:?}\n",
                    dev_name,
                    self.name(),
                    e
                );
                sess_dev.close();
                Err(e)
            }
        }
    }

    /// Takes the lowest free device id. Called with `dirs` held.
    fn alloc_id(&self) -> Result<u32> {
        let mut ids = self.ids.lock();
        let idx = match ids.iter().position(|i| matches!(i, Id::Free)) {
            Some(i) => {
                ids[i] = Id::Opening;
                i
            }
            None => {
                ids.push(Id::Opening, GFP_ATOMIC)?;
                ids.len() - 1
            }
        };
        u32::try_from(idx).map_err(|_| ENOSPC)
    }

    /// Sets what the id `id` stands for; returns what it stood for. Called with `dirs` held.
    fn set_id(&self, id: u32, to: Id) -> Option<Id> {
        let mut ids = self.ids.lock();
        let slot = ids.get_mut(usize::try_from(id).ok()?)?;
        Some(core::mem::replace(slot, to))
    }

    /// Makes the device of `dir` reachable by its id and keeps its directory. Called with
    /// `dirs` held (passed in).
    fn publish(&self, dirs: &mut KVec<Option<Kobject<SessDev>>>, dir: Kobject<SessDev>) -> Result {
        let sess_dev = dir.data().clone();
        let idx = usize::try_from(sess_dev.id)?;
        while dirs.len() <= idx {
            if let Err(e) = dirs.push(None, GFP_KERNEL) {
                self.set_id(sess_dev.id, Id::Free);
                drop(dir);
                sess_dev.close();
                return Err(e.into());
            }
        }
        dirs[idx] = Some(dir);
        self.set_id(sess_dev.id, Id::Open(sess_dev));
        Ok(())
    }

    /// Removes the device with id `id` (its directory and id entry, which becomes `to`) and
    /// closes it. Called with `dirs` held (passed in); sleeps until its IO is done.
    fn remove(&self, dirs: &mut KVec<Option<Kobject<SessDev>>>, id: u32, to: Id) {
        let Some(dir) = usize::try_from(id)
            .ok()
            .and_then(|i| dirs.get_mut(i))
            .and_then(Option::take)
        else {
            return;
        };
        self.set_id(id, to);
        let sess_dev = dir.data().clone();
        drop(dir);
        sess_dev.close();
    }

    /// CLOSE (C `process_msg_close`): an unknown or force-closed id is ignored.
    fn close(&self, id: u32) {
        if rnbd_srv::msg_close_enabled() {
            rnbd_srv::msg_close(self.name.as_bytes(), id);
        }
        let mut dirs = self.dirs.lock();
        self.remove(&mut dirs, id, Id::Free);
    }

    /// `force_close` of `sess_dev`'s directory: closes it, keeping its id taken (C
    /// `rnbd_srv_sess_dev_force_close`). Nothing if it is closed already.
    pub(crate) fn force_close(&self, sess_dev: &SessDev) {
        let mut dirs = self.dirs.lock();
        let current = usize::try_from(sess_dev.id)
            .ok()
            .and_then(|i| dirs.get(i))
            .and_then(Option::as_ref)
            .is_some_and(|d| core::ptr::eq(&**d.data(), sess_dev));
        if current {
            self.remove(&mut dirs, sess_dev.id, Id::Closed);
        }
    }

    /// The session ended (C `destroy_sess`): every device is closed.
    pub(crate) fn destroy(&self) {
        let mut dirs = self.dirs.lock();
        // As C, `destroy_sess` only for a session that still has device ids taken.
        if LinkEvent::DestroySess.enabled()
            && self.ids.lock().iter().any(|i| !matches!(i, Id::Free))
        {
            self.trace_link(LinkEvent::DestroySess);
        }
        for id in 0..dirs.len() {
            if let Ok(id) = u32::try_from(id) {
                self.remove(&mut dirs, id, Id::Free);
            }
        }
        // Force-closed ids are free again; the table itself goes with the session.
        let ids = core::mem::take(&mut *self.ids.lock());
        drop(ids);
        drop(dirs);
        pr_info!("RTRS Session {} disconnected\n", self.name());
    }

    /// IO (§14.6, C `process_rdma`): one bio over the request's data, answered when it ends.
    fn io(&self, mut op: SrvOp, io: Io, usr_len: usize) {
        if rnbd_srv::process_rdma_enabled() {
            self.trace_io(&mut op, &io, usr_len);
        }
        let sess_dev = match self
            .ids
            .lock()
            .get(usize::try_from(io.device_id).unwrap_or(usize::MAX))
        {
            Some(Id::Open(d)) => Some(d.clone()),
            _ => None,
        };
        // The pass keeps the device open until the bio's completion drops it: closing waits.
        let Some((sess_dev, pass)) = sess_dev.and_then(|d| d.enter().map(|p| (d, p))) else {
            pr_err_ratelimited!(
                "Got I/O request on session {} for unknown device id {}\n",
                self.name(),
                io.device_id
            );
            return op.resp_rdma(Err(crate::error::errno!(ENOTCONN)));
        };
        if sess_dev.mode == AccessMode::Ro && io.op.modifies() {
            // What a write to a read-only block device gets from the block layer's file
            // operations (`blkdev_write_iter`): C RNBD would submit it anyway.
            pr_err_ratelimited!(
                "<{}@{}>: {:?} of {} bytes at sector {} on a read-only mapping refused\n",
                BStr::from_bytes(&sess_dev.path),
                self.name(),
                io.op,
                io.bi_size,
                io.sector
            );
            return op.resp_rdma(Err(EPERM));
        }
        let kind = match io.op {
            proto::Op::Read => bio::Op::Read,
            proto::Op::Write => bio::Op::Write,
            proto::Op::Flush => bio::Op::Flush,
            proto::Op::Discard => bio::Op::Discard,
            proto::Op::SecureErase => bio::Op::SecureErase,
            proto::Op::WriteZeroes => bio::Op::WriteZeroes,
        };
        let mut flags = bio::Flags::NONE;
        if io.flags & proto::F_SYNC != 0 {
            flags = flags | bio::Flags::SYNC;
        }
        if io.flags & proto::F_FUA != 0 {
            flags = flags | bio::Flags::FUA;
        }
        // Priorities came with protocol version 2; shorter messages carry none (proto).
        let prio =
            if self.ver.load(Ordering::Relaxed) >= PROTO_VER_MAJOR && usr_len >= proto::IO_LEN {
                io.prio
            } else {
                0
            };
        let bdev = match &pass.backing {
            Backing::Bdev(b) => b.clone(),
            Backing::File(f) => {
                let res = file_io(f, &mut op, &io);
                if let Err(e) = res {
                    pr_err_ratelimited!(
                        "<{}@{}>: {:?} of {} bytes at sector {} on the file: {:?}\n",
                        BStr::from_bytes(&sess_dev.path),
                        self.name(),
                        io.op,
                        io.bi_size,
                        io.sector,
                        e
                    );
                }
                drop(pass);
                return op.resp_rdma(res);
            }
        };
        if op.data_len() == 0 {
            // Flush, discard, write zeroes, secure erase: the size is in the message.
            let nr_sectors = io.bi_size >> SECTOR_SHIFT;
            if nr_sectors << SECTOR_SHIFT != io.bi_size {
                pr_err_ratelimited!(
                    "<{}@{}>: {:?} of {} bytes, not whole sectors\n",
                    BStr::from_bytes(&sess_dev.path),
                    self.name(),
                    io.op,
                    io.bi_size
                );
                return op.resp_rdma(Err(EINVAL));
            }
            match Bio::without_data(&bdev, kind, flags, io.sector, nr_sectors) {
                Ok(mut bio) => {
                    bio.set_prio(prio);
                    submit(bio, op, pass, self.name(), io);
                }
                Err(e) => {
                    pr_err_ratelimited!(
                        "<{}@{}>: {:?} refused: {:?}\n",
                        BStr::from_bytes(&sess_dev.path),
                        self.name(),
                        io.op,
                        e
                    );
                    op.resp_rdma(Err(e));
                }
            }
            return;
        }
        if op.data_len() != usize::try_from(io.bi_size).unwrap_or(usize::MAX) {
            pr_err_ratelimited!(
                "<{}@{}>: Datalen mismatch: bio bi_size ({}), bi_size ({})\n",
                BStr::from_bytes(&sess_dev.path),
                self.name(),
                op.data_len(),
                io.bi_size
            );
            return op.resp_rdma(Err(EINVAL));
        }
        match Bio::try_new(&bdev, kind, flags, io.sector, op) {
            Ok(mut bio) => {
                bio.set_prio(prio);
                if let Err(e) = bio.submit(move |res, op: SrvOp| {
                    drop(pass);
                    op.resp_rdma(res);
                }) {
                    // The request went with the closure, answered -EIO.
                    pr_err_ratelimited!(
                        "<{}@{}>: bio not submitted: {:?}\n",
                        BStr::from_bytes(&sess_dev.path),
                        self.name(),
                        e
                    );
                }
            }
            Err((e, op)) => {
                pr_err_ratelimited!(
                    "<{}@{}>: {:?} refused: {:?}\n",
                    BStr::from_bytes(&sess_dev.path),
                    self.name(),
                    io.op,
                    e
                );
                op.resp_rdma(Err(e));
            }
        }
    }

    /// Records the tracepoint `process_rdma` for `io` arriving in `op` with a message of
    /// `usr_len` bytes.
    fn trace_io(&self, op: &mut SrvOp, io: &Io, usr_len: usize) {
        rnbd_srv::process_rdma(&ProcessRdma {
            sessname: self.name.as_bytes(),
            // C reads the RTRS request's direction, which the rtrs.h API does not give;
            // every RNBD client sends the operations that modify the device as RTRS WRITEs
            // (`rq_data_dir`), the others as READs.
            dir: if io.op.modifies() {
                Dir::Write
            } else {
                Dir::Read
            },
            ver: self.ver.load(Ordering::Relaxed),
            device_id: io.device_id,
            sector: io.sector,
            // The message's `rw` word: the op code and the flags (which the decoding kept
            // all of: `F_SYNC` and `F_FUA` are the only flags defined).
            flags: u32::from(io.op.wire()) | io.flags,
            bi_size: io.bi_size,
            ioprio: io.prio,
            // CAST: A chunk is at most `max_chunk_size`, an `int`.
            datalen: op.data_mut().len() as u32,
            usrlen: usr_len,
        });
    }
}

/// Opens what `path` names: a block device as C does, or else (`ENOTBLK`) a regular file.
/// Returns it with the name of its directory under `ctl/devices/`: the kernel name of the
/// block device, or the file's path with `/` written as `!`.
fn open_backing(path: &CStr, access: AccessMode) -> Result<(Backing, CString)> {
    let mode = match access {
        AccessMode::Ro => Mode::Read,
        AccessMode::Rw | AccessMode::Migration => Mode::ReadWrite,
    };
    match Bdev::open(path, mode, None) {
        Ok(bdev) => {
            let name = bdev.name()?;
            Ok((Backing::Bdev(Arc::new(bdev, GFP_KERNEL)?), name))
        }
        Err(e) if e == crate::error::errno!(ENOTBLK) => {
            // Direct IO, so the page cache is bypassed (as the IBNBD server did); a file
            // system without it serves the file through the page cache.
            let rw = mode == Mode::ReadWrite;
            let file = match File::open(path, rw, true) {
                Err(e) if e == EINVAL => {
                    pr_info!(
                        "{}: no direct IO on this file system, using the page cache\n",
                        path
                    );
                    File::open(path, rw, false)?
                }
                r => r?,
            };
            let mut name = KVec::with_capacity(path.len() + 1, GFP_KERNEL)?;
            for &b in path.as_bytes() {
                name.push(if b == b'/' { b'!' } else { b }, GFP_KERNEL)?;
            }
            name.push(0, GFP_KERNEL)?;
            let name = CStr::from_bytes_with_nul(&name).map_err(|_| EINVAL)?;
            Ok((Backing::File(file), name.to_cstring()?))
        }
        Err(e) => Err(e),
    }
}

/// Serves one request on a file device, synchronously (the RTRS callback may sleep).
fn file_io(file: &File, op: &mut SrvOp, io: &Io) -> Result {
    let data = op.data_mut();
    // Only data requests have a position: C clients send a flush's sector as it is (-1).
    let pos = || -> Result<u64> {
        if data.len() != usize::try_from(io.bi_size)? {
            return Err(EINVAL);
        }
        io.sector.checked_mul(1 << SECTOR_SHIFT).ok_or(EINVAL)
    };
    match io.op {
        proto::Op::Read => {
            let pos = pos()?;
            file.read_at(data, pos)
        }
        proto::Op::Write => {
            let pos = pos()?;
            file.write_at(data, pos)?;
            if io.flags & proto::F_FUA != 0 {
                file.sync_range(pos, u64::try_from(data.len())?)?;
            }
            Ok(())
        }
        proto::Op::Flush => file.sync(),
        // Not offered in the OPEN_RSP of a file.
        proto::Op::Discard | proto::Op::SecureErase | proto::Op::WriteZeroes => {
            Err(crate::error::errno!(EOPNOTSUPP))
        }
    }
}

/// Submits a bio without data; its completion answers `op`.
fn submit(
    bio: Bio<bio::NoBuffer>,
    op: SrvOp,
    pass: crate::sync::Pass<OpenDev>,
    name: &CStr,
    io: Io,
) {
    if let Err(e) = bio.submit(move |res, _| {
        drop(pass);
        op.resp_rdma(res);
    }) {
        // The request went with the closure, answered -EIO.
        pr_err_ratelimited!("<{}>: {:?} not submitted: {:?}\n", name, io.op, e);
    }
}

/// Writes a reply at the start of the data area and zeroes the rest.
fn reply(data: &mut [u8], msg: &[u8]) {
    let (head, tail) = data.split_at_mut(msg.len());
    head.copy_from_slice(msg);
    tail.fill(0);
}
