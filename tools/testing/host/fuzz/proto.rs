// SPDX-License-Identifier: GPL-2.0-or-later

//! RNBD messages (`rnbd/common/proto.rs`, wire protocol §14): SESS_INFO and its response,
//! OPEN, OPEN_RSP, CLOSE and IO.

use super::{bytes, config, le16, le32, le64, mutate, mutations};
use crate::proto::*;
use proptest::prelude::*;

/// The request the server must read from a user message, or `None`: the type's fixed size
/// present (24 bytes for an IO), a known access mode, a name of 1 to 254 bytes ended by a
/// NUL inside its 255-byte buffer, a known op code; `prio` only from a 32-byte IO.
fn request(b: &[u8]) -> Option<Request<'_>> {
    if b.len() < 2 {
        return None;
    }
    match le16(b, 0) {
        0 if b.len() >= 36 => Some(Request::SessInfo { ver: b[4] }),
        2 if b.len() >= 264 => {
            let access_mode = AccessMode::from_wire(b[4])?;
            let len = b[6..261].iter().position(|&c| c == 0)?;
            (len > 0).then_some(Request::Open(Open {
                access_mode,
                dev_name: &b[6..6 + len],
            }))
        }
        5 if b.len() >= 8 => Some(Request::Close(Close {
            device_id: le32(b, 4),
        })),
        4 if b.len() >= 24 => {
            let rw = le32(b, 16);
            Some(Request::Io(Io {
                device_id: le32(b, 4),
                sector: le64(b, 8),
                op: Op::from_wire((rw & 0xff) as u8)?,
                flags: rw & 0x300,
                bi_size: le32(b, 20),
                prio: if b.len() >= 32 { le16(b, 24) } else { 0 },
            }))
        }
        _ => None,
    }
}

/// The message a request is sent as.
fn encode(r: &Request<'_>) -> Vec<u8> {
    match r {
        Request::SessInfo { ver } => encode_sess_info(*ver).to_vec(),
        Request::Open(o) => o.encode().expect("a decoded name is sendable").to_vec(),
        Request::Close(c) => c.encode().to_vec(),
        Request::Io(io) => io.encode().to_vec(),
    }
}

/// Checks the server's decode of `b` against the spec reading, and its re-encoding.
fn check_request(b: &[u8]) {
    let got = Request::decode(b);
    assert_eq!(got.ok(), request(b), "{got:?}");
    if let Ok(r) = got {
        if let Request::Open(o) = r {
            assert!(!o.dev_name.is_empty() && o.dev_name.len() <= DEV_NAME_MAX);
            assert!(!o.dev_name.contains(&0));
        }
        // Encoding it again gives a message that decodes to the same request.
        let e = encode(&r);
        assert_eq!(Request::decode(&e), Ok(r));
    }
}

/// Any access mode.
fn access_mode() -> impl Strategy<Value = AccessMode> {
    prop_oneof![
        Just(AccessMode::Ro),
        Just(AccessMode::Rw),
        Just(AccessMode::Migration)
    ]
}

/// Any op.
fn op() -> impl Strategy<Value = Op> {
    (0..6u8).prop_map(|v| Op::from_wire(v).unwrap())
}

/// A sendable device name: short, or near the 254-byte limit.
fn dev_name() -> impl Strategy<Value = Vec<u8>> {
    let c = 1..=255u8;
    prop_oneof![
        prop::collection::vec(c.clone(), 1..=24),
        prop::collection::vec(c, DEV_NAME_MAX - 8..=DEV_NAME_MAX),
    ]
}

/// Any IO header with known flags.
fn io() -> impl Strategy<Value = Io> {
    (
        any::<u32>(),
        any::<u64>(),
        op(),
        prop_oneof![Just(0u32), Just(F_SYNC), Just(F_FUA), Just(F_SYNC | F_FUA)],
        any::<u32>(),
        any::<u16>(),
    )
        .prop_map(|(device_id, sector, op, flags, bi_size, prio)| Io {
            device_id,
            sector,
            op,
            flags,
            bi_size,
            prio,
        })
}

/// Any OPEN_RSP.
fn open_rsp() -> impl Strategy<Value = OpenRsp> {
    (
        (any::<u32>(), any::<u64>(), any::<u32>(), any::<u32>()),
        (any::<u32>(), any::<u32>(), any::<u32>()),
        (
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
        ),
    )
        .prop_map(|((a, b, c, d), (e, f, g), (h, i, j, k, l))| OpenRsp {
            device_id: a,
            nsectors: b,
            max_hw_sectors: c,
            max_write_zeroes_sectors: d,
            max_discard_sectors: e,
            discard_granularity: f,
            discard_alignment: g,
            physical_block_size: h,
            logical_block_size: i,
            max_segments: j,
            secure_discard: k,
            cache_policy: l,
        })
}

