// SPDX-License-Identifier: GPL-2.0-or-later

//! RTRS wire messages: connection private data, path information, IO headers and the new
//! rkey of a chunk (wire protocol §4-§9).
//!
//! C header: `drivers/infiniband/ulp/rtrs/rtrs-pri.h` (`struct rtrs_msg_*`).
//!
//! Every field is little endian, every structure naturally aligned and not packed. Encoders
//! write whole messages with zeroed reserved bytes; decoders check every field a peer sends
//! before anything uses it, and say what was wrong. Pure logic: it builds for the host and is
//! unit-tested there.

use crate::wire::{put, Reader, TooShort};

/// `RTRS_MAGIC`.
pub(crate) const MAGIC: u16 = 0x1bbd;
/// `RTRS_PROTO_VER`: major 2, minor 0. Peers compare the major only.
pub(crate) const PROTO_VER: u16 = 0x0200;
const PROTO_VER_MAJOR: u16 = 2;
/// The most connections per path a server accepts.
pub(crate) const MAX_CID_NUM: u16 = 4096;
/// Size of the CONNECT (and ACCEPT / REJECT) private data.
pub(crate) const CONN_PRIV_LEN: usize = 56;
/// `NAME_MAX`: the session name buffer of an INFO_REQ.
pub(crate) const PATHNAME_LEN: usize = 255;
/// Size of an INFO_REQ.
pub(crate) const INFO_REQ_LEN: usize = 272;
/// Size of the INFO_RSP header before the descriptors.
pub(crate) const INFO_RSP_HDR_LEN: usize = 8;
/// Size of one `rtrs_sg_desc`.
pub(crate) const SG_DESC_LEN: usize = 16;
/// Size of `rtrs_msg_rdma_write`.
pub(crate) const WRITE_HDR_LEN: usize = 4;
/// Size of `rtrs_msg_rdma_read` without descriptors.
pub(crate) const READ_HDR_LEN: usize = 8;
/// The longest header the server accepts: a READ with one descriptor.
pub(crate) const MAX_IO_HDR_LEN: usize = READ_HDR_LEN + SG_DESC_LEN;
/// Size of `rtrs_msg_rkey_rsp`.
pub(crate) const RKEY_RSP_LEN: usize = 8;

/// `RTRS_MSG_INFO_REQ`.
pub(crate) const MSG_INFO_REQ: u16 = 0;
/// `RTRS_MSG_INFO_RSP`.
pub(crate) const MSG_INFO_RSP: u16 = 1;
/// `RTRS_MSG_WRITE`.
pub(crate) const MSG_WRITE: u16 = 2;
/// `RTRS_MSG_READ`.
pub(crate) const MSG_READ: u16 = 3;
/// `RTRS_MSG_RKEY_RSP`.
pub(crate) const MSG_RKEY_RSP: u16 = 4;

/// `RTRS_MSG_NEW_RKEY_F` in `ConnRsp::flags`: the server invalidates every chunk after each
/// IO and sends its new rkey (`always_invalidate`).
pub(crate) const NEW_RKEY_F: u32 = 0x2;
/// `RTRS_MSG_NEED_INVAL_F` in a READ: the client wants its MR invalidated by the server.
pub(crate) const NEED_INVAL_F: u16 = 0x1;

/// What is wrong with a received message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MsgError {
    /// Shorter than its fixed part, or than its descriptors.
    TooShort,
    /// `magic` is not `RTRS_MAGIC`.
    BadMagic,
    /// The protocol major version is not 2.
    BadVersion,
    /// `cid_num` is 0 or above 4096, or `cid` is not below it.
    BadCid,
    /// The message type is not the one expected here.
    BadType,
    /// The session name has no NUL in its 255 bytes, is empty, or has a `/` or `.`.
    BadName,
    /// The descriptor count does not fit the queue depth or the immediate-data split.
    BadSgCnt,
    /// A descriptor's length is zero, not whole chunks, or the chunks do not add up; or its
    /// buffer wraps past the end of the address space.
    BadDesc,
    /// `usr_len` or the header does not fit the chunk before the header's offset.
    BadLength,
    /// A chunk index at or beyond the queue depth.
    BadId,
}

