// SPDX-License-Identifier: GPL-2.0-or-later

//! Which block device an OPEN names, and whether it may be opened in the requested access
//! mode (wire protocol §14.5 steps 2-4 and 6), as C `rnbd-srv.c` decides both.
//!
//! Pure: imports only `core` and the protocol types, and is tested on the host.

use crate::proto::AccessMode;

/// `PATH_MAX`: room for a full path with its NUL.
pub(crate) const PATH_MAX: usize = 4096;

/// The token of `dev_search_path` replaced by the session name.
const SESSNAME: &[u8] = b"%SESSNAME%";

/// Why a device path is refused (the client gets `EINVAL` for each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PathError {
    /// `dev_search_path` and `dev_name` together, or the full path, reach `PATH_MAX`.
    TooLong,
    /// `dev_name` contains `..`.
    DotDot,
}

/// Builds the path of the device `dev_name` (as the client sent it, without NUL) for the
/// session `sessname`, under `search` (the `dev_search_path` parameter), into `out`.
///
/// `<search>/<dev_name>`, or with `%SESSNAME%` in `search`:
/// `<search up to the token>/<sessname>/<dev_name>` (the rest of `search` is dropped, as in
/// C); then every run of `/` becomes one. `out[len]` is set to NUL and `len` returned.
/// `out` must hold [`PATH_MAX`] bytes.
pub(crate) fn full_path(
    search: &[u8],
    sessname: &[u8],
    dev_name: &[u8],
    out: &mut [u8],
) -> Result<usize, PathError> {
    if search.len() + dev_name.len() >= PATH_MAX || out.len() < PATH_MAX {
        return Err(PathError::TooLong);
    }
    if dev_name.windows(2).any(|w| w == b"..") {
        return Err(PathError::DotDot);
    }
    let token = search.windows(SESSNAME.len()).position(|w| w == SESSNAME);
    let parts: [&[u8]; 5] = match token {
        Some(at) => [&search[..at], b"/", sessname, b"/", dev_name],
        None => [search, b"/", dev_name, b"", b""],
    };
    // C: snprintf() into PATH_MAX bytes, refused if the whole did not fit with its NUL.
    if parts.iter().map(|p| p.len()).sum::<usize>() >= PATH_MAX {
        return Err(PathError::TooLong);
    }
    let mut len = 0;
    for &b in parts.iter().flat_map(|p| p.iter()) {
        if b == b'/' && len > 0 && out[len - 1] == b'/' {
            continue;
        }
        out[len] = b;
        len += 1;
    }
    out[len] = 0;
    Ok(len)
}

/// Why an access mode is refused (the client gets `EPERM`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AccessDenied;

