#!/usr/bin/env bash
# Runs the fault-injection harness outside the test suite: a fresh cluster
# per run (3 nodes, each in its own network namespace when run as root,
# else on loopback without partitions), four workloads (registers with
# compare-and-set, counters, sets, list-append) through real RESP clients
# while the nemesis injects faults, then the linearizability checker and
# the lost/duplicate/order checks. See integration/src/nemesis.rs.
#
# Prints one row per run and, as its last line,
#   runs R, ops N, faults F, acked A, lost L, violations V
# and exits non-zero when L or V is not 0 (1), or the harness failed (2).
#
# Usage: scripts/nemesis.sh [--faults kill,pause,partition,disk,transfer|all]
#                           [--minutes N] [--run-seconds S] [--nodes 3|5]
#                           [--clients C] [--seed HEX] [--unsafe-stale-reads]
#   --faults       fault kinds (default kill,pause,partition)
#   --minutes      total time (default 1); runs = minutes*60/run-seconds
#   --run-seconds  load and faults per run (default 60), plus setup and checks
#   --unsafe-stale-reads  start nodes with the test-only switch that serves
#                  stale reads: the run must then report violations
# Environment: REDRAFT_BIN (default: target/release/redraft, built here).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
fi
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
if [[ -z ${REDRAFT_BIN:-} ]]; then
    cargo build --release --bin redraft --quiet
    export REDRAFT_BIN="$TARGET/release/redraft"
fi
cargo build --release --workspace --bin nemesis --quiet
exec "$TARGET/release/nemesis" "$@"
