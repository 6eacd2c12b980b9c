// SPDX-License-Identifier: GPL-2.0-or-later

//! A client session: its paths, the permits and the policy that picks a path
//! (`struct rtrs_clt_sess`).
//!
//! C version: [drivers/infiniband/ulp/rtrs/rtrs-clt.c](srctree/drivers/infiniband/ulp/rtrs/rtrs-clt.c)
//! (`rtrs_clt_open`, `rtrs_clt_close`, `rtrs_clt_get_permit`, `rtrs_clt_put_permit`,
//! `rtrs_clt_request`, `rtrs_clt_query`).
//!
//! Glossary: permit: the right to use one server chunk (buf_id) for one request; QD: queue
//! depth, the number of chunks and permits.
//!
//! Locks: `permit_lock` is only taken by tasks waiting for a permit (process context).
//!
//! The IO path takes no lock and allocates nothing: a request reads the path list
//! ([`PathList`], an immutable array published through an RCU slot) and the chosen path's
//! connections inside one RCU read-side section, picks a path with the policy from live
//! per-path counters ([`PathIter`]), and posts. Adding or removing a path (process
//! context, under `paths_lock`) publishes a new list and waits for a grace period before
//! the old one goes; tearing a path down waits likewise before its connections are
//! flushed, so no request is ever posted on connections being destroyed.

use crate::cpu;
use crate::errno;
use crate::ffi_api::LinkEv;
use crate::mp_policy::{PathIter, Policy, MAX_PATHS};
use crate::path::Path;
use crate::permit;
use crate::rdma::cm::SockAddr;
use crate::req::{Failed, Req};
use crate::sync::{msleep, OwnedQueue, RcuArc};
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use kernel::prelude::*;
use kernel::sync::{Arc, CondVar, Mutex};
use kernel::time::msecs_to_jiffies;
use kernel::{new_condvar, new_mutex, pin_init};

/// Longest sleep of a permit waiter before it looks again, in milliseconds.
const PERMIT_WAIT_MS: u32 = 10;

/// Which connection a permit's request goes on (`enum rtrs_clt_con_type`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ConType {
    /// The service connection, cid 0.
    Admin = 0,
    /// The connection of the CPU that took the permit.
    Io = 1,
}

/// A permit as the user holds it (`struct rtrs_permit`): stable memory, one per chunk.
pub(crate) struct Permit {
    /// Index = buf_id.
    pub(crate) mem_id: u32,
    /// CPU that took the permit.
    cpu_id: AtomicU32,
    /// [`ConType`] as a number.
    con_type: AtomicU32,
}

/// The user's parameters of `rtrs_clt_open`.
pub(crate) struct OpenArgs<'a> {
    /// Session name (NUL-free, at most 255 bytes).
    pub(crate) sessname: &'a [u8],
    /// Source and destination of each path.
    pub(crate) paths: &'a [(Option<SockAddr>, SockAddr)],
    /// Port of the server, for `add_path`.
    pub(crate) port: u16,
    /// Reconnect delay in seconds.
    pub(crate) reconnect_delay_sec: u8,
    /// -1: forever, 0: never, N: N attempts.
    pub(crate) max_reconnect_attempts: i16,
    /// Poll queues (connections with direct CQs).
    pub(crate) nr_poll_queues: u32,
    /// The module's workqueue.
    pub(crate) wq: Arc<OwnedQueue>,
    /// The user's session event callback.
    pub(crate) link_ev: Option<LinkEv>,
}

/// The paths of a session, as one immutable list: adding or removing a path publishes a
/// new list.
pub(crate) struct PathList(KVec<Arc<Path>>);

impl PathList {
    /// The paths.
    pub(crate) fn paths(&self) -> &[Arc<Path>] {
        &self.0
    }
}

