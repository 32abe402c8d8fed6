#!/usr/bin/env bash
# Measures failover time: from `kill -9` of the leader of a slot's shard to
# the first write on that slot acknowledged through `redis-cli -c`.
#
# Starts its own 3-node cluster (scripts/cluster.sh, data in a temporary
# folder, ports 7101-7103 unless FAILOVER_PORTS says otherwise), runs a
# small background write loop, and then ROUNDS times: finds the leader of
# KEY's slot (the node whose own CLUSTER NODES line is a master holding the
# slot), kills it with SIGKILL, writes KEY through the other nodes with
# `redis-cli -c` until one write is acknowledged, prints the time, restarts
# the killed node and waits for the cluster to be whole again. At the end
# it prints every time, the median and the maximum, and removes
# everything it made (also on Ctrl-C or failure).
#
# Usage: scripts/failover.sh [ROUNDS]            (default 5)
#
# Environment:
#   FAILOVER_PORTS  client ports of the 3 nodes  (default "7101 7102 7103")
#   FAILOVER_KEY    the key whose slot is measured (default failover:probe)
#   FAILOVER_LIMIT  seconds before a round counts as failed (default 30)
#   REDRAFT_BIN, REDRAFT_ARGS, START_TIMEOUT: as for scripts/cluster.sh
#   KEEP=1          keep the temporary folder (node logs) afterwards
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${1:-5}"
PORTS=(${FAILOVER_PORTS:-7101 7102 7103})
KEY="${FAILOVER_KEY:-failover:probe}"
LIMIT="${FAILOVER_LIMIT:-30}"
HOST=127.0.0.1

if [[ ! $ROUNDS =~ ^[1-9][0-9]*$ ]]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 2
fi
command -v redis-cli >/dev/null || {
    echo "failover.sh: redis-cli not found (apt-get install redis-tools)" >&2
    exit 1
}

DATA="$(mktemp -d "${TMPDIR:-/tmp}/redraft-failover.XXXXXX")"
export REDRAFT_DATA="$DATA" REDRAFT_NODES="${PORTS[*]}" REDRAFT_HOST="$HOST"
LOOP_PID=""

cleanup() {
    local rc=$?
    [[ -n $LOOP_PID ]] && kill "$LOOP_PID" 2>/dev/null && wait "$LOOP_PID" 2>/dev/null
    "$ROOT/scripts/cluster.sh" stop >/dev/null 2>&1 || true
    if [[ ${KEEP:-0} == 1 ]]; then
        echo "kept $DATA"
    else
        rm -rf "$DATA"
    fi
    exit $rc
}
trap cleanup EXIT INT TERM

cli() { timeout 3 redis-cli -h "$HOST" "$@" 2>/dev/null; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The port of the node that says it leads $1's slot (its myself,master line
# of CLUSTER NODES holds the slot), if exactly one live node says so.
leader_port() {
    local slot port found=() line
    slot="$(cli -p "${PORTS[0]}" cluster keyslot "$1" || cli -p "${PORTS[1]}" cluster keyslot "$1" || cli -p "${PORTS[2]}" cluster keyslot "$1" || true)"
    [[ $slot =~ ^[0-9]+$ ]] || return 0
    for port in "${PORTS[@]}"; do
        line="$(cli -p "$port" cluster nodes | grep 'myself' || true)"
        [[ $line == *master* ]] || continue
        # Fields 9.. are slots: N or A-B.
        if awk -v s="$slot" '{ for (i = 9; i <= NF; i++) { n = split($i, r, "-"); a = r[1]; b = (n > 1) ? r[2] : r[1]; if (s >= a && s <= b) f = 1 } } END { exit !f }' <<<"$line"; then
            found+=("$port")
        fi
    done
    [[ ${#found[@]} -eq 1 ]] && echo "${found[0]}"
    return 0
}

echo "failover.sh: starting a 3-node cluster on ${PORTS[*]} (data $DATA)"
"$ROOT/scripts/cluster.sh" start

# A small background write load through the cluster.
(
    i=0
    while true; do
        i=$((i + 1))
        timeout 3 redis-cli -c -h "$HOST" -p "${PORTS[$((i % 3))]}" set "load:$i" "$i" >/dev/null 2>&1 || sleep 0.05
    done
) &
LOOP_PID=$!

TIMES=()
for round in $(seq 1 "$ROUNDS"); do
    leader=""
    deadline=$((SECONDS + 30))
    until [[ -n $leader ]]; do
        leader="$(leader_port "$KEY")"
        if [[ -z $leader ]]; then
            ((SECONDS < deadline)) || { echo "round $round: no single leader for $KEY's slot within 30s" >&2; exit 1; }
            sleep 0.1
        fi
    done
    pid="$(cat "$DATA/$leader/redraft.pid")"
    others=()
    for p in "${PORTS[@]}"; do [[ $p == "$leader" ]] || others+=("$p"); done
    # The slot is writable before the kill.
    [[ "$(cli -c -p "${others[0]}" set "$KEY" before)" == OK ]] || { echo "round $round: write before the kill failed" >&2; exit 1; }

    t0="$(now_ms)"
    kill -9 "$pid"
    attempts=0
    acked=""
    while (($(now_ms) - t0 < LIMIT * 1000)); do
        attempts=$((attempts + 1))
        p="${others[$((attempts % 2))]}"
        if [[ "$(cli -c -p "$p" set "$KEY" "round$round-$attempts")" == OK ]]; then
            acked="$(now_ms)"
            break
        fi
        sleep 0.02
    done
    if [[ -z $acked ]]; then
        echo "round $round: no write on $KEY acknowledged within ${LIMIT}s of killing node $leader" >&2
        exit 1
    fi
    ms=$((acked - t0))
    TIMES+=("$ms")
    new_leader="$(leader_port "$KEY")"
    echo "round $round: killed leader $leader (pid $pid); first acked write after ${ms} ms ($attempts attempts); new leader ${new_leader:-?}"
    # Bring the killed node back and wait for the whole cluster.
    "$ROOT/scripts/cluster.sh" start >/dev/null
done

sorted=($(printf '%s\n' "${TIMES[@]}" | sort -n))
n=${#sorted[@]}
if ((n % 2)); then
    median=${sorted[$((n / 2))]}
else
    median=$(((sorted[n / 2 - 1] + sorted[n / 2]) / 2))
fi
echo "failover times (ms): ${TIMES[*]}"
echo "median ${median} ms, max ${sorted[$((n - 1))]} ms over $n rounds"
