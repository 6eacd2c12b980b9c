// SPDX-License-Identifier: GPL-2.0-or-later

//! Scatterlists a request's data is mapped into.
//!
//! C header: [include/linux/scatterlist.h](srctree/include/linux/scatterlist.h).
//!
//! A driver keeps one [`SgTable`] per request, usually in its
//! [`RequestData`](super::Operations::RequestData), sized for the disk's `max_segments`.
//! [`OwnedRef::map_sg`](super::OwnedRef::map_sg) (`blk_rq_map_sg`) fills it and returns a
//! [`MappedSg`], which borrows both the table and the owned request, so the mapping cannot
//! outlive the request. The RNBD client hands the entries to RTRS; a memory-backed driver
//! copies through [`MappedSg::for_each_segment`].

use crate::bindings;
use core::marker::PhantomData;
use kernel::{alloc::Flags, page::PAGE_SIZE, prelude::*};

/// A scatterlist table of fixed capacity.
///
/// # Invariants
///
/// `entries` holds `capacity` entries initialised by `sg_init_table` (the last one marked
/// as the end), in one allocation that does not move.
pub(crate) struct SgTable {
    /// The entries.
    entries: KVec<bindings::scatterlist>,
}

// SAFETY: The entries are plain data describing pages; the table may move between threads.
unsafe impl Send for SgTable {}
// SAFETY: No `&self` method gives access to the entries.
unsafe impl Sync for SgTable {}

impl SgTable {
    /// Allocates a table with room for `capacity` entries.
    pub(crate) fn new(capacity: usize, flags: Flags) -> Result<Self> {
        let n = u32::try_from(capacity)?;
        if n == 0 {
            return Err(EINVAL);
        }
        let mut entries = KVec::with_capacity(capacity, flags)?;
        for _ in 0..capacity {
            entries.push(bindings::scatterlist::default(), flags)?;
        }
        // SAFETY: `entries` has `capacity` initialised elements.
        unsafe { bindings::sg_init_table(entries.as_mut_ptr(), n) };
        // INVARIANT: The table was initialised above.
        Ok(Self { entries })
    }

    /// The number of entries the table can hold.
    pub(crate) fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// The raw table, for `blk_rq_map_sg`.
    pub(super) fn as_mut_ptr(&mut self) -> *mut bindings::scatterlist {
        self.entries.as_mut_ptr()
    }
}

/// A request's data mapped into an [`SgTable`], valid while the request is owned.
///
/// # Invariants
///
/// The first `nents` entries of `sg` describe the pages of a request that stays owned by
/// the driver for `'a`, so those pages stay valid.
pub(crate) struct MappedSg<'a> {
    /// The table.
    sg: &'a mut SgTable,
    /// The number of entries filled.
    nents: usize,
}

impl<'a> MappedSg<'a> {
    /// Wraps a table just filled by `blk_rq_map_sg`.
    ///
    /// # Safety
    ///
    /// The first `nents` entries of `sg` were filled for a request owned for `'a`.
    pub(super) unsafe fn new(sg: &'a mut SgTable, nents: usize) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self { sg, nents }
    }

    /// The number of entries filled.
    pub(crate) fn nents(&self) -> usize {
        self.nents
    }

    /// The raw entries, for DMA mapping by the RDMA layer (`ib_dma_map_sg`), which must
    /// unmap them before the request ends.
    pub(crate) fn as_mut_ptr(&mut self) -> *mut bindings::scatterlist {
        self.sg.as_mut_ptr()
    }

    /// Calls `f` on every piece of the mapped data, at most one page each, in order.
    ///
    /// Each piece is mapped with `kmap_local_page` for the duration of the call.
    pub(crate) fn for_each_segment(
        &mut self,
        mut f: impl FnMut(&mut Segment<'_>) -> Result,
    ) -> Result {
        let mut sg = self.sg.as_mut_ptr();
        for _ in 0..self.nents {
            // SAFETY: `sg` is one of the first `nents` entries (type invariant).
            let (page, offset, length) =
                unsafe { (bindings::sg_page(sg), (*sg).offset, (*sg).length) };
            let (offset, length) = (usize::try_from(offset)?, usize::try_from(length)?);
            let mut done = 0;
            while done < length {
                let pos = offset + done;
                let in_page = pos % PAGE_SIZE;
                let len = core::cmp::min(length - done, PAGE_SIZE - in_page);
                let nth = kernel::ffi::c_ulong::try_from(pos / PAGE_SIZE)?;
                // SAFETY: The entry covers `length` bytes from `offset` of physically
                // contiguous pages starting at `page` (type invariant), so page
                // `pos / PAGE_SIZE` of them exists.
                let pg = unsafe { bindings::nth_page(page, nth) };
                // SAFETY: `pg` is a valid page of the request.
                let base = unsafe { bindings::kmap_local_page(pg) };
                let mut seg = Segment {
                    // INVARIANT: `in_page + len <= PAGE_SIZE`, inside the mapped page.
                    ptr: base.cast::<u8>().wrapping_add(in_page),
                    len,
                    _p: PhantomData,
                };
                let res = f(&mut seg);
                // SAFETY: `base` was mapped above, is the latest local mapping, and `seg`
                // is gone.
                unsafe { bindings::kunmap_local(base) };
                res?;
                done += len;
            }
            // SAFETY: `sg` is a valid entry of an initialised table.
            sg = unsafe { bindings::sg_next(sg) };
        }
        Ok(())
    }
}

/// A piece of a request's data, mapped in the kernel, within one page.
///
/// The bytes are accessed only by copying, because for O_DIRECT they are user pages that
/// user space may touch concurrently.
///
/// # Invariants
///
/// `ptr` points at `len` bytes that stay mapped and belong to the owned request for `'a`.
pub(crate) struct Segment<'a> {
    /// The first byte.
    ptr: *mut u8,
    /// The number of bytes.
    len: usize,
    /// The mapping lasts for `'a`.
    _p: PhantomData<&'a mut [u8]>,
}

impl Segment<'_> {
    /// The number of bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the segment is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies `dst.len()` bytes from offset `off` of the segment into `dst`.
    pub(crate) fn read_into(&self, off: usize, dst: &mut [u8]) -> Result {
        if off.checked_add(dst.len()).ok_or(EINVAL)? > self.len {
            return Err(EINVAL);
        }
        // SAFETY: The range is inside the segment (checked) and mapped (type invariant);
        // `dst` is a distinct Rust buffer.
        unsafe { core::ptr::copy_nonoverlapping(self.ptr.add(off), dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }

    /// Copies `src` to offset `off` of the segment.
    pub(crate) fn write_from(&mut self, off: usize, src: &[u8]) -> Result {
        if off.checked_add(src.len()).ok_or(EINVAL)? > self.len {
            return Err(EINVAL);
        }
        // SAFETY: The range is inside the segment (checked) and mapped (type invariant);
        // `src` is a distinct Rust buffer.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.add(off), src.len()) };
        Ok(())
    }
}
