// SPDX-License-Identifier: GPL-2.0-or-later

//! Memory regions for fast registration.
//!
//! C header: [include/rdma/ib_verbs.h](srctree/include/rdma/ib_verbs.h).
//!
//! The cycle RTRS runs per I/O or per buffer chunk: [`Mr::map_sg`] (`ib_map_mr_sg`) sets
//! the pages, a REG_MR work request ([`super::wr::SendWr::reg_mr`]) makes them accessible
//! under [`Mr::rkey`], the peer uses the key, then a LOCAL_INV
//! ([`super::wr::SendWr::local_inv`]) or the peer's SEND_WITH_INV revokes it, and
//! [`Mr::inc_rkey`] (`ib_inc_rkey` + `ib_update_fast_reg_key`) picks a fresh key before the
//! next registration, so a stale key held by the peer cannot match again.

use super::cq::{Cqe, CqeHandler, CqeRef, Wc, WcStatus};
use super::dma::{MappedSg, SgBuf};
use super::pd::Pd;
use crate::bindings;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::error::{code::*, from_err_ptr};
use kernel::prelude::*;
use kernel::sync::Arc;

/// The allocated region, shared by the [`Mr`] handle and its in-flight REG_MR requests.
///
/// # Invariants
///
/// `mr` was returned by `ib_alloc_mr(IB_MR_TYPE_MEM_REG)` on `pd`, and is deregistered only
/// in `drop`, which runs after the last REG_MR request using it completed (each holds a
/// reference on the `Cqe<MrInner>`).
struct MrInner {
    mr: NonNull<bindings::ib_mr>,
    last_status: AtomicU32,
    // Dropped after the deregistration.
    pd: Arc<Pd>,
}

// SAFETY: The region may be deregistered from any thread.
unsafe impl Send for MrInner {}
// SAFETY: Through a shared reference only the atomic status is touched.
unsafe impl Sync for MrInner {}

impl CqeHandler for MrInner {
    fn done(this: Arc<Cqe<Self>>, wc: &Wc) {
        let status = match wc.status() {
            WcStatus::Success => 0,
            WcStatus::FlushErr => bindings::ib_wc_status_IB_WC_WR_FLUSH_ERR,
            WcStatus::RemAccessErr => bindings::ib_wc_status_IB_WC_REM_ACCESS_ERR,
            WcStatus::Other(s) => s,
        };
        this.last_status.store(status, Ordering::Relaxed);
        // `this` is the reference the REG_MR request held; dropping it may free the region.
    }
}

impl Drop for MrInner {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the region is valid and no request uses it any more.
        unsafe { bindings::ib_dereg_mr(self.mr.as_ptr()) };
    }
}

/// A fast-registration memory region (`struct ib_mr`).
///
/// One owner changes its mapping and key (`&mut self`); REG_MR requests in flight keep the
/// C object alive on their own, so dropping the handle early is harmless.
///
/// # Invariants
///
/// `inner` holds a valid region (see [`MrInner`]); only this handle mutates its fields.
pub(crate) struct Mr {
    inner: Arc<Cqe<MrInner>>,
}

impl Mr {
    /// Allocates a region of up to `max_sg` pages on `pd` (`ib_alloc_mr`).
    pub(crate) fn new(pd: &Arc<Pd>, max_sg: u32) -> Result<Self> {
        // SAFETY: `pd` is valid while the `Arc` is held.
        let mr = from_err_ptr(unsafe {
            bindings::ib_alloc_mr(pd.as_raw(), bindings::ib_mr_type_IB_MR_TYPE_MEM_REG, max_sg)
        })?;
        let inner = MrInner {
            // SAFETY: `ib_alloc_mr` returns a valid pointer or an `ERR_PTR`, never NULL.
            mr: unsafe { NonNull::new_unchecked(mr) },
            last_status: AtomicU32::new(0),
            pd: pd.clone(),
        };
        // If this fails, `inner` is dropped and deregisters the region.
        Ok(Self {
            inner: Cqe::new(inner)?,
        })
    }

    /// The raw region.
    fn raw(&self) -> *mut bindings::ib_mr {
        self.inner.mr.as_ptr()
    }