impl From<TooShort> for MsgError {
    fn from(_: TooShort) -> Self {
        MsgError::TooShort
    }
}

fn check_magic_version(r: &Reader<'_>, magic_off: usize) -> Result<(), MsgError> {
    if r.u16(magic_off)? != MAGIC {
        return Err(MsgError::BadMagic);
    }
    if r.u16(magic_off + 2)? >> 8 != PROTO_VER_MAJOR {
        return Err(MsgError::BadVersion);
    }
    Ok(())
}

/// `rtrs_msg_conn_req`: the client's CONNECT private data for one connection of a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConnReq {
    /// Connection index in the path.
    pub(crate) cid: u16,
    /// Connections in the path.
    pub(crate) cid_num: u16,
    /// Connect attempts of the path so far.
    pub(crate) recon_cnt: u16,
    /// The path's UUID.
    pub(crate) sess_uuid: [u8; 16],
    /// The session's UUID.
    pub(crate) paths_uuid: [u8; 16],
    /// The server may create a new session for `paths_uuid`.
    pub(crate) first_conn: bool,
}

impl ConnReq {
    /// The 56 bytes of private data (the two leading rdma_cm bytes stay zero).
    pub(crate) fn encode(&self) -> [u8; CONN_PRIV_LEN] {
        let mut b = [0u8; CONN_PRIV_LEN];
        put(&mut b, 2, &MAGIC.to_le_bytes());
        put(&mut b, 4, &PROTO_VER.to_le_bytes());
        put(&mut b, 6, &self.cid.to_le_bytes());
        put(&mut b, 8, &self.cid_num.to_le_bytes());
        put(&mut b, 10, &self.recon_cnt.to_le_bytes());
        put(&mut b, 12, &self.sess_uuid);
        put(&mut b, 28, &self.paths_uuid);
        b[44] = u8::from(self.first_conn);
        b
    }

    /// Decodes and checks CONNECT private data as the server receives it.
    pub(crate) fn decode(b: &[u8]) -> Result<Self, MsgError> {
        let r = Reader(b);
        if b.len() < CONN_PRIV_LEN {
            return Err(MsgError::TooShort);
        }
        check_magic_version(&r, 2)?;
        let req = Self {
            cid: r.u16(6)?,
            cid_num: r.u16(8)?,
            recon_cnt: r.u16(10)?,
            sess_uuid: r.bytes(12)?,
            paths_uuid: r.bytes(28)?,
            first_conn: r.u8(44)? & 1 != 0,
        };
        if req.cid_num == 0 || req.cid_num > MAX_CID_NUM || req.cid >= req.cid_num {
            return Err(MsgError::BadCid);
        }
        Ok(req)
    }
}

/// `rtrs_msg_conn_rsp`: the server's ACCEPT or REJECT private data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConnRsp {
    /// 0 on accept, a negative errno on reject.
    pub(crate) errno: i16,
    /// Chunks of the session.
    pub(crate) queue_depth: u16,
    /// Largest data part of one IO (chunk size minus `max_hdr_size`).
    pub(crate) max_io_size: u32,
    /// Largest user message plus RTRS header (the server's page size).
    pub(crate) max_hdr_size: u32,
    /// [`NEW_RKEY_F`] or 0.
    pub(crate) flags: u32,
}

impl ConnRsp {
    /// The private data of a REJECT carrying `errno` (negative).
    pub(crate) fn reject(errno: i16) -> Self {
        Self {
            errno,
            queue_depth: 0,
            max_io_size: 0,
            max_hdr_size: 0,
            flags: 0,
        }
    }

    /// The 56 bytes of private data.
    pub(crate) fn encode(&self) -> [u8; CONN_PRIV_LEN] {
        let mut b = [0u8; CONN_PRIV_LEN];
        put(&mut b, 0, &MAGIC.to_le_bytes());
        put(&mut b, 2, &PROTO_VER.to_le_bytes());
        put(&mut b, 4, &self.errno.to_le_bytes());
        put(&mut b, 6, &self.queue_depth.to_le_bytes());
        put(&mut b, 8, &self.max_io_size.to_le_bytes());
        put(&mut b, 12, &self.max_hdr_size.to_le_bytes());
        put(&mut b, 16, &self.flags.to_le_bytes());
        b
    }

