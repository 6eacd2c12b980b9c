// SPDX-License-Identifier: GPL-2.0-or-later

//! A block device opened by path, with its size and limits.
//!
//! C header: [include/linux/blkdev.h](srctree/include/linux/blkdev.h).
//!
//! This is what the RNBD server does with the device named in an open message:
//! `bdev_file_open_by_path()` with `BLK_OPEN_READ`, plus `BLK_OPEN_WRITE` for a read-write
//! mapping, and a holder, so that a second writer with another holder is refused with
//! `EBUSY`. The file is given back with `bdev_fput()` when the [`Bdev`] is dropped.
//!
//! Crates that include this area include `sysfs` too ([`Bdev::disk_kobject`]).

use crate::{bindings, sysfs::KobjectRef};
use core::ptr::NonNull;
use kernel::{
    error::from_err_ptr,
    prelude::*,
    str::{CStr, CString},
    ThisModule,
};

/// How a block device is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `BLK_OPEN_READ`: bios that write are refused by [`crate::block::bio::Bio`].
    Read,
    /// `BLK_OPEN_READ | BLK_OPEN_WRITE`.
    ReadWrite,
}

impl Mode {
    /// The `blk_mode_t` bits of this mode.
    fn to_raw(self) -> bindings::blk_mode_t {
        match self {
            Mode::Read => bindings::BLK_OPEN_READ,
            Mode::ReadWrite => bindings::BLK_OPEN_READ | bindings::BLK_OPEN_WRITE,
        }
    }
}

/// The identity an exclusive opener claims a block device with.
///
/// Two opens with the same holder share the claim; an open with another holder fails with
/// `EBUSY` while the claim is held. The block layer only compares the address (no
/// `blk_holder_ops` are given), so any `'static` object serves as a holder.
///
/// # Invariants
///
/// `0` is the address of an object that lives for the rest of the kernel's or the module's
/// lifetime; it is never dereferenced.
#[derive(Clone, Copy)]
pub(crate) struct Holder(*mut kernel::ffi::c_void);

// SAFETY: A `Holder` is only an address that is compared, never dereferenced.
unsafe impl Send for Holder {}
// SAFETY: A `Holder` is only an address that is compared, never dereferenced.
unsafe impl Sync for Holder {}

impl Holder {
    /// The module as holder, as the C RNBD server uses `THIS_MODULE`.
    pub(crate) fn module(module: &'static ThisModule) -> Self {
        // INVARIANT: The module outlives everything it opened.
        // CAST: The address is only used as an identity.
        Self(module.as_ptr().cast())
    }

    /// Any `'static` object as holder, e.g. to tell two users in one module apart.
    pub(crate) fn of<T: Sync>(object: &'static T) -> Self {
        // INVARIANT: `object` is `'static`.
        // The address is only used as an identity; it is never written through.
        Self(core::ptr::from_ref(object).cast_mut().cast())
    }
}

/// An open block device.
///
/// # Invariants
///
/// - `file` is a block device file returned by `bdev_file_open_by_path()`, owned by this
///   object and released with `bdev_fput()` in `drop`.
/// - `bdev` is `file_bdev(file)`, valid for as long as `file` is open.
/// - `mode` is the mode the file was opened with.
pub(crate) struct Bdev {
    /// The open file; released last.
    file: NonNull<bindings::file>,
    /// The block device of `file`.
    bdev: NonNull<bindings::block_device>,
    /// The open mode.
    mode: Mode,
}

// SAFETY: The open file and its block device may be used and released from any thread; the
// C functions called on them take their own locks.
unsafe impl Send for Bdev {}
// SAFETY: All methods taking `&self` only query the device or build bios on it, which C
// allows concurrently.
unsafe impl Sync for Bdev {}

impl Bdev {
    /// Opens the block device at `path` (e.g. `/dev/ram0`).
    ///
    /// With a `holder`, the device is claimed exclusively: a later open with another holder
    /// fails with `EBUSY` until this one is dropped. Must not be called from atomic context.
    pub(crate) fn open(path: &CStr, mode: Mode, holder: Option<Holder>) -> Result<Self> {
        let holder = holder.map_or(core::ptr::null_mut(), |h| h.0);
        // SAFETY: `path` is NUL-terminated; `holder` is null or a never-dereferenced
        // identity (type invariant of `Holder`); no holder ops are passed.
        let file = unsafe {
            from_err_ptr(bindings::bdev_file_open_by_path(
                path.as_char_ptr(),
                mode.to_raw(),
                holder,
                core::ptr::null(),
            ))
        }?;
        // `from_err_ptr` let through a valid pointer; bdev_file_open_by_path() never
        // returns NULL, but stay defensive rather than trusting it.
        let file = NonNull::new(file).ok_or(EINVAL)?;
        // SAFETY: `file` is an open block device file.
        let bdev = unsafe { bindings::file_bdev(file.as_ptr()) };
        let Some(bdev) = NonNull::new(bdev) else {
            // SAFETY: `file` was opened above and is not used afterwards.
            unsafe { bindings::bdev_fput(file.as_ptr()) };
            return Err(EINVAL);
        };
        // INVARIANT: `file` was opened with `mode` above and `bdev` is its block device.
        Ok(Self { file, bdev, mode })
    }

    /// The raw `struct block_device`, for the bios of this crate.
    pub(crate) fn as_raw(&self) -> *mut bindings::block_device {
        self.bdev.as_ptr()
    }

    /// The mode the device was opened with.
    pub(crate) fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether bios that write may be submitted: opened read-write and not read-only.
    pub(crate) fn writable(&self) -> bool {
        self.mode == Mode::ReadWrite && !self.read_only()
    }