    /// Maps all DMA entries of `sg` into the region, in pages of `PAGE_SIZE`
    /// (`ib_map_mr_sg`). The I/O virtual address becomes the first entry's DMA address.
    ///
    /// The mapping takes effect with the next REG_MR; `sg` must stay alive (and mapped) as
    /// long as the peer may use the key, which the driver's protocol ensures.
    pub(crate) fn map_sg(&mut self, sg: &SgBuf) -> Result {
        // DMA addresses are only meaningful on the device they were mapped for.
        if sg.device().as_raw() != self.inner.pd.device().as_raw() {
            return Err(EINVAL);
        }
        let (sgl, nents) = sg.raw();
        let nents = i32::try_from(nents).map_err(|_| EINVAL)?;
        // CAST: The page size fits in `u32`.
        let page = kernel::page::PAGE_SIZE as u32;
        // SAFETY: The region is valid and mutated only here (type invariant, `&mut self`);
        // `sgl` is a mapped scatterlist of `nents` DMA entries.
        let n =
            unsafe { bindings::ib_map_mr_sg(self.raw(), sgl, nents, core::ptr::null_mut(), page) };
        if n < 0 {
            return Err(Error::from_errno(n));
        }
        if n != nents {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Maps all DMA entries of a caller's mapped list into the region, in pages of 4 KiB as
    /// C RTRS does (`ib_map_mr_sg(..., SZ_4K)`); `EINVAL` unless the whole list maps.
    ///
    /// As for [`Mr::map_sg`], the list must stay mapped while the peer may use the key.
    pub(crate) fn map_foreign(&mut self, sg: &MappedSg) -> Result {
        if sg.device().as_raw() != self.inner.pd.device().as_raw() {
            return Err(EINVAL);
        }
        let (sgl, nents) = sg.raw();
        let nents = i32::try_from(nents).map_err(|_| EINVAL)?;
        // SAFETY: The region is valid and mutated only through `&mut self` (type invariant);
        // `sgl` is a mapped scatterlist of `nents` DMA entries.
        let n =
            unsafe { bindings::ib_map_mr_sg(self.raw(), sgl, nents, core::ptr::null_mut(), 4096) };
        if n < 0 {
            return Err(Error::from_errno(n));
        }
        if n != nents {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Maps DMA mappings of equal, power-of-two size into the region, each one "page" of
    /// `page_size` bytes (`ib_map_mr_sg` with that page size), so that they follow each other
    /// in I/O virtual address space even though physically apart. The I/O virtual address
    /// becomes the first mapping's DMA address. Every mapping must be on the region's device
    /// and stay mapped as long as the peer may use the key (the driver's protocol).
    pub(crate) fn map_dma(&mut self, maps: &[&super::dma::DmaMapping], page_size: u32) -> Result {
        if maps.is_empty() || !page_size.is_power_of_two() {
            return Err(EINVAL);
        }
        let dev = self.inner.pd.device().as_raw();
        let mut sgl = KVec::from_elem(bindings::scatterlist::default(), maps.len(), GFP_KERNEL)?;
        let nents = u32::try_from(maps.len()).map_err(|_| EINVAL)?;
        // SAFETY: `sgl` has `nents` writable entries.
        unsafe { bindings::sg_init_table(sgl.as_mut_ptr(), nents) };
        for (i, m) in maps.iter().enumerate() {
            if m.device().as_raw() != dev || m.buf().len() != page_size as usize {
                return Err(EINVAL);
            }
            // SAFETY: Entry `i` exists; only its DMA address and length are set, which is
            // all `ib_map_mr_sg` reads.
            unsafe { bindings::sg_set_dma(sgl.as_mut_ptr().add(i), m.dma_addr(), page_size) };
        }
        let n_c = i32::try_from(nents).map_err(|_| EINVAL)?;
        // SAFETY: The region is valid and mutated only here (`&mut self`); `sgl` is an
        // initialised list of `nents` entries with DMA addresses of live mappings on the
        // region's device.
        let n = unsafe {
            bindings::ib_map_mr_sg(
                self.raw(),
                sgl.as_mut_ptr(),
                n_c,
                core::ptr::null_mut(),
                page_size,
            )
        };
        if n < 0 {
            return Err(Error::from_errno(n));
        }
        if n != n_c {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// The key under which the peer accesses the registered pages.
    pub(crate) fn rkey(&self) -> u32 {
        // SAFETY: The region is valid; its key changes only through `&mut self`.
        unsafe { (*self.raw()).rkey }
    }

    /// The local key of the region.
    pub(crate) fn lkey(&self) -> u32 {
        // SAFETY: As for `rkey`.
        unsafe { (*self.raw()).lkey }
    }

    /// The I/O virtual address set by [`Mr::map_sg`]: the peer's `remote_addr`.
    pub(crate) fn iova(&self) -> u64 {
        // SAFETY: As for `rkey`.
        unsafe { (*self.raw()).iova }
    }

    /// The mapped length in bytes.
    pub(crate) fn length(&self) -> u64 {
        // SAFETY: As for `rkey`.
        unsafe { (*self.raw()).length }
    }

    /// Moves to the next key (`ib_update_fast_reg_key(mr, ib_inc_rkey(mr->rkey))`), for
    /// the next REG_MR after an invalidation.
    pub(crate) fn inc_rkey(&mut self) {
        // SAFETY: The region is valid and mutated only here and in `map_sg` (`&mut self`).
        unsafe {
            let key = bindings::ib_inc_rkey((*self.raw()).rkey);
            // CAST: `ib_update_fast_reg_key` takes the low byte, as in C.
            bindings::ib_update_fast_reg_key(self.raw(), key as u8);
        }
    }

    /// The C status of the last completed REG_MR of this region (0 for success).
    pub(crate) fn last_reg_status(&self) -> u32 {
        self.inner.last_status.load(Ordering::Relaxed)
    }

    /// What a REG_MR work request needs: a reference for its completion, the region and
    /// its current key.
    pub(super) fn reg_parts(&self) -> (CqeRef, *mut bindings::ib_mr, u32) {
        (
            Cqe::into_raw_cqe(self.inner.clone()),
            self.raw(),
            self.rkey(),
        )
    }
}
