// SPDX-License-Identifier: GPL-2.0-or-later

//! The `map_device` grammar and the `resize` number (`rnbd/client/map_opts.rs`, sysfs ABI
//! §4.2, §4.5).

use super::{bytes, config, pick};
use crate::addr::{parse_path, Addr};
use crate::addr_fmt::AddrText;
use crate::map_opts::{parse, parse_ulong, MapOptError, MapOptions, UlongError, MAX_PATHS};
use crate::proto::AccessMode;
use proptest::prelude::*;

/// `nr_cpu_ids` the tests parse with.
const CPUS: u32 = 8;

/// One option of a `map_device` write.
#[derive(Clone, Debug)]
enum Opt {
    /// `sessname=`.
    Sess(Vec<u8>),
    /// `device_path=`.
    Dev(Vec<u8>),
    /// `dest_port=`, in the radix [`c_int`] picks.
    Port(u16, u8),
    /// `access_mode=`.
    Mode(AccessMode),
    /// `nr_poll_queues=`, in the radix [`c_int`] picks.
    Poll(i64, u8),
    /// `path=`.
    Path(String),
}

/// A C integer in the radix `r % 3` picks (decimal, hex, octal).
fn c_int(v: i64, r: u8) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let m = v.unsigned_abs();
    match r % 3 {
        0 => format!("{sign}{m}"),
        1 => format!("{sign}0x{m:x}"),
        _ => format!("{sign}0{m:o}"),
    }
}

/// Writing an option.
impl Opt {
    /// The option as written to `map_device`.
    fn token(&self) -> Vec<u8> {
        let mut t = Vec::new();
        match self {
            Self::Sess(v) => t.extend([&b"sessname="[..], v].concat()),
            Self::Dev(v) => t.extend([&b"device_path="[..], v].concat()),
            Self::Port(p, r) => t.extend(format!("dest_port={}", c_int((*p).into(), *r)).bytes()),
            Self::Mode(m) => t.extend(format!("access_mode={}", m.name()).bytes()),
            Self::Poll(n, r) => t.extend(format!("nr_poll_queues={}", c_int(*n, *r)).bytes()),
            Self::Path(p) => t.extend(format!("path={p}").bytes()),
        }
        t
    }
}

/// A value without spaces: the write is split on them.
fn word(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let c = any::<u8>().prop_map(|c| if is_space(c) { b'w' } else { c });
    prop_oneof![
        prop::collection::vec(c.clone(), 1..=12),
        prop::collection::vec(c, max - 3..=max + 1),
    ]
}

/// A `path=` value: a destination, maybe with a source before `,` or `@`.
fn path_text() -> impl Strategy<Value = String> {
    let one = prop_oneof![
        any::<[u8; 4]>().prop_map(|a| AddrText::V4(a).to_string()),
        any::<[u8; 16]>().prop_map(|a| AddrText::V6(a).to_string()),
        any::<[u8; 16]>().prop_map(|a| AddrText::Gid(a).to_string()),
        Just("ip:fe80::1%eth0".to_string()),
    ];
    (one.clone(), prop::option::of((one, any::<bool>()))).prop_map(|(dst, src)| match src {
        Some((s, at)) => format!("{s}{}{dst}", if at { '@' } else { ',' }),
        None => dst,
    })
}

/// Any valid option (names may be too long).
fn opt() -> impl Strategy<Value = Opt> {
    prop_oneof![
        word(255).prop_map(Opt::Sess),
        word(255).prop_map(Opt::Dev),
        (any::<u16>(), any::<u8>()).prop_map(|(p, r)| Opt::Port(p, r)),
        prop_oneof![
            Just(AccessMode::Ro),
            Just(AccessMode::Rw),
            Just(AccessMode::Migration)
        ]
        .prop_map(Opt::Mode),
        (-3..=i64::from(CPUS) + 2, any::<u8>()).prop_map(|(n, r)| Opt::Poll(n, r)),
        path_text().prop_map(Opt::Path),
    ]
}

/// What a write of options must give.
#[derive(Debug)]
struct Want {
    /// The session name.
    sessname: Vec<u8>,
    /// The device path.
    device_path: Vec<u8>,
    /// Each path's text and the port it gets.
    paths: Vec<(String, u16)>,
    /// The last `dest_port`.
    dest_port: u16,
    /// The access mode.
    access_mode: AccessMode,
    /// Poll queues, -1 made `nr_cpu_ids`.
    nr_poll_queues: u32,
}

