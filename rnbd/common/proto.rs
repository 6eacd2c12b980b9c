// SPDX-License-Identifier: GPL-2.0-or-later

//! RNBD wire messages (wire protocol §14): the session handshake, OPEN / OPEN_RSP, CLOSE and
//! the IO header, each carried as the RTRS user message of one request.
//!
//! C header: `drivers/block/rnbd/rnbd-proto.h`.
//!
//! Every field is little endian, every structure naturally aligned and not packed. Encoders
//! write whole messages with zeroed reserved and padding bytes (the C client sends stack
//! garbage there); decoders check every field a peer sends before anything uses it, which
//! the 6.12 server does not (it reads past short messages and unterminated names). Pure
//! logic: it builds for the host and is unit-tested there.

use crate::wire::{put, Reader, TooShort};

/// `RNBD_PROTO_VER_MAJOR`: the only part of the version that travels.
pub(crate) const PROTO_VER_MAJOR: u8 = 2;
/// `RTRS_PORT`: the port an RNBD server listens on unless told otherwise.
pub(crate) const DEFAULT_PORT: u16 = 1234;

/// Size of `rnbd_msg_sess_info` and `rnbd_msg_sess_info_rsp`.
pub(crate) const SESS_INFO_LEN: usize = 36;
/// Size of `rnbd_msg_open`.
pub(crate) const OPEN_LEN: usize = 264;
/// Size of `rnbd_msg_open_rsp`.
pub(crate) const OPEN_RSP_LEN: usize = 56;
/// Size of `rnbd_msg_close`.
pub(crate) const CLOSE_LEN: usize = 8;
/// Size of `rnbd_msg_io` on LP64, as the C client sends it (26 bytes of fields).
pub(crate) const IO_LEN: usize = 32;
/// The fields of `rnbd_msg_io` before `prio`: the least a server accepts.
const IO_MIN_LEN: usize = 24;
/// The `dev_name` buffer of an OPEN (`NAME_MAX`).
const DEV_NAME_BUF: usize = 255;
/// The longest `dev_name` a client sends: the buffer keeps its NUL.
pub(crate) const DEV_NAME_MAX: usize = DEV_NAME_BUF - 1;
/// Offset of `dev_name` in an OPEN.
const DEV_NAME_OFF: usize = 6;

/// `RNBD_MSG_SESS_INFO`.
const MSG_SESS_INFO: u16 = 0;
/// `RNBD_MSG_SESS_INFO_RSP`.
const MSG_SESS_INFO_RSP: u16 = 1;
/// `RNBD_MSG_OPEN`.
const MSG_OPEN: u16 = 2;
/// `RNBD_MSG_OPEN_RSP`.
const MSG_OPEN_RSP: u16 = 3;
/// `RNBD_MSG_IO`.
const MSG_IO: u16 = 4;
/// `RNBD_MSG_CLOSE`.
const MSG_CLOSE: u16 = 5;

/// `RNBD_F_SYNC` in `rnbd_msg_io.rw`: the request is synchronous (`REQ_SYNC`).
pub(crate) const F_SYNC: u32 = 0x100;
/// `RNBD_F_FUA` in `rnbd_msg_io.rw`: force unit access (set for `REQ_FUA` and for
/// `REQ_PREFLUSH` alike).
pub(crate) const F_FUA: u32 = 0x200;
/// `RNBD_OP_MASK`: the op code bits of `rw`.
const OP_MASK: u32 = 0xff;

/// `RNBD_FUA` in `open_rsp.cache_policy`: the device honours FUA.
pub(crate) const CACHE_FUA: u8 = 0x1;
/// `RNBD_WRITEBACK` in `open_rsp.cache_policy`: the device has a volatile write cache.
pub(crate) const CACHE_WRITEBACK: u8 = 0x2;

/// What is wrong with a received message, or with one about to be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProtoError {
    /// Shorter than the fixed part of its type.
    TooShort,
    /// The header's type is not a request (server) or not the expected reply (client).
    BadType,
    /// `dev_name` is empty, has no NUL in its buffer, or is too long to send.
    BadName,
    /// An access mode other than ro, rw and migration.
    BadAccessMode,
    /// An op code other than the six of `rnbd_io_flags`.
    BadOp,
}

