// SPDX-License-Identifier: GPL-2.0-or-later

//! The 32-bit immediate data of RTRS work requests (wire protocol §7).
//!
//! C version: `rtrs_to_imm`, `rtrs_from_imm`, `rtrs_to_io_req_imm`, `rtrs_to_io_rsp_imm` in
//! `drivers/infiniband/ulp/rtrs/rtrs-pri.h`.
//!
//! ```text
//!  31      28 27                     0
//! +----------+------------------------+
//! |  type(4) |       payload (28)     |
//! +----------+------------------------+
//! ```
//!
//! Pure logic: it builds for the host and is unit-tested there.

/// Bits of the type field.
const TYPE_BITS: u32 = 4;
/// Bits of the payload.
pub(crate) const PAYLOAD_BITS: u32 = 28;
const PAYLOAD_MASK: u32 = (1 << PAYLOAD_BITS) - 1;

/// `RTRS_IO_REQ_IMM`: client to server, a request is in a chunk.
const IO_REQ: u32 = 0;
/// `RTRS_IO_RSP_IMM`: server to client, a request is answered.
const IO_RSP: u32 = 1;
/// `RTRS_IO_RSP_W_INV_IMM`: as `IO_RSP`, and the client's MR was remotely invalidated.
const IO_RSP_W_INV: u32 = 2;
/// `RTRS_HB_MSG_IMM`: heartbeat.
const HB_MSG: u32 = 8;
/// `RTRS_HB_ACK_IMM`: heartbeat answer.
const HB_ACK: u32 = 9;

/// Bits of the msg id in a response payload; the errno sits above them.
const MSG_ID_BITS: u32 = 19;
const MSG_ID_MASK: u32 = (1 << MSG_ID_BITS) - 1;
/// The errno of a response keeps 9 bits: larger values are truncated, as in C.
const ERRNO_MASK: u32 = 0x1ff;

/// A decoded immediate value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Imm {
    /// A request: its header ends `off` bytes into chunk `buf_id`.
    IoReq {
        /// The chunk (= permit) index.
        buf_id: u32,
        /// Offset of the RTRS message header in the chunk.
        off: u32,
    },
    /// A response to the request in chunk `msg_id`, with a zero or negative errno.
    IoRsp {
        /// The chunk index of the answered request.
        msg_id: u32,
        /// 0 or a negative errno (at most 511 in magnitude).
        errno: i32,
        /// The server already invalidated the client's MR (`RTRS_IO_RSP_W_INV_IMM`).
        w_inv: bool,
    },
    /// A heartbeat.
    HbMsg,
    /// A heartbeat answer.
    HbAck,
    /// A type this protocol version does not define: logged and ignored by the receiver.
    Unknown(u32),
}

/// The split of a request payload into chunk index and offset, fixed by the queue depth.
///
/// # Invariants
///
/// `mem_bits <= PAYLOAD_BITS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ImmLayout {
    mem_bits: u32,
}

/// Bits needed to number `n` items (`ilog2(n - 1) + 1`, 0 for n <= 1), as C computes them.
pub(crate) fn index_bits(n: u32) -> u32 {
    if n <= 1 {
        0
    } else {
        u32::BITS - (n - 1).leading_zeros()
    }
}

impl ImmLayout {
    /// The layout for a session of `queue_depth` chunks (`MAX_SESS_QUEUE_DEPTH` is 65535, so
    /// the chunk index never takes more than 16 of the 28 bits).
    pub(crate) fn new(queue_depth: u16) -> Self {
        // INVARIANT: `index_bits` of a `u16` is at most 16.
        Self {
            mem_bits: PAYLOAD_BITS - index_bits(queue_depth.into()),
        }
    }

    /// Bits left for the offset inside a chunk.
    pub(crate) fn mem_bits(self) -> u32 {
        self.mem_bits
    }

    /// The immediate value of a request whose header ends `off` bytes into chunk `buf_id`.
    /// The caller keeps `buf_id` below the queue depth and `off` below the chunk size, which
    /// the INFO_RSP checks make fit.
    pub(crate) fn io_req(self, buf_id: u32, off: u32) -> u32 {
        pack(
            IO_REQ,
            (buf_id << self.mem_bits) | (off & ((1 << self.mem_bits) - 1)),
        )
    }

