// SPDX-License-Identifier: GPL-2.0-or-later

//! RTRS messages (`rtrs/common/msg.rs`, wire protocol §4-§9): CONNECT and ACCEPT private
//! data, INFO_REQ, INFO_RSP, the READ and WRITE headers and RKEY_RSP.

use super::{bytes, config, edgy_u32, le16, le32, le64, mutate, mutations, pick};
use crate::imm::{Imm, ImmLayout};
use crate::msg::*;
use proptest::prelude::*;

/// 16-bit values around the limits of counts and ids.
fn edgy_u16() -> impl Strategy<Value = u16> {
    prop_oneof![
        0..=4u16,
        MAX_CID_NUM - 2..=MAX_CID_NUM + 2,
        u16::MAX - 2..=u16::MAX,
        any::<u16>(),
    ]
}

/// Bits a value needs (0 for 0).
fn bits(v: u64) -> u32 {
    u64::BITS - v.leading_zeros()
}

// ---- CONNECT private data (rtrs_msg_conn_req, §4.2) ----

/// Whether the server must accept these bytes: 56 of them, the magic, major version 2 and
/// `cid < cid_num <= 4096`.
fn conn_req_valid(b: &[u8]) -> bool {
    b.len() >= CONN_PRIV_LEN
        && le16(b, 2) == 0x1bbd
        && b[5] == 2
        && (1..=4096).contains(&le16(b, 8))
        && le16(b, 6) < le16(b, 8)
}

/// Checks the server's decode of CONNECT data against [`conn_req_valid`] and the bytes.
fn check_conn_req(b: &[u8]) {
    let got = ConnReq::decode(b);
    assert_eq!(got.is_ok(), conn_req_valid(b), "{got:?}");
    if let Ok(r) = got {
        assert_eq!(
            (r.cid, r.cid_num, r.recon_cnt),
            (le16(b, 6), le16(b, 8), le16(b, 10))
        );
        assert_eq!(
            (&r.sess_uuid[..], &r.paths_uuid[..]),
            (&b[12..28], &b[28..44])
        );
        assert_eq!(r.first_conn, b[44] & 1 == 1);
        // Encoding it again gives every byte that carries meaning.
        let e = r.encode();
        assert_eq!((&e[2..4], e[5], &e[6..44]), (&b[2..4], b[5], &b[6..44]));
        assert_eq!(e[44], b[44] & 1);
        assert_eq!(ConnReq::decode(&e), Ok(r));
    }
}

/// A valid CONNECT.
fn conn_req() -> impl Strategy<Value = ConnReq> {
    (
        (1..=MAX_CID_NUM).prop_flat_map(|n| (0..n, Just(n))),
        any::<u16>(),
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        any::<bool>(),
    )
        .prop_map(
            |((cid, cid_num), recon_cnt, sess_uuid, paths_uuid, first_conn)| ConnReq {
                cid,
                cid_num,
                recon_cnt,
                sess_uuid,
                paths_uuid,
                first_conn,
            },
        )
}

/// Field offsets of a CONNECT.
const CONN_REQ_FIELDS: &[usize] = &[2, 4, 6, 8, 10, 12, 28, 44];

// ---- ACCEPT / REJECT private data (rtrs_msg_conn_rsp, §4.3) ----

/// Checks the client's decode of ACCEPT data: 56 bytes, magic, major 2, every field.
fn check_conn_rsp(b: &[u8]) {
    let got = ConnRsp::decode(b);
    let valid = b.len() >= CONN_PRIV_LEN && le16(b, 0) == 0x1bbd && b[3] == 2;
    assert_eq!(got.is_ok(), valid, "{got:?}");
    if let Ok(r) = got {
        assert_eq!(
            (r.errno as u16, r.queue_depth, r.max_io_size),
            (le16(b, 4), le16(b, 6), le32(b, 8))
        );
        assert_eq!((r.max_hdr_size, r.flags), (le32(b, 12), le32(b, 16)));
        let e = r.encode();
        assert_eq!((&e[..2], e[3], &e[4..20]), (&b[..2], b[3], &b[4..20]));
        assert_eq!(ConnRsp::decode(&e), Ok(r));
    }
}

