// SPDX-License-Identifier: GPL-2.0-or-later

//! A regular file opened by path, read and written at offsets from kernel buffers.
//!
//! C header: [include/linux/fs.h](srctree/include/linux/fs.h).
//!
//! What the RNBD server does with a `device_path` that names a regular file instead of a
//! block device: `filp_open()` for reading, or reading and writing, then `kernel_read()` and
//! `kernel_write()` at the request's offset (through the page cache), `vfs_fsync()` for a
//! flush and `vfs_fsync_range()` for a FUA write. The file is released with `fput()` when the
//! [`File`] is dropped. Every call may sleep.

use crate::bindings;
use core::ptr::NonNull;
use kernel::{error::from_err_ptr, error::to_result, prelude::*, str::CStr};

/// An open regular file.
///
/// # Invariants
///
/// `file` was returned by `filp_open()` for a regular file, is owned by this object and is
/// released with `fput()` in `drop`. It was opened for writing exactly if `writable`.
pub(crate) struct File {
    /// The open file.
    file: NonNull<bindings::file>,
    /// Opened for reading and writing.
    writable: bool,
}

// SAFETY: An open file may be used and released from any thread; the VFS functions called
// on it take their own locks.
unsafe impl Send for File {}
// SAFETY: All methods taking `&self` read or write at explicit offsets, which the VFS allows
// concurrently.
unsafe impl Sync for File {}

impl File {
    /// Opens the regular file at `path`, for writing too if `writable`, for direct IO
    /// (`O_DIRECT`: reads and writes bypass the page cache) if `direct`; `EINVAL` if the
    /// file system cannot do direct IO. Fails with `ENOTBLK` (what opening it as a block
    /// device gives) if `path` is not a regular file.
    pub(crate) fn open(path: &CStr, writable: bool, direct: bool) -> Result<Self> {
        // SAFETY: `path` is NUL-terminated; `filp_open` copies what it needs.
        let file =
            from_err_ptr(unsafe { bindings::file_open(path.as_char_ptr(), writable, direct) })?;
        let file = NonNull::new(file).ok_or(EINVAL)?;
        // SAFETY: `file` is open (above).
        if !unsafe { bindings::file_is_reg(file.as_ptr()) } {
            // SAFETY: Opened above and not used afterwards.
            unsafe { bindings::fput(file.as_ptr()) };
            return Err(crate::error::errno!(ENOTBLK));
        }
        // INVARIANT: A regular file opened just above, with `writable`.
        Ok(Self { file, writable })
    }

    /// Whether the file was opened for writing.
    pub(crate) fn writable(&self) -> bool {
        self.writable
    }

    /// The size in bytes (`i_size_read`).
    pub(crate) fn size(&self) -> u64 {
        // SAFETY: The file is open (type invariant).
        let size = unsafe { bindings::file_size(self.file.as_ptr()) };
        u64::try_from(size).unwrap_or(0)
    }

    /// Fills `buf` from offset `pos`; what lies beyond the end of the file reads as zeroes.
    pub(crate) fn read_at(&self, buf: &mut [u8], pos: u64) -> Result {
        let mut pos = i64::try_from(pos).map_err(|_| EINVAL)?;
        let mut done = 0;
        while done < buf.len() {
            let rest = &mut buf[done..];
            // SAFETY: The file is open (type invariant); `rest` is writable for its length.
            let n = unsafe {
                bindings::kernel_read(
                    self.file.as_ptr(),
                    rest.as_mut_ptr().cast(),
                    rest.len(),
                    &mut pos,
                )
            };
            match usize::try_from(n) {
                Ok(0) => {
                    rest.fill(0);
                    return Ok(());
                }
                Ok(n) => done += n,
                // CAST: A negative `ssize_t` is an errno.
                Err(_) => return Err(Error::from_errno(n as i32)),
            }
        }
        Ok(())
    }

    /// Writes all of `buf` at offset `pos`; `EBADF` if the file is open for reading only.
    pub(crate) fn write_at(&self, buf: &[u8], pos: u64) -> Result {
        if !self.writable {
            return Err(EBADF);
        }
        let mut pos = i64::try_from(pos).map_err(|_| EINVAL)?;
        let mut done = 0;
        while done < buf.len() {
            let rest = &buf[done..];
            // SAFETY: The file is open for writing (type invariant); `rest` is readable for
            // its length.
            let n = unsafe {
                bindings::kernel_write(
                    self.file.as_ptr(),
                    rest.as_ptr().cast(),
                    rest.len(),
                    &mut pos,
                )
            };
            match usize::try_from(n) {
                Ok(0) => return Err(EIO),
                Ok(n) => done += n,
                // CAST: A negative `ssize_t` is an errno.
                Err(_) => return Err(Error::from_errno(n as i32)),
            }
        }
        Ok(())
    }

    /// Writes the file's dirty data and metadata to stable storage (`vfs_fsync`).
    pub(crate) fn sync(&self) -> Result {
        // SAFETY: The file is open (type invariant).
        to_result(unsafe { bindings::vfs_fsync(self.file.as_ptr(), 0) })
    }

    /// Writes the data of `len` bytes at `pos` to stable storage (`vfs_fsync_range`, data
    /// only).
    pub(crate) fn sync_range(&self, pos: u64, len: u64) -> Result {
        if len == 0 {
            return Ok(());
        }
        let start = i64::try_from(pos).map_err(|_| EINVAL)?;
        let last = pos.checked_add(len - 1).ok_or(EINVAL)?;
        let end = i64::try_from(last).map_err(|_| EINVAL)?;
        // SAFETY: The file is open (type invariant).
        to_result(unsafe { bindings::vfs_fsync_range(self.file.as_ptr(), start, end, 1) })
    }
}

impl Drop for File {
    fn drop(&mut self) {
        // SAFETY: Owned and open (type invariant); not used again.
        unsafe { bindings::fput(self.file.as_ptr()) };
    }
}