impl ProtoError {
    /// The positive errno a server answers for it, and a client's map fails with.
    pub(crate) fn errno(self) -> i32 {
        // EINVAL: the same for every case, as each is a malformed message.
        22
    }
}

/// `enum rnbd_access_mode`: how a client may use the device it opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AccessMode {
    /// `ro`: read only.
    Ro,
    /// `rw`: read-write, one writer at a time.
    Rw,
    /// `migration`: read-write while the device moves between hosts, a second writer allowed.
    Migration,
}

impl AccessMode {
    /// The mode of a wire value.
    pub(crate) fn from_wire(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Ro),
            1 => Some(Self::Rw),
            2 => Some(Self::Migration),
            _ => None,
        }
    }

    /// The wire value.
    pub(crate) fn wire(self) -> u8 {
        match self {
            Self::Ro => 0,
            Self::Rw => 1,
            Self::Migration => 2,
        }
    }

    /// The name sysfs shows and `access_mode=` takes.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Ro => "ro",
            Self::Rw => "rw",
            Self::Migration => "migration",
        }
    }

    /// The mode a name stands for (exact match, as C's `strcmp`).
    pub(crate) fn parse(name: &[u8]) -> Option<Self> {
        [Self::Ro, Self::Rw, Self::Migration]
            .into_iter()
            .find(|m| m.name().as_bytes() == name)
    }
}

/// The op code of an IO (`RNBD_OP_*`, bits 0-7 of `rw`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// `RNBD_OP_READ`.
    Read,
    /// `RNBD_OP_WRITE`.
    Write,
    /// `RNBD_OP_FLUSH`: an empty preflush write on the server.
    Flush,
    /// `RNBD_OP_DISCARD`.
    Discard,
    /// `RNBD_OP_SECURE_ERASE`.
    SecureErase,
    /// `RNBD_OP_WRITE_ZEROES`.
    WriteZeroes,
}

impl Op {
    /// The op of a wire code.
    pub(crate) fn from_wire(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Read),
            1 => Some(Self::Write),
            2 => Some(Self::Flush),
            3 => Some(Self::Discard),
            4 => Some(Self::SecureErase),
            5 => Some(Self::WriteZeroes),
            _ => None,
        }
    }

    /// The wire code.
    pub(crate) fn wire(self) -> u8 {
        match self {
            Self::Read => 0,
            Self::Write => 1,
            Self::Flush => 2,
            Self::Discard => 3,
            Self::SecureErase => 4,
            Self::WriteZeroes => 5,
        }
    }

    /// The RTRS direction C uses (`rq_data_dir`): odd op codes travel as RTRS WRITE, even
    /// ones (READ, FLUSH, SECURE_ERASE) as RTRS READ.
    pub(crate) fn is_write(self) -> bool {
        self.wire() & 1 == 1
    }

    /// Whether the request carries data pages (READ and WRITE only; C maps secure erase's
    /// empty page list too, wire protocol §17 item 6).
    pub(crate) fn has_data(self) -> bool {
        matches!(self, Self::Read | Self::Write)
    }

    /// Whether the op changes the device: refused on a read-only mapping.
    pub(crate) fn modifies(self) -> bool {
        matches!(
            self,
            Self::Write | Self::Discard | Self::SecureErase | Self::WriteZeroes
        )
    }
}

impl From<TooShort> for ProtoError {
    fn from(_: TooShort) -> Self {
        ProtoError::TooShort
    }
}

/// A zeroed message of `N` bytes with the header of `ty`.
fn with_hdr<const N: usize>(ty: u16) -> [u8; N] {
    let mut b = [0u8; N];
    put(&mut b, 0, &ty.to_le_bytes());
    b
}

/// The header type of a message at least `min` bytes long.
fn hdr_type(b: &[u8], min: usize) -> Result<u16, ProtoError> {
    let ty = Reader(b).u16(0)?;
    if b.len() < min {
        return Err(ProtoError::TooShort);
    }
    Ok(ty)
}

/// `rnbd_msg_sess_info`: the client's protocol version.
pub(crate) fn encode_sess_info(ver: u8) -> [u8; SESS_INFO_LEN] {
    let mut b = with_hdr(MSG_SESS_INFO);
    b[4] = ver;
    b
}

/// `rnbd_msg_sess_info_rsp`: the version the server settled on.
pub(crate) fn encode_sess_info_rsp(ver: u8) -> [u8; SESS_INFO_LEN] {
    let mut b = with_hdr(MSG_SESS_INFO_RSP);
    b[4] = ver;
    b
}

