// SPDX-License-Identifier: GPL-2.0-or-later

//! An RNBD client session: one RTRS session, the tag set of its disks and the devices
//! mapped over it (wire protocol §14.4, §14.9).

use crate::block::mq::TagSet;
use crate::dev::{Dev, DevOps, State};
use crate::error::errno;
use crate::proto::{self, Close, Open, OpenRsp, PROTO_VER_MAJOR};
use crate::rtrs::clt::{self, Attrs, ConType, Dir, LinkEv, LinkEvents, PathAddrs};
use crate::sync::Gate;
use core::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::{Arc, Mutex};
use kernel::workqueue::{Work, WorkItem};
use kernel::{impl_has_work, new_mutex, new_work};

/// Seconds between reconnect attempts of an RNBD session (C `RECONNECT_DELAY`).
const RECONNECT_DELAY: u8 = 30;
/// Reconnect attempts: forever (C `MAX_RECONNECTS`).
const MAX_RECONNECTS: i16 = -1;

/// The RTRS session of an RNBD session, with its link events going to [`Link`].
pub(crate) type RtrsSess = clt::Session<Link>;

/// A client session, shared by the devices mapped over it (each holds an `Arc`).
///
/// Reference cycles, broken explicitly: the RTRS session in `rtrs` holds a [`Link`] with an
/// `Arc` of this session until [`Sess::close`] takes it out; `devs` holds the devices, which
/// hold this session, until they are unmapped.
#[pin_data]
pub(crate) struct Sess {
    /// The session name (`sessname=`).
    pub(crate) name: CString,
    /// Poll queues of the session (a poll session serves one device).
    pub(crate) nr_poll_queues: u32,
    /// The RTRS session, published once it is open; shut and taken out on close.
    #[pin]
    pub(crate) rtrs: Gate<RtrsSess>,
    /// The disks' tag set, made once the queue depth is known.
    #[pin]
    tag_set: Mutex<Option<Arc<TagSet<DevOps>>>>,
    /// The largest IO in bytes (refreshed on reconnect).
    pub(crate) max_io_size: AtomicU32,
    /// The most segments of one IO.
    pub(crate) max_segments: AtomicU32,
    /// The protocol version agreed with the server.
    ver: AtomicU8,
    /// The devices mapped (or being mapped) over this session.
    #[pin]
    devs: Mutex<Slots<Dev>>,
    /// Re-opens the devices after a reconnect.
    #[pin]
    remap_work: Work<Sess>,
}

impl_has_work! {
    impl HasWork<Self> for Sess { self.remap_work }
}

impl WorkItem for Sess {
    type Pointer = Arc<Sess>;

    /// After RTRS reconnected: the handshake again, then OPEN for every mapped device.
    fn run(this: Arc<Sess>) {
        this.reconnected();
    }
}

/// The link event handler of a session's RTRS session.
pub(crate) struct Link {
    /// The session; a cycle broken by [`Sess::close`].
    sess: Arc<Sess>,
}

impl LinkEvents for Link {
    fn link_ev(&self, ev: LinkEv) {
        match ev {
            LinkEv::Disconnected => self.sess.disconnected(),
            LinkEv::Reconnected => {
                if let Some(wq) = crate::WQ.get() {
                    // Already queued: that run sees this reconnect too.
                    let _ = wq.enqueue(self.sess.clone());
                }
            }
        }
    }
}

