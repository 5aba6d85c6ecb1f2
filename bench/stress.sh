#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# stress.sh — wisp under load, outside CI (issue "Hardening", section "Under
# load"). Two runs, each printing a small table; results go to
# docs/benchmarks.md by hand.
#
#   bench/stress.sh vms [N]      N VMs at once (default 50), each booting the
#                                test guest with a drive and a tap (scenario blk-bench
#                                writing its drive for 1 s, then its reset); all must PASS, and the
#                                host must be left as it was: no wisp
#                                process, no tap, no extra open files, no
#                                memory held.
#   bench/stress.sh api [SECS]   one VM (drive + tap) whose guest does block
#                                I/O for SECS seconds (default 600) while a
#                                client sends requests as fast as it can,
#                                half on fresh connections, half on keep-alive
#                                ones; every request must be answered, and the
#                                VMM's resident memory must stay flat.
#
# Needs root (network namespace, taps) and a built tree in $BUILD (default
# ./build).
set -u
BUILD=${BUILD:-build}
WISP=$BUILD/wisp
GUEST=$BUILD/wisp-testguest
[ "$(id -u)" = 0 ] || { echo "stress.sh: needs root" >&2; exit 1; }
[ -x "$WISP" ] && [ -f "$GUEST" ] || { echo "stress.sh: build first ($BUILD)" >&2; exit 1; }
command -v curl >/dev/null || { echo "stress.sh: needs curl" >&2; exit 1; }

TMP=$(mktemp -d /tmp/wisp-stress.XXXXXX)
NS=wisp-stress-$$
cleanup() {
	pkill -KILL -f "$TMP/" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

open_files() { awk '{print $1 - $2}' /proc/sys/fs/file-nr; }
mem_avail_mib() { awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

vm_config() { # <i> <scenario args> <tap>
	local i=$1 args=$2 tap=$3
	truncate -s 64M "$TMP/d$i.img"
	cat > "$TMP/vm$i.json" <<EOF
{
  "boot-source": {"kernel_image_path": "$(realpath "$GUEST")", "boot_args": "$args"},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},
  "drives": [{"drive_id": "d", "path_on_host": "$TMP/d$i.img", "is_root_device": false,
              "is_read_only": false}],
  "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "$tap",
                          "guest_mac": "06:00:0a:00:$(printf %02x $((i / 256))):$(printf %02x $((i % 256)))"}]
}
EOF
}

run_vms() {
	local n=${1:-50} files0 mem0 t0 t1 pass=0 fail=0 left
	ip netns add "$NS"
	for i in $(seq 0 $((n - 1))); do
		ip -n "$NS" tuntap add dev "st$i" mode tap
		ip -n "$NS" link set "st$i" up
		vm_config "$i" "wtest=blk-bench wtest.mode=seqwrite wtest.secs=1" "st$i"
	done
	sync
	files0=$(open_files)
	mem0=$(mem_avail_mib)
	t0=$(date +%s.%N)
	for i in $(seq 0 $((n - 1))); do
		ip netns exec "$NS" "$WISP" --no-api --config-file "$TMP/vm$i.json" \
			> "$TMP/vm$i.out" 2> "$TMP/vm$i.err" < /dev/null &
	done
	wait
	t1=$(date +%s.%N)
	for i in $(seq 0 $((n - 1))); do
		if grep -q "WTEST blk-bench PASS" "$TMP/vm$i.out"; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
			echo "vm $i:" >&2
			tail -n 5 "$TMP/vm$i.out" "$TMP/vm$i.err" >&2
		fi
	done
	sleep 1
	left=$(pgrep -c -f "$TMP/vm" || true)
	printf '| VMs | PASS | FAIL | wall s | wisp left | open files before/after | MemAvailable MiB before/after |\n'
	printf '|---|---|---|---|---|---|---|\n'
	printf '| %d | %d | %d | %.1f | %s | %s / %s | %s / %s |\n' "$n" "$pass" "$fail" \
		"$(echo "$t1 - $t0" | bc)" "$left" "$files0" "$(open_files)" "$mem0" "$(mem_avail_mib)"
	ip netns del "$NS"
	[ "$fail" = 0 ] && [ "$left" = 0 ]
}

