// SPDX-License-Identifier: GPL-2.0-or-later

//! Sysfs input about paths and devices: addresses (`rtrs/common/addr.rs`, `add_path`,
//! `map_device path=`) and their text (`addr_fmt.rs`), the server's device paths
//! (`rnbd/server/dev_path.rs`), device link names and indices (`rnbd/client/naming.rs`) and
//! `mpath_policy` (`rtrs/client/mp_policy.rs`).

use super::{bytes, config};
use crate::addr::{parse_addr, parse_path, Addr, AddrError, PathAddr};
use crate::addr_fmt::AddrText;
use crate::dev_path::{full_path, PathError, PATH_MAX};
use crate::mp_policy::{PathIter, PathView, Policy, MAX_PATHS};
use crate::naming::{link_name, IndexMap, MAX_DEVS};
use crate::recon::add_path_text;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::fmt::Write;

// ---- Addresses ----

/// The text of an address as sysfs shows it, with its scope as an admin writes it.
fn addr_text(a: &Addr<'_>) -> Vec<u8> {
    let mut s = match a {
        Addr::Ip4 { addr, .. } => AddrText::V4(addr.octets()).to_string(),
        Addr::Ip6 { addr, .. } => AddrText::V6(addr.octets()).to_string(),
        Addr::Gid { gid, .. } => AddrText::Gid(*gid).to_string(),
    }
    .into_bytes();
    if let Addr::Ip6 {
        scope: Some(scope), ..
    } = a
    {
        s.push(b'%');
        s.extend_from_slice(scope);
    }
    s
}

/// The port of an address.
fn port_of(a: &Addr<'_>) -> u16 {
    match a {
        Addr::Ip4 { port, .. } | Addr::Ip6 { port, .. } | Addr::Gid { port, .. } => *port,
    }
}

/// Checks a parse of `s`: ports, scopes, and that its sysfs text reads the same.
fn check_path(s: &[u8], port: u16) {
    let Ok(p) = parse_path(s, port) else {
        return;
    };
    assert_eq!(port_of(&p.dst), port);
    if let Some(src) = p.src {
        assert_eq!(port_of(&src), 0);
        assert!(s.contains(&b',') || s.contains(&b'@'));
    }
    for a in p.src.iter().chain([&p.dst]) {
        if let Addr::Ip6 {
            scope: Some(sc), ..
        } = a
        {
            assert!(!sc.is_empty());
        }
    }
    // Written back in sysfs form, the path reads the same.
    let mut text = Vec::new();
    if let Some(src) = &p.src {
        text.extend(addr_text(src));
        text.push(b',');
    }
    text.extend(addr_text(&p.dst));
    assert_eq!(
        parse_path(&text, port),
        Ok(p),
        "{:?}",
        String::from_utf8_lossy(&text)
    );
}

/// Text that looks like addresses often enough to get past the prefixes.
fn addr_like() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        bytes(48),
        "(ip:|gid:|IP:|ip|:)?[0-9a-fA-F.:%]{0,42}([,@](ip:|gid:)?[0-9a-fA-F.:%@,]{0,42})?"
            .prop_map(String::into_bytes),
        (any::<[u8; 4]>(), "[%,@]?[a-z0-9.%]{0,6}").prop_map(|(a, t)| format!(
            "ip:{}.{}.{}.{}{t}",
            a[0], a[1], a[2], a[3]
        )
        .into_bytes()),
    ]
}

/// An address with its scope owned, to generate [`Addr`]s from.
#[derive(Clone, Debug)]
enum AddrSpec {
    /// `ip:` IPv4.
    V4([u8; 4]),
    /// `ip:` IPv6 and its scope.
    V6([u8; 16], Option<Vec<u8>>),
    /// `gid:`.
    Gid([u8; 16]),
}

/// Borrowing an [`Addr`].
impl AddrSpec {
    /// The address with `port`.
    fn addr(&self, port: u16) -> Addr<'_> {
        match self {
            Self::V4(a) => Addr::Ip4 {
                addr: (*a).into(),
                port,
            },
            Self::V6(a, scope) => Addr::Ip6 {
                addr: (*a).into(),
                scope: scope.as_deref(),
                port,
            },
            Self::Gid(gid) => Addr::Gid { gid: *gid, port },
        }
    }
}

