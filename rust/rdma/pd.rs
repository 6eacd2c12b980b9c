// SPDX-License-Identifier: GPL-2.0-or-later

//! Protection domains.
//!
//! C header: [include/rdma/ib_verbs.h](srctree/include/rdma/ib_verbs.h).

use super::device::{Device, DeviceRef};
use crate::bindings;
use core::ptr::NonNull;
use kernel::error::from_err_ptr;
use kernel::prelude::*;
use kernel::sync::Arc;

/// A protection domain (`struct ib_pd`), without an unsafe global rkey.
///
/// Queue pairs and memory regions hold an `Arc<Pd>`, so the PD is deallocated only after
/// all of them are gone (`ib_dealloc_pd` warns otherwise).
///
/// # Invariants
///
/// `pd` was returned by `ib_alloc_pd` on the device `dev` holds, and is deallocated only in
/// `drop`.
pub(crate) struct Pd {
    pd: NonNull<bindings::ib_pd>,
    // Dropped after `pd` is deallocated (see `drop`): the device outlives its PD.
    dev: DeviceRef,
}

// SAFETY: Verbs on a PD may be issued from any thread.
unsafe impl Send for Pd {}
// SAFETY: `&Pd` only reads immutable fields (`local_dma_lkey`) or passes the PD to verbs.
unsafe impl Sync for Pd {}

impl Pd {
    /// Allocates a protection domain on `dev` (flags 0: no unsafe global rkey).
    pub(crate) fn new(dev: &Device) -> Result<Arc<Self>> {
        let dev = dev.get()?;
        // SAFETY: `dev` is a valid device, kept registered by the reference just taken.
        let pd = from_err_ptr(unsafe { bindings::ib_alloc_pd(dev.as_raw(), 0) })?;
        // INVARIANT: `pd` was just allocated on `dev`.
        let pd = Self {
            // SAFETY: `from_err_ptr` passed, and `ib_alloc_pd` never returns NULL.
            pd: unsafe { NonNull::new_unchecked(pd) },
            dev,
        };
        Ok(Arc::new(pd, GFP_KERNEL)?)
    }

    /// The raw `ib_pd`, for the other abstractions of this module.
    pub(super) fn as_raw(&self) -> *mut bindings::ib_pd {
        self.pd.as_ptr()
    }

    /// The device this PD belongs to.
    pub(crate) fn device(&self) -> &Device {
        &self.dev
    }

    /// The lkey that covers all DMA-mapped memory of the device, for local SGEs.
    pub(crate) fn local_dma_lkey(&self) -> u32 {
        // SAFETY: By the type invariant `pd` is valid; `local_dma_lkey` is set at allocation
        // and never changes.
        unsafe { (*self.as_raw()).local_dma_lkey }
    }
}

impl Drop for Pd {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `pd` is valid and deallocated only here. Every QP and
        // MR on it holds an `Arc<Pd>`, so none is left.
        unsafe { bindings::ib_dealloc_pd(self.as_raw()) };
        // `self.dev` is dropped after this: the device reference goes last.
    }
}
