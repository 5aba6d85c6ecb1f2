#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# scripts/fuzz.sh — build the libFuzzer targets (clang, ASan+UBSan) and run
# each one for a given time over its seed corpus, then print a table:
# target, seconds, runs, coverage (libFuzzer's final "cov:"), features,
# corpus size and crashes.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]     (default 60 s, all)
#
# Environment:
#   WISP_FUZZ_BUILD  build directory (default build-fuzz)
#   WISP_FUZZ_NICE   nice level for the runs (default 10)
#   WISP_FUZZ_CPU=1  count the seconds as the fuzzer's own CPU time (user +
#                    sys, from /proc) instead of wall-clock time, so a target
#                    gets its full CPU budget however busy the machine is
#                    (and may be paused with SIGSTOP meanwhile); the table
#                    then shows both
#
# New inputs go to <build>/fuzz-campaign/<target>/corpus (kept between
# runs, so campaigns add up); the checked-in seeds in tests/fuzz/corpus/ are
# only read. A crash (or timeout, leak, OOM) leaves its input as
# <build>/fuzz-campaign/<target>/crash-* (timeout-*, ...) and the target is
# started again for the rest of its time; the table counts them and the
# script exits 1 if there was any. A timeout input that runs at once when
# tried again (the unit only waited: a stopped or starved fuzzer) is not a
# finding: it is renamed stall-* and not counted.
set -euo pipefail

SECS=${1:-60}
shift || true
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${WISP_FUZZ_BUILD:-build-fuzz}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
NICE=${WISP_FUZZ_NICE:-10}
CPUMODE=${WISP_FUZZ_CPU:-0}
TICK=$(getconf CLK_TCK)

# CPU seconds (user + sys) used so far by process $1, 0 once it is gone.
cpu_secs() {
	local f
	f=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	f=${f##*) }
	set -- $f
	echo $(( (${12} + ${13}) / TICK ))
}

if ! [[ $SECS =~ ^[0-9]+$ ]] || [ "$SECS" -lt 1 ]; then
	echo "usage: $0 [seconds-per-target] [target...]" >&2
	exit 2
fi

# max_len per target (the same as the ctest smoke runs in tests/fuzz/CMakeLists.txt).
max_len() {
	case $1 in
	boot_loaders|seccomp_json|wset) echo 65536 ;;
	seccomp_bpfmap) echo 110000 ;;
	virtio_net) echo 16384 ;;
	virtq_blk) echo 8192 ;;
	*) echo 4096 ;;
	esac
}

