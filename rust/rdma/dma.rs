// SPDX-License-Identifier: GPL-2.0-or-later

//! DMA mapping of kernel buffers and scatterlists for an RDMA device.
//!
//! C header: [include/rdma/ib_verbs.h](srctree/include/rdma/ib_verbs.h) (`ib_dma_*`).
//!
//! As in the kernel's own DMA abstractions, a DMA address is a plain number: handing it to
//! the device (in an SGE or a memory registration) is safe, and what the device then does
//! with the memory is outside Rust's model. The buffers here stay allocated and mapped
//! until dropped. The CPU reads and writes them only by copying ([`DmaBuf::read`],
//! [`DmaBuf::write`]), never through Rust references, so a device writing concurrently
//! cannot invalidate a reference the compiler relies on. Ownership (drop only after the
//! work requests using a buffer completed) is the driver's protocol, as in C.

use super::device::{Device, DeviceRef};
use super::wr::Sge;
use crate::bindings;
use core::ptr::NonNull;
use kernel::error::code::*;
use kernel::prelude::*;

/// The direction of a DMA mapping (`enum dma_data_direction`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum DmaDir {
    /// Memory to device (send, RDMA write source, remote reads).
    ToDevice,
    /// Device to memory (receive, RDMA read target, remote writes).
    FromDevice,
    /// Both.
    Bidirectional,
}

impl DmaDir {
    /// The C value.
    fn as_raw(self) -> bindings::dma_data_direction {
        match self {
            Self::ToDevice => bindings::dma_data_direction_DMA_TO_DEVICE,
            Self::FromDevice => bindings::dma_data_direction_DMA_FROM_DEVICE,
            Self::Bidirectional => bindings::dma_data_direction_DMA_BIDIRECTIONAL,
        }
    }
}

/// A zeroed kernel buffer, mapped for DMA with `ib_dma_map_single`.
///
/// # Invariants
///
/// * `ptr` points at `len` bytes allocated by a `KVec<u8>` of capacity `cap`, owned here.
/// * `addr` is the mapping of exactly those bytes on `dev` in direction `dir`, unmapped only
///   in `drop`.
pub(crate) struct DmaBuf {
    ptr: NonNull<u8>,
    len: usize,
    cap: usize,
    addr: u64,
    dir: DmaDir,
    // Dropped after the unmap in `drop`.
    dev: DeviceRef,
}

// SAFETY: The buffer is owned memory; the mapping may be released from any thread.
unsafe impl Send for DmaBuf {}
// SAFETY: Through `&DmaBuf` the CPU only copies out of the buffer (`read`) and syncs the
// mapping; writes need `&mut DmaBuf`.
unsafe impl Sync for DmaBuf {}

impl DmaBuf {
    /// Allocates `len` zeroed bytes and maps them on `dev` for `dir`.
    pub(crate) fn new(dev: &Device, len: usize, dir: DmaDir) -> Result<Self> {
        if len == 0 || u32::try_from(len).is_err() {
            return Err(EINVAL);
        }
        let dev = dev.get()?;
        let (ptr, len, cap) = KVec::from_elem(0u8, len, GFP_KERNEL)?.into_raw_parts();
        // SAFETY: `ptr` points at `len` bytes just allocated; the device is valid.
        let addr =
            unsafe { bindings::ib_dma_map_single(dev.as_raw(), ptr.cast(), len, dir.as_raw()) };
        // SAFETY: The device is valid and `addr` came from it.
        if unsafe { bindings::ib_dma_mapping_error(dev.as_raw(), addr) } != 0 {
            // SAFETY: The parts come from `into_raw_parts` above.
            drop(unsafe { KVec::from_raw_parts(ptr, len, cap) });
            return Err(ENOMEM);
        }
        // INVARIANT: Allocated and mapped just above.
        Ok(Self {
            // SAFETY: `into_raw_parts` of a non-empty vector gives a non-NULL pointer.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
            len,
            cap,
            addr,
            dir,
            dev,
        })
    }

    /// The DMA address of the first byte.
    pub(crate) fn dma_addr(&self) -> u64 {
        self.addr
    }

