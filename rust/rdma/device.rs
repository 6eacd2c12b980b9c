// SPDX-License-Identifier: GPL-2.0-or-later

//! RDMA devices and `ib_client` registration.
//!
//! C header: [include/rdma/ib_verbs.h](srctree/include/rdma/ib_verbs.h).
//!
//! A [`Device`] is only ever seen borrowed (`&Device`), for as long as C guarantees the
//! `ib_device` is alive: during an [`Client`] callback, or while an rdma_cm id is bound to
//! it. Objects that outlive such a borrow (protection domains, completion queues, DMA
//! buffers) hold a [`DeviceRef`], a counted reference that keeps the device registered:
//! `ib_unregister_device()` waits until every such reference is dropped, so a [`Client`]
//! must drop what it built on a device in [`Client::remove`].

use crate::bindings;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::error::{code::*, to_result};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::types::{ForeignOwnable, Opaque};

/// A borrowed RDMA device (`struct ib_device`).
///
/// # Invariants
///
/// A `&Device` points at a registered `ib_device` that stays valid for the lifetime of the
/// borrow.
#[repr(transparent)]
pub(crate) struct Device(Opaque<bindings::ib_device>);

// SAFETY: `ib_device` is meant to be used from any thread; its verbs do their own locking.
unsafe impl Send for Device {}
// SAFETY: As above: every method takes `&self` and the C functions behind them are thread-safe.
unsafe impl Sync for Device {}

impl Device {
    /// Borrows the device behind `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point at a registered `ib_device` that stays valid for `'a`.
    pub(super) unsafe fn from_raw<'a>(ptr: *mut bindings::ib_device) -> &'a Self {
        // CAST: `Device` is a `repr(transparent)` wrapper of `ib_device`.
        // SAFETY: The caller guarantees validity for `'a`.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The raw `ib_device` pointer, for the other abstractions of this module.
    pub(super) fn as_raw(&self) -> *mut bindings::ib_device {
        self.0.get()
    }

    /// The device name, e.g. `rxe0`.
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: By the type invariant the device is valid; `name` is a NUL-terminated
        // array inside it (set at allocation, changed only under rename, which keeps it
        // NUL-terminated within the array).
        unsafe { CStr::from_char_ptr((*self.as_raw()).name.as_ptr()) }
    }

    /// The device limits RTRS sizes its queues and registrations by (`ib_device.attrs`).
    pub(crate) fn attrs(&self) -> DeviceAttrs {
        // SAFETY: By the type invariant the device is valid; `attrs` is filled in before the
        // device is registered and not changed afterwards.
        let a = unsafe { &(*self.as_raw()).attrs };
        // SAFETY: As above, for `num_comp_vectors`.
        let vectors = unsafe { (*self.as_raw()).num_comp_vectors };
        // SAFETY: As above, for `node_type`.
        let node_type = unsafe { (*self.as_raw()).node_type };
        // C keeps these limits in `int`; a negative one (a driver bug) reads as 0.
        let u = |v: i32| u32::try_from(v).unwrap_or(0);
        DeviceAttrs {
            max_qp_wr: u(a.max_qp_wr),
            max_send_sge: u(a.max_send_sge),
            max_recv_sge: u(a.max_recv_sge),
            max_cqe: u(a.max_cqe),
            max_qp_rd_atom: u(a.max_qp_rd_atom),
            max_fast_reg_page_list_len: a.max_fast_reg_page_list_len,
            max_mr_size: a.max_mr_size,
            // CAST: The flag value fits in `u64`.
            fast_reg: a.device_cap_flags
                & (bindings::ib_device_cap_flags_IB_DEVICE_MEM_MGT_EXTENSIONS as u64)
                != 0,
            num_comp_vectors: u(vectors),
            iwarp: u32::from(node_type) == bindings::RDMA_NODE_RNIC,
        }
    }

