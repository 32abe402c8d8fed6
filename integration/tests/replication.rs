//! Replication: 3-node clusters of real processes.
//!
//! - `redis_cli_check_*`, `redis_cli_follows_moved_*`,
//!   `redis_benchmark_*`: Redis's own tools against the cluster (skipped,
//!   with a message, when `redis-cli`/`redis-benchmark` are missing).
//! - `acknowledged_writes_survive_kill_9_of_random_nodes`: 50 writers
//!   through the `redis` cluster client while random nodes are killed and
//!   restarted; every acknowledged write must survive ([`checker`]) and
//!   every node must end with the same data (`DEBUG DIGEST`).
//! - `a_paused_follower_catches_up_by_snapshot`: SIGSTOP a node, write
//!   past the compaction threshold, SIGCONT; it must receive a snapshot.
//! - `a_partitioned_node_acknowledges_nothing_and_heals`: network
//!   namespaces (root only; skipped otherwise).
//! - `failover_time_after_kill_9_of_a_leader`: prints the time from
//!   `kill -9` of a shard leader to the first acknowledged write on it.
//!
//! Environment: `REDRAFT_REPL_CRASH_SECS` (load of the crash test,
//! default 20), `REDRAFT_REPL_CONNS` (its writers, default 50).
//!
//! Writers use a cluster client without retries: the crate retries a
//! command after a dropped connection or a timeout, which could apply an
//! INCR twice while the history counts one attempt. Every failed command
//! is indeterminate instead, and the next command is a new attempt.

use std::collections::{BTreeMap, HashMap};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use redis::cluster_async::ClusterConnection;
use redis::Value;
use redraft_integration::checker::{self, register_value, History};
use redraft_integration::client::error_text;
use redraft_integration::cluster::{key_in, key_slot, ClusterOpts, TestCluster};
use redraft_integration::env_num;
use redraft_integration::netns::{NetnsCluster, NetnsNet, PartitionTool};
use redraft_integration::raw::{frame_text, Frame, RawConn};
use redraft_integration::tools::{
    assert_cluster_check_ok, assert_cluster_check_settles, have_tool, run_tool, strip_ansi,
};
use redraft_integration::{runtime, wait_until};

const REGISTERS_PER_WRITER: usize = 4;
const COUNTERS_PER_WRITER: usize = 2;

// ---------------------------------------------------------------------
// Redis's tools

fn output_text(out: &Output) -> String {
    strip_ansi(&String::from_utf8_lossy(&out.stdout))
        + &strip_ansi(&String::from_utf8_lossy(&out.stderr))
}

#[test]
fn redis_cli_check_finds_every_slot_covered_on_every_node() {
    if !have_tool(
        "redis-cli",
        "redis_cli_check_finds_every_slot_covered_on_every_node",
    ) {
        return;
    }
    let cluster = TestCluster::start(ClusterOpts::new());
    for addr in cluster.addrs() {
        // Every node is listed, as a master or a replica.
        assert_cluster_check_ok(&addr, &cluster.addrs());
    }
}

/// `redis-cli --cluster info` lists every node leading slots as a master
/// and counts every key once (each master counts the keys of the slots it
/// serves).
#[test]
fn redis_cli_cluster_info_counts_every_key_once() {
    if !have_tool("redis-cli", "redis_cli_cluster_info_counts_every_key_once") {
        return;
    }
    const KEYS: usize = 200;
    let cluster = TestCluster::start(ClusterOpts::new());
    let addrs = cluster.addrs();
    assert_cluster_check_settles(&addrs[0], &addrs, Duration::from_secs(30));
    let mut conn = cluster.client().get_connection().expect("connect");
    for i in 0..KEYS {
        let _: () = redis::cmd("SET")
            .arg(format!("info:{i}"))
            .arg(i)
            .query(&mut conn)
            .expect("SET");
    }
    // Leaders may move between the two commands: run it again until the
    // masters it lists cover every slot (bounded).
    let mut text = String::new();
    let agreed = wait_until(Instant::now() + Duration::from_secs(30), || {
        let out = run_tool(
            "redis-cli",
            &["--cluster", "info", &addrs[0]],
            Duration::from_secs(30),
        );
        text = output_text(&out);
        out.status.success() && text.contains(&format!("[OK] {KEYS} keys in "))
    });
    assert!(
        agreed,
        "redis-cli --cluster info did not count {KEYS} keys:\n{text}"
    );
    let slots: usize = text
        .lines()
        .filter_map(|l| {
            l.split(" | ")
                .nth(1)?
                .strip_suffix(" slots")?
                .parse::<usize>()
                .ok()
        })
        .sum();
    assert_eq!(slots, 16384, "the masters' slots do not add up:\n{text}");
}

