// SPDX-License-Identifier: GPL-2.0-or-later

//! Request slots: one per chunk of a path, with the header IU and the fast-registration
//! MR of the request in flight on that chunk (`struct rtrs_clt_io_req`).
//!
//! C version: [drivers/infiniband/ulp/rtrs/rtrs-clt.c](srctree/drivers/infiniband/ulp/rtrs/rtrs-clt.c)
//! (`rtrs_clt_write_req`, `rtrs_clt_read_req`, `complete_rdma_req`, `rtrs_inv_rkey`).
//!
//! A slot changes hands: the submitter fills it and posts, the completion (softirq) finishes
//! it. By protocol they never overlap, so the slot sits in a [`TryLock`]: a collision means
//! a peer answered a request that is not in flight, which is reported as a protocol error.

use crate::errno;
use crate::ffi_api::Conf;
use crate::imm::ImmLayout;
use crate::msg::{self, IoHdr, SgDesc};
use crate::path::Path;
use crate::rdma::cq::{Cqe, CqeHandler, Wc, WcOpcode, WcStatus};
use crate::rdma::device::Device;
use crate::rdma::dma::{DmaBuf, DmaDir, ForeignSg, MappedSg};
use crate::rdma::mr::Mr;
use crate::rdma::pd::Pd;
use crate::rdma::qp::Qp;
use crate::rdma::wr::{Access, SendWr, Sge};
use crate::sync::TryLock;
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::Arc;

/// Direction of a request, seen from the client.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Dir {
    /// The server writes data into the client's buffer.
    Read,
    /// The client writes data into the server's chunk.
    Write,
}

/// A request as the user hands it over.
pub(crate) struct Req<'a> {
    /// READ or WRITE.
    pub(crate) dir: Dir,
    /// Called once with the result.
    pub(crate) conf: Conf,
    /// The user message (copied into the header IU).
    pub(crate) usr: &'a [u8],
    /// Length of the data in `sg`.
    pub(crate) data_len: usize,
    /// The data, if any.
    pub(crate) sg: Option<ForeignSg>,
}

/// A request that was not sent: the error, and what the user gave, for another try or
/// for the user's confirmation.
pub(crate) struct Failed {
    /// Why it was not sent.
    pub(crate) err: Error,
    /// The user's confirmation, not called.
    pub(crate) conf: Conf,
    /// The user's data, unmapped.
    pub(crate) sg: Option<ForeignSg>,
}

impl Failed {
    /// `io` was not sent because of `err`.
    pub(crate) fn new(err: Error, io: Req<'_>) -> Self {
        Self {
            err,
            conf: io.conf,
            sg: io.sg,
        }
    }
}

impl From<Failed> for Error {
    fn from(f: Failed) -> Error {
        f.err
    }
}

/// A request taken out of a torn-down path, to be sent again (`rtrs_clt_get_copy_req`).
pub(crate) struct Taken {
    conf: Conf,
    sg: Option<ForeignSg>,
    dir: Dir,
    data_len: usize,
    cid: u16,
    usr: KVec<u8>,
}

