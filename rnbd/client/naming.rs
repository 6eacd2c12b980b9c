// SPDX-License-Identifier: GPL-2.0-or-later

//! Names and numbers of mapped devices, as the C client of Linux 6.12 gives them
//! (sysfs ABI §4.4, §4.6). Pure logic: it builds for the host and is unit-tested there.

/// Minors per device: the disk and 63 partitions (`RNBD_PART_BITS` 6).
pub(crate) const MINORS_PER_DEV: u32 = 64;
/// Device indices are `0..MAX_DEVS` (C: `ida_alloc_max` up to and including
/// `(1 << (MINORBITS - RNBD_PART_BITS)) - 1`).
pub(crate) const MAX_DEVS: u32 = 1 << (20 - 6);

/// The name of the `ctl/devices/` symlink of a device: its `device_path` with every `/`
/// turned into `!`, then `@` and the session name (`!dev!ram0@sess`).
pub(crate) fn link_name<'a>(
    device_path: &'a [u8],
    sessname: &'a [u8],
) -> impl Iterator<Item = u8> + 'a {
    device_path
        .iter()
        .map(|&c| if c == b'/' { b'!' } else { c })
        .chain(core::iter::once(b'@'))
        .chain(sessname.iter().copied())
}

/// Which device indices are taken; the lowest free one is handed out (`ida_alloc_max`).
pub(crate) struct IndexMap {
    /// One bit per index, set when taken.
    words: [u64; (MAX_DEVS / 64) as usize],
}

impl IndexMap {
    /// No index taken.
    pub(crate) const fn new() -> Self {
        Self {
            words: [0; (MAX_DEVS / 64) as usize],
        }
    }

    /// Takes the lowest free index; `None` when all `MAX_DEVS` are taken.
    pub(crate) fn alloc(&mut self) -> Option<u32> {
        for (i, w) in self.words.iter_mut().enumerate() {
            if *w != u64::MAX {
                let bit = (!*w).trailing_zeros();
                *w |= 1 << bit;
                // CAST: `i < MAX_DEVS / 64`, so the index is below `MAX_DEVS`.
                return Some(i as u32 * 64 + bit);
            }
        }
        None
    }

    /// Gives `index` back; returns whether it was taken.
    pub(crate) fn free(&mut self, index: u32) -> bool {
        let (w, bit) = ((index / 64) as usize, index % 64);
        match self.words.get_mut(w) {
            Some(word) if *word & (1 << bit) != 0 => {
                *word &= !(1 << bit);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(p: &str, s: &str) -> String {
        String::from_utf8(link_name(p.as_bytes(), s.as_bytes()).collect()).unwrap()
    }

    #[test]
    fn link_names() {
        assert_eq!(name("/dev/ram0", "blya"), "!dev!ram0@blya");
        assert_eq!(name("ram0", "s"), "ram0@s");
        // `a/b` and `a!b` collide, as in C (the second map gets EEXIST from sysfs).
        assert_eq!(name("a/b", "s"), name("a!b", "s"));
    }

    #[test]
    fn lowest_free_index() {
        let mut m = IndexMap::new();
        assert_eq!(
            (m.alloc(), m.alloc(), m.alloc()),
            (Some(0), Some(1), Some(2))
        );
        assert!(m.free(1));
        assert!(!m.free(1));
        assert!(!m.free(MAX_DEVS));
        assert_eq!(m.alloc(), Some(1));
        assert_eq!(m.alloc(), Some(3));
    }

    #[test]
    fn exhaustion() {
        let mut m = IndexMap::new();
        for i in 0..MAX_DEVS {
            assert_eq!(m.alloc(), Some(i));
        }
        assert_eq!(m.alloc(), None);
        assert!(m.free(70));
        assert_eq!(m.alloc(), Some(70));
        assert_eq!(m.alloc(), None);
    }
}