/// Addresses of each kind; IPv6 scopes drawn from `scope` (a regex).
fn addr_spec(scope: &'static str) -> impl Strategy<Value = AddrSpec> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(AddrSpec::V4),
        (
            prop_oneof![v6_like(), any::<[u8; 16]>()],
            prop::option::of(scope.prop_map(String::into_bytes))
        )
            .prop_map(|(a, s)| AddrSpec::V6(a, s)),
        any::<[u8; 16]>().prop_map(AddrSpec::Gid),
    ]
}

/// IPv6 addresses with runs of zero groups, IPv4-mapped and ISATAP ones.
fn v6_like() -> impl Strategy<Value = [u8; 16]> {
    (
        prop::collection::vec(prop_oneof![3 => Just(0u16), 1 => any::<u16>()], 8),
        0..4u8,
        any::<[u8; 4]>(),
    )
        .prop_map(|(g, kind, v4)| {
            let mut b = [0u8; 16];
            for (i, v) in g.iter().enumerate() {
                b[2 * i..2 * i + 2].copy_from_slice(&v.to_be_bytes());
            }
            match kind {
                1 => b[..12].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]),
                2 => b[8..12].copy_from_slice(&[0, 0, 0x5e, 0xfe]),
                3 => b[8..12].copy_from_slice(&[2, 0, 0x5e, 0xfe]),
                _ => {}
            }
            if kind != 0 {
                b[12..].copy_from_slice(&v4);
            }
            b
        })
}

/// `%pI6c` as Linux 6.12 prints it (`ip6_compressed_string` in lib/vsprintf.c): the longest
/// run of two or more zero groups (the first on a tie) as `::`, and the last 32 bits dotted
/// for IPv4-mapped and ISATAP addresses.
fn pi6c(a: &[u8; 16]) -> String {
    let g: Vec<u16> = a
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    let v4mapped = g[..5] == [0; 5] && g[5] == 0xffff;
    let isatap = (g[4] | 0x0200) == 0x0200 && g[5] == 0x5efe;
    let range = if v4mapped || isatap { 6 } else { 8 };
    let mut zerolength = [0usize; 8];
    for i in 0..range {
        for &w in &g[i..range] {
            if w != 0 {
                break;
            }
            zerolength[i] += 1;
        }
    }
    let (mut longest, mut colonpos) = (1, None);
    for (i, &z) in zerolength[..range].iter().enumerate() {
        if z > longest {
            (longest, colonpos) = (z, Some(i));
        }
    }
    let mut s = String::new();
    let mut needcolon = false;
    let mut i = 0;
    while i < range {
        if Some(i) == colonpos {
            if needcolon || i == 0 {
                s.push(':');
            }
            s.push(':');
            needcolon = false;
            i += longest;
            continue;
        }
        if needcolon {
            s.push(':');
        }
        write!(s, "{:x}", g[i]).unwrap();
        needcolon = true;
        i += 1;
    }
    if range == 6 {
        if needcolon {
            s.push(':');
        }
        write!(s, "{}.{}.{}.{}", a[12], a[13], a[14], a[15]).unwrap();
    }
    s
}

// ---- Device paths on the server ----

/// What `full_path` must build: `<search>/<dev_name>`, or `<search up to %SESSNAME%>/
/// <sessname>/<dev_name>`, runs of `/` made one; refused if the inputs or the whole reach
/// `PATH_MAX`, or `dev_name` has `..`.
fn want_path(search: &[u8], sess: &[u8], dev: &[u8]) -> Result<Vec<u8>, PathError> {
    if search.len() + dev.len() >= PATH_MAX {
        return Err(PathError::TooLong);
    }
    if dev.windows(2).any(|w| w == b"..") {
        return Err(PathError::DotDot);
    }
    let token = search.windows(10).position(|w| w == b"%SESSNAME%");
    let whole = match token {
        Some(at) => [&search[..at], b"/", sess, b"/", dev].concat(),
        None => [search, b"/", dev].concat(),
    };
    if whole.len() >= PATH_MAX {
        return Err(PathError::TooLong);
    }
    let mut out: Vec<u8> = Vec::new();
    for c in whole {
        if !(c == b'/' && out.last() == Some(&b'/')) {
            out.push(c);
        }
    }
    Ok(out)
}

