#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The two-guest topology (reliability plan TOPO-3): a server guest and a client guest, each
# booted from the cached test kernel under QEMU (TCG), joined by two QEMU networks over
# the host's loopback (-netdev socket: every frame really crosses a link, so link down and
# tc netem act on RDMA traffic, which rxe keeps inside one guest otherwise). Net A carries
# path 1 (client 10.77.1.1, server 10.77.1.2), net B path 2 (10.77.2.1, 10.77.2.2); each
# guest has rxe0 on net A and rxe1 on net B. The server guest (tools/testing/vm/peer.sh)
# loads the server modules and runs the commands the client's cases send it (peer in
# vm/lib.sh); the client guest runs the cases of tools/testing/pair/ with guest.sh.
# Prints the result matrix and 'N passed, N failed'; the server guest's own verdict (its
# modules unload, its dmesg is clean, kmemleak finds nothing) is the case final_rmmod's.
#
# Environment: as run.sh (RTRS_CLIENT RTRS_SERVER RNBD_CLIENT RNBD_SERVER, FLAVOR, CASES,
# VM_TIMEOUT, RESULTS, RTRS_SRV_PARAMS).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
. "$repo/scripts/lib.sh"

REPO=$repo
module_set_from_env pair
SOFT_RDMA=rxe FLAVOR=${FLAVOR:-debug} SUITE=pair
tag="pair_${TAG}_${FLAVOR}${TAG_PARAMS}"
RESULTS=${RESULTS:-$repo/results/vmtest/$tag}
export SOFT_RDMA FLAVOR SUITE
write_config "$RESULTS"
mkdir -p "$RESULTS/peer"

# Two free TCP ports on the loopback for the two networks.
ports=$(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
read -r port_a port_b <<<"$ports"
nic() { echo "-netdev socket,id=$1,$2=127.0.0.1:$3 -device virtio-net-pci,netdev=$1,mac=$4"; }

vm_lock
export VM_LOCKED=1 GUEST_CPUS=1 GUEST_MEMORY=2G
step "pair: $tag: booting the server guest and the client guest under TCG"
start=$(date +%s)
limit=${VM_TIMEOUT:-2400}
# The server listens on both networks; the client connects once the sockets are there.
GUEST_CONSOLE=$RESULTS/peer/console.log \
	GUEST_QEMU_OPTS="$(nic na listen "$port_a" 52:54:00:77:01:02) $(nic nb listen "$port_b" 52:54:00:77:02:02)" \
	boot_guest "$FLAVOR" "$RESULTS" "$((limit + 120))" "$repo/tools/testing/vm/peer.sh" &
peer_pid=$!
for _ in $(seq 100); do
	ss -Hltn "sport = :$port_b" | grep -q . && break
	sleep 0.2
done
vm_rc=0
GUEST_QEMU_OPTS="$(nic na connect "$port_a" 52:54:00:77:01:01) $(nic nb connect "$port_b" 52:54:00:77:02:01)" \
	boot_guest "$FLAVOR" "$RESULTS" "$limit" "$repo/tools/testing/vm/guest.sh" || vm_rc=$?
# The server guest ends once the client's final_rmmod told it to (or at its time limit).
touch "$RESULTS/peer/stop"
wait "$peer_pid" || step "pair: the server guest ended with exit $?"
step "pair: $tag: guests finished after $(( $(date +%s) - start )) s (exit $vm_rc)"

exec "$repo/tools/testing/vm/report.sh" "$RESULTS" "$tag"
