# SPDX-License-Identifier: GPL-2.0-or-later
# Self-test of the RDMA abstractions (rust/rdma): two rdma_cm ids of the self-test module
# connect over rxe loopback and exercise reject, private data, SEND/RECV, RDMA WRITE with
# immediate, RDMA READ, fast registration and invalidation. Each checked step is logged
# with an "rdma:" line.

selftest_wanted && register selftest_rdma 300 ""
case_selftest_rdma() {
	# Until the sysfs control surface exists, the module runs the test at load with
	# 10.0.2.15 (= $ADDR1 under the harness): insmod fails if the test fails.
	selftest_load
	selftest_unload
	dmesg | grep -q "rdma: all steps passed" || fail "the RDMA self-test did not report success"
}