    /// The length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// An SGE for `len` bytes from `offset` with the local key `lkey` (usually
    /// [`super::pd::Pd::local_dma_lkey`]); `EINVAL` if out of range.
    pub(crate) fn sge(&self, offset: usize, len: usize, lkey: u32) -> Result<Sge> {
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if end > self.len {
            return Err(EINVAL);
        }
        // CAST: `offset` and `len` are at most `self.len`, which fits in `u32` (checked in
        // `new`).
        Ok(Sge::new(self.addr + offset as u64, len as u32, lkey))
    }

    /// Copies bytes from `offset` out of the buffer into `dst`.
    pub(crate) fn read(&self, offset: usize, dst: &mut [u8]) -> Result {
        let end = offset.checked_add(dst.len()).ok_or(EINVAL)?;
        if end > self.len {
            return Err(EINVAL);
        }
        // SAFETY: The range is inside the owned buffer (checked above); `dst` is a distinct
        // Rust slice. The copy goes through raw pointers (see the module docs).
        unsafe {
            core::ptr::copy_nonoverlapping(
                self.ptr.as_ptr().add(offset),
                dst.as_mut_ptr(),
                dst.len(),
            )
        };
        Ok(())
    }

    /// Copies `src` into the buffer at `offset`.
    pub(crate) fn write(&mut self, offset: usize, src: &[u8]) -> Result {
        let end = offset.checked_add(src.len()).ok_or(EINVAL)?;
        if end > self.len {
            return Err(EINVAL);
        }
        // SAFETY: The range is inside the owned buffer, borrowed mutably; `src` is distinct.
        unsafe {
            core::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.as_ptr().add(offset), src.len())
        };
        Ok(())
    }

    /// Makes what the device wrote visible to the CPU (`ib_dma_sync_single_for_cpu`).
    pub(crate) fn sync_for_cpu(&self) {
        // SAFETY: The mapping is valid (type invariant).
        unsafe {
            bindings::ib_dma_sync_single_for_cpu(
                self.dev.as_raw(),
                self.addr,
                self.len,
                self.dir.as_raw(),
            )
        };
    }

    /// Makes what the CPU wrote visible to the device (`ib_dma_sync_single_for_device`).
    pub(crate) fn sync_for_device(&self) {
        // SAFETY: The mapping is valid (type invariant).
        unsafe {
            bindings::ib_dma_sync_single_for_device(
                self.dev.as_raw(),
                self.addr,
                self.len,
                self.dir.as_raw(),
            )
        };
    }
}

impl Drop for DmaBuf {
    fn drop(&mut self) {
        // SAFETY: The mapping is valid and unmapped only here (type invariant).
        unsafe {
            bindings::ib_dma_unmap_single(self.dev.as_raw(), self.addr, self.len, self.dir.as_raw())
        };
        // SAFETY: The parts come from `into_raw_parts` in `new` and are released only here.
        drop(unsafe { KVec::from_raw_parts(self.ptr.as_ptr(), self.len, self.cap) });
    }
}

/// A scatterlist of page-sized kernel buffers, mapped with `ib_dma_map_sg`: what a memory
/// region registers ([`super::mr::Mr::map_sg`]).
///
/// # Invariants
///
/// * `sgl` holds `nents` initialised entries (`sg_init_table`), entry `i` describing the
///   `PAGE_SIZE` bytes at `pages[i]`, which are owned here.
/// * The list is mapped on `dev` for `dir` with `mapped` DMA entries, unmapped only in `drop`.
pub(crate) struct SgBuf {
    sgl: KVec<bindings::scatterlist>,
    pages: KVec<NonNull<u8>>,
    mapped: u32,
    dir: DmaDir,
    // Dropped after the unmap.
    dev: DeviceRef,
}

// SAFETY: Owned memory; the mapping may be released from any thread.
unsafe impl Send for SgBuf {}
// SAFETY: As for `DmaBuf`: `&SgBuf` only copies out of the pages.
unsafe impl Sync for SgBuf {}

/// The page size, in bytes.
const PAGE: usize = kernel::page::PAGE_SIZE;

