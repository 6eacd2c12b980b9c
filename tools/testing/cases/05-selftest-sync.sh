# SPDX-License-Identifier: GPL-2.0-or-later
# Self-test of rust/sync: completions, timeouts, delayed work, owned workqueues.

selftest_wanted && register selftest_sync 120 ""
case_selftest_sync() {
	selftest_load
	selftest_run sync run
	selftest_run sync again
	selftest_unload
}
