#!/usr/bin/env bash
# Starts, stops and reports a local redraft cluster on 127.0.0.1.
#
# Usage: scripts/cluster.sh start|stop|restart|status
#        scripts/cluster.sh add PORT      a node joins the running cluster
#        scripts/cluster.sh drain PORT    a node's replicas move away, it leaves
#
# The cluster is three nodes on 127.0.0.1:7001-7003 (raft ids 1-3), each
# given every node's client address with --peers; the 16384 slots are split
# into shards (one per node by default), each replicated on all three.
# `start` returns once all 16384 slots are served: every node reports
# cluster_state:ok. Each node keeps its data, its log (redraft.log) and its
# pid file (redraft.pid) in $REDRAFT_DATA/<port> (default: data/ in the
# repository). Connect with `redis-cli -c -p 7001`.
#
# `start` also starts the nodes of a running cluster that are down (after a
# crash, say) and waits for the cluster again. A single node is
# REDRAFT_NODES=7001.
#
# `add PORT` starts a node on PORT that joins the cluster (--join, through
# the first node) and returns once it serves every slot; the cluster then
# moves replicas onto it. `drain PORT` runs `redraft drain` for that node
# and returns once it left the cluster (it shuts down). `stop`, `restart`
# and `status` include the nodes added this way (their folders hold a
# joined-node-id).
#
# Environment:
#   REDRAFT_DATA    data folder              (default: <repo>/data)
#   REDRAFT_BIN     binary                   (default: target/release/redraft,
#                                             built with cargo if missing)
#   REDRAFT_ARGS    extra flags for every node, e.g. "--engine sled"
#   REDRAFT_NODES   ports, one node each     (default: "7001 7002 7003")
#   REDRAFT_HOST    address to bind          (default: 127.0.0.1)
#   START_TIMEOUT   seconds to wait for PONG and for cluster_state:ok
#                   (default: 60)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# One node per port; node i (0-based) has raft id i+1.
NODES=(${REDRAFT_NODES:-7001 7002 7003})
DATA="$(realpath -m "${REDRAFT_DATA:-$ROOT/data}")"
BIN="${REDRAFT_BIN:-$ROOT/target/release/redraft}"
START_TIMEOUT="${START_TIMEOUT:-60}"
HOST="${REDRAFT_HOST:-127.0.0.1}"

node_dir() { echo "$DATA/$1"; }
pid_file() { echo "$DATA/$1/redraft.pid"; }

# --peers: every node's client address, by raft id (1=ip:port,2=...).
peers() {
    local i out=""
    for i in "${!NODES[@]}"; do
        out+="${out:+,}$((i + 1))=$HOST:${NODES[$i]}"
    done
    echo "$out"
}

# The flags of the node at index $1 (0-based) on port $2.
node_args() {
    local index=$1 port=$2
    echo --bind "$HOST" --port "$port" --dir "$(node_dir "$port")" --raft-id "$((index + 1))" \
        --peers "$(peers)" ${REDRAFT_ARGS:-}
}

# The pid in the node's pid file if that process is a live redraft, else nothing.
running_pid() {
    local file pid
    file="$(pid_file "$1")"
    [[ -f $file ]] || return 0
    pid="$(cat "$file")"
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q redraft; then
        echo "$pid"
    fi
}

# CLUSTER INFO on $1 says cluster_state:ok (every slot served).
cluster_ok() {
    local port=$1 reply
    if command -v redis-cli >/dev/null; then
        reply="$(timeout 3 redis-cli -h "$HOST" -p "$port" cluster info 2>/dev/null || true)"
    else
        reply="$(timeout 3 bash -c "exec 3<>/dev/tcp/$HOST/$port && printf 'CLUSTER INFO\r\n' >&3 && head -c 40 <&3" 2>/dev/null || true)"
    fi
    [[ $reply == *cluster_state:ok* ]]
}

# PING on $1 answers PONG (redis-cli if installed, else bash's /dev/tcp).
ping_ok() {
    local port=$1 reply
    if command -v redis-cli >/dev/null; then
        reply="$(redis-cli -h "$HOST" -p "$port" ping 2>/dev/null || true)"
    else
        reply="$(timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$port && printf 'PING\r\n' >&3 && head -c 7 <&3" 2>/dev/null || true)"
    fi
    [[ $reply == *PONG* ]]
}