/// Any ACCEPT or REJECT.
fn conn_rsp() -> impl Strategy<Value = ConnRsp> {
    (
        any::<i16>(),
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(errno, queue_depth, max_io_size, max_hdr_size, flags)| ConnRsp {
                errno,
                queue_depth,
                max_io_size,
                max_hdr_size,
                flags,
            },
        )
}

// ---- INFO_REQ (§5.2) ----

/// The session name the server must take from these bytes, if any: 272 bytes, type 0, a NUL
/// within the 255 name bytes, and 1 to 254 bytes before it without `/` or `.`.
fn info_req_name(b: &[u8]) -> Option<&[u8]> {
    if b.len() < INFO_REQ_LEN || le16(b, 0) != 0 {
        return None;
    }
    let len = b[2..257].iter().position(|&c| c == 0)?;
    let name = &b[2..2 + len];
    (len > 0 && !name.iter().any(|&c| c == b'/' || c == b'.')).then_some(name)
}

/// Checks the server's decode of an INFO_REQ against [`info_req_name`].
fn check_info_req(b: &[u8]) {
    let got = decode_info_req(b);
    assert_eq!(got.ok(), info_req_name(b));
    if let Ok(name) = got {
        assert!(!name.is_empty() && name.len() < PATHNAME_LEN && b[2 + name.len()] == 0);
        let e = encode_info_req(name).expect("an accepted name is sendable");
        assert_eq!(&e[..3 + name.len()], &b[..3 + name.len()]);
    }
}

/// A valid session name: 1 to 254 bytes of anything but NUL, `/` and `.`.
fn sessname() -> impl Strategy<Value = Vec<u8>> {
    let c = any::<u8>().prop_map(|c| {
        if matches!(c, 0 | b'/' | b'.') {
            b'n'
        } else {
            c
        }
    });
    prop_oneof![
        prop::collection::vec(c.clone(), 1..=16),
        prop::collection::vec(c, 240..=254),
    ]
}

// ---- INFO_RSP (§5.3) ----

/// Whether `index_bits(queue_depth)` chunk bits and the chunk offset fit the 28-bit payload
/// of the immediate data.
fn fits_imm(queue_depth: u16, chunk_size: u32) -> bool {
    let id_bits = bits(u64::from(queue_depth.max(1)) - 1);
    let off_bits = bits(u64::from(chunk_size.max(1)) - 1);
    id_bits + off_bits <= 28
}

/// The chunk table (address, rkey) the client must build from these bytes, or `None` if it
/// must refuse them: type 1, `sg_cnt` descriptors present, `sg_cnt` dividing the queue
/// depth, every length a non-zero number of whole chunks, not wrapping the address space,
/// all of them together the queue depth, and chunk numbers and offsets that fit the
/// immediate data.
fn info_rsp_chunks(b: &[u8], queue_depth: u16, chunk_size: u32) -> Option<Vec<(u64, u32)>> {
    if b.len() < 4 || le16(b, 0) != 1 {
        return None;
    }
    let sg_cnt = usize::from(le16(b, 2));
    if b.len() < 8 + 16 * sg_cnt || sg_cnt == 0 || usize::from(queue_depth) % sg_cnt != 0 {
        return None;
    }
    if !fits_imm(queue_depth, chunk_size) || chunk_size == 0 {
        return None;
    }
    let mut chunks = Vec::new();
    for i in 0..sg_cnt {
        let (addr, key, len) = (
            le64(b, 8 + 16 * i),
            le32(b, 16 + 16 * i),
            le32(b, 20 + 16 * i),
        );
        if len == 0 || len % chunk_size != 0 || u128::from(addr) + u128::from(len) > 1 << 64 {
            return None;
        }
        for k in 0..len / chunk_size {
            chunks.push((addr + u64::from(k) * u64::from(chunk_size), key));
            if chunks.len() > usize::from(queue_depth) {
                return None;
            }
        }
    }
    (chunks.len() == usize::from(queue_depth)).then_some(chunks)
}

