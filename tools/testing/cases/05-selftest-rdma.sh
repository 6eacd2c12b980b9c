# SPDX-License-Identifier: GPL-2.0-or-later
# Self-test of the RDMA abstractions (rust/rdma): two rdma_cm ids of the self-test module
# connect over rxe loopback and exercise reject, private data, SEND/RECV, RDMA WRITE with
# immediate, RDMA READ, fast registration and invalidation. Each checked step is logged
# with an "rdma:" line.

selftest_wanted && register selftest_rdma 300 ""
case_selftest_rdma() {
	selftest_load
	selftest_run rdma "$ADDR1"
	# A second run on the same module: nothing of the first one is left in the way.
	selftest_run rdma "$ADDR1"
	selftest_unload
	dmesg | grep -q "rdma: all steps passed" || fail "the RDMA self-test did not report success"
}
