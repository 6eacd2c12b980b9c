// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Exports the Rust implementation of the rtrs.h client API (rtrs/client/ffi_api.rs), with
 * the export flavour of C rtrs-clt.c, and compiles this module's copy of the project's C
 * helpers (see rust/helpers/helpers.c).
 */

#include <linux/export.h>
#include "rtrs.h"
#include "../../rust/helpers/helpers.c"

EXPORT_SYMBOL(rtrs_clt_open);
EXPORT_SYMBOL(rtrs_clt_close);
EXPORT_SYMBOL(rtrs_clt_get_permit);
EXPORT_SYMBOL(rtrs_clt_put_permit);
EXPORT_SYMBOL(rtrs_clt_request);
EXPORT_SYMBOL(rtrs_clt_rdma_cq_direct);
EXPORT_SYMBOL(rtrs_clt_query);
