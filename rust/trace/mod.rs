// SPDX-License-Identifier: GPL-2.0-or-later

//! The tracepoints of the C modules of Linux 6.12, fired from Rust.
//!
//! C header: [include/rnbd_rs_trace.h](../../include/rnbd_rs_trace.h); the events are defined
//! in each module's C trace header (`rtrs/client/rtrs-clt-trace.h`,
//! `rtrs/server/rtrs-srv-trace.h`, `rnbd/server/rnbd-srv-trace.h`) with the systems, names,
//! fields and print formats of C's, so perf and bpftrace scripts written for the C modules
//! work unchanged.
//!
//! 6.12 has no Rust tracepoints, so each event is fired through a small C function. Every
//! event has an `..._enabled()` check (the tracepoint's static key, behind one call): a call
//! site gathers the fields, formats names and takes locks only after it said yes, so a
//! disabled event costs that call and a branch. Without `CONFIG_TRACEPOINTS` (the perf
//! kernel) the checks are constant `false` and the call sites compile away.
//!
//! One submodule per trace system; a module uses only its own ([`rtrs_clt`], [`rtrs_srv`],
//! [`rnbd_srv`]): the C functions of the others are not linked into it.

use core::fmt;

pub(crate) mod rnbd_srv;
pub(crate) mod rtrs_clt;
pub(crate) mod rtrs_srv;

/// `NAME_MAX`: the size of the `sessname` arrays of the RTRS events, NUL included.
const NAME_MAX: usize = 255;

/// Defines `$vis fn $name() -> bool`, whether the event behind the C function `$c`
/// (`trace_<event>_enabled()`) is on; constant `false` without `CONFIG_TRACEPOINTS`.
macro_rules! enabled_fn {
    ($(#[$meta:meta])* $vis:vis fn $name:ident = $c:ident;) => {
        $(#[$meta])*
        #[inline]
        $vis fn $name() -> bool {
            #[cfg(CONFIG_TRACEPOINTS)]
            {
                // SAFETY: The C function only reads the tracepoint's static key.
                unsafe { crate::bindings::$c() }
            }
            #[cfg(not(CONFIG_TRACEPOINTS))]
            {
                false
            }
        }
    };
}
use enabled_fn;

/// A string argument of an event: its pointer and length, as the C structs take it.
fn str_arg(s: &[u8]) -> (*const kernel::ffi::c_char, usize) {
    (s.as_ptr().cast(), s.len())
}

/// A name formatted on the stack, for the events whose `sessname` C takes from a sysfs
/// directory name the Rust modules do not keep as a string: no allocation, so it can be
/// built in any context. Longer names are cut at `NAME_MAX - 1` bytes, as the event's
/// array would cut them.
pub(crate) struct NameBuf {
    buf: [u8; NAME_MAX - 1],
    len: usize,
}

impl NameBuf {
    /// `args` formatted.
    pub(crate) fn new(args: fmt::Arguments<'_>) -> Self {
        let mut n = Self {
            buf: [0; NAME_MAX - 1],
            len: 0,
        };
        // `write_str` never fails: it cuts.
        let _ = fmt::Write::write_fmt(&mut n, args);
        n
    }

    /// The bytes written.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl fmt::Write for NameBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// READ or WRITE, the `dir` field of the RTRS and RNBD events (the C `READ` and `WRITE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    /// The client reads: the server writes data into the client's buffers.
    Read = 0,
    /// The client writes.
    Write = 1,
}
