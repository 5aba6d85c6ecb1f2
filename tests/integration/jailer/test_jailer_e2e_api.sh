#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# End-to-end jailer tests:
#  - boot the test guest through wisp's REST API inside the jail (issue 5,
#    "the test guest boots through the API socket inside the jail, with a
#    drive and a tap in the given netns");
#  - snapshot a jailed VM (paths inside its chroot) and restore it in a
#    second jail, where the guest verifies itself (issue 8).
# Skips (77) only without root; a missing wisp, test guest or curl is a
# failure.
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
cleanup() {
	for pidf in "$BASE"/wisp/*/root/wisp.pid; do
		[ -f "$pidf" ] && kill -9 "$(cat "$pidf")" 2>/dev/null
	done
	exec 8>&- 2>/dev/null
	sleep 0.2
	ip netns del "$NS" 2>/dev/null
	rm -rf "$BASE"
}
trap cleanup EXIT
ip netns add "$NS" || skip "cannot create a network namespace"
ip -n "$NS" tuntap add dev tap0 mode tap
ip -n "$NS" link set tap0 up

fails=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }

# start_jail <id> <stdin>: a jailed wisp with its API at <root>/run/api.sock;
# sets ROOT, SOCK, PID, OUT (the guest console), ERR.
start_jail() {
	local id=$1 input=$2
	ROOT=$BASE/wisp/$id/root
	OUT=$BASE/$id.serial
	ERR=$BASE/$id.err
	# Not --daemonize: the guest's serial console is wisp's stdout.
	"$JAILER" --id "$id" --exec-file "$WISP" --uid 4242 --gid 4242 \
		--chroot-base-dir "$BASE" --netns "/var/run/netns/$NS" --new-pid-ns \
		-- --api-sock /run/api.sock < "$input" > "$OUT" 2> "$ERR" ||
		{ echo "FAIL: jailer exited $?: $(cat "$ERR")"; exit 1; }
	SOCK=$ROOT/run/api.sock
	for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
	[ -S "$SOCK" ] || { echo "FAIL: API socket $SOCK never appeared: $(cat "$ERR")"; exit 1; }
	PID=$(cat "$ROOT/wisp.pid")
}

api() {  # api <verb> <path> [json]: prints the HTTP status
	curl -s -o "$BASE/resp" -w '%{http_code}' --unix-socket "$SOCK" -X "$1" \
		-H 'Content-Type: application/json' "http://localhost$2" ${3:+-d "$3"}
}
expect() {  # expect <status> <verb> <path> [json]
	local want=$1 got
	shift
	got=$(api "$@")
	if [ "$got" = "$want" ]; then ok "$1 $2 -> $got"
	else bad "$1 $2 -> $got (want $want): $(cat "$BASE/resp")"; fi
}
wait_line() {  # wait_line <file> <regex> <tries of 50 ms>
	for _ in $(seq "$3"); do grep -q "$2" "$1" && return 0; sleep 0.05; done
	return 1
}
# prepare_root <id>: the guest and a 1 MiB disk in the jail's root, owned
# by the jail's uid.
prepare_root() {
	mkdir -p "$BASE/wisp/$1/root"
	cp "$GUEST" "$BASE/wisp/$1/root/guest.elf"
	truncate -s 1M "$BASE/wisp/$1/root/disk.img"
	chown 4242:4242 "$BASE/wisp/$1/root" "$BASE/wisp/$1/root/guest.elf" \
		"$BASE/wisp/$1/root/disk.img"
}

# e2e_boot: the test guest boots through the API inside the jail, with a
# drive and a tap in the jail's netns, and reports on its serial console.
e2e_boot() {
	prepare_root boot-$$
	start_jail boot-$$ /dev/null
	expect 200 GET /
	expect 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128}'
	expect 204 PUT /boot-source '{"kernel_image_path":"/guest.elf","boot_args":"wtest=hello console=ttyS0"}'
	expect 204 PUT /drives/disk '{"drive_id":"disk","path_on_host":"/disk.img","is_root_device":false,"is_read_only":false}'
	expect 204 PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"tap0"}'
	grep -q 'Seccomp:.2' "/proc/$PID/status" && ok "wisp runs filtered (Seccomp: 2)" ||
		bad "wisp not filtered"
	expect 204 PUT /actions '{"action_type":"InstanceStart"}'
	wait_line "$OUT" '^WTEST hello' 200
	if grep -q '^WTEST hello PASS' "$OUT"; then ok "guest ran: WTEST hello PASS"
	else bad "no guest result; serial: $(tail -c 400 "$OUT"); wisp: $(tail -c 400 "$ERR")"; fi
}

# e2e_snapshot: a jailed VM (drive, tap) is paused and snapshotted to files
# inside its chroot, killed, and loaded in a second jail from copies of
# those files; the restored guest echoes input and verifies itself.
e2e_snapshot() {
	local a=snapa-$$ b=snapb-$$
	prepare_root $a
	start_jail $a /dev/null
	expect 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":128}'
	expect 204 PUT /boot-source '{"kernel_image_path":"/guest.elf","boot_args":"wtest=snap wtest.mib=8"}'
	expect 204 PUT /drives/disk '{"drive_id":"disk","path_on_host":"/disk.img","is_root_device":false,"is_read_only":false}'
	expect 204 PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"tap0"}'
	expect 204 PUT /actions '{"action_type":"InstanceStart"}'
	wait_line "$OUT" '^SNAP 2' 400 || bad "guest never ticked: $(tail -c 300 "$OUT")"
	expect 204 PATCH /vm '{"state":"Paused"}'
	expect 204 PUT /snapshot/create '{"snapshot_type":"Full","snapshot_path":"/vm.state","mem_file_path":"/vm.mem"}'
	last=$(grep -a '^SNAP [0-9]' "$OUT" | tail -n1 | tr -dc '0-9')
	kill -9 "$PID"
	[ -s "$ROOT/vm.state" ] && [ -s "$ROOT/vm.mem" ] && ok "snapshot files written inside the chroot" ||
		bad "no snapshot files in $ROOT"

	prepare_root $b
	cp --sparse=always "$ROOT/vm.state" "$ROOT/vm.mem" "$ROOT/disk.img" "$BASE/wisp/$b/root/"
	chown 4242:4242 "$BASE/wisp/$b/root/"*
	mkfifo "$BASE/in"
	exec 8<>"$BASE/in"
	start_jail $b "$BASE/in"
	expect 204 PUT /snapshot/load '{"snapshot_path":"/vm.state","mem_backend":{"backend_type":"File","backend_path":"/vm.mem"},"resume_vm":true}'
	grep -q 'Seccomp:.2' "/proc/$PID/status" && ok "restored wisp runs filtered (Seccomp: 2)" ||
		bad "restored wisp not filtered"
	wait_line "$OUT" '^SNAP [0-9]' 200 || bad "restored guest does not tick"
	printf x >&8
	wait_line "$OUT" '^Ex' 100 && ok "restored guest echoes input" || bad "no echo"
	printf V >&8
	wait_line "$OUT" '^WTEST snap' 400
	first=$(grep -a '^SNAP [0-9]' "$OUT" | head -n1 | tr -dc '0-9')
	if grep -q '^WTEST snap PASS' "$OUT" && ! grep -q '^SNAP boot' "$OUT"; then
		ok "restored guest verified itself (SNAP $last -> SNAP $first, no reboot)"
	else
		bad "restored guest: $(tail -c 400 "$OUT"); wisp: $(tail -c 400 "$ERR")"
	fi
	[ "$first" -gt "$last" ] 2>/dev/null && [ "$first" -le $((last + 2)) ] ||
		bad "tick numbering did not continue: $last then $first"
}

e2e_boot
e2e_snapshot
[ "$fails" = 0 ] && { echo "PASS: jailed boot and jailed snapshot restore"; exit 0; }
exit 1
