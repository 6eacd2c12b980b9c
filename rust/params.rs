// SPDX-License-Identifier: GPL-2.0-or-later

//! Module parameters declared in a module's `glue.c`.
//!
//! C header: [include/linux/moduleparam.h](srctree/include/linux/moduleparam.h).
//!
//! `module!` of 6.12 takes no parameters, so the modules declare theirs in C with
//! `module_param_named` and `MODULE_PARM_DESC`, keeping the names, types, modes and
//! descriptions of the C drivers, each backed by a global variable with external linkage.
//! [`module_params!`] declares, per parameter, a safe Rust getter that reads that variable.
//!
//! The getters are sound under two rules the `glue.c` side keeps, and which this module
//! cannot check: the C type matches the Rust type (see [`ParamType`]), and the parameter
//! is read-only in sysfs (mode `0444` or `0`), so it never changes after the module loaded
//! and a plain read races with nothing.

/// A Rust type with the same size, alignment and valid values as a C module-parameter type.
///
/// # Safety
///
/// Every bit pattern the C kernel can store in the corresponding C type (`int`: `i32`,
/// `uint`: `u32`, `bool`: `bool`, which the kernel keeps 0 or 1) is a valid value of `Self`,
/// and the layouts are identical.
pub(crate) unsafe trait ParamType: Copy + 'static {}

// SAFETY: C `int` is `i32` on every Linux target.
unsafe impl ParamType for i32 {}
// SAFETY: C `unsigned int` is `u32` on every Linux target.
unsafe impl ParamType for u32 {}
// SAFETY: C `unsigned short` (`ushort` parameters) is `u16` on every Linux target.
unsafe impl ParamType for u16 {}
// SAFETY: C `_Bool` has the layout of Rust `bool`; `param_set_bool` stores only 0 or 1.
unsafe impl ParamType for bool {}

/// Declares safe getters for module parameters backed by C globals of `glue.c`:
///
/// ```ignore
/// module_params! {
///     /// `max_chunk_size` (int, 0444).
///     pub(crate) fn max_chunk_size() -> i32 = rtrs_srv_param_max_chunk_size;
/// }
/// ```
///
/// The C global must have the C type matching the Rust type ([`ParamType`]) and be exposed
/// read-only (mode `0444` or `0`); see the module docs.
macro_rules! module_params {
    ($($(#[$meta:meta])* $vis:vis fn $name:ident() -> $ty:ty = $sym:ident;)*) => {$(
        $(#[$meta])*
        $vis fn $name() -> $ty {
            extern "C" {
                static $sym: $ty;
            }
            fn assert_param_type<T: $crate::params::ParamType>() {}
            assert_param_type::<$ty>();
            // SAFETY: `glue.c` defines the global with the matching C type and a read-only
            // mode (the macro's contract), so it is valid, initialised and never written
            // after the module loaded.
            unsafe { core::ptr::addr_of!($sym).read_volatile() }
        }
    )*};
}
pub(crate) use module_params;

/// Declares a safe getter for a string module parameter backed by a C `char` array of
/// `glue.c` (the storage of a `kparam_string`, or of a `module_param_cb` with its own setter):
///
/// ```ignore
/// module_param_string! {
///     /// `dev_search_path` (string, 0444).
///     pub(crate) fn dev_search_path() -> &'static CStr = rnbd_srv_param_dev_search_path[4096];
/// }
/// ```
///
/// The C array must have exactly the given length and be exposed read-only (mode `0444` or
/// `0`), so that it never changes after the module loaded. The getter returns the bytes up to
/// the first NUL, or an empty string if the array holds none.
macro_rules! module_param_string {
    ($(#[$meta:meta])* $vis:vis fn $name:ident() -> &'static CStr = $sym:ident[$len:expr];) => {
        $(#[$meta])*
        $vis fn $name() -> &'static ::kernel::str::CStr {
            extern "C" {
                static $sym: [u8; $len];
            }
            // SAFETY: `glue.c` defines the array with this length and a read-only mode (the
            // macro's contract): it is valid, initialised and never written after the module
            // loaded, so a shared `'static` reference is sound.
            let bytes: &'static [u8; $len] = unsafe { &*core::ptr::addr_of!($sym) };
            match bytes.iter().position(|&b| b == 0) {
                Some(nul) => ::kernel::str::CStr::from_bytes_with_nul(&bytes[..=nul])
                    .unwrap_or(::kernel::c_str!("")),
                None => ::kernel::c_str!(""),
            }
        }
    };
}
pub(crate) use module_param_string;
