#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite — the command README.md and .ci/run use.
#   1. installs the Debian packages (scripts/setup.sh)
#   2. checks formatting (clang-format, .clang-format at the root)
#   3. Release build with warnings as errors, full ctest
#   4. the image-decoder fuzzer (clang libFuzzer + ASan/UBSan) for a bounded time (IVL_FUZZ_SECONDS, 60)
#   5. AddressSanitizer + UndefinedBehaviorSanitizer build, full ctest (its summary closes the log)
# Fixture tests need ../shared/fixtures (or $INTERNVL_FIXTURES) and fail when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

bash scripts/setup.sh

echo "== format check"
git ls-files '*.h' '*.cc' | xargs clang-format --dry-run --Werror

echo "== release build (-Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DIVL_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")

echo "== image decoder fuzzing (${IVL_FUZZ_SECONDS:-60} s)"
bash fuzz/run_fuzz.sh "${IVL_FUZZ_SECONDS:-60}"

echo "== sanitizer build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIVL_SANITIZE=ON -DIVL_WERROR=ON -DIVL_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j"$jobs")