/// What the paths of a session share (`struct rtrs_clt_sess` without the permits): the
/// configuration, the path list and the multipath policy.
///
/// The paths hold an `Arc<Core>` and the list holds the paths: [`Core::close`] breaks that
/// cycle by emptying the list.
///
/// Locks: `paths_lock` serialises changes of the path list (add, remove, close); IO reads
/// the list under RCU without a lock.
#[pin_data]
pub(crate) struct Core {
    /// Session name.
    pub(crate) name: KVec<u8>,
    /// The session's UUID (`paths_uuid`).
    pub(crate) uuid: [u8; 16],
    /// Port of the server.
    pub(crate) port: u16,
    /// Reconnect delay in seconds.
    pub(crate) reconnect_delay_sec: u8,
    /// `max_reconnect_attempts` (sysfs).
    pub(crate) max_reconnect_attempts: AtomicI32,
    /// Multipath policy (sysfs).
    pub(crate) mp_policy: AtomicU32,
    /// `nr_cpu_ids`.
    pub(crate) nr_cpus: u32,
    /// Poll queues of the user.
    pub(crate) nr_poll_queues: u32,
    /// The module's workqueue.
    pub(crate) wq: Arc<OwnedQueue>,
    /// Queue depth of the session (0 until the first path connected).
    queue_depth: AtomicU32,
    /// The user's session event callback.
    link_ev: Option<LinkEv>,
    /// Connected paths, and whether `rtrs_clt_open` finished (`paths_up`,
    /// `paths_ev_mutex`): events are sent only after it did.
    #[pin]
    paths_up: Mutex<(usize, bool)>,
    /// The current path list.
    paths: RcuArc<PathList>,
    /// Serialises changes of `paths`.
    #[pin]
    paths_lock: Mutex<bool>,
    /// Per-CPU round-robin cursor: the index of the path a CPU used last, or `usize::MAX`.
    rr: KVec<AtomicUsize>,
}

/// No path used yet by a CPU under round-robin.
const RR_NONE: usize = usize::MAX;

impl Core {
    /// The current policy.
    fn policy(&self) -> Policy {
        match self.mp_policy.load(Ordering::Relaxed) {
            0 => Policy::RoundRobin,
            2 => Policy::MinLatency,
            _ => Policy::MinInflight,
        }
    }

    /// Sends request `io` with chunk `buf_id` on connection `cid` of a connected path
    /// chosen by the policy, trying the next one while posting fails (`rtrs_clt_request`,
    /// `rtrs_clt_failover_req`); `failover` counts it on the path that took it. No lock,
    /// no allocation: the list is read under RCU.
    pub(crate) fn send(
        &self,
        cid: u16,
        buf_id: u32,
        io: Req<'_>,
        failover: bool,
    ) -> Result<(), Failed> {
        let Req {
            dir,
            conf,
            usr,
            data_len,
            sg,
        } = io;
        let mut left = (conf, sg);
        let policy = self.policy();
        let mi = policy == Policy::MinInflight;
        let slot = self.rr.get(cpu::current_id() as usize);
        self.paths.read(|list| {
            let mut err = errno!(ECONNABORTED);
            if let Some(list) = list {
                let paths = list.paths();
                let mut cursor = slot
                    .map(|c| c.load(Ordering::Relaxed))
                    .filter(|c| *c != RR_NONE);
                let mut it = PathIter::default();
                while let Some(i) = it.next(policy, paths.len(), |i| paths[i].view(), &mut cursor) {
                    let io = Req {
                        dir,
                        conf: left.0,
                        usr,
                        data_len,
                        sg: left.1,
                    };
                    match paths[i].request(cid, buf_id, io, mi) {
                        Ok(()) => {
                            if let (Some(slot), Some(c)) = (slot, cursor) {
                                slot.store(c, Ordering::Relaxed);
                            }
                            if failover {
                                paths[i].failed_over();
                            }
                            return Ok(());
                        }
                        Err(f) => {
                            left = (f.conf, f.sg);
                            err = f.err;
                            if err == errno!(EMSGSIZE) {
                                break;
                            }
                        }
                    }
                }
                if let (Some(slot), Some(c)) = (slot, cursor) {
                    slot.store(c, Ordering::Relaxed);
                }
            }
            Err(Failed {
                err,
                conf: left.0,
                sg: left.1,
            })
        })
    }

    /// `rtrs_clt_rdma_cq_direct`: polls poll queue `index` of the connected paths until one
    /// has completions; -1 without a connected path.
    pub(crate) fn poll(&self, index: u32) -> i32 {
        self.paths.read(|list| {
            let mut cnt = -1;
            for path in list.map_or(&[][..], |l| l.paths()) {
                if !path.connected() {
                    continue;
                }
                // CAST: A count of completions, far below `i32::MAX`.
                cnt = path.poll(index).map_or_else(|e| e.to_errno(), |n| n as i32);
                if cnt != 0 {
                    break;
                }
            }
            cnt
        })
    }

