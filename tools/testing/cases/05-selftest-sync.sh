# SPDX-License-Identifier: GPL-2.0-or-later
# Self-test of rust/sync: completions, timeouts, delayed work, owned workqueues.

selftest_wanted && register selftest_sync 120 ""
case_selftest_sync() {
	selftest_load
	selftest_unload
	dmesg | grep -q "sync: no reference leaked: ok" || fail "the sync self-test did not finish"
}