    /// Decodes ACCEPT or REJECT private data; the caller looks at `errno`.
    pub(crate) fn decode(b: &[u8]) -> Result<Self, MsgError> {
        let r = Reader(b);
        if b.len() < CONN_PRIV_LEN {
            return Err(MsgError::TooShort);
        }
        check_magic_version(&r, 0)?;
        Ok(Self {
            errno: i16::from_le_bytes(r.bytes(4)?),
            queue_depth: r.u16(6)?,
            max_io_size: r.u32(8)?,
            max_hdr_size: r.u32(12)?,
            flags: r.u32(16)?,
        })
    }
}

/// Whether `name` is a valid session name: 1 to 254 bytes, no NUL, `/` or `.`.
pub(crate) fn valid_sessname(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() < PATHNAME_LEN
        && !name.iter().any(|c| matches!(c, 0 | b'/' | b'.'))
}

/// `rtrs_msg_info_req`: the session name, sent on connection 0 once all are established.
pub(crate) fn encode_info_req(sessname: &[u8]) -> Result<[u8; INFO_REQ_LEN], MsgError> {
    if !valid_sessname(sessname) {
        return Err(MsgError::BadName);
    }
    let mut b = [0u8; INFO_REQ_LEN];
    put(&mut b, 0, &MSG_INFO_REQ.to_le_bytes());
    put(&mut b, 2, sessname);
    Ok(b)
}

/// The session name of a received INFO_REQ, checked: NUL-terminated within its 255 bytes
/// (C trusts the peer here), and a valid name.
pub(crate) fn decode_info_req(b: &[u8]) -> Result<&[u8], MsgError> {
    let r = Reader(b);
    if b.len() < INFO_REQ_LEN {
        return Err(MsgError::TooShort);
    }
    if r.u16(0)? != MSG_INFO_REQ {
        return Err(MsgError::BadType);
    }
    let field = &b[2..2 + PATHNAME_LEN];
    let len = field
        .iter()
        .position(|&c| c == 0)
        .ok_or(MsgError::BadName)?;
    let name = &field[..len];
    if !valid_sessname(name) {
        return Err(MsgError::BadName);
    }
    Ok(name)
}

/// `rtrs_sg_desc`: a remote buffer (address, rkey, length).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SgDesc {
    /// Remote address (the MR's iova).
    pub(crate) addr: u64,
    /// Remote key.
    pub(crate) key: u32,
    /// Length in bytes.
    pub(crate) len: u32,
}

impl SgDesc {
    fn put(&self, b: &mut [u8], off: usize) {
        put(b, off, &self.addr.to_le_bytes());
        put(b, off + 8, &self.key.to_le_bytes());
        put(b, off + 12, &self.len.to_le_bytes());
    }
    fn get(r: &Reader<'_>, off: usize) -> Result<Self, MsgError> {
        Ok(Self {
            addr: r.u64(off)?,
            key: r.u32(off + 8)?,
            len: r.u32(off + 12)?,
        })
    }
}

/// Size of an INFO_RSP with `sg_cnt` descriptors.
pub(crate) fn info_rsp_len(sg_cnt: usize) -> usize {
    INFO_RSP_HDR_LEN + SG_DESC_LEN * sg_cnt
}

/// Writes an INFO_RSP with `descs` into `buf`; returns its length. `buf` must hold
/// [`info_rsp_len`] of the descriptor count, which must fit a `u16`.
pub(crate) fn encode_info_rsp(buf: &mut [u8], descs: &[SgDesc]) -> Result<usize, MsgError> {
    let len = info_rsp_len(descs.len());
    let sg_cnt = u16::try_from(descs.len()).map_err(|_| MsgError::BadSgCnt)?;
    let buf = buf.get_mut(..len).ok_or(MsgError::TooShort)?;
    buf.fill(0);
    put(buf, 0, &MSG_INFO_RSP.to_le_bytes());
    put(buf, 2, &sg_cnt.to_le_bytes());
    for (i, d) in descs.iter().enumerate() {
        d.put(buf, info_rsp_len(i));
    }
    Ok(len)
}

/// A received INFO_RSP, checked against the session's queue depth and chunk size.
pub(crate) struct InfoRsp<'a> {
    r: Reader<'a>,
    sg_cnt: usize,
    chunk_size: u32,
}