/// `redis-cli --cluster reshard` (and ADDSLOTS, DELSLOTS, SETSLOT, which it
/// and `rebalance`/`fix` send) is refused with an error that says how
/// redraft places slots, and moves nothing.
#[test]
fn redis_cli_reshard_is_refused_with_the_way_redraft_places_slots() {
    if !have_tool(
        "redis-cli",
        "redis_cli_reshard_is_refused_with_the_way_redraft_places_slots",
    ) {
        return;
    }
    const REFUSAL: &str = "ERR redraft places slots itself";
    let cluster = TestCluster::start(ClusterOpts::new());
    let addrs = cluster.addrs();
    // redis-cli moves slots between masters, and a node is a master while
    // it leads slots: wait until leaders spread over at least two nodes
    // (right after the start one node may lead every shard).
    let masters = || {
        (0..cluster.len())
            .filter(|&i| cluster.led_slots(i).is_ok_and(|r| !r.is_empty()))
            .count()
    };
    assert!(
        wait_until(Instant::now() + Duration::from_secs(30), || masters() >= 2),
        "leaders never spread over two nodes"
    );
    assert_cluster_check_settles(&addrs[0], &addrs, Duration::from_secs(30));
    for args in [
        &["CLUSTER", "SETSLOT", "100", "IMPORTING", "abc"][..],
        &["CLUSTER", "SETSLOT", "100", "STABLE"],
        &["CLUSTER", "ADDSLOTS", "100"],
        &["CLUSTER", "ADDSLOTSRANGE", "100", "200"],
        &["CLUSTER", "DELSLOTS", "100"],
        &["CLUSTER", "DELSLOTSRANGE", "100", "200"],
    ] {
        match cluster.cmd(0, args).expect("a reply") {
            Frame::Error(e) => assert!(e.starts_with(REFUSAL), "{args:?}: {e}"),
            other => panic!("{args:?} was not refused: {other:?}"),
        }
    }
    let slots_before = cluster
        .cmd(0, &["CLUSTER", "SLOTS"])
        .expect("CLUSTER SLOTS");
    // A node that leads slots is a master redis-cli can move slots to.
    let target = (0..cluster.len())
        .find(|&i| cluster.led_slots(i).is_ok_and(|r| !r.is_empty()))
        .expect("a node leading slots");
    let Frame::BulkString(id) = cluster.cmd(target, &["CLUSTER", "MYID"]).expect("MYID") else {
        panic!("CLUSTER MYID is not a bulk string")
    };
    let id = String::from_utf8(id).expect("hex id");
    let out = run_tool(
        "redis-cli",
        &[
            "--cluster",
            "reshard",
            &addrs[target],
            "--cluster-from",
            "all",
            "--cluster-to",
            &id,
            "--cluster-slots",
            "10",
            "--cluster-yes",
        ],
        Duration::from_secs(60),
    );
    let text = output_text(&out);
    assert!(!out.status.success(), "reshard succeeded:\n{text}");
    assert!(
        text.contains(REFUSAL),
        "reshard failed without saying how redraft places slots:\n{text}"
    );
    assert_eq!(
        cluster
            .cmd(0, &["CLUSTER", "SLOTS"])
            .expect("CLUSTER SLOTS"),
        slots_before,
        "a slot moved"
    );
    assert_cluster_check_settles(&addrs[0], &addrs, Duration::from_secs(30));
}

#[test]
fn redis_cli_follows_moved_between_nodes() {
    if !have_tool("redis-cli", "redis_cli_follows_moved_between_nodes") {
        return;
    }
    let mut cluster = TestCluster::start(ClusterOpts::new());
    // One key per node that leads something, asked through another node.
    let mut crossed = 0;
    for leader in 0..cluster.len() {
        let ranges = cluster.led_slots(leader).expect("CLUSTER NODES");
        if ranges.is_empty() {
            continue;
        }
        let key = key_in(&format!("moved:{leader}:"), |s| {
            ranges.iter().any(|&(a, b)| (a..=b).contains(&s))
        })
        .expect("a key in the node's slots");
        let other = (leader + 1) % cluster.len();
        // The other node redirects a plain client...
        let reply = cluster.cmd(other, &["SET", &key, "x"]).expect("SET");
        let moved = format!(
            "MOVED {} {}",
            key_slot(key.as_bytes()),
            cluster.node(leader).addr()
        );
        assert_eq!(
            reply,
            Frame::Error(moved.clone()),
            "SET {key} on a node not leading its slot"
        );
        // ... and redis-cli -c follows it.
        let port = cluster.node(other).port().to_string();
        let host = cluster.node(other).host().to_string();
        let value = format!("v-{leader}");
        let cli = |args: &[&str]| {
            let mut all = vec!["-c", "-h", &host, "-p", &port];
            all.extend_from_slice(args);
            let out = run_tool("redis-cli", &all, Duration::from_secs(30));
            assert!(out.status.success(), "redis-cli {all:?}: {out:?}");
            String::from_utf8_lossy(&out.stdout).trim_end().to_string()
        };
        assert_eq!(cli(&["SET", &key, &value]), "OK", "redis-cli -c SET {key}");
        assert_eq!(cli(&["GET", &key]), value, "redis-cli -c GET {key}");
        // The write went to the leader.
        assert_eq!(
            cluster.cmd(leader, &["GET", &key]).expect("GET"),
            Frame::BulkString(value.into_bytes()),
            "GET {key} on its leader"
        );
        crossed += 1;
        // Leadership must not have moved meanwhile, or MOVED was to elsewhere.
        assert_eq!(
            cluster.leader_of_slot(key_slot(key.as_bytes())),
            Some(leader)
        );
    }
    assert!(crossed >= 1, "no node leads any slot");
}

