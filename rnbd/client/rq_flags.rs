// SPDX-License-Identifier: GPL-2.0-or-later

//! A block request as an RNBD IO message: the op and flags of `rw` (wire protocol §14.7,
//! C `rq_to_rnbd_flags`). Pure logic: it builds for the host and is unit-tested there.

use crate::proto::{Op, F_FUA, F_SYNC};

/// The request flags that matter for the mapping (`REQ_SYNC`, `REQ_FUA`, `REQ_PREFLUSH`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RqFlags {
    /// `REQ_SYNC`.
    pub(crate) sync: bool,
    /// `REQ_FUA`.
    pub(crate) fua: bool,
    /// `REQ_PREFLUSH`.
    pub(crate) preflush: bool,
}

/// The RNBD flags of a request of `op`: `F_SYNC` if the block layer calls it synchronous
/// (`op_is_sync`: every read, or `REQ_SYNC`, `REQ_FUA` or `REQ_PREFLUSH` set), `F_FUA` for
/// `REQ_FUA` and for `REQ_PREFLUSH` (`op_is_flush`).
pub(crate) fn io_flags(op: Op, f: RqFlags) -> u32 {
    let mut flags = 0;
    if op == Op::Read || f.sync || f.fua || f.preflush {
        flags |= F_SYNC;
    }
    if f.fua || f.preflush {
        flags |= F_FUA;
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: RqFlags = RqFlags {
        sync: false,
        fua: false,
        preflush: false,
    };

    #[test]
    fn plain() {
        assert_eq!(io_flags(Op::Read, NONE), F_SYNC);
        assert_eq!(io_flags(Op::Write, NONE), 0);
        assert_eq!(io_flags(Op::Discard, NONE), 0);
        assert_eq!(io_flags(Op::WriteZeroes, NONE), 0);
        assert_eq!(io_flags(Op::SecureErase, NONE), 0);
    }

    #[test]
    fn sync_and_fua() {
        let sync = RqFlags { sync: true, ..NONE };
        let fua = RqFlags { fua: true, ..NONE };
        assert_eq!(io_flags(Op::Write, sync), F_SYNC);
        assert_eq!(io_flags(Op::Write, fua), F_SYNC | F_FUA);
    }

    #[test]
    fn flush_is_0x302() {
        // A block-layer flush: REQ_OP_FLUSH | REQ_PREFLUSH, sent as rw = 0x302.
        let f = RqFlags {
            preflush: true,
            ..NONE
        };
        assert_eq!(Op::Flush.wire() as u32 | io_flags(Op::Flush, f), 0x302);
        assert!(!Op::Flush.is_write());
        assert!(!Op::Flush.has_data());
    }
}