if [ $# -gt 0 ]; then
	TARGETS=("$@")
else
	TARGETS=()
	for f in "$ROOT"/tests/fuzz/fuzz_*.c; do
		t=$(basename "$f" .c)
		TARGETS+=("${t#fuzz_}")
	done
fi

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_C_COMPILER=clang -DWISP_SANITIZE=ON \
	      -DCMAKE_BUILD_TYPE=Debug >/dev/null
fi
if ! grep -q '^CMAKE_C_COMPILER_ID:.*Clang\|^CMAKE_C_COMPILER:.*clang' "$BUILD/CMakeCache.txt"; then
	echo "$BUILD is not a clang build (libFuzzer needs clang)" >&2
	exit 2
fi
BINS=()
for t in "${TARGETS[@]}"; do BINS+=("fuzz_$t"); done
cmake --build "$BUILD" -j2 --target "${BINS[@]}" >/dev/null

OUT=$BUILD/fuzz-campaign
mkdir -p "$OUT"
SUMMARY=$OUT/summary-$(date -u +%Y%m%dT%H%M%SZ).txt
total_crashes=0
rows=()

for t in "${TARGETS[@]}"; do
	bin=$BUILD/tests/fuzz/fuzz_$t
	seeds=$ROOT/tests/fuzz/corpus/$t
	dir=$OUT/$t
	mkdir -p "$dir/corpus"
	[ -d "$seeds" ] || { echo "no seed corpus $seeds" >&2; exit 2; }
	log=$dir/last.log
	: >"$log"
	before=$(find "$dir" -maxdepth 1 \( -name 'crash-*' -o -name 'timeout-*' -o -name 'leak-*' \
		-o -name 'oom-*' \) | wc -l)
	start=$(date +%s)
	touch -d @$((start - 1)) "$dir/.started"   # older than anything this run writes
	cpu=0
	runs=0 cov=0 ft=0 restarts=0
	echo "== fuzz_$t: ${SECS}s$([ "$CPUMODE" = 1 ] && echo ' of CPU')" >&2
	while :; do
		if [ "$CPUMODE" = 1 ]; then
			left=$((SECS - cpu))
			limit=0 # no wall-clock limit: stopped below by CPU time
		else
			left=$((SECS - ($(date +%s) - start)))
			limit=$left
		fi
		[ $left -ge 1 ] || break
		part=$dir/part.log
		set +e
		(cd "$dir" && exec nice -n "$NICE" "$bin" -max_total_time=$limit -max_len="$(max_len "$t")" \
			-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix="$dir/" "$dir/corpus" "$seeds") >"$part" 2>&1 &
		pid=$!
		used=0
		if [ "$CPUMODE" = 1 ]; then
			while kill -0 "$pid" 2>/dev/null; do
				sleep 2
				now=$(cpu_secs "$pid")
				[ "$now" -gt "$used" ] && used=$now
				# SIGINT: libFuzzer prints its final stats and exits 72
				[ "$used" -ge "$left" ] && kill -INT "$pid" 2>/dev/null
			done
		fi
		wait "$pid"
		rc=$?
		set -e
		cpu=$((cpu + used))
		[ "$CPUMODE" = 1 ] && [ $rc -eq 72 ] && [ "$used" -ge "$left" ] && rc=0
		# A timeout is a finding only if the input hangs again: a unit that
		# merely waited (the fuzzer stopped with SIGSTOP, or starved on a
		# busy machine: libFuzzer's -timeout is wall-clock time) runs at
		# once and is kept as stall-* instead.
		for f in "$dir"/timeout-*; do
			[ -e "$f" ] && [ "$f" -nt "$dir/.started" ] || continue
			if timeout 60 "$bin" -timeout=10 "$f" >/dev/null 2>&1; then
				mv "$f" "$dir/stall-${f##*/timeout-}"
				echo "fuzz_$t: ${f##*/} ran at once when tried again: a stall, kept as stall-*" >&2
			fi
		done
		cat "$part" >>"$log"
		n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$part" | tail -1)
		runs=$((runs + ${n:-0}))
		c=$(grep -o 'cov: [0-9]*' "$part" | tail -1 | cut -d' ' -f2)
		f=$(grep -o 'ft: [0-9]*' "$part" | tail -1 | cut -d' ' -f2)
		[ -n "$c" ] && [ "$c" -gt "$cov" ] && cov=$c
		[ -n "$f" ] && [ "$f" -gt "$ft" ] && ft=$f
		[ $rc -eq 0 ] && break
		restarts=$((restarts + 1))
		if [ $restarts -ge 20 ]; then
			echo "fuzz_$t: 20 failures, giving up (see $log)" >&2
			break
		fi
	done
	rm -f "$dir/part.log"
	after=$(find "$dir" -maxdepth 1 \( -name 'crash-*' -o -name 'timeout-*' -o -name 'leak-*' \
		-o -name 'oom-*' \) | wc -l)
	crashes=$((after - before))
	total_crashes=$((total_crashes + crashes))
	corpus=$(find "$dir/corpus" -type f | wc -l)
	rows+=("$(printf '%-18s %8s %8s %12s %8s %8s %8s %8s' "fuzz_$t" "$(($(date +%s) - start))" \
		"$([ "$CPUMODE" = 1 ] && echo "$cpu" || echo -)" "$runs" "$cov" "$ft" "$corpus" "$crashes")")
done

{
	echo "fuzz campaign $(date -u +%Y-%m-%dT%H:%M:%SZ), ${SECS}s$([ "$CPUMODE" = 1 ] && echo ' of CPU') per target, $BUILD"
	printf '%-18s %8s %8s %12s %8s %8s %8s %8s\n' target seconds cpu-s runs cov ft corpus crashes
	for r in "${rows[@]}"; do echo "$r"; done
} | tee "$SUMMARY"
if [ $total_crashes -gt 0 ]; then
	echo "crash inputs: $OUT/<target>/crash-* (and timeout-*, leak-*, oom-*)"
	exit 1
fi
