// SPDX-License-Identifier: GPL-2.0-or-later

//! Path addresses as an admin writes them: `ip:<IPv4>`, `ip:<IPv6>[%<scope>]` and
//! `gid:<GID>`, alone (the destination) or as `<src>,<dst>` / `<src>@<dst>`.
//!
//! The grammar of RTRS `add_path` and of RNBD `map_device path=` (sysfs ABI §2.2, §6).
//! Pure logic on bytes: it builds for the host and is unit-tested there. Resolving a scope
//! name to an interface index is left to the caller, who has the network namespace.

use core::net::{Ipv4Addr, Ipv6Addr};
use core::str::FromStr;

/// One endpoint of a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Addr<'a> {
    /// `ip:a.b.c.d`.
    Ip4 {
        /// The address.
        addr: Ipv4Addr,
        /// Port: the session's port for a destination, 0 for a source.
        port: u16,
    },
    /// `ip:<IPv6>` with an optional `%<interface name or number>`.
    Ip6 {
        /// The address.
        addr: Ipv6Addr,
        /// The scope as written, if any (only honoured for link-local addresses).
        scope: Option<&'a [u8]>,
        /// Port: the session's port for a destination, 0 for a source.
        port: u16,
    },
    /// `gid:<GID in IPv6 form>`, an InfiniBand address (`AF_IB`).
    Gid {
        /// The GID.
        gid: [u8; 16],
        /// Port, carried in the IB service id.
        port: u16,
    },
}

/// Why an address did not parse; the kernel side turns it into an errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddrError {
    /// Neither `ip:` nor `gid:` in front of the destination (`-EPROTONOSUPPORT`).
    NoPrefix,
    /// The address after the prefix is malformed (`-EINVAL`).
    Invalid,
}

/// A path: an optional source and a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PathAddr<'a> {
    /// Local address to bind to, if given.
    pub(crate) src: Option<Addr<'a>>,
    /// Address of the server.
    pub(crate) dst: Addr<'a>,
}

fn parse_ip(s: &[u8], port: u16) -> Result<Addr<'_>, AddrError> {
    let (text, scope) = match s.iter().position(|&c| c == b'%') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let text = core::str::from_utf8(text).map_err(|_| AddrError::Invalid)?;
    if scope.is_none() {
        if let Ok(addr) = Ipv4Addr::from_str(text) {
            return Ok(Addr::Ip4 { addr, port });
        }
    }
    let addr = Ipv6Addr::from_str(text).map_err(|_| AddrError::Invalid)?;
    if scope.is_some_and(|s| s.is_empty()) {
        return Err(AddrError::Invalid);
    }
    Ok(Addr::Ip6 { addr, scope, port })
}

/// Parses one `ip:`/`gid:` address with the given port.
pub(crate) fn parse_addr(s: &[u8], port: u16) -> Result<Addr<'_>, AddrError> {
    if let Some(gid) = s.strip_prefix(b"gid:") {
        let text = core::str::from_utf8(gid).map_err(|_| AddrError::Invalid)?;
        let gid = Ipv6Addr::from_str(text).map_err(|_| AddrError::Invalid)?;
        Ok(Addr::Gid {
            gid: gid.octets(),
            port,
        })
    } else if let Some(ip) = s.strip_prefix(b"ip:") {
        parse_ip(ip, port)
    } else {
        Err(AddrError::NoPrefix)
    }
}

/// Parses `[<src>{,|@}]<dst>`: `,` is looked for before `@`, as in C. The destination gets
/// `port`, the source port 0. A bad source is always [`AddrError::Invalid`].
pub(crate) fn parse_path(s: &[u8], port: u16) -> Result<PathAddr<'_>, AddrError> {
    let sep = s
        .iter()
        .position(|&c| c == b',')
        .or_else(|| s.iter().position(|&c| c == b'@'));
    match sep {
        Some(i) => Ok(PathAddr {
            src: Some(parse_addr(&s[..i], 0).map_err(|_| AddrError::Invalid)?),
            dst: parse_addr(&s[i + 1..], port)?,
        }),
        None => Ok(PathAddr {
            src: None,
            dst: parse_addr(s, port)?,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip4(s: &str, port: u16) -> Addr<'static> {
        Addr::Ip4 {
            addr: s.parse().unwrap(),
            port,
        }
    }

    #[test]
    fn destination_only() {
        let p = parse_path(b"ip:10.0.2.15", 1234).unwrap();
        assert_eq!(p.src, None);
        assert_eq!(p.dst, ip4("10.0.2.15", 1234));
    }

    #[test]
    fn comma_is_searched_before_at() {
        let p = parse_path(b"ip:1.1.1.1,ip:1.1.1.2", 7).unwrap();
        assert_eq!(p.src, Some(ip4("1.1.1.1", 0)));
        assert_eq!(p.dst, ip4("1.1.1.2", 7));
        let p = parse_path(b"ip:1.1.1.1@ip:1.1.1.2", 7).unwrap();
        assert_eq!(p.src, Some(ip4("1.1.1.1", 0)));
        // With both separators the comma splits, so the destination holds the '@'.
        assert_eq!(
            parse_path(b"ip:1.1.1.1,ip:1.1.1.2@ip:1.1.1.3", 7),
            Err(AddrError::Invalid)
        );
    }

    #[test]
    fn ipv6_with_and_without_scope() {
        let p = parse_path(b"ip:fe80::1%eth0", 1).unwrap();
        assert_eq!(
            p.dst,
            Addr::Ip6 {
                addr: "fe80::1".parse().unwrap(),
                scope: Some(b"eth0"),
                port: 1
            }
        );
        let p = parse_path(b"ip:2001:db8::2", 1).unwrap();
        assert!(matches!(p.dst, Addr::Ip6 { scope: None, .. }));
        assert_eq!(parse_path(b"ip:fe80::1%", 1), Err(AddrError::Invalid));
        assert_eq!(parse_path(b"ip:1.2.3.4%eth0", 1), Err(AddrError::Invalid));
    }

    #[test]
    fn gid() {
        let p = parse_path(b"gid:fe80::200:5aee:feaa:20a2", 1234).unwrap();
        match p.dst {
            Addr::Gid { gid, port } => {
                assert_eq!(port, 1234);
                assert_eq!(&gid[..2], &[0xfe, 0x80]);
                assert_eq!(&gid[14..], &[0x20, 0xa2]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(parse_path(b"gid:zz", 1), Err(AddrError::Invalid));
    }

    #[test]
    fn errors() {
        assert_eq!(parse_path(b"10.0.2.15", 1), Err(AddrError::NoPrefix));
        assert_eq!(parse_path(b"", 1), Err(AddrError::NoPrefix));
        assert_eq!(parse_path(b"ip:999.0.0.1", 1), Err(AddrError::Invalid));
        assert_eq!(parse_path(b"ip:", 1), Err(AddrError::Invalid));
        assert_eq!(parse_path(b"ip:1.2.3.4x", 1), Err(AddrError::Invalid));
        // A bad source is -EINVAL even when it lacks the prefix.
        assert_eq!(parse_path(b"bogus@ip:1.1.1.1", 1), Err(AddrError::Invalid));
        assert_eq!(
            parse_path(b"ip:1.1.1.1@10.0.0.1", 1),
            Err(AddrError::NoPrefix)
        );
        assert_eq!(parse_path(b"ip:\xff", 1), Err(AddrError::Invalid));
    }
}
