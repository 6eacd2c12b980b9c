// SPDX-License-Identifier: GPL-2.0-or-later

//! The exported block devices, shared by the sessions that opened them (C `rnbd_srv_dev`):
//! `ctl/devices/<name>/` with its `block_dev` link and `sessions/` directory, and the count
//! of writers that the access modes are checked against.

use crate::dev_path::{check_access, AccessDenied};
use crate::proto::AccessMode;
use crate::sysfs::{Kobject, KobjectRef, Link};
use kernel::{
    c_str, new_mutex,
    prelude::*,
    str::{CStr, CString},
    sync::{Arc, Mutex},
};

/// The module's device registry: `ctl/devices/` and the devices in it.
#[pin_data]
pub(crate) struct Server {
    /// The devices, by kernel name; a slot is `None` once its device is gone.
    #[pin]
    devs: Mutex<KVec<Option<DevEntry>>>,
    /// `ctl/devices/`; dropped after the devices (each holds a reference to it).
    devices: Kobject<()>,
}

/// A registered device with its counts.
struct DevEntry {
    /// The device.
    dev: Arc<Dev>,
    /// Open shares ([`DevShare`]s); the device goes with the last.
    users: u32,
    /// Shares that write (rw and migration): C `open_write_cnt`.
    open_write_cnt: u32,
}

/// One exported block device: `ctl/devices/<name>/`.
pub(crate) struct Dev {
    /// The kernel name of the block device (`%pg`).
    name: CString,
    /// `block_dev`, the link to the disk (none for a regular file); removed first.
    _link: Option<Link>,
    /// `sessions/`, the parent of the per-session directories.
    sessions: Kobject<()>,
    /// `ctl/devices/<name>/`; removed last.
    _dir: Kobject<()>,
}

impl Dev {
    /// The kernel name of the block device.
    pub(crate) fn name(&self) -> &CStr {
        &self.name
    }

    /// `sessions/`.
    pub(crate) fn sessions(&self) -> &Kobject<()> {
        &self.sessions
    }
}

impl Server {
    /// The registry, with `devices` (`ctl/devices/`) as the parent of device directories.
    pub(crate) fn new(devices: Kobject<()>) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                devs <- new_mutex!(KVec::new()),
                devices,
            }),
            GFP_KERNEL,
        )
    }

    /// A share of the device `name` for a session opening it in `mode` (C
    /// `rnbd_srv_get_or_create_srv_dev`): the device is found by name or created with its
    /// directory (and the `block_dev` link to `disk`, if any), and the access mode is checked
    /// against its writers (`EPERM`).
    pub(crate) fn share(
        self: &Arc<Self>,
        name: CString,
        disk: Option<&KobjectRef>,
        mode: AccessMode,
        sess: &CStr,
    ) -> Result<DevShare> {
        let mut devs = self.devs.lock();
        let found = devs.iter().position(|e| {
            e.as_ref()
                .is_some_and(|e| e.dev.name.as_bytes() == name.as_bytes())
        });
        let idx = match found {
            Some(i) => i,
            None => {
                let entry = DevEntry {
                    dev: self.new_dev(name, disk)?,
                    users: 0,
                    open_write_cnt: 0,
                };
                match devs.iter().position(Option::is_none) {
                    Some(i) => {
                        devs[i] = Some(entry);
                        i
                    }
                    None => {
                        devs.push(Some(entry), GFP_KERNEL)?;
                        devs.len() - 1
                    }
                }
            }
        };
        let Some(e) = devs[idx].as_mut() else {
            return Err(EINVAL);
        };
        match check_access(mode, e.open_write_cnt) {
            Ok(writer) => {
                e.users += 1;
                if writer {
                    e.open_write_cnt += 1;
                }
                Ok(DevShare {
                    server: self.clone(),
                    dev: e.dev.clone(),
                    writer,
                })
            }
            Err(AccessDenied) => {
                pr_err!(
                    "Mapping device '{}' for session {} with {} permissions failed. Device already opened as 'RW' by {} client(s), access mode {}.\n",
                    e.dev.name(),
                    sess,
                    if mode == AccessMode::Migration { "migration" } else { "RW" },
                    e.open_write_cnt,
                    mode.name()
                );
                // A device nobody uses any more (none here: a new one takes any mode) goes.
                let gone = if e.users == 0 { devs[idx].take() } else { None };
                drop(devs);
                drop(gone);
                Err(EPERM)
            }
        }
    }

    /// Creates the directory of a new device.
    fn new_dev(&self, name: CString, disk: Option<&KobjectRef>) -> Result<Arc<Dev>> {
        let dir = Kobject::new_dir(self.devices.kobject(), kernel::fmt!("{}", &*name))?;
        let sessions = Kobject::new_dir(dir.kobject(), kernel::fmt!("sessions"))?;
        let link = match disk {
            Some(disk) => Some(Link::new(dir.kobject(), disk, c_str!("block_dev"))?),
            None => None,
        };
        Ok(Arc::new(
            Dev {
                name,
                _link: link,
                sessions,
                _dir: dir,
            },
            GFP_KERNEL,
        )?)
    }
}

/// One session's use of a device: counted among its users and, for rw and migration, among
/// its writers. Dropping it gives both back; the last user removes the device's directory.
/// May sleep when dropped.
pub(crate) struct DevShare {
    /// The registry.
    server: Arc<Server>,
    /// The device.
    dev: Arc<Dev>,
    /// Counted in `open_write_cnt`.
    writer: bool,
}

impl DevShare {
    /// The device.
    pub(crate) fn dev(&self) -> &Arc<Dev> {
        &self.dev
    }
}

impl Drop for DevShare {
    fn drop(&mut self) {
        let gone = {
            let mut devs = self.server.devs.lock();
            let slot = devs
                .iter_mut()
                .find(|e| e.as_ref().is_some_and(|e| Arc::ptr_eq(&e.dev, &self.dev)));
            match slot {
                Some(slot) => {
                    let last = slot.as_mut().is_some_and(|e| {
                        e.users -= 1;
                        if self.writer {
                            e.open_write_cnt -= 1;
                        }
                        e.users == 0
                    });
                    if last {
                        slot.take()
                    } else {
                        None
                    }
                }
                None => None,
            }
        };
        // The directory is removed outside the registry lock.
        drop(gone);
    }
}