    /// Takes a counted reference on the device.
    ///
    /// Fails with `ENODEV` once the device has started to unregister.
    pub(crate) fn get(&self) -> Result<DeviceRef> {
        // SAFETY: By the type invariant the device is valid.
        if unsafe { bindings::ib_device_try_get(self.as_raw()) } {
            // INVARIANT: The reference was just taken.
            Ok(DeviceRef(NonNull::from(self)))
        } else {
            Err(ENODEV)
        }
    }
}

/// Device limits (a copy of the fields of `struct ib_device_attr` that RTRS uses).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DeviceAttrs {
    /// Work requests per queue.
    pub(crate) max_qp_wr: u32,
    /// SGEs per send work request.
    pub(crate) max_send_sge: u32,
    /// SGEs per receive work request.
    pub(crate) max_recv_sge: u32,
    /// Entries per CQ.
    pub(crate) max_cqe: u32,
    /// Outstanding RDMA READs a QP may serve (`responder_resources`).
    pub(crate) max_qp_rd_atom: u32,
    /// Pages per fast registration.
    pub(crate) max_fast_reg_page_list_len: u32,
    /// Largest memory region in bytes.
    pub(crate) max_mr_size: u64,
    /// Whether fast registration and LOCAL_INV are supported (`IB_DEVICE_MEM_MGT_EXTENSIONS`).
    pub(crate) fast_reg: bool,
    /// Completion vectors.
    pub(crate) num_comp_vectors: u32,
    /// An iWARP device (`RDMA_NODE_RNIC`, e.g. siw): no RDMA WRITE with immediate data.
    pub(crate) iwarp: bool,
}

/// A counted reference to an RDMA device (`ib_device_try_get` / `ib_device_put`).
///
/// # Invariants
///
/// The pointer is valid and this object owns one reference on the device's `refcount`.
pub(crate) struct DeviceRef(NonNull<Device>);

// SAFETY: The reference may be dropped from any thread (`ib_device_put` is thread-safe).
unsafe impl Send for DeviceRef {}
// SAFETY: Only `&Device` is reachable through `&DeviceRef`, and `Device` is `Sync`.
unsafe impl Sync for DeviceRef {}

impl core::ops::Deref for DeviceRef {
    type Target = Device;

    fn deref(&self) -> &Device {
        // SAFETY: By the type invariant the device is valid while the reference is held.
        unsafe { self.0.as_ref() }
    }
}

impl Clone for DeviceRef {
    fn clone(&self) -> Self {
        // SAFETY: The device is valid (type invariant) and its refcount is at least one (the
        // one we own), so `refcount_inc_not_zero` cannot fail.
        unsafe { bindings::ib_device_try_get(self.as_raw()) };
        // INVARIANT: One more reference was taken just above.
        Self(self.0)
    }
}

impl Drop for DeviceRef {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own one reference, given back here.
        unsafe { bindings::ib_device_put(self.as_raw()) };
    }
}

/// A user of RDMA devices: told when a device appears and when it goes away.
///
/// The equivalent of the C `struct ib_client` callbacks `add` and `remove`.
pub(crate) trait Client: 'static {
    /// What the client keeps per device, e.g. `KBox<X>` or `Arc<X>`.
    type Data: ForeignOwnable + Send + Sync;

    /// The client's registration slot; declare one `static` per client type, e.g.
    /// `static SLOT: ClientSlot = ClientSlot::new();`.
    fn slot() -> &'static ClientSlot;

    /// A device appeared (or was there when the client registered). An error means the
    /// client does not use this device, and [`Client::remove`] is not called for it.
    fn add(dev: &Device) -> Result<Self::Data>;

    /// The device goes away, or the client unregisters: drop everything built on it.
    fn remove(dev: &Device, data: Self::Data);
}

/// Where a registered [`Client`] keeps its C `ib_client`.
///
/// The C `add` callback gets only the device, yet needs the `ib_client` to store the
/// per-device data; C clients use a global for that, and so does this type.
///
/// # Invariants
///
/// NULL, or the `ib_client` of the live [`Registration`] of the client type whose
/// [`Client::slot`] returns this slot.
pub(crate) struct ClientSlot(AtomicPtr<bindings::ib_client>);

