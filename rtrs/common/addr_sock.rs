// SPDX-License-Identifier: GPL-2.0-or-later

//! Socket addresses of parsed path addresses ([`crate::addr`]), for connecting: used by
//! RTRS `add_path` and by RNBD `map_device`. Kernel only (the host build has no
//! `SockAddr`).

use crate::addr::Addr;
use crate::rdma::cm::SockAddr;
use kernel::prelude::*;

/// The socket address of a parsed `ip:` address; `EINVAL` (logged with `what` in front)
/// for what the project does not connect to yet (`gid:`, IPv6 scopes).
pub(crate) fn sock_addr(a: &Addr<'_>, what: &str) -> Result<SockAddr> {
    match a {
        Addr::Ip4 { addr, port } => Ok(SockAddr::ipv4(addr.octets(), *port)),
        Addr::Ip6 {
            addr,
            scope: None,
            port,
        } => Ok(SockAddr::ipv6(addr.octets(), *port)),
        Addr::Ip6 { .. } => {
            pr_err!("{what}: IPv6 scopes are not supported\n");
            Err(EINVAL)
        }
        Addr::Gid { .. } => {
            pr_err!("{what}: gid addresses are not supported\n");
            Err(EINVAL)
        }
    }
}
