#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# End-to-end jailer test: boot the test guest through wisp's REST API inside
# the jail (issue 5, "the test guest boots through the API socket inside the
# jail, with a drive and a tap in the given netns"). Skips (77) only without
# root; a missing wisp, test guest or curl is a failure.
#
#   test_jailer_e2e_api.sh <wisp-jailer> <build dir>
set -u
JAILER=$1
BUILD=$2
WISP=$BUILD/wisp

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
fail() { echo "FAIL: $*"; exit 1; }
[ -x "$WISP" ] || fail "$WISP not built"
GUEST=$(ls "$BUILD"/tests/guest/*.elf "$BUILD"/wisp-testguest 2>/dev/null | head -n1)
[ -n "$GUEST" ] || fail "test guest not built"
command -v curl >/dev/null || fail "curl missing"

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

# Not --daemonize: the guest's serial console is wisp's stdout, read below.
"$JAILER" --id "$ID" --exec-file "$WISP" --uid 4242 --gid 4242 \
	--chroot-base-dir "$BASE" --netns "/var/run/netns/$NS" --new-pid-ns \
	-- --api-sock /run/api.sock > "$BASE/serial.out" 2> "$BASE/wisp.err" ||
	{ echo "FAIL: jailer exited $?: $(cat "$BASE/wisp.err")"; exit 1; }
SOCK=$ROOT/run/api.sock
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || { echo "FAIL: API socket $SOCK never appeared: $(cat "$BASE/wisp.err")"; exit 1; }
PID=$(cat "$ROOT/wisp.pid")

fails=0
api() {  # api <verb> <path> [json]: prints the HTTP status
	curl -s -o "$BASE/resp" -w '%{http_code}' --unix-socket "$SOCK" -X "$1" \
		-H 'Content-Type: application/json' "http://localhost$2" ${3:+-d "$3"}
}
expect() {  # expect <status> <verb> <path> [json]
	local want=$1 got
	shift
	got=$(api "$@")
	if [ "$got" = "$want" ]; then echo "ok   - $1 $2 -> $got"
	else echo "FAIL - $1 $2 -> $got (want $want): $(cat "$BASE/resp")"; fails=$((fails + 1)); fi
}

# e2e_boot: the test guest boots through the API inside the jail, with a
# drive and a tap in the jail's netns, and reports on its serial console.
e2e_boot() {
	expect 200 GET /
	expect 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128}'
	expect 204 PUT /boot-source '{"kernel_image_path":"/guest.elf","boot_args":"wtest=hello console=ttyS0"}'
	expect 204 PUT /drives/disk '{"drive_id":"disk","path_on_host":"/disk.img","is_root_device":false,"is_read_only":false}'
	expect 204 PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"tap0"}'
	grep -q 'Seccomp:.2' "/proc/$PID/status" && echo "ok   - wisp runs filtered (Seccomp: 2)" ||
		{ echo "FAIL - wisp not filtered"; fails=$((fails + 1)); }
	expect 204 PUT /actions '{"action_type":"InstanceStart"}'
	for _ in $(seq 200); do grep -q '^WTEST hello' "$BASE/serial.out" && break; sleep 0.05; done
	if grep -q '^WTEST hello PASS' "$BASE/serial.out"; then echo "ok   - guest ran: WTEST hello PASS"
	else echo "FAIL - no guest result; serial: $(tail -c 400 "$BASE/serial.out"); wisp: $(tail -c 400 "$BASE/wisp.err")"
	     fails=$((fails + 1)); fi
}
e2e_boot
[ "$fails" = 0 ] && { echo "PASS: guest booted through the API inside the jail"; exit 0; }
exit 1
