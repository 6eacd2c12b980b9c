// SPDX-License-Identifier: GPL-2.0-or-later

//! Multipath policies: which path carries the next request (wire protocol §12, sysfs ABI
//! `mpath_policy`).
//!
//! C version: `get_next_path_rr`, `get_next_path_min_inflight`, `get_next_path_min_latency`
//! and `mpath_policy_store` in `drivers/infiniband/ulp/rtrs/rtrs-clt{,-sysfs}.c`.
//!
//! Pure logic over a snapshot of the paths: it builds for the host and is unit-tested there.

/// `MAX_PATHS_NUM`: the most paths a session has; a `u128` marks the tried ones.
pub(crate) const MAX_PATHS: usize = 128;

/// The policy of a session (`enum rtrs_clt_mp_policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    /// Each CPU takes the path after the one it used last.
    RoundRobin = 0,
    /// The connected path with the fewest requests in flight (the default).
    MinInflight = 1,
    /// The connected path with the lowest heartbeat round trip.
    MinLatency = 2,
}

impl Policy {
    /// Parses a write to `mpath_policy`: `0`, `1`, `2`; a buffer starting with `round-robin`,
    /// `min-inflight` or `min-latency`; or exactly `rr`, `mi`, `ml`; case-insensitive, with
    /// one trailing newline allowed, as C accepts them.
    pub(crate) fn parse(buf: &[u8]) -> Option<Self> {
        let text = buf.strip_suffix(b"\n").unwrap_or(buf);
        match kstrtoint10(text) {
            Some(0) => return Some(Self::RoundRobin),
            Some(1) => return Some(Self::MinInflight),
            Some(2) => return Some(Self::MinLatency),
            _ => {}
        }
        let starts = |p: &[u8]| buf.len() >= p.len() && buf[..p.len()].eq_ignore_ascii_case(p);
        let is = |p: &[u8]| text.eq_ignore_ascii_case(p);
        if starts(b"round-robin") || is(b"rr") {
            Some(Self::RoundRobin)
        } else if starts(b"min-inflight") || is(b"mi") {
            Some(Self::MinInflight)
        } else if starts(b"min-latency") || is(b"ml") {
            Some(Self::MinLatency)
        } else {
            None
        }
    }

    /// What reading `mpath_policy` shows, without the newline.
    pub(crate) fn show(self) -> &'static str {
        match self {
            Self::RoundRobin => "round-robin (RR: 0)",
            Self::MinInflight => "min-inflight (MI: 1)",
            Self::MinLatency => "min-latency (ML: 2)",
        }
    }
}

/// `kstrtoint(text, 10)` without its newline handling: an optional sign and decimal digits.
fn kstrtoint10(text: &[u8]) -> Option<i32> {
    let (neg, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: i64 = 0;
    for d in digits {
        v = v.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
        if v > i64::from(i32::MAX) + 1 {
            return None;
        }
    }
    i32::try_from(if neg { -v } else { v }).ok()
}

/// What the policies look at in a path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PathView {
    /// The path is CONNECTED.
    pub(crate) connected: bool,
    /// Requests in flight on the path.
    pub(crate) inflight: u32,
    /// Last heartbeat round trip, in nanoseconds.
    pub(crate) latency_ns: u64,
}

/// The paths tried for one request, so a retry after a failed post takes another one.
///
/// # Invariants
///
/// Bit `i` of `tried` is set only for `i < MAX_PATHS`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PathIter {
    tried: u128,
    steps: usize,
}

impl PathIter {
    /// The next path for the request, or `None` when every connected path was tried.
    ///
    /// `rr_cursor` is the calling CPU's round-robin position (the index it used last), which
    /// round-robin advances even past paths that are not connected, as C does.
    ///
    /// The paths are `0..n`; `view(i)` describes path `i` as it is now (read on every call,
    /// so no snapshot has to be allocated).
    pub(crate) fn next(
        &mut self,
        policy: Policy,
        n: usize,
        view: impl Fn(usize) -> PathView,
        rr_cursor: &mut Option<usize>,
    ) -> Option<usize> {
        let n = n.min(MAX_PATHS);
        match policy {
            Policy::RoundRobin => {
                while self.steps < n {
                    self.steps += 1;
                    let i = rr_cursor.map_or(0, |c| (c + 1) % n);
                    *rr_cursor = Some(i);
                    if !self.was_tried(i) && view(i).connected {
                        self.mark(i);
                        return Some(i);
                    }
                }
                None
            }
            Policy::MinInflight => self.min_by(n, view, |p| u64::from(p.inflight)),
            Policy::MinLatency => self.min_by(n, view, |p| p.latency_ns),
        }
    }

    fn min_by(
        &mut self,
        n: usize,
        view: impl Fn(usize) -> PathView,
        key: impl Fn(&PathView) -> u64,
    ) -> Option<usize> {
        let mut best: Option<(u64, usize)> = None;
        for i in (0..n).filter(|i| !self.was_tried(*i)) {
            let p = view(i);
            if !p.connected {
                continue;
            }
            let k = key(&p);
            // The first of equal paths wins, as in C's strict `<`.
            if best.map_or(true, |(b, _)| k < b) {
                best = Some((k, i));
            }
        }
        let (_, i) = best?;
        self.mark(i);
        Some(i)
    }

