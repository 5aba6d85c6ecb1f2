#!/usr/bin/env bash
# Build everything and run the whole test suite:
#   1. gcc build (static wisp, -Werror): unit, integration, guest and Linux tests
#   2. clang build with ASan/UBSan (-Werror): unit and integration tests
# Ends with ctest's summary line of the full suite.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc)

scripts/install-deps.sh

echo "== configure and build (clang, ASan/UBSan) ==" >&2
cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DWISP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$JOBS"

echo "== configure and build (gcc, static) ==" >&2
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS"

if [[ -x tools/linux-guest/build.sh ]]; then
  echo "== Linux guest artifacts (cached by input hash) ==" >&2
  tools/linux-guest/build.sh >&2
fi

echo "== tests under ASan/UBSan (unit, integration) ==" >&2
(cd build-asan && ctest --output-on-failure -j1 -L 'unit|integration|fuzz')

echo "== full suite ==" >&2
cd build && ctest --output-on-failure -j1
