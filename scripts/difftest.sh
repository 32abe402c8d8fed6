#!/usr/bin/env bash
# Differential test: random sequences of string, key, hash, set, list and sorted-set commands,
# DUMP/RESTORE, transactions (MULTI/EXEC/DISCARD/WATCH/UNWATCH) and blocking pops sent to
# redraft and to a reference redis-server (cluster mode), replies compared exactly.
# See integration/python/difftest.py (DEVIATIONS lists what is compared loosely).
#
# Sequences run on RESP2 or RESP3 (about a third, chosen by seed).
#
# Usage: scripts/difftest.sh [--seconds N] [--seed S] [--length L] [--sequences K]
#   --seconds N    run for N seconds (default 30)
#   --seed S       first sequence seed (default random; printed, so a failure can be rerun)
#   --length L     commands per sequence (default 100)
#   --sequences K  stop after K sequences
#   --detail D     print the first D mismatching sequences in full (default 3)
#   --self-check   compare two redis-servers instead: checks the generator is sound
# Needs redis-server and the Python packages (scripts/test.sh installs both).
# Environment: REDRAFT_BIN (default: target/release/redraft, built with cargo).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
fi
if [[ -z ${REDRAFT_BIN:-} ]]; then
    (cd "$ROOT" && cargo build --release --bin redraft --quiet)
    export REDRAFT_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/redraft"
fi
exec python3 "$ROOT/integration/python/difftest.py" "$@"
