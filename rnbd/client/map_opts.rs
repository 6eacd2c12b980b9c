// SPDX-License-Identifier: GPL-2.0-or-later

//! The options written to `/sys/devices/virtual/rnbd-client/ctl/map_device`
//! (sysfs ABI §4.2), parsed as the C client of Linux 6.12 parses them.
//!
//! The buffer is stripped of surrounding white space and split on single spaces; every
//! token must be one of `path=`, `device_path=`, `dest_port=`, `access_mode=`, `sessname=`
//! or `nr_poll_queues=` with a non-empty value. Options apply in the order written, so a
//! `dest_port=` only reaches the `path=` options after it. Pure logic: it builds for the
//! host and is unit-tested there.

use crate::addr::{parse_path, AddrError, PathAddr};
use crate::proto::AccessMode;

/// Most `path=` options one map may carry.
pub(crate) const MAX_PATHS: usize = 6;
/// Longest session name or device path accepted (`NAME_MAX`); C then keeps one byte less.
pub(crate) const NAME_MAX: usize = 255;
/// Port of the RNBD server unless `dest_port=` says otherwise.
pub(crate) const DEFAULT_PORT: u16 = 1234;

/// Why a `map_device` write was refused, with the errno C returns for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MapOptError {
    /// Unknown key, missing or empty value, bad number or access mode, name too long or a
    /// mandatory option missing (`-EINVAL`).
    Invalid(&'static str),
    /// More than [`MAX_PATHS`] paths (`-ENOMEM`, as in C).
    TooManyPaths,
    /// A `path=` address that did not parse.
    Addr(AddrError),
}

/// The parsed options of one `map_device` write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MapOptions<'a> {
    /// Session name, at most `NAME_MAX - 1` bytes.
    pub(crate) sessname: &'a [u8],
    /// Device path on the server, at most `NAME_MAX - 1` bytes.
    pub(crate) device_path: &'a [u8],
    /// The paths, in the order given; `paths[..path_cnt]` are set.
    pub(crate) paths: [Option<PathAddr<'a>>; MAX_PATHS],
    /// How many paths were given.
    pub(crate) path_cnt: usize,
    /// Port of the server, also the session's port for later `add_path`.
    pub(crate) dest_port: u16,
    /// Requested access mode (default read-write).
    pub(crate) access_mode: AccessMode,
    /// Poll queues, with -1 already turned into `nr_cpu_ids`.
    pub(crate) nr_poll_queues: u32,
}

/// A C integer as `simple_strtol(s, &end, 0)` reads it, which must use all of `s`:
/// optional `-`, then `0x` hex, leading-`0` octal or decimal.
fn parse_c_int(s: &[u8]) -> Option<i64> {
    let (neg, s) = match s.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (radix, digits) = match s {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => (16, &s[2..]),
        [b'0', ..] => (8, s),
        _ => (10, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        let d = (c as char).to_digit(radix)?;
        v = v.checked_mul(radix.into())?.checked_add(d.into())?;
    }
    Some(if neg { -v } else { v })
}

/// Why [`parse_ulong`] refused its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UlongError {
    /// Not a number (`-EINVAL`).
    Invalid,
    /// Too large for 64 bits (`-ERANGE`).
    Range,
}