/// What the options mean, applied in order as the client applies them: later ones win,
/// `dest_port` reaches the paths after it, names over 255 bytes and a seventh path are
/// refused, a 255-byte name loses its last byte, `sessname` and `device_path` must be given.
fn model(opts: &[Opt]) -> Option<Want> {
    let mut w = Want {
        sessname: Vec::new(),
        device_path: Vec::new(),
        paths: Vec::new(),
        dest_port: 1234,
        access_mode: AccessMode::Rw,
        nr_poll_queues: 0,
    };
    let (mut sess, mut dev) = (false, false);
    for opt in opts {
        match opt {
            Opt::Sess(v) | Opt::Dev(v) if v.len() > 255 => return None,
            Opt::Sess(v) => (w.sessname, sess) = (v[..v.len().min(254)].to_vec(), true),
            Opt::Dev(v) => (w.device_path, dev) = (v[..v.len().min(254)].to_vec(), true),
            Opt::Port(p, _) => w.dest_port = *p,
            Opt::Mode(m) => w.access_mode = *m,
            Opt::Poll(-1, _) => w.nr_poll_queues = CPUS,
            Opt::Poll(n, _) => w.nr_poll_queues = u32::try_from(*n).ok().filter(|&n| n <= CPUS)?,
            Opt::Path(p) => {
                if w.paths.len() == MAX_PATHS || parse_path(p.as_bytes(), w.dest_port).is_err() {
                    return None;
                }
                w.paths.push((p.clone(), w.dest_port));
            }
        }
    }
    (sess && dev).then_some(w)
}

/// Checks parsed options against the model's.
fn check_model(got: &MapOptions<'_>, want: &Want) {
    assert_eq!(got.sessname, &want.sessname[..]);
    assert_eq!(got.device_path, &want.device_path[..]);
    assert_eq!(
        (got.dest_port, got.access_mode, got.nr_poll_queues),
        (want.dest_port, want.access_mode, want.nr_poll_queues)
    );
    assert_eq!(got.path_cnt, want.paths.len());
    for (got, (text, port)) in got.paths.iter().zip(&want.paths) {
        assert_eq!(*got, Some(parse_path(text.as_bytes(), *port).unwrap()));
    }
}

/// The text of parsed options: parsing it gives them back.
fn format(o: &MapOptions<'_>) -> Vec<u8> {
    let text = |a: &Addr<'_>| {
        let mut t = match a {
            Addr::Ip4 { addr, .. } => AddrText::V4(addr.octets()).to_string(),
            Addr::Ip6 { addr, .. } => AddrText::V6(addr.octets()).to_string(),
            Addr::Gid { gid, .. } => AddrText::Gid(*gid).to_string(),
        }
        .into_bytes();
        if let Addr::Ip6 { scope: Some(s), .. } = a {
            t.push(b'%');
            t.extend_from_slice(s);
        }
        t
    };
    let mut out = Vec::new();
    out.extend(
        [
            &b"sessname="[..],
            o.sessname,
            b" device_path=",
            o.device_path,
        ]
        .concat(),
    );
    out.extend(
        format!(
            " access_mode={} nr_poll_queues={}",
            o.access_mode.name(),
            o.nr_poll_queues
        )
        .bytes(),
    );
    for p in o.paths[..o.path_cnt].iter().flatten() {
        let port = match p.dst {
            Addr::Ip4 { port, .. } | Addr::Ip6 { port, .. } | Addr::Gid { port, .. } => port,
        };
        out.extend(format!(" dest_port={port} path=").bytes());
        if let Some(s) = &p.src {
            out.extend(text(s));
            out.push(b',');
        }
        out.extend(text(&p.dst));
    }
    out.extend(format!(" dest_port={}", o.dest_port).bytes());
    out
}

/// `isspace` of the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// Checks what holds for every accepted write.
fn check_accepted(buf: &[u8], o: &MapOptions<'_>) {
    assert!(!o.sessname.is_empty() && o.sessname.len() <= 254);
    assert!(!o.device_path.is_empty() && o.device_path.len() <= 254);
    assert!(!o.sessname.contains(&b' ') && !o.device_path.contains(&b' '));
    assert!(o.path_cnt <= MAX_PATHS);
    for (i, p) in o.paths.iter().enumerate() {
        assert_eq!(p.is_some(), i < o.path_cnt);
    }
    assert!(o.nr_poll_queues <= CPUS);
    let start = buf.iter().position(|&c| !is_space(c)).unwrap_or(buf.len());
    let tokens: Vec<&[u8]> = buf[start..].split(|&c| c == b' ').collect();
    assert!(tokens.iter().filter(|t| t.starts_with(b"path=")).count() <= MAX_PATHS);
    for key in [&b"sessname="[..], b"device_path="] {
        assert!(tokens.iter().any(|t| t.starts_with(key)));
    }
}