/// Whether the device may be opened in `mode` while `open_write_cnt` sessions have it open for
/// writing (rw or migration). `Ok(true)`: allowed, and this opener counts as a writer too.
///
/// ro is always allowed; rw only without writers; migration with at most one other writer
/// (the two sides of a live migration).
pub(crate) fn check_access(mode: AccessMode, open_write_cnt: u32) -> Result<bool, AccessDenied> {
    match mode {
        AccessMode::Ro => Ok(false),
        AccessMode::Rw if open_write_cnt == 0 => Ok(true),
        AccessMode::Migration if open_write_cnt < 2 => Ok(true),
        AccessMode::Rw | AccessMode::Migration => Err(AccessDenied),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(search: &str, sess: &str, dev: &str) -> Result<String, PathError> {
        let mut out = vec![0xffu8; PATH_MAX];
        let len = full_path(search.as_bytes(), sess.as_bytes(), dev.as_bytes(), &mut out)?;
        assert_eq!(out[len], 0);
        Ok(String::from_utf8(out[..len].to_vec()).unwrap())
    }

    #[test]
    fn default_search_path() {
        assert_eq!(path("/", "s1", "/dev/ram0").unwrap(), "/dev/ram0");
        assert_eq!(path("/", "s1", "dev/ram0").unwrap(), "/dev/ram0");
        assert_eq!(path("/", "s1", "ram0").unwrap(), "/ram0");
    }

    #[test]
    fn prefix_and_slashes() {
        assert_eq!(path("/dev", "s1", "ram0").unwrap(), "/dev/ram0");
        assert_eq!(path("/dev/", "s1", "/ram0").unwrap(), "/dev/ram0");
        assert_eq!(path("//a///b//", "s1", "//c//d").unwrap(), "/a/b/c/d");
        // A trailing slash stays (one).
        assert_eq!(path("/dev", "s1", "ram0//").unwrap(), "/dev/ram0/");
        // A relative search path stays relative.
        assert_eq!(path("dev", "s1", "ram0").unwrap(), "dev/ram0");
        assert_eq!(path("", "s1", "ram0").unwrap(), "/ram0");
    }

    #[test]
    fn sessname_token() {
        assert_eq!(
            path("/srv/%SESSNAME%", "s1", "ram0").unwrap(),
            "/srv/s1/ram0"
        );
        // Everything after the token is dropped.
        assert_eq!(
            path("/srv/%SESSNAME%/disks", "s1", "/ram0").unwrap(),
            "/srv/s1/ram0"
        );
        assert_eq!(path("%SESSNAME%", "s1", "ram0").unwrap(), "/s1/ram0");
        // Only the exact token counts.
        assert_eq!(
            path("/srv/%SESSNAME", "s1", "ram0").unwrap(),
            "/srv/%SESSNAME/ram0"
        );
    }

    #[test]
    fn dot_dot_anywhere() {
        assert_eq!(path("/", "s", "/dev/../dev/ram0"), Err(PathError::DotDot));
        assert_eq!(path("/", "s", "ram0.."), Err(PathError::DotDot));
        assert_eq!(path("/", "s", "..ram0"), Err(PathError::DotDot));
        assert_eq!(path("/", "s", "a..b"), Err(PathError::DotDot));
        assert_eq!(path("/", "s", "./ram0.x").unwrap(), "/./ram0.x");
        // Only dev_name is checked, not the search path or session name.
        assert_eq!(path("/a..b", "s", "ram0").unwrap(), "/a..b/ram0");
    }

    #[test]
    fn too_long() {
        let search = "/".repeat(PATH_MAX - 10);
        assert_eq!(path(&search, "s", "..3456789"), Err(PathError::DotDot));
        assert_eq!(path(&search, "s", "12345678").unwrap(), "/12345678");
        // The check of the input lengths comes before `..`.
        assert_eq!(path(&search, "s", "..34567890"), Err(PathError::TooLong));
        assert_eq!(path(&search, "s", "..3456789"), Err(PathError::DotDot));
        // search + "/" + dev_name must leave room for the NUL, before slashes collapse.
        let search = "a".repeat(PATH_MAX - 10);
        assert_eq!(path(&search, "s", "..3456789"), Err(PathError::DotDot));
        assert_eq!(path(&search, "s", "12345678").unwrap().len(), PATH_MAX - 1);
        // With the session name inserted.
        let search = format!("{}%SESSNAME%", "a".repeat(PATH_MAX - 30));
        assert_eq!(
            path(&search, &"s".repeat(21), "1234567"),
            Err(PathError::TooLong)
        );
        assert_eq!(
            path(&search, &"s".repeat(20), "1234567").unwrap().len(),
            PATH_MAX - 1
        );
        // A short output buffer is refused, not overrun.
        let mut out = [0u8; 16];
        assert_eq!(
            full_path(b"/", b"s", b"ram0", &mut out),
            Err(PathError::TooLong)
        );
    }

    #[test]
    fn access_modes() {
        assert_eq!(check_access(AccessMode::Ro, 0), Ok(false));
        assert_eq!(check_access(AccessMode::Ro, 2), Ok(false));
        assert_eq!(check_access(AccessMode::Rw, 0), Ok(true));
        assert_eq!(check_access(AccessMode::Rw, 1), Err(AccessDenied));
        assert_eq!(check_access(AccessMode::Migration, 0), Ok(true));
        assert_eq!(check_access(AccessMode::Migration, 1), Ok(true));
        assert_eq!(check_access(AccessMode::Migration, 2), Err(AccessDenied));
    }
}
