// SPDX-License-Identifier: GPL-2.0-or-later

//! Bios over kernel buffers, submitted to an open [`Bdev`], completed into Rust.
//!
//! C header: [include/linux/bio.h](srctree/include/linux/bio.h).
//!
//! The RNBD server turns each RTRS request into one bio over the chunk buffer the data sits
//! in, with the op and flags of the wire message, and answers the client when the bio ends.
//! Here a [`Bio`] owns its buffer (any [`Buffer`]) from construction until completion; the
//! completion closure gets the buffer back together with the status as a `Result`.
//!
//! A [`Bio`] also holds an [`Arc<Bdev>`], so the device stays open while the bio is in
//! flight. Dropping a [`Bdev`] may sleep: the owner keeps its own reference until its bios
//! have completed, so that the completion (which may run in interrupt context) never drops
//! the last one. The bio lets go of its reference before the completion closure runs, so an
//! owner that waits for its closures (the RNBD server waits for the `Pass`es they hold)
//! drops the last reference itself.
//!
//! # Example
//!
//! What the RNBD server does per I/O message (doctests are not compiled out of tree; the
//! compiled user is `tools/testing/selftest/block_test.rs`):
//!
//! ```ignore
//! let bdev = Arc::new(Bdev::open(path, Mode::ReadWrite, Some(Holder::module(module)))?, GFP_KERNEL)?;
//! let flags = if msg_fua { Flags::FUA } else { Flags::NONE };
//! Bio::new(&bdev, Op::Write, flags, sector, chunk)?.submit(move |res, chunk| {
//!     // Interrupt context possible: answer the client, give the chunk back to RTRS.
//!     id.respond(res, chunk);
//! })?;
//! Bio::without_data(&bdev, Op::Discard, Flags::NONE, sector, nr_sectors)?.submit(done)?;
//! ```

use crate::{
    bindings,
    block::{bdev::Bdev, status_to_result, SECTOR_SHIFT, SECTOR_SIZE},
};
use core::ptr::NonNull;
use kernel::{alloc::flags, prelude::*, sync::Arc};

/// The operation of a bio (`enum req_op`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// `REQ_OP_READ`: the device fills the buffer.
    Read,
    /// `REQ_OP_WRITE`: the buffer goes to the device.
    Write,
    /// An empty flush of the device's volatile cache. Bios carry it as
    /// `REQ_OP_WRITE | REQ_PREFLUSH` without data (`REQ_OP_FLUSH` exists only for
    /// requests), as `blkdev_issue_flush` and the C RNBD server do.
    Flush,
    /// `REQ_OP_DISCARD`: a range is deallocated; no data.
    Discard,
    /// `REQ_OP_SECURE_ERASE`: a range is securely erased; no data.
    SecureErase,
    /// `REQ_OP_WRITE_ZEROES`: a range is zeroed; no data.
    WriteZeroes,
}

impl Op {
    /// The `req_op` value.
    fn to_raw(self) -> bindings::blk_opf_t {
        match self {
            Op::Read => bindings::req_op_REQ_OP_READ,
            Op::Write => bindings::req_op_REQ_OP_WRITE,
            Op::Flush => bindings::req_op_REQ_OP_WRITE | bindings::REQ_PREFLUSH,
            Op::Discard => bindings::req_op_REQ_OP_DISCARD,
            Op::SecureErase => bindings::req_op_REQ_OP_SECURE_ERASE,
            Op::WriteZeroes => bindings::req_op_REQ_OP_WRITE_ZEROES,
        }
    }

    /// Whether the op changes the device (`op_is_write`).
    pub(crate) fn is_write(self) -> bool {
        self != Op::Read
    }

    /// Whether the op carries data in the buffer.
    pub(crate) fn has_data(self) -> bool {
        matches!(self, Op::Read | Op::Write)
    }
}

/// Flags of a bio besides the op (`REQ_*`), combined with `|`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Flags(bindings::blk_opf_t);

impl Flags {
    /// No flags.
    pub(crate) const NONE: Flags = Flags(0);
    /// `REQ_FUA`: the data is on stable media when the bio completes.
    pub(crate) const FUA: Flags = Flags(bindings::REQ_FUA);
    /// `REQ_PREFLUSH`: the volatile cache is flushed before the data is written.
    pub(crate) const PREFLUSH: Flags = Flags(bindings::REQ_PREFLUSH);
    /// `REQ_SYNC`: someone waits for this bio.
    pub(crate) const SYNC: Flags = Flags(bindings::REQ_SYNC);
}