/// The server's version from a `rnbd_msg_sess_info_rsp`.
pub(crate) fn decode_sess_info_rsp(b: &[u8]) -> Result<u8, ProtoError> {
    if hdr_type(b, SESS_INFO_LEN)? != MSG_SESS_INFO_RSP {
        return Err(ProtoError::BadType);
    }
    Ok(Reader(b).u8(4)?)
}

/// `rnbd_msg_open`: open a device of the server by its path below `dev_search_path`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Open<'a> {
    /// How the client uses the device.
    pub(crate) access_mode: AccessMode,
    /// The device path as the user gave it, without NUL.
    pub(crate) dev_name: &'a [u8],
}

impl<'a> Open<'a> {
    /// The message, or [`ProtoError::BadName`] for a name that is empty, longer than
    /// [`DEV_NAME_MAX`] or has a NUL.
    pub(crate) fn encode(&self) -> Result<[u8; OPEN_LEN], ProtoError> {
        let name = self.dev_name;
        if name.is_empty() || name.len() > DEV_NAME_MAX || name.contains(&0) {
            return Err(ProtoError::BadName);
        }
        let mut b = with_hdr(MSG_OPEN);
        b[4] = self.access_mode.wire();
        put(&mut b, DEV_NAME_OFF, name);
        Ok(b)
    }

    fn decode(b: &'a [u8]) -> Result<Self, ProtoError> {
        let r = Reader(b);
        let access_mode = AccessMode::from_wire(r.u8(4)?).ok_or(ProtoError::BadAccessMode)?;
        let buf = &b[DEV_NAME_OFF..DEV_NAME_OFF + DEV_NAME_BUF];
        let len = buf
            .iter()
            .position(|&c| c == 0)
            .ok_or(ProtoError::BadName)?;
        if len == 0 {
            return Err(ProtoError::BadName);
        }
        Ok(Self {
            access_mode,
            dev_name: &buf[..len],
        })
    }
}

/// `rnbd_msg_close`: close a device opened in this session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Close {
    /// The id from the OPEN_RSP.
    pub(crate) device_id: u32,
}

impl Close {
    /// The message.
    pub(crate) fn encode(&self) -> [u8; CLOSE_LEN] {
        let mut b = with_hdr(MSG_CLOSE);
        put(&mut b, 4, &self.device_id.to_le_bytes());
        b
    }
}

/// `rnbd_msg_io`: the header of one block request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Io {
    /// The id from the OPEN_RSP.
    pub(crate) device_id: u32,
    /// First sector, in 512-byte units.
    pub(crate) sector: u64,
    /// The op code.
    pub(crate) op: Op,
    /// [`F_SYNC`] and [`F_FUA`]; other flag bits are dropped on decode, as C ignores them.
    pub(crate) flags: u32,
    /// Length in bytes (`blk_rq_bytes`).
    pub(crate) bi_size: u32,
    /// I/O priority of the request (0 when the sender's message has no room for it).
    pub(crate) prio: u16,
}

impl Io {
    /// The 32-byte message C clients send, padding zeroed.
    pub(crate) fn encode(&self) -> [u8; IO_LEN] {
        let mut b = with_hdr(MSG_IO);
        put(&mut b, 4, &self.device_id.to_le_bytes());
        put(&mut b, 8, &self.sector.to_le_bytes());
        let rw = u32::from(self.op.wire()) | (self.flags & (F_SYNC | F_FUA));
        put(&mut b, 16, &rw.to_le_bytes());
        put(&mut b, 20, &self.bi_size.to_le_bytes());
        put(&mut b, 24, &self.prio.to_le_bytes());
        b
    }

    fn decode(b: &[u8]) -> Result<Self, ProtoError> {
        let r = Reader(b);
        let rw = r.u32(16)?;
        // CAST: the op code is the low 8 bits of `rw` by definition.
        let op = Op::from_wire((rw & OP_MASK) as u8).ok_or(ProtoError::BadOp)?;
        Ok(Self {
            device_id: r.u32(4)?,
            sector: r.u64(8)?,
            op,
            flags: rw & (F_SYNC | F_FUA),
            bi_size: r.u32(20)?,
            prio: if b.len() >= IO_LEN { r.u16(24)? } else { 0 },
        })
    }
}