#[test]
fn redis_benchmark_cluster_gets_no_error_replies() {
    if !have_tool(
        "redis-benchmark",
        "redis_benchmark_cluster_gets_no_error_replies",
    ) {
        return;
    }
    let cluster = TestCluster::start(ClusterOpts::new());
    // redis-benchmark reads the masters once at start and refuses a
    // cluster with one master: wait until leaders spread (one per node).
    // Leaders settle on their preferred nodes; after that nothing moves them.
    let balanced = cluster.wait_preferred_leaders(Instant::now() + Duration::from_secs(20));
    assert!(balanced, "leaders never spread over the three nodes");
    let node = cluster.node(0);
    let (host, port) = (node.host().to_string(), node.port().to_string());
    let out = run_tool(
        "redis-benchmark",
        &[
            "--cluster",
            "-h",
            &host,
            "-p",
            &port,
            "-t",
            "set,get,incr",
            "-n",
            "20000",
            "-c",
            "50",
            "-q",
            "-e",
        ],
        Duration::from_secs(120),
    );
    let text = output_text(&out);
    println!("redis-benchmark --cluster:\n{text}");
    assert!(out.status.success(), "redis-benchmark failed:\n{text}");
    assert!(
        !text.contains("Error from server") && !text.contains("ERR"),
        "error replies:\n{text}"
    );
    for test in ["SET", "GET", "INCR"] {
        assert!(
            text.split(['\n', '\r'])
                .any(|l| l.trim_start().starts_with(&format!("{test}: "))
                    && l.contains("requests per second")),
            "no {test} result in:\n{text}"
        );
    }
    // The benchmark's writes reached every node.
    let digest = cluster
        .wait_converged(Instant::now() + Duration::from_secs(30))
        .expect("digests after the benchmark");
    assert!(!digest.is_empty());
}

// ---------------------------------------------------------------------
// Writers with a history

/// State shared by the writers and the test.
struct Load {
    stop: AtomicBool,
    acks: AtomicU64,
}

impl Load {
    fn new() -> Arc<Load> {
        Arc::new(Load {
            stop: AtomicBool::new(false),
            acks: AtomicU64::new(0),
        })
    }
}

/// What one writer did.
#[derive(Default)]
struct WriterLog {
    history: History,
    errors: BTreeMap<String, u64>,
}

impl WriterLog {
    fn error(&mut self, e: &redis::RedisError) {
        // Keep the kind, not the details (slot numbers, addresses).
        let text = error_text(e);
        let words: Vec<&str> = text.split_whitespace().collect();
        // MOVED/ASK carry a slot: one kind for all of them.
        let take = if matches!(words.first(), Some(&"MOVED") | Some(&"ASK")) {
            1
        } else {
            2
        };
        let kind = words[..take.min(words.len())].join(" ");
        *self.errors.entry(kind).or_default() += 1;
    }
}

/// A cluster client that never retries by itself (see the crate docs).
fn writer_client(cluster: &TestCluster, seeds: &[usize]) -> redis::cluster::ClusterClient {
    cluster
        .client_builder(seeds)
        .retries(0)
        .response_timeout(Duration::from_secs(2))
        .build()
        .expect("cluster client")
}

/// Connects, retrying for up to 30 s (nodes may be down).
async fn connect(client: &redis::cluster::ClusterClient) -> ClusterConnection {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client.get_async_connection().await {
            Ok(c) => return c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cluster client cannot connect within 30 s: {e}"),
        }
    }
}