impl SgBuf {
    /// Allocates `nents` zeroed pages, builds the scatterlist and maps it on `dev` for `dir`.
    pub(crate) fn new(dev: &Device, nents: u32, dir: DmaDir) -> Result<Self> {
        if nents == 0 {
            return Err(EINVAL);
        }
        let dev = dev.get()?;
        // CAST: `u32` always fits in `usize` on the supported architectures.
        let n = nents as usize;
        // The pages are freed by `drop` from the moment they are in `this.pages`.
        let mut this = Self {
            sgl: KVec::from_elem(bindings::scatterlist::default(), n, GFP_KERNEL)?,
            pages: KVec::with_capacity(n, GFP_KERNEL)?,
            mapped: 0,
            dir,
            dev,
        };
        for _ in 0..n {
            // kmalloc() of a power-of-two size is naturally aligned: one page each.
            let page = KVec::from_elem(0u8, PAGE, GFP_KERNEL)?;
            if page.capacity() != PAGE {
                return Err(ENOMEM);
            }
            let (p, _, _) = page.into_raw_parts();
            // SAFETY: `into_raw_parts` of a non-empty vector gives a non-NULL pointer.
            let p = unsafe { NonNull::new_unchecked(p) };
            if let Err(e) = this.pages.push(p, GFP_KERNEL) {
                // SAFETY: `p` came from `into_raw_parts` of a `PAGE`-byte vector just above.
                drop(unsafe { KVec::from_raw_parts(p.as_ptr(), PAGE, PAGE) });
                return Err(e.into());
            }
        }
        // SAFETY: `sgl` has `nents` writable entries.
        unsafe { bindings::sg_init_table(this.sgl.as_mut_ptr(), nents) };
        for (i, p) in this.pages.iter().enumerate() {
            // SAFETY: Entry `i` exists; the page is `PAGE` owned bytes.
            unsafe {
                bindings::sg_set_buf(this.sgl.as_mut_ptr().add(i), p.as_ptr().cast(), PAGE as u32)
            };
        }
        // CAST: `nents` came in as `u32`; `ib_dma_map_sg` takes `int`.
        let nents_c = i32::try_from(nents).map_err(|_| EINVAL)?;
        // SAFETY: The table is initialised with `nents` entries over owned memory.
        let mapped = unsafe {
            bindings::ib_dma_map_sg(
                this.dev.as_raw(),
                this.sgl.as_mut_ptr(),
                nents_c,
                dir.as_raw(),
            )
        };
        if mapped <= 0 {
            return Err(ENOMEM);
        }
        // CAST: `mapped` is positive.
        this.mapped = mapped as u32;
        // INVARIANT: Mapped just above.
        Ok(this)
    }

    /// The device the list is mapped on.
    pub(crate) fn device(&self) -> &Device {
        &self.dev
    }

    /// The raw scatterlist and its number of DMA entries, for [`super::mr::Mr::map_sg`].
    pub(super) fn raw(&self) -> (*mut bindings::scatterlist, u32) {
        (self.sgl.as_ptr().cast_mut(), self.mapped)
    }

    /// The total length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.pages.len() * PAGE
    }

    /// Copies bytes from `offset` (across pages) into `dst`.
    pub(crate) fn read(&self, mut offset: usize, dst: &mut [u8]) -> Result {
        let end = offset.checked_add(dst.len()).ok_or(EINVAL)?;
        if end > self.len() {
            return Err(EINVAL);
        }
        let mut done = 0;
        while done < dst.len() {
            let (page, in_page) = (offset / PAGE, offset % PAGE);
            let n = core::cmp::min(PAGE - in_page, dst.len() - done);
            // SAFETY: `page` and `in_page + n` are in range (checked above); `dst` is distinct.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    self.pages[page].as_ptr().add(in_page),
                    dst.as_mut_ptr().add(done),
                    n,
                )
            };
            done += n;
            offset += n;
        }
        Ok(())
    }

    /// Copies `src` into the pages from `offset`.
    pub(crate) fn write(&mut self, mut offset: usize, src: &[u8]) -> Result {
        let end = offset.checked_add(src.len()).ok_or(EINVAL)?;
        if end > self.len() {
            return Err(EINVAL);
        }
        let mut done = 0;
        while done < src.len() {
            let (page, in_page) = (offset / PAGE, offset % PAGE);
            let n = core::cmp::min(PAGE - in_page, src.len() - done);
            // SAFETY: In range (checked above), pages borrowed mutably, `src` distinct.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    src.as_ptr().add(done),
                    self.pages[page].as_ptr().add(in_page),
                    n,
                )
            };
            done += n;
            offset += n;
        }
        Ok(())
    }
}

