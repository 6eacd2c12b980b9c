// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Non-trivial C macros and static inline functions cannot be called from Rust. This file
 * creates functions ("helpers") that wrap them, in the kernel's rust/helpers/ style. Each
 * module's glue.c includes this file, so every module links its own compiled copy: several
 * of the wrapped macros (rdma_create_id, ib_alloc_pd, ib_alloc_cq) expand KBUILD_MODNAME.
 *
 * The prefix is the project's own (rnbd_rs_helper_), since vmlinux already exports
 * rust_helper_*. The Rust names drop it (see Kbuild). Sorted alphabetically.
 */

#include "blk.c"
#include "cm.c"
#include "fs.c"
#include "misc.c"
#include "rdma.c"
#include "sync.c"
#include "sysfs.c"