impl<'a> InfoRsp<'a> {
    /// Checks an INFO_RSP as the client does (wire protocol §5.3), and also that the chunk
    /// index and offset fit the immediate data and that no buffer wraps past the end of the
    /// address space.
    pub(crate) fn decode(b: &'a [u8], queue_depth: u16, chunk_size: u32) -> Result<Self, MsgError> {
        use crate::imm::{index_bits, PAYLOAD_BITS};
        let r = Reader(b);
        if r.u16(0)? != MSG_INFO_RSP {
            return Err(MsgError::BadType);
        }
        let sg_cnt = r.u16(2)?;
        if b.len() < info_rsp_len(sg_cnt.into()) {
            return Err(MsgError::TooShort);
        }
        if sg_cnt == 0 || queue_depth % sg_cnt != 0 {
            return Err(MsgError::BadSgCnt);
        }
        // C checks the descriptor count here; the chunk index is what must fit.
        if index_bits(queue_depth.into()) + index_bits(chunk_size) > PAYLOAD_BITS
            || index_bits(sg_cnt.into()) + index_bits(chunk_size) > PAYLOAD_BITS
        {
            return Err(MsgError::BadSgCnt);
        }
        let rsp = Self {
            r,
            sg_cnt: sg_cnt.into(),
            chunk_size,
        };
        let mut total: u64 = 0;
        for i in 0..rsp.sg_cnt {
            let d = SgDesc::get(&rsp.r, info_rsp_len(i))?;
            if d.len == 0 || chunk_size == 0 || d.len % chunk_size != 0 {
                return Err(MsgError::BadDesc);
            }
            // `chunks` adds chunk offsets to `addr`: the last byte must not wrap (C wraps).
            if d.addr.checked_add(u64::from(d.len - 1)).is_none() {
                return Err(MsgError::BadDesc);
            }
            total += u64::from(d.len);
        }
        if total != u64::from(chunk_size) * u64::from(queue_depth) {
            return Err(MsgError::BadDesc);
        }
        Ok(rsp)
    }

    /// The remote address and rkey of every chunk, in chunk order.
    pub(crate) fn chunks(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        (0..self.sg_cnt).flat_map(move |i| {
            // `decode` read every descriptor successfully.
            let d = SgDesc::get(&self.r, info_rsp_len(i)).unwrap_or_default();
            // `decode` refused a zero chunk size.
            let n = d.len.checked_div(self.chunk_size).unwrap_or(0);
            (0..n).map(move |k| (d.addr + u64::from(k) * u64::from(self.chunk_size), d.key))
        })
    }
}

/// The RTRS header of a request, found at the offset the immediate data gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IoHdr {
    /// `rtrs_msg_rdma_write`: data, then `usr_len` bytes of user message, then this.
    Write {
        /// Length of the user message before the header.
        usr_len: u16,
    },
    /// `rtrs_msg_rdma_read`: the client's buffer for the data, if any.
    Read {
        /// Length of the user message before the header.
        usr_len: u16,
        /// The client asked for remote invalidation of its MR.
        need_inval: bool,
        /// Where to write the data (`sg_cnt` 1), or nothing (`sg_cnt` 0).
        desc: Option<SgDesc>,
    },
}

impl IoHdr {
    /// Length of the user message.
    pub(crate) fn usr_len(&self) -> u16 {
        match self {
            Self::Write { usr_len } | Self::Read { usr_len, .. } => *usr_len,
        }
    }

    /// Writes the header into `buf` (which must hold [`Self::len`] bytes); returns its length.
    pub(crate) fn encode(&self, buf: &mut [u8]) -> Result<usize, MsgError> {
        let len = self.len();
        let buf = buf.get_mut(..len).ok_or(MsgError::TooShort)?;
        buf.fill(0);
        match self {
            Self::Write { usr_len } => {
                put(buf, 0, &MSG_WRITE.to_le_bytes());
                put(buf, 2, &usr_len.to_le_bytes());
            }
            Self::Read {
                usr_len,
                need_inval,
                desc,
            } => {
                put(buf, 0, &MSG_READ.to_le_bytes());
                put(buf, 2, &usr_len.to_le_bytes());
                let flags = if *need_inval { NEED_INVAL_F } else { 0 };
                put(buf, 4, &flags.to_le_bytes());
                put(buf, 6, &u16::from(desc.is_some()).to_le_bytes());
                if let Some(d) = desc {
                    d.put(buf, READ_HDR_LEN);
                }
            }
        }
        Ok(len)
    }

