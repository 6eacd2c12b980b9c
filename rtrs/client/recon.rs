// SPDX-License-Identifier: GPL-2.0-or-later

//! When a broken path reconnects, and whether it still may (wire protocol §11).
//!
//! C version: `rtrs_clt_err_recovery_work`, `rtrs_clt_reconnect_work` and `add_path_store` in
//! `drivers/infiniband/ulp/rtrs/rtrs-clt{,-sysfs}.c`.
//!
//! Pure logic: it builds for the host and is unit-tested there.

/// Pause before each reconnect attempt, in milliseconds (`RTRS_RECONNECT_BACKOFF`).
pub(crate) const BACKOFF_MS: u32 = 1000;

/// Jitter bound added to the reconnect delay, in milliseconds (`RTRS_RECONNECT_SEED`).
pub(crate) const SEED_MS: u32 = 8;

/// The delay before a reconnect attempt after a path broke: `reconnect_delay_sec` seconds
/// plus `rand % RTRS_RECONNECT_SEED` milliseconds (`rand` is a random number).
pub(crate) fn delay_ms(reconnect_delay_sec: u8, rand: u32) -> u32 {
    u32::from(reconnect_delay_sec) * 1000 + rand % SEED_MS
}

/// Whether a path that made `attempts` reconnect attempts since it was last connected has
/// used up `max_reconnect_attempts`. C compares unsigned, so -1 never runs out, 0 allows no
/// attempt at all.
pub(crate) fn exhausted(attempts: u32, max_reconnect_attempts: i32) -> bool {
    // CAST: As C's `unsigned int` comparison: -1 becomes `u32::MAX`.
    attempts >= max_reconnect_attempts as u32
}

/// The text of a write to `add_path`: up to the first newline (`add_path_store`).
pub(crate) fn add_path_text(buf: &[u8]) -> &[u8] {
    match buf.iter().position(|&c| c == b'\n') {
        Some(i) => &buf[..i],
        None => buf,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_is_the_seconds_plus_a_little_jitter() {
        assert_eq!(delay_ms(30, 0), 30_000);
        assert_eq!(delay_ms(30, 7), 30_007);
        assert_eq!(delay_ms(30, 8), 30_000);
        assert_eq!(delay_ms(30, u32::MAX), 30_007);
        assert_eq!(delay_ms(0, 13), 5);
        assert_eq!(delay_ms(255, 1), 255_001);
    }

    #[test]
    fn attempts_follow_the_unsigned_comparison_of_c() {
        assert!(!exhausted(0, -1));
        assert!(!exhausted(u32::MAX - 1, -1));
        assert!(exhausted(0, 0));
        assert!(!exhausted(2, 3));
        assert!(exhausted(3, 3));
        assert!(exhausted(4, 3));
    }

    #[test]
    fn add_path_text_stops_at_the_newline() {
        assert_eq!(add_path_text(b"ip:1.2.3.4\n"), b"ip:1.2.3.4");
        assert_eq!(add_path_text(b"ip:1.2.3.4"), b"ip:1.2.3.4");
        assert_eq!(
            add_path_text(b"ip:1.1.1.1@ip:1.2.3.4\nx"),
            b"ip:1.1.1.1@ip:1.2.3.4"
        );
        assert_eq!(add_path_text(b"\n"), b"");
    }
}