impl core::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

/// Memory a bio can carry: kernel memory in the direct map that stays in place while the
/// owner is moved.
///
/// # Safety
///
/// Implementers guarantee that, for as long as the value is not dropped and no `&mut`
/// method is called on it:
///
/// - `as_ptr()` returns the start of `len()` bytes of memory in the kernel direct map
///   (`virt_to_page()` is valid on every byte of it; e.g. from `kmalloc`, not `vmalloc`),
///   which the value owns and nobody else accesses;
/// - moving the value does not move that memory, and `as_ptr()` and `len()` give the same
///   answer every time.
pub(crate) unsafe trait Buffer: Send + 'static {
    /// The first byte.
    fn as_ptr(&self) -> *const u8;
    /// The number of bytes the bio covers.
    fn len(&self) -> usize;
}

// SAFETY: A `KVec` keeps its elements in one `kmalloc` (`krealloc`) allocation, which is in
// the direct map, owned by the vector and not moved when the vector is; the length only
// changes through `&mut self`.
unsafe impl Buffer for KVec<u8> {
    fn as_ptr(&self) -> *const u8 {
        KVec::as_ptr(self)
    }
    fn len(&self) -> usize {
        KVec::len(self)
    }
}

/// The buffer of bios without data (flush, discard, write zeroes, secure erase).
pub(crate) struct NoBuffer;

// SAFETY: An empty buffer has no bytes, so every requirement holds trivially.
unsafe impl Buffer for NoBuffer {
    fn as_ptr(&self) -> *const u8 {
        core::ptr::null()
    }
    fn len(&self) -> usize {
        0
    }
}

/// A bio built over a buffer, not submitted yet.
///
/// # Invariants
///
/// - `bio` was allocated by `bio_alloc()` on `bdev`'s block device and is owned by this
///   object until it is submitted or dropped (`bio_put`).
/// - The bio's pages are those of `buf`, which is owned by this object.
pub(crate) struct Bio<B: Buffer> {
    /// The C bio.
    bio: NonNull<bindings::bio>,
    /// The memory the bio reads from or writes into.
    buf: B,
    /// The device; held open until the bio completes.
    bdev: Arc<Bdev>,
}

impl<B: Buffer> Bio<B> {
    /// Builds a bio for `op` at `sector`, over all of `buf`.
    ///
    /// For [`Op::Read`] and [`Op::Write`] the buffer must be non-empty, aligned to 512 bytes
    /// and a multiple of the logical block size long, and at most `BIO_MAX_VECS` pages.
    /// For the ops without data use [`Bio::without_data`]. Fails with `EBADF` for an op
    /// that writes on a device that is not [`Bdev::writable`] (an empty [`Op::Flush`] is
    /// allowed). May sleep.
    pub(crate) fn new(bdev: &Arc<Bdev>, op: Op, flags: Flags, sector: u64, buf: B) -> Result<Self> {
        Self::try_new(bdev, op, flags, sector, buf).map_err(|(e, _)| e)
    }

    /// Like [`Bio::new`], but gives the buffer back with the error, for buffers that must not
    /// be dropped unused (e.g. a request that still has to be answered).
    pub(crate) fn try_new(
        bdev: &Arc<Bdev>,
        op: Op,
        flags: Flags,
        sector: u64,
        buf: B,
    ) -> core::result::Result<Self, (Error, B)> {
        if !op.has_data() {
            return Err((EINVAL, buf));
        }
        let len = buf.len();
        let Ok(lbs) = usize::try_from(bdev.logical_block_size()) else {
            return Err((EINVAL, buf));
        };
        // CAST: Only the address is needed, for alignment and page arithmetic.
        let start = buf.as_ptr() as usize;
        if len == 0 || lbs == 0 || len % lbs != 0 || start % SECTOR_SIZE != 0 {
            return Err((EINVAL, buf));
        }
        let page = kernel::page::PAGE_SIZE;
        let nr_vecs = match u16::try_from((start + len - 1) / page - start / page + 1) {
            Ok(n) if u32::from(n) <= bindings::BIO_MAX_VECS => n,
            _ => return Err((EINVAL, buf)),
        };
        let this = Self::alloc(bdev, op, flags, sector, nr_vecs, buf)?;
        match this.add_pages(nr_vecs) {
            Ok(()) => Ok(this),
            Err(e) => Err((e, this.into_buf())),
        }
    }