impl Taken {
    /// Sends the request again with `send(cid, request)`; returns the confirmation with
    /// the error if that failed, so the caller confirms it.
    pub(crate) fn resubmit(
        self,
        send: impl FnOnce(u16, Req<'_>) -> Result<(), Failed>,
    ) -> (Option<Conf>, Result) {
        let io = Req {
            dir: self.dir,
            conf: self.conf,
            usr: &self.usr,
            data_len: self.data_len,
            sg: self.sg,
        };
        match send(self.cid, io) {
            Ok(()) => (None, Ok(())),
            Err(f) => (Some(f.conf), Err(f.err)),
        }
    }
}

/// Where a request goes: the chunk and the path's limits.
pub(crate) struct Target {
    /// Chunk address on the server.
    pub(crate) addr: u64,
    /// Chunk rkey.
    pub(crate) rkey: u32,
    /// Immediate data split.
    pub(crate) layout: ImmLayout,
    /// Chunk index.
    pub(crate) buf_id: u32,
    /// Connection the request goes on.
    pub(crate) cid: u16,
    /// Server chunk size.
    pub(crate) chunk_size: u32,
    /// Server header limit.
    pub(crate) max_hdr_size: u32,
    /// The PD's local DMA key, for the header IU (and the data of a direct write).
    pub(crate) lkey: u32,
    /// Data SGEs the connection takes for a direct write (see [`crate::con::DIRECT_SGES`]).
    pub(crate) direct_sges: u8,
}

/// A request in flight.
struct InFlight {
    conf: Conf,
    sg: Option<MappedSg>,
    /// The client's MR still has to be invalidated (not done by the server).
    need_inv: bool,
    /// A LOCAL_INV is posted; the request completes from its completion with `errno`.
    inv_posted: bool,
    errno: i32,
    /// Counted in the path's in-flight requests (min-inflight policy).
    counted: bool,
    /// For a resend on another path: direction, data length, user message length and
    /// connection.
    dir: Dir,
    data_len: usize,
    usr_len: usize,
    cid: u16,
}

/// What a slot holds.
struct SlotInner {
    hdr: DmaBuf,
    mr: Mr,
    busy: Option<InFlight>,
}

/// One request slot.
pub(crate) struct ReqSlot {
    id: u32,
    /// The path: its statistics and its error recovery.
    path: Arc<Path>,
    inner: TryLock<SlotInner>,
}

impl ReqSlot {
    /// A slot with a `max_hdr_size` header IU and an MR of `pages` pages.
    pub(crate) fn new(
        dev: &Device,
        pd: &Arc<Pd>,
        id: u32,
        max_hdr_size: u32,
        pages: u32,
        path: Arc<Path>,
    ) -> Result<Arc<Cqe<Self>>> {
        Cqe::new(Self {
            id,
            path,
            inner: TryLock::new(SlotInner {
                hdr: DmaBuf::new(dev, max_hdr_size as usize, DmaDir::ToDevice)?,
                mr: Mr::new(pd, pages)?,
                busy: None,
            }),
        })
    }

