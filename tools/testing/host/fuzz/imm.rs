// SPDX-License-Identifier: GPL-2.0-or-later

//! Immediate data (`rtrs/common/imm.rs`, wire protocol §7) and the heartbeat counter
//! (`rtrs/common/hb.rs`, §10).

use super::config;
use crate::hb::{Heartbeat, Tick, MISSED_MAX};
use crate::imm::{io_rsp, Imm, ImmLayout, HB_ACK_IMM, HB_MSG_IMM};
use proptest::prelude::*;

/// Bits of the chunk index for a queue depth: enough to number `0..queue_depth`.
fn id_bits(queue_depth: u16) -> u32 {
    u32::BITS - u32::from(queue_depth.max(1) - 1).leading_zeros()
}

proptest! {
    #![proptest_config(config())]

    /// Every 32-bit value decodes, to a value that encodes back to it where the encoding is
    /// canonical (requests and responses), and within the ranges of its fields.
    #[test]
    fn decode_is_total_and_canonical(imm in any::<u32>(), qd in any::<u16>()) {
        let l = ImmLayout::new(qd);
        prop_assert_eq!(l.mem_bits(), 28 - id_bits(qd));
        match l.decode(imm) {
            Imm::IoReq { buf_id, off } => {
                prop_assert_eq!(imm >> 28, 0);
                prop_assert!(u64::from(buf_id) < 1u64 << id_bits(qd));
                prop_assert!(off < 1 << l.mem_bits());
                prop_assert_eq!(l.io_req(buf_id, off), imm);
            }
            Imm::IoRsp { msg_id, errno, w_inv } => {
                prop_assert_eq!(imm >> 28, if w_inv { 2 } else { 1 });
                prop_assert!(msg_id < 1 << 19);
                prop_assert!((-511..=0).contains(&errno));
                prop_assert_eq!(io_rsp(msg_id, errno, w_inv), imm);
            }
            Imm::HbMsg => prop_assert_eq!(imm >> 28, HB_MSG_IMM >> 28),
            Imm::HbAck => prop_assert_eq!(imm >> 28, HB_ACK_IMM >> 28),
            Imm::Unknown(t) => {
                prop_assert_eq!(t, imm >> 28);
                prop_assert!(!matches!(t, 0 | 1 | 2 | 8 | 9));
            }
        }
    }

    /// Every chunk index below the queue depth and offset that fits goes and comes back.
    #[test]
    fn io_req_round_trip(
        (qd, buf_id) in (1..=u16::MAX).prop_flat_map(|qd| (Just(qd), 0..u32::from(qd))),
        off in any::<u32>(),
    ) {
        let l = ImmLayout::new(qd);
        let off = off & ((1 << l.mem_bits()) - 1);
        prop_assert_eq!(l.decode(l.io_req(buf_id, off)), Imm::IoReq { buf_id, off });
    }

    /// A response keeps its msg id (any queue depth's) and nine bits of errno magnitude.
    #[test]
    fn io_rsp_round_trip(
        msg_id in 0..1u32 << 19,
        errno in prop_oneof![-511..=0i32, any::<i32>()],
        w_inv in any::<bool>(),
        qd in any::<u16>(),
    ) {
        let want = -((errno.unsigned_abs() & 0x1ff) as i32);
        prop_assert_eq!(
            ImmLayout::new(qd).decode(io_rsp(msg_id, errno, w_inv)),
            Imm::IoRsp { msg_id, errno: want, w_inv }
        );
    }

    /// Any sequence of timer ticks and receptions: a heartbeat goes out on the first tick
    /// after a reception, the peer is dead on the seventh silent tick and stays so.
    #[test]
    fn heartbeat_follows_its_model(events in prop::collection::vec(any::<bool>(), 0..200)) {
        let mut hb = Heartbeat::default();
        let mut silent = 0u32;
        for heard in events {
            if heard {
                hb.heard();
                silent = 0;
                continue;
            }
            let want = match silent {
                0 => Tick::Send,
                n if n <= MISSED_MAX => Tick::Wait,
                _ => Tick::Dead,
            };
            prop_assert_eq!(hb.tick(), want);
            silent = (silent + 1).min(MISSED_MAX + 1);
            prop_assert_eq!(hb.missed(), silent);
        }
    }
}