    /// Adds the pages of the buffer, `nr_vecs` of them.
    fn add_pages(&self, nr_vecs: u16) -> Result {
        let page = kernel::page::PAGE_SIZE;
        let len = self.buf.len();
        // CAST: Only the address is needed, for page arithmetic.
        let start = self.buf.as_ptr() as usize;
        let mut off = 0;
        let mut added_vecs = 0u16;
        while off < len {
            let in_page = (start + off) % page;
            let chunk = core::cmp::min(len - off, page - in_page);
            if added_vecs == nr_vecs {
                return Err(EINVAL);
            }
            let vaddr = self.buf.as_ptr().wrapping_add(off);
            // SAFETY: `vaddr` is in the buffer, which is in the direct map (`Buffer`).
            let pg = unsafe { bindings::virt_to_page(vaddr.cast()) };
            // SAFETY: The bio is owned (type invariant) and has room for `nr_vecs` pages, of
            // which fewer than `nr_vecs` were added (checked above); `chunk` stays inside one
            // page.
            let added = unsafe {
                bindings::bio_add_page(
                    self.bio.as_ptr(),
                    pg,
                    u32::try_from(chunk)?,
                    u32::try_from(in_page)?,
                )
            };
            if usize::try_from(added)? != chunk {
                return Err(EINVAL);
            }
            added_vecs += 1;
            off += chunk;
        }
        Ok(())
    }

    /// Frees the bio, which was not submitted, and gives the buffer back.
    fn into_buf(self) -> B {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: The bio is owned and was not submitted (type invariant); not used again.
        unsafe { bindings::bio_put(this.bio.as_ptr()) };
        // SAFETY: `this` is never used or dropped again, so each field is read exactly once.
        let (buf, bdev) = unsafe { (core::ptr::read(&this.buf), core::ptr::read(&this.bdev)) };
        drop(bdev);
        buf
    }

    /// Sets the I/O priority (`bio_set_prio`; an `IOPRIO_PRIO_VALUE`).
    pub(crate) fn set_prio(&mut self, prio: u16) {
        // SAFETY: The bio is owned and not submitted (type invariant), so it may be written.
        unsafe { (*self.bio.as_ptr()).bi_ioprio = prio };
    }

    /// Allocates the C bio and fills in the device, op, flags and sector.
    fn alloc(
        bdev: &Arc<Bdev>,
        op: Op,
        flags: Flags,
        sector: u64,
        nr_vecs: u16,
        buf: B,
    ) -> core::result::Result<Self, (Error, B)> {
        // An empty flush changes no data: the block layer lets it through to a read-only
        // device (`bio_check_ro`), and so do we.
        if op.is_write() && op != Op::Flush && !bdev.writable() {
            return Err((EBADF, buf));
        }
        // The block layer warns about (and fails) cache flags on anything but a write.
        let cache_flags = Flags::FUA.0 | Flags::PREFLUSH.0;
        if flags.0 & cache_flags != 0 && !matches!(op, Op::Write | Op::Flush) {
            return Err((EINVAL, buf));
        }
        // SAFETY: The block device is open (invariant of `Bdev`); `GFP_NOIO` may sleep,
        // which the caller allows.
        let bio = unsafe {
            bindings::bio_alloc(
                bdev.as_raw(),
                nr_vecs,
                op.to_raw() | flags.0,
                bindings::GFP_NOIO,
            )
        };
        let Some(bio) = NonNull::new(bio) else {
            return Err((ENOMEM, buf));
        };
        // SAFETY: `bio` was just allocated and is not shared.
        unsafe { (*bio.as_ptr()).bi_iter.bi_sector = sector };
        // INVARIANT: `bio` is owned and has no pages yet; `buf` is owned.
        Ok(Self {
            bio,
            buf,
            bdev: bdev.clone(),
        })
    }

    /// Submits the bio; `done` is called once with the status and the buffer back.
    ///
    /// `done` may run in any context, including interrupt context, and before this function
    /// returns (e.g. on `brd`, which completes in the submitter's context). The bio's
    /// reference to the [`Bdev`] is dropped just before `done` is called.
    pub(crate) fn submit<F>(self, done: F) -> Result
    where
        F: FnOnce(Result, B) + Send + 'static,
    {
        let this = core::mem::ManuallyDrop::new(self);
        let bio = this.bio;
        // SAFETY: `this` is never used or dropped again, so each field is read exactly once.
        let (buf, bdev) = unsafe { (core::ptr::read(&this.buf), core::ptr::read(&this.bdev)) };
        let inflight = match KBox::new(
            Inflight {
                buf,
                done,
                _bdev: bdev,
            },
            flags::GFP_KERNEL,
        ) {
            Ok(inflight) => inflight,
            Err(e) => {
                // SAFETY: The bio was not submitted and is owned; it is not used again.
                unsafe { bindings::bio_put(bio.as_ptr()) };
                return Err(e.into());
            }
        };
        // SAFETY: The bio is owned and not submitted yet, so its fields may be written.
        unsafe {
            (*bio.as_ptr()).bi_private = KBox::into_raw(inflight).cast();
            (*bio.as_ptr()).bi_end_io = Some(end_io::<B, F>);
        }
        // SAFETY: The bio is complete; from here the block layer owns it until `end_io`.
        unsafe { bindings::submit_bio(bio.as_ptr()) };
        Ok(())
    }

