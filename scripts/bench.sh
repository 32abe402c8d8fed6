#!/usr/bin/env bash
# Benchmarks redraft against redis-server with the same redis-benchmark
# workload, and prints ops/s, p99 latency and redraft/redis ratios.
#
# Servers, each on a free loopback port in its own temporary folder, run one
# at a time (the benchmark client shares the machine's cores with them):
#   redraft          release build, every write fsynced through Raft
#   redis (no AOF)   --appendonly no --save ''                    (memory only)
#   redis (fsync)    --appendonly yes --appendfsync always --save ''  (fsync per write)
# Workload: redis-benchmark -t set,get -c 50 -n N -r 100000 -d 100, at -P 1 and -P 16.
# The headline ratios: GET against redis without AOF (reads cost the same
# everywhere), SET against redis with appendfsync always (durable writes).
#
# Usage: scripts/bench.sh [-n REQUESTS] [--engine fjall|sled|memory]
#   -n N        requests per test (default 100000)
#   --engine E  redraft's storage engine (default: redraft's default)
# Environment: REDRAFT_BIN (default: target/release/redraft, built with cargo).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQUESTS=100000
ENGINE=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        -n) REQUESTS="$2"; shift ;;
        --engine) ENGINE="$2"; shift ;;
        --engine=*) ENGINE="${1#--engine=}" ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[[ $REQUESTS =~ ^[0-9]+$ ]] || { echo "bench.sh: -n wants a number" >&2; exit 2; }
for tool in redis-server redis-benchmark redis-cli; do
    command -v "$tool" >/dev/null || {
        echo "bench.sh: $tool missing (apt-get install redis-server redis-tools)" >&2
        exit 1
    }
done

HOST=127.0.0.1
PIPELINES=(1 16)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/redraft-bench.XXXXXX")"
PID=""

cleanup() {
    if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        local deadline=$((SECONDS + 10))
        while kill -0 "$PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -n ${REDRAFT_BIN:-} ]]; then
    BIN="$REDRAFT_BIN"
else
    echo "building redraft (cargo build --release)..."
    (cd "$ROOT" && cargo build --release --bin redraft --quiet)
    BIN="$ROOT/target/release/redraft"
fi

free_port() {
    local port
    for _ in $(seq 100); do
        port=$((20000 + RANDOM % 30000))
        # Connection refused on the port and on its cluster-bus port: free.
        if ! (exec 3<>"/dev/tcp/$HOST/$port") 2>/dev/null &&
            ! (exec 3<>"/dev/tcp/$HOST/$((port + 10000))") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    echo "bench.sh: no free port" >&2
    exit 1
}

wait_for_pong() {
    local port=$1 deadline=$((SECONDS + 60))
    until [[ "$(redis-cli -h "$HOST" -p "$port" ping 2>/dev/null || true)" == PONG ]]; do
        kill -0 "$PID" 2>/dev/null || { echo "bench.sh: server exited at start" >&2; return 1; }
        ((SECONDS < deadline)) || { echo "bench.sh: no PONG within 60s" >&2; return 1; }
        sleep 0.1
    done
}

stop_server() {
    kill -TERM "$PID"
    local deadline=$((SECONDS + 15))
    while kill -0 "$PID" 2>/dev/null; do
        if ((SECONDS >= deadline)); then kill -KILL "$PID" 2>/dev/null || true; fi
        sleep 0.1
    done
    wait "$PID" 2>/dev/null || true
    PID=""
}

declare -A RPS P99

# bench NAME CMD...: starts the server command (with PORT and DIR set),
# runs the workload at every pipeline depth, stops it.
bench() {
    local name=$1
    shift
    local dir="$WORK/$name" port
    port="$(free_port)"
    mkdir -p "$dir"
    local argv=()
    for a in "$@"; do argv+=("${a//@PORT@/$port}"); done
    argv=("${argv[@]//@DIR@/$dir}")
    "${argv[@]}" >"$dir/server.log" 2>&1 &
    PID=$!
    wait_for_pong "$port" || { tail -n 20 "$dir/server.log" >&2; exit 1; }
    for p in "${PIPELINES[@]}"; do
        echo "--- $name, -P $p"
        local csv="$dir/P$p.csv"
        redis-benchmark -h "$HOST" -p "$port" -t set,get -c 50 -n "$REQUESTS" -r 100000 \
            -d 100 -P "$p" --csv >"$csv" 2>"$dir/bench.err" || {
            cat "$dir/bench.err" >&2
            exit 1
        }
        cat "$csv"
        # Columns are found by their names in the header (test, rps, p99_latency_ms).
        while IFS=$'\t' read -r test rps p99; do
            RPS["$name,$test,$p"]=$rps
            P99["$name,$test,$p"]=$p99
        done < <(awk -F, '
            { gsub(/"/, "") }
            NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
            { print $col["test"] "\t" $col["rps"] "\t" (col["p99_latency_ms"] ? $col["p99_latency_ms"] : "?") }
        ' "$csv")
    done
    stop_server
}

redraft_args=(--bind "$HOST" --port @PORT@ --dir @DIR@/data --log warn)
[[ -n $ENGINE ]] && redraft_args+=(--engine "$ENGINE")
echo "redraft: $BIN ${ENGINE:+(engine $ENGINE)}; $(redis-server --version | cut -d' ' -f1-3)"
echo "workload: -t set,get -c 50 -n $REQUESTS -r 100000 -d 100, -P ${PIPELINES[*]}; $(nproc) cores shared by client and server"

bench redraft "$BIN" "${redraft_args[@]}"
bench redis-noaof redis-server --bind "$HOST" --port @PORT@ --dir @DIR@ --save '' --appendonly no
bench redis-fsync redis-server --bind "$HOST" --port @PORT@ --dir @DIR@ --save '' \
    --appendonly yes --appendfsync always

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}

echo
printf '%-10s | %12s %8s | %12s %8s %6s | %12s %8s %6s\n' \
    "" "redraft" "" "redis no-AOF" "" "" "redis fsync" "" ""
printf '%-10s | %12s %8s | %12s %8s %6s | %12s %8s %6s\n' \
    workload "ops/s" "p99 ms" "ops/s" "p99 ms" ratio "ops/s" "p99 ms" ratio
printf -- '-%.0s' $(seq 96)
echo
for p in "${PIPELINES[@]}"; do
    for test in SET GET; do
        key="$test,$p"
        printf '%-10s | %12s %8s | %12s %8s %6s | %12s %8s %6s\n' "$test -P $p" \
            "${RPS[redraft,$key]:-?}" "${P99[redraft,$key]:-?}" \
            "${RPS[redis-noaof,$key]:-?}" "${P99[redis-noaof,$key]:-?}" \
            "$(ratio "${RPS[redraft,$key]:-0}" "${RPS[redis-noaof,$key]:-0}")" \
            "${RPS[redis-fsync,$key]:-?}" "${P99[redis-fsync,$key]:-?}" \
            "$(ratio "${RPS[redraft,$key]:-0}" "${RPS[redis-fsync,$key]:-0}")"
    done
done
echo
echo "ratio = redraft ops/s / redis ops/s. Headline:"
for p in "${PIPELINES[@]}"; do
    echo "  -P $p: GET vs redis no-AOF $(ratio "${RPS[redraft,GET,$p]:-0}" "${RPS[redis-noaof,GET,$p]:-0}"), SET vs redis appendfsync always $(ratio "${RPS[redraft,SET,$p]:-0}" "${RPS[redis-fsync,SET,$p]:-0}")"
done
