// SPDX-License-Identifier: GPL-2.0-or-later

//! A device opened by one session (C `rnbd_srv_sess_dev`) and its directory
//! `ctl/devices/<name>/sessions/<sessname>/` (`access_mode`, `read_only`, `mapping_path`,
//! `force_close`).

use crate::block::{bdev::Bdev, SECTOR_SHIFT, SECTOR_SIZE};
use crate::dev::DevShare;
use crate::file::File;
use crate::proto::{AccessMode, OpenRsp, CACHE_FUA, CACHE_WRITEBACK};
use crate::session::Session;
use crate::sync::{Gate, Pass};
use crate::sysfs::{Attribute, AttributeOperations, Attributes, KobjectRef, Page};
use core::fmt::Write;
use kernel::{c_str, prelude::*, sync::Arc};

/// `max_hw_sectors` reported for a file (C clients ignore it and use the RTRS limit).
const FILE_MAX_SECTORS: u32 = 1024;
/// `max_segments` reported for a file (ignored by C clients too).
const FILE_MAX_SEGMENTS: u16 = 128;

/// What a device path opened: a block device, as C, or a regular file.
pub(crate) enum Backing {
    /// A block device; bios in flight hold clones, all gone before the last is dropped.
    Bdev(Arc<Bdev>),
    /// A regular file, read and written synchronously by the requests.
    File(File),
}

/// What an open device holds: what its path opened and the session's share of the exported
/// device. Dropping it closes the block device or file, then gives the share back (write
/// count, and the device's directory with its last user). May sleep.
pub(crate) struct OpenDev {
    /// The block device or file.
    pub(crate) backing: Backing,
    /// The share of the exported device.
    pub(crate) share: DevShare,
}

/// A device opened by a session, reachable by its id from IO (through the session's id table)
/// and from its sysfs directory.
#[pin_data]
pub(crate) struct SessDev {
    /// The id the client addresses it with.
    pub(crate) id: u32,
    /// The access mode the client asked for.
    pub(crate) mode: AccessMode,
    /// `dev_name` as the client sent it (`mapping_path`).
    pub(crate) path: KVec<u8>,
    /// The session, for `force_close`.
    sess: Arc<Session>,
    /// The open device: IO enters the gate, closing shuts it and waits for the IO.
    #[pin]
    open: Gate<OpenDev>,
}

impl SessDev {
    /// A device of `sess` with id `id`, holding `open`.
    pub(crate) fn new(
        sess: Arc<Session>,
        id: u32,
        mode: AccessMode,
        path: &[u8],
        open: OpenDev,
    ) -> Result<Arc<Self>> {
        let mut p = KVec::with_capacity(path.len(), GFP_KERNEL)?;
        p.extend_from_slice(path, GFP_KERNEL)?;
        let this = Arc::pin_init(
            pin_init!(Self {
                id,
                mode,
                path: p,
                sess,
                open <- Gate::new(),
            }),
            GFP_KERNEL,
        )?;
        // A fresh gate takes the value.
        this.open.open(open).map_err(|_| EINVAL)?;
        Ok(this)
    }

    /// A pass to the open device, for one IO or one reply; `None` once closing began.
    pub(crate) fn enter(&self) -> Option<Pass<OpenDev>> {
        self.open.enter()
    }

    /// Closes the device (C `rnbd_destroy_sess_dev`): no new IO, waits for the IO in flight,
    /// then closes the block device and gives the share back. Sleeps.
    pub(crate) fn close(&self) {
        self.open.shut();
        while self.open.wait_drained_ms(1000).is_err() {
            pr_warn!(
                "<{}@{}>: closing the device: waiting for IO in flight\n",
                kernel::str::BStr::from_bytes(&self.path),
                self.sess.name()
            );
        }
        if let Some(open) = self.open.take() {
            let name = open.share.dev().clone();
            drop(open);
            pr_info!(
                "<{}@{}>: Device {} closed\n",
                kernel::str::BStr::from_bytes(&self.path),
                self.sess.name(),
                name.name()
            );
        }
    }

