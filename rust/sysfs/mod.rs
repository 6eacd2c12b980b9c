// SPDX-License-Identifier: GPL-2.0-or-later

//! Device classes, devices, attribute groups and kobject directories in sysfs.
//!
//! C headers: [include/linux/device/class.h](srctree/include/linux/device/class.h),
//! [include/linux/sysfs.h](srctree/include/linux/sysfs.h),
//! [include/linux/kobject.h](srctree/include/linux/kobject.h).
