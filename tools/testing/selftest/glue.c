// SPDX-License-Identifier: GPL-2.0-or-later
/* This module's own compiled copy of the project's C helpers (see rust/helpers/helpers.c). */

#include "../../../rust/helpers/helpers.c"
