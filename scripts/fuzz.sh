#!/usr/bin/env bash
# Longer fuzzing than the test suite's bounded runs.
#
# With a nightly toolchain and cargo-fuzz (installed here when missing), runs
# the libFuzzer targets of fuzz/ for N seconds each:
#   resp_decode    the RESP request decoder (seeded with resp/tests/corpus/malformed)
#   command_args   argument parsing and execution of every command, through dispatch
# and prints libFuzzer's executions and coverage. The working corpus grows in
# fuzz/corpus/<target>; a crash leaves its input in fuzz/artifacts/<target>/
# (reproduce with `cargo +nightly fuzz run <target> <file>`).
#
# Without nightly (or with --stable), runs the suite's coverage-less fuzz
# tests instead, with more cases and fresh seeds, until the time is up:
# resp/tests/decode_fuzz.rs (PROPTEST_CASES) and tests/dispatch_fuzz.rs
# (REDRAFT_FUZZ_SEED).
#
# Usage: scripts/fuzz.sh [--seconds N] [--target NAME] [--stable]
#   --seconds N    time per target (default 60; the stable fallback finishes its round)
#   --target NAME  only this target (resp_decode or command_args)
#   --stable       use the stable fallback even if nightly is there
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECONDS_PER_TARGET=60
TARGETS=(resp_decode command_args)
STABLE=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) SECONDS_PER_TARGET="$2"; shift 2 ;;
        --target) TARGETS=("$2"); shift 2 ;;
        --stable) STABLE=1; shift ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || [[ "$SECONDS_PER_TARGET" -lt 1 ]]; then
    echo "--seconds wants a positive integer" >&2
    exit 2
fi

have_nightly() {
    rustup toolchain list 2>/dev/null | grep -q '^nightly'
}

run_libfuzzer() {
    if ! cargo fuzz --version >/dev/null 2>&1; then
        echo ">>> installing cargo-fuzz"
        cargo install cargo-fuzz
    fi
    local status=0
    for target in "${TARGETS[@]}"; do
        local seeds=()
        if [[ "$target" == resp_decode ]]; then
            seeds=(resp/tests/corpus/malformed)
        fi
        mkdir -p "fuzz/corpus/$target"
        local log
        log=$(mktemp)
        echo ">>> cargo fuzz run $target for ${SECONDS_PER_TARGET}s"
        # New inputs go to the first folder; the seed folder stays as
        # checked in. -timeout: a single input running 20 s is a hang.
        if cargo +nightly fuzz run "$target" "fuzz/corpus/$target" "${seeds[@]}" -- \
            -max_total_time="$SECONDS_PER_TARGET" -timeout=20 -rss_limit_mb=4096 \
            -print_final_stats=1 >"$log" 2>&1; then
            echo "    ok"
        else
            status=1
            echo "    FAILED; the last lines of its output:"
            tail -n 40 "$log" | sed 's/^/    /'
        fi
        # The last status line (#N DONE cov: … ft: … corp: …) and the totals.
        grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1 | sed 's/^/    /' || true
        grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" \
            | sed 's/^/    /' || true
        rm -f "$log"
    done
    return "$status"
}

run_stable() {
    echo ">>> stable fallback: the suite's fuzz tests, more cases, fresh seeds"
    cargo build -q --tests -p redraft-resp -p redraft
    local deadline=$((SECONDS + SECONDS_PER_TARGET * ${#TARGETS[@]}))
    local rounds=0
    while [[ $SECONDS -lt $deadline ]]; do
        for target in "${TARGETS[@]}"; do
            case "$target" in
                resp_decode)
                    PROPTEST_CASES=20000 cargo test -q -p redraft-resp --test decode_fuzz ;;
                command_args)
                    REDRAFT_FUZZ_SEED=$RANDOM$RANDOM cargo test -q -p redraft --test dispatch_fuzz \
                        random_commands_never_panic -- --nocapture 2>&1 | grep -E '^seed|test result' ;;
                *) echo "unknown target $target" >&2; return 2 ;;
            esac
        done
        rounds=$((rounds + 1))
    done
    echo ">>> $rounds rounds without a failure"
}

if [[ "$STABLE" == 0 ]] && have_nightly; then
    run_libfuzzer
else
    [[ "$STABLE" == 1 ]] || echo "no nightly toolchain: cargo-fuzz needs one"
    run_stable
fi
