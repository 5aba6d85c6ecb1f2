#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# HOOK: end-to-end jailer test — boot the test guest through wisp's REST API
# inside the jail (issue 5, "the test guest boots through the API socket
# inside the jail, with a drive and a tap in the given netns").
#
# Needs wisp's API (issue 4) and the test guest. Until build/wisp answers on
# its API socket this test reports SKIP (exit 77). To finish it, fill in
# e2e_boot() below: everything around it (jail, netns, cleanup) is ready.
#
#   test_jailer_e2e_api.sh <wisp-jailer> <build dir>
set -u
JAILER=$1
BUILD=$2
WISP=$BUILD/wisp

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
[ -x "$WISP" ] || skip "$WISP not built (issue 2/4)"
GUEST=$(ls "$BUILD"/tests/guest/*.elf "$BUILD"/wisp-testguest 2>/dev/null | head -n1)
[ -n "$GUEST" ] || skip "test guest not built"
command -v curl >/dev/null || skip "curl missing"
# The API is there when wisp's --help mentions --api-sock.
"$WISP" --help 2>&1 | grep -q -- '--api-sock' || skip "wisp has no API yet (issue 4)"

BASE=$(mktemp -d /tmp/wisp-jailer-e2e.XXXXXX)
NS=wisp-e2e-$$
ID=e2e-$$
CGPARENT=wisp-e2e-$$
cleanup() {
	[ -f "$BASE/wisp/$ID/root/wisp.pid" ] && kill -9 "$(cat "$BASE/wisp/$ID/root/wisp.pid")" 2>/dev/null
	sleep 0.2
	ip netns del "$NS" 2>/dev/null
	rm -rf "$BASE"
}
trap cleanup EXIT
ip netns add "$NS" || skip "cannot create a network namespace"
ip -n "$NS" tuntap add dev tap0 mode tap
ip -n "$NS" link set tap0 up

ROOT=$BASE/wisp/$ID/root
mkdir -p "$ROOT"
cp "$GUEST" "$ROOT/guest.elf"
truncate -s 1M "$ROOT/disk.img"
chown 4242:4242 "$ROOT/guest.elf" "$ROOT/disk.img"

"$JAILER" --id "$ID" --exec-file "$WISP" --uid 4242 --gid 4242 \
	--chroot-base-dir "$BASE" --netns "/var/run/netns/$NS" --new-pid-ns --daemonize \
	-- --api-sock /run/api.sock || { echo "FAIL: jailer exited $?"; exit 1; }
SOCK=$ROOT/run/api.sock
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || { echo "FAIL: API socket $SOCK never appeared"; exit 1; }

api() { curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -X "$1" \
	-H 'Content-Type: application/json' "http://localhost$2" ${3:+-d "$3"}; }

e2e_boot() {
	# TODO(issue 4/5): the scenario names and serial output of the test guest.
	[ "$(api PUT /boot-source '{"kernel_image_path":"/guest.elf","boot_args":"console=ttyS0"}')" = 204 ] || return 1
	[ "$(api PUT /drives/rootfs '{"drive_id":"rootfs","path_on_host":"/disk.img","is_root_device":false,"is_read_only":false}')" = 204 ] || return 1
	[ "$(api PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"tap0"}')" = 204 ] || return 1
	[ "$(api PUT /actions '{"action_type":"InstanceStart"}')" = 204 ] || return 1
	return 0
}
if e2e_boot; then echo "PASS: guest started through the API inside the jail"; exit 0; fi
echo "FAIL: API calls inside the jail failed"
exit 1