/// One writer: SETs increasing values to its registers and INCRs its
/// counters, one command in flight, until `load.stop`. After a few failures
/// in a row it reconnects, as an application would: a client's slot map can
/// keep naming a node that was cut off or killed while it led a shard.
async fn writer(
    prefix: String,
    id: usize,
    client: redis::cluster::ClusterClient,
    load: Arc<Load>,
) -> WriterLog {
    let mut conn = connect(&client).await;
    let mut failures_in_a_row = 0u32;
    let registers: Vec<String> = (0..REGISTERS_PER_WRITER)
        .map(|j| format!("{prefix}:{id}:reg:{j}"))
        .collect();
    let counters: Vec<String> = (0..COUNTERS_PER_WRITER)
        .map(|j| format!("{prefix}:{id}:ctr:{j}"))
        .collect();
    let mut log = WriterLog::default();
    let mut step = 0usize;
    while !load.stop.load(Ordering::Relaxed) {
        let which = step % (REGISTERS_PER_WRITER + COUNTERS_PER_WRITER);
        step += 1;
        let result = if which < REGISTERS_PER_WRITER {
            let key = &registers[which];
            let h = log.history.registers.entry(key.clone()).or_default();
            let n = h.attempted_max + 1;
            h.attempt(n);
            let r = redis::cmd("SET")
                .arg(key)
                .arg(register_value(key, n))
                .query_async::<Value>(&mut conn)
                .await;
            match r {
                Ok(Value::Okay) => {
                    h.ack(n);
                    Ok(())
                }
                Ok(other) => Err(format!("SET {key}: unexpected {other:?}")),
                Err(e) => {
                    log.error(&e);
                    Err(String::new())
                }
            }
        } else {
            let key = &counters[which - REGISTERS_PER_WRITER];
            let h = log.history.counters.entry(key.clone()).or_default();
            h.attempt();
            let r = redis::cmd("INCR")
                .arg(key)
                .query_async::<Value>(&mut conn)
                .await;
            match r {
                Ok(Value::Int(v)) => {
                    h.ack(v);
                    Ok(())
                }
                Ok(other) => Err(format!("INCR {key}: unexpected {other:?}")),
                Err(e) => {
                    log.error(&e);
                    Err(String::new())
                }
            }
        };
        match result {
            Ok(()) => {
                failures_in_a_row = 0;
                load.acks.fetch_add(1, Ordering::Relaxed);
            }
            Err(unexpected) if !unexpected.is_empty() => panic!("{unexpected}"),
            // Indeterminate; give a failover a moment.
            Err(_) => {
                failures_in_a_row += 1;
                if failures_in_a_row >= 3 {
                    failures_in_a_row = 0;
                    let fresh =
                        tokio::time::timeout(Duration::from_secs(5), client.get_async_connection())
                            .await;
                    if let Ok(Ok(c)) = fresh {
                        conn = c;
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await
            }
        }
    }
    log
}

/// Starts `n` writers on `rt`.
fn start_writers(
    rt: &tokio::runtime::Runtime,
    client: &redis::cluster::ClusterClient,
    prefix: &str,
    n: usize,
    load: &Arc<Load>,
) -> Vec<tokio::task::JoinHandle<WriterLog>> {
    (0..n)
        .map(|id| {
            rt.spawn(writer(
                prefix.to_string(),
                id,
                client.clone(),
                Arc::clone(load),
            ))
        })
        .collect()
}

/// Stops the writers and merges their logs.
fn stop_writers(
    rt: &tokio::runtime::Runtime,
    load: &Load,
    writers: Vec<tokio::task::JoinHandle<WriterLog>>,
) -> (History, BTreeMap<String, u64>) {
    load.stop.store(true, Ordering::Relaxed);
    let mut history = History::default();
    let mut errors = BTreeMap::new();
    for w in writers {
        let log = rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(30), w).await })
            .expect("a writer did not stop within 30 s")
            .expect("writer panicked");
        history.merge(log.history);
        for (k, v) in log.errors {
            *errors.entry(k).or_insert(0) += v;
        }
    }
    (history, errors)
}

