#!/usr/bin/env bash
# Runs every test: format check, the normal build's unit and integration tests, then the same
# suite again under AddressSanitizer and UndefinedBehaviorSanitizer; a smoke run of the benchmark
# and a short run of each fuzzer in between.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="$(nproc)"

echo "== clang-format check"
git ls-files '*.cpp' '*.hpp' '*.h' '*.c' | xargs clang-format --dry-run --Werror

echo "== build (RelWithDebInfo)"
scripts/build.sh build
echo "== tests (RelWithDebInfo)"
ctest --test-dir build --output-on-failure -j "$JOBS"
echo "== benchmark smoke run (checks the benchmark works; speed is not judged here)"
/usr/bin/python3 bench/run.py --smoke --build-dir build --json "$(mktemp -d)/smoke.json"

echo "== fuzzing (libFuzzer, a short bounded run of each target; scripts/fuzz.sh for longer)"
scripts/fuzz.sh "${FUZZ_SECONDS:-20}"

if [ "${MAILGATE_SKIP_SANITIZERS:-0}" != "1" ]; then
    echo "== build (ASan + UBSan)"
    BUILD_TYPE=Debug scripts/build.sh build-asan -DMAILGATE_SANITIZE=ON
    echo "== tests (ASan + UBSan)"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir build-asan --output-on-failure -j "$JOBS"
fi
