// SPDX-License-Identifier: GPL-2.0-or-later

//! The permit bitmap: one bit per server chunk, so at most `queue_depth` requests are in
//! flight and each owns its chunk (wire protocol §9.1).
//!
//! C version: `__rtrs_get_permit`, `__rtrs_put_permit` in
//! `drivers/infiniband/ulp/rtrs/rtrs-clt.c`.
//!
//! Lock-free over caller-provided atomic words, so the hot path takes no lock and allocates
//! nothing. Waiting for a free permit is the caller's (a wait queue in the kernel). Pure
//! logic: it builds for the host and is unit-tested there, threads included.

use core::sync::atomic::{AtomicU64, Ordering};

/// Words needed for `depth` permits.
pub(crate) const fn words_for(depth: usize) -> usize {
    depth.div_ceil(64)
}

/// Takes the lowest free permit below `depth`, or `None` if all are taken.
///
/// Acquire ordering: what the previous holder wrote before [`put`] is visible to the new one.
pub(crate) fn try_get(map: &[AtomicU64], depth: usize) -> Option<usize> {
    for (w, word) in map.iter().enumerate().take(words_for(depth)) {
        let valid = if (w + 1) * 64 <= depth {
            u64::MAX
        } else {
            (1u64 << (depth % 64)) - 1
        };
        let mut cur = word.load(Ordering::Relaxed);
        loop {
            let free = !cur & valid;
            if free == 0 {
                break;
            }
            let bit = 1u64 << free.trailing_zeros();
            let was = word.fetch_or(bit, Ordering::Acquire);
            if was & bit == 0 {
                // CAST: `trailing_zeros` of a `u64` is below 64.
                return Some(w * 64 + free.trailing_zeros() as usize);
            }
            cur = was | bit;
        }
    }
    None
}

/// Returns permit `id`. Release ordering pairs with [`try_get`]. Returns `false`, changing
/// nothing, if the permit was not taken (a double put) or is out of range.
pub(crate) fn put(map: &[AtomicU64], id: usize) -> bool {
    let Some(word) = map.get(id / 64) else {
        return false;
    };
    let bit = 1u64 << (id % 64);
    word.fetch_and(!bit, Ordering::Release) & bit != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{sync::Arc, thread, vec::Vec};

    fn map(depth: usize) -> Vec<AtomicU64> {
        (0..words_for(depth)).map(|_| AtomicU64::new(0)).collect()
    }

    #[test]
    fn lowest_free_first_and_never_beyond_depth() {
        for depth in [1, 63, 64, 65, 128, 512, 513] {
            let m = map(depth);
            for i in 0..depth {
                assert_eq!(try_get(&m, depth), Some(i));
            }
            assert_eq!(try_get(&m, depth), None, "depth {depth}");
            assert!(put(&m, depth / 2));
            assert_eq!(try_get(&m, depth), Some(depth / 2));
        }
    }

    #[test]
    fn double_and_stray_puts_are_refused() {
        let m = map(70);
        let id = try_get(&m, 70).unwrap();
        assert!(put(&m, id));
        assert!(!put(&m, id));
        assert!(!put(&m, 1000));
        assert_eq!(try_get(&m, 70), Some(id));
    }

    #[test]
    fn concurrent_holders_never_share_a_permit() {
        const DEPTH: usize = 100;
        let m: Arc<Vec<AtomicU64>> = Arc::new(map(DEPTH));
        let owners: Arc<Vec<AtomicU64>> = Arc::new((0..DEPTH).map(|_| AtomicU64::new(0)).collect());
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let (m, owners) = (m.clone(), owners.clone());
                thread::spawn(move || {
                    for _ in 0..20_000 {
                        let Some(id) = try_get(&m, DEPTH) else {
                            continue;
                        };
                        // Nobody else may hold it now.
                        assert_eq!(owners[id].swap(t + 1, Ordering::Relaxed), 0);
                        assert_eq!(owners[id].swap(0, Ordering::Relaxed), t + 1);
                        assert!(put(&m, id));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(m.iter().all(|w| w.load(Ordering::Relaxed) == 0));
    }
}