    /// Whether a path is connected.
    pub(crate) fn any_connected(&self) -> bool {
        self.paths
            .read(|list| list.is_some_and(|l| l.paths().iter().any(|p| p.connected())))
    }

    /// The current path list.
    pub(crate) fn path_list(&self) -> Option<Arc<PathList>> {
        self.paths.get()
    }

    /// Connects a new path and publishes it in the list (`rtrs_clt_create_path_from_sysfs`
    /// and `rtrs_clt_open`). `EINVAL` if the server's queue depth differs from the session's
    /// or the session has `MAX_PATHS` paths.
    pub(crate) fn add_path(
        this: &Arc<Self>,
        src: Option<&SockAddr>,
        dst: &SockAddr,
    ) -> Result<Arc<Path>> {
        let closed = this.paths_lock.lock();
        if *closed {
            return Err(ENODEV);
        }
        let old = this.paths.get();
        let n = old.as_ref().map_or(0, |l| l.0.len());
        if n >= MAX_PATHS {
            pr_err!(
                "<{}>: too many paths: {}\n",
                kernel::str::BStr::from_bytes(&this.name),
                n
            );
            return Err(EINVAL);
        }
        let mut list = KVec::with_capacity(n + 1, GFP_KERNEL)?;
        for p in old.as_ref().map_or(&[][..], |l| l.paths()) {
            list.push(p.clone(), GFP_KERNEL)?;
        }
        let path = Path::create(this, src, dst, n == 0)?;
        let qd = u32::from(path.queue_depth());
        let want = this.queue_depth.load(Ordering::Relaxed);
        if want != 0 && want != qd {
            pr_err!(
                "<{}>: paths of one session differ in queue depth: {} != {}\n",
                kernel::str::BStr::from_bytes(&this.name),
                qd,
                want
            );
            Path::kill(&path);
            return Err(EINVAL);
        }
        let published = list
            .push(path.clone(), GFP_KERNEL)
            .map_err(Error::from)
            .and_then(|()| Ok(Arc::new(PathList(list), GFP_KERNEL)?));
        match published {
            Ok(l) => {
                this.queue_depth.store(qd, Ordering::Relaxed);
                drop(this.paths.replace(Some(l)));
                Path::announce(&path);
                drop(closed);
                Ok(path)
            }
            Err(e) => {
                Path::kill(&path);
                Err(e)
            }
        }
    }

    /// Closes `path` for good and takes it out of the list (`remove_path`). Returns
    /// `false` if it was removed by someone else already.
    pub(crate) fn remove_path(&self, path: &Arc<Path>) -> Result<bool> {
        if !Path::kill(path) {
            return Ok(false);
        }
        let _g = self.paths_lock.lock();
        let Some(old) = self.paths.get() else {
            return Ok(true);
        };
        let mut list = KVec::with_capacity(old.0.len(), GFP_KERNEL)?;
        for p in old.paths().iter().filter(|p| !Arc::ptr_eq(p, path)) {
            list.push(p.clone(), GFP_KERNEL)?;
        }
        drop(
            self.paths
                .replace(Some(Arc::new(PathList(list), GFP_KERNEL)?)),
        );
        Ok(true)
    }

    /// A path came up (`rtrs_clt_path_up`): the first one after all were down tells the
    /// user the session is reconnected.
    pub(crate) fn path_up(&self) {
        let mut g = self.paths_up.lock();
        g.0 += 1;
        if g.0 == 1 && g.1 {
            if let Some(ev) = &self.link_ev {
                ev.notify(true);
            }
        }
    }

    /// A path that was up went down (`rtrs_clt_path_down`): the last one tells the user
    /// the session is disconnected.
    pub(crate) fn path_down(&self) {
        let mut g = self.paths_up.lock();
        g.0 = g.0.saturating_sub(1);
        if g.0 == 0 && g.1 {
            if let Some(ev) = &self.link_ev {
                ev.notify(false);
            }
        }
    }

    /// Closes every path (requests in flight complete with an error) and empties the list.
    pub(crate) fn close(&self) {
        let mut closed = self.paths_lock.lock();
        *closed = true;
        if let Some(list) = self.paths.get() {
            for p in list.paths() {
                Path::kill(p);
            }
        }
        drop(self.paths.replace(None));
    }
}

