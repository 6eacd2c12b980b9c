// SPDX-License-Identifier: GPL-2.0-or-later

//! The `rtrs-server` class tree (sysfs ABI §3):
//!
//! ```text
//! /sys/class/rtrs-server/<sessname>/paths/<client>@<server>/
//!     hca_name  hca_port  src_addr  dst_addr  disconnect  stats/rdma
//! ```
//!
//! C version: `drivers/infiniband/ulp/rtrs/rtrs-srv-sysfs.c`, `rtrs-srv-stats.c`.

use crate::addr_fmt::AddrText;
use crate::rdma::cm::SockAddr;
use crate::sess::Path;
use crate::sysfs::{
    trim, Attribute, AttributeOperations, Attributes, Device, Kobject, KobjectRef, Page,
};
use core::fmt::Write;
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::Arc;

/// The sysfs text of an address.
pub(crate) fn addr_text(a: &SockAddr) -> AddrText {
    AddrText::new(a.family(), a.addr_bytes())
}

/// The session directory's payload: no files of its own.
pub(crate) struct SessDir;

impl Attributes for SessDir {
    const ATTRIBUTES: &'static [Attribute<Self>] = &[];
}

/// The class device of a session and its `paths/`; children are dropped first.
pub(crate) struct SessSysfs {
    /// `paths/`.
    pub(crate) paths: Kobject<()>,
    /// `/sys/class/rtrs-server/<sessname>`.
    _dev: Device<SessDir>,
}

impl SessSysfs {
    /// Creates the session's directory with `paths/`, then announces it.
    pub(crate) fn new(name: &[u8]) -> Result<Self> {
        let g = crate::globals()?;
        let name = core::str::from_utf8(name).map_err(|_| EINVAL)?;
        let mut dev = Device::new_uevent_suppressed(
            &g.class,
            format_args!("{}", name),
            Arc::new(SessDir, GFP_KERNEL)?,
        )?;
        let paths = Kobject::new_dir(dev.kobject(), format_args!("paths"))?;
        dev.announce()?;
        Ok(Self { paths, _dev: dev })
    }
}

/// The payload of a path directory and of its `stats/`.
pub(crate) struct PathDir(pub(crate) Arc<Path>);

/// The directories of a path; `stats/` is dropped first.
pub(crate) struct PathSysfs {
    /// `stats/`.
    _stats: Kobject<PathStats>,
    /// `paths/<client>@<server>/`.
    _dir: Kobject<PathDir>,
}

impl PathSysfs {
    /// Creates the path's directory under the session's `paths/`.
    pub(crate) fn new(paths: &KobjectRef, path: &Arc<Path>) -> Result<Self> {
        let dir = Kobject::new(
            paths,
            format_args!("{}@{}", addr_text(&path.peer), addr_text(&path.local)),
            Arc::new(PathDir(path.clone()), GFP_KERNEL)?,
        )?;
        let stats = Kobject::new(
            dir.kobject(),
            format_args!("stats"),
            Arc::new(PathStats(path.clone()), GFP_KERNEL)?,
        )?;
        Ok(Self {
            _stats: stats,
            _dir: dir,
        })
    }
}

#[vtable]
impl AttributeOperations<0> for PathDir {
    fn show(&self, page: &mut Page<'_>) -> Result {
        let name = self.0.dev.name();
        page.write_bytes(name.as_bytes())?;
        page.write_bytes(b"\n")
    }
}

#[vtable]
impl AttributeOperations<1> for PathDir {
    fn show(&self, page: &mut Page<'_>) -> Result {
        writeln!(page, "{}", self.0.port_num).map_err(|_| EFBIG)
    }
}

#[vtable]
impl AttributeOperations<2> for PathDir {
    fn show(&self, page: &mut Page<'_>) -> Result {
        writeln!(page, "{}", addr_text(&self.0.peer)).map_err(|_| EFBIG)
    }
}

#[vtable]
impl AttributeOperations<3> for PathDir {
    fn show(&self, page: &mut Page<'_>) -> Result {
        writeln!(page, "{}", addr_text(&self.0.local)).map_err(|_| EFBIG)
    }
}

#[vtable]
impl AttributeOperations<4> for PathDir {
    fn show(&self, page: &mut Page<'_>) -> Result {
        page.write_bytes(b"Usage: echo 1 > disconnect\n")
    }

    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        if trim(input) != b"1" {
            return Err(EINVAL);
        }
        pr_info!(
            "disconnect for path {}@{} requested\n",
            addr_text(&self.0.peer),
            addr_text(&self.0.local)
        );
        self.0.schedule_close();
        Ok(())
    }
}

impl Attributes for PathDir {
    const ATTRIBUTES: &'static [Attribute<Self>] = &[
        Attribute::new::<0>(kernel::c_str!("hca_name"), 0o444),
        Attribute::new::<1>(kernel::c_str!("hca_port"), 0o444),
        Attribute::new::<2>(kernel::c_str!("src_addr"), 0o444),
        Attribute::new::<3>(kernel::c_str!("dst_addr"), 0o444),
        Attribute::new_self_removing::<4>(kernel::c_str!("disconnect"), 0o644),
    ];
}

/// The payload of `stats/`.
pub(crate) struct PathStats(pub(crate) Arc<Path>);

#[vtable]
impl AttributeOperations<0> for PathStats {
    fn show(&self, page: &mut Page<'_>) -> Result {
        let s = &self.0.stats;
        writeln!(
            page,
            "{} {} {} {}",
            s.read_cnt.load(Ordering::Relaxed),
            s.read_bytes.load(Ordering::Relaxed),
            s.write_cnt.load(Ordering::Relaxed),
            s.write_bytes.load(Ordering::Relaxed)
        )
        .map_err(|_| EFBIG)
    }

    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        if trim(input) != b"1" {
            return Err(EINVAL);
        }
        let s = &self.0.stats;
        for c in [&s.read_cnt, &s.read_bytes, &s.write_cnt, &s.write_bytes] {
            c.store(0, Ordering::Relaxed);
        }
        Ok(())
    }
}

impl Attributes for PathStats {
    const ATTRIBUTES: &'static [Attribute<Self>] =
        &[Attribute::new::<0>(kernel::c_str!("rdma"), 0o644)];
}
