// SPDX-License-Identifier: GPL-2.0-or-later

//! Little-endian fields of received and sent messages, for the RTRS and the RNBD messages
//! alike: reads that fail instead of running past the end, and the one writer.
//!
//! Pure logic: it builds for the host and is unit-tested there.

/// A read ran past the end of the message; each protocol's error type converts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TooShort;

/// A received message, read by offset.
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl Reader<'_> {
    /// The `N` bytes at `off`.
    pub(crate) fn bytes<const N: usize>(&self, off: usize) -> Result<[u8; N], TooShort> {
        let end = off.checked_add(N).ok_or(TooShort)?;
        let src = self.0.get(off..end).ok_or(TooShort)?;
        let mut out = [0u8; N];
        out.copy_from_slice(src);
        Ok(out)
    }

    /// The byte at `off`.
    pub(crate) fn u8(&self, off: usize) -> Result<u8, TooShort> {
        self.0.get(off).copied().ok_or(TooShort)
    }

    /// The `__le16` at `off`.
    pub(crate) fn u16(&self, off: usize) -> Result<u16, TooShort> {
        Ok(u16::from_le_bytes(self.bytes(off)?))
    }

    /// The `__le32` at `off`.
    pub(crate) fn u32(&self, off: usize) -> Result<u32, TooShort> {
        Ok(u32::from_le_bytes(self.bytes(off)?))
    }

    /// The `__le64` at `off`.
    pub(crate) fn u64(&self, off: usize) -> Result<u64, TooShort> {
        Ok(u64::from_le_bytes(self.bytes(off)?))
    }
}

/// Writes `v` at `off` of a message being built; the encoders size their buffers, so `v`
/// fits.
pub(crate) fn put(buf: &mut [u8], off: usize, v: &[u8]) {
    buf[off..off + v.len()].copy_from_slice(v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_at_the_end() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        let r = Reader(&b);
        assert_eq!(r.u8(8), Ok(9));
        assert_eq!(r.u8(9), Err(TooShort));
        assert_eq!(r.u16(0), Ok(0x0201));
        assert_eq!(r.u32(5), Ok(0x0908_0706));
        assert_eq!(r.u32(6), Err(TooShort));
        assert_eq!(r.u64(1), Ok(0x0908_0706_0504_0302));
        assert_eq!(r.u64(2), Err(TooShort));
        assert_eq!(r.bytes::<2>(usize::MAX), Err(TooShort));
        let mut w = [0u8; 4];
        put(&mut w, 1, &[7, 8]);
        assert_eq!(w, [0, 7, 8, 0]);
    }
}
