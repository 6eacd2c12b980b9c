// SPDX-License-Identifier: GPL-2.0-or-later

//! The `rtrs.h` C API, as used by the RNBD modules: safe wrappers of the functions the RTRS
//! modules export (C or Rust, either works), for their users.
//!
//! C header: [include/rtrs.h](../../include/rtrs.h).
//!
//! * [`srv`]: the server side (`rtrs_srv_open`, the request and link callbacks,
//!   `rtrs_srv_resp_rdma`), used by `rnbd_server`.

pub(crate) mod srv;