impl Drop for SgBuf {
    fn drop(&mut self) {
        if self.mapped != 0 {
            // CAST: `pages.len()` came in as a `u32` in `new`.
            let nents = self.pages.len() as i32;
            // SAFETY: Mapped in `new` with these entries (type invariant); unmapped only here.
            unsafe {
                bindings::ib_dma_unmap_sg(
                    self.dev.as_raw(),
                    self.sgl.as_mut_ptr(),
                    nents,
                    self.dir.as_raw(),
                )
            };
        }
        for p in self.pages.iter() {
            // SAFETY: Each page came from `into_raw_parts` of a `KVec<u8>` of `PAGE` bytes.
            drop(unsafe { KVec::from_raw_parts(p.as_ptr(), PAGE, PAGE) });
        }
    }
}

/// A scatterlist owned by a caller outside this module (the `struct scatterlist *` of an
/// RTRS user), borrowed until the request it describes is confirmed.
///
/// # Invariants
///
/// `sgl` is a valid chained scatterlist of `nents` entries over memory that stays valid
/// and is not otherwise DMA-mapped for as long as this object lives.
pub(crate) struct ForeignSg {
    sgl: NonNull<bindings::scatterlist>,
    nents: u32,
}

// SAFETY: The list is only handed to the DMA API, which may be called from any thread.
unsafe impl Send for ForeignSg {}
// SAFETY: `&ForeignSg` gives nothing but counts.
unsafe impl Sync for ForeignSg {}

impl ForeignSg {
    /// Borrows the caller's list; `None` for a NULL list or no entries.
    ///
    /// # Safety
    ///
    /// `sgl` must be a valid scatterlist of `nents` entries whose memory stays valid until
    /// the returned object is dropped, and which nobody else maps meanwhile.
    pub(crate) unsafe fn from_raw(sgl: *mut bindings::scatterlist, nents: u32) -> Option<Self> {
        // INVARIANT: The caller guarantees validity for the object's lifetime.
        NonNull::new(sgl)
            .filter(|_| nents != 0)
            .map(|sgl| Self { sgl, nents })
    }

    /// The number of entries.
    pub(crate) fn nents(&self) -> u32 {
        self.nents
    }
}

/// A [`ForeignSg`] mapped for DMA on a device (`ib_dma_map_sg`), unmapped on drop.
///
/// # Invariants
///
/// `sg` is mapped on `dev` for `dir` with `mapped` (> 0) DMA entries.
pub(crate) struct MappedSg {
    sg: ForeignSg,
    mapped: u32,
    dir: DmaDir,
    // Dropped after the unmap.
    dev: DeviceRef,
}

impl MappedSg {
    /// Maps `sg` on `dev` for `dir`; gives `sg` back with the error if that fails.
    pub(crate) fn new(
        sg: ForeignSg,
        dev: &Device,
        dir: DmaDir,
    ) -> core::result::Result<Self, (Error, ForeignSg)> {
        let dev = match dev.get() {
            Ok(d) => d,
            Err(e) => return Err((e, sg)),
        };
        let Ok(nents) = i32::try_from(sg.nents) else {
            return Err((EINVAL, sg));
        };
        // SAFETY: The list is valid and unmapped (`ForeignSg` invariant); the device is
        // valid (reference held).
        let mapped =
            unsafe { bindings::ib_dma_map_sg(dev.as_raw(), sg.sgl.as_ptr(), nents, dir.as_raw()) };
        if mapped <= 0 {
            return Err((ENOMEM, sg));
        }
        // INVARIANT: Mapped just above.
        Ok(Self {
            sg,
            // CAST: `mapped` is positive.
            mapped: mapped as u32,
            dir,
            dev,
        })
    }

    /// The device the list is mapped on.
    pub(crate) fn device(&self) -> &Device {
        &self.dev
    }

