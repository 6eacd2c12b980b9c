// SPDX-License-Identifier: GPL-2.0-or-later

//! Per-path statistics (`struct rtrs_clt_stats`), shown in `paths/<path>/stats/`.
//!
//! C version: [drivers/infiniband/ulp/rtrs/rtrs-clt-stats.c](srctree/drivers/infiniband/ulp/rtrs/rtrs-clt-stats.c).
//!
//! Counters a CPU bumps on the IO path live in that CPU's slot (indexed by the CPU id), so
//! CPUs do not share cache lines for them; readers add the slots up.

use crate::cpu;
use core::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::sync::Arc;

/// The counters of one CPU.
#[derive(Default)]
struct CpuStats {
    read_cnt: AtomicU64,
    read_bytes: AtomicU64,
    write_cnt: AtomicU64,
    write_bytes: AtomicU64,
    /// Completions expected on this CPU but processed elsewhere.
    migration_from: AtomicI32,
    /// Completions processed on this CPU although expected elsewhere.
    migration_to: AtomicI32,
}

/// The statistics of one path.
pub(crate) struct Stats {
    cpus: KVec<CpuStats>,
    /// Requests in flight (maintained under the min-inflight policy).
    pub(crate) inflight: AtomicI32,
    /// Requests failed over to another path.
    failover_cnt: AtomicU64,
    /// Successful path-ups (starts at -1: the first connect makes it 0).
    reconnects: AtomicI32,
    /// Failed reconnect attempts.
    fail_reconnects: AtomicI32,
}

/// Sums of the per-CPU IO counters.
pub(crate) struct RdmaSums {
    /// READ requests.
    pub(crate) read_cnt: u64,
    /// READ bytes (user message included).
    pub(crate) read_bytes: u64,
    /// WRITE requests.
    pub(crate) write_cnt: u64,
    /// WRITE bytes (user message included).
    pub(crate) write_bytes: u64,
}

impl Stats {
    /// Zeroed statistics for `nr_cpus` CPUs.
    pub(crate) fn new(nr_cpus: u32) -> Result<Arc<Self>> {
        let mut cpus = KVec::with_capacity(nr_cpus as usize, GFP_KERNEL)?;
        for _ in 0..nr_cpus {
            cpus.push(CpuStats::default(), GFP_KERNEL)?;
        }
        Ok(Arc::new(
            Self {
                cpus,
                inflight: AtomicI32::new(0),
                failover_cnt: AtomicU64::new(0),
                reconnects: AtomicI32::new(-1),
                fail_reconnects: AtomicI32::new(0),
            },
            GFP_KERNEL,
        )?)
    }

    /// The current CPU's slot.
    fn this_cpu(&self) -> Option<&CpuStats> {
        self.cpus.get(cpu::current_id() as usize)
    }

    /// A request of `bytes` was sent (`rtrs_clt_update_rdma_stats`).
    pub(crate) fn request(&self, write: bool, bytes: u64) {
        if let Some(s) = self.this_cpu() {
            let (cnt, b) = if write {
                (&s.write_cnt, &s.write_bytes)
            } else {
                (&s.read_cnt, &s.read_bytes)
            };
            cnt.fetch_add(1, Ordering::Relaxed);
            b.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// A completion expected on `expected` ran on the current CPU
    /// (`rtrs_clt_update_wc_stats`).
    pub(crate) fn completion_on(&self, expected: u32) {
        let now = cpu::current_id();
        if now == expected {
            return;
        }
        if let (Some(from), Some(to)) = (
            self.cpus.get(expected as usize),
            self.cpus.get(now as usize),
        ) {
            from.migration_from.fetch_add(1, Ordering::Relaxed);
            to.migration_to.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The path came up.
    pub(crate) fn path_up(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    /// A reconnect attempt failed.
    pub(crate) fn reconnect_failed(&self) {
        self.fail_reconnects.fetch_add(1, Ordering::Relaxed);
    }

    /// A request was failed over to this path.
    pub(crate) fn failover(&self) {
        self.failover_cnt.fetch_add(1, Ordering::Relaxed);
    }

    /// Sums of the IO counters.
    pub(crate) fn rdma(&self) -> RdmaSums {
        let mut s = RdmaSums {
            read_cnt: 0,
            read_bytes: 0,
            write_cnt: 0,
            write_bytes: 0,
        };
        for c in self.cpus.iter() {
            s.read_cnt += c.read_cnt.load(Ordering::Relaxed);
            s.read_bytes += c.read_bytes.load(Ordering::Relaxed);
            s.write_cnt += c.write_cnt.load(Ordering::Relaxed);
            s.write_bytes += c.write_bytes.load(Ordering::Relaxed);
        }
        s
    }

    /// Failed-over requests.
    pub(crate) fn failovers(&self) -> u64 {
        self.failover_cnt.load(Ordering::Relaxed)
    }

    /// `(successful, failed)` reconnects.
    pub(crate) fn reconnects(&self) -> (i32, i32) {
        (
            self.reconnects.load(Ordering::Relaxed),
            self.fail_reconnects.load(Ordering::Relaxed),
        )
    }

    /// Per-CPU migration counters: `from` if `from`, else `to`.
    pub(crate) fn migrations(&self, from: bool) -> impl Iterator<Item = i32> + '_ {
        self.cpus.iter().map(move |c| {
            if from {
                c.migration_from.load(Ordering::Relaxed)
            } else {
                c.migration_to.load(Ordering::Relaxed)
            }
        })
    }

    /// Resets the IO counters.
    pub(crate) fn reset_rdma(&self) {
        for c in self.cpus.iter() {
            c.read_cnt.store(0, Ordering::Relaxed);
            c.read_bytes.store(0, Ordering::Relaxed);
            c.write_cnt.store(0, Ordering::Relaxed);
            c.write_bytes.store(0, Ordering::Relaxed);
        }
        self.failover_cnt.store(0, Ordering::Relaxed);
    }

    /// Resets the migration counters.
    pub(crate) fn reset_migrations(&self) {
        for c in self.cpus.iter() {
            c.migration_from.store(0, Ordering::Relaxed);
            c.migration_to.store(0, Ordering::Relaxed);
        }
    }

    /// Resets the reconnect counters.
    pub(crate) fn reset_reconnects(&self) {
        self.reconnects.store(0, Ordering::Relaxed);
        self.fail_reconnects.store(0, Ordering::Relaxed);
    }

    /// Resets everything (`reset_all`), in-flight count included.
    pub(crate) fn reset_all(&self) {
        self.reset_rdma();
        self.reset_migrations();
        self.reset_reconnects();
        self.inflight.store(0, Ordering::Relaxed);
    }
}