/// A request as the server receives it, every field checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Request<'a> {
    /// `RNBD_MSG_SESS_INFO` with the client's version.
    SessInfo {
        /// The client's protocol version.
        ver: u8,
    },
    /// `RNBD_MSG_OPEN`.
    Open(Open<'a>),
    /// `RNBD_MSG_CLOSE`.
    Close(Close),
    /// `RNBD_MSG_IO`.
    Io(Io),
}

impl<'a> Request<'a> {
    /// Decodes the user message of an RTRS request: the type, then the fixed size of that
    /// type (an IO without room for `prio` is accepted, as C clients on 32-bit would send).
    pub(crate) fn decode(usr: &'a [u8]) -> Result<Self, ProtoError> {
        let ty = Reader(usr).u16(0)?;
        match ty {
            MSG_SESS_INFO => Ok(Self::SessInfo {
                ver: Reader(&usr[..hdr_len(usr, SESS_INFO_LEN)?]).u8(4)?,
            }),
            MSG_OPEN => Open::decode(&usr[..hdr_len(usr, OPEN_LEN)?]).map(Self::Open),
            MSG_CLOSE => Ok(Self::Close(Close {
                device_id: Reader(&usr[..hdr_len(usr, CLOSE_LEN)?]).u32(4)?,
            })),
            MSG_IO => {
                hdr_len(usr, IO_MIN_LEN)?;
                Io::decode(usr).map(Self::Io)
            }
            _ => Err(ProtoError::BadType),
        }
    }
}

/// `min` if the message has at least that many bytes.
fn hdr_len(b: &[u8], min: usize) -> Result<usize, ProtoError> {
    if b.len() < min {
        return Err(ProtoError::TooShort);
    }
    Ok(min)
}

/// `rnbd_msg_open_rsp`: the opened device's id and geometry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct OpenRsp {
    /// Id of the device in this session, used by IO and CLOSE.
    pub(crate) device_id: u32,
    /// Capacity in 512-byte sectors.
    pub(crate) nsectors: u64,
    /// The server queue's `max_hw_sectors` (C clients ignore it).
    pub(crate) max_hw_sectors: u32,
    /// `max_write_zeroes_sectors` limit.
    pub(crate) max_write_zeroes_sectors: u32,
    /// `max_discard_sectors` limit.
    pub(crate) max_discard_sectors: u32,
    /// Discard granularity in bytes.
    pub(crate) discard_granularity: u32,
    /// Discard alignment in bytes.
    pub(crate) discard_alignment: u32,
    /// Physical block size in bytes.
    pub(crate) physical_block_size: u16,
    /// Logical block size in bytes; 0 makes a client refuse the device.
    pub(crate) logical_block_size: u16,
    /// The server queue's `max_segments` (C clients ignore it).
    pub(crate) max_segments: u16,
    /// Secure erase supported when non-zero (C sends the sector limit cut to 16 bits).
    pub(crate) secure_discard: u16,
    /// [`CACHE_FUA`] and [`CACHE_WRITEBACK`].
    pub(crate) cache_policy: u8,
}

impl OpenRsp {
    /// The message, reserved bytes and `obsolete_rotational` zeroed.
    pub(crate) fn encode(&self) -> [u8; OPEN_RSP_LEN] {
        let mut b = with_hdr(MSG_OPEN_RSP);
        put(&mut b, 4, &self.device_id.to_le_bytes());
        put(&mut b, 8, &self.nsectors.to_le_bytes());
        put(&mut b, 16, &self.max_hw_sectors.to_le_bytes());
        put(&mut b, 20, &self.max_write_zeroes_sectors.to_le_bytes());
        put(&mut b, 24, &self.max_discard_sectors.to_le_bytes());
        put(&mut b, 28, &self.discard_granularity.to_le_bytes());
        put(&mut b, 32, &self.discard_alignment.to_le_bytes());
        put(&mut b, 36, &self.physical_block_size.to_le_bytes());
        put(&mut b, 38, &self.logical_block_size.to_le_bytes());
        put(&mut b, 40, &self.max_segments.to_le_bytes());
        put(&mut b, 42, &self.secure_discard.to_le_bytes());
        b[45] = self.cache_policy;
        b
    }