    /// The DMA entries as SGEs under `lkey` (the PD's local DMA key) in `out`: how many, or
    /// `None` if `out` is too short for them.
    pub(crate) fn sges(&self, lkey: u32, out: &mut [Sge]) -> Option<usize> {
        // CAST: `u32` fits in `usize`.
        let n = self.mapped as usize;
        let slots = out.get_mut(..n)?;
        let mut sg = self.sg.sgl.as_ptr();
        for slot in slots {
            // SAFETY: `sg` is one of the first `mapped` entries of the mapped list (type
            // invariant): the loop stops after `mapped` entries.
            let (addr, len) =
                unsafe { (bindings::ib_sg_dma_address(sg), bindings::ib_sg_dma_len(sg)) };
            *slot = Sge::new(addr, len, lkey);
            // SAFETY: As above; the entry after the last one is never read.
            sg = unsafe { bindings::sg_next(sg) };
        }
        Some(n)
    }

    /// The raw list and its number of DMA entries, for [`super::mr::Mr::map_foreign`].
    pub(super) fn raw(&self) -> (*mut bindings::scatterlist, u32) {
        (self.sg.sgl.as_ptr(), self.mapped)
    }

    /// Unmaps the list and gives the borrowed list back.
    pub(crate) fn unmap(self) -> ForeignSg {
        let this = core::mem::ManuallyDrop::new(self);
        this.do_unmap();
        // SAFETY: `this` is never used or dropped again; each field is read exactly once.
        let (sg, dev) = unsafe { (core::ptr::read(&this.sg), core::ptr::read(&this.dev)) };
        drop(dev);
        sg
    }

    /// `ib_dma_unmap_sg` of the mapping.
    fn do_unmap(&self) {
        // CAST: `nents` was checked to fit in `i32` in `new`.
        let nents = self.sg.nents as i32;
        // SAFETY: Mapped in `new` with these entries (type invariant); unmapped once, by
        // `unmap` or `drop`.
        unsafe {
            bindings::ib_dma_unmap_sg(
                self.dev.as_raw(),
                self.sg.sgl.as_ptr(),
                nents,
                self.dir.as_raw(),
            )
        };
    }
}

impl Drop for MappedSg {
    fn drop(&mut self) {
        self.do_unmap();
    }
}

/// Physically contiguous, zeroed kernel memory that several devices map ([`DmaMapping`]),
/// e.g. an RTRS chunk that every path of a session registers on its own device.
///
/// The CPU accesses it only by copying ([`ContigBuf::read`], [`ContigBuf::write`]), or
/// hands its address to C users ([`ContigBuf::cpu_ptr`]), as for [`DmaBuf`].
///
/// # Invariants
///
/// `ptr` points at `len` bytes allocated by a `KVec<u8>` of capacity `cap` (kmalloc: one
/// physically contiguous range, naturally aligned for power-of-two sizes), owned here.
pub(crate) struct ContigBuf {
    ptr: NonNull<u8>,
    len: usize,
    cap: usize,
}

// SAFETY: Owned memory, accessed through raw copies only.
unsafe impl Send for ContigBuf {}
// SAFETY: `&ContigBuf` only copies in and out through raw pointers (see the module docs).
unsafe impl Sync for ContigBuf {}

impl ContigBuf {
    /// Allocates `len` zeroed contiguous bytes (`len` at most 4 MiB, the kmalloc limit).
    pub(crate) fn new(len: usize) -> Result<Self> {
        if len == 0 || u32::try_from(len).is_err() {
            return Err(EINVAL);
        }
        let (ptr, len, cap) = KVec::from_elem(0u8, len, GFP_KERNEL)?.into_raw_parts();
        // INVARIANT: Just allocated by a `KVec`.
        Ok(Self {
            // SAFETY: `into_raw_parts` of a non-empty vector gives a non-NULL pointer.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
            len,
            cap,
        })
    }

    /// The length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The address of byte `offset` (at most `len`), for C users of the memory; `EINVAL` if
    /// out of range. Dereferencing it is the C user's business.
    pub(crate) fn cpu_ptr(&self, offset: usize) -> Result<*mut u8> {
        if offset > self.len {
            return Err(EINVAL);
        }
        // SAFETY: `offset` is within the allocation or one past its end.
        Ok(unsafe { self.ptr.as_ptr().add(offset) })
    }

