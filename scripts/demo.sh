#!/usr/bin/env bash
# Build wisp and boot a demo microVM, twice, then restore it from a snapshot:
#   1. from a config file (--no-api --config-file), the guest console on stdout
#      and the boot time from --boot-timer;
#   2. through the REST API on a Unix socket, showing each curl call and its
#      answer (the sequence of Firecracker's getting-started guide), with a
#      snapshot taken while the VM is paused;
#   3. a new wisp process loads that snapshot: the guest carries on counting
#      where it was, without booting again.
# The guest is the project's test guest (tests/guest): /dev/kvm on PVM hosts
# cannot run an unmodified Linux kernel (see docs/linux-guest.md).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
echo "== build ==" >&2
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target wisp wisp-testguest >/dev/null

work=$(mktemp -d /tmp/wisp-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT

cat >"$work/vm.json" <<JSON
{
  "boot-source": {
    "kernel_image_path": "$PWD/build/wisp-testguest",
    "boot_args": "console=ttyS0 wtest=hello"
  },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 }
}
JSON

echo
echo "== 1. wisp --no-api --config-file vm.json --boot-timer =="
cat "$work/vm.json"
echo "-- guest console and wisp log:"
build/wisp --no-api --config-file "$work/vm.json" --boot-timer </dev/null
echo "-- wisp exited with status $?"

echo
echo "== 2. the same guest through the REST API =="
sock="$work/wisp.sock"
build/wisp --api-sock "$sock" --id demo-vm --boot-timer </dev/null >"$work/console.txt" 2>"$work/log.txt" &
pid=$!
for _ in $(seq 100); do [[ -S "$sock" ]] && break; sleep 0.02; done

call() {  # call VERB PATH [JSON]
  local verb=$1 path=$2 body=${3:-}
  echo "\$ curl --unix-socket $sock -X $verb http://localhost$path${body:+ -d '$body'}"
  if [[ -n "$body" ]]; then
    curl -sS --unix-socket "$sock" -X "$verb" "http://localhost$path" \
      -H 'Content-Type: application/json' -d "$body" -w '\n  -> HTTP %{http_code}\n'
  else
    curl -sS --unix-socket "$sock" -X "$verb" "http://localhost$path" -w '\n  -> HTTP %{http_code}\n'
  fi
}
call GET /version
call PUT /boot-source "{\"kernel_image_path\": \"$PWD/build/wisp-testguest\", \"boot_args\": \"wtest=ticker\"}"
call PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
call PUT /machine-config '{"vcpu_count": 0, "mem_size_mib": 128}'
call PUT /actions '{"action_type": "InstanceStart"}'
call GET /
sleep 0.5
call PATCH /vm '{"state": "Paused"}'
call GET /
call PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$work/vm.state\", \"mem_file_path\": \"$work/vm.mem\"}"
call PATCH /vm '{"state": "Resumed"}'
sleep 0.3
call PUT /actions '{"action_type": "SendCtrlAltDel"}'
wait "$pid" && status=0 || status=$?
echo "-- guest console:"
cat "$work/console.txt"
echo "-- wisp log:"
cat "$work/log.txt"
echo "-- wisp exited with status $status"

echo
echo "== 3. a new wisp process restores the snapshot =="
echo "\$ build/wisp --describe-snapshot $work/vm.state"
build/wisp --describe-snapshot "$work/vm.state"
echo "-- the memory file is sparse (allocated vs apparent size):"
du -h "$work/vm.mem"; du -h --apparent-size "$work/vm.mem"
sock="$work/wisp2.sock"
build/wisp --api-sock "$sock" --id demo-restored </dev/null >"$work/console2.txt" 2>"$work/log2.txt" &
pid=$!
for _ in $(seq 100); do [[ -S "$sock" ]] && break; sleep 0.02; done
call PUT /snapshot/load "{\"snapshot_path\": \"$work/vm.state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$work/vm.mem\"}, \"resume_vm\": true}"
call GET /
sleep 0.5
call PUT /actions '{"action_type": "SendCtrlAltDel"}'
wait "$pid" && status=0 || status=$?
echo "-- guest console after the restore (the TICK count continues from the snapshot):"
cat "$work/console2.txt"
echo "-- wisp log:"
cat "$work/log2.txt"
echo "-- wisp exited with status $status"
