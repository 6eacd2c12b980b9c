# SPDX-License-Identifier: GPL-2.0-or-later
# The last case of the two-guest topology: the server guest's verdict, then the client
# guest's modules and kmemleak, as in the one-guest suite.
. "$REPO/tools/testing/cases/99-final.sh"