/// Stops the writers even if the test panics.
struct StopOnDrop(Arc<Load>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads every key of `history` through a cluster client (with retries).
fn read_all(
    rt: &tokio::runtime::Runtime,
    cluster: &TestCluster,
    history: &History,
) -> HashMap<String, Vec<u8>> {
    rt.block_on(async {
        let mut conn = connect(&cluster.client()).await;
        let mut state = HashMap::new();
        for key in history.keys() {
            let deadline = Instant::now() + Duration::from_secs(30);
            let v = loop {
                match redis::cmd("GET")
                    .arg(key)
                    .query_async::<Option<Vec<u8>>>(&mut conn)
                    .await
                {
                    Ok(v) => break v,
                    Err(e) if Instant::now() < deadline => {
                        let _ = e;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(e) => panic!("GET {key}: {e}"),
                }
            };
            if let Some(v) = v {
                state.insert(key.clone(), v);
            }
        }
        state
    })
}

/// Checks the final state against the history, prints the counts and
/// asserts that nothing acknowledged was lost.
fn check_history(
    name: &str,
    rt: &tokio::runtime::Runtime,
    cluster: &TestCluster,
    history: &History,
    errors: &BTreeMap<String, u64>,
) {
    let state = read_all(rt, cluster, history);
    let report = checker::check(history, |k| state.get(k).cloned());
    println!(
        "{name}: SET {} acknowledged, {} indeterminate; INCR {} acknowledged, {} indeterminate \
         ({} of them applied); registers at the last ack {}, at a later indeterminate SET {}, \
         at an earlier one {}, missing (never acked) {}",
        history.acked_sets(),
        history.indeterminate_sets(),
        history.acked_incrs(),
        history.indeterminate_incrs(),
        report.indeterminate_incrs_applied,
        report.registers_at_last_ack,
        report.registers_at_later_indeterminate,
        report.registers_at_earlier_indeterminate,
        report.registers_missing_unacked,
    );
    println!("{name}: client errors by kind: {errors:?}");
    for v in report.violations.iter().take(20) {
        println!("  VIOLATION {v}");
    }
    assert!(
        report.ok(),
        "{name}: {} acknowledged writes lost or corrupted (first: {})",
        report.violations.len(),
        report.violations[0]
    );
    assert!(
        history.acked_sets() > 0 && history.acked_incrs() > 0,
        "{name}: no write was acknowledged"
    );
}

/// Asserts that every node holds the same data, and returns the digest.
fn assert_converged(cluster: &TestCluster, within: Duration) -> String {
    match cluster.wait_converged(Instant::now() + within) {
        Ok(d) => d,
        Err(e) => panic!("{e}\n{}", cluster.log_tails(20)),
    }
}

// ---------------------------------------------------------------------
// Crashes

#[test]
fn acknowledged_writes_survive_kill_9_of_random_nodes() {
    let secs = env_num("REDRAFT_REPL_CRASH_SECS", 20);
    let writers_n = env_num("REDRAFT_REPL_CONNS", 50) as usize;
    let max_kills = (secs * 1000 / 3500).clamp(1, 8);
    let mut cluster = TestCluster::start(ClusterOpts::new());
    let rt = runtime();
    let load = Load::new();
    let _stopper = StopOnDrop(Arc::clone(&load));
    let client = writer_client(&cluster, &(0..cluster.len()).collect::<Vec<_>>());
    let writers = start_writers(&rt, &client, "crash", writers_n, &load);

    let started = Instant::now();
    let end = started + Duration::from_secs(secs);
    let mut rng = rand::rng();
    let mut kills = Vec::new();
    let mut epoch_acks = 0;
    while kills.len() < max_kills as usize {
        let pause = Duration::from_millis(rng.random_range(2500..3500));
        if Instant::now() + pause >= end {
            break;
        }
        std::thread::sleep(pause);
        // Writes must have been acknowledged since the last restart.
        let progressed = wait_until(Instant::now() + Duration::from_secs(30), || {
            load.acks.load(Ordering::Relaxed) > epoch_acks
        });
        assert!(
            progressed,
            "no write acknowledged within 30 s after kill #{}\n{}",
            kills.len(),
            cluster.log_tails(20)
        );
        let victim = rng.random_range(0..cluster.len());
        cluster.kill9(victim);
        kills.push(victim + 1);
        epoch_acks = load.acks.load(Ordering::Relaxed);
        // Down for a moment, so leaders move.
        std::thread::sleep(Duration::from_millis(rng.random_range(200..1500)));
        cluster.restart(victim);
        // Back in the cluster before the next kill, so a majority of every
        // shard stays up.
        if let Err(e) = cluster.wait_ready(Instant::now() + Duration::from_secs(30)) {
            panic!(
                "after restarting node {}: {e}\n{}",
                victim + 1,
                cluster.log_tails(20)
            );
        }
    }
    let progressed = wait_until(end.max(Instant::now()) + Duration::from_secs(30), || {
        Instant::now() >= end && load.acks.load(Ordering::Relaxed) > epoch_acks
    });
    let acks_at_end = load.acks.load(Ordering::Relaxed);
    let (history, errors) = stop_writers(&rt, &load, writers);
    if !progressed {
        let infos: Vec<String> = (0..cluster.len())
            .map(|i| format!("node {}: {:?}", i + 1, cluster.replication(i)))
            .collect();
        panic!(
            "no write acknowledged within 30 s after the last restart (acks {epoch_acks} \
             before it, {acks_at_end} at the end); client errors by kind: {errors:?}\n{}\n{}",
            infos.join("\n"),
            cluster.log_tails(30)
        );
    }
    println!(
        "crash test: {writers_n} writers, {:.1} s, kill -9 + restart of nodes {kills:?}",
        started.elapsed().as_secs_f64()
    );
    assert!(!kills.is_empty(), "no node was killed during the load");
    cluster
        .wait_ready(Instant::now() + Duration::from_secs(30))
        .expect("cluster ready after the load");
    check_history("crash test", &rt, &cluster, &history, &errors);
    assert_eq!(
        (history.registers.len(), history.counters.len()),
        (
            writers_n * REGISTERS_PER_WRITER,
            writers_n * COUNTERS_PER_WRITER
        )
    );
    let digest = assert_converged(&cluster, Duration::from_secs(30));
    println!("crash test: all nodes at digest {digest}");
}

// ---------------------------------------------------------------------
// Snapshots

#[test]
fn a_paused_follower_catches_up_by_snapshot() {
    let mut cluster =
        TestCluster::start(ClusterOpts::new().args(["--raft-compact-entries", "200"]));
    let empty = assert_converged(&cluster, Duration::from_secs(10));
    let victim = 2;
    let before = cluster.replication(victim).expect("INFO replication");
    cluster.pause(victim);
    // The other two lead every shard before the writes start.
    let covered = wait_until(Instant::now() + Duration::from_secs(30), || {
        cluster.live_leaders_cover_all_slots()
    });
    assert!(
        covered,
        "the live nodes did not take over every shard\n{}",
        cluster.log_tails(20)
    );
    let rt = runtime();
    let client = cluster.client_builder(&[0, 1]).build().expect("client");
    // 3000 keys over every slot: about 1000 entries per shard, five
    // compactions' worth.
    let written = rt.block_on(async {
        let conn = connect(&client).await;
        let tasks: Vec<_> = (0..20)
            .map(|t| {
                let mut conn = conn.clone();
                tokio::spawn(async move {
                    for n in 0..150 {
                        let key = format!("snap:{t}:{n}");
                        let deadline = Instant::now() + Duration::from_secs(30);
                        loop {
                            match redis::cmd("SET")
                                .arg(&key)
                                .arg(&key)
                                .query_async::<Value>(&mut conn)
                                .await
                            {
                                Ok(Value::Okay) => break,
                                r if Instant::now() >= deadline => {
                                    panic!("SET {key} not acknowledged in 30 s: {r:?}")
                                }
                                _ => tokio::time::sleep(Duration::from_millis(20)).await,
                            }
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("writer task");
        }
        3000
    });
    cluster.resume(victim);
    let mut received = before.snapshots_received;
    let got = wait_until(Instant::now() + Duration::from_secs(30), || {
        received = cluster
            .replication(victim)
            .map(|r| r.snapshots_received)
            .unwrap_or(0);
        received > before.snapshots_received
    });
    // The sender counts a snapshot once its stream reports success, which
    // can come after the receiver installed it (CI): wait for it, bounded.
    let snapshots_sent = || -> u64 {
        (0..cluster.len())
            .filter(|&i| i != victim)
            .filter_map(|i| cluster.replication(i).ok())
            .map(|r| r.snapshots_sent)
            .sum()
    };
    let _ = wait_until(Instant::now() + Duration::from_secs(30), || {
        snapshots_sent() >= 1
    });
    let sent = snapshots_sent();
    println!(
        "snapshot test: {written} keys written while node {} was stopped; it received {received} \
         snapshot(s), the others sent {sent}",
        victim + 1
    );
    assert!(
        got,
        "node {} received no snapshot after {written} writes with --raft-compact-entries 200\n{}",
        victim + 1,
        cluster.log_tails(20)
    );
    assert!(sent >= 1, "no node counts a snapshot sent");
    let digest = assert_converged(&cluster, Duration::from_secs(30));
    assert_ne!(digest, empty, "the digest did not change with 3000 keys");
    // The resumed node holds the data: read a few keys from it as a follower.
    let mut c = RawConn::connect(cluster.node(victim).socket_addr()).expect("connect");
    assert_eq!(
        c.cmd(&["READONLY"]).expect("READONLY"),
        Frame::SimpleString(b"OK".to_vec())
    );
    for key in ["snap:0:0", "snap:7:77", "snap:19:149"] {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut last = None;
        let ok = wait_until(deadline, || {
            last = c.cmd(&["GET", key]).ok();
            last == Some(Frame::BulkString(key.as_bytes().to_vec()))
        });
        assert!(ok, "GET {key} (READONLY) on node {}: {last:?}", victim + 1);
    }
}

// ---------------------------------------------------------------------
// Partitions

/// Whether a TCP connect from node `from`'s namespace (the test's own when
/// `None`) to a closed port of node `to` gets an answer: refused when
/// reachable, timed out when the packets are dropped.
fn netns_probe(net: &NetnsNet, from: Option<usize>, to: usize) -> bool {
    let script = format!("exec 3<>/dev/tcp/{}/9", net.node_ip(to));
    let mut cmd = match from {
        Some(i) => {
            let mut c = Command::new("ip");
            c.args([
                "netns",
                "exec",
                net.namespace(i),
                "timeout",
                "2",
                "bash",
                "-c",
            ]);
            c
        }
        None => {
            let mut c = Command::new("timeout");
            c.args(["2", "bash", "-c"]);
            c
        }
    };
    let out = cmd.arg(&script).output().expect("probe");
    // `timeout` exits 124 when it had to stop the connect.
    out.status.code() != Some(124)
}

#[test]
fn netns_harness_isolates_and_cleans_up() {
    if let Err(why) = NetnsNet::check() {
        eprintln!("SKIPPED netns_harness_isolates_and_cleans_up: {why}");
        return;
    }
    let mut net = NetnsNet::create(3).expect("namespaces");
    let names: Vec<String> = (0..3).map(|i| net.namespace(i).to_string()).collect();
    for to in 0..3 {
        assert!(netns_probe(&net, None, to), "host cannot reach node {to}");
        assert!(
            netns_probe(&net, Some((to + 1) % 3), to),
            "node {} cannot reach node {to}",
            (to + 1) % 3
        );
    }
    net.isolate(0).expect("isolate");
    assert!(
        !netns_probe(&net, Some(1), 0),
        "node 1 still reaches the isolated node 0"
    );
    assert!(
        !netns_probe(&net, Some(0), 2),
        "the isolated node 0 still reaches node 2"
    );
    assert!(
        netns_probe(&net, Some(1), 2),
        "nodes 1 and 2 lost each other"
    );
    assert_eq!(
        netns_probe(&net, None, 0),
        net.tool() != PartitionTool::LinkDown,
        "host reachability of the isolated node"
    );
    net.heal(0).expect("heal");
    assert!(
        netns_probe(&net, Some(1), 0),
        "node 1 cannot reach node 0 after healing"
    );
    drop(net);
    let list = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns");
    let list = String::from_utf8_lossy(&list.stdout);
    for n in names {
        assert!(!list.contains(&n), "namespace {n} left behind");
    }
}

#[test]
fn a_partitioned_node_acknowledges_nothing_and_heals() {
    if let Err(why) = NetnsNet::check() {
        eprintln!("SKIPPED a_partitioned_node_acknowledges_nothing_and_heals: {why}");
        return;
    }
    let mut nc = match NetnsCluster::start(ClusterOpts::new(), 7001) {
        Ok(nc) => nc,
        Err(e) => panic!("netns cluster: {e}"),
    };
    let rt = runtime();
    let n = nc.cluster.len();
    // Start from settled leaders: a leader transfer back to a preferred
    // node in the middle of the cut leaves clients with slot maps that keep
    // naming the isolated node.
    assert!(
        nc.cluster
            .wait_preferred_leaders(Instant::now() + Duration::from_secs(30)),
        "leaders never settled on their preferred nodes"
    );
    // Isolate a node that leads something, so its shard must fail over.
    let victim = (0..n)
        .find(|&i| nc.cluster.led_slots(i).is_ok_and(|r| !r.is_empty()))
        .expect("some node leads a shard");
    let victim_ranges = nc.cluster.led_slots(victim).expect("CLUSTER NODES");
    let majority: Vec<usize> = (0..n).filter(|&i| i != victim).collect();

    // Background load through every node, with a history.
    let load = Load::new();
    let _stopper = StopOnDrop(Arc::clone(&load));
    let client = writer_client(&nc.cluster, &(0..n).collect::<Vec<_>>());
    let writers = start_writers(&rt, &client, "part", 10, &load);
    let warm = wait_until(Instant::now() + Duration::from_secs(10), || {
        load.acks.load(Ordering::Relaxed) > 100
    });
    assert!(warm, "no load before the partition");

    nc.net.isolate(victim).expect("isolate");
    let cut_at = Instant::now();
    let reachable = nc.net.reachable(victim);
    if !reachable {
        eprintln!(
            "partition test: neither nft nor iptables here; the isolated node is unreachable \
             and its replies are not checked"
        );
    }

    // Direct writes to the isolated node for the slots it led: never +OK.
    let victim_addr = nc.cluster.node(victim).socket_addr();
    let iso_key = key_in("iso:", |s| {
        victim_ranges.iter().any(|&(a, b)| (a..=b).contains(&s))
    })
    .expect("a key in the isolated node's slots");
    let mut iso_history = History::default();
    let direct = std::thread::spawn({
        let iso_key = iso_key.clone();
        move || {
            let mut replies: BTreeMap<String, u64> = BTreeMap::new();
            let mut h = checker::RegisterHistory::default();
            let mut conn: Option<RawConn> = None;
            let end = Instant::now() + Duration::from_secs(6);
            let mut n = 0;
            while reachable && Instant::now() < end && n < 500 {
                n += 1;
                if conn.is_none() {
                    conn = RawConn::connect(victim_addr).ok();
                    if let Some(c) = conn.as_mut() {
                        let _ = c.set_timeout(Duration::from_millis(1500));
                    }
                }
                let Some(c) = conn.as_mut() else {
                    *replies.entry("connect failed".into()).or_default() += 1;
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                };
                h.attempt(n);
                let kind = match c.cmd(&["SET", &iso_key, &register_value(&iso_key, n)]) {
                    Ok(Frame::SimpleString(s)) if s == b"OK" => "OK".to_string(),
                    // A write in flight when the node stepped down: not
                    // acknowledged, outcome unknown.
                    Ok(Frame::Error(e)) if e.starts_with("ERR write outcome unknown") => {
                        "outcome unknown".to_string()
                    }
                    Ok(Frame::Error(e)) => e.split_whitespace().next().unwrap_or("").to_string(),
                    Ok(other) => format!("unexpected {}", frame_text(&other)),
                    Err(_) => {
                        conn = None;
                        "timeout or I/O error".to_string()
                    }
                };
                *replies.entry(kind).or_default() += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            (replies, h)
        }
    });

    // Writes through the majority side succeed again within a few
    // seconds, for every shard.
    let majority_client = nc
        .cluster
        .client_builder(&majority)
        .build()
        .expect("client");
    let probe_keys: Vec<String> = (0..16)
        .map(|k| key_in(&format!("maj:{k}:"), |s| s / 1024 == k).expect("key"))
        .collect();
    let recovered = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut conn = connect(&majority_client).await;
        for key in &probe_keys {
            loop {
                let r = tokio::time::timeout(
                    Duration::from_secs(3),
                    redis::cmd("SET")
                        .arg(key)
                        .arg("1")
                        .query_async::<Value>(&mut conn),
                )
                .await;
                if matches!(r, Ok(Ok(Value::Okay))) {
                    break;
                }
                if Instant::now() >= deadline {
                    return Err(format!("SET {key} through the majority: {r:?}"));
                }
                // A client that took its slot map while the isolated node
                // still led a shard keeps sending there (no connection, or
                // no answer): reconnect, as an application would, to read
                // the map again.
                conn = connect(&majority_client).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(cut_at.elapsed())
    });
    let recovered = match recovered {
        Ok(t) => t,
        Err(e) => panic!("{e}\n{}", nc.cluster.log_tails(20)),
    };
    println!(
        "partition test: node {} isolated ({:?}); writes on all 16 slot ranges through the \
         majority acknowledged {:.2} s after the cut",
        victim + 1,
        nc.net.tool(),
        recovered.as_secs_f64()
    );
    let (replies, h) = direct.join().expect("direct writer");
    println!("partition test: direct writes to the isolated node: {replies:?}");
    assert!(
        !replies.contains_key("OK"),
        "the isolated node acknowledged a write to {iso_key}: {replies:?}"
    );
    for kind in replies.keys() {
        assert!(
            [
                "MOVED",
                "CLUSTERDOWN",
                "TRYAGAIN",
                "outcome unknown",
                "timeout or I/O error",
                "connect failed"
            ]
            .contains(&kind.as_str()),
            "the isolated node answered {kind:?} (all: {replies:?})"
        );
    }
    iso_history.registers.insert(iso_key, h);

    // The load keeps going while partitioned, then heal.
    let before = load.acks.load(Ordering::Relaxed);
    let progressed = wait_until(Instant::now() + Duration::from_secs(15), || {
        load.acks.load(Ordering::Relaxed) > before + 50
    });
    assert!(progressed, "the load made no progress during the partition");
    nc.net.heal(victim).expect("heal");
    nc.cluster
        .wait_ready(Instant::now() + Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("after healing: {e}\n{}", nc.cluster.log_tails(20)));
    let after_heal = load.acks.load(Ordering::Relaxed);
    let progressed = wait_until(Instant::now() + Duration::from_secs(15), || {
        load.acks.load(Ordering::Relaxed) > after_heal + 50
    });
    assert!(progressed, "the load made no progress after healing");
    let (mut history, errors) = stop_writers(&rt, &load, writers);
    history.merge(iso_history);
    check_history("partition test", &rt, &nc.cluster, &history, &errors);
    let digest = assert_converged(&nc.cluster, Duration::from_secs(30));
    println!("partition test: all nodes at digest {digest}");
}

// ---------------------------------------------------------------------
// Failover

#[test]
fn failover_time_after_kill_9_of_a_leader() {
    let mut cluster = TestCluster::start(ClusterOpts::new());
    let rt = runtime();
    let key = "failover:probe";
    let slot = key_slot(key.as_bytes());
    let leader = cluster
        .wait_leader_of_slot(slot, Instant::now() + Duration::from_secs(10))
        .expect("a leader for the probe's slot");
    let client = cluster
        .client_builder(&(0..cluster.len()).collect::<Vec<_>>())
        .response_timeout(Duration::from_millis(1000))
        .connection_timeout(Duration::from_millis(500))
        .retries(1)
        .build()
        .expect("client");
    let mut conn = rt.block_on(connect(&client));
    let warm: Value = rt
        .block_on(redis::cmd("SET").arg(key).arg("0").query_async(&mut conn))
        .expect("SET before the kill");
    assert_eq!(warm, Value::Okay);

    cluster.kill9(leader);
    let killed_at = Instant::now();
    let (elapsed, attempts, last) = rt.block_on(async {
        let deadline = killed_at + Duration::from_secs(30);
        let mut attempts = 0u32;
        let mut last = String::new();
        while Instant::now() < deadline {
            attempts += 1;
            let r = tokio::time::timeout(
                Duration::from_secs(2),
                redis::cmd("SET")
                    .arg(key)
                    .arg(attempts)
                    .query_async::<Value>(&mut conn),
            )
            .await;
            match r {
                Ok(Ok(Value::Okay)) => return (Some(killed_at.elapsed()), attempts, last),
                Ok(Ok(v)) => last = format!("{v:?}"),
                Ok(Err(e)) => last = error_text(&e),
                Err(_) => last = "timed out".into(),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (None, attempts, last)
    });
    let Some(elapsed) = elapsed else {
        panic!(
            "no write on slot {slot} acknowledged within 30 s of killing its leader (node {}); \
             last: {last}\n{}",
            leader + 1,
            cluster.log_tails(20)
        );
    };
    let new_leader = cluster.wait_leader_of_slot(slot, Instant::now() + Duration::from_secs(10));
    println!(
        "failover: kill -9 of node {} (leader of slot {slot}) to the first acknowledged write: \
         {} ms ({attempts} attempts; new leader: node {:?})",
        leader + 1,
        elapsed.as_millis(),
        new_leader.map(|i| i + 1)
    );
    assert!(
        new_leader.is_some_and(|l| l != leader),
        "no live node leads slot {slot} after the failover"
    );
    // The killed node comes back and catches up.
    cluster.restart(leader);
    cluster
        .wait_ready(Instant::now() + Duration::from_secs(30))
        .expect("ready after the restart");
    assert_converged(&cluster, Duration::from_secs(30));
}