/// `kstrtoull(s, 0)` for the `resize` file, as lib/kstrtox.c reads it: `+`, then `0x` hex
/// (with a hex digit after), `0` octal or decimal; the longest run of digits of that radix,
/// out of range if it does not fit 64 bits, invalid if empty or if anything but one newline
/// follows it.
fn want_ulong(s: &[u8]) -> Result<u64, UlongError> {
    let s = s.strip_prefix(b"+").unwrap_or(s);
    let (radix, digits) =
        if s.len() > 2 && s[0] == b'0' && (s[1] | 0x20) == b'x' && s[2].is_ascii_hexdigit() {
            (16, &s[2..])
        } else if s.first() == Some(&b'0') {
            (8, s)
        } else {
            (10, s)
        };
    let n = digits
        .iter()
        .take_while(|&&c| char::from(c).is_digit(radix))
        .count();
    let mut v: u128 = 0;
    for &c in &digits[..n] {
        v = (v * u128::from(radix) + u128::from(char::from(c).to_digit(radix).unwrap()))
            .min(u128::from(u64::MAX) + 1);
    }
    if v > u128::from(u64::MAX) {
        return Err(UlongError::Range);
    }
    if n == 0 || !matches!(&digits[n..], b"" | b"\n") {
        return Err(UlongError::Invalid);
    }
    Ok(v as u64)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn map_arbitrary(
        buf in prop_oneof![
            bytes(200),
            concat!(
                "( {0,2}(sessname|device_path|dest_port|access_mode|nr_poll_queues|path|x)",
                "=?[-a-z0-9:.%@,/x]{0,12}){0,9} ?\n?"
            )
            .prop_map(String::into_bytes),
        ],
        cpus in 0..=4u32,
    ) {
        if let Ok(o) = parse(&buf, cpus) {
            prop_assert!(o.nr_poll_queues <= cpus);
            check_accepted(&buf, &o);
        }
    }

    #[test]
    fn map_follows_its_model(
        opts in prop::collection::vec(opt(), 0..=10),
        must in (word(20), word(20), any::<bool>()),
        seps in prop::collection::vec(prop_oneof![Just(" "), Just("  "), Just("   ")], 12),
        ends in ("[ \t\n]{0,3}", "[ \t\n]{0,3}"),
    ) {
        let mut opts = opts;
        // Most writes carry both mandatory options, somewhere.
        if must.2 {
            let n = opts.len();
            opts.insert(pick(must.0.len(), n + 1), Opt::Sess(must.0));
            let n = opts.len();
            opts.insert(pick(must.1.len() * 7, n + 1), Opt::Dev(must.1));
        }
        let mut buf = ends.0.clone().into_bytes();
        for (i, o) in opts.iter().enumerate() {
            if i > 0 {
                buf.extend(seps[i % seps.len()].bytes());
            }
            buf.extend(o.token());
        }
        buf.extend(ends.1.bytes());
        let got = parse(&buf, CPUS);
        let want = model(&opts);
        let shown = String::from_utf8_lossy(&buf);
        prop_assert_eq!(got.is_ok(), want.is_some(), "{:?}: {:?}", shown, got);
        if let (Ok(got), Some(want)) = (&got, &want) {
            check_model(got, want);
            check_accepted(&buf, got);
            // Written back as options, it reads the same.
            let text = format(got);
            let again = parse(&text, CPUS);
            prop_assert_eq!(again.as_ref(), Ok(got), "{:?}", String::from_utf8_lossy(&text));
        }
        // A seventh path is refused, whatever else the write holds.
        let paths = opts.iter().filter(|o| matches!(o, Opt::Path(_))).count();
        if paths > MAX_PATHS {
            prop_assert!(got.is_err());
        }
        if let (Err(MapOptError::TooManyPaths), false) = (&got, paths > MAX_PATHS) {
            prop_assert!(false, "TooManyPaths with {} paths", paths);
        }
    }

    #[test]
    fn map_numbers(v in any::<i64>(), r in any::<u8>()) {
        let port = |s: &str| {
            parse(format!("dest_port={s} sessname=s device_path=d").as_bytes(), CPUS)
                .map(|o| o.dest_port)
        };
        prop_assert_eq!(port(&c_int(v, r)).ok(), u16::try_from(v).ok());
        // The whole value must be the number (match_token's %d).
        let text = c_int(v, r);
        prop_assert!(port(&(text.clone() + "g")).is_err());
        prop_assert!(port(&("+".to_string() + &text)).is_err());
        prop_assert_eq!(port(&(text.clone() + " ")), port(&text));
    }

    #[test]
    fn ulong_arbitrary(s in prop_oneof![
        bytes(24),
        "[ +-]?(0[xX])?[0-9a-fA-F]{0,22}[ \n]{0,2}".prop_map(String::into_bytes),
    ]) {
        prop_assert_eq!(parse_ulong(&s), want_ulong(&s));
    }

    #[test]
    fn ulong_round_trip(
        v in any::<u64>(),
        r in 0..3u8,
        plus in any::<bool>(),
        nl in any::<bool>(),
    ) {
        let mut s = if plus { "+".to_string() } else { String::new() };
        s += &match r {
            0 => format!("{v}"),
            1 => format!("0x{v:x}"),
            _ => format!("0{v:o}"),
        };
        if nl {
            s.push('\n');
        }
        prop_assert_eq!(parse_ulong(s.as_bytes()), Ok(v));
        // One more than fits is out of range, not wrapped.
        let big = u128::from(v) + u128::from(u64::MAX) + 1;
        prop_assert_eq!(parse_ulong(format!("{big}").as_bytes()), Err(UlongError::Range));
    }
}
