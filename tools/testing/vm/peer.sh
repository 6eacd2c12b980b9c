#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The server guest of the two-guest topology (vm/pair.sh). Sets up its links (pair_links
# server), brd (ram0, ram1) and the server modules of RESULTS/config.sh, says ready, then
# runs the commands the client guest's cases send (peer in vm/lib.sh: cmd.N in
# RESULTS/peer, answered with out.N and rc.N) until RESULTS/peer/stop appears. Then its
# modules must unload, its dmesg must be clean and kmemleak must find nothing: the verdict
# goes to RESULTS/peer/result ("PASS" or "FAIL reason"), which the client's final_rmmod
# reports. Usage: peer.sh RESULTS.
set -uo pipefail
export RESULTS=$1 PAIR_ROLE=server
. "$RESULTS/config.sh"
. "$REPO/tools/testing/vm/lib.sh"
P=$RESULTS/peer
exec > "$P/guest.log" 2>&1
set -x
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
verdict() { echo "$*" > "$P/result.tmp" && mv "$P/result.tmp" "$P/result"; }
setup_fail() { verdict "FAIL server guest set-up: $*"; exit 1; }
dmesg > "$P/boot.dmesg"
dmesg -C
start_soft_rdma rxe || setup_fail "links and rxe"
modprobe brd rd_nr=2 rd_size=65536 || setup_fail "modprobe brd"
(load_modules) || setup_fail "loading the server modules"
touch "$P/ready"

n=1
until [ -e "$P/stop" ]; do
	if [ -e "$P/cmd.$n" ]; then
		# shellcheck disable=SC2016
		bash -c '. "$RESULTS/config.sh"; . "$REPO/tools/testing/vm/lib.sh"; eval "$1"' _ \
			"$(cat "$P/cmd.$n")" > "$P/out.$n" 2>&1
		echo $? > "$P/rc.$n.tmp" && mv "$P/rc.$n.tmp" "$P/rc.$n"
		n=$((n + 1))
		continue
	fi
	sleep 0.2
done

why=
(unload_modules) > "$P/unload.log" 2>&1 || why="the server modules do not unload: $(tail -1 "$P/unload.log")"
rdma link del rxe0; rdma link del rxe1
rmmod brd rdma_rxe rdma_cm 2>/dev/null
k=/sys/kernel/debug/kmemleak
if [ -z "$why" ] && [ -w $k ]; then
	echo scan > $k; sleep 6; echo scan > $k
	cat $k > "$P/kmemleak"
	[ ! -s "$P/kmemleak" ] || why="kmemleak: $(grep -c unreferenced "$P/kmemleak") objects (peer/kmemleak)"
fi
dmesg > "$P/dmesg"
bad=$(grep -Em1 "$BAD_DMESG" "$P/dmesg")
[ -z "$bad" ] || why="${why:+$why; }dmesg: $bad"
if [ -z "$why" ]; then verdict PASS; else verdict "FAIL $why"; fi
sync