    /// The slot's index (buf_id).
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// Builds and posts a request (§9.2, §9.3): REG_MR of the data if any, then one
    /// RDMA_WRITE_WITH_IMM into the chunk; signalled if `signal`. A request not sent comes
    /// back whole in the error.
    pub(crate) fn submit(
        this: &Arc<Cqe<Self>>,
        qp: &Qp,
        io: Req<'_>,
        t: Target,
        signal: bool,
        mi: bool,
    ) -> Result<(), Failed> {
        let Req {
            dir,
            conf,
            usr,
            data_len,
            sg: mut fsg,
        } = io;
        let mut mapped: Option<MappedSg> = None;
        // Gives the request back with `$e`, its data unmapped.
        macro_rules! bail {
            ($e:expr) => {
                return Err(Failed {
                    err: $e,
                    conf,
                    sg: match mapped {
                        Some(m) => Some(m.unmap()),
                        None => fsg,
                    },
                })
            };
        }
        let mut g = match this.inner.try_lock() {
            Some(g) if g.busy.is_none() => g,
            _ => bail!(EBUSY),
        };
        let usr_len = usr.len();
        let has_data = fsg.is_some();
        // C checks the header limit with a descriptor per scatterlist entry, and the chunk
        // limit with the message header alone.
        let sg_cnt = fsg.as_ref().map_or(0, |sg| sg.nents() as usize);
        let hdr_len = match dir {
            Dir::Write => msg::WRITE_HDR_LEN,
            Dir::Read => msg::READ_HDR_LEN + sg_cnt * msg::SG_DESC_LEN,
        };
        let msg_len = match dir {
            Dir::Write => msg::WRITE_HDR_LEN,
            Dir::Read => msg::READ_HDR_LEN,
        };
        if usr_len + hdr_len > t.max_hdr_size as usize
            || msg_len + data_len + usr_len > t.chunk_size as usize
        {
            bail!(errno!(EMSGSIZE));
        }
        let Ok(usr_len16) = u16::try_from(usr_len) else {
            bail!(errno!(EMSGSIZE));
        };
        if let Some(f) = fsg.take() {
            let ddir = match dir {
                Dir::Write => DmaDir::ToDevice,
                Dir::Read => DmaDir::FromDevice,
            };
            match MappedSg::new(f, qp.pd().device(), ddir) {
                Ok(m) => mapped = Some(m),
                Err((e, f)) => {
                    fsg = Some(f);
                    bail!(e);
                }
            }
        }
        // A write whose data fits the connection's SGEs goes without REG_MR, and so without
        // LOCAL_INV; all other data is registered (reads always: the server writes into it).
        let mut sges = [Sge::default(); 1 + crate::con::DIRECT_SGES as usize];
        let direct = match (&mapped, dir) {
            (Some(m), Dir::Write) => sges
                .get_mut(..usize::from(t.direct_sges))
                .and_then(|s| m.sges(t.lkey, s)),
            _ => None,
        };
        let registered = mapped.is_some() && direct.is_none();
        if let (Some(m), true) = (&mapped, registered) {
            if let Err(e) = g.mr.map_foreign(m) {
                bail!(e);
            }
            g.mr.inc_rkey();
        }
        let hdr = match dir {
            Dir::Write => IoHdr::Write { usr_len: usr_len16 },
            Dir::Read => IoHdr::Read {
                usr_len: usr_len16,
                need_inval: has_data,
                desc: has_data.then(|| SgDesc {
                    addr: g.mr.iova(),
                    key: g.mr.rkey(),
                    // CAST: At most `MAX_SEGMENTS` 4 KiB pages.
                    len: g.mr.length() as u32,
                }),
            },
        };
        let mut raw = [0u8; msg::READ_HDR_LEN + msg::SG_DESC_LEN];
        let Ok(n) = hdr.encode(&mut raw) else {
            bail!(EINVAL);
        };
        if let Err(e) = g
            .hdr
            .write(0, usr)
            .and_then(|()| g.hdr.write(usr_len, &raw[..n]))
        {
            bail!(e);
        }
        g.hdr.sync_for_device();
        // CAST: Both fit the chunk size, a `u32` (checked above).
        let imm = t.layout.io_req(t.buf_id, (data_len + usr_len) as u32);
        let hdr_sge = match g.hdr.sge(0, usr_len + n, t.lkey) {
            Ok(s) => s,
            Err(e) => bail!(e),
        };
        // A write carries its data and then the header into the chunk; a read only the
        // header, after the room for the data.
        let (nsge, remote) = match (direct, registered, dir) {
            (Some(k), _, _) => (k, t.addr),
            (None, true, Dir::Write) => {
                // CAST: At most `MAX_SEGMENTS` 4 KiB pages.
                sges[0] = Sge::new(g.mr.iova(), g.mr.length() as u32, g.mr.lkey());
                (1, t.addr)
            }
            (None, _, Dir::Read) => (0, t.addr + data_len as u64),
            (None, false, Dir::Write) => (0, t.addr),
        };
        let Some(slot) = sges.get_mut(nsge) else {
            bail!(EINVAL);
        };
        *slot = hdr_sge;
        let nsge = nsge + 1;
        let access = match dir {
            Dir::Write => Access::LOCAL_WRITE,
            Dir::Read => Access::LOCAL_WRITE | Access::REMOTE_WRITE,
        };
        let reg = registered.then(|| SendWr::reg_mr(&g.mr, access));
        let mut io_wr = SendWr::rdma_write_with_imm(&sges[..nsge], remote, t.rkey, imm);
        if signal {
            io_wr = io_wr.signaled(this.clone());
        }
        g.busy = Some(InFlight {
            conf,
            sg: mapped,
            need_inv: registered,
            inv_posted: false,
            errno: 0,
            counted: mi,
            dir,
            data_len,
            usr_len,
            cid: t.cid,
        });
        drop(g);
        if mi {
            this.path.stats.inflight.fetch_add(1, Ordering::Relaxed);
        }
        let res = match reg {
            Some(reg) => {
                let mut chain = [reg, io_wr];
                qp.post_send(&mut chain)
            }
            None => qp.post_send(core::slice::from_mut(&mut io_wr)),
        };
        if let Err(e) = res {
            // Nothing of the request reached the wire: take it back, unconfirmed.
            let fl = this.inner.try_lock().and_then(|mut g| g.busy.take());
            if mi {
                this.path.stats.inflight.fetch_sub(1, Ordering::Relaxed);
            }
            if let Some(fl) = fl {
                return Err(Failed {
                    err: e,
                    conf: fl.conf,
                    sg: fl.sg.map(MappedSg::unmap),
                });
            }
            // The slot is taken by a completion: the request is in its hands now.
            pr_err!("posting request {} failed: {:?}\n", this.id, e);
        }
        Ok(())
    }