/// Checks the client's decode of an INFO_RSP against [`info_rsp_chunks`], and that every
/// chunk number and offset it allows fits the immediate data.
fn check_info_rsp(b: &[u8], queue_depth: u16, chunk_size: u32) {
    let got = InfoRsp::decode(b, queue_depth, chunk_size);
    let want = info_rsp_chunks(b, queue_depth, chunk_size);
    assert_eq!(got.is_ok(), want.is_some(), "{:?}", got.err());
    if let (Ok(rsp), Some(want)) = (got, want) {
        let chunks: Vec<_> = rsp.chunks().collect();
        assert_eq!(chunks, want);
        // Every chunk number and offset the table allows travels in the immediate data.
        let l = ImmLayout::new(queue_depth);
        let (id, off) = (u32::from(queue_depth) - 1, chunk_size - 1);
        assert_eq!(l.decode(l.io_req(id, off)), Imm::IoReq { buf_id: id, off });
    }
}

/// An INFO_RSP whose descriptors add up to the queue depth and chunk size, mostly valid
/// (sometimes a descriptor count that does not divide the queue depth).
fn info_rsp() -> impl Strategy<Value = (Vec<SgDesc>, u16, u32)> {
    let chunk = prop_oneof![
        1..=64u32,
        (9..=20u32).prop_map(|s| 1 << s),
        (4096..=1u32 << 17),
    ];
    (1..=96u16, chunk)
        .prop_filter("chunk index and offset fit 28 bits", |&(qd, c)| {
            fits_imm(qd, c)
        })
        .prop_flat_map(|(qd, chunk)| {
            // Mostly counts that divide the queue depth, as the client requires.
            let divisors: Vec<u16> = (1..=qd).filter(|d| qd % d == 0).collect();
            (
                prop_oneof![3 => prop::sample::select(divisors), 1 => 1..=qd],
                Just(qd),
                Just(chunk),
                prop::collection::vec((any::<u64>(), any::<u32>(), any::<usize>()), 96),
            )
        })
        .prop_map(|(sg_cnt, qd, chunk, raw)| {
            // Cut the queue depth into `sg_cnt` non-empty runs of chunks.
            let mut runs = vec![1u16; usize::from(sg_cnt)];
            for r in &raw[..usize::from(qd - sg_cnt)] {
                let i = pick(r.2, runs.len());
                runs[i] += 1;
            }
            let descs = runs
                .iter()
                .zip(&raw)
                .map(|(&n, &(addr, key, _))| {
                    let len = u32::from(n) * chunk;
                    SgDesc {
                        // Not past the end of the address space.
                        addr: addr.min(u64::MAX - u64::from(len) + 1),
                        key,
                        len,
                    }
                })
                .collect();
            (descs, qd, chunk)
        })
}

/// An INFO_RSP carrying `descs`.
fn encode_rsp(descs: &[SgDesc]) -> Vec<u8> {
    let mut b = vec![0xa5; info_rsp_len(descs.len())];
    let n = encode_info_rsp(&mut b, descs).unwrap();
    assert_eq!(n, b.len());
    b
}

// ---- READ / WRITE headers (§6) ----

/// The header the server must read at `off` of `chunk`, or `None`: it lies inside the
/// chunk, has type WRITE or READ, a READ has 0 or 1 descriptors whose length is 1 to the
/// chunk size, and the user message (`usr_len` bytes before `off`) starts in the chunk.
fn io_hdr_at(chunk: &[u8], off: usize) -> Option<IoHdr> {
    let len = chunk.len();
    let room = len.checked_sub(off)?;
    if room < 4 {
        return None;
    }
    let usr_len = le16(chunk, off + 2);
    let hdr = match le16(chunk, off) {
        2 => IoHdr::Write { usr_len },
        3 if room >= 8 => {
            let desc = match le16(chunk, off + 6) {
                0 => None,
                1 if room >= 24 => Some(SgDesc {
                    addr: le64(chunk, off + 8),
                    key: le32(chunk, off + 16),
                    len: le32(chunk, off + 20),
                }),
                _ => return None,
            };
            // The data lies before the user message, which lies before the header.
            let data = off.checked_sub(usize::from(usr_len))?;
            if desc.is_some_and(|d| d.len == 0 || d.len as usize > len || d.len as usize > data) {
                return None;
            }
            IoHdr::Read {
                usr_len,
                need_inval: chunk[off + 4] & 1 == 1,
                desc,
            }
        }
        _ => return None,
    };
    (usize::from(usr_len) <= off).then_some(hdr)
}