/// Parts of device paths: slashes, dots, the token, very long runs, anything.
fn path_part(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[/a.%]{0,12}(%SESSNAME%)?[/a.%]{0,12}".prop_map(String::into_bytes),
        bytes(max),
        (0..=PATH_MAX, "[/.a]{0,3}").prop_map(|(n, t)| {
            let mut v = vec![b'/'; n];
            v.extend(t.bytes());
            v
        }),
    ]
}

// ---- mpath_policy ----

/// What `mpath_policy_store` accepts: `kstrtoint(buf, 10)` of 0, 1 or 2 (sign, digits,
/// one optional newline); else a buffer starting with a policy name, or exactly its two
/// letters with an optional newline; case-insensitive.
fn want_policy(buf: &[u8]) -> Option<Policy> {
    let text = buf.strip_suffix(b"\n").unwrap_or(buf);
    let (neg, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
        let v: u128 = std::str::from_utf8(digits)
            .ok()?
            .parse()
            .unwrap_or(u128::MAX);
        match (neg, v) {
            (_, 0) => return Some(Policy::RoundRobin),
            (false, 1) => return Some(Policy::MinInflight),
            (false, 2) => return Some(Policy::MinLatency),
            _ => {}
        }
    }
    let lower = buf.to_ascii_lowercase();
    let text = text.to_ascii_lowercase();
    if lower.starts_with(b"round-robin") || text == b"rr" {
        Some(Policy::RoundRobin)
    } else if lower.starts_with(b"min-inflight") || text == b"mi" {
        Some(Policy::MinInflight)
    } else if lower.starts_with(b"min-latency") || text == b"ml" {
        Some(Policy::MinLatency)
    } else {
        None
    }
}