ensure_binary() {
    if [[ -n ${REDRAFT_BIN:-} ]]; then
        [[ -x $BIN ]] || { echo "cluster.sh: REDRAFT_BIN=$BIN is not an executable" >&2; exit 1; }
        return 0
    fi
    # Always ask cargo: a no-op when the binary is current, a rebuild when
    # the sources changed since (a stale binary is worse than a short wait).
    if command -v cargo >/dev/null; then
        echo "cluster.sh: cargo build --release --bin redraft"
        (cd "$ROOT" && cargo build --release --bin redraft --quiet)
    elif [[ ! -x $BIN ]]; then
        echo "cluster.sh: $BIN missing and cargo not found" >&2
        exit 1
    fi
}

# Spawns node $1 (index) on port $2 unless it runs; does not wait.
spawn_node() {
    local index=$1 port=$2 dir pid
    dir="$(node_dir "$port")"
    pid="$(running_pid "$port")"
    if [[ -n $pid ]]; then
        echo "node $port: already running (pid $pid)"
        return 0
    fi
    mkdir -p "$dir"
    # shellcheck disable=SC2046
    nohup "$BIN" $(node_args "$index" "$port") >>"$dir/redraft.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$(pid_file "$port")"
}

# Waits until node $1 answers PING (a node may wait for its peers, so all
# are spawned before any is waited for).
wait_ping() {
    local port=$1 dir pid
    dir="$(node_dir "$port")"
    pid="$(running_pid "$port")"
    local deadline=$((SECONDS + START_TIMEOUT))
    until ping_ok "$port"; do
        if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$(pid_file "$port")"
            echo "node $port: exited during start; last lines of $dir/redraft.log:" >&2
            tail -n 20 "$dir/redraft.log" >&2
            return 1
        fi
        if ((SECONDS >= deadline)); then
            echo "node $port: no PONG within ${START_TIMEOUT}s; see $dir/redraft.log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "node $port: up (pid $pid, data $dir, log $dir/redraft.log)"
}

# Waits until every node reports cluster_state:ok.
wait_cluster_ok() {
    local port deadline=$((SECONDS + START_TIMEOUT))
    for port in $(all_ports); do
        until cluster_ok "$port"; do
            if ((SECONDS >= deadline)); then
                echo "node $port: not cluster_state:ok within ${START_TIMEOUT}s; see $(node_dir "$port")/redraft.log" >&2
                return 1
            fi
            sleep 0.1
        done
    done
    echo "cluster: all 16384 slots served (cluster_state:ok on $(all_ports | xargs))"
    wait_balanced
}

