// SPDX-License-Identifier: GPL-2.0-or-later

//! Socket addresses as RTRS prints them in sysfs names and files: `ip:` followed by the
//! dotted quad (`%pI4`) or the compressed IPv6 form (`%pI6c`, RFC 5952, IPv4-mapped
//! addresses with a dotted tail). Pure logic: host-testable.

use core::fmt;

/// An IPv4 (`v4`) or IPv6 address to print with the `ip:` prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IpAddr {
    /// Four bytes in network order.
    V4([u8; 4]),
    /// Sixteen bytes in network order.
    V6([u8; 16]),
}

impl fmt::Display for IpAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ip:")?;
        match self {
            Self::V4(a) => write!(f, "{}.{}.{}.{}", a[0], a[1], a[2], a[3]),
            Self::V6(a) => fmt_v6c(a, f),
        }
    }
}

/// `%pI6c`: the longest run (at least two) of zero groups becomes `::`, groups in lower-case
/// hex without leading zeros; `::ffff:a.b.c.d` for IPv4-mapped addresses.
fn fmt_v6c(a: &[u8; 16], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut g = [0u16; 8];
    for (i, w) in g.iter_mut().enumerate() {
        *w = u16::from_be_bytes([a[2 * i], a[2 * i + 1]]);
    }
    let mapped = g[..5].iter().all(|w| *w == 0) && g[5] == 0xffff;
    let groups = if mapped { 6 } else { 8 };
    // The longest run of zero groups, first one on ties.
    let (mut best, mut best_len, mut i) = (0, 0, 0);
    while i < groups {
        if g[i] == 0 {
            let start = i;
            while i < groups && g[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best_len = 0;
    }
    let mut i = 0;
    let mut need_colon = false;
    while i < groups {
        if best_len > 0 && i == best {
            f.write_str("::")?;
            i += best_len;
            need_colon = false;
            continue;
        }
        if need_colon {
            f.write_str(":")?;
        }
        write!(f, "{:x}", g[i])?;
        need_colon = true;
        i += 1;
    }
    if mapped {
        if need_colon {
            f.write_str(":")?;
        }
        write!(f, "{}.{}.{}.{}", a[12], a[13], a[14], a[15])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::format;

    fn v6(s: [u16; 8]) -> IpAddr {
        let mut a = [0u8; 16];
        for (i, w) in s.iter().enumerate() {
            a[2 * i..2 * i + 2].copy_from_slice(&w.to_be_bytes());
        }
        IpAddr::V6(a)
    }

    #[test]
    fn formats() {
        assert_eq!(format!("{}", IpAddr::V4([10, 0, 2, 15])), "ip:10.0.2.15");
        assert_eq!(format!("{}", v6([0; 8])), "ip:::");
        assert_eq!(format!("{}", v6([0, 0, 0, 0, 0, 0, 0, 1])), "ip:::1");
        assert_eq!(
            format!("{}", v6([0xfe80, 0, 0, 0, 0, 0, 0, 1])),
            "ip:fe80::1"
        );
        assert_eq!(
            format!("{}", v6([0x2001, 0xdb8, 0, 1, 0, 0, 0, 1])),
            "ip:2001:db8:0:1::1"
        );
        assert_eq!(format!("{}", v6([1, 0, 0, 2, 0, 0, 0, 3])), "ip:1:0:0:2::3");
        assert_eq!(
            format!("{}", v6([1, 2, 3, 4, 5, 6, 7, 8])),
            "ip:1:2:3:4:5:6:7:8"
        );
        assert_eq!(
            format!("{}", v6([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x020f])),
            "ip:::ffff:10.0.2.15"
        );
    }
}
