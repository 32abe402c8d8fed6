#!/usr/bin/env bash
# Benchmarks a 3-node redraft cluster against a Redis Cluster and a single
# redis-server with appendfsync always, with the same redis-benchmark
# workload, and prints ops/s, p99 latency, the ratios and the targets.
#
# Systems, all on loopback, each in its own temporary folder, run one after
# the other (the benchmark client shares the machine's cores with them):
#   redraft        3 nodes (raft ids 1-3, --peers), one shard per node, each
#                  shard a 3-replica Raft group: a SET is acknowledged once a
#                  quorum (2 of 3) has it fsynced. Benchmarked once every
#                  node reports cluster_state:ok and the shard leaders are
#                  spread (3 masters). redis-benchmark --cluster.
#   redis-cluster  3 masters + 3 replicas (redis-cli --cluster create
#                  --cluster-replicas 1), every node with the AOF setting of
#                  BENCH_RCLUSTER_FSYNC (default: appendonly yes, appendfsync
#                  always); replication to the replicas is asynchronous.
#                  redis-benchmark --cluster.
#   redis-fsync    one redis-server, appendonly yes, appendfsync always,
#                  save '' (an fsync per write batch). Plain redis-benchmark.
# Workload: redis-benchmark -t set,get -c 50 -d 100 -r 100000 -n N -P P --csv.
# Targets (issue 4; a benchmark, not a test):
#   durable SET    redraft >= 1.0x redis-fsync
#   GET            redraft >= 0.8x redis-cluster
#   p99            redraft < 10 ms at -c 50 (-P 1)
#
# Usage: scripts/bench.sh [-n REQUESTS] [-P PIPELINE[,PIPELINE...]]
#                         [--engine fjall|sled|memory] [--only SYSTEM[,...]]
#   -n N          requests per test (default 100000)
#   -P LIST       pipeline depths, comma-separated (default 1)
#   --engine E    redraft's storage engine (default: redraft's default)
#   --only LIST   systems to run: redraft,redis-cluster,redis-fsync (default all)
# Environment:
#   REDRAFT_BIN          binary (default: target/release/redraft, built with
#                        cargo first)
#   REDRAFT_ARGS         extra flags for every redraft node, e.g. "--expire-sweep-ms 0"
#   BENCH_HOST           loopback address        (default 127.0.0.1)
#   BENCH_REDRAFT_PORTS  3 client ports          (default "7401 7402 7403")
#   BENCH_RCLUSTER_PORTS 6 client ports          (default "7501 7502 7503 7504 7505 7506")
#   BENCH_FSYNC_PORT     1 client port           (default 7601)
#                        (cluster bus ports are client port + 10000; all must be free)
#   BENCH_RCLUSTER_FSYNC always|everysec|no      (default always; no = appendonly no)
#   BENCH_TIMEOUT        seconds per redis-benchmark run   (default 300)
#   START_TIMEOUT        seconds to wait for a system      (default 60)
#   BENCH_DIR            parent of the temporary folder    (default $TMPDIR or /tmp)
#   BENCH_KEEP=1         keep the temporary folder (logs) after the run
# Everything started is stopped on exit, failure and Ctrl-C.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQUESTS=100000
PIPELINES=(1)
ENGINE=""
SYSTEMS=(redraft redis-cluster redis-fsync)
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        -n) REQUESTS="${2:-}"; shift ;;
        -P) IFS=, read -r -a PIPELINES <<<"${2:-}"; shift ;;
        --engine) ENGINE="${2:-}"; shift ;;
        --engine=*) ENGINE="${1#--engine=}" ;;
        --only) IFS=, read -r -a SYSTEMS <<<"${2:-}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[[ $REQUESTS =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: -n wants a positive number" >&2; exit 2; }