# Waits (up to 15 s, not an error) until every node leads a shard: leaders
# move to their preferred nodes within seconds of a start, and tools such as
# redis-benchmark --cluster read the masters once.
wait_balanced() {
    local port deadline=$((SECONDS + 15)) all
    ((${#NODES[@]} > 1)) || return 0
    while ((SECONDS < deadline)); do
        all=1
        for port in $(all_ports); do
            if ! redis-cli -h "$HOST" -p "$port" cluster nodes 2>/dev/null |
                grep -q 'myself,master - .* [0-9]\+-[0-9]\+'; then
                all=0
                break
            fi
        done
        ((all)) && { echo "cluster: leaders spread, one per node"; return 0; }
        sleep 0.2
    done
    echo "cluster: leaders not spread yet (they move within seconds)" >&2
}

start_all() {
    local i port rc=0
    for i in "${!NODES[@]}"; do
        is_drained "${NODES[$i]}" || spawn_node "$i" "${NODES[$i]}"
    done
    for port in $(all_ports); do
        [[ " ${NODES[*]} " == *" $port "* ]] || spawn_joined "$port"
    done
    for port in $(all_ports); do wait_ping "$port" || rc=1; done
    [[ $rc -eq 0 ]] || return 1
    wait_cluster_ok
}

# The ports of every node: the founding ones, then those added (folders
# with a joined-node-id).
all_ports() {
    local d port
    for port in "${NODES[@]}"; do is_drained "$port" || echo "$port"; done
    for d in "$DATA"/*/; do
        port="$(basename "$d")"
        [[ -f $d/joined-node-id && $port =~ ^[0-9]+$ ]] || continue
        [[ " ${NODES[*]} " == *" $port "* ]] || echo "$port"
    done
}

# Spawns the node on $1 that joins (or, with a joined-node-id in its
# folder, rejoins) the cluster through the first node; does not wait.
spawn_joined() {
    local port=$1 dir
    dir="$(node_dir "$port")"
    [[ -z $(running_pid "$port") ]] || return 0
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    nohup "$BIN" --bind "$HOST" --port "$port" --dir "$dir" --join "$HOST:${NODES[0]}" \
        ${REDRAFT_ARGS:-} >>"$dir/redraft.log" 2>&1 </dev/null &
    echo "$!" >"$(pid_file "$port")"
}

# Whether the node on $1 was drained (it left the cluster for good).
is_drained() {
    grep -qx "$1" "$DATA/drained" 2>/dev/null
}

# Starts a node on $1 that joins the cluster, and waits until it serves.
add_node() {
    local port=$1 dir pid
    [[ $port =~ ^[0-9]+$ ]] || { echo "cluster.sh add: PORT expected" >&2; exit 2; }
    dir="$(node_dir "$port")"
    pid="$(running_pid "$port")"
    if [[ -n $pid ]]; then
        echo "node $port: already running (pid $pid)"
        return 0
    fi
    spawn_joined "$port"
    wait_ping "$port" || return 1
    local deadline=$((SECONDS + START_TIMEOUT))
    until cluster_ok "$port"; do
        if ((SECONDS >= deadline)); then
            echo "node $port: not cluster_state:ok within ${START_TIMEOUT}s; see $dir/redraft.log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "node $port: joined; replicas move onto it in the background (CLUSTER SHARDS shows them)"
}

# Drains the node on $1 through another node, and waits until it left.
drain_node() {
    local port=$1 id via
    [[ $port =~ ^[0-9]+$ ]] || { echo "cluster.sh drain: PORT expected" >&2; exit 2; }
    id="$(redis-cli -h "$HOST" -p "$port" cluster myid 2>/dev/null || true)"
    [[ $id =~ ^[0-9a-f]{40}$ ]] || { echo "node $port: no answer to CLUSTER MYID" >&2; return 1; }
    via="$(all_ports | grep -vx "$port" | head -n 1)"
    "$BIN" drain "$id" --via "$HOST:$via"
    # A drained node shuts down by itself.
    local deadline=$((SECONDS + 30))
    while [[ -n $(running_pid "$port") ]] && ((SECONDS < deadline)); do sleep 0.2; done
    rm -f "$(pid_file "$port")"
    # Out of the cluster for good: kept aside, never started again.
    echo "$port" >>"$DATA/drained"
    mv "$(node_dir "$port")" "$(node_dir "$port").drained-$(date +%s)"
    echo "node $port: drained and stopped (folder kept as $(node_dir "$port").drained-*)"
}

stop_node() {
    local port=$1 pid
    pid="$(running_pid "$port")"
    if [[ -z $pid ]]; then
        rm -f "$(pid_file "$port")"
        echo "node $port: not running"
        return 0
    fi
    kill -TERM "$pid"
    local deadline=$((SECONDS + 15))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            echo "node $port: still running 15s after SIGTERM; sending SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
            deadline=$((SECONDS + 5))
        fi
        sleep 0.1
    done
    rm -f "$(pid_file "$port")"
    echo "node $port: stopped (pid $pid)"
}

status_node() {
    local port=$1 pid
    pid="$(running_pid "$port")"
    if [[ -z $pid ]]; then
        echo "node $port: stopped"
        return 1
    elif cluster_ok "$port"; then
        echo "node $port: running (pid $pid), cluster_state:ok"
    elif ping_ok "$port"; then
        echo "node $port: running (pid $pid), answers PING, cluster_state NOT ok"
    else
        echo "node $port: running (pid $pid), NOT answering PING"
        return 1
    fi
}

cmd="${1:-}"
case "$cmd" in
    start)
        ensure_binary
        start_all
        echo "connect: redis-cli -c -h $HOST -p ${NODES[0]}"
        ;;
    stop)
        for port in $(all_ports); do stop_node "$port"; done
        ;;
    restart)
        for port in $(all_ports); do stop_node "$port"; done
        ensure_binary
        start_all
        ;;
    status)
        rc=0
        for port in $(all_ports); do status_node "$port" || rc=1; done
        exit $rc
        ;;
    add)
        ensure_binary
        add_node "${2:-}"
        ;;
    drain)
        ensure_binary
        drain_node "${2:-}"
        ;;
    *)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        [[ $cmd == -h || $cmd == --help ]] && exit 0
        exit 2
        ;;
esac