    fn was_tried(&self, i: usize) -> bool {
        self.tried & (1u128 << i) != 0
    }

    fn mark(&mut self, i: usize) {
        // INVARIANT: callers pass indexes of a slice cut to `MAX_PATHS`.
        self.tried |= 1u128 << i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(inflight: u32, latency_ns: u64) -> PathView {
        PathView {
            connected: true,
            inflight,
            latency_ns,
        }
    }
    const DOWN: PathView = PathView {
        connected: false,
        inflight: 0,
        latency_ns: 0,
    };

    #[test]
    fn parse_accepts_what_c_accepts() {
        for (s, p) in [
            (&b"0"[..], Policy::RoundRobin),
            (b"1\n", Policy::MinInflight),
            (b"2", Policy::MinLatency),
            (b"+1", Policy::MinInflight),
            (b"-0", Policy::RoundRobin),
            (b"002\n", Policy::MinLatency),
            (b"round-robin", Policy::RoundRobin),
            (b"Round-Robin\n", Policy::RoundRobin),
            (b"round-robinXYZ", Policy::RoundRobin),
            (b"rr\n", Policy::RoundRobin),
            (b"MI", Policy::MinInflight),
            (b"min-inflight\n", Policy::MinInflight),
            (b"ml\n", Policy::MinLatency),
            (b"MIN-LATENCY", Policy::MinLatency),
        ] {
            assert_eq!(Policy::parse(s), Some(p), "{:?}", core::str::from_utf8(s));
        }
        for s in [
            &b"3"[..],
            b"-1",
            b"",
            b"\n",
            b"rr\n\n",
            b"mix",
            b"round",
            b"m",
            b"min",
        ] {
            assert_eq!(Policy::parse(s), None, "{:?}", core::str::from_utf8(s));
        }
    }

    #[test]
    fn show_matches_c() {
        assert_eq!(Policy::RoundRobin.show(), "round-robin (RR: 0)");
        assert_eq!(Policy::MinInflight.show(), "min-inflight (MI: 1)");
        assert_eq!(Policy::MinLatency.show(), "min-latency (ML: 2)");
    }

    #[test]
    fn round_robin_rotates_and_skips_down_paths() {
        let paths = [up(0, 0), DOWN, up(0, 0)];
        let mut cursor = None;
        let mut pick =
            || PathIter::default().next(Policy::RoundRobin, paths.len(), |i| paths[i], &mut cursor);
        assert_eq!(pick(), Some(0));
        assert_eq!(pick(), Some(2));
        assert_eq!(pick(), Some(0));
        // Retries of one request visit each connected path once, then give up.
        let mut cursor = Some(0);
        let mut it = PathIter::default();
        assert_eq!(
            it.next(Policy::RoundRobin, paths.len(), |i| paths[i], &mut cursor),
            Some(2)
        );
        assert_eq!(
            it.next(Policy::RoundRobin, paths.len(), |i| paths[i], &mut cursor),
            Some(0)
        );
        assert_eq!(
            it.next(Policy::RoundRobin, paths.len(), |i| paths[i], &mut cursor),
            None
        );
    }

    #[test]
    fn min_inflight_and_min_latency_pick_the_least_loaded() {
        let paths = [up(5, 300), up(2, 900), DOWN, up(2, 100)];
        let mut c = None;
        let mut it = PathIter::default();
        assert_eq!(
            it.next(Policy::MinInflight, paths.len(), |i| paths[i], &mut c),
            Some(1)
        );
        assert_eq!(
            it.next(Policy::MinInflight, paths.len(), |i| paths[i], &mut c),
            Some(3)
        );
        assert_eq!(
            it.next(Policy::MinInflight, paths.len(), |i| paths[i], &mut c),
            Some(0)
        );
        assert_eq!(
            it.next(Policy::MinInflight, paths.len(), |i| paths[i], &mut c),
            None
        );
        let mut it = PathIter::default();
        assert_eq!(
            it.next(Policy::MinLatency, paths.len(), |i| paths[i], &mut c),
            Some(3)
        );
        assert_eq!(
            it.next(Policy::MinLatency, paths.len(), |i| paths[i], &mut c),
            Some(0)
        );
        assert_eq!(
            it.next(Policy::MinLatency, paths.len(), |i| paths[i], &mut c),
            Some(1)
        );
        assert_eq!(
            it.next(Policy::MinLatency, paths.len(), |i| paths[i], &mut c),
            None
        );
        assert_eq!(c, None, "only round-robin moves the cursor");
    }

    #[test]
    fn no_connected_path_means_none() {
        let mut c = None;
        for p in [Policy::RoundRobin, Policy::MinInflight, Policy::MinLatency] {
            assert_eq!(PathIter::default().next(p, 2, |_| DOWN, &mut c), None);
            assert_eq!(PathIter::default().next(p, 0, |_| DOWN, &mut c), None);
        }
    }

    #[test]
    fn all_128_paths_are_reachable() {
        let mut paths = [DOWN; MAX_PATHS];
        paths[127] = up(0, 0);
        let mut c = None;
        assert_eq!(
            PathIter::default().next(Policy::RoundRobin, paths.len(), |i| paths[i], &mut c),
            Some(127)
        );
        assert_eq!(
            PathIter::default().next(Policy::MinInflight, paths.len(), |i| paths[i], &mut c),
            Some(127)
        );
    }
}
