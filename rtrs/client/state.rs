// SPDX-License-Identifier: GPL-2.0-or-later

//! The life of a client path: its states and the transitions between them (wire protocol
//! §11).
//!
//! C version: `enum rtrs_clt_state` and `rtrs_clt_change_state` in
//! `drivers/infiniband/ulp/rtrs/rtrs-clt.{h,c}`.
//!
//! Pure logic: it builds for the host and is unit-tested there. The owner keeps the state
//! under its lock and calls [`State::change`] for every move; a move the table refuses is
//! not made, so two racing closers or a late reconnect cannot undo each other.

/// A client path's state (`enum rtrs_clt_state`, same numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Connections and the INFO exchange are under way.
    Connecting = 0,
    /// Connecting failed; recovery will schedule a reconnect.
    ConnectingErr = 1,
    /// Torn down after an error, waiting for the reconnect delay.
    Reconnecting = 2,
    /// Carries IO.
    Connected = 3,
    /// Being closed for good (or until an admin's `reconnect`).
    Closing = 4,
    /// Closed; kept listed, can be revived by `reconnect`.
    Closed = 5,
    /// Removed; only freeing is left.
    Dead = 6,
}

impl State {
    /// Whether a path may move from `self` to `new` (`rtrs_clt_change_state`).
    pub(crate) fn allows(self, new: State) -> bool {
        use State::*;
        matches!(
            (self, new),
            (Reconnecting, Connecting)
                | (Connected | ConnectingErr | Closed, Reconnecting)
                | (Connecting, Connected)
                | (Connecting, ConnectingErr)
                | (
                    Connecting | ConnectingErr | Reconnecting | Connected,
                    Closing
                )
                | (Closing, Closed)
                | (Closed, Dead)
        )
    }

    /// Moves to `new` if the table allows it; returns whether it did.
    pub(crate) fn change(&mut self, new: State) -> bool {
        let ok = self.allows(new);
        if ok {
            *self = new;
        }
        ok
    }

    /// What the path's sysfs `state` file shows.
    pub(crate) fn show(self) -> &'static str {
        if self == State::Connected {
            "connected"
        } else {
            "disconnected"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::State::{self, *};

    const ALL: [State; 7] = [
        Connecting,
        ConnectingErr,
        Reconnecting,
        Connected,
        Closing,
        Closed,
        Dead,
    ];

    #[test]
    fn transition_table_matches_c() {
        let allowed = [
            (Reconnecting, Connecting),
            (Connected, Reconnecting),
            (ConnectingErr, Reconnecting),
            (Closed, Reconnecting),
            (Connecting, Connected),
            (Connecting, ConnectingErr),
            (Connecting, Closing),
            (ConnectingErr, Closing),
            (Reconnecting, Closing),
            (Connected, Closing),
            (Closing, Closed),
            (Closed, Dead),
        ];
        for from in ALL {
            for to in ALL {
                assert_eq!(
                    from.allows(to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    #[test]
    fn a_life_of_a_path() {
        let mut s = Connecting;
        assert!(s.change(Connected));
        assert!(!s.change(Connected), "no self transitions");
        assert!(s.change(Reconnecting));
        assert!(!s.change(Connected), "must connect again first");
        assert!(s.change(Connecting));
        assert!(s.change(ConnectingErr));
        assert!(s.change(Closing));
        assert!(!s.change(Reconnecting), "a closing path stays closing");
        assert!(s.change(Closed));
        assert!(s.change(Dead));
        for to in ALL {
            assert!(!s.change(to), "dead is final");
        }
        assert_eq!(Connected.show(), "connected");
        assert_eq!(Reconnecting.show(), "disconnected");
    }
}