    /// The OPEN_RSP describing the device (C `rnbd_srv_fill_msg_open_rsp`).
    pub(crate) fn open_rsp(&self, open: &OpenDev) -> OpenRsp {
        match &open.backing {
            Backing::Bdev(b) => self.bdev_rsp(b),
            Backing::File(f) => OpenRsp {
                device_id: self.id,
                nsectors: f.size() >> SECTOR_SHIFT,
                max_hw_sectors: FILE_MAX_SECTORS,
                // CAST: `SECTOR_SIZE` is 512.
                physical_block_size: SECTOR_SIZE as u16,
                // CAST: As above.
                logical_block_size: SECTOR_SIZE as u16,
                max_segments: FILE_MAX_SEGMENTS,
                // Through the page cache: flushes become `vfs_fsync`, FUA writes
                // `vfs_fsync_range`. No discard nor write-zeroes.
                cache_policy: CACHE_WRITEBACK | CACHE_FUA,
                ..OpenRsp::default()
            },
        }
    }

    /// The OPEN_RSP of a block device, from its limits.
    fn bdev_rsp(&self, b: &Bdev) -> OpenRsp {
        let mut cache_policy = 0;
        if b.write_cache() {
            cache_policy |= CACHE_WRITEBACK;
        }
        if b.fua() {
            cache_policy |= CACHE_FUA;
        }
        OpenRsp {
            device_id: self.id,
            nsectors: b.nr_sectors(),
            max_hw_sectors: b.max_hw_sectors(),
            max_write_zeroes_sectors: b.max_write_zeroes_sectors(),
            max_discard_sectors: b.max_discard_sectors(),
            discard_granularity: b.discard_granularity(),
            discard_alignment: b.discard_alignment(),
            // CAST: `le16` on the wire, truncated as C's `cpu_to_le16` does (block sizes are
            // at most 64 KiB).
            physical_block_size: b.physical_block_size() as u16,
            // CAST: As above.
            logical_block_size: b.logical_block_size() as u16,
            max_segments: b.max_segments(),
            // CAST: C sends the sector limit cut to 16 bits; clients read it as a boolean
            // (wire protocol §17 item 4, kept for the same answers as C).
            secure_discard: b.max_secure_erase_sectors() as u16,
            cache_policy,
        }
    }
}

/// `access_mode`: the mode the client asked for.
#[vtable]
impl AttributeOperations<0> for SessDev {
    fn show(&self, page: &mut Page<'_>) -> Result {
        writeln!(page, "{}", self.mode.name())?;
        Ok(())
    }
}

/// `read_only`: 1 for an ro mapping.
#[vtable]
impl AttributeOperations<1> for SessDev {
    fn show(&self, page: &mut Page<'_>) -> Result {
        writeln!(page, "{}", u8::from(self.mode == AccessMode::Ro))?;
        Ok(())
    }
}

/// `mapping_path`: `dev_name` as the client sent it.
#[vtable]
impl AttributeOperations<2> for SessDev {
    fn show(&self, page: &mut Page<'_>) -> Result {
        page.write_bytes(&self.path)?;
        page.write_bytes(b"\n")
    }
}

/// `force_close`: `1` closes this session's use of the device; its id stays taken.
#[vtable]
impl AttributeOperations<3> for SessDev {
    fn show(&self, page: &mut Page<'_>) -> Result {
        writeln!(page, "Usage: echo 1 > force_close")?;
        Ok(())
    }

    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        // `sysfs_streq(buf, "1")`: one trailing newline allowed.
        if input != b"1" && input != b"1\n" {
            pr_err!(
                "<{}@{}>: force_close: invalid value: '{}'\n",
                kernel::str::BStr::from_bytes(&self.path),
                self.sess.name(),
                kernel::str::BStr::from_bytes(input)
            );
            return Err(EINVAL);
        }
        pr_info!(
            "<{}@{}>: force close requested\n",
            kernel::str::BStr::from_bytes(&self.path),
            self.sess.name()
        );
        self.sess.force_close(self);
        Ok(())
    }
}

impl Attributes for SessDev {
    const ATTRIBUTES: &'static [Attribute<Self>] = &[
        Attribute::new::<0>(c_str!("access_mode"), 0o444),
        Attribute::new::<1>(c_str!("read_only"), 0o444),
        Attribute::new::<2>(c_str!("mapping_path"), 0o444),
        Attribute::new_self_removing::<3>(c_str!("force_close"), 0o644),
    ];
}
