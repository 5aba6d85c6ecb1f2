#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# End-to-end jailer tests:
#  - boot the test guest through wisp's REST API inside the jail (issue 5,
#    "the test guest boots through the API socket inside the jail, with a
#    drive and a tap in the given netns");
#  - snapshot a jailed VM (paths inside its chroot) and restore it in a
#    second jail, where the guest verifies itself (issue 8);
#  - restore it with the paths that need a userfaultfd (Uffd backend,
#    working-set recording, "copy" replay) in jails whose VMM is not root.
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
HPID=   # wisp-uffd-handler, while one runs
cleanup() {
	[ -n "$HPID" ] && kill -9 "$HPID" 2>/dev/null
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

# start_jail <id> <stdin> [wisp argument...]: a jailed wisp with its API at
# <root>/run/api.sock; sets ROOT, SOCK, PID, OUT (the guest console), ERR.
start_jail() {
	local id=$1 input=$2
	shift 2
	ROOT=$BASE/wisp/$id/root
	OUT=$BASE/$id.serial
	ERR=$BASE/$id.err
	# Not --daemonize: the guest's serial console is wisp's stdout.
	"$JAILER" --id "$id" --exec-file "$WISP" --uid 4242 --gid 4242 \
		--chroot-base-dir "$BASE" --netns "/var/run/netns/$NS" --new-pid-ns \
		-- --api-sock /run/api.sock "$@" < "$input" > "$OUT" 2> "$ERR" ||
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

	SNAP=$ROOT
	SNAP_LAST=$last
	copy_snapshot $b vm.state vm.mem disk.img
	new_input
	start_jail $b "$BASE/in"
	expect 204 PUT /snapshot/load '{"snapshot_path":"/vm.state","mem_backend":{"backend_type":"File","backend_path":"/vm.mem"},"resume_vm":true}'
	restored_guest_passes "$last"
}

# restored_guest_passes <last tick before the snapshot>: the jailed wisp
# just restored (input on fd 8) runs filtered, its guest ticks on from
# where the snapshot left it, echoes input and verifies its memory.
restored_guest_passes() {
	local last=$1 first
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

# copy_snapshot <id> <file>...: a new jail root with copies of the
# snapshot's files, owned by the jail's uid.
copy_snapshot() {
	local id=$1
	shift
	prepare_root "$id"
	for f in "$@"; do cp --sparse=always "$SNAP/$f" "$BASE/wisp/$id/root/"; done
	chown 4242:4242 "$BASE/wisp/$id/root/"*
}

# new_input: a fresh FIFO on fd 8 for the next jail's console input.
new_input() {
	exec 8>&- 2>/dev/null
	rm -f "$BASE/in"
	mkfifo "$BASE/in"
	exec 8<>"$BASE/in"
}

# e2e_userfaultfd: the paths that need a userfaultfd, in a jail whose VMM is
# not root (uid 4242, no capabilities): with vm.unprivileged_userfaultfd=0
# the userfaultfd(2) call is refused there and wisp creates it through the
# jail's /dev/userfaultfd. A Uffd-backend load served by wisp-uffd-handler
# (outside the jail, its socket inside), a working-set recording, and a
# replay of that working set in "copy" mode (anonymous memory served by
# wisp itself) each restore a guest that verifies itself.
e2e_userfaultfd() {
	local c=uffd-$$ d=wsrec-$$ e=wscopy-$$ hs unpriv
	unpriv=$(cat /proc/sys/vm/unprivileged_userfaultfd 2>/dev/null || echo 1)
	# through_dev_userfaultfd <what>: where userfaultfd(2) is for root only,
	# the jailed wisp (started with --level Debug) logged the fallback.
	through_dev_userfaultfd() {
		if [ "$unpriv" != 0 ]; then
			echo "note - $1: vm.unprivileged_userfaultfd=1 here, userfaultfd(2) itself serves"
		elif grep -q 'created through /dev/userfaultfd' "$ERR"; then
			ok "$1: the userfaultfd came from the jail's /dev/userfaultfd"
		else
			bad "$1: no /dev/userfaultfd fallback in the log: $(tail -c 400 "$ERR")"
		fi
	}
	if [ "$unpriv" = 0 ] && [ ! -c /dev/userfaultfd ]; then
		echo "skip - userfaultfd paths in a non-root jail: userfaultfd(2) is for root only" \
			"here (vm.unprivileged_userfaultfd=0) and the host has no /dev/userfaultfd"
		return
	fi

	copy_snapshot $c vm.state disk.img
	hs=$BASE/wisp/$c/root/uffd.sock
	"$BUILD/wisp-uffd-handler" "$hs" "$SNAP/vm.mem" > /dev/null 2> "$BASE/handler.err" &
	HPID=$!
	for _ in $(seq 100); do [ -S "$hs" ] && break; sleep 0.05; done
	[ -S "$hs" ] || { bad "wisp-uffd-handler never listened: $(cat "$BASE/handler.err")"; return; }
	chown 4242:4242 "$hs"
	new_input
	start_jail $c "$BASE/in" --level Debug
	grep -q '^Uid:.4242' "/proc/$PID/status" && grep -q '^CapEff:.0000000000000000' "/proc/$PID/status" &&
		ok "jailed wisp: uid 4242, no capabilities" || bad "jailed wisp: $(grep -E '^(Uid|CapEff)' "/proc/$PID/status")"
	expect 204 PUT /snapshot/load '{"snapshot_path":"/vm.state","mem_backend":{"backend_type":"Uffd","backend_path":"/uffd.sock"},"resume_vm":true}'
	through_dev_userfaultfd Uffd
	restored_guest_passes "$SNAP_LAST"
	kill -9 "$PID"
	# The handler exits 0 once the VMM is gone; one that never got a VMM
	# (wisp failed before connecting) is stopped and the check fails.
	for _ in $(seq 100); do kill -0 "$HPID" 2>/dev/null || break; sleep 0.05; done
	kill -TERM "$HPID" 2>/dev/null
	wait "$HPID" && grep -q 'the VMM is gone: served [1-9]' "$BASE/handler.err" &&
		ok "wisp-uffd-handler served the jailed VM and exited 0" ||
		bad "wisp-uffd-handler: $(tail -c 400 "$BASE/handler.err")"
	HPID=

	copy_snapshot $d vm.state vm.mem disk.img
	new_input
	start_jail $d "$BASE/in" --level Debug
	expect 204 PUT /snapshot/load '{"snapshot_path":"/vm.state","mem_backend":{"backend_type":"File","backend_path":"/vm.mem"},"resume_vm":true,"working_set":{"path":"/vm.wset","record":true,"record_ms":500}}'
	through_dev_userfaultfd "working-set recording"
	restored_guest_passes "$SNAP_LAST"
	for _ in $(seq 100); do [ -s "$ROOT/vm.wset" ] && break; sleep 0.05; done
	[ -s "$ROOT/vm.wset" ] && ok "working set recorded in the jail ($(stat -c %s "$ROOT/vm.wset") bytes)" ||
		bad "no working set recorded: $(tail -c 400 "$ERR")"
	kill -9 "$PID"
	cp "$ROOT/vm.wset" "$SNAP/vm.wset" 2>/dev/null

	copy_snapshot $e vm.state vm.mem disk.img vm.wset
	new_input
	start_jail $e "$BASE/in" --level Debug
	expect 204 PUT /snapshot/load '{"snapshot_path":"/vm.state","mem_backend":{"backend_type":"File","backend_path":"/vm.mem"},"resume_vm":true,"working_set":{"path":"/vm.wset","copy":true}}'
	through_dev_userfaultfd "copy replay"
	restored_guest_passes "$SNAP_LAST"
	kill -9 "$PID"
}

e2e_boot
e2e_snapshot
e2e_userfaultfd
[ "$fails" = 0 ] && { echo "PASS: jailed boot, jailed snapshot restore, userfaultfd paths in a non-root jail"; exit 0; }
exit 1