    /// Decodes a received immediate value.
    pub(crate) fn decode(self, imm: u32) -> Imm {
        let payload = imm & PAYLOAD_MASK;
        match imm >> PAYLOAD_BITS {
            IO_REQ => Imm::IoReq {
                buf_id: payload >> self.mem_bits,
                off: payload & ((1u32 << self.mem_bits) - 1),
            },
            t @ (IO_RSP | IO_RSP_W_INV) => Imm::IoRsp {
                msg_id: payload & MSG_ID_MASK,
                // CAST: at most 9 bits, so the value fits an `i32` unchanged.
                errno: -((payload >> MSG_ID_BITS) as i32),
                w_inv: t == IO_RSP_W_INV,
            },
            HB_MSG => Imm::HbMsg,
            HB_ACK => Imm::HbAck,
            t => Imm::Unknown(t),
        }
    }
}

const fn pack(kind: u32, payload: u32) -> u32 {
    (kind << PAYLOAD_BITS) | (payload & PAYLOAD_MASK)
}

/// The immediate value of a response to chunk `msg_id` with `errno` (0 or negative; only its
/// low 9 bits of magnitude travel).
pub(crate) fn io_rsp(msg_id: u32, errno: i32, w_inv: bool) -> u32 {
    let errno9 = errno.unsigned_abs() & ERRNO_MASK;
    let kind = if w_inv { IO_RSP_W_INV } else { IO_RSP };
    pack(kind, (errno9 << MSG_ID_BITS) | (msg_id & MSG_ID_MASK))
}

/// The immediate value of a heartbeat (`0x80000000`).
pub(crate) const HB_MSG_IMM: u32 = pack(HB_MSG, 0);
/// The immediate value of a heartbeat answer (`0x90000000`).
pub(crate) const HB_ACK_IMM: u32 = pack(HB_ACK, 0);

// The type field and the payload fill the 32 bits.
const _: () = assert!(TYPE_BITS + PAYLOAD_BITS == 32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeats_match_c() {
        assert_eq!(HB_MSG_IMM, 0x8000_0000);
        assert_eq!(HB_ACK_IMM, 0x9000_0000);
        let l = ImmLayout::new(512);
        assert_eq!(l.decode(HB_MSG_IMM), Imm::HbMsg);
        assert_eq!(l.decode(HB_ACK_IMM), Imm::HbAck);
    }

    #[test]
    fn layout_follows_queue_depth() {
        // Default queue depth 512: buf_id in bits 27..19, offset in 18..0.
        assert_eq!(ImmLayout::new(512).mem_bits(), 19);
        assert_eq!(ImmLayout::new(1).mem_bits(), 28);
        assert_eq!(ImmLayout::new(2).mem_bits(), 27);
        assert_eq!(ImmLayout::new(513).mem_bits(), 18);
        assert_eq!(ImmLayout::new(65535).mem_bits(), 12);
    }

    #[test]
    fn io_req_round_trips() {
        let l = ImmLayout::new(512);
        let imm = l.io_req(511, 4096 + 36);
        assert_eq!(imm, (511 << 19) | 4132);
        assert_eq!(
            l.decode(imm),
            Imm::IoReq {
                buf_id: 511,
                off: 4132
            }
        );
        let l = ImmLayout::new(1);
        assert_eq!(
            l.decode(l.io_req(0, 131071)),
            Imm::IoReq {
                buf_id: 0,
                off: 131071
            }
        );
    }

    #[test]
    fn io_rsp_carries_nine_bits_of_errno() {
        let l = ImmLayout::new(128);
        assert_eq!(io_rsp(5, 0, false), (1 << 28) | 5);
        assert_eq!(
            l.decode(io_rsp(5, -5, false)),
            Imm::IoRsp {
                msg_id: 5,
                errno: -5,
                w_inv: false
            }
        );
        assert_eq!(
            l.decode(io_rsp(7, -22, true)),
            Imm::IoRsp {
                msg_id: 7,
                errno: -22,
                w_inv: true
            }
        );
        // As in C, an errno above 511 loses its high bits (EHWPOISON 133 fits, 512 does not).
        assert_eq!(
            l.decode(io_rsp(1, -512, false)),
            Imm::IoRsp {
                msg_id: 1,
                errno: 0,
                w_inv: false
            }
        );
        // A positive errno is sent as its magnitude and comes back negative.
        assert_eq!(
            l.decode(io_rsp(1, 5, false)),
            Imm::IoRsp {
                msg_id: 1,
                errno: -5,
                w_inv: false
            }
        );
    }

    #[test]
    fn unknown_types_are_reported() {
        assert_eq!(ImmLayout::new(512).decode(0xF000_0001), Imm::Unknown(15));
        assert_eq!(ImmLayout::new(512).decode(3 << 28), Imm::Unknown(3));
    }
}
