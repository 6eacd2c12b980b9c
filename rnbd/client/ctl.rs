// SPDX-License-Identifier: GPL-2.0-or-later

//! The client as a whole and its control device `/sys/class/rnbd-client/ctl/` with
//! `map_device` (sysfs ABI §4.1-4.3).

use crate::addr::AddrError;
use crate::addr_sock::sock_addr;
use crate::block::mq::Major;
use crate::dev::{BStr, Dev};
use crate::error::errno;
use crate::map_opts::{self, MapOptError, MapOptions};
use crate::naming::IndexMap;
use crate::rtrs::clt::PathAddrs;
use crate::sess::{Sess, Slots};
use crate::sysfs::{Attribute, AttributeOperations, Attributes, Kobject, KobjectRef, Page};
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::{c_str, new_mutex, ThisModule};

/// The client: what `map_device` and `unmap_device` share.
#[pin_data]
pub(crate) struct Client {
    /// The module, owner of the disks' operations.
    pub(crate) module: &'static ThisModule,
    /// The `rnbd` block major.
    pub(crate) major: Major,
    /// The device indices in use.
    #[pin]
    pub(crate) minors: Mutex<IndexMap>,
    /// The sessions, by name.
    #[pin]
    pub(crate) sessions: Mutex<Slots<Sess>>,
    /// Serialises maps, unmaps and unload: session creation and teardown.
    #[pin]
    pub(crate) map_lock: Mutex<()>,
    /// `ctl/devices/`, the place of the device symlinks (taken out at unload).
    #[pin]
    pub(crate) devices: Mutex<Option<Kobject<()>>>,
    /// The module is being unloaded: no more maps.
    exiting: AtomicBool,
}

impl Client {
    /// The client of a module being loaded, with its block major.
    pub(crate) fn new(module: &'static ThisModule) -> Result<Arc<Self>> {
        let major = Major::new(c_str!("rnbd")).inspect_err(|e| {
            pr_err!(
                "failed to load module, block device registration failed: {:?}\n",
                e
            );
        })?;
        Arc::pin_init(
            pin_init!(Client {
                module,
                major,
                minors <- new_mutex!(IndexMap::new()),
                sessions <- new_mutex!(Slots::new()),
                map_lock <- new_mutex!(()),
                devices <- new_mutex!(None),
                exiting: AtomicBool::new(false),
            }),
            GFP_KERNEL,
        )
    }

    /// Whether the module is being unloaded.
    pub(crate) fn exiting(&self) -> bool {
        self.exiting.load(Ordering::Acquire)
    }

    /// `map_device` (sysfs ABI §4.3).
    fn map(self: &Arc<Self>, input: &[u8]) -> Result {
        let opts = map_opts::parse(input, crate::cpu::nr_cpu_ids()).map_err(|e| {
            let err = match e {
                MapOptError::Invalid(_) | MapOptError::Addr(AddrError::Invalid) => EINVAL,
                MapOptError::TooManyPaths => ENOMEM,
                MapOptError::Addr(AddrError::NoPrefix) => errno!(EPROTONOSUPPORT),
            };
            pr_err!("map_device: bad options ({:?}): {:?}\n", e, err);
            err
        })?;
        let _map = self.map_lock.lock();
        if self.exiting() {
            return Err(ENODEV);
        }
        let found = self
            .sessions
            .lock()
            .iter()
            .find(|s| s.name.as_bytes() == opts.sessname)
            .cloned();
        let sess = match found {
            Some(s) => {
                if s.has_dev(opts.device_path) {
                    pr_err!(
                        "map_device: device '{}' is already mapped in session '{}'\n",
                        BStr(opts.device_path),
                        BStr(opts.sessname)
                    );
                    return Err(EEXIST);
                }
                if opts.nr_poll_queues > 0 || s.nr_poll_queues > 0 {
                    pr_err!(
                        "map_device: a session with poll queues serves one device only ('{}')\n",
                        BStr(opts.sessname)
                    );
                    return Err(EINVAL);
                }
                s
            }
            None => self.new_sess(&opts)?,
        };
        match Dev::map(self, &sess, opts.device_path, opts.access_mode) {
            Ok(dev) => {
                pr_info!("{:?}: mapped as rnbd{}\n", dev, dev.index());
                Ok(())
            }
            Err(e) => {
                if sess.nr_devs() == 0 {
                    drop(self.sessions.lock().remove(&sess));
                    sess.close();
                }
                Err(e)
            }
        }
    }

    /// Connects the session `opts.sessname` (§4.3 steps 4-7).
    fn new_sess(&self, opts: &MapOptions<'_>) -> Result<Arc<Sess>> {
        if opts.path_cnt == 0 {
            pr_err!(
                "map_device: session '{}' does not exist and no path was given\n",
                BStr(opts.sessname)
            );
            return Err(ENXIO);
        }
        let mut paths = KVec::with_capacity(opts.path_cnt, GFP_KERNEL)?;
        for p in opts.paths.iter().flatten() {
            let src = p
                .src
                .as_ref()
                .map(|a| sock_addr(a, "map_device"))
                .transpose()?;
            let dst = sock_addr(&p.dst, "map_device")?;
            paths.push(PathAddrs { src, dst }, GFP_KERNEL)?;
        }
        let sess = Sess::create(
            opts.sessname,
            &mut paths,
            opts.dest_port,
            opts.nr_poll_queues,
        )
        .inspect_err(|e| {
            pr_err!(
                "map_device: connecting session '{}' failed: {:?}\n",
                BStr(opts.sessname),
                e
            );
        })?;
        if let Err(e) = self.sessions.lock().add(sess.clone()) {
            sess.close();
            return Err(e);
        }
        Ok(sess)
    }

    /// Unload: no more maps, every device force-unmapped (closing the sessions), then
    /// `ctl/devices/` removed.
    pub(crate) fn destroy(&self) {
        {
            let _map = self.map_lock.lock();
            self.exiting.store(true, Ordering::Release);
            loop {
                let sess = self.sessions.lock().iter().next().cloned();
                let Some(sess) = sess else {
                    break;
                };
                let devs = sess.devs().unwrap_or_default();
                if devs.is_empty() {
                    drop(self.sessions.lock().remove(&sess));
                    sess.close();
                }
                for d in devs.iter() {
                    if let Err(e) = d.unmap(self, true) {
                        pr_err!("{:?}: unmap at unload failed: {:?}\n", d, e);
                    }
                }
            }
        }
        drop(self.devices.lock().take());
    }
}

/// The payload of `ctl/`: its files act on [`crate::CLIENT`].
pub(crate) struct Ctl;

/// `map_device`.
const MAP_DEVICE: u64 = 0;

#[vtable]
impl AttributeOperations<MAP_DEVICE> for Ctl {
    fn show(&self, page: &mut Page<'_>) -> Result {
        page.write_bytes(
            b"Usage: echo \"[dest_port=server port number] sessname=<name of the rtrs session> \
              path=<[srcaddr@]dstaddr> [path=<[srcaddr@]dstaddr>] device_path=<full path on \
              remote side> [access_mode=<ro|rw|migration>] [nr_poll_queues=<number of \
              queues>]\" > map_device\n\naddr ::= [ ip:<ipv4> | ip:<ipv6> | gid:<gid> ]\n",
        )
    }

    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        let client = crate::CLIENT.get().ok_or(ENODEV)?;
        client.map(input)
    }
}

impl Attributes for Ctl {
    const ATTRIBUTES: &'static [Attribute<Self>] =
        &[Attribute::new::<MAP_DEVICE>(c_str!("map_device"), 0o644)];
}
