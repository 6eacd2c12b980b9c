// SPDX-License-Identifier: GPL-2.0-or-later

//! The session directory `/sys/class/rtrs-client/<sessname>/` (sysfs-abi §2.1) and its
//! path directories `paths/<src>@<dst>/` (§2.3, read-only files).
//!
//! C version: [drivers/infiniband/ulp/rtrs/rtrs-clt-sysfs.c](srctree/drivers/infiniband/ulp/rtrs/rtrs-clt-sysfs.c).

use crate::addr_fmt::AddrText;
use crate::clt::Sess;
use crate::mp_policy::Policy;
use crate::path::Path;
use crate::rdma::cm::SockAddr;
use crate::state::State;
use crate::stats::Stats;
use crate::sync::{GlobalArc, OwnedQueue};
use crate::sysfs::{
    trim, Attribute, AttributeOperations, Attributes, Class, Device, Kobject, KobjectRef, Page,
};
use core::fmt::Write;
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::Arc;

/// The class `rtrs-client`, set while the module is loaded.
pub(crate) static CLASS: GlobalArc<Class> = GlobalArc::new();

/// The module's workqueue (`rtrs_client_wq`), set while the module is loaded.
pub(crate) static WQ: GlobalArc<OwnedQueue> = GlobalArc::new();

/// The payload of a session directory.
pub(crate) struct SessFiles {
    sess: Arc<Sess>,
}

/// `max_reconnect_attempts`.
const MAX_RECONNECT_ATTEMPTS: u64 = 0;
/// `mpath_policy`.
const MPATH_POLICY: u64 = 1;

#[vtable]
impl AttributeOperations<MAX_RECONNECT_ATTEMPTS> for SessFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        writeln!(
            page,
            "{}",
            self.sess.max_reconnect_attempts.load(Ordering::Relaxed)
        )?;
        Ok(())
    }

    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        let text = input.strip_suffix(b"\n").unwrap_or(input);
        let text = core::str::from_utf8(text).map_err(|_| EINVAL)?;
        let v = text
            .strip_prefix('+')
            .unwrap_or(text)
            .parse::<i32>()
            .map_err(|_| EINVAL)?;
        if !(-1..=9999).contains(&v) {
            pr_err!(
                "{}: invalid range (provided: '{}')\n",
                "max_reconnect_attempts",
                text
            );
            return Err(EINVAL);
        }
        self.sess.max_reconnect_attempts.store(v, Ordering::Relaxed);
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<MPATH_POLICY> for SessFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        let v = self.sess.mp_policy.load(Ordering::Relaxed);
        let p = [Policy::RoundRobin, Policy::MinInflight, Policy::MinLatency]
            .into_iter()
            .find(|p| *p as u32 == v);
        match p {
            Some(p) => writeln!(page, "{}", p.show())?,
            None => writeln!(page, "Unknown ({})", v)?,
        }
        Ok(())
    }

    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        let Some(p) = Policy::parse(input) else {
            pr_err!(
                "{}: unknown value: '{}'\n",
                "mpath_policy",
                trim(input).len()
            );
            return Err(EINVAL);
        };
        self.sess.mp_policy.store(p as u32, Ordering::Relaxed);
        Ok(())
    }
}

impl Attributes for SessFiles {
    const ATTRIBUTES: &'static [Attribute<Self>] = &[
        Attribute::new::<MAX_RECONNECT_ATTEMPTS>(kernel::c_str!("max_reconnect_attempts"), 0o644),
        Attribute::new::<MPATH_POLICY>(kernel::c_str!("mpath_policy"), 0o644),
    ];
}

/// The printable form of an address.
fn addr_text(a: &SockAddr) -> AddrText {
    AddrText::new(a.family(), a.addr_bytes())
}

/// The payload of a path directory.
pub(crate) struct PathFiles {
    path: Arc<Path>,
}

/// `hca_name`.
const HCA_NAME: u64 = 0;
/// `hca_port`.
const HCA_PORT: u64 = 1;
/// `src_addr`.
const SRC_ADDR: u64 = 2;
/// `dst_addr`.
const DST_ADDR: u64 = 3;
/// `state`.
const STATE: u64 = 4;
/// `cur_latency`.
const CUR_LATENCY: u64 = 5;
/// `disconnect`.
const DISCONNECT: u64 = 6;

#[vtable]
impl AttributeOperations<DISCONNECT> for PathFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        page.write_bytes(b"Usage: echo 1 > disconnect\n")
    }

    /// Closes the path (CLOSED, no automatic reconnect) and waits until it is.
    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        if input.strip_suffix(b"\n").unwrap_or(input) != b"1" {
            pr_err!(
                "{}: unknown value: '{}'\n",
                "disconnect",
                core::str::from_utf8(trim(input)).unwrap_or("?")
            );
            return Err(EINVAL);
        }
        Path::cancel_recovery(&self.path);
        Path::stop(&self.path);
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<HCA_NAME> for PathFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        page.write_bytes(&self.path.hca_name)?;
        page.write_bytes(b"\n")
    }
}

#[vtable]
impl AttributeOperations<HCA_PORT> for PathFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        writeln!(page, "{}", self.path.hca_port)?;
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<SRC_ADDR> for PathFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        writeln!(page, "{}", addr_text(&self.path.src))?;
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<DST_ADDR> for PathFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        writeln!(page, "{}", addr_text(&self.path.dst))?;
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<STATE> for PathFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        let s = self.path.state();
        page.write_bytes(if s == State::Connected {
            b"connected\n"
        } else {
            b"disconnected\n"
        })
    }
}

#[vtable]
impl AttributeOperations<CUR_LATENCY> for PathFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        writeln!(page, "{} ns", self.path.cur_latency.load(Ordering::Relaxed))?;
        Ok(())
    }
}