impl Sess {
    /// Connects a new session over `paths` and does the handshake (§14.4).
    pub(crate) fn create(
        name: &[u8],
        paths: &mut [PathAddrs],
        port: u16,
        nr_poll_queues: u32,
    ) -> Result<Arc<Self>> {
        let mut cname = KVec::with_capacity(name.len() + 1, GFP_KERNEL)?;
        cname.extend_from_slice(name, GFP_KERNEL)?;
        cname.push(0, GFP_KERNEL)?;
        let cstr = CStr::from_bytes_with_nul(&cname).map_err(|_| EINVAL)?;
        let name = CString::try_from_fmt(kernel::fmt!("{}", cstr))?;
        let sess = Arc::pin_init(
            pin_init!(Sess {
                name,
                nr_poll_queues,
                rtrs <- Gate::new(),
                tag_set <- new_mutex!(None),
                max_io_size: AtomicU32::new(0),
                max_segments: AtomicU32::new(0),
                ver: AtomicU8::new(PROTO_VER_MAJOR),
                devs <- new_mutex!(Slots::new()),
                remap_work <- new_work!("rnbd_client::Sess::remap_work"),
            }),
            GFP_KERNEL,
        )?;
        let args = clt::OpenArgs {
            name: &sess.name,
            port,
            reconnect_delay_sec: RECONNECT_DELAY,
            max_reconnect_attempts: MAX_RECONNECTS,
            nr_poll_queues,
        };
        let rtrs = clt::Session::open(Link { sess: sess.clone() }, &args, paths)?;
        if sess.rtrs.open(rtrs).is_err() {
            return Err(EBUSY);
        }
        if let Err(e) = sess.setup() {
            sess.close();
            return Err(e);
        }
        Ok(sess)
    }

    /// Query, tag set and handshake of a session just opened.
    fn setup(&self) -> Result {
        let attrs = self.query()?;
        let set = Arc::pin_init(
            TagSet::new(
                crate::cpu::num_online_cpus(),
                self.nr_poll_queues,
                attrs.queue_depth,
                0,
            ),
            GFP_KERNEL,
        )?;
        *self.tag_set.lock() = Some(set);
        self.sess_info()
    }

    /// Refreshes the IO limits from RTRS.
    fn query(&self) -> Result<Attrs> {
        let rtrs = self.rtrs.enter().ok_or(errno!(ENOTCONN))?;
        let attrs = rtrs.query()?;
        self.max_io_size.store(attrs.max_io_size, Ordering::Relaxed);
        self.max_segments
            .store(attrs.max_segments, Ordering::Relaxed);
        Ok(attrs)
    }

    /// The SESS_INFO handshake: agree on the protocol version.
    fn sess_info(&self) -> Result {
        let rtrs = self.rtrs.enter().ok_or(errno!(ENOTCONN))?;
        let permit = rtrs.get_permit(ConType::Admin, true).ok_or(ENOMEM)?;
        let msg = proto::encode_sess_info(PROTO_VER_MAJOR);
        let rsp = rtrs.request_msg_wait(Dir::Read, permit, &msg, proto::SESS_INFO_LEN)?;
        let ver = proto::decode_sess_info_rsp(&rsp).map_err(|e| {
            pr_err!("<{}>: bad SESS_INFO_RSP: {:?}\n", &*self.name, e);
            EINVAL
        })?;
        self.ver.store(ver.min(PROTO_VER_MAJOR), Ordering::Relaxed);
        Ok(())
    }

    /// The tag set of the session's disks.
    pub(crate) fn tag_set(&self) -> Result<Arc<TagSet<DevOps>>> {
        self.tag_set.lock().clone().ok_or(ENODEV)
    }

    /// Sends OPEN for `dev` and waits for the reply; the server's errno on refusal.
    pub(crate) fn open_dev(&self, dev: &Dev) -> Result<OpenRsp> {
        let msg = Open {
            access_mode: dev.access_mode,
            dev_name: &dev.pathname,
        }
        .encode()
        .map_err(|e| Error::from_errno(-e.errno()))?;
        let rtrs = self.rtrs.enter().ok_or(errno!(ENOTCONN))?;
        let permit = rtrs.get_permit(ConType::Admin, true).ok_or(ENOMEM)?;
        let rsp = rtrs.request_msg_wait(Dir::Read, permit, &msg, proto::OPEN_RSP_LEN)?;
        OpenRsp::decode(&rsp).map_err(|e| {
            pr_err!("<{}>: bad OPEN_RSP: {:?}\n", &*self.name, e);
            EINVAL
        })
    }

    /// Sends CLOSE for `device_id`, waiting for the reply if `wait`.
    pub(crate) fn close_dev(&self, device_id: u32, wait: bool) {
        let msg = Close { device_id }.encode();
        let Some(rtrs) = self.rtrs.enter() else {
            return;
        };
        let Some(permit) = rtrs.get_permit(ConType::Admin, wait) else {
            return;
        };
        let res = if wait {
            rtrs.request_msg_wait(Dir::Write, permit, &msg, 0)
                .map(|_| ())
        } else {
            rtrs.request_msg(Dir::Write, permit, &msg, 0, |_| ())
        };
        if let Err(e) = res {
            pr_err!(
                "<{}>: CLOSE of device {} failed: {:?}\n",
                &*self.name,
                device_id,
                e
            );
        }
    }

