// SPDX-License-Identifier: GPL-2.0-or-later

//! CPU ids and random numbers.
//!
//! C headers: [include/linux/cpumask.h](srctree/include/linux/cpumask.h),
//! [include/linux/smp.h](srctree/include/linux/smp.h),
//! [include/linux/random.h](srctree/include/linux/random.h),
//! [include/linux/uuid.h](srctree/include/linux/uuid.h).

use crate::bindings;

/// The number of possible CPU ids (`nr_cpu_ids`): every CPU id is below it.
pub(crate) fn nr_cpu_ids() -> u32 {
    // SAFETY: Reads a variable fixed at boot.
    unsafe { bindings::nr_cpu_ids() }
}

/// The number of online CPUs (`num_online_cpus`), e.g. for one blk-mq queue each.
pub(crate) fn num_online_cpus() -> u32 {
    // SAFETY: Reads the online mask's weight; no requirement.
    unsafe { bindings::num_online_cpus() }
}

/// The id of the CPU the caller runs on (`raw_smp_processor_id`). Without preemption
/// disabled the caller may move right after: a hint for spreading work, as in C.
pub(crate) fn current_id() -> u32 {
    // SAFETY: Reads the per-CPU id of the current CPU; no other requirement.
    unsafe { bindings::raw_smp_processor_id() }
}

/// A random version-4 UUID in `uuid_t` byte order (`uuid_gen`).
pub(crate) fn uuid_gen() -> [u8; 16] {
    let mut out = [0u8; 16];
    // SAFETY: `out` has the 16 writable bytes the helper fills.
    unsafe { bindings::uuid_gen(out.as_mut_ptr()) };
    out
}

/// A uniformly random number below `ceil` (`get_random_u32_below`); 0 if `ceil` is 0.
pub(crate) fn random_below(ceil: u32) -> u32 {
    if ceil == 0 {
        return 0;
    }
    // SAFETY: No requirement besides a non-zero bound (checked above).
    unsafe { bindings::get_random_u32_below(ceil) }
}
