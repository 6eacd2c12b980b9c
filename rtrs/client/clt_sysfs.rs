// SPDX-License-Identifier: GPL-2.0-or-later

//! The session directory `/sys/class/rtrs-client/<sessname>/` (sysfs-abi §2.1).
//!
//! C version: [drivers/infiniband/ulp/rtrs/rtrs-clt-sysfs.c](srctree/drivers/infiniband/ulp/rtrs/rtrs-clt-sysfs.c).

use crate::clt::Sess;
use crate::mp_policy::Policy;
use crate::sync::{Global, OwnedQueue};
use crate::sysfs::{
    trim, Attribute, AttributeOperations, Attributes, Class, Device, KobjectRef, Page,
};
use core::fmt::Write;
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::Arc;

/// The class `rtrs-client`, set while the module is loaded.
pub(crate) static CLASS: Global<Class> = Global::new();

/// The module's workqueue (`rtrs_client_wq`), set while the module is loaded.
pub(crate) static WQ: Global<OwnedQueue> = Global::new();

/// The payload of a session directory.
pub(crate) struct SessFiles {
    sess: Arc<Sess>,
}

/// `max_reconnect_attempts`.
const MAX_RECONNECT_ATTEMPTS: u64 = 0;
/// `mpath_policy`.
const MPATH_POLICY: u64 = 1;

#[vtable]
impl AttributeOperations<MAX_RECONNECT_ATTEMPTS> for SessFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        writeln!(
            page,
            "{}",
            self.sess.max_reconnect_attempts.load(Ordering::Relaxed)
        )?;
        Ok(())
    }

    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        let text = input.strip_suffix(b"\n").unwrap_or(input);
        let text = core::str::from_utf8(text).map_err(|_| EINVAL)?;
        let v = text
            .strip_prefix('+')
            .unwrap_or(text)
            .parse::<i32>()
            .map_err(|_| EINVAL)?;
        if !(-1..=9999).contains(&v) {
            pr_err!(
                "{}: invalid range (provided: '{}')\n",
                "max_reconnect_attempts",
                text
            );
            return Err(EINVAL);
        }
        self.sess.max_reconnect_attempts.store(v, Ordering::Relaxed);
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<MPATH_POLICY> for SessFiles {
    fn show(&self, page: &mut Page<'_>) -> Result {
        let v = self.sess.mp_policy.load(Ordering::Relaxed);
        let p = [Policy::RoundRobin, Policy::MinInflight, Policy::MinLatency]
            .into_iter()
            .find(|p| *p as u32 == v);
        match p {
            Some(p) => writeln!(page, "{}", p.show())?,
            None => writeln!(page, "Unknown ({})", v)?,
        }
        Ok(())
    }

    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        let Some(p) = Policy::parse(input) else {
            pr_err!(
                "{}: unknown value: '{}'\n",
                "mpath_policy",
                trim(input).len()
            );
            return Err(EINVAL);
        };
        self.sess.mp_policy.store(p as u32, Ordering::Relaxed);
        Ok(())
    }
}

impl Attributes for SessFiles {
    const ATTRIBUTES: &'static [Attribute<Self>] = &[
        Attribute::new::<MAX_RECONNECT_ATTEMPTS>(kernel::c_str!("max_reconnect_attempts"), 0o644),
        Attribute::new::<MPATH_POLICY>(kernel::c_str!("mpath_policy"), 0o644),
    ];
}

/// A session's device in the class; removed when dropped.
pub(crate) struct SessDev {
    _dev: Device<SessFiles>,
}

impl SessDev {
    /// Creates `/sys/class/rtrs-client/<sessname>`.
    pub(crate) fn new(sess: &Arc<Sess>) -> Result<Self> {
        let class = CLASS.get().ok_or(ENODEV)?;
        let name = core::str::from_utf8(&sess.name).map_err(|_| EINVAL)?;
        let files = Arc::new(SessFiles { sess: sess.clone() }, GFP_KERNEL)?;
        Ok(Self {
            _dev: Device::new(&class, kernel::fmt!("{}", name), files)?,
        })
    }
}
