// SPDX-License-Identifier: GPL-2.0-or-later

//! Heartbeat bookkeeping: when to send one, and when the peer is declared dead (wire
//! protocol §10).
//!
//! C version: `rtrs_hb_work`, `rtrs_init_hb` in `drivers/infiniband/ulp/rtrs/rtrs.c`.
//!
//! Pure logic: it builds for the host and is unit-tested there. Every reception on the path
//! resets the miss count, so IO traffic counts as liveness and a heartbeat only goes out in
//! an interval that followed one.

/// `RTRS_HB_INTERVAL_MS`.
pub(crate) const INTERVAL_MS: u32 = 5000;
/// `RTRS_HB_MISSED_MAX`.
pub(crate) const MISSED_MAX: u32 = 5;

/// What a heartbeat tick asks the path to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tick {
    /// Post an `HB_MSG`, note the time for the latency, re-arm.
    Send,
    /// Nothing heard since the last one: just re-arm.
    Wait,
    /// Too many intervals without a sign of life: recover (client) or close (server).
    Dead,
}

/// Miss counter of one path's heartbeat.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Heartbeat {
    missed: u32,
}

impl Heartbeat {
    /// One timer tick, as `rtrs_hb_work` decides it.
    pub(crate) fn tick(&mut self) -> Tick {
        if self.missed > MISSED_MAX {
            return Tick::Dead;
        }
        let was = self.missed;
        self.missed += 1;
        if was == 0 {
            Tick::Send
        } else {
            Tick::Wait
        }
    }

    /// Something was received on the path (any receive completion, or an `HB_ACK`).
    pub(crate) fn heard(&mut self) {
        self.missed = 0;
    }

    /// Intervals without a reception so far.
    pub(crate) fn missed(self) -> u32 {
        self.missed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_peer_dies_at_the_seventh_tick() {
        let mut hb = Heartbeat::default();
        assert_eq!(hb.tick(), Tick::Send);
        for _ in 0..MISSED_MAX {
            assert_eq!(hb.tick(), Tick::Wait);
        }
        assert_eq!(hb.missed(), MISSED_MAX + 1);
        assert_eq!(hb.tick(), Tick::Dead);
        assert_eq!(hb.tick(), Tick::Dead, "stays dead until heard");
    }

    #[test]
    fn traffic_keeps_the_path_alive() {
        let mut hb = Heartbeat::default();
        for _ in 0..100 {
            assert_eq!(hb.tick(), Tick::Send);
            assert_eq!(hb.tick(), Tick::Wait);
            hb.heard();
        }
        assert_eq!(hb.missed(), 0);
    }
}
