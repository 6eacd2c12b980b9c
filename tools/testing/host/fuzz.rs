// SPDX-License-Identifier: GPL-2.0-or-later

//! Property and fuzz tests of every parser of peer input (RTRS and RNBD messages, immediate
//! data) and of sysfs input (addresses, `map_device`, device paths, `mpath_policy`, numbers).
//!
//! Each parser gets: arbitrary input, which must never panic (the host build checks
//! overflow) and must be refused or decode to what an independent reading of the spec says;
//! round trips of structurally generated valid values; and mutated valid encodings, every
//! accepted one checked against the same spec reading. `cargo test` runs [`BRIEF_CASES`]
//! cases of each property; `PROPTEST_CASES=N` runs N (`make fuzz`).

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// Immediate data and heartbeats.
mod imm;
/// `map_device` options and the `resize` number.
mod map_opts;
/// Addresses, their text, device paths and names, `mpath_policy`.
mod paths;
/// RNBD messages.
mod proto;
/// RTRS messages.
mod rtrs_msg;

/// Cases of each property in a plain `cargo test` (`make hosttest`, `make check`).
const BRIEF_CASES: u32 = 1024;

/// The configuration of every property: [`BRIEF_CASES`], or `PROPTEST_CASES` from the
/// environment (which proptest applies over this one). A failing case is saved in
/// `proptest-regressions.txt` beside this file and tried first by every later run.
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions.txt"
        )))),
        ..ProptestConfig::with_cases(BRIEF_CASES)
    }
}

/// Arbitrary bytes, up to `max` of them.
fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=max)
}

/// Values that sit on the edges of length and count checks, and some arbitrary ones.
fn edgy_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(1),
        Just(u32::MAX),
        0..=70u32,
        (0..32u32).prop_flat_map(|s| prop_oneof![Just(1u32 << s), Just((1u32 << s) - 1)]),
        any::<u32>(),
    ]
}

/// An index into something of a length known only later: `i % len` (0 if empty).
fn pick(i: usize, len: usize) -> usize {
    i.checked_rem(len).unwrap_or(0)
}

/// Where a mutation writes: one of the message's fields, or any byte.
#[derive(Clone, Debug)]
enum At {
    /// A field offset of the message (the index picks among them).
    Field(usize),
    /// Any offset.
    Any(usize),
}

/// Resolving a write position.
impl At {
    /// The offset in a message of `len` bytes with the given field offsets.
    fn offset(&self, fields: &[usize], len: usize) -> usize {
        match self {
            Self::Field(i) if !fields.is_empty() => fields[pick(*i, fields.len())],
            Self::Field(i) | Self::Any(i) => pick(*i, len),
        }
    }
}

/// One change to a valid encoding.
#[derive(Clone, Debug)]
enum Mutation {
    /// Keep only the first part of the message.
    Truncate(usize),
    /// Append bytes.
    Extend(Vec<u8>),
    /// XOR one byte with a non-zero value.
    Flip(usize, u8),
    /// Overwrite a little-endian 16-bit field (length, count, id, type).
    Set16(At, u16),
    /// Overwrite a little-endian 32-bit field.
    Set32(At, u32),
    /// Overwrite a little-endian 64-bit field.
    Set64(At, u64),
    /// Replace every NUL from one offset to another by `x`: names lose their terminator.
    Unterminate(usize, usize),
}

/// Mostly field offsets, sometimes any.
fn at() -> impl Strategy<Value = At> {
    prop_oneof![
        3 => any::<usize>().prop_map(At::Field),
        1 => any::<usize>().prop_map(At::Any),
    ]
}

/// Any one mutation.
fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        bytes(24).prop_map(Mutation::Extend),
        (any::<usize>(), 1..=255u8).prop_map(|(i, x)| Mutation::Flip(i, x)),
        (at(), edgy_u32()).prop_map(|(a, v)| Mutation::Set16(a, v as u16)),
        (at(), edgy_u32()).prop_map(|(a, v)| Mutation::Set32(a, v)),
        (at(), any::<u64>()).prop_map(|(a, v)| Mutation::Set64(a, v)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Unterminate(a, b)),
    ]
}

/// One to four mutations.
fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(mutation(), 1..=4)
}

/// Applies `muts` to `b`; `fields` are the offsets of the message's fields.
fn mutate(b: &mut Vec<u8>, muts: &[Mutation], fields: &[usize]) {
    /// Writes `v` at `off` if it fits.
    fn set(b: &mut [u8], off: usize, v: &[u8]) {
        if let Some(dst) = b.get_mut(off..off + v.len()) {
            dst.copy_from_slice(v);
        }
    }
    for m in muts {
        let len = b.len();
        match m {
            Mutation::Truncate(i) => b.truncate(pick(*i, len + 1)),
            Mutation::Extend(tail) => b.extend_from_slice(tail),
            Mutation::Flip(i, x) if len > 0 => b[pick(*i, len)] ^= x,
            Mutation::Flip(..) => {}
            Mutation::Set16(a, v) => set(b, a.offset(fields, len), &v.to_le_bytes()),
            Mutation::Set32(a, v) => set(b, a.offset(fields, len), &v.to_le_bytes()),
            Mutation::Set64(a, v) => set(b, a.offset(fields, len), &v.to_le_bytes()),
            Mutation::Unterminate(from, to) if len > 0 => {
                let (from, to) = (pick(*from, len), pick(*to, len));
                for c in &mut b[from.min(to)..=from.max(to)] {
                    if *c == 0 {
                        *c = b'x';
                    }
                }
            }
            Mutation::Unterminate(..) => {}
        }
    }
}

/// Little-endian reads for the spec readings of the tests (panic on short input: callers
/// check the length first, as the spec does).
fn le16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

/// See [`le16`].
fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

/// See [`le16`].
fn le64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

#[test]
fn mutations_do_what_they_say() {
    let mut b = vec![0u8; 8];
    mutate(
        &mut b,
        &[
            Mutation::Set16(At::Field(5), 0x0102),
            Mutation::Set32(At::Any(15), 7),
            Mutation::Unterminate(8, 1),
        ],
        &[2],
    );
    // The 32-bit write at the last offset does not fit and is dropped.
    assert_eq!(b, [b'x', b'x', 2, 1, 0, 0, 0, 0]);
    mutate(&mut b, &[Mutation::Truncate(13)], &[]);
    assert_eq!(b.len(), 4);
}