((${#PIPELINES[@]} > 0)) || { echo "bench.sh: -P wants a number" >&2; exit 2; }
for p in "${PIPELINES[@]}"; do
    [[ $p =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: -P wants positive numbers, got '$p'" >&2; exit 2; }
done
for s in "${SYSTEMS[@]}"; do
    case "$s" in
        redraft|redis-cluster|redis-fsync) ;;
        *) echo "bench.sh: --only: unknown system '$s'" >&2; exit 2 ;;
    esac
done
for tool in redis-server redis-benchmark redis-cli timeout; do
    command -v "$tool" >/dev/null || {
        echo "bench.sh: $tool missing (apt-get install redis-server redis-tools)" >&2
        exit 1
    }
done

HOST="${BENCH_HOST:-127.0.0.1}"
read -r -a REDRAFT_PORTS <<<"${BENCH_REDRAFT_PORTS:-7401 7402 7403}"
read -r -a RCLUSTER_PORTS <<<"${BENCH_RCLUSTER_PORTS:-7501 7502 7503 7504 7505 7506}"
FSYNC_PORT="${BENCH_FSYNC_PORT:-7601}"
RCLUSTER_FSYNC="${BENCH_RCLUSTER_FSYNC:-always}"
BENCH_TIMEOUT="${BENCH_TIMEOUT:-300}"
START_TIMEOUT="${START_TIMEOUT:-60}"
((${#REDRAFT_PORTS[@]} == 3)) || { echo "bench.sh: BENCH_REDRAFT_PORTS wants 3 ports" >&2; exit 2; }
((${#RCLUSTER_PORTS[@]} == 6)) || { echo "bench.sh: BENCH_RCLUSTER_PORTS wants 6 ports" >&2; exit 2; }
case "$RCLUSTER_FSYNC" in
    always|everysec) RCLUSTER_PERSIST=(--appendonly yes --appendfsync "$RCLUSTER_FSYNC") ;;
    no) RCLUSTER_PERSIST=(--appendonly no) ;;
    *) echo "bench.sh: BENCH_RCLUSTER_FSYNC wants always, everysec or no" >&2; exit 2 ;;
esac

WORK="$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/redraft-bench.XXXXXX")"
PIDS=()        # servers started and not yet stopped
BENCH_PID=""   # the redis-benchmark (under timeout) in flight

# Stops the processes in "$@": SIGTERM, then SIGKILL after 15 s.
stop_pids() {
    local pid deadline
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    deadline=$((SECONDS + 15))
    for pid in "$@"; do
        while kill -0 "$pid" 2>/dev/null; do
            if ((SECONDS >= deadline)); then
                echo "bench.sh: pid $pid still running 15s after SIGTERM; SIGKILL" >&2
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.1
        done
        wait "$pid" 2>/dev/null || true
    done
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $BENCH_PID ]]; then stop_pids "$BENCH_PID"; fi
    if ((${#PIDS[@]} > 0)); then stop_pids "${PIDS[@]}"; fi
    # Kept after a failure (not after Ctrl-C or SIGTERM) for its logs.
    if [[ ${BENCH_KEEP:-0} == 1 ]] || ((rc != 0 && rc != 130 && rc != 143)); then
        echo "bench.sh: logs kept in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Every port in "$@" and its bus port (+10000) refuses connections.
check_ports_free() {
    local port
    for port in "$@"; do
        for p in "$port" "$((port + 10000))"; do
            if (exec 3<>"/dev/tcp/$HOST/$p") 2>/dev/null; then
                echo "bench.sh: port $HOST:$p is in use (set the BENCH_*_PORTS variables)" >&2
                exit 1
            fi
        done
    done
}

# Starts "$@" in the background with its output in $LOG_FILE; records the pid.
LOG_FILE=""
spawn() {
    "$@" >"$LOG_FILE" 2>&1 </dev/null &
    PIDS+=($!)
}

# Polls `redis-cli -p PORT ARGS...` until its reply contains PATTERN or the
# deadline passes; fails if any started server died.
wait_reply() {
    local port=$1 pattern=$2 what=$3
    shift 3
    local deadline=$((SECONDS + START_TIMEOUT)) reply pid
    while :; do
        reply="$(timeout 3 redis-cli -h "$HOST" -p "$port" "$@" 2>/dev/null || true)"
        [[ $reply == *$pattern* ]] && return 0
        for pid in "${PIDS[@]}"; do
            kill -0 "$pid" 2>/dev/null || {
                echo "bench.sh: a server (pid $pid) exited while waiting for $what on $port" >&2
                return 1
            }
        done
        if ((SECONDS >= deadline)); then
            echo "bench.sh: no $what on $HOST:$port within ${START_TIMEOUT}s" >&2
            return 1
        fi
        sleep 0.2
    done
}

# The number of distinct masters serving slots in CLUSTER NODES on $1.
masters_with_slots() {
    timeout 3 redis-cli -h "$HOST" -p "$1" cluster nodes 2>/dev/null |
        awk '$3 ~ /master/ && NF >= 9 { n++ } END { print n + 0 }'
}

declare -A RPS P99

# run_bench NAME PORT [--cluster]: the workload at every pipeline depth.
run_bench() {
    local name=$1 port=$2
    shift 2
    local p csv err rc
    for p in "${PIPELINES[@]}"; do
        csv="$WORK/$name/P$p.csv"
        err="$WORK/$name/P$p.err"
        echo "--- $name: redis-benchmark $* -t set,get -c 50 -d 100 -r 100000 -n $REQUESTS -P $p"
        timeout "$BENCH_TIMEOUT" redis-benchmark -h "$HOST" -p "$port" "$@" -t set,get \
            -c 50 -d 100 -r 100000 -n "$REQUESTS" -P "$p" --csv >"$csv" 2>"$err" </dev/null &
        BENCH_PID=$!
        rc=0
        wait "$BENCH_PID" || rc=$?
        BENCH_PID=""
        if ((rc != 0)); then
            ((rc == 124)) && echo "bench.sh: $name -P $p ran over BENCH_TIMEOUT=${BENCH_TIMEOUT}s" >&2
            cat "$csv" "$err" >&2
            return 1
        fi
        # The CSV starts at its header line ("test","rps",...); --cluster
        # prints the master list before it. Columns are found by name.
        awk '/^"test"/ { on = 1 } on' "$csv"
        if grep -qiE 'error|moved|clusterdown' "$err"; then
            echo "bench.sh: $name -P $p: redis-benchmark reported errors:" >&2
            head -n 5 "$err" >&2
        fi
        while IFS=$'\t' read -r test rps p99; do
            RPS["$name,$test,$p"]=$rps
            P99["$name,$test,$p"]=$p99
        done < <(awk -F, '
            { gsub(/"/, "") }
            $1 == "test" { for (i = 1; i <= NF; i++) col[$i] = i; on = 1; next }
            on && NF > 1 { print $col["test"] "\t" $col["rps"] "\t" (col["p99_latency_ms"] ? $col["p99_latency_ms"] : "?") }
        ' "$csv")
    done
}

bench_redraft() {
    local i port dir peers="" n deadline
    check_ports_free "${REDRAFT_PORTS[@]}"
    for i in 0 1 2; do peers+="${peers:+,}$((i + 1))=$HOST:${REDRAFT_PORTS[$i]}"; done
    local start=${#PIDS[@]}
    for i in 0 1 2; do
        port=${REDRAFT_PORTS[$i]}
        dir="$WORK/redraft/$port"
        mkdir -p "$dir"
        local args=(--bind "$HOST" --port "$port" --dir "$dir/data" --raft-id "$((i + 1))"
            --peers "$peers" --log warn)
        [[ -n $ENGINE ]] && args+=(--engine "$ENGINE")
        # shellcheck disable=SC2206 # split on purpose, as scripts/cluster.sh does
        args+=(${REDRAFT_ARGS:-})
        LOG_FILE="$dir/redraft.log"
        spawn "$BIN" "${args[@]}"
    done
    for port in "${REDRAFT_PORTS[@]}"; do
        wait_reply "$port" cluster_state:ok "cluster_state:ok" cluster info ||
            { tail -n 20 "$WORK/redraft/$port/redraft.log" >&2; return 1; }
    done
    # Leaders move to their preferred nodes shortly after start; benchmark
    # the balanced cluster (one shard leader per node), as Redis Cluster's
    # three masters are.
    deadline=$((SECONDS + START_TIMEOUT))
    until n="$(masters_with_slots "${REDRAFT_PORTS[0]}")" && ((n >= 3)); do
        if ((SECONDS >= deadline)); then
            echo "bench.sh: redraft: shard leaders not spread within ${START_TIMEOUT}s ($n masters); benchmarking anyway" >&2
            break
        fi
        sleep 0.2
    done
    echo "redraft: 3 nodes up, cluster_state:ok, $(masters_with_slots "${REDRAFT_PORTS[0]}") masters"
    run_bench redraft "${REDRAFT_PORTS[0]}" --cluster
    stop_pids "${PIDS[@]:$start}"
    PIDS=("${PIDS[@]:0:$start}")
}

bench_redis_cluster() {
    local port dir nodes=()
    check_ports_free "${RCLUSTER_PORTS[@]}"
    local start=${#PIDS[@]}
    for port in "${RCLUSTER_PORTS[@]}"; do
        dir="$WORK/redis-cluster/$port"
        mkdir -p "$dir"
        LOG_FILE="$dir/redis.log"
        spawn redis-server --bind "$HOST" --port "$port" --dir "$dir" --save '' \
            "${RCLUSTER_PERSIST[@]}" --cluster-enabled yes --cluster-config-file nodes.conf \
            --cluster-node-timeout 5000
        nodes+=("$HOST:$port")
    done
    for port in "${RCLUSTER_PORTS[@]}"; do wait_reply "$port" PONG PONG ping; done
    timeout "$START_TIMEOUT" redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 \
        --cluster-yes >"$WORK/redis-cluster/create.log" 2>&1 </dev/null ||
        { cat "$WORK/redis-cluster/create.log" >&2; return 1; }
    for port in "${RCLUSTER_PORTS[@]}"; do
        wait_reply "$port" cluster_state:ok "cluster_state:ok" cluster info
    done
    # Replicas in sync with their masters before the load starts.
    for port in "${RCLUSTER_PORTS[@]}"; do
        if [[ "$(redis-cli -h "$HOST" -p "$port" role 2>/dev/null | head -n 1)" == slave ]]; then
            wait_reply "$port" master_link_status:up "master_link_status:up" info replication
        fi
    done
    echo "redis-cluster: 3 masters + 3 replicas up, cluster_state:ok"
    run_bench redis-cluster "${RCLUSTER_PORTS[0]}" --cluster
    stop_pids "${PIDS[@]:$start}"
    PIDS=("${PIDS[@]:0:$start}")
}

bench_redis_fsync() {
    local dir="$WORK/redis-fsync"
    check_ports_free "$FSYNC_PORT"
    local start=${#PIDS[@]}
    mkdir -p "$dir"
    LOG_FILE="$dir/redis.log"
    spawn redis-server --bind "$HOST" --port "$FSYNC_PORT" --dir "$dir" --save '' \
        --appendonly yes --appendfsync always
    wait_reply "$FSYNC_PORT" PONG PONG ping
    echo "redis-fsync: up"
    run_bench redis-fsync "$FSYNC_PORT"
    stop_pids "${PIDS[@]:$start}"
    PIDS=("${PIDS[@]:0:$start}")
}

runs() { [[ " ${SYSTEMS[*]} " == *" $1 "* ]]; }

# All ports first, so that a busy port fails the run before any benchmark.
if runs redraft; then check_ports_free "${REDRAFT_PORTS[@]}"; fi
if runs redis-cluster; then check_ports_free "${RCLUSTER_PORTS[@]}"; fi
if runs redis-fsync; then check_ports_free "$FSYNC_PORT"; fi

if runs redraft; then
    if [[ -n ${REDRAFT_BIN:-} ]]; then
        BIN="$REDRAFT_BIN"
    else
        echo "building redraft (cargo build --release)..."
        (cd "$ROOT" && cargo build --release --bin redraft --quiet)
        BIN="$ROOT/target/release/redraft"
    fi
    [[ -x $BIN ]] || { echo "bench.sh: $BIN is not an executable" >&2; exit 1; }
fi

echo "== redraft benchmark: $(redis-server --version | cut -d' ' -f1-3); $(nproc) cores shared by all servers and the client"
echo "workload:      redis-benchmark -t set,get -c 50 -d 100 -r 100000 -n $REQUESTS, -P ${PIPELINES[*]}"
if runs redraft; then
    echo "redraft:       3 nodes on $HOST:${REDRAFT_PORTS[*]}, engine ${ENGINE:-default}${REDRAFT_ARGS:+, $REDRAFT_ARGS}; SET acknowledged after fsync on a Raft quorum (2 of 3)"
fi
if runs redis-cluster; then
    echo "redis-cluster: 3 masters + 3 replicas on $HOST:${RCLUSTER_PORTS[*]}; ${RCLUSTER_PERSIST[*]} --save ''; async replication"
fi
if runs redis-fsync; then
    echo "redis-fsync:   1 redis-server on $HOST:$FSYNC_PORT; --appendonly yes --appendfsync always --save ''"
fi
echo "data folders:  $WORK ($(df -P -T "$WORK" | awk 'NR == 2 { print $2 }'))"
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_BEFORE="$(loadavg)"

# (In `if` bodies, not `&&` lists: set -e stays on inside the functions.)
if runs redraft; then bench_redraft; fi
if runs redis-cluster; then bench_redis_cluster; fi
if runs redis-fsync; then bench_redis_fsync; fi

# ratio A B [SUFFIX]: A / B with two decimals and SUFFIX, "-" without both.
ratio() {
    awk -v a="$1" -v b="$2" -v s="${3:-}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f%s", a / b, s; else print "-" }'
}
# verdict VALUE OP LIMIT: "met" or "MISSED" (or "-" without a value).
verdict() {
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
        if (v == "-" || v == "?" || v == "") { print "-"; exit }
        ok = (op == ">=") ? (v + 0 >= l + 0) : (v + 0 < l + 0)
        print ok ? "met" : "MISSED"
    }'
}

echo
FMT='%-9s | %10s %7s | %10s %7s | %10s %7s | %9s %9s\n'
printf '%-9s | %-18s | %-18s | %-18s | %-19s\n' "" redraft redis-cluster redis-fsync "redraft ops/s over"
printf "$FMT" workload "ops/s" "p99 ms" "ops/s" "p99 ms" "ops/s" "p99 ms" "r-cluster" "r-fsync"
printf -- '-%.0s' $(seq 94)
echo
for p in "${PIPELINES[@]}"; do
    for test in SET GET; do
        key="$test,$p"
        printf "$FMT" "$test -P $p" \
            "${RPS[redraft,$key]:--}" "${P99[redraft,$key]:--}" \
            "${RPS[redis-cluster,$key]:--}" "${P99[redis-cluster,$key]:--}" \
            "${RPS[redis-fsync,$key]:--}" "${P99[redis-fsync,$key]:--}" \
            "$(ratio "${RPS[redraft,$key]:-0}" "${RPS[redis-cluster,$key]:-0}")" \
            "$(ratio "${RPS[redraft,$key]:-0}" "${RPS[redis-fsync,$key]:-0}")"
    done
done
echo
echo "load average before: $LOAD_BEFORE, after: $(loadavg) ($(nproc) cores; other work on the machine skews the figures)"
echo "targets (issue 4):"
for p in "${PIPELINES[@]}"; do
    TFMT='  -P %-3s %-34s %9s  %s\n'
    r="$(ratio "${RPS[redraft,SET,$p]:-0}" "${RPS[redis-fsync,SET,$p]:-0}" x)"
    printf "$TFMT" "$p" "durable SET >= 1.0x redis-fsync" "$r" "$(verdict "$r" '>=' 1.0)"
    r="$(ratio "${RPS[redraft,GET,$p]:-0}" "${RPS[redis-cluster,GET,$p]:-0}" x)"
    printf "$TFMT" "$p" "GET >= 0.8x redis-cluster" "$r" "$(verdict "$r" '>=' 0.8)"
    for test in SET GET; do
        v="${P99[redraft,$test,$p]:--}"
        if ((p == 1)); then
            printf "$TFMT" "$p" "redraft $test p99 < 10 ms at -c 50" "$v ms" "$(verdict "$v" '<' 10)"
        else
            printf "$TFMT" "$p" "redraft $test p99 at -c 50" "$v ms" "(the 10 ms target is for -P 1)"
        fi
    done
done