    /// Length of the encoded header.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Write { .. } => WRITE_HDR_LEN,
            Self::Read { desc, .. } => READ_HDR_LEN + if desc.is_some() { SG_DESC_LEN } else { 0 },
        }
    }

    /// Decodes the header at `off` in a chunk, as the server does before handing the request
    /// up. Checks what C 6.12 does not: that the header lies inside the chunk, that the user
    /// message fits before it, and that a READ's descriptor length fits a chunk
    /// (`max_chunk_size` = `chunk.len()`).
    pub(crate) fn decode(chunk: &[u8], off: usize) -> Result<Self, MsgError> {
        Self::decode_at(chunk.get(off..).unwrap_or(&[]), off, chunk.len())
    }

    /// [`IoHdr::decode`] from a copy: `win` holds the bytes of a `chunk_len`-byte chunk from
    /// offset `off` on (at least [`MAX_IO_HDR_LEN`] of them, or up to the chunk's end).
    pub(crate) fn decode_at(win: &[u8], off: usize, chunk_len: usize) -> Result<Self, MsgError> {
        let r = Reader(win);
        let hdr = match r.u16(0)? {
            MSG_WRITE => Self::Write { usr_len: r.u16(2)? },
            MSG_READ => {
                let sg_cnt = r.u16(6)?;
                let desc = match sg_cnt {
                    0 => None,
                    1 => Some(SgDesc::get(&r, READ_HDR_LEN)?),
                    _ => return Err(MsgError::BadSgCnt),
                };
                if let Some(d) = desc {
                    if d.len == 0 || d.len as usize > chunk_len {
                        return Err(MsgError::BadDesc);
                    }
                }
                Self::Read {
                    usr_len: r.u16(2)?,
                    need_inval: r.u16(4)? & NEED_INVAL_F != 0,
                    desc,
                }
            }
            _ => return Err(MsgError::BadType),
        };
        if off
            .checked_add(hdr.len())
            .map_or(true, |end| end > chunk_len)
            || usize::from(hdr.usr_len()) > off
        {
            return Err(MsgError::BadLength);
        }
        // A READ's data is the `off - usr_len` bytes before the user message: the client
        // gets no more back (C 6.12 writes the whole descriptor length from the chunk,
        // which discloses what earlier requests left there: R25).
        if let Self::Read { desc: Some(d), .. } = hdr {
            if d.len as usize > off - usize::from(hdr.usr_len()) {
                return Err(MsgError::BadDesc);
            }
        }
        Ok(hdr)
    }
}

/// `rtrs_msg_rkey_rsp`: the new rkey of chunk `buf_id` (`always_invalidate` servers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RkeyRsp {
    /// The chunk index; equals the msg id of the response it rides with.
    pub(crate) buf_id: u16,
    /// The chunk MR's new rkey.
    pub(crate) rkey: u32,
}

impl RkeyRsp {
    /// The 8 bytes of the message.
    pub(crate) fn encode(&self) -> [u8; RKEY_RSP_LEN] {
        let mut b = [0u8; RKEY_RSP_LEN];
        put(&mut b, 0, &MSG_RKEY_RSP.to_le_bytes());
        put(&mut b, 2, &self.buf_id.to_le_bytes());
        put(&mut b, 4, &self.rkey.to_le_bytes());
        b
    }