/// Checks the server's decode of a header against [`io_hdr_at`], from the chunk and from
/// a copy, and its re-encoding.
fn check_io_hdr(chunk: &[u8], off: usize) {
    let got = IoHdr::decode(chunk, off);
    assert_eq!(got.ok(), io_hdr_at(chunk, off), "{got:?}");
    // The server decodes from a copy of at most MAX_IO_HDR_LEN bytes: the same answer.
    if off < chunk.len() {
        let win = &chunk[off..chunk.len().min(off + MAX_IO_HDR_LEN)];
        assert_eq!(IoHdr::decode_at(win, off, chunk.len()), got);
    }
    if let Ok(h) = got {
        let mut e = vec![0u8; h.len()];
        assert_eq!(h.encode(&mut e), Ok(h.len()));
        let mut c = chunk.to_vec();
        c[off..off + h.len()].copy_from_slice(&e);
        assert_eq!(IoHdr::decode(&c, off), Ok(h));
    }
}

/// A chunk with a valid header at `off`: the header, the chunk and the offset.
fn io_hdr() -> impl Strategy<Value = (IoHdr, Vec<u8>, usize)> {
    (1..=600usize, any::<bool>(), any::<bool>(), any::<bool>())
        .prop_flat_map(|(chunk_len, read, inval, with_desc)| {
            let hdr_len = match (read, with_desc) {
                (false, _) => WRITE_HDR_LEN,
                (true, false) => READ_HDR_LEN,
                (true, true) => MAX_IO_HDR_LEN,
            };
            let chunk_len = chunk_len.max(hdr_len);
            (
                Just((read, inval, with_desc)),
                Just(chunk_len),
                0..=chunk_len - hdr_len,
                any::<usize>(),
                any::<u64>(),
                any::<u32>(),
                1..=chunk_len as u32,
                prop::collection::vec(any::<u8>(), chunk_len),
            )
        })
        .prop_map(
            |((read, need_inval, with_desc), _, off, usr, addr, key, len, chunk)| {
                let usr_len = pick(usr, off.min(0xffff) + 1) as u16;
                // A READ gets back at most its data: the bytes before the user message.
                let data = (off - usize::from(usr_len)) as u32;
                let hdr = if read {
                    IoHdr::Read {
                        usr_len,
                        need_inval,
                        desc: (with_desc && data > 0).then_some(SgDesc {
                            addr,
                            key,
                            len: len.min(data),
                        }),
                    }
                } else {
                    IoHdr::Write { usr_len }
                };
                (hdr, chunk, off)
            },
        )
}

/// Field offsets of a READ or WRITE header.
const IO_HDR_FIELDS: &[usize] = &[0, 2, 4, 6, 8, 16, 20];

// ---- RKEY_RSP (§9.6) ----