/// Any policy.
fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::RoundRobin),
        Just(Policy::MinInflight),
        Just(Policy::MinLatency)
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn path_arbitrary(s in addr_like(), port in any::<u16>()) {
        check_path(&s, port);
        // As add_path reads a write: up to its first newline.
        let mut w = s.clone();
        w.extend_from_slice(b"\nip:1.2.3.4");
        check_path(add_path_text(&w), port);
        let first_line = s.iter().position(|&c| c == b'\n').unwrap_or(s.len());
        prop_assert_eq!(add_path_text(&w).len(), first_line);
    }

    #[test]
    fn addr_round_trip(a in addr_spec("[a-zA-Z0-9_.%@,\\n-]{1,16}"), port in any::<u16>()) {
        let a = a.addr(port);
        let text = addr_text(&a);
        prop_assert_eq!(parse_addr(&text, port), Ok(a), "{:?}", String::from_utf8_lossy(&text));
        if !text.contains(&b',') && !text.contains(&b'@') {
            prop_assert_eq!(parse_path(&text, port), Ok(PathAddr { src: None, dst: a }));
        }
    }

    #[test]
    fn path_round_trip(
        src in prop::option::of(addr_spec("[a-z0-9_.%@,]{1,16}")),
        dst in addr_spec("[a-z0-9_.%@,]{1,16}"),
        port in any::<u16>(),
        at in any::<bool>(),
    ) {
        let p = PathAddr { src: src.as_ref().map(|s| s.addr(0)), dst: dst.addr(port) };
        let mut text = Vec::new();
        let mut src_text = Vec::new();
        if let Some(s) = &p.src {
            src_text = addr_text(s);
            text.extend(&src_text);
            text.push(if at { b'@' } else { b',' });
        }
        text.extend(addr_text(&p.dst));
        // The first `,` splits, else the first `@`: a scope holding one may split elsewhere.
        let splits_right = if p.src.is_none() {
            !text.contains(&b',') && !text.contains(&b'@')
        } else if at {
            !text.contains(&b',') && !src_text.contains(&b'@')
        } else {
            !src_text.contains(&b',')
        };
        let got = parse_path(&text, port);
        if splits_right {
            prop_assert_eq!(got, Ok(p), "{:?}", String::from_utf8_lossy(&text));
        }
        check_path(&text, port);
    }

    #[test]
    fn bad_scopes_are_refused(
        a in any::<[u8; 4]>(),
        v6 in any::<[u8; 16]>(),
        scope in "[a-z0-9%]{0,8}",
    ) {
        // A scope on an IPv4 address, an empty scope, a scope on a GID.
        let v4 = format!("ip:{}.{}.{}.{}%{scope}", a[0], a[1], a[2], a[3]);
        prop_assert_eq!(parse_addr(v4.as_bytes(), 1), Err(AddrError::Invalid));
        let mut t = addr_text(&Addr::Ip6 { addr: v6.into(), scope: None, port: 1 });
        t.push(b'%');
        prop_assert_eq!(parse_addr(&t, 1), Err(AddrError::Invalid));
        let mut g = addr_text(&Addr::Gid { gid: v6, port: 1 });
        g.push(b'%');
        g.extend(scope.bytes());
        prop_assert_eq!(parse_addr(&g, 1), Err(AddrError::Invalid));
        // A source that does not parse is -EINVAL, a destination without prefix
        // -EPROTONOSUPPORT.
        let bad_src = format!("{v4},ip:1.1.1.1");
        prop_assert_eq!(parse_path(bad_src.as_bytes(), 1), Err(AddrError::Invalid));
        prop_assert_eq!(parse_path(b"ip:1.1.1.1,1.1.1.1", 1), Err(AddrError::NoPrefix));
    }

    #[test]
    fn addr_text_matches_c(
        v6 in prop_oneof![v6_like(), any::<[u8; 16]>()],
        v4 in any::<[u8; 4]>(),
    ) {
        prop_assert_eq!(AddrText::V6(v6).to_string(), format!("ip:{}", pi6c(&v6)));
        // `%pI6`: eight groups of four hex digits.
        let gid: Vec<String> = v6.chunks(2).map(|c| format!("{:02x}{:02x}", c[0], c[1])).collect();
        let gid = gid.join(":");
        prop_assert_eq!(AddrText::Gid(v6).to_string(), format!("gid:{gid}"));
        prop_assert_eq!(
            AddrText::V4(v4).to_string(),
            format!("ip:{}", std::net::Ipv4Addr::from(v4))
        );
    }

    #[test]
    fn dev_path_arbitrary(
        search in path_part(64),
        sess in path_part(16),
        dev in path_part(64),
        out_len in prop_oneof![Just(PATH_MAX), 0..=PATH_MAX + 8],
    ) {
        let mut out = vec![0xeeu8; out_len];
        let got = full_path(&search, &sess, &dev, &mut out);
        if out_len < PATH_MAX {
            prop_assert_eq!(got, Err(PathError::TooLong));
            return Ok(());
        }
        let want = want_path(&search, &sess, &dev);
        prop_assert_eq!(got.map(|n| out[..n].to_vec()), want.clone());
        if let Ok(n) = got {
            prop_assert_eq!(out[n], 0);
            prop_assert!(n < PATH_MAX);
            prop_assert!(!out[..n].windows(2).any(|w| w == b"//"));
            // `..` never comes from the client's name.
            if !search.contains(&b'.') && !sess.contains(&b'.') {
                prop_assert!(!out[..n].windows(2).any(|w| w == b".."));
            }
        }
        if dev.windows(2).any(|w| w == b"..") {
            prop_assert!(got.is_err());
        }
    }

    #[test]
    fn dot_dot_is_always_refused(
        pre in "[a-z/.]{0,20}",
        post in "[a-z/.]{0,20}",
        search in "[a-z/%]{0,20}",
    ) {
        let dev = format!("{pre}..{post}");
        let mut out = vec![0u8; PATH_MAX];
        let got = full_path(search.as_bytes(), b"s", dev.as_bytes(), &mut out);
        prop_assert_eq!(got, Err(PathError::DotDot));
    }

    #[test]
    fn link_names(dev in bytes(40), sess in bytes(20)) {
        let name: Vec<u8> = link_name(&dev, &sess).collect();
        prop_assert_eq!(name.len(), dev.len() + 1 + sess.len());
        prop_assert!(!name[..dev.len()].contains(&b'/'));
        prop_assert_eq!(name[dev.len()], b'@');
        prop_assert_eq!(&name[dev.len() + 1..], &sess[..]);
        let back: Vec<u8> = dev.iter().map(|&c| if c == b'/' { b'!' } else { c }).collect();
        prop_assert_eq!(&name[..dev.len()], &back[..]);
    }

    #[test]
    fn index_map_follows_its_model(
        ops in prop::collection::vec(
            prop_oneof![
                4 => Just(None),
                1 => prop_oneof![0..200u32, any::<u32>(), MAX_DEVS - 2..=MAX_DEVS + 1]
                    .prop_map(Some),
            ],
            0..400,
        ),
        // Rarely all but a few taken: taking 16384 indices one by one is slow.
        prefill in prop_oneof![31 => Just(0u32), 1 => MAX_DEVS - 80..=MAX_DEVS],
    ) {
        // The model: indices below `next` are taken unless in `free`.
        let mut m = IndexMap::new();
        let (mut next, mut free) = (0u32, BTreeSet::new());
        for i in 0..prefill {
            prop_assert_eq!(m.alloc(), Some(i));
            next += 1;
        }
        for op in ops {
            match op {
                None => {
                    let want = free.pop_first().or((next < MAX_DEVS).then_some(next));
                    prop_assert_eq!(m.alloc(), want);
                    if want == Some(next) {
                        next += 1;
                    }
                }
                Some(i) => prop_assert_eq!(m.free(i), i < next && free.insert(i)),
            }
        }
    }

    #[test]
    fn mpath_policy_arbitrary(
        buf in prop_oneof![
            bytes(16),
            "[-+]?[0-9]{0,12}\n?".prop_map(String::into_bytes),
            concat!(
                "(round-robin|min-inflight|min-latency|rr|mi|ml|RR|Mi|mL|Round-Robin|MIN-latency)",
                "[a-z\n ]{0,3}"
            )
            .prop_map(String::into_bytes),
        ],
        p in policy(),
    ) {
        prop_assert_eq!(Policy::parse(&buf), want_policy(&buf));
        // What sysfs shows reads back as the same policy, with or without its newline.
        prop_assert_eq!(Policy::parse(p.show().as_bytes()), Some(p));
        prop_assert_eq!(Policy::parse(format!("{}\n", p.show()).as_bytes()), Some(p));
        prop_assert_eq!(Policy::parse(format!("{}\n", p as i32).as_bytes()), Some(p));
    }

    #[test]
    fn path_choice_is_sound(
        policy in policy(),
        views in prop::collection::vec(
            (any::<bool>(), prop_oneof![0..4u32, any::<u32>()], prop_oneof![0..4u64, any::<u64>()]),
            0..=MAX_PATHS + 8,
        ),
        cursor in prop::option::of(0..MAX_PATHS + 8),
        tries in 1..=MAX_PATHS + 2,
    ) {
        let views: Vec<PathView> = views
            .into_iter()
            .map(|(connected, inflight, latency_ns)| PathView { connected, inflight, latency_ns })
            .collect();
        let n = views.len();
        let usable: BTreeSet<usize> =
            (0..n.min(MAX_PATHS)).filter(|&i| views[i].connected).collect();
        let mut cursor = cursor;
        let mut it = PathIter::default();
        let mut seen = BTreeSet::new();
        for _ in 0..tries {
            let got = it.next(policy, n, |i| views[i], &mut cursor);
            let Some(i) = got else {
                // None only once every connected path was tried.
                prop_assert_eq!(&seen, &usable);
                break;
            };
            prop_assert!(usable.contains(&i), "path {} is not usable", i);
            prop_assert!(seen.insert(i), "path {} tried twice", i);
            let key = |v: &PathView| match policy {
                Policy::MinInflight => u64::from(v.inflight),
                Policy::MinLatency => v.latency_ns,
                Policy::RoundRobin => 0,
            };
            if policy != Policy::RoundRobin {
                // The first of the least loaded among the untried ones.
                let best = usable
                    .iter()
                    .filter(|j| !seen.contains(j) || **j == i)
                    .min_by_key(|&&j| (key(&views[j]), j))
                    .copied();
                prop_assert_eq!(Some(i), best);
            } else {
                prop_assert_eq!(cursor, Some(i));
            }
        }
    }
}