    /// Copies bytes from `offset` into `dst`.
    pub(crate) fn read(&self, offset: usize, dst: &mut [u8]) -> Result {
        let end = offset.checked_add(dst.len()).ok_or(EINVAL)?;
        if end > self.len {
            return Err(EINVAL);
        }
        // SAFETY: The range is inside the owned buffer; `dst` is distinct. Raw copy: a device
        // may write the memory concurrently (see the module docs).
        unsafe {
            core::ptr::copy_nonoverlapping(
                self.ptr.as_ptr().add(offset),
                dst.as_mut_ptr(),
                dst.len(),
            )
        };
        Ok(())
    }

    /// Copies `src` into the buffer at `offset`.
    pub(crate) fn write(&self, offset: usize, src: &[u8]) -> Result {
        let end = offset.checked_add(src.len()).ok_or(EINVAL)?;
        if end > self.len {
            return Err(EINVAL);
        }
        // SAFETY: The range is inside the owned buffer; `src` is distinct. Raw copy, as in
        // `read`: the memory is shared with devices and C users, never behind a reference.
        unsafe {
            core::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.as_ptr().add(offset), src.len())
        };
        Ok(())
    }
}

impl Drop for ContigBuf {
    fn drop(&mut self) {
        // SAFETY: The parts come from `into_raw_parts` in `new` and are released only here.
        drop(unsafe { KVec::from_raw_parts(self.ptr.as_ptr(), self.len, self.cap) });
    }
}

/// A DMA mapping of a whole [`ContigBuf`] on one device (`ib_dma_map_single`).
///
/// # Invariants
///
/// `addr` maps all of `buf` on `dev` for `dir`; unmapped only in `drop`, before `buf`'s
/// reference goes.
pub(crate) struct DmaMapping {
    addr: u64,
    dir: DmaDir,
    dev: DeviceRef,
    buf: kernel::sync::Arc<ContigBuf>,
}

impl DmaMapping {
    /// Maps `buf` on `dev` for `dir`.
    pub(crate) fn new(
        dev: &Device,
        buf: kernel::sync::Arc<ContigBuf>,
        dir: DmaDir,
    ) -> Result<Self> {
        let dev = dev.get()?;
        // SAFETY: `buf` is `len` owned bytes kept alive by the `Arc` we hold; the device is
        // valid.
        let addr = unsafe {
            bindings::ib_dma_map_single(
                dev.as_raw(),
                buf.ptr.as_ptr().cast(),
                buf.len,
                dir.as_raw(),
            )
        };
        // SAFETY: The device is valid and `addr` came from it.
        if unsafe { bindings::ib_dma_mapping_error(dev.as_raw(), addr) } != 0 {
            return Err(ENOMEM);
        }
        // INVARIANT: Mapped just above.
        Ok(Self {
            addr,
            dir,
            dev,
            buf,
        })
    }

    /// The DMA address of the first byte.
    pub(crate) fn dma_addr(&self) -> u64 {
        self.addr
    }

    /// The mapped buffer.
    pub(crate) fn buf(&self) -> &kernel::sync::Arc<ContigBuf> {
        &self.buf
    }

    /// The device the mapping is for.
    pub(crate) fn device(&self) -> &Device {
        &self.dev
    }

    /// Makes what the device wrote visible to the CPU.
    pub(crate) fn sync_for_cpu(&self) {
        // SAFETY: The mapping is valid (type invariant).
        unsafe {
            bindings::ib_dma_sync_single_for_cpu(
                self.dev.as_raw(),
                self.addr,
                self.buf.len,
                self.dir.as_raw(),
            )
        };
    }

    /// Makes what the CPU wrote visible to the device.
    pub(crate) fn sync_for_device(&self) {
        // SAFETY: The mapping is valid (type invariant).
        unsafe {
            bindings::ib_dma_sync_single_for_device(
                self.dev.as_raw(),
                self.addr,
                self.buf.len,
                self.dir.as_raw(),
            )
        };
    }
}

impl Drop for DmaMapping {
    fn drop(&mut self) {
        // SAFETY: The mapping is valid and unmapped only here (type invariant).
        unsafe {
            bindings::ib_dma_unmap_single(
                self.dev.as_raw(),
                self.addr,
                self.buf.len,
                self.dir.as_raw(),
            )
        };
    }
}
