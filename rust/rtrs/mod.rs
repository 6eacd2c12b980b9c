// SPDX-License-Identifier: GPL-2.0-or-later

//! The users' side of the `rtrs.h` C API: safe wrappers of the functions either RTRS module
//! (C or Rust) exports, for the RNBD modules.
//!
//! C header: [include/rtrs.h](../../include/rtrs.h).
//!
//! * [`clt`]: the client side (`rtrs_clt_open`, permits, requests, `rtrs_clt_query`), used
//!   by `rnbd_client`.
//! * [`srv`]: the server side (`rtrs_srv_open`, the request and link callbacks,
//!   `rtrs_srv_resp_rdma`), used by `rnbd_server`.

pub(crate) mod clt;
pub(crate) mod srv;
