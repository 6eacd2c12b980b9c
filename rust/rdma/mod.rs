// SPDX-License-Identifier: GPL-2.0-or-later

//! RDMA verbs and the RDMA connection manager.
//!
//! C headers: [include/rdma/ib_verbs.h](srctree/include/rdma/ib_verbs.h),
//! [include/rdma/rdma_cm.h](srctree/include/rdma/rdma_cm.h).
