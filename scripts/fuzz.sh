#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang into build-fuzz/ and runs each one for a
# bounded time, starting from the seed corpus in tests/fuzz/corpus/. New inputs go to
# build-fuzz/corpus/ (never into the repository); a crash is saved in build-fuzz/crashes/ and
# makes this script fail.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (default: $FUZZ_SECONDS, else 60)
#   scripts/fuzz.sh 600 proxy_header         (only the targets named)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-${FUZZ_SECONDS:-60}}"
shift || true
TARGETS=("$@")
if [ "${#TARGETS[@]}" -eq 0 ]; then
    TARGETS=(command data_reader proxy_header dovecot_reply)
fi
BUILD_DIR="${FUZZ_BUILD_DIR:-build-fuzz}"

echo "== fuzz: build (clang, libFuzzer, ASan + UBSan) in $BUILD_DIR"
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMAILGATE_FUZZ=ON >/dev/null
cmake --build "$BUILD_DIR"

# The longest input worth trying per target: a command line, a message, a PROXY header, a
# Dovecot handshake and reply.
declare -A MAX_LEN=([command]=2048 [data_reader]=4096 [proxy_header]=1024 [dovecot_reply]=2048)

mkdir -p "$BUILD_DIR/crashes"
for target in "${TARGETS[@]}"; do
    corpus="$BUILD_DIR/corpus/$target"
    log="$BUILD_DIR/fuzz-$target.log"
    mkdir -p "$corpus"
    echo "== fuzz: $target for ${SECONDS_EACH}s (log: $log)"
    if ! "$BUILD_DIR/bin/fuzz_$target" -max_total_time="$SECONDS_EACH" -timeout=10 \
        -rss_limit_mb=2048 -max_len="${MAX_LEN[$target]:-4096}" -print_final_stats=1 \
        -artifact_prefix="$BUILD_DIR/crashes/$target-" "$corpus" "tests/fuzz/corpus/$target" \
        >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz: $target FAILED; the input is in $BUILD_DIR/crashes/" >&2
        exit 1
    fi
    grep -E "^stat::number_of_executed_units|^Done" "$log" || tail -n 3 "$log"
done
echo "fuzz: all targets ran ${SECONDS_EACH}s without a failure"
