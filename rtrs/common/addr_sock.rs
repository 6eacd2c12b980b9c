// SPDX-License-Identifier: GPL-2.0-or-later

//! Socket addresses of parsed path addresses ([`crate::addr`]), for connecting, as
//! `rtrs_addr_to_sockaddr` of the C rtrs-core builds them: used by RTRS `add_path` and by
//! RNBD `map_device`. Kernel only (the host build has no `SockAddr`).

use crate::addr::Addr;
use crate::rdma::cm::SockAddr;
use kernel::prelude::*;

/// The socket address of `a`: `AF_INET`, `AF_INET6` (a link-local address with its scope
/// resolved to an interface) or `AF_IB`; `EINVAL` (logged with `what` in front) for a scope
/// that is neither an interface name nor a number.
pub(crate) fn sock_addr(a: &Addr<'_>, what: &str) -> Result<SockAddr> {
    match *a {
        Addr::Ip4 { addr, port } => Ok(SockAddr::ipv4(addr.octets(), port)),
        Addr::Ip6 {
            addr,
            scope: None,
            port,
        } => Ok(SockAddr::ipv6(addr.octets(), port)),
        Addr::Ip6 {
            addr,
            scope: Some(scope),
            port,
        } => SockAddr::ipv6_scoped(addr.octets(), scope, port).inspect_err(|_| {
            pr_err!(
                "{what}: unknown IPv6 scope '{}'\n",
                core::str::from_utf8(scope).unwrap_or("?")
            )
        }),
        Addr::Gid { gid, port } => Ok(SockAddr::ib(gid, port)),
    }
}
