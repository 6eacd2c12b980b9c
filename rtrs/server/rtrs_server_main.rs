// SPDX-License-Identifier: GPL-2.0-or-later

//! RDMA Transport Server (`rtrs_server`), in Rust.
//!
//! Drop-in for the C module of the same name in Linux 6.12: the same module parameters,
//! the class `rtrs-server`, and the six `rtrs_srv_*` functions of `rtrs.h` (exported from
//! `glue.c`, implemented in `ffi_api.rs`). The protocol is `../../shared/spec`'s
//! wire-protocol, server side; the pure message logic lives in `rtrs/common/`.

// `pin_init!` of the path (many fields) expands deeper than the default limit.
#![recursion_limit = "256"]

use kernel::prelude::*;
use kernel::sync::Arc;

#[allow(dead_code)]
#[path = "../../rust/bindings/mod.rs"]
mod bindings;
#[allow(dead_code)]
#[path = "../../rust/cpu.rs"]
mod cpu;
#[allow(unused_imports, unused_macros)]
#[path = "../../rust/error.rs"]
mod error;
#[allow(unused_imports, unused_macros)]
#[path = "../../rust/params.rs"]
mod params;
#[allow(dead_code)]
#[path = "../../rust/rdma/mod.rs"]
mod rdma;
#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../../rust/sync/mod.rs"]
mod sync;
#[allow(dead_code)]
#[path = "../../rust/sysfs/mod.rs"]
mod sysfs;
#[allow(dead_code)]
#[path = "../../rust/trace/mod.rs"]
mod trace;

#[allow(dead_code)]
#[path = "../common/addr_fmt.rs"]
mod addr_fmt;
#[allow(dead_code)]
#[path = "../common/hb.rs"]
mod hb;
#[allow(dead_code)]
#[path = "../common/imm.rs"]
mod imm;
#[allow(dead_code)]
#[path = "../common/msg.rs"]
mod msg;
#[path = "../common/wire.rs"]
mod wire;

mod ctx;
mod ffi_api;
mod io;
mod sess;
mod sysfs_tree;

module! {
    type: RtrsServer,
    name: "rtrs_server",
    author: "rnbd-rs developers",
    description: "RDMA Transport Server",
    license: "GPL",
}

/// `MIN_CHUNK_SIZE`: the smallest `max_chunk_size`.
const MIN_CHUNK_SIZE: i32 = 8192;
/// `MAX_SESS_QUEUE_DEPTH`: the largest `sess_queue_depth` (it is a `le16` on the wire).
const MAX_SESS_QUEUE_DEPTH: i32 = 65535;
/// `MAX_HDR_SIZE`: room for RTRS and user headers at the end of a chunk.
pub(crate) const MAX_HDR_SIZE: u32 = kernel::page::PAGE_SIZE as u32;

params::module_params! {
    /// `always_invalidate` (bool, 0444): one MR per chunk, invalidated and re-registered
    /// around every IO, the new rkey sent with the response.
    fn param_always_invalidate() -> bool = rtrs_srv_param_always_invalidate;
    /// `max_chunk_size` (int, 0444): bytes per chunk.
    fn param_max_chunk_size() -> i32 = rtrs_srv_param_max_chunk_size;
    /// `sess_queue_depth` (int, 0444): chunks per session.
    fn param_sess_queue_depth() -> i32 = rtrs_srv_param_sess_queue_depth;
}

/// The validated module parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Params {
    /// `always_invalidate`.
    pub(crate) always_invalidate: bool,
    /// `max_chunk_size`: at least [`MIN_CHUNK_SIZE`], a power of two.
    pub(crate) max_chunk_size: u32,
    /// `sess_queue_depth`: 1 ..= [`MAX_SESS_QUEUE_DEPTH`].
    pub(crate) queue_depth: u16,
}

impl Params {
    /// Reads and checks the parameters as C `check_module_params` does.
    fn load() -> Result<Self> {
        let qd = param_sess_queue_depth();
        let chunk = param_max_chunk_size();
        if !(1..=MAX_SESS_QUEUE_DEPTH).contains(&qd) {
            pr_err!(
                "Invalid sess_queue_depth value {}, has to be >= {}, <= {}.\n",
                qd,
                1,
                MAX_SESS_QUEUE_DEPTH
            );
            return Err(EINVAL);
        }
        let (Ok(queue_depth), Ok(max_chunk_size)) = (u16::try_from(qd), u32::try_from(chunk))
        else {
            return Err(EINVAL);
        };
        if chunk < MIN_CHUNK_SIZE || !max_chunk_size.is_power_of_two() {
            pr_err!(
                "Invalid max_chunk_size value {}, has to be >= {} and should be power of two.\n",
                chunk,
                MIN_CHUNK_SIZE
            );
            return Err(EINVAL);
        }
        if imm::index_bits(u32::from(queue_depth)) + imm::index_bits(max_chunk_size)
            > imm::PAYLOAD_BITS
        {
            pr_err!(
                "RDMA immediate size ({}b) not enough to encode {} buffers of size {}B. Reduce 'sess_queue_depth' or 'max_chunk_size' parameters.\n",
                imm::PAYLOAD_BITS,
                qd,
                chunk
            );
            return Err(EINVAL);
        }
        Ok(Self {
            always_invalidate: param_always_invalidate(),
            max_chunk_size,
            queue_depth,
        })
    }
}

/// What the whole module shares: parameters, class, workqueue.
pub(crate) struct Globals {
    /// The module parameters, checked at load.
    pub(crate) params: Params,
    /// `/sys/class/rtrs-server`, registered while the module is loaded.
    pub(crate) class: Arc<sysfs::Class>,
    /// `rtrs_server_wq`: path closing and other deferred work.
    pub(crate) wq: sync::OwnedQueue,
}

/// The module's [`Globals`], set for as long as the module is loaded.
static GLOBALS: sync::GlobalArc<Globals> = sync::GlobalArc::new();

/// The module's [`Globals`]; `ENODEV` only while the module loads or unloads.
pub(crate) fn globals() -> Result<Arc<Globals>> {
    GLOBALS.get().ok_or(ENODEV)
}

/// The loaded `rtrs_server` module.
struct RtrsServer;

impl kernel::Module for RtrsServer {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let p = Params::load().inspect_err(|e| {
            pr_err!(
                "Failed to load module, invalid module parameters, err: {}\n",
                e.to_errno()
            )
        })?;
        pr_info!(
            "loaded, proto 2.0: (max_chunk_size: {} (pure IO {}, headers {}) , sess_queue_depth: {}, always_invalidate: {})\n",
            p.max_chunk_size,
            p.max_chunk_size - MAX_HDR_SIZE,
            MAX_HDR_SIZE,
            p.queue_depth,
            u8::from(p.always_invalidate)
        );
        let class = sysfs::Class::new(kernel::c_str!("rtrs-server"))?;
        let wq = sync::OwnedQueue::new(
            kernel::c_str!("rtrs_server_wq"),
            sync::WqFlags::default(),
            0,
        )?;
        let globals = Arc::new(
            Globals {
                params: p,
                class,
                wq,
            },
            GFP_KERNEL,
        )?;
        GLOBALS.set(globals)?;
        Ok(Self)
    }
}

impl Drop for RtrsServer {
    fn drop(&mut self) {
        // Every user called `rtrs_srv_close` before it could unload (it depends on us).
        drop(GLOBALS.take());
    }
}