/// Checks the client's decode of an RKEY_RSP: 8 bytes of type 4, `buf_id` below the queue
/// depth.
fn check_rkey_rsp(b: &[u8], queue_depth: u16) {
    let got = RkeyRsp::decode(b, queue_depth);
    let valid = b.len() >= RKEY_RSP_LEN && le16(b, 0) == 4 && le16(b, 2) < queue_depth;
    assert_eq!(got.is_ok(), valid, "{got:?}");
    if let Ok(r) = got {
        assert_eq!((r.buf_id, r.rkey), (le16(b, 2), le32(b, 4)));
        assert_eq!(&r.encode()[..], &b[..RKEY_RSP_LEN]);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn conn_req_arbitrary(b in bytes(80), magic in any::<bool>()) {
        let mut b = b;
        if magic && b.len() >= 6 {
            b[2..6].copy_from_slice(&[0xbd, 0x1b, 0, 2]);
        }
        check_conn_req(&b);
    }

    #[test]
    fn conn_req_counts(
        cid in edgy_u16(),
        cid_num in edgy_u16(),
        near in -2..=2i32,
        r in conn_req(),
    ) {
        // Connection numbers at and around the limits, and each other.
        for cid in [cid, (i32::from(cid_num) + near) as u16] {
            check_conn_req(&ConnReq { cid, cid_num, ..r }.encode());
        }
    }

    #[test]
    fn conn_req_round_trip(r in conn_req()) {
        let b = r.encode();
        prop_assert_eq!(ConnReq::decode(&b), Ok(r));
        prop_assert_eq!(ConnReq::decode(&b).unwrap().encode(), b);
    }

    #[test]
    fn conn_req_mutated(r in conn_req(), muts in mutations()) {
        let mut b = r.encode().to_vec();
        mutate(&mut b, &muts, CONN_REQ_FIELDS);
        check_conn_req(&b);
    }

    #[test]
    fn conn_rsp_arbitrary(b in bytes(80), magic in any::<bool>()) {
        let mut b = b;
        if magic && b.len() >= 4 {
            b[..4].copy_from_slice(&[0xbd, 0x1b, 0, 2]);
        }
        check_conn_rsp(&b);
    }

    #[test]
    fn conn_rsp_round_trip_and_mutated(r in conn_rsp(), muts in mutations()) {
        let b = r.encode();
        prop_assert_eq!(ConnRsp::decode(&b), Ok(r));
        let mut m = b.to_vec();
        mutate(&mut m, &muts, &[0, 2, 4, 6, 8, 12, 16]);
        check_conn_rsp(&m);
    }

    #[test]
    fn info_req_arbitrary(b in bytes(300), name in sessname()) {
        check_info_req(&b);
        // The same bytes behind a valid type, and with a name written into them.
        let mut b = b;
        b.resize(b.len().max(INFO_REQ_LEN), b'n');
        b[..2].copy_from_slice(&[0, 0]);
        check_info_req(&b);
        b[2..2 + name.len()].copy_from_slice(&name);
        check_info_req(&b);
    }

    #[test]
    fn info_req_round_trip(name in sessname()) {
        let b = encode_info_req(&name).unwrap();
        prop_assert_eq!(decode_info_req(&b), Ok(&name[..]));
        prop_assert!(b[2 + name.len()..].iter().all(|&c| c == 0));
    }

    #[test]
    fn info_req_encode_refuses_bad_names(
        name in prop_oneof![
            bytes(300),
            (253..=256usize, any::<u8>()).prop_map(|(n, c)| vec![c; n]),
            sessname(),
        ],
    ) {
        let valid = !name.is_empty()
            && name.len() <= 254
            && !name.iter().any(|&c| matches!(c, 0 | b'/' | b'.'));
        prop_assert_eq!(encode_info_req(&name).is_ok(), valid);
        prop_assert_eq!(valid_sessname(&name), valid);
    }

    #[test]
    fn info_req_mutated(name in sessname(), muts in mutations()) {
        let mut b = encode_info_req(&name).unwrap().to_vec();
        let nul = 2 + name.len();
        mutate(&mut b, &muts, &[0, 2, nul, nul - 1, 256, 257]);
        check_info_req(&b);
    }

    #[test]
    fn info_rsp_arbitrary(
        b in bytes(120),
        qd in prop_oneof![1..=8u16, any::<u16>()],
        chunk in edgy_u32(),
        sane_hdr in any::<bool>(),
    ) {
        let mut b = b;
        if sane_hdr && b.len() >= 4 {
            let sg_cnt = ((b.len() - 4) / 16) as u16;
            b[..4].copy_from_slice(&[1, 0, sg_cnt as u8, (sg_cnt >> 8) as u8]);
        }
        check_info_rsp(&b, qd, chunk);
    }

    #[test]
    fn info_rsp_round_trip((descs, qd, chunk) in info_rsp()) {
        let b = encode_rsp(&descs);
        if qd % descs.len() as u16 != 0 {
            prop_assert!(InfoRsp::decode(&b, qd, chunk).is_err());
            return Ok(());
        }
        let rsp = InfoRsp::decode(&b, qd, chunk);
        prop_assert!(rsp.is_ok(), "{:?}", rsp.err());
        let want: Vec<(u64, u32)> = descs
            .iter()
            .flat_map(|d| (0..d.len / chunk).map(move |k| (d.addr + u64::from(k * chunk), d.key)))
            .collect();
        prop_assert_eq!(rsp.unwrap().chunks().collect::<Vec<_>>(), want);
        check_info_rsp(&b, qd, chunk);
    }

    #[test]
    fn info_rsp_mutated(
        (descs, qd, chunk) in info_rsp(),
        muts in mutations(),
        other_qd in prop_oneof![Just(None), any::<u16>().prop_map(Some)],
    ) {
        let mut b = encode_rsp(&descs);
        let mut fields = vec![0, 2];
        for i in 0..descs.len().min(8) {
            fields.extend([8 + 16 * i, 16 + 16 * i, 20 + 16 * i]);
        }
        mutate(&mut b, &muts, &fields);
        check_info_rsp(&b, other_qd.unwrap_or(qd), chunk);
    }

    #[test]
    fn info_rsp_at_the_top_of_the_address_space(
        (descs, qd, chunk) in info_rsp(),
        which in any::<usize>(),
        past in 0..=2u64,
    ) {
        // A descriptor that ends at, or wraps past, the end of the address space.
        let mut descs = descs;
        let i = pick(which, descs.len());
        descs[i].addr = (u64::MAX - u64::from(descs[i].len) + 1).wrapping_add(past);
        check_info_rsp(&encode_rsp(&descs), qd, chunk);
    }

    #[test]
    fn io_hdr_arbitrary(
        chunk in bytes(64),
        off in prop_oneof![0..=70usize, any::<usize>(), (0..=16usize).prop_map(|d| usize::MAX - d)],
        ty in prop_oneof![Just(None), (2..=3u8).prop_map(Some)],
    ) {
        let mut chunk = chunk;
        if let Some(ty) = ty {
            if let Some(c) = chunk.get_mut(off..) {
                if let Some(t) = c.first_mut() {
                    *t = ty;
                }
                if let Some(t) = c.get_mut(1) {
                    *t = 0;
                }
            }
        }
        check_io_hdr(&chunk, off);
    }

    #[test]
    fn io_hdr_round_trip((hdr, chunk, off) in io_hdr()) {
        let mut chunk = chunk;
        let n = hdr.encode(&mut chunk[off..]).unwrap();
        prop_assert_eq!(n, hdr.len());
        prop_assert_eq!(IoHdr::decode(&chunk, off), Ok(hdr));
        // The encoding is canonical: decoding and encoding again gives the same bytes.
        let mut again = vec![0u8; n];
        hdr.encode(&mut again).unwrap();
        prop_assert_eq!(&again[..], &chunk[off..off + n]);
        check_io_hdr(&chunk, off);
    }

    #[test]
    fn io_hdr_mutated((hdr, chunk, off) in io_hdr(), muts in mutations(), shift in -3..=3isize) {
        let mut chunk = chunk;
        hdr.encode(&mut chunk[off..]).unwrap();
        let mut window = chunk[off..].to_vec();
        mutate(&mut window, &muts, IO_HDR_FIELDS);
        chunk.truncate(off);
        chunk.extend_from_slice(&window);
        // Also read at a neighbouring offset, as a peer that lies about the offset would.
        let off = off.checked_add_signed(shift).unwrap_or(off);
        check_io_hdr(&chunk, off);
    }

    #[test]
    fn rkey_rsp_all(
        buf_id in any::<u16>(),
        near in -2..=2i32,
        rkey in any::<u32>(),
        qd in edgy_u16(),
        b in bytes(12),
        muts in mutations(),
    ) {
        // Chunk numbers around the queue depth, and anywhere.
        let buf_id = if near == 0 { buf_id } else { (i32::from(qd) + near) as u16 };
        let r = RkeyRsp { buf_id, rkey };
        let e = r.encode();
        prop_assert_eq!(RkeyRsp::decode(&e, qd).ok(), (buf_id < qd).then_some(r));
        check_rkey_rsp(&b, qd);
        let mut m = e.to_vec();
        mutate(&mut m, &muts, &[0, 2, 4]);
        check_rkey_rsp(&m, qd);
    }
}