    /// Submits the bio and waits for it; returns the status and the buffer.
    ///
    /// Must not be called from atomic context.
    pub(crate) fn submit_wait(self) -> (Result, B) {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: The bio is owned; `submit_bio_wait` returns once it has completed.
        let ret = unsafe { bindings::submit_bio_wait(this.bio.as_ptr()) };
        // SAFETY: The bio completed and is still owned; it is not used again.
        unsafe { bindings::bio_put(this.bio.as_ptr()) };
        // SAFETY: `this` is never used or dropped again, so each field is read exactly once.
        let (buf, bdev) = unsafe { (core::ptr::read(&this.buf), core::ptr::read(&this.bdev)) };
        drop(bdev);
        (kernel::error::to_result(ret), buf)
    }
}

impl Bio<NoBuffer> {
    /// Builds a bio without data: [`Op::Flush`] (then `nr_sectors` must be 0), or
    /// [`Op::Discard`], [`Op::WriteZeroes`], [`Op::SecureErase`] over `nr_sectors` at
    /// `sector`. May sleep.
    pub(crate) fn without_data(
        bdev: &Arc<Bdev>,
        op: Op,
        flags: Flags,
        sector: u64,
        nr_sectors: u32,
    ) -> Result<Self> {
        if op.has_data() || (op == Op::Flush) != (nr_sectors == 0) {
            return Err(EINVAL);
        }
        let size = nr_sectors.checked_shl(SECTOR_SHIFT).ok_or(EINVAL)?;
        if size >> SECTOR_SHIFT != nr_sectors {
            return Err(EINVAL);
        }
        let this = Self::alloc(bdev, op, flags, sector, 0, NoBuffer).map_err(|(e, _)| e)?;
        // SAFETY: The bio is owned and not submitted (type invariant).
        unsafe { (*this.bio.as_ptr()).bi_iter.bi_size = size };
        Ok(this)
    }
}

impl<B: Buffer> Drop for Bio<B> {
    /// Frees a bio that was never submitted; the buffer and device go with the fields.
    fn drop(&mut self) {
        // SAFETY: The bio is owned and was not submitted (`submit*` do not drop `self`).
        unsafe { bindings::bio_put(self.bio.as_ptr()) };
    }
}

/// What a submitted bio owns until it completes; `bi_private` points at it.
struct Inflight<B, F> {
    /// The buffer, handed to `done`.
    buf: B,
    /// The completion.
    done: F,
    /// The device, held open until the completion has run.
    _bdev: Arc<Bdev>,
}

/// The `bi_end_io` of bios submitted by [`Bio::submit`].
///
/// # Safety
///
/// Called by the block layer once per bio, with `bi_private` set by [`Bio::submit`] to a
/// `KBox<Inflight<B, F>>` of these very types.
unsafe extern "C" fn end_io<B: Buffer, F: FnOnce(Result, B) + Send + 'static>(
    bio: *mut bindings::bio,
) {
    // SAFETY: `bio` is the completing bio, valid until `bio_put` below.
    let (status, private) = unsafe { ((*bio).bi_status, (*bio).bi_private) };
    // SAFETY: The block layer is done with the bio; our reference is dropped here.
    unsafe { bindings::bio_put(bio) };
    // SAFETY: `private` came from `KBox::into_raw` in `submit` with these types, and this is
    // the only completion of the bio.
    let inflight = unsafe { KBox::from_raw(private.cast::<Inflight<B, F>>()) };
    let Inflight { buf, done, _bdev } = KBox::into_inner(inflight);
    // The device reference goes before `done` runs: an owner that waits for its completions
    // (e.g. through a pass `done` holds) then knows that no bio holds the device any more,
    // and its own drop of the last reference happens where it may sleep.
    drop(_bdev);
    done(status_to_result(status), buf);
}