/// An unsigned number as `kstrtoul(s, 0)` reads it (the `resize` file): optional `+`, then
/// `0x` hex, leading-`0` octal or decimal, then at most one `\n`.
pub(crate) fn parse_ulong(s: &[u8]) -> Result<u64, UlongError> {
    let s = s.strip_prefix(b"+").unwrap_or(s);
    let s = s.strip_suffix(b"\n").unwrap_or(s);
    let (radix, digits) = match s {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => (16, &s[2..]),
        [b'0', ..] => (8, s),
        _ => (10, s),
    };
    if digits.is_empty() {
        return Err(UlongError::Invalid);
    }
    let mut v: u64 = 0;
    for &c in digits {
        let d = (c as char).to_digit(radix).ok_or(UlongError::Invalid)?;
        v = v
            .checked_mul(radix.into())
            .and_then(|v| v.checked_add(d.into()))
            .ok_or(UlongError::Range)?;
    }
    Ok(v)
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// A name option: longer than `NAME_MAX` is refused, `NAME_MAX` itself loses its last byte.
fn name<'a>(v: &'a [u8], what: &'static str) -> Result<&'a [u8], MapOptError> {
    if v.len() > NAME_MAX {
        return Err(MapOptError::Invalid(what));
    }
    Ok(&v[..v.len().min(NAME_MAX - 1)])
}

/// Parses a `map_device` buffer; `nr_cpu_ids` bounds `nr_poll_queues`.
pub(crate) fn parse(buf: &[u8], nr_cpu_ids: u32) -> Result<MapOptions<'_>, MapOptError> {
    let start = buf.iter().position(|&c| !is_space(c)).unwrap_or(buf.len());
    let end = buf
        .iter()
        .rposition(|&c| !is_space(c))
        .map_or(start, |i| i + 1);
    let mut o = MapOptions {
        sessname: b"",
        device_path: b"",
        paths: [None; MAX_PATHS],
        path_cnt: 0,
        dest_port: DEFAULT_PORT,
        access_mode: AccessMode::Rw,
        nr_poll_queues: 0,
    };
    let (mut have_sessname, mut have_device_path) = (false, false);
    for tok in buf[start..end]
        .split(|&c| c == b' ')
        .filter(|t| !t.is_empty())
    {
        let (key, val) = match tok.iter().position(|&c| c == b'=') {
            Some(i) if i + 1 < tok.len() => (&tok[..i], &tok[i + 1..]),
            _ => return Err(MapOptError::Invalid("unknown parameter or missing value")),
        };
        let int =
            || parse_c_int(val).ok_or(MapOptError::Invalid("unknown parameter or missing value"));
        match key {
            b"path" => {
                if o.path_cnt >= MAX_PATHS {
                    return Err(MapOptError::TooManyPaths);
                }
                o.paths[o.path_cnt] =
                    Some(parse_path(val, o.dest_port).map_err(MapOptError::Addr)?);
                o.path_cnt += 1;
            }
            b"device_path" => {
                o.device_path = name(val, "device path too long")?;
                have_device_path = true;
            }
            b"dest_port" => {
                o.dest_port = u16::try_from(int()?)
                    .map_err(|_| MapOptError::Invalid("bad destination port"))?;
            }
            b"access_mode" => {
                o.access_mode =
                    AccessMode::parse(val).ok_or(MapOptError::Invalid("invalid access_mode"))?;
            }
            b"sessname" => {
                o.sessname = name(val, "sessname too long")?;
                have_sessname = true;
            }
            b"nr_poll_queues" => {
                o.nr_poll_queues = match int()? {
                    -1 => nr_cpu_ids,
                    n if (0..=i64::from(nr_cpu_ids)).contains(&n) => n as u32,
                    _ => return Err(MapOptError::Invalid("bad nr_poll_queues")),
                };
            }
            _ => return Err(MapOptError::Invalid("unknown parameter or missing value")),
        }
    }
    if !have_device_path || !have_sessname {
        return Err(MapOptError::Invalid("parameters missing"));
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Addr;

    const OK: &[u8] = b"sessname=s1 path=ip:10.0.2.15 device_path=/dev/ram0";

    fn err(s: &[u8]) -> MapOptError {
        parse(s, 2).unwrap_err()
    }

    #[track_caller]
    fn assert_invalid(s: &[u8]) {
        let e = err(s);
        assert!(
            matches!(e, MapOptError::Invalid(_)),
            "{:?}: {e:?}",
            String::from_utf8_lossy(s)
        );
    }

    #[test]
    fn minimal() {
        let o = parse(OK, 2).unwrap();
        assert_eq!(o.sessname, b"s1");
        assert_eq!(o.device_path, b"/dev/ram0");
        assert_eq!(o.path_cnt, 1);
        assert_eq!(o.dest_port, 1234);
        assert_eq!(o.access_mode, AccessMode::Rw);
        assert_eq!(o.nr_poll_queues, 0);
    }

    #[test]
    fn whitespace_and_repeated_spaces() {
        let o = parse(
            b"\t sessname=s1   path=ip:10.0.2.15  device_path=/dev/ram0 \n",
            2,
        )
        .unwrap();
        assert_eq!(o.sessname, b"s1");
        // A tab inside the buffer is not a separator.
        assert_invalid(b"sessname=s1\tdevice_path=/x");
    }

    #[test]
    fn missing_and_empty() {
        assert_eq!(err(b""), MapOptError::Invalid("parameters missing"));
        assert_eq!(err(b"   \n"), MapOptError::Invalid("parameters missing"));
        assert_eq!(
            err(b"sessname=s1"),
            MapOptError::Invalid("parameters missing")
        );
        assert_eq!(
            err(b"device_path=/x"),
            MapOptError::Invalid("parameters missing")
        );
        assert_invalid(b"sessname= device_path=/x");
        assert_invalid(b"sessname device_path=/x");
        assert_invalid(b"bogus=1 sessname=s device_path=/x");
        // Case-sensitive keys, as match_token.
        assert_invalid(b"SESSNAME=s device_path=/x");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_c_int(b"1234"), Some(1234));
        assert_eq!(parse_c_int(b"0x10"), Some(16));
        assert_eq!(parse_c_int(b"010"), Some(8));
        assert_eq!(parse_c_int(b"-1"), Some(-1));
        assert_eq!(parse_c_int(b"0"), Some(0));
        assert_eq!(parse_c_int(b"0x"), None);
        assert_eq!(parse_c_int(b"09"), None);
        assert_eq!(parse_c_int(b"12x"), None);
        assert_eq!(parse_c_int(b"+1"), None);
        assert_eq!(parse_c_int(b"-"), None);
        let o = parse(b"dest_port=0x4d3 sessname=s device_path=/x", 2).unwrap();
        assert_eq!(o.dest_port, 1235);
        for bad in [
            &b"dest_port=65536"[..],
            b"dest_port=-1",
            b"dest_port=12x",
            b"dest_port=abc",
        ] {
            let mut s = bad.to_vec();
            s.extend_from_slice(b" sessname=s device_path=/x");
            assert_invalid(&s);
        }
    }

    #[test]
    fn ulong() {
        assert_eq!(parse_ulong(b"2048\n"), Ok(2048));
        assert_eq!(parse_ulong(b"+0x10"), Ok(16));
        assert_eq!(parse_ulong(b"010"), Ok(8));
        assert_eq!(parse_ulong(b"0"), Ok(0));
        assert_eq!(parse_ulong(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_ulong(b"18446744073709551616"), Err(UlongError::Range));
        for bad in [
            &b""[..],
            b"\n",
            b"-1",
            b"1\n\n",
            b"12 ",
            b"0x",
            b"09",
            b" 1",
        ] {
            assert_eq!(parse_ulong(bad), Err(UlongError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn dest_port_applies_to_later_paths_only() {
        let o = parse(
            b"path=ip:1.1.1.1 dest_port=99 path=ip:1.1.1.2 sessname=s device_path=/x",
            2,
        )
        .unwrap();
        let port = |i: usize| match o.paths[i].unwrap().dst {
            Addr::Ip4 { port, .. } => port,
            _ => unreachable!(),
        };
        assert_eq!((port(0), port(1), o.dest_port), (1234, 99, 99));
    }

    #[test]
    fn paths() {
        let six = b"sessname=s device_path=/x path=ip:1.1.1.1 path=ip:1.1.1.1 path=ip:1.1.1.1 \
                    path=ip:1.1.1.1 path=ip:1.1.1.1 path=ip:1.1.1.1";
        assert_eq!(parse(six, 2).unwrap().path_cnt, 6);
        let mut seven = six.to_vec();
        seven.extend_from_slice(b" path=ip:1.1.1.1");
        assert_eq!(err(&seven), MapOptError::TooManyPaths);
        assert_eq!(
            err(b"sessname=s device_path=/x path=10.0.2.15"),
            MapOptError::Addr(AddrError::NoPrefix)
        );
        assert_eq!(
            err(b"sessname=s device_path=/x path=ip:999.1.1.1"),
            MapOptError::Addr(AddrError::Invalid)
        );
    }

    #[test]
    fn access_modes() {
        for (v, m) in [
            ("ro", AccessMode::Ro),
            ("rw", AccessMode::Rw),
            ("migration", AccessMode::Migration),
        ] {
            let s = format!("sessname=s device_path=/x access_mode={v}");
            assert_eq!(parse(s.as_bytes(), 2).unwrap().access_mode, m);
        }
        assert_invalid(b"sessname=s device_path=/x access_mode=RW");
        assert_invalid(b"sessname=s device_path=/x access_mode=bogus");
    }

    #[test]
    fn poll_queues() {
        let q = |v: &str| {
            let s = format!("sessname=s device_path=/x nr_poll_queues={v}");
            parse(s.as_bytes(), 4).map(|o| o.nr_poll_queues)
        };
        assert_eq!(q("-1"), Ok(4));
        assert_eq!(q("4"), Ok(4));
        assert!(q("5").is_err());
        assert!(q("-2").is_err());
    }

    #[test]
    fn name_lengths() {
        let long = |n: usize| "a".repeat(n);
        let s = format!("sessname={} device_path=/x", long(255));
        assert_eq!(parse(s.as_bytes(), 2).unwrap().sessname.len(), 254);
        let s = format!("sessname={} device_path=/x", long(256));
        assert_eq!(err(s.as_bytes()), MapOptError::Invalid("sessname too long"));
        let s = format!("sessname=s device_path=/{}", long(255));
        assert_eq!(
            err(s.as_bytes()),
            MapOptError::Invalid("device path too long")
        );
    }

    #[test]
    fn later_duplicates_win() {
        let o = parse(
            b"sessname=a sessname=b device_path=/x access_mode=ro access_mode=rw",
            2,
        )
        .unwrap();
        assert_eq!((o.sessname, o.access_mode), (&b"b"[..], AccessMode::Rw));
    }
}
