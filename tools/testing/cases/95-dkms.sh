# SPDX-License-Identifier: GPL-2.0-or-later
# The modules as DKMS installed them (make install-check stages Debian's dkms add, build
# and install in results/dkms/stage): modprobe, pointed at that root, loads ours and not
# the in-tree C twins of the same names, and a map works through them. All-Rust runs only
# (it swaps the run's module set for the DKMS one and back), after make install-check.

if selftest_wanted && [ -d "$REPO/results/dkms/stage" ]; then
	register dkms_modprobe 300 "$ALL_MODULES"
fi
case_dkms_modprobe() {
	local root=$REPO/results/dkms/stage rel m
	rel=$(uname -r)
	[ -d "$root/lib/modules/$rel/updates/dkms" ] \
		|| fail "no DKMS installation for $rel under $root (make install-check stages it)"
	unload_modules
	modprobe -d "$root" rnbd_client && modprobe -d "$root" rnbd_server \
		|| fail "modprobe -d $root rnbd_client rnbd_server failed"
	for m in rtrs_client rtrs_server rnbd_client rnbd_server; do
		[ -d /sys/module/$m ] || fail "modprobe did not load $m"
		# Out-of-tree modules taint the kernel with O; the in-tree C twins do not.
		grep -q O /sys/module/$m/taint || fail "$m is not the out-of-tree module (taint '$(cat /sys/module/$m/taint)')"
	done
	[ ! -d /sys/module/rtrs_core ] || fail "rtrs_core was loaded: modprobe chose a C module"
	map_check_unmap s_dkms /dev/ram0 ram0
	unload_modules
	load_modules
}
