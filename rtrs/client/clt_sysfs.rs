// SPDX-License-Identifier: GPL-2.0-or-later

//! The session directory `/sys/class/rtrs-client/<sessname>/` (sysfs-abi §2.1, with
//! `add_path` §2.2) and its path directories `paths/<src>@<dst>/` (§2.3, with `reconnect`,
//! `disconnect`, `remove_path`) and their `stats/` (§2.4).
//!
//! The path directories come and go with `add_path` and `remove_path`: their handles live
//! in [`PathDirs`], shared by the session's and the paths' files. That makes a reference
//! cycle (a directory's payload reaches its own handle), which [`SessDev`]'s `Drop` breaks
//! by taking every handle out.
//!
//! C version: [drivers/infiniband/ulp/rtrs/rtrs-clt-sysfs.c](srctree/drivers/infiniband/ulp/rtrs/rtrs-clt-sysfs.c).

use crate::addr::parse_path;
use crate::addr_fmt::AddrText;
use crate::addr_sock::sock_addr;
use crate::clt::{Core, Sess};
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
use kernel::sync::{Arc, Mutex};
use kernel::{new_mutex, pin_init};

/// The class `rtrs-client`, set while the module is loaded.
pub(crate) static CLASS: GlobalArc<Class> = GlobalArc::new();

/// The module's workqueue (`rtrs_client_wq`), set while the module is loaded.
pub(crate) static WQ: GlobalArc<OwnedQueue> = GlobalArc::new();

/// The payload of a session directory.
pub(crate) struct SessFiles {
    sess: Arc<Sess>,
    dirs: Arc<PathDirs>,
}

/// The `paths/` directory of a session and the directories of its paths.
///
/// Locks: `inner` is held while a path directory is created or taken out, never while one
/// is removed (the removal waits for the directory's callbacks, which may take it).
#[pin_data]
pub(crate) struct PathDirs {
    #[pin]
    inner: Mutex<DirsInner>,
}

/// What [`PathDirs`] guards; children before their parent (drop order).
struct DirsInner {
    dirs: KVec<PathDir>,
    paths: Option<Kobject<()>>,
}

/// A path's directory and its `stats/`; children first (drop order).
struct PathDir {
    path: Arc<Path>,
    _stats: Kobject<StatsFiles>,
    _dir: Kobject<PathFiles>,
}

impl PathDirs {
    /// Creates `paths/<src>@<dst>/` with its `stats/` for `path`.
    fn add(this: &Arc<Self>, path: &Arc<Path>) -> Result {
        let mut g = this.inner.lock();
        let paths = g.paths.as_ref().ok_or(ENODEV)?;
        let files = Arc::new(
            PathFiles {
                path: path.clone(),
                dirs: this.clone(),
            },
            GFP_KERNEL,
        )?;
        let mut dir = Kobject::new(
            paths.kobject(),
            kernel::fmt!("{}@{}", addr_text(&path.src), addr_text(&path.dst)),
            files,
        )?;
        let sfiles = Arc::new(
            StatsFiles {
                stats: path.stats.clone(),
            },
            GFP_KERNEL,
        )?;
        let mut stats = Kobject::new(dir.kobject(), kernel::fmt!("stats"), sfiles)?;
        dir.announce()?;
        stats.announce()?;
        g.dirs.push(
            PathDir {
                path: path.clone(),
                _stats: stats,
                _dir: dir,
            },
            GFP_KERNEL,
        )?;
        Ok(())
    }

    /// Takes the directory of `path` out; the caller drops it without the lock.
    fn take(&self, path: &Arc<Path>) -> Option<PathDir> {
        let mut g = self.inner.lock();
        g.dirs.iter().position(|d| Arc::ptr_eq(&d.path, path))?;
        let mut keep = KVec::with_capacity(g.dirs.len(), GFP_KERNEL).ok()?;
        let mut found = None;
        for d in core::mem::take(&mut g.dirs) {
            if found.is_none() && Arc::ptr_eq(&d.path, path) {
                found = Some(d);
            } else if let Err(e) = keep.push(d, GFP_KERNEL) {
                // Within the capacity reserved above: cannot fail.
                pr_err!("keeping a path directory failed: {:?}\n", e);
            }
        }
        g.dirs = keep;
        found
    }
}

/// `add_path`.
const ADD_PATH: u64 = 2;

#[vtable]
impl AttributeOperations<ADD_PATH> for SessFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        page.write_bytes(
            b"Usage: echo [<source addr>@]<destination addr> > add_path\n\n*addr ::= [ ip:<ipv4|ipv6> | gid:<gid> ]\n",
        )
    }

    /// Connects a new path and creates its directory (`add_path_store`).
    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        let core: &Arc<Core> = &self.sess.core;
        let text = crate::recon::add_path_text(input);
        let parsed = parse_path(text, core.port).map_err(|e| {
            pr_err!(
                "add_path: invalid address '{}': {:?}\n",
                core::str::from_utf8(text).unwrap_or("?"),
                e
            );
            EINVAL
        })?;
        let src = parsed
            .src
            .as_ref()
            .map(|a| sock_addr(a, "add_path"))
            .transpose()?;
        let dst = sock_addr(&parsed.dst, "add_path")?;
        let path = Core::add_path(core, src.as_ref(), &dst)?;
        if let Err(e) = PathDirs::add(&self.dirs, &path) {
            pr_err!("add_path: creating the path directory failed: {:?}\n", e);
            drop(self.dirs.take(&path));
            let _ = core.remove_path(&path);
            return Err(e);
        }
        Ok(())
    }
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
            self.sess
                .core
                .max_reconnect_attempts
                .load(Ordering::Relaxed)
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
        self.sess
            .core
            .max_reconnect_attempts
            .store(v, Ordering::Relaxed);
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<MPATH_POLICY> for SessFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        let v = self.sess.core.mp_policy.load(Ordering::Relaxed);
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
                core::str::from_utf8(trim(input)).unwrap_or("?")
            );
            return Err(EINVAL);
        };
        self.sess.core.mp_policy.store(p as u32, Ordering::Relaxed);
        Ok(())
    }
}