/// A client session as the user holds it: the paths' [`Core`] and the permits.
#[pin_data]
pub(crate) struct Sess {
    /// What the paths share.
    pub(crate) core: Arc<Core>,
    /// Chunks and permits.
    pub(crate) queue_depth: u32,
    /// Smallest `max_io_size` of the paths.
    pub(crate) max_io_size: u32,
    /// Segments per request (pages per MR).
    pub(crate) max_segments: u32,
    /// Permit bitmap.
    permits_map: KVec<AtomicU64>,
    /// Permit objects handed out to the user.
    permits: KVec<Permit>,
    /// Tasks sleeping in `get_permit`.
    waiters: AtomicUsize,
    /// Guards the sleep of permit waiters.
    #[pin]
    permit_lock: Mutex<()>,
    /// Woken when a permit is returned while someone waits.
    #[pin]
    permit_wait: CondVar,
}

impl Sess {
    /// Opens a session: connects every path in turn; fails if one does not (§4.2).
    pub(crate) fn open(args: &mut OpenArgs<'_>) -> Result<Arc<Self>> {
        if args.paths.is_empty() || args.sessname.is_empty() || args.sessname.len() >= 255 {
            return Err(EINVAL);
        }
        // The name becomes a sysfs directory (and C refuses these before connecting too).
        if args.sessname.iter().any(|&c| c == b'/' || c == b'.') {
            pr_err!("pathname cannot contain / and .\n");
            return Err(EINVAL);
        }
        let nr_cpus = cpu::nr_cpu_ids();
        let link_ev = args.link_ev.take();
        let (port, delay, max_attempts, nr_poll_queues, wq) = (
            args.port,
            args.reconnect_delay_sec,
            args.max_reconnect_attempts,
            args.nr_poll_queues,
            args.wq.clone(),
        );
        let mut name = KVec::with_capacity(args.sessname.len(), GFP_KERNEL)?;
        name.extend_from_slice(args.sessname, GFP_KERNEL)?;
        let mut rr = KVec::with_capacity(nr_cpus as usize, GFP_KERNEL)?;
        for _ in 0..nr_cpus {
            rr.push(AtomicUsize::new(RR_NONE), GFP_KERNEL)?;
        }
        let core = Arc::pin_init(
            pin_init!(Core {
                name,
                uuid: cpu::uuid_gen(),
                port,
                reconnect_delay_sec: delay,
                max_reconnect_attempts: AtomicI32::new(max_attempts.into()),
                mp_policy: AtomicU32::new(Policy::MinInflight as u32),
                nr_cpus,
                nr_poll_queues,
                wq,
                queue_depth: AtomicU32::new(0),
                link_ev,
                paths_up <- new_mutex!((0, false)),
                paths: RcuArc::new(None),
                paths_lock <- new_mutex!(false),
                rr,
            }),
            GFP_KERNEL,
        )?;
        // As C: the session opens only if every path connects.
        for (src, dst) in args.paths.iter() {
            if let Err(e) = Core::add_path(&core, src.as_ref(), dst) {
                pr_err!(
                    "<{}>: connecting a path failed: {:?}\n",
                    kernel::str::BStr::from_bytes(&core.name),
                    e
                );
                core.close();
                return Err(e);
            }
        }
        let paths = core.path_list();
        let paths = paths.as_ref().map_or(&[][..], |l| l.paths());
        if paths.is_empty() {
            core.close();
            return Err(errno!(ECONNRESET));
        }
        core.paths_up.lock().1 = true;
        let queue_depth = core.queue_depth.load(Ordering::Relaxed);
        let max_io_size = paths.iter().map(|p| p.max_io_size()).min().unwrap_or(0);
        let max_segments = paths
            .iter()
            .map(|p| p.max_pages_per_mr())
            .min()
            .unwrap_or(0);
        let core2 = core.clone();
        let init = move || -> Result<Arc<Self>> {
            let qd = queue_depth as usize;
            let mut permits_map = KVec::with_capacity(permit::words_for(qd), GFP_KERNEL)?;
            for _ in 0..permit::words_for(qd) {
                permits_map.push(AtomicU64::new(0), GFP_KERNEL)?;
            }
            let mut permits = KVec::with_capacity(qd, GFP_KERNEL)?;
            for i in 0..queue_depth {
                permits.push(
                    Permit {
                        mem_id: i,
                        cpu_id: AtomicU32::new(0),
                        con_type: AtomicU32::new(0),
                    },
                    GFP_KERNEL,
                )?;
            }
            Arc::pin_init(
                pin_init!(Self {
                    core: core2,
                    queue_depth,
                    max_io_size,
                    max_segments,
                    permits_map,
                    permits,
                    waiters: AtomicUsize::new(0),
                    permit_lock <- new_mutex!(()),
                    permit_wait <- new_condvar!(),
                }),
                GFP_KERNEL,
            )
        };
        init().inspect_err(|_| core.close())
    }