    /// Decodes a received RKEY_RSP and checks `buf_id` against the queue depth.
    pub(crate) fn decode(b: &[u8], queue_depth: u16) -> Result<Self, MsgError> {
        let r = Reader(b);
        if r.u16(0)? != MSG_RKEY_RSP {
            return Err(MsgError::BadType);
        }
        let rsp = Self {
            buf_id: r.u16(2)?,
            rkey: r.u32(4)?,
        };
        if rsp.buf_id >= queue_depth {
            return Err(MsgError::BadId);
        }
        Ok(rsp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> ConnReq {
        ConnReq {
            cid: 3,
            cid_num: 4,
            recon_cnt: 1,
            sess_uuid: [0x11; 16],
            paths_uuid: [0x22; 16],
            first_conn: true,
        }
    }

    #[test]
    fn conn_req_layout_matches_c() {
        let b = req().encode();
        assert_eq!(&b[..12], &[0, 0, 0xbd, 0x1b, 0x00, 0x02, 3, 0, 4, 0, 1, 0]);
        assert_eq!(&b[12..28], &[0x11; 16]);
        assert_eq!(&b[28..44], &[0x22; 16]);
        assert_eq!(b[44], 1);
        assert_eq!(&b[45..], &[0; 11]);
        assert_eq!(ConnReq::decode(&b), Ok(req()));
    }

    #[test]
    fn conn_req_checks_what_the_server_checks() {
        let good = req().encode();
        assert_eq!(ConnReq::decode(&good[..55]), Err(MsgError::TooShort));
        let mut b = good;
        b[2] = 0;
        assert_eq!(ConnReq::decode(&b), Err(MsgError::BadMagic));
        let mut b = good;
        b[5] = 3;
        assert_eq!(ConnReq::decode(&b), Err(MsgError::BadVersion));
        // Minor versions are accepted.
        let mut b = good;
        b[4] = 7;
        assert!(ConnReq::decode(&b).is_ok());
        let bad = |cid: u16, cid_num: u16| {
            ConnReq {
                cid,
                cid_num,
                ..req()
            }
            .encode()
        };
        assert_eq!(ConnReq::decode(&bad(4, 4)), Err(MsgError::BadCid));
        assert_eq!(ConnReq::decode(&bad(0, 4097)), Err(MsgError::BadCid));
        assert_eq!(ConnReq::decode(&bad(0, 0)), Err(MsgError::BadCid));
        assert!(ConnReq::decode(&bad(4095, 4096)).is_ok());
        // Reserved bits of the first_conn byte are ignored.
        let mut b = good;
        b[44] = 0xfe;
        assert!(!ConnReq::decode(&b).unwrap().first_conn);
    }

    #[test]
    fn conn_rsp_layout_matches_c() {
        let rsp = ConnRsp {
            errno: 0,
            queue_depth: 512,
            max_io_size: 126976,
            max_hdr_size: 4096,
            flags: NEW_RKEY_F,
        };
        let b = rsp.encode();
        assert_eq!(
            &b[..20],
            &[0xbd, 0x1b, 0, 2, 0, 0, 0, 2, 0, 0xf0, 1, 0, 0, 0x10, 0, 0, 2, 0, 0, 0]
        );
        assert_eq!(ConnRsp::decode(&b), Ok(rsp));
        let rej = ConnRsp::reject(-16).encode();
        assert_eq!(&rej[4..6], &[0xf0, 0xff]);
        assert_eq!(ConnRsp::decode(&rej).unwrap().errno, -16);
        assert_eq!(ConnRsp::decode(&rej[..40]), Err(MsgError::TooShort));
    }

    #[test]
    fn info_req_names_are_checked() {
        let b = encode_info_req(b"sess-a").unwrap();
        assert_eq!(b.len(), 272);
        assert_eq!(&b[..9], b"\0\0sess-a\0");
        assert_eq!(decode_info_req(&b), Ok(&b"sess-a"[..]));
        assert_eq!(encode_info_req(b"a/b"), Err(MsgError::BadName));
        assert_eq!(encode_info_req(b"a.b"), Err(MsgError::BadName));
        assert_eq!(encode_info_req(b""), Err(MsgError::BadName));
        assert_eq!(encode_info_req(&[b'x'; 255]), Err(MsgError::BadName));
        assert!(encode_info_req(&[b'x'; 254]).is_ok());
        // A peer's name without NUL in its 255 bytes is refused (C reads past it).
        let mut b = [b'x'; 272];
        b[0] = 0;
        b[1] = 0;
        assert_eq!(decode_info_req(&b), Err(MsgError::BadName));
        let mut b = encode_info_req(b"ok").unwrap();
        b[3] = b'.';
        assert_eq!(decode_info_req(&b), Err(MsgError::BadName));
        assert_eq!(decode_info_req(&b[..271]), Err(MsgError::TooShort));
        b[0] = 1;
        assert_eq!(decode_info_req(&b), Err(MsgError::BadType));
    }

    #[test]
    fn info_rsp_maps_every_chunk() {
        let chunk = 128 * 1024;
        let descs = [
            SgDesc {
                addr: 0x1000_0000,
                key: 7,
                len: 2 * chunk,
            },
            SgDesc {
                addr: 0x2000_0000,
                key: 8,
                len: 2 * chunk,
            },
        ];
        let mut buf = [0xaau8; 64];
        let n = encode_info_rsp(&mut buf, &descs).unwrap();
        assert_eq!(n, 40);
        assert_eq!(&buf[..8], &[1, 0, 2, 0, 0, 0, 0, 0]);
        let rsp = InfoRsp::decode(&buf[..n], 4, chunk).unwrap();
        let got: Vec<_> = rsp.chunks().collect();
        assert_eq!(
            got,
            [
                (0x1000_0000, 7),
                (0x1002_0000, 7),
                (0x2000_0000, 8),
                (0x2002_0000, 8)
            ]
        );
    }

    #[test]
    fn info_rsp_checks_what_the_client_checks() {
        let chunk = 128 * 1024;
        let enc = |descs: &[SgDesc]| {
            let mut buf = vec![0u8; info_rsp_len(descs.len())];
            encode_info_rsp(&mut buf, descs).unwrap();
            buf
        };
        let one = |len| SgDesc {
            addr: 0,
            key: 1,
            len,
        };
        assert_eq!(
            InfoRsp::decode(&enc(&[]), 4, chunk).err(),
            Some(MsgError::BadSgCnt)
        );
        // Three descriptors for a queue depth of 4.
        let b = enc(&[one(chunk), one(chunk), one(2 * chunk)]);
        assert_eq!(
            InfoRsp::decode(&b, 4, chunk).err(),
            Some(MsgError::BadSgCnt)
        );
        // Lengths not in whole chunks, zero, or not adding up to the queue depth.
        let b = enc(&[one(chunk + 1), one(3 * chunk - 1)]);
        assert_eq!(InfoRsp::decode(&b, 4, chunk).err(), Some(MsgError::BadDesc));
        let b = enc(&[one(0), one(4 * chunk)]);
        assert_eq!(InfoRsp::decode(&b, 4, chunk).err(), Some(MsgError::BadDesc));
        let b = enc(&[one(chunk), one(chunk)]);
        assert_eq!(InfoRsp::decode(&b, 4, chunk).err(), Some(MsgError::BadDesc));
        // Truncated descriptors.
        let b = enc(&[one(2 * chunk), one(2 * chunk)]);
        assert_eq!(
            InfoRsp::decode(&b[..30], 4, chunk).err(),
            Some(MsgError::TooShort)
        );
        // A queue depth whose chunk index and offset do not fit 28 bits.
        let b = enc(&[one(chunk); 1]);
        assert_eq!(
            InfoRsp::decode(&b, 65535, chunk).err(),
            Some(MsgError::BadSgCnt)
        );
        let mut b = enc(&[one(4 * chunk)]);
        b[0] = 0;
        assert_eq!(InfoRsp::decode(&b, 4, chunk).err(), Some(MsgError::BadType));
        // Buffers that wrap past the end of the address space (from u64::MAX, the second
        // chunk's address overflowed in `chunks`); one that ends exactly at its end.
        let at = |addr| SgDesc {
            addr,
            key: 1,
            len: 4 * chunk,
        };
        for addr in [u64::MAX, u64::MAX - u64::from(4 * chunk) + 2] {
            let b = enc(&[at(addr)]);
            assert_eq!(InfoRsp::decode(&b, 4, chunk).err(), Some(MsgError::BadDesc));
        }
        let b = enc(&[at(u64::MAX - u64::from(4 * chunk) + 1)]);
        let last = InfoRsp::decode(&b, 4, chunk).unwrap().chunks().last();
        assert_eq!(last, Some((u64::MAX - u64::from(chunk) + 1, 1)));
    }

    #[test]
    fn io_headers_round_trip_and_match_c() {
        let mut chunk = [0u8; 8192];
        let w = IoHdr::Write { usr_len: 32 };
        assert_eq!(w.encode(&mut chunk[4128..]).unwrap(), 4);
        assert_eq!(&chunk[4128..4132], &[2, 0, 32, 0]);
        assert_eq!(IoHdr::decode(&chunk, 4128), Ok(w));

        let r = IoHdr::Read {
            usr_len: 32,
            need_inval: true,
            desc: Some(SgDesc {
                addr: 0xdead_beef,
                key: 0x1234,
                len: 4096,
            }),
        };
        assert_eq!(r.encode(&mut chunk[4128..]).unwrap(), 24);
        assert_eq!(&chunk[4128..4136], &[3, 0, 32, 0, 1, 0, 1, 0]);
        assert_eq!(IoHdr::decode(&chunk, 4128), Ok(r));
        // 4096 bytes of data, then the 32-byte user message at 4096: a READ of at most 4096.
        assert_eq!(r.encode(&mut chunk[4127..]).unwrap(), 24);
        assert_eq!(IoHdr::decode(&chunk, 4127), Err(MsgError::BadDesc));
        let flush = IoHdr::Read {
            usr_len: 32,
            need_inval: false,
            desc: None,
        };
        assert_eq!(flush.encode(&mut chunk[32..]).unwrap(), 8);
        assert_eq!(IoHdr::decode(&chunk, 32), Ok(flush));
    }

    #[test]
    fn io_headers_from_a_hostile_peer_are_refused() {
        let mut chunk = [0u8; 8192];
        // The user message cannot start before the chunk.
        IoHdr::Write { usr_len: 33 }
            .encode(&mut chunk[32..])
            .unwrap();
        assert_eq!(IoHdr::decode(&chunk, 32), Err(MsgError::BadLength));
        // The header must lie inside the chunk.
        assert_eq!(IoHdr::decode(&chunk, 8191), Err(MsgError::TooShort));
        chunk[8190] = 2;
        assert_eq!(IoHdr::decode(&chunk, 8190), Err(MsgError::TooShort));
        IoHdr::Write { usr_len: 0 }
            .encode(&mut chunk[8188..])
            .unwrap();
        assert!(IoHdr::decode(&chunk, 8188).is_ok());
        let rd = IoHdr::Read {
            usr_len: 0,
            need_inval: false,
            desc: Some(SgDesc::default()),
        };
        rd.encode(&mut chunk[8168..]).unwrap();
        assert_eq!(IoHdr::decode(&chunk, 8176), Err(MsgError::BadType));
        // sg_cnt other than 0 or 1, zero or oversized descriptor lengths.
        chunk[..8].copy_from_slice(&[3, 0, 0, 0, 0, 0, 2, 0]);
        assert_eq!(IoHdr::decode(&chunk, 0), Err(MsgError::BadSgCnt));
        let big = IoHdr::Read {
            usr_len: 0,
            need_inval: false,
            desc: Some(SgDesc {
                addr: 0,
                key: 0,
                len: 8193,
            }),
        };
        big.encode(&mut chunk[..]).unwrap();
        assert_eq!(IoHdr::decode(&chunk, 0), Err(MsgError::BadDesc));
        rd.encode(&mut chunk[..]).unwrap();
        assert_eq!(IoHdr::decode(&chunk, 0), Err(MsgError::BadDesc));
        chunk[..2].copy_from_slice(&[9, 0]);
        assert_eq!(IoHdr::decode(&chunk, 0), Err(MsgError::BadType));
    }

    #[test]
    fn rkey_rsp_layout_and_checks() {
        let r = RkeyRsp {
            buf_id: 17,
            rkey: 0x0102_0304,
        };
        let b = r.encode();
        assert_eq!(b, [4, 0, 17, 0, 4, 3, 2, 1]);
        assert_eq!(RkeyRsp::decode(&b, 512), Ok(r));
        assert_eq!(RkeyRsp::decode(&b, 17), Err(MsgError::BadId));
        assert_eq!(RkeyRsp::decode(&b[..7], 512), Err(MsgError::TooShort));
        let mut b = b;
        b[0] = 1;
        assert_eq!(RkeyRsp::decode(&b, 512), Err(MsgError::BadType));
    }
}
