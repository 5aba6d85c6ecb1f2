#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# wisp's integration scenarios under the jailer's seccomp allow-list: each
# given it_test_* program runs with a WISP_BUILD_DIR whose `wisp` is wrapped
# in jail-filter-exec (the jailer's filter, no jail), so every path those
# tests take — boot from the API and from --config-file, drives, tap,
# snapshot create/load (File and Uffd), balloon, vsock, Async drives,
# logger and metrics — runs under the list from wisp's first instruction. A
# call missing from the list kills wisp (SIGSYS) and the scenario fails; the
# kernel's audit line for it is printed.
#
#   test_jailer_filter_scenarios.sh <build dir> <it_test name>...
#
# Exit: 0 all passed, 1 a scenario failed, 77 skipped (no /dev/kvm).
set -u
BUILD=$(readlink -f "$1")
shift
FILTER_EXEC=$BUILD/tests/integration/jailer/jail-filter-exec
[ -x "$BUILD/wisp" ] && [ -x "$FILTER_EXEC" ] || { echo "FAIL: wisp or jail-filter-exec not built"; exit 1; }
[ -r /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 77; }

DIR=$(mktemp -d /tmp/wisp-jailfilter.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
for f in "$BUILD"/*; do
	[ "$(basename "$f")" = wisp ] || ln -s "$f" "$DIR/$(basename "$f")"
done
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$FILTER_EXEC" "$BUILD/wisp" > "$DIR/wisp"
chmod +x "$DIR/wisp"

fails=0
for t in "$@"; do
	prog=$BUILD/tests/integration/it_test_$t
	[ -x "$prog" ] || { echo "FAIL - $t: $prog not built"; fails=$((fails + 1)); continue; }
	since=$(date '+%Y-%m-%d %H:%M:%S')
	if WISP_BUILD_DIR=$DIR "$prog" > "$DIR/$t.log" 2>&1; then
		echo "ok   - $t under the jailer's filter: $(grep -E '^[0-9]+%' "$DIR/$t.log")"
	else
		fails=$((fails + 1))
		echo "FAIL - $t under the jailer's filter:"
		tail -n 30 "$DIR/$t.log"
		dmesg --since "$since" 2>/dev/null | grep 'type=1326' | grep 'comm="wisp"' | tail -n 5
	fi
done
[ "$fails" = 0 ]