    /// The size in 512-byte sectors (`bdev_nr_sectors`).
    pub(crate) fn nr_sectors(&self) -> u64 {
        // SAFETY: `bdev` is valid while the file is open (type invariant).
        unsafe { bindings::bdev_nr_sectors(self.as_raw()) }
    }

    /// The logical block size in bytes (`bdev_logical_block_size`).
    pub(crate) fn logical_block_size(&self) -> u32 {
        // SAFETY: `bdev` is valid while the file is open (type invariant).
        unsafe { bindings::bdev_logical_block_size(self.as_raw()) }
    }

    /// The physical block size in bytes (`bdev_physical_block_size`).
    pub(crate) fn physical_block_size(&self) -> u32 {
        // SAFETY: `bdev` is valid while the file is open (type invariant).
        unsafe { bindings::bdev_physical_block_size(self.as_raw()) }
    }

    /// The largest request in sectors the hardware takes (`queue_max_hw_sectors`).
    pub(crate) fn max_hw_sectors(&self) -> u32 {
        // SAFETY: `bdev` is valid while the file is open (type invariant).
        unsafe { bindings::bdev_max_hw_sectors(self.as_raw()) }
    }

    /// The most segments in one request (`queue_max_segments`).
    pub(crate) fn max_segments(&self) -> u16 {
        // SAFETY: `bdev` is valid while the file is open (type invariant).
        unsafe { bindings::bdev_max_segments(self.as_raw()) }
    }

    /// The largest discard in sectors; 0 if discard is not supported.
    pub(crate) fn max_discard_sectors(&self) -> u32 {
        // SAFETY: `bdev` is valid while the file is open (type invariant).
        unsafe { bindings::bdev_max_discard_sectors(self.as_raw()) }
    }

    /// The discard granularity in bytes.
    pub(crate) fn discard_granularity(&self) -> u32 {
        // SAFETY: `bdev` is valid while the file is open (type invariant).
        unsafe { bindings::bdev_discard_granularity(self.as_raw()) }
    }

    /// The discard alignment in bytes (`bdev_discard_alignment`).
    pub(crate) fn discard_alignment(&self) -> u32 {
        // SAFETY: `bdev` is valid while the file is open (type invariant).
        unsafe { bindings::bdev_discard_alignment(self.as_raw()) }
    }

    /// Whether the device has a volatile write cache (`bdev_write_cache`).
    pub(crate) fn write_cache(&self) -> bool {
        // SAFETY: `bdev` is valid while the file is open (type invariant).
        unsafe { bindings::bdev_write_cache(self.as_raw()) }
    }

    /// Whether the device supports `REQ_FUA` natively (`bdev_fua`).
    pub(crate) fn fua(&self) -> bool {
        // SAFETY: `bdev` is valid while the file is open (type invariant).
        unsafe { bindings::bdev_fua(self.as_raw()) }
    }

    /// The kernel name of the device (`%pg`: `ram0`, `sda1`, `dm-0`), as in `/proc/partitions`.
    pub(crate) fn name(&self) -> Result<CString> {
        // `BDEVNAME_SIZE` (32) holds every name the block layer makes.
        let mut buf = [0u8; 32];
        // SAFETY: `bdev` is valid (type invariant); `buf` is writable for its length and
        // `snprintf` NUL-terminates within it.
        let len = unsafe { bindings::bdev_name(self.as_raw(), buf.as_mut_ptr().cast(), buf.len()) };
        let len = usize::try_from(len).map_err(|_| EINVAL)?;
        if len >= buf.len() {
            return Err(crate::error::errno!(ENAMETOOLONG));
        }
        let name = CStr::from_bytes_with_nul(&buf[..=len]).map_err(|_| EINVAL)?;
        Ok(name.to_cstring()?)
    }

    /// The sysfs directory of the whole disk holding the device (for a partition, its
    /// parent disk), e.g. `/sys/devices/virtual/block/ram0`: the target of a symlink.
    pub(crate) fn disk_kobject(&self) -> &KobjectRef {
        // SAFETY: `bdev` is valid while the file is open (type invariant), and so is its disk.
        let kobj = unsafe { bindings::bdev_disk_kobj(self.as_raw()) };
        // SAFETY: The open file holds a reference to the disk, whose `struct device` (and
        // kobject) therefore stays allocated while `self` is borrowed.
        unsafe { KobjectRef::from_raw(kobj) }
    }

    /// The largest write-zeroes in sectors; 0 if not supported.
    pub(crate) fn max_write_zeroes_sectors(&self) -> u32 {
        // SAFETY: `bdev` is valid while the file is open (type invariant).
        unsafe { bindings::bdev_write_zeroes_sectors(self.as_raw()) }
    }

    /// The largest secure erase in sectors; 0 if not supported.
    pub(crate) fn max_secure_erase_sectors(&self) -> u32 {
        // SAFETY: `bdev` is valid while the file is open (type invariant).
        unsafe { bindings::bdev_max_secure_erase_sectors(self.as_raw()) }
    }

    /// Whether the device itself is read-only (`bdev_read_only`), whatever the open mode.
    pub(crate) fn read_only(&self) -> bool {
        // SAFETY: `bdev` is valid while the file is open (type invariant).
        unsafe { bindings::bdev_read_only(self.as_raw()) != 0 }
    }
}

impl Drop for Bdev {
    /// Releases the file and, with it, the exclusive claim. May sleep: the last reference
    /// to a [`Bdev`] must not be dropped in atomic context (e.g. a bio completion).
    fn drop(&mut self) {
        // SAFETY: `file` is open and owned by `self` (type invariant); it is not used again.
        unsafe { bindings::bdev_fput(self.file.as_ptr()) };
    }
}