/// A valid request message of each type, and the offsets of its fields.
fn valid_request() -> impl Strategy<Value = (Vec<u8>, &'static [usize])> {
    prop_oneof![
        any::<u8>().prop_map(|v| (encode_sess_info(v).to_vec(), &[0usize, 4][..])),
        (access_mode(), dev_name()).prop_map(|(access_mode, name)| {
            let o = Open {
                access_mode,
                dev_name: &name,
            };
            let nul = 6 + name.len();
            let fields: &'static [usize] = if nul < 261 {
                &[0, 4, 6, 259, 260, 261]
            } else {
                &[0, 4, 6, 258, 259]
            };
            (o.encode().unwrap().to_vec(), fields)
        }),
        any::<u32>()
            .prop_map(|device_id| (Close { device_id }.encode().to_vec(), &[0usize, 4][..])),
        io().prop_map(|io| (
            io.encode().to_vec(),
            &[0usize, 4, 8, 16, 17, 18, 20, 24][..]
        )),
    ]
}

/// Checks the client's decode of an OPEN_RSP: 56 bytes of type 3, every field.
fn check_open_rsp(b: &[u8]) {
    let got = OpenRsp::decode(b);
    let valid = b.len() >= OPEN_RSP_LEN && le16(b, 0) == 3;
    assert_eq!(got.is_ok(), valid, "{got:?}");
    if let Ok(r) = got {
        let e = r.encode();
        // Every field comes back, not the header's padding (2), obsolete_rotational (44)
        // or the reserved bytes.
        assert_eq!((&e[..2], &e[4..44], e[45]), (&b[..2], &b[4..44], b[45]));
        assert_eq!(OpenRsp::decode(&e), Ok(r));
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn request_arbitrary(b in bytes(300), ty in prop_oneof![Just(None), (0..=6u8).prop_map(Some)]) {
        let mut b = b;
        if let (Some(ty), true) = (ty, b.len() >= 2) {
            b[..2].copy_from_slice(&[ty, 0]);
        }
        check_request(&b);
    }

    #[test]
    fn request_round_trip(
        ver in any::<u8>(),
        mode in access_mode(),
        name in dev_name(),
        device_id in any::<u32>(),
        io in io(),
    ) {
        let reqs = [
            Request::SessInfo { ver },
            Request::Open(Open { access_mode: mode, dev_name: &name }),
            Request::Close(Close { device_id }),
            Request::Io(io),
        ];
        for r in reqs {
            let b = encode(&r);
            prop_assert_eq!(Request::decode(&b), Ok(r));
            // The encoding is canonical.
            prop_assert_eq!(encode(&Request::decode(&b).unwrap()), b);
        }
        // An IO from a 32-bit sender, without prio.
        let b = io.encode();
        prop_assert_eq!(Request::decode(&b[..24]), Ok(Request::Io(Io { prio: 0, ..io })));
    }

    #[test]
    fn request_mutated((b, fields) in valid_request(), muts in mutations()) {
        let mut b = b;
        mutate(&mut b, &muts, fields);
        check_request(&b);
    }

    #[test]
    fn open_encode_refuses_bad_names(name in bytes(300), mode in access_mode()) {
        let o = Open { access_mode: mode, dev_name: &name };
        let valid = !name.is_empty() && name.len() <= DEV_NAME_MAX && !name.contains(&0);
        prop_assert_eq!(o.encode().is_ok(), valid);
        if let Ok(b) = o.encode() {
            prop_assert_eq!(Request::decode(&b), Ok(Request::Open(o)));
        }
    }

    #[test]
    fn open_rsp_all(r in open_rsp(), b in bytes(70), muts in mutations()) {
        let e = r.encode();
        prop_assert_eq!(OpenRsp::decode(&e), Ok(r));
        prop_assert_eq!(OpenRsp::decode(&e).unwrap().encode(), e);
        check_open_rsp(&b);
        let mut m = e.to_vec();
        mutate(&mut m, &muts, &[0, 4, 8, 16, 36, 38, 42, 44, 45]);
        check_open_rsp(&m);
    }

    #[test]
    fn sess_info_rsp_all(ver in any::<u8>(), b in bytes(40), muts in mutations()) {
        let e = encode_sess_info_rsp(ver);
        prop_assert_eq!(decode_sess_info_rsp(&e), Ok(ver));
        let mut m = e.to_vec();
        mutate(&mut m, &muts, &[0, 4]);
        for b in [&b[..], &m[..]] {
            let valid = b.len() >= SESS_INFO_LEN && le16(b, 0) == 1;
            prop_assert_eq!(decode_sess_info_rsp(b).ok(), valid.then(|| b[4]));
        }
    }

    #[test]
    fn access_mode_and_op_names(name in bytes(12), v in any::<u8>()) {
        let want = match &name[..] {
            b"ro" => Some(AccessMode::Ro),
            b"rw" => Some(AccessMode::Rw),
            b"migration" => Some(AccessMode::Migration),
            _ => None,
        };
        prop_assert_eq!(AccessMode::parse(&name), want);
        if let Some(m) = AccessMode::from_wire(v) {
            prop_assert_eq!(m.wire(), v);
            prop_assert_eq!(AccessMode::parse(m.name().as_bytes()), Some(m));
        }
        prop_assert_eq!(AccessMode::from_wire(v).is_some(), v <= 2);
        prop_assert_eq!(Op::from_wire(v).map(Op::wire), (v <= 5).then_some(v));
    }
}