impl Attributes for PathFiles {
    const ATTRIBUTES: &'static [Attribute<Self>] = &[
        Attribute::new::<HCA_NAME>(kernel::c_str!("hca_name"), 0o444),
        Attribute::new::<HCA_PORT>(kernel::c_str!("hca_port"), 0o444),
        Attribute::new::<SRC_ADDR>(kernel::c_str!("src_addr"), 0o444),
        Attribute::new::<DST_ADDR>(kernel::c_str!("dst_addr"), 0o444),
        Attribute::new::<STATE>(kernel::c_str!("state"), 0o444),
        Attribute::new::<CUR_LATENCY>(kernel::c_str!("cur_latency"), 0o444),
        Attribute::new::<DISCONNECT>(kernel::c_str!("disconnect"), 0o644),
    ];
}

/// The payload of `stats/` (§2.4).
pub(crate) struct StatsFiles {
    stats: Arc<Stats>,
}

/// `cpu_migration_from`.
const MIGR_FROM: u64 = 0;
/// `cpu_migration_to`.
const MIGR_TO: u64 = 1;
/// `reconnects`.
const RECONNECTS: u64 = 2;
/// `rdma`.
const RDMA: u64 = 3;
/// `reset_all`.
const RESET_ALL: u64 = 4;

/// The common write rule of the statistics: `1` resets, anything else is `EINVAL`.
fn reset_request(input: &[u8]) -> Result {
    if input.strip_suffix(b"\n").unwrap_or(input) == b"1" {
        Ok(())
    } else {
        Err(EINVAL)
    }
}

/// Writes `"%d "` per CPU, then a newline.
fn show_migrations(page: &mut Page<'_>, v: impl Iterator<Item = i32>) -> Result {
    for n in v {
        write!(page, "{} ", n)?;
    }
    page.write_bytes(b"\n")
}

#[vtable]
impl AttributeOperations<MIGR_FROM> for StatsFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        show_migrations(page, self.stats.migrations(true))
    }

    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        reset_request(input)?;
        self.stats.reset_migrations();
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<MIGR_TO> for StatsFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        show_migrations(page, self.stats.migrations(false))
    }

    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        reset_request(input)?;
        self.stats.reset_migrations();
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<RECONNECTS> for StatsFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        let (ok, failed) = self.stats.reconnects();
        writeln!(page, "{} {}", ok, failed)?;
        Ok(())
    }

    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        reset_request(input)?;
        self.stats.reset_reconnects();
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<RDMA> for StatsFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        let r = self.stats.rdma();
        writeln!(
            page,
            "{} {} {} {} {} {}",
            r.read_cnt,
            r.read_bytes,
            r.write_cnt,
            r.write_bytes,
            self.stats.inflight.load(Ordering::Relaxed).max(0),
            self.stats.failovers()
        )?;
        Ok(())
    }

    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        reset_request(input)?;
        self.stats.reset_rdma();
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<RESET_ALL> for StatsFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        page.write_bytes(b"echo 1 to reset all statistics\n")
    }

    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        reset_request(input)?;
        self.stats.reset_all();
        Ok(())
    }
}

impl Attributes for StatsFiles {
    const ATTRIBUTES: &'static [Attribute<Self>] = &[
        Attribute::new::<MIGR_FROM>(kernel::c_str!("cpu_migration_from"), 0o644),
        Attribute::new::<MIGR_TO>(kernel::c_str!("cpu_migration_to"), 0o644),
        Attribute::new::<RECONNECTS>(kernel::c_str!("reconnects"), 0o644),
        Attribute::new::<RDMA>(kernel::c_str!("rdma"), 0o644),
        Attribute::new::<RESET_ALL>(kernel::c_str!("reset_all"), 0o644),
    ];
}

/// A path's directory and its `stats/`; children first (drop order).
struct PathDir {
    _stats: Kobject<StatsFiles>,
    _dir: Kobject<PathFiles>,
}

/// A session's device in the class with its `paths/` directory; removed when dropped.
///
/// Field order is drop order: children before their parents.
pub(crate) struct SessDev {
    _path_dirs: KVec<PathDir>,
    _paths: Kobject<()>,
    _dev: Device<SessFiles>,
}

impl SessDev {
    /// Creates `/sys/class/rtrs-client/<sessname>` with a directory per path.
    pub(crate) fn new(sess: &Arc<Sess>) -> Result<Self> {
        let class = CLASS.get().ok_or(ENODEV)?;
        let name = core::str::from_utf8(&sess.name).map_err(|_| EINVAL)?;
        let files = Arc::new(SessFiles { sess: sess.clone() }, GFP_KERNEL)?;
        let dev = Device::new(&class, kernel::fmt!("{}", name), files)?;
        let paths = Kobject::new_dir(dev.kobject(), kernel::fmt!("paths"))?;
        let mut path_dirs = KVec::new();
        for p in sess.paths() {
            let files = Arc::new(PathFiles { path: p.clone() }, GFP_KERNEL)?;
            let mut dir = Kobject::new(
                paths.kobject(),
                kernel::fmt!("{}@{}", addr_text(&p.src), addr_text(&p.dst)),
                files,
            )?;
            let sfiles = Arc::new(
                StatsFiles {
                    stats: p.stats.clone(),
                },
                GFP_KERNEL,
            )?;
            let mut stats = Kobject::new(dir.kobject(), kernel::fmt!("stats"), sfiles)?;
            dir.announce()?;
            stats.announce()?;
            path_dirs.push(
                PathDir {
                    _stats: stats,
                    _dir: dir,
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self {
            _path_dirs: path_dirs,
            _paths: paths,
            _dev: dev,
        })
    }
}
