// SPDX-License-Identifier: GPL-2.0-or-later

//! Error codes the 6.12 `kernel` crate does not declare.
//!
//! `kernel::error::code` stops at a few dozen errno values; the transport also needs the
//! network ones (`ETIMEDOUT`, `ECONNRESET`, ...). [`errno!`] names any of them:
//! `return Err(errno!(ETIMEDOUT));`.

/// The [`kernel::error::Error`] for an errno name from `include/uapi/asm-generic/errno*.h`.
macro_rules! errno {
    ($name:ident) => {
        ::kernel::error::Error::from_errno(-($crate::bindings::$name as i32))
    };
}
pub(crate) use errno;
