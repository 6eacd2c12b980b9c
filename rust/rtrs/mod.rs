// SPDX-License-Identifier: GPL-2.0-or-later

//! The users' side of the `rtrs.h` C API, exported by either RTRS module (C or Rust).
//!
//! C header: [include/rtrs.h](../../include/rtrs.h).

pub(crate) mod clt;
