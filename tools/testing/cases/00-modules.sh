# SPDX-License-Identifier: GPL-2.0-or-later
# Loading and unloading of the chosen module set.

# The four modules unload and load again; what each one registers comes and goes with it.
# A C RNBD module needs the rtrs.h API from its RTRS module.
LOAD_DEPS=
[ "$RNBD_CLIENT" = c ] && [ "$RTRS_CLIENT" = rust ] && LOAD_DEPS+=" rtrs_client"
[ "$RNBD_SERVER" = c ] && [ "$RTRS_SERVER" = rust ] && LOAD_DEPS+=" rtrs_server"
register modules_load_unload 120 "$LOAD_DEPS"
case_modules_load_unload() {
	local m
	for m in $ALL_MODULES; do [ -d /sys/module/$m ] || fail "$m not loaded"; done
	unload_modules
	for m in $ALL_MODULES rtrs_core; do [ ! -d /sys/module/$m ] || fail "$m still loaded"; done
	for c in rtrs-client rtrs-server rnbd-client rnbd-server; do
		[ ! -e /sys/class/$c ] || fail "/sys/class/$c stays after rmmod"
	done
	load_modules
	for m in $ALL_MODULES; do
		[ "$(cat /sys/module/$m/initstate)" = live ] || fail "$m not live after insmod"
		[ "$(impl_of $m)" = c ] || dmesg | grep -q "$m: loaded" || fail "$m (rust) did not log its load"
	done
	# The C modules register their sysfs classes at load; the Rust ones do once they work.
	[ "$(pending_tag rtrs_client)" ] || [ -d /sys/class/rtrs-client ] || fail "no /sys/class/rtrs-client"
	[ "$(pending_tag rtrs_server)" ] || [ -d /sys/class/rtrs-server ] || fail "no /sys/class/rtrs-server"
	[ "$(pending_tag rnbd_client)" ] || [ -e "$RNBD_CTL/map_device" ] || fail "no $RNBD_CTL/map_device"
	[ "$(pending_tag rnbd_server)" ] || [ -d "$RNBD_SRV_CTL/devices" ] || fail "no $RNBD_SRV_CTL/devices"
}
