// SPDX-License-Identifier: GPL-2.0-or-later

//! The text form of path addresses in sysfs (wire protocol §13, sysfs ABI §2.3):
//! `ip:<IPv4 dotted>`, `ip:<IPv6 compressed>` (`%pI6c`) or `gid:<8 groups of 4 hex digits>`
//! (`%pI6`).
//!
//! C version: `sockaddr_to_str` in `drivers/infiniband/ulp/rtrs/rtrs.c`.
//!
//! Pure logic: it builds for the host.

use core::fmt;

/// An address without port, as sysfs shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddrText {
    /// IPv4.
    V4([u8; 4]),
    /// IPv6.
    V6([u8; 16]),
    /// An IB GID (`AF_IB`).
    Gid([u8; 16]),
    /// Another family: shown as `unknown`.
    Other,
}

/// `AF_INET`, `AF_INET6`, `AF_IB` (include/linux/socket.h).
const AF_INET: u16 = 2;
/// See [`AF_INET`].
const AF_INET6: u16 = 10;
/// See [`AF_INET`].
const AF_IB: u16 = 27;

impl AddrText {
    /// The text of an address of family `family` whose first `len` bytes of `bytes` are the
    /// address (4 for IPv4, 16 for IPv6 and GIDs).
    pub(crate) fn new(family: u16, (bytes, len): ([u8; 16], usize)) -> Self {
        match (family, len) {
            (AF_INET, 4) => Self::V4([bytes[0], bytes[1], bytes[2], bytes[3]]),
            (AF_INET6, 16) => Self::V6(bytes),
            (AF_IB, 16) => Self::Gid(bytes),
            _ => Self::Other,
        }
    }
}

/// The eight 16-bit groups of an IPv6 address or GID.
fn groups(a: &[u8; 16]) -> [u16; 8] {
    let mut g = [0u16; 8];
    for (i, v) in g.iter_mut().enumerate() {
        *v = u16::from_be_bytes([a[2 * i], a[2 * i + 1]]);
    }
    g
}

impl fmt::Display for AddrText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4(a) => write!(f, "ip:{}.{}.{}.{}", a[0], a[1], a[2], a[3]),
            Self::Gid(a) => {
                f.write_str("gid:")?;
                for (i, v) in groups(a).iter().enumerate() {
                    if i > 0 {
                        f.write_str(":")?;
                    }
                    write!(f, "{:04x}", v)?;
                }
                Ok(())
            }
            Self::V6(a) => {
                f.write_str("ip:")?;
                let g = groups(a);
                // `%pI6c`: the longest run of two or more zero groups (first one on a tie)
                // becomes `::`; an IPv4-mapped or ISATAP address (`::ffff:0:0/96`,
                // `<prefix>:0:5efe::/96` or `<prefix>:200:5efe::/96`) ends in dotted form.
                let dotted = (g[..5] == [0; 5] && g[5] == 0xffff)
                    || (g[4] | 0x0200 == 0x0200 && g[5] == 0x5efe);
                let n = if dotted { 6 } else { 8 };
                let (mut best, mut best_len, mut i) = (n, 0, 0);
                while i < n {
                    let start = i;
                    while i < n && g[i] == 0 {
                        i += 1;
                    }
                    if i - start > best_len {
                        (best, best_len) = (start, i - start);
                    }
                    i += 1;
                }
                if best_len < 2 {
                    (best, best_len) = (n, 0);
                }
                let mut i = 0;
                while i < n {
                    if i == best {
                        f.write_str("::")?;
                        i += best_len;
                        continue;
                    }
                    if i > 0 && i != best + best_len {
                        f.write_str(":")?;
                    }
                    write!(f, "{:x}", g[i])?;
                    i += 1;
                }
                if dotted {
                    // Group 5 is not zero, so no `::` came just before.
                    write!(f, ":{}.{}.{}.{}", a[12], a[13], a[14], a[15])?;
                }
                Ok(())
            }
            Self::Other => f.write_str("unknown"),
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::AddrText;
    use std::string::ToString;

    fn v6(g: [u16; 8]) -> AddrText {
        let mut b = [0u8; 16];
        for (i, v) in g.iter().enumerate() {
            b[2 * i..2 * i + 2].copy_from_slice(&v.to_be_bytes());
        }
        AddrText::V6(b)
    }

    #[test]
    fn ipv4() {
        assert_eq!(AddrText::V4([10, 0, 2, 15]).to_string(), "ip:10.0.2.15");
    }

    #[test]
    fn from_family() {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&[192, 168, 1, 2]);
        assert_eq!(AddrText::new(2, (b, 4)), AddrText::V4([192, 168, 1, 2]));
        assert_eq!(AddrText::new(10, (b, 16)), AddrText::V6(b));
        assert_eq!(AddrText::new(27, (b, 16)), AddrText::Gid(b));
        assert_eq!(AddrText::new(2, (b, 16)), AddrText::Other);
        assert_eq!(AddrText::new(1, (b, 0)), AddrText::Other);
    }

    #[test]
    fn ipv6_compressed_like_pi6c() {
        assert_eq!(v6([0, 0, 0, 0, 0, 0, 0, 1]).to_string(), "ip:::1");
        assert_eq!(v6([0; 8]).to_string(), "ip:::");
        assert_eq!(
            v6([0xfe80, 0, 0, 0, 1, 2, 3, 4]).to_string(),
            "ip:fe80::1:2:3:4"
        );
        assert_eq!(v6([1, 0, 2, 0, 0, 3, 0, 0]).to_string(), "ip:1:0:2::3:0:0");
        assert_eq!(
            v6([1, 2, 3, 4, 5, 6, 7, 0]).to_string(),
            "ip:1:2:3:4:5:6:7:0"
        );
        assert_eq!(v6([1, 2, 3, 4, 5, 6, 0, 0]).to_string(), "ip:1:2:3:4:5:6::");
        assert_eq!(
            v6([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x020f]).to_string(),
            "ip:::ffff:10.0.2.15"
        );
        // ISATAP, as lib/vsprintf.c: the run of zeros is looked for before the IPv4 part.
        assert_eq!(
            v6([0xfe80, 0, 0, 0, 0, 0x5efe, 0x0a00, 0x020f]).to_string(),
            "ip:fe80::5efe:10.0.2.15"
        );
        assert_eq!(
            v6([0x2001, 0xdb8, 1, 2, 0x200, 0x5efe, 0xc000, 0x0201]).to_string(),
            "ip:2001:db8:1:2:200:5efe:192.0.2.1"
        );
        assert_eq!(
            v6([0, 0, 0, 0, 0, 0x5efe, 0, 0]).to_string(),
            "ip:::5efe:0.0.0.0"
        );
        // Not ISATAP: another interface id.
        assert_eq!(
            v6([0xfe80, 0, 0, 0, 0x100, 0x5efe, 0, 1]).to_string(),
            "ip:fe80::100:5efe:0:1"
        );
    }

    #[test]
    fn gid_in_full() {
        let mut b = [0u8; 16];
        b[0] = 0xfe;
        b[1] = 0x80;
        b[15] = 1;
        assert_eq!(
            AddrText::Gid(b).to_string(),
            "gid:fe80:0000:0000:0000:0000:0000:0000:0001"
        );
    }
}
