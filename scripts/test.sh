#!/usr/bin/env bash
# Builds tinycompress and runs the whole test suite: a Release build with
# warnings as errors, then the suite again built with AddressSanitizer and
# UndefinedBehaviorSanitizer (TC_SANITIZERS=0 skips that pass; it adds about
# ten minutes of building on two cores). Installs missing packages first.
# The tests read the fixtures in ../shared (beside the repository).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}

bash scripts/setup.sh

echo "== Release build (warnings are errors) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTC_WERROR=ON >/dev/null
cmake --build build -j"$JOBS"
ctest --test-dir build --output-on-failure -j"$JOBS"

if [ "${TC_SANITIZERS:-1}" = "1" ]; then
  echo "== ASan + UBSan build =="
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTC_WERROR=ON -DTC_SANITIZE=ON \
    -DTC_BUILD_BENCH=OFF >/dev/null
  cmake --build build-asan -j"$JOBS"
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$JOBS"
fi