run_api() {
	local secs=${1:-600} sock=$TMP/api.sock pid t_end req=0 conns=0 bad=0 i
	local rss0 rssmax=0 samples="$TMP/rss"
	ip netns add "$NS"
	ip -n "$NS" tuntap add dev st0 mode tap
	ip -n "$NS" link set st0 up
	vm_config 0 "wtest=blk-bench wtest.mode=randread wtest.qd=4 wtest.secs=$secs" st0
	ip netns exec "$NS" "$WISP" --api-sock "$sock" --config-file "$TMP/vm0.json" \
		> "$TMP/vm0.out" 2> "$TMP/vm0.err" < /dev/null &
	pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	sleep 2
	rss0=$(rss_kib "$pid")
	t_end=$(( $(date +%s) + secs - 5 ))
	: > "$samples"
	# The client: a Python loop of raw HTTP/1.1 requests, one request per
	# fresh connection and batches of 50 on one keep-alive connection,
	# alternating, until the deadline; the VMM's RSS sampled each second.
	python3 - "$sock" "$t_end" "$pid" "$samples" > "$TMP/client" <<'PY'
import socket, sys, time
sock, t_end, pid, samples = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
paths = ["/", "/machine-config", "/vm/config", "/version"]
req = conns = bad = 0
def rss():
    try:
        for l in open(f"/proc/{pid}/status"):
            if l.startswith("VmRSS:"):
                return int(l.split()[1])
    except OSError:
        return None
def ask(s, path):
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        c = s.recv(65536)
        if not c:
            return None
        buf += c
    head, _, body = buf.partition(b"\r\n\r\n")
    n = 0
    for l in head.split(b"\r\n"):
        if l.lower().startswith(b"content-length:"):
            n = int(l.split(b":")[1])
    while len(body) < n:
        c = s.recv(65536)
        if not c:
            return None
        body += c
    return head.split(b" ")[1]
last = 0
with open(samples, "w") as out:
    while time.time() < t_end:
        for i in range(50):
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(10)
                    s.connect(sock)
                    conns += 1
                    req += 1
                    if ask(s, paths[i % 4]) != b"200":
                        bad += 1
            except OSError:
                bad += 1
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(10)
                s.connect(sock)
                conns += 1
                for i in range(50):
                    req += 1
                    if ask(s, paths[i % 4]) != b"200":
                        bad += 1
        except OSError:
            bad += 50
        if time.time() - last >= 1:
            last = time.time()
            r = rss()
            if r:
                out.write(f"{int(last)} {r}\n")
                out.flush()
print(req, conns, bad)
PY
	read -r req conns bad < "$TMP/client"
	rssmax=$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$samples")
	kill -0 "$pid" 2>/dev/null && alive=yes || alive=no
	wait "$pid"
	printf '| seconds | requests | connections | unanswered or wrong | RSS KiB start / max / end | VM alive to the end | guest |\n'
	printf '|---|---|---|---|---|---|---|\n'
	printf '| %d | %d | %d | %d | %s / %s / %s | %s | %s |\n' "$secs" "$req" "$conns" "$bad" \
		"$rss0" "$rssmax" "$(tail -n1 "$samples" | cut -d' ' -f2)" "$alive" \
		"$(grep -o 'BENCH blk.*' "$TMP/vm0.out" | head -n1)"
	ip netns del "$NS"
	[ "$bad" = 0 ]
}

case "${1:-}" in
vms) run_vms "${2:-50}" ;;
api) run_api "${2:-600}" ;;
*) echo "usage: bench/stress.sh vms [N] | api [SECS]" >&2; exit 2 ;;
esac