    /// Takes a free permit, or `None` (`__rtrs_get_permit`).
    fn try_permit(&self, con_type: ConType) -> Option<&Permit> {
        let bit = permit::try_get(&self.permits_map, self.queue_depth as usize)?;
        let p = self.permits.get(bit)?;
        p.cpu_id.store(cpu::current_id(), Ordering::Relaxed);
        p.con_type.store(con_type as u32, Ordering::Relaxed);
        Some(p)
    }

    /// `rtrs_clt_get_permit`: a permit, sleeping for one if `wait`.
    pub(crate) fn get_permit(&self, con_type: ConType, wait: bool) -> Option<&Permit> {
        if let Some(p) = self.try_permit(con_type) {
            return Some(p);
        }
        if !wait {
            return None;
        }
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let mut g = self.permit_lock.lock();
        let p = loop {
            if let Some(p) = self.try_permit(con_type) {
                break p;
            }
            // `put_permit` wakes without the mutex (it may run in softirq), so a wake-up can
            // come between the test above and the sleep: sleep in short steps.
            let _ = self
                .permit_wait
                .wait_interruptible_timeout(&mut g, msecs_to_jiffies(PERMIT_WAIT_MS));
        };
        drop(g);
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        Some(p)
    }

    /// Waits until every permit is back (C `free_permits`), uninterruptibly, printing a
    /// line every 10 s while some are out. Process context.
    pub(crate) fn wait_permits(&self) {
        let mut waited_ms = 0u32;
        while self
            .permits_map
            .iter()
            .any(|w| w.load(Ordering::Acquire) != 0)
        {
            if waited_ms > 0 && waited_ms % 10_000 == 0 {
                pr_info!(
                    "<{}>: waiting for the user to put its permits back\n",
                    kernel::str::BStr::from_bytes(&self.core.name)
                );
            }
            msleep(PERMIT_WAIT_MS);
            waited_ms = waited_ms.wrapping_add(PERMIT_WAIT_MS);
        }
    }

    /// `rtrs_clt_put_permit`.
    pub(crate) fn put_permit(&self, p: &Permit) {
        if !permit::put(&self.permits_map, p.mem_id as usize) {
            pr_warn!("permit {} put twice\n", p.mem_id);
            return;
        }
        core::sync::atomic::fence(Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) != 0 {
            self.permit_wait.notify_all();
        }
    }

    /// The permit with index `i`.
    pub(crate) fn permit(&self, i: usize) -> Option<&Permit> {
        self.permits.get(i)
    }

    /// The connection a permit's request uses (`rtrs_permit_to_clt_con`).
    fn cid_of(&self, p: &Permit) -> u16 {
        if p.con_type.load(Ordering::Relaxed) == ConType::Io as u32 {
            let n = self.core.nr_cpus.max(1);
            // CAST: Below `nr_cpus + 1`, which fits `u16` (checked when connecting).
            (p.cpu_id.load(Ordering::Relaxed) % n + 1) as u16
        } else {
            0
        }
    }

    /// `rtrs_clt_request`: sends a request with permit `p` on a connected path chosen by
    /// the policy. `ECONNABORTED` with no connected path.
    pub(crate) fn request(&self, p: &Permit, io: Req<'_>) -> Result {
        self.core
            .send(self.cid_of(p), p.mem_id, io, false)
            .map_err(Error::from)
    }

    /// Stops every path: in-flight requests complete with an error.
    pub(crate) fn close(&self) {
        self.core.close();
    }
}