impl ClientSlot {
    /// An empty slot, for a `static`.
    pub(crate) const fn new() -> Self {
        Self(AtomicPtr::new(core::ptr::null_mut()))
    }
}

impl Default for ClientSlot {
    fn default() -> Self {
        Self::new()
    }
}

/// A registered [`Client`]; unregisters on drop (calling [`Client::remove`] for every device
/// the client had added).
///
/// # Invariants
///
/// `client` is registered with `ib_register_client` and `T::slot()` points at it.
pub(crate) struct Registration<T: Client> {
    client: Pin<KBox<Opaque<bindings::ib_client>>>,
    _t: PhantomData<T>,
}

// SAFETY: The registration may be dropped on any thread; `ib_unregister_client` is.
unsafe impl<T: Client> Send for Registration<T> {}
// SAFETY: No method uses the registration through `&self`.
unsafe impl<T: Client> Sync for Registration<T> {}

impl<T: Client> Registration<T> {
    /// Registers the client under `name`; [`Client::add`] runs for each existing device
    /// before this returns. Fails with `EBUSY` if `T` is already registered.
    pub(crate) fn new(name: &'static CStr) -> Result<Self> {
        let client = KBox::pin(Opaque::new(bindings::ib_client::default()), GFP_KERNEL)?;
        let raw = client.get();
        // SAFETY: `raw` is valid and not shared yet.
        unsafe {
            (*raw).name = name.as_char_ptr();
            (*raw).add = Some(Self::add_callback);
            (*raw).remove = Some(Self::remove_callback);
        }
        T::slot()
            .0
            .compare_exchange(
                core::ptr::null_mut(),
                raw,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .map_err(|_| EBUSY)?;
        // SAFETY: `raw` is a filled-in `ib_client` that stays pinned until `drop` unregisters
        // it. The callbacks find it through the slot set just above.
        if let Err(e) = to_result(unsafe { bindings::ib_register_client(raw) }) {
            T::slot().0.store(core::ptr::null_mut(), Ordering::Release);
            return Err(e);
        }
        // INVARIANT: Registered, and the slot points at it.
        Ok(Self {
            client,
            _t: PhantomData,
        })
    }

    /// C `add` callback.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core with a registered device, while the client is registered.
    unsafe extern "C" fn add_callback(dev: *mut bindings::ib_device) -> kernel::ffi::c_int {
        // SAFETY: The RDMA core passes a device that stays valid during the callback.
        let device = unsafe { Device::from_raw(dev) };
        match T::add(device) {
            Ok(data) => {
                let client = T::slot().0.load(Ordering::Acquire);
                // CAST: C stores the client data as `void *`; `from_foreign` in
                // `remove_callback` casts it back.
                let data = data.into_foreign().cast_mut();
                // SAFETY: `client` is the registered client (the slot is set before
                // `ib_register_client` and cleared after `ib_unregister_client`), and the
                // device is valid. The RDMA core gives `data` back to `remove`.
                unsafe { bindings::ib_set_client_data(dev, client, data) };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    /// C `remove` callback.
    ///
    /// # Safety
    ///
    /// Called by the RDMA core once per device that `add_callback` accepted, with the data
    /// that it stored.
    unsafe extern "C" fn remove_callback(
        dev: *mut bindings::ib_device,
        data: *mut kernel::ffi::c_void,
    ) {
        // SAFETY: The device is valid during the callback.
        let device = unsafe { Device::from_raw(dev) };
        // SAFETY: `data` came from `into_foreign` in `add_callback`, and `remove` is called
        // once per accepted device, so ownership is taken back exactly once.
        let data = unsafe { T::Data::from_foreign(data) };
        T::remove(device, data);
    }
}

impl<T: Client> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the client is registered. This calls `remove` for
        // every added device and waits for running callbacks.
        unsafe { bindings::ib_unregister_client(self.client.get()) };
        T::slot().0.store(core::ptr::null_mut(), Ordering::Release);
    }
}