    /// Decodes a reply to OPEN (the header type is checked, which C does not).
    pub(crate) fn decode(b: &[u8]) -> Result<Self, ProtoError> {
        if hdr_type(b, OPEN_RSP_LEN)? != MSG_OPEN_RSP {
            return Err(ProtoError::BadType);
        }
        let r = Reader(b);
        Ok(Self {
            device_id: r.u32(4)?,
            nsectors: r.u64(8)?,
            max_hw_sectors: r.u32(16)?,
            max_write_zeroes_sectors: r.u32(20)?,
            max_discard_sectors: r.u32(24)?,
            discard_granularity: r.u32(28)?,
            discard_alignment: r.u32(32)?,
            physical_block_size: r.u16(36)?,
            logical_block_size: r.u16(38)?,
            max_segments: r.u16(40)?,
            secure_discard: r.u16(42)?,
            cache_policy: r.u8(45)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sess_info_layout() {
        let b = encode_sess_info(2);
        assert_eq!(&b[..5], &[0, 0, 0, 0, 2]);
        assert!(b[5..].iter().all(|&c| c == 0));
        assert_eq!(Request::decode(&b), Ok(Request::SessInfo { ver: 2 }));
        assert_eq!(
            Request::decode(&b[..SESS_INFO_LEN - 1]),
            Err(ProtoError::TooShort)
        );
        let rsp = encode_sess_info_rsp(1);
        assert_eq!(&rsp[..5], &[1, 0, 0, 0, 1]);
        assert_eq!(decode_sess_info_rsp(&rsp), Ok(1));
        assert_eq!(decode_sess_info_rsp(&b), Err(ProtoError::BadType));
        assert_eq!(decode_sess_info_rsp(&rsp[..4]), Err(ProtoError::TooShort));
    }

    #[test]
    fn open_round_trip_and_checks() {
        let open = Open {
            access_mode: AccessMode::Migration,
            dev_name: b"/dev/ram0",
        };
        let b = open.encode().unwrap();
        assert_eq!(&b[..7], &[2, 0, 0, 0, 2, 0, b'/']);
        assert_eq!(b[DEV_NAME_OFF + 9], 0);
        assert_eq!(Request::decode(&b), Ok(Request::Open(open)));

        let long = [b'a'; DEV_NAME_MAX];
        let b = Open {
            access_mode: AccessMode::Ro,
            dev_name: &long,
        }
        .encode()
        .unwrap();
        match Request::decode(&b) {
            Ok(Request::Open(o)) => assert_eq!(o.dev_name.len(), DEV_NAME_MAX),
            other => panic!("{other:?}"),
        }
        let too_long = [b'a'; DEV_NAME_MAX + 1];
        for name in [&b""[..], &too_long[..], b"a\0b"] {
            let o = Open {
                access_mode: AccessMode::Rw,
                dev_name: name,
            };
            assert_eq!(o.encode(), Err(ProtoError::BadName));
        }

        // A peer's name without NUL in its 255 bytes, an empty one, a bad mode, a short one.
        let mut bad = b;
        bad[DEV_NAME_OFF + DEV_NAME_MAX] = b'a';
        assert_eq!(Request::decode(&bad), Err(ProtoError::BadName));
        let mut bad = b;
        bad[DEV_NAME_OFF] = 0;
        assert_eq!(Request::decode(&bad), Err(ProtoError::BadName));
        let mut bad = b;
        bad[4] = 3;
        assert_eq!(Request::decode(&bad), Err(ProtoError::BadAccessMode));
        assert_eq!(
            Request::decode(&b[..OPEN_LEN - 1]),
            Err(ProtoError::TooShort)
        );
    }

    #[test]
    fn close_layout() {
        let b = Close {
            device_id: 0x0102_0304,
        }
        .encode();
        assert_eq!(b, [5, 0, 0, 0, 4, 3, 2, 1]);
        assert_eq!(
            Request::decode(&b),
            Ok(Request::Close(Close {
                device_id: 0x0102_0304
            }))
        );
        assert_eq!(Request::decode(&b[..7]), Err(ProtoError::TooShort));
    }

    #[test]
    fn io_layout_and_flags() {
        let io = Io {
            device_id: 7,
            sector: 0x1122_3344_5566_7788,
            op: Op::Flush,
            flags: F_SYNC | F_FUA,
            bi_size: 4096,
            prio: 0x4003,
        };
        let b = io.encode();
        assert_eq!(&b[..4], &[4, 0, 0, 0]);
        assert_eq!(&b[4..8], &7u32.to_le_bytes());
        assert_eq!(&b[8..16], &0x1122_3344_5566_7788u64.to_le_bytes());
        // A block-layer flush: rw = 0x302 (wire protocol §14.7).
        assert_eq!(&b[16..20], &0x302u32.to_le_bytes());
        assert_eq!(&b[20..24], &4096u32.to_le_bytes());
        assert_eq!(&b[24..26], &0x4003u16.to_le_bytes());
        assert!(b[26..].iter().all(|&c| c == 0));
        assert_eq!(Request::decode(&b), Ok(Request::Io(io)));

        // Without room for prio (a 32-bit sender): priority 0.
        assert_eq!(
            Request::decode(&b[..IO_MIN_LEN]),
            Ok(Request::Io(Io { prio: 0, ..io }))
        );
        assert_eq!(
            Request::decode(&b[..IO_MIN_LEN - 1]),
            Err(ProtoError::TooShort)
        );
        // Unknown op codes are refused; unknown flag bits are dropped.
        let mut bad = b;
        bad[16] = 6;
        assert_eq!(Request::decode(&bad), Err(ProtoError::BadOp));
        let mut extra = b;
        extra[18] = 0x10;
        assert_eq!(Request::decode(&extra), Ok(Request::Io(io)));
    }

    #[test]
    fn op_directions() {
        let ops = [
            Op::Read,
            Op::Write,
            Op::Flush,
            Op::Discard,
            Op::SecureErase,
            Op::WriteZeroes,
        ];
        for (i, op) in ops.into_iter().enumerate() {
            assert_eq!(op.wire() as usize, i);
            assert_eq!(Op::from_wire(op.wire()), Some(op));
        }
        let writes: [bool; 6] = ops.map(Op::is_write);
        assert_eq!(writes, [false, true, false, true, false, true]);
        assert!(Op::Read.has_data() && Op::Write.has_data());
        assert!(!Op::Flush.has_data() && !Op::SecureErase.has_data());
        assert!(!Op::Read.modifies() && !Op::Flush.modifies() && Op::Discard.modifies());
        assert_eq!(Op::from_wire(6), None);
    }

    #[test]
    fn access_modes() {
        for m in [AccessMode::Ro, AccessMode::Rw, AccessMode::Migration] {
            assert_eq!(AccessMode::parse(m.name().as_bytes()), Some(m));
            assert_eq!(AccessMode::from_wire(m.wire()), Some(m));
        }
        assert_eq!(AccessMode::parse(b"RW"), None);
        assert_eq!(AccessMode::parse(b"r"), None);
        assert_eq!(AccessMode::from_wire(3), None);
    }

    #[test]
    fn open_rsp_round_trip() {
        let rsp = OpenRsp {
            device_id: 3,
            nsectors: 1 << 21,
            max_hw_sectors: 255,
            max_write_zeroes_sectors: 1 << 16,
            max_discard_sectors: u32::MAX,
            discard_granularity: 4096,
            discard_alignment: 512,
            physical_block_size: 4096,
            logical_block_size: 512,
            max_segments: 128,
            secure_discard: 0,
            cache_policy: CACHE_WRITEBACK | CACHE_FUA,
        };
        let b = rsp.encode();
        assert_eq!(&b[..4], &[3, 0, 0, 0]);
        assert_eq!(&b[36..40], &[0, 16, 0, 2]);
        assert_eq!(b[44], 0);
        assert_eq!(b[45], 3);
        assert!(b[46..].iter().all(|&c| c == 0));
        assert_eq!(OpenRsp::decode(&b), Ok(rsp));
        assert_eq!(OpenRsp::decode(&b[..55]), Err(ProtoError::TooShort));
        assert_eq!(
            OpenRsp::decode(&encode_sess_info_rsp(2)),
            Err(ProtoError::TooShort)
        );
        let mut bad = b;
        bad[0] = 1;
        assert_eq!(OpenRsp::decode(&bad), Err(ProtoError::BadType));
        assert_eq!(Request::decode(&b), Err(ProtoError::BadType));
        assert_eq!(Request::decode(&[]), Err(ProtoError::TooShort));
    }
}
