#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# run-qemu.sh GUEST SCENARIO [extra qemu args...]
#
# Boots the wisp test guest under qemu-system-x86_64 -M microvm (PVH entry)
# with a timeout, prints the console, and exits 0 iff the line
# "WTEST SCENARIO PASS" appeared. Handles the interactive scenarios:
#   irq     writes one byte ("Z") to the guest's serial input after the
#           guest prints WTEST-WAIT-INPUT;
#   ticker  adds an i8042 and, after 3 TICK lines, sends Ctrl-Alt-Del
#           through the QEMU monitor (sendkey ctrl-alt-delete);
#   snap    writes "x" after "SNAP 2", then the command byte "V" once the
#           echo "Ex" came back.
#   acpi    boots with ACPI on (-M microvm,acpi=on); with wtest.wait=1 in
#           WTEST_ARGS, once the guest waits for commands: system_powerdown
#           through the monitor (QEMU signals it through the GED's
#           interrupt), "G" after "ACPI: ged interrupt 1", "Q" after the
#           "VMGENID ..." line.
#
# Environment:
#   WTEST_ARGS     extra guest command-line words (e.g. "wtest.stride=8")
#   WTEST_TIMEOUT  seconds before the guest is killed (default 60)
#   WTEST_MEM      guest RAM in MiB (default 128)
#   WTEST_SMP      vCPUs (default 1)
#   WTEST_ACPI     on: -M microvm,acpi=on for any scenario (QEMU then puts no
#                  virtio_mmio.device words on the command line; the guest
#                  takes its devices from the DSDT). Always on for acpi.
#   QEMU           QEMU binary (default qemu-system-x86_64)
# Exit status: 0 pass, 1 fail/no result, 2 usage, 77 no /dev/kvm (skip).
set -u

if [ $# -lt 2 ]; then
	echo "usage: $0 GUEST SCENARIO [extra qemu args...]" >&2
	exit 2
fi
guest=$1
scen=$2
shift 2
qemu=${QEMU:-qemu-system-x86_64}
timeout_s=${WTEST_TIMEOUT:-60}

if [ ! -r "$guest" ]; then
	echo "run-qemu.sh: guest image '$guest' not readable" >&2
	exit 2
fi
if ! command -v "$qemu" >/dev/null; then
	echo "run-qemu.sh: $qemu not found" >&2
	exit 2
fi
if [ ! -w /dev/kvm ]; then
	echo "run-qemu.sh: /dev/kvm not usable, skipping" >&2
	exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkfifo "$tmp/in" "$tmp/mon.in" "$tmp/mon.out"
# Held open read-write so that neither side ever blocks on open().
exec 3<>"$tmp/in" 4<>"$tmp/mon.in" 5<>"$tmp/mon.out"

extra=()
cmdline="wtest=$scen"
[ -n "${WTEST_ARGS:-}" ] && cmdline="$cmdline $WTEST_ARGS"
if [ "$scen" = ticker ]; then
	extra+=(-device i8042)
fi
acpi=${WTEST_ACPI:-off}
[ "$scen" = acpi ] && acpi=on

"$qemu" -M "microvm,acpi=$acpi" -enable-kvm -m "${WTEST_MEM:-128}" -smp "${WTEST_SMP:-1}" \
	-nodefaults -no-user-config -nographic -no-reboot \
	-serial stdio -monitor "pipe:$tmp/mon" \
	-kernel "$guest" -append "$cmdline" \
	"${extra[@]}" "$@" <&3 >"$tmp/out" 2>"$tmp/err" &
pid=$!

sent_input=0
sent_cad=0
start=$SECONDS
while kill -0 "$pid" 2>/dev/null; do
	if [ "$scen" = irq ] && [ $sent_input = 0 ] && grep -q WTEST-WAIT-INPUT "$tmp/out"; then
		printf 'Z' >&3
		sent_input=1
	fi
	if [ "$scen" = snap ] && [ $sent_input = 0 ] && tr -d '\r' 2>/dev/null <"$tmp/out" | grep -qx 'SNAP 2'; then
		printf 'x' >&3
		sent_input=1
	fi
	if [ "$scen" = snap ] && [ $sent_input = 1 ] && tr -d '\r' 2>/dev/null <"$tmp/out" | grep -qx 'Ex'; then
		printf 'V' >&3
		sent_input=2
	fi
	if [ "$scen" = acpi ] && [ $sent_input = 0 ] && grep -q '^ACPI: waiting for commands' "$tmp/out"; then
		printf 'system_powerdown\n' >&4
		sent_input=1
	fi
	if [ "$scen" = acpi ] && [ $sent_input = 1 ] && tr -d '\r' 2>/dev/null <"$tmp/out" | grep -qx 'ACPI: ged interrupt 1'; then
		printf 'G' >&3
		sent_input=2
	fi
	if [ "$scen" = acpi ] && [ $sent_input = 2 ] && grep -q '^VMGENID ' "$tmp/out"; then
		printf 'Q' >&3
		sent_input=3
	fi
	if [ "$scen" = ticker ] && [ $sent_cad = 0 ] && [ "$(grep -c '^TICK ' "$tmp/out")" -ge 3 ]; then
		printf 'sendkey ctrl-alt-delete\n' >&4
		sent_cad=1
	fi
	if [ $((SECONDS - start)) -ge "$timeout_s" ]; then
		echo "run-qemu.sh: timeout after ${timeout_s}s, killing QEMU" >&2
		kill "$pid" 2>/dev/null
		break
	fi
	sleep 0.05
done
wait "$pid" 2>/dev/null
rc=$?
exec 3>&- 4>&- 5>&-

tr -d '\r' <"$tmp/out"
grep -v 'host doesn.t support requested feature' "$tmp/err" >&2
echo "run-qemu.sh: qemu exit status $rc" >&2
if tr -d '\r' <"$tmp/out" | grep -qx "WTEST $scen PASS"; then
	exit 0
fi
exit 1
