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
use crate::rdma::cq::{Cqe, CqeHandler, Wc, WcOpcode, WcStatus};
use crate::rdma::device::Device;
use crate::rdma::dma::{DmaBuf, DmaDir, ForeignSg, MappedSg};
use crate::rdma::mr::Mr;
use crate::rdma::pd::Pd;
use crate::rdma::qp::Qp;
use crate::rdma::wr::{Access, SendWr, Sge};
use crate::stats::Stats;
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
    /// Server chunk size.
    pub(crate) chunk_size: u32,
    /// Server header limit.
    pub(crate) max_hdr_size: u32,
    /// The PD's local DMA key, for the header IU.
    pub(crate) lkey: u32,
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
    /// The path's statistics, for the in-flight count.
    stats: Arc<Stats>,
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
        stats: Arc<Stats>,
    ) -> Result<Arc<Cqe<Self>>> {
        Cqe::new(Self {
            id,
            stats,
            inner: TryLock::new(SlotInner {
                hdr: DmaBuf::new(dev, max_hdr_size as usize, DmaDir::ToDevice)?,
                mr: Mr::new(pd, pages)?,
                busy: None,
            }),
        })
    }

    /// Builds and posts a request (§9.2, §9.3): REG_MR of the data if any, then one
    /// RDMA_WRITE_WITH_IMM into the chunk; signalled if `signal`.
    pub(crate) fn submit(
        this: &Arc<Cqe<Self>>,
        qp: &Qp,
        io: Req<'_>,
        t: Target,
        signal: bool,
        mi: bool,
    ) -> Result {
        let mut g = this.inner.try_lock().ok_or(EBUSY)?;
        if g.busy.is_some() {
            return Err(EBUSY);
        }
        let usr_len = io.usr.len();
        let has_data = io.sg.is_some();
        // C checks the header limit with a descriptor per scatterlist entry, and the chunk
        // limit with the message header alone.
        let sg_cnt = io.sg.as_ref().map_or(0, |sg| sg.nents() as usize);
        let hdr_len = match io.dir {
            Dir::Write => msg::WRITE_HDR_LEN,
            Dir::Read => msg::READ_HDR_LEN + sg_cnt * msg::SG_DESC_LEN,
        };
        let msg_len = match io.dir {
            Dir::Write => msg::WRITE_HDR_LEN,
            Dir::Read => msg::READ_HDR_LEN,
        };
        if usr_len + hdr_len > t.max_hdr_size as usize
            || msg_len + io.data_len + usr_len > t.chunk_size as usize
        {
            return Err(errno!(EMSGSIZE));
        }
        let usr_len16 = u16::try_from(usr_len).map_err(|_| errno!(EMSGSIZE))?;
        let mut sg = None;
        if has_data {
            if let Some(fsg) = io.sg {
                let dir = match io.dir {
                    Dir::Write => DmaDir::ToDevice,
                    Dir::Read => DmaDir::FromDevice,
                };
                let mapped = MappedSg::new(fsg, qp.pd().device(), dir).map_err(|(e, _)| e)?;
                g.mr.map_foreign(&mapped)?;
                g.mr.inc_rkey();
                sg = Some(mapped);
            }
        }
        let hdr = match io.dir {
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
        let n = hdr.encode(&mut raw).map_err(|_| EINVAL)?;
        g.hdr.write(0, io.usr)?;
        g.hdr.write(usr_len, &raw[..n])?;
        g.hdr.sync_for_device();
        // CAST: Both fit the chunk size, a `u32` (checked above).
        let imm = t.layout.io_req(t.buf_id, (io.data_len + usr_len) as u32);
        let hdr_sge = g.hdr.sge(0, usr_len + n, t.lkey)?;
        let sges: [Sge; 2];
        let nsge;
        let remote;
        if has_data {
            // CAST: At most `MAX_SEGMENTS` 4 KiB pages.
            let data = Sge::new(g.mr.iova(), g.mr.length() as u32, g.mr.lkey());
            match io.dir {
                Dir::Write => {
                    sges = [data, hdr_sge];
                    nsge = 2;
                    remote = t.addr;
                }
                Dir::Read => {
                    sges = [hdr_sge, data];
                    nsge = 1;
                    remote = t.addr + io.data_len as u64;
                }
            }
        } else {
            sges = [hdr_sge, hdr_sge];
            nsge = 1;
            remote = t.addr
                + if io.dir == Dir::Read {
                    io.data_len as u64
                } else {
                    0
                };
        }
        let access = match io.dir {
            Dir::Write => Access::LOCAL_WRITE,
            Dir::Read => Access::LOCAL_WRITE | Access::REMOTE_WRITE,
        };
        let reg = has_data.then(|| SendWr::reg_mr(&g.mr, access));
        let mut io_wr = SendWr::rdma_write_with_imm(&sges[..nsge], remote, t.rkey, imm);
        if signal {
            io_wr = io_wr.signaled(this.clone());
        }
        g.busy = Some(InFlight {
            conf: io.conf,
            sg,
            need_inv: has_data,
            inv_posted: false,
            errno: 0,
            counted: mi,
        });
        drop(g);
        if mi {
            this.stats.inflight.fetch_add(1, Ordering::Relaxed);
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
            if let Some(mut g) = this.inner.try_lock() {
                g.busy = None;
            }
            if mi {
                this.stats.inflight.fetch_sub(1, Ordering::Relaxed);
            }
            return Err(e);
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

    /// Confirms a request whose response can no longer come (the path stopped).
    pub(crate) fn fail(this: &Arc<Cqe<Self>>, err: Error) {
        let fl = this.inner.try_lock().and_then(|mut g| g.busy.take());
        if let Some(fl) = fl {
            Self::finish(this, fl, err.to_errno());
        }
    }

    /// Unmaps the data and calls the user's confirmation.
    fn finish(this: &ReqSlot, fl: InFlight, errno: i32) {
        drop(fl.sg);
        if fl.counted {
            this.stats.inflight.fetch_sub(1, Ordering::Relaxed);
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
        let errno = if fl.inv_posted {
            if !ok {
                pr_err!("failed IB_WR_LOCAL_INV: {:?}\n", wc.status());
            }
            fl.errno
        } else {
            // The request send failed: no response will come.
            if wc.status() != WcStatus::FlushErr {
                pr_err!("RDMA failed: {:?}\n", wc.status());
            }
            -(crate::bindings::EIO as i32)
        };
        let fl = g.busy.take();
        drop(g);
        if let Some(fl) = fl {
            Self::finish(&this, fl, errno);
        }
    }
}