    /// Adds a device being mapped.
    pub(crate) fn add_dev(&self, dev: Arc<Dev>) -> Result {
        self.devs.lock().add(dev)
    }

    /// Removes a device; returns whether the session has none left.
    pub(crate) fn remove_dev(&self, dev: &Dev) -> bool {
        let mut devs = self.devs.lock();
        let gone = devs.remove(dev);
        let empty = devs.is_empty();
        drop(devs);
        drop(gone);
        empty
    }

    /// Whether a device with this `device_path` is mapped over the session.
    pub(crate) fn has_dev(&self, pathname: &[u8]) -> bool {
        self.devs.lock().iter().any(|d| &d.pathname[..] == pathname)
    }

    /// The number of devices of the session.
    pub(crate) fn nr_devs(&self) -> usize {
        self.devs.lock().iter().count()
    }

    /// A snapshot of the devices.
    pub(crate) fn devs(&self) -> Result<KVec<Arc<Dev>>> {
        let devs = self.devs.lock();
        let mut v = KVec::with_capacity(devs.iter().count(), GFP_KERNEL)?;
        for d in devs.iter() {
            v.push(d.clone(), GFP_KERNEL)?;
        }
        Ok(v)
    }

    /// The last path went down: the mapped devices are `closed`, their IO fails.
    fn disconnected(&self) {
        let Ok(devs) = self.devs() else {
            return;
        };
        for d in devs.iter() {
            d.disconnected();
        }
    }

    /// A path is up again (from the remap work): handshake, limits, then every device that
    /// was mapped is opened again (§14.9).
    fn reconnected(&self) {
        if let Err(e) = self.sess_info() {
            pr_err!(
                "<{}>: SESS_INFO after reconnect failed: {:?}\n",
                &*self.name,
                e
            );
            return;
        }
        if let Err(e) = self.query() {
            pr_err!("<{}>: query after reconnect failed: {:?}\n", &*self.name, e);
        }
        let Ok(devs) = self.devs() else {
            return;
        };
        for d in devs.iter() {
            if matches!(d.state(), State::Mapped | State::Disconnected) {
                if let Err(e) = d.remap() {
                    pr_err!("{:?}: remap failed: {:?}\n", d, e);
                }
            }
        }
    }

    /// Closes the RTRS session (blocking; no IO may be in flight): shuts the gate, waits for
    /// the passes, takes the session out and drops it, which also ends the cycle through
    /// its [`Link`].
    pub(crate) fn close(&self) {
        self.rtrs.shut();
        while self.rtrs.wait_drained_ms(1000).is_err() {
            pr_info!(
                "<{}>: waiting for users of the session to close it\n",
                &*self.name
            );
        }
        drop(self.rtrs.take());
    }
}

/// A list of shared objects whose removal never allocates: a removed entry leaves a hole
/// that a later `add` fills.
pub(crate) struct Slots<T> {
    /// The entries and holes.
    slots: KVec<Option<Arc<T>>>,
}

impl<T> Slots<T> {
    /// An empty list.
    pub(crate) fn new() -> Self {
        Self { slots: KVec::new() }
    }

    /// Adds `v`, in a hole if there is one.
    pub(crate) fn add(&mut self, v: Arc<T>) -> Result {
        match self.slots.iter_mut().find(|s| s.is_none()) {
            Some(hole) => *hole = Some(v),
            None => self.slots.push(Some(v), GFP_KERNEL)?,
        }
        Ok(())
    }

    /// Removes the entry `p` and gives it back.
    pub(crate) fn remove(&mut self, p: &T) -> Option<Arc<T>> {
        self.slots
            .iter_mut()
            .find(|s| s.as_ref().is_some_and(|a| core::ptr::eq(&**a, p)))
            .and_then(Option::take)
    }

    /// The entries.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<T>> {
        self.slots.iter().flatten()
    }

    /// Whether there is no entry.
    pub(crate) fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}