    /// The response of the request arrived (§9.7): invalidate the MR unless the server did,
    /// then confirm.
    pub(crate) fn complete(
        this: &Arc<Cqe<Self>>,
        qp: Option<&Qp>,
        errno: i32,
        w_inv: bool,
    ) -> Result {
        let mut g = this.inner.try_lock().ok_or(EBUSY)?;
        let rkey = g.mr.rkey();
        let Some(fl) = g.busy.as_mut() else {
            return Err(EINVAL);
        };
        if w_inv {
            fl.need_inv = false;
        }
        if fl.need_inv {
            if let Some(qp) = qp {
                fl.need_inv = false;
                fl.inv_posted = true;
                fl.errno = errno;
                drop(g);
                let wr = SendWr::local_inv(rkey).signaled(this.clone());
                if qp.post_send(&mut [wr]).is_ok() {
                    return Ok(());
                }
                pr_err!("posting LOCAL_INV of key {:#x} failed\n", rkey);
                g = this.inner.try_lock().ok_or(EBUSY)?;
            }
        }
        let fl = g.busy.take();
        drop(g);
        if let Some(fl) = fl {
            Self::finish(this, fl, errno);
        }
        Ok(())
    }

    /// Takes the request in flight out of the slot after its connections were flushed, with
    /// its user message and data unmapped, for a resend (`fail_all_outstanding_reqs`).
    pub(crate) fn take_in_flight(this: &Arc<Cqe<Self>>) -> Option<Taken> {
        let mut g = this.inner.try_lock()?;
        let fl = g.busy.take()?;
        let copied = KVec::from_elem(0u8, fl.usr_len, GFP_KERNEL)
            .ok()
            .and_then(|mut v| g.hdr.read(0, &mut v).ok().map(|()| v));
        drop(g);
        if fl.counted {
            this.path.stats.inflight.fetch_sub(1, Ordering::Relaxed);
        }
        let Some(usr) = copied else {
            pr_err!(
                "IO request {} failed: error={}\n",
                this.id,
                -(crate::bindings::ENOMEM as i32)
            );
            drop(fl.sg);
            fl.conf.confirm(-(crate::bindings::ENOMEM as i32));
            return None;
        };
        Some(Taken {
            conf: fl.conf,
            sg: fl.sg.map(MappedSg::unmap),
            dir: fl.dir,
            data_len: fl.data_len,
            cid: fl.cid,
            usr,
        })
    }

    /// Unmaps the data and calls the user's confirmation.
    fn finish(this: &ReqSlot, fl: InFlight, errno: i32) {
        drop(fl.sg);
        if fl.counted {
            this.path.stats.inflight.fetch_sub(1, Ordering::Relaxed);
        }
        if errno != 0 {
            pr_err!("IO request {} failed: error={}\n", this.id, errno);
        }
        fl.conf.confirm(errno);
    }
}

impl CqeHandler for ReqSlot {
    fn done(this: Arc<Cqe<Self>>, wc: &Wc) {
        let ok = wc.status() == WcStatus::Success;
        if ok && wc.opcode() != WcOpcode::LocalInv {
            // A signalled request send: nothing to do.
            return;
        }
        let Some(mut g) = this.inner.try_lock() else {
            return;
        };
        let Some(fl) = g.busy.as_ref() else {
            return;
        };
        if !fl.inv_posted {
            // The request's send failed: the path recovers, and its teardown fails the
            // request over to another path (`rtrs_clt_rdma_done`).
            drop(g);
            if wc.status() != WcStatus::FlushErr {
                Path::error(&this.path, &kernel::fmt!("RDMA failed: {:?}", wc.status()));
            }
            return;
        }
        if !ok {
            pr_err!("failed IB_WR_LOCAL_INV: {:?}\n", wc.status());
            Path::error(&this.path, &kernel::fmt!("LOCAL_INV failed"));
        }
        let errno = fl.errno;
        let fl = g.busy.take();
        drop(g);
        if let Some(fl) = fl {
            Self::finish(&this, fl, errno);
        }
    }
}
