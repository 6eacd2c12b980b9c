// SPDX-License-Identifier: GPL-2.0-or-later

//! The one place where `blk_status_t` and `Result` meet.
//!
//! C header: [include/linux/blk_types.h](srctree/include/linux/blk_types.h).

use crate::bindings;
use kernel::error::{to_result, Result};

/// Turns a `Result` into the `blk_status_t` the block layer expects.
///
/// `Ok` becomes `BLK_STS_OK`; an error is mapped by the C `errno_to_blk_status`, which
/// turns unknown errnos into `BLK_STS_IOERR`.
pub(crate) fn to_blk_status(res: Result) -> bindings::blk_status_t {
    match res {
        // CAST: `BLK_STS_OK` is 0 and fits the `u8` of `blk_status_t`.
        Ok(()) => bindings::BLK_STS_OK as bindings::blk_status_t,
        // SAFETY: `errno_to_blk_status` only reads its integer argument.
        Err(e) => unsafe { bindings::errno_to_blk_status(e.to_errno()) },
    }
}

/// Turns a `blk_status_t` (e.g. `bio->bi_status`) into a `Result`.
///
/// `BLK_STS_OK` is `Ok`; any other status is the errno the C `blk_status_to_errno` gives.
pub(crate) fn status_to_result(status: bindings::blk_status_t) -> Result {
    // SAFETY: `blk_status_to_errno` only reads its integer argument.
    to_result(unsafe { bindings::blk_status_to_errno(status) })
}
