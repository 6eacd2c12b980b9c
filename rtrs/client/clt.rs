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

use crate::cpu;
use crate::errno;
use crate::mp_policy::Policy;
use crate::path::{Path, PathSetup};
use crate::permit;
use crate::rdma::cm::SockAddr;
use crate::req::Req;
use crate::sync::OwnedQueue;
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
    /// Reconnect delay in seconds.
    pub(crate) reconnect_delay_sec: u8,
    /// -1: forever, 0: never, N: N attempts.
    pub(crate) max_reconnect_attempts: i16,
    /// Poll queues (connections with direct CQs).
    pub(crate) nr_poll_queues: u32,
    /// The module's workqueue.
    pub(crate) wq: Arc<OwnedQueue>,
}

/// A client session.
#[pin_data]
pub(crate) struct Sess {
    /// Session name.
    pub(crate) name: KVec<u8>,
    /// The session's UUID (`paths_uuid`).
    pub(crate) uuid: [u8; 16],
    /// Chunks and permits.
    pub(crate) queue_depth: u32,
    /// Smallest `max_io_size` of the paths.
    pub(crate) max_io_size: u32,
    /// Segments per request (pages per MR).
    pub(crate) max_segments: u32,
    /// Reconnect delay in seconds (reported; automatic reconnect is not implemented).
    pub(crate) reconnect_delay_sec: u8,
    /// `max_reconnect_attempts` (sysfs).
    pub(crate) max_reconnect_attempts: AtomicI32,
    /// Multipath policy (sysfs).
    pub(crate) mp_policy: AtomicU32,
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
    /// The paths; fixed after open (adding and removing paths is not implemented).
    paths: Paths,
    /// Round-robin cursor over the paths.
    rr: AtomicU32,
}

impl Sess {
    /// Opens a session: connects every path in turn; fails if none connects (§4.2).
    pub(crate) fn open(args: &OpenArgs<'_>) -> Result<Arc<Self>> {
        if args.paths.is_empty() || args.sessname.is_empty() || args.sessname.len() >= 255 {
            return Err(EINVAL);
        }
        let uuid = cpu::uuid_gen();
        let nr_cpus = cpu::nr_cpu_ids();
        let mut paths = Paths(KVec::with_capacity(args.paths.len(), GFP_KERNEL)?);
        let mut last_err = errno!(ECONNRESET);
        for (src, dst) in args.paths.iter() {
            let setup = PathSetup {
                sessname: args.sessname,
                paths_uuid: uuid,
                uuid: cpu::uuid_gen(),
                src: src.as_ref(),
                dst,
                nr_cpus,
                nr_poll_queues: args.nr_poll_queues,
                first_conn: paths.0.is_empty(),
                recon_cnt: 1,
                wq: &args.wq,
            };
            match Path::connect(&setup) {
                Ok(p) => {
                    if let Some(first) = paths.0.first() {
                        if first.acc.queue_depth != p.acc.queue_depth {
                            pr_err!("paths of one session differ in queue depth\n");
                            Path::stop(&p);
                            continue;
                        }
                    }
                    if let Err(e) = paths.0.push(p.clone(), GFP_KERNEL) {
                        Path::stop(&p);
                        return Err(e.into());
                    }
                }
                Err(e) => {
                    pr_err!("connecting a path failed: {:?}\n", e);
                    last_err = e;
                }
            }
        }
        let Some(first) = paths.0.first() else {
            return Err(last_err);
        };
        let queue_depth = u32::from(first.acc.queue_depth);
        let max_io_size = paths.0.iter().map(|p| p.acc.max_io_size).min().unwrap_or(0);
        let max_segments = paths
            .0
            .iter()
            .map(|p| p.max_pages_per_mr)
            .min()
            .unwrap_or(0);
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
        let mut name = KVec::with_capacity(args.sessname.len(), GFP_KERNEL)?;
        name.extend_from_slice(args.sessname, GFP_KERNEL)?;
        Arc::pin_init(
            pin_init!(Self {
                name,
                uuid,
                queue_depth,
                max_io_size,
                max_segments,
                reconnect_delay_sec: args.reconnect_delay_sec,
                max_reconnect_attempts: AtomicI32::new(args.max_reconnect_attempts.into()),
                mp_policy: AtomicU32::new(Policy::MinInflight as u32),
                permits_map,
                permits,
                waiters: AtomicUsize::new(0),
                permit_lock <- new_mutex!(()),
                permit_wait <- new_condvar!(),
                paths,
                rr: AtomicU32::new(0),
            }),
            GFP_KERNEL,
        )
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
    fn cid_of(&self, p: &Permit, irq_con_num: u16) -> u16 {
        if p.con_type.load(Ordering::Relaxed) == ConType::Io as u32 {
            let n = u32::from(irq_con_num).saturating_sub(1).max(1);
            // CAST: Below `irq_con_num`, a `u16`.
            (p.cpu_id.load(Ordering::Relaxed) % n + 1) as u16
        } else {
            0
        }
    }

    /// Picks a connected path: round robin under that policy, else the first connected one.
    fn pick(&self) -> Option<&Arc<Path>> {
        let n = self.paths.0.len();
        let start = if self.mp_policy.load(Ordering::Relaxed) == Policy::RoundRobin as u32 {
            self.rr.fetch_add(1, Ordering::Relaxed) as usize
        } else {
            0
        };
        (0..n)
            .map(|i| &self.paths.0[(start + i) % n])
            .find(|p| p.connected())
    }

    /// `rtrs_clt_request`: sends a request with permit `p` on a connected path chosen by
    /// the policy. `ECONNABORTED` with no connected path.
    pub(crate) fn request(&self, p: &Permit, io: Req<'_>) -> Result {
        let path = self.pick().ok_or(errno!(ECONNABORTED))?;
        let cid = self.cid_of(p, path.irq_con_num);
        let mi = self.mp_policy.load(Ordering::Relaxed) == Policy::MinInflight as u32;
        Path::request(path, cid, p.mem_id, io, mi)
    }

    /// `rtrs_clt_rdma_cq_direct`: polls poll queue `index` of the connected paths until one
    /// has completions; -1 without a connected path.
    pub(crate) fn poll(&self, index: u32) -> i32 {
        let mut cnt = -1;
        for path in self.paths.0.iter().filter(|p| p.connected()) {
            // CAST: A count of completions, far below `i32::MAX`.
            cnt = path.poll(index).map_or_else(|e| e.to_errno(), |n| n as i32);
            if cnt != 0 {
                break;
            }
        }
        cnt
    }

    /// Stops every path: in-flight requests complete with an error.
    pub(crate) fn close(&self) {
        for p in self.paths.0.iter() {
            Path::cancel_recovery(p);
            Path::stop(p);
        }
    }

    /// The paths.
    pub(crate) fn paths(&self) -> &[Arc<Path>] {
        &self.paths.0
    }
}

/// The paths of a session. Stops them when dropped: the receives posted on a path hold a
/// reference to it, which only stopping gives back.
struct Paths(KVec<Arc<Path>>);

impl Drop for Paths {
    fn drop(&mut self) {
        for p in self.0.iter() {
            Path::cancel_recovery(p);
            Path::stop(p);
        }
    }
}