impl Attributes for SessFiles {
    const ATTRIBUTES: &'static [Attribute<Self>] = &[
        Attribute::new::<MAX_RECONNECT_ATTEMPTS>(kernel::c_str!("max_reconnect_attempts"), 0o644),
        Attribute::new::<MPATH_POLICY>(kernel::c_str!("mpath_policy"), 0o644),
        Attribute::new::<ADD_PATH>(kernel::c_str!("add_path"), 0o644),
    ];
}

/// The printable form of an address.
fn addr_text(a: &SockAddr) -> AddrText {
    AddrText::new(a.family(), a.addr_bytes())
}

/// The payload of a path directory.
pub(crate) struct PathFiles {
    path: Arc<Path>,
    dirs: Arc<PathDirs>,
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
/// `reconnect`.
const RECONNECT: u64 = 7;
/// `remove_path`.
const REMOVE_PATH: u64 = 8;

/// Whether a write is `1` (`sysfs_streq(buf, "1")`); logs the C error otherwise.
fn is_one(attr: &str, input: &[u8]) -> Result {
    if input.strip_suffix(b"\n").unwrap_or(input) == b"1" {
        return Ok(());
    }
    pr_err!(
        "{}: unknown value: '{}'\n",
        attr,
        core::str::from_utf8(input).unwrap_or("?")
    );
    Err(EINVAL)
}

#[vtable]
impl AttributeOperations<RECONNECT> for PathFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        page.write_bytes(b"Usage: echo 1 > reconnect\n")
    }

    /// Reconnects at once and waits (`rtrs_clt_reconnect_from_sysfs`).
    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        is_one("reconnect", input)?;
        Path::reconnect_now(&self.path)
    }
}

#[vtable]
impl AttributeOperations<REMOVE_PATH> for PathFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        page.write_bytes(b"Usage: echo 1 > remove_path\n")
    }

    /// Closes the path, takes it out of the session and removes this directory
    /// (`rtrs_clt_remove_path_from_sysfs`).
    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        is_one("remove_path", input)?;
        if self.path.core.remove_path(&self.path)? {
            drop(self.dirs.take(&self.path));
        }
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<DISCONNECT> for PathFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        page.write_bytes(b"Usage: echo 1 > disconnect\n")
    }

    /// Closes the path (CLOSED, no automatic reconnect) and waits until it is.
    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        is_one("disconnect", input)?;
        Path::close(&self.path, true);
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
        Attribute::new::<RECONNECT>(kernel::c_str!("reconnect"), 0o644),
        Attribute::new::<DISCONNECT>(kernel::c_str!("disconnect"), 0o644),
        Attribute::new_self_removing::<REMOVE_PATH>(kernel::c_str!("remove_path"), 0o644),
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
        pr_err!(
            "stats: only 1 resets a statistic (got '{}')\n",
            core::str::from_utf8(trim(input)).unwrap_or("?")
        );
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

/// A session's device in the class with its `paths/` directory; removed when dropped.
///
/// Field order is drop order: children before their parents.
pub(crate) struct SessDev {
    dirs: Arc<PathDirs>,
    _dev: Device<SessFiles>,
}

impl SessDev {
    /// Creates `/sys/class/rtrs-client/<sessname>` with a directory per path.
    pub(crate) fn new(sess: &Arc<Sess>) -> Result<Self> {
        let class = CLASS.get().ok_or(ENODEV)?;
        let name = core::str::from_utf8(&sess.core.name).map_err(|_| EINVAL)?;
        let dirs = Arc::pin_init(
            pin_init!(PathDirs {
                inner <- new_mutex!(DirsInner {
                    dirs: KVec::new(),
                    paths: None,
                }),
            }),
            GFP_KERNEL,
        )?;
        let files = Arc::new(
            SessFiles {
                sess: sess.clone(),
                dirs: dirs.clone(),
            },
            GFP_KERNEL,
        )?;
        let dev = Device::new(&class, kernel::fmt!("{}", name), files)?;
        let this = Self { dirs, _dev: dev };
        let paths = Kobject::new_dir(this._dev.kobject(), kernel::fmt!("paths"))?;
        this.dirs.inner.lock().paths = Some(paths);
        if let Some(list) = sess.core.path_list() {
            for p in list.paths() {
                PathDirs::add(&this.dirs, p)?;
            }
        }
        Ok(this)
    }
}

impl Drop for SessDev {
    fn drop(&mut self) {
        // Take the handles out under the lock, remove the directories without it.
        let (dirs, paths) = {
            let mut g = self.dirs.inner.lock();
            (core::mem::take(&mut g.dirs), g.paths.take())
        };
        drop(dirs);
        drop(paths);
    }
}
