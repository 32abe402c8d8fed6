//! Replica anti-entropy on 3-node clusters of real processes
//! (docs/architecture/anti-entropy.md).
//!
//! Every node runs with `--anti-entropy-secs 1` (a check of every shard
//! each second) and `--enable-debug-command local`, so the test can change
//! one replica's engine behind Raft's back with `DEBUG REDRAFT-CORRUPT`.
//!
//! - `a_corrupted_follower_is_detected_and_repaired`: change a value,
//!   delete a key and add a stray key on one follower while a writer keeps
//!   writing; the checks must find that replica divergent, repair it by a
//!   snapshot, every node must end with the same data (`DEBUG DIGEST`) and
//!   every acknowledged write must read back from every replica.
//! - `a_corrupted_leader_hands_over_and_is_repaired`: the same with the
//!   shard leader's copy.
//! - `no_divergence_is_reported_under_concurrent_writes`: several rounds
//!   of checks while writers change every kind of key (and keys expire):
//!   no replica may be found divergent.
//! - `debug_redraft_corrupt_is_refused_without_enable_debug_command`:
//!   Redis's error when DEBUG is not enabled.
//!
//! Leaders are first left to settle on their preferred nodes (shard 1,
//! slots 0..=5460, on node 1), so the corrupted replica's role is known.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redraft_integration::cluster::{key_in, key_slot, AntiEntropyInfo, ClusterOpts, TestCluster};
use redraft_integration::raw::{Frame, RawConn};
use redraft_integration::{wait_until, NodeOpts, TestNode};

/// Slots of shard 1, which node 1 (index 0) leads once leaders settle.
const SHARD1_END: u16 = 5460;

fn opts() -> ClusterOpts {
    ClusterOpts::new().args([
        "--anti-entropy-secs",
        "1",
        "--enable-debug-command",
        "local",
    ])
}

fn ae(cluster: &TestCluster, i: usize) -> AntiEntropyInfo {
    cluster
        .replication(i)
        .map(|r| r.anti_entropy)
        .unwrap_or_default()
}

/// Waits until each node leads its preferred shard (see
/// [`TestCluster::wait_preferred_leaders`]): node 1 leads shard 1.
fn wait_balanced(cluster: &TestCluster) {
    let balanced = cluster.wait_preferred_leaders(Instant::now() + Duration::from_secs(30));
    assert!(
        balanced,
        "leaders never settled on their preferred nodes\n{}",
        cluster.log_tails(20)
    );
}

fn connect(cluster: &TestCluster) -> redis::cluster::ClusterConnection {
    let client = cluster.client();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client.get_connection() {
            Ok(c) => return c,
            Err(e) if Instant::now() >= deadline => panic!("cluster client cannot connect: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// SETs `key` to `value` until acknowledged (SET is idempotent), within
/// 30 s.
fn set_acked(conn: &mut redis::cluster::ClusterConnection, key: &str, value: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match redis::cmd("SET")
            .arg(key)
            .arg(value)
            .query::<redis::Value>(conn)
        {
            Ok(redis::Value::Okay) => return,
            r if Instant::now() >= deadline => panic!("SET {key} not acknowledged in 30 s: {r:?}"),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Writes `n` keys (a third of them in shard 1) and returns them.
fn write_keys(cluster: &TestCluster, prefix: &str, n: usize) -> BTreeMap<String, String> {
    let mut conn = connect(cluster);
    let mut written = BTreeMap::new();
    for i in 0..n {
        let key = format!("{prefix}:{i}");
        let value = format!("value-{i}-{}", "x".repeat(i % 50));
        set_acked(&mut conn, &key, &value);
        written.insert(key, value);
    }
    written
}

/// `DEBUG REDRAFT-CORRUPT …` on node `i`.
fn corrupt(cluster: &TestCluster, i: usize, args: &[&str]) -> Frame {
    let mut all = vec!["DEBUG", "REDRAFT-CORRUPT"];
    all.extend_from_slice(args);
    cluster.cmd(i, &all).expect("DEBUG REDRAFT-CORRUPT")
}

/// Changes one value, deletes one key and adds a stray key, all in shard 1,
/// on node `victim`'s engine only. Returns the stray key.
fn corrupt_shard1(
    cluster: &TestCluster,
    victim: usize,
    written: &BTreeMap<String, String>,
) -> String {
    let mut in_shard1 = written
        .keys()
        .filter(|k| key_slot(k.as_bytes()) <= SHARD1_END);
    let changed = in_shard1.next().expect("a key in shard 1");
    let deleted = in_shard1.next().expect("a second key in shard 1");
    let stray = key_in("stray:", |s| s <= SHARD1_END).expect("a stray key in shard 1");
    assert_eq!(
        corrupt(cluster, victim, &["SET", changed, "corrupted"]),
        Frame::SimpleString(b"OK".to_vec())
    );
    assert_eq!(
        corrupt(cluster, victim, &["DEL", deleted]),
        Frame::Integer(1),
        "{deleted} existed on node {}",
        victim + 1
    );
    assert_eq!(
        corrupt(cluster, victim, &["SET", &stray, "stray"]),
        Frame::SimpleString(b"OK".to_vec())
    );
    stray
}

/// Waits until node `victim` reports its replica found divergent and
/// repaired, and the others report the divergence; returns how long
/// that took from `since`.
fn wait_repaired(cluster: &TestCluster, victim: usize, since: Instant) -> Duration {
    let mut last = Vec::new();
    let ok = wait_until(Instant::now() + Duration::from_secs(60), || {
        last = (0..3).map(|i| ae(cluster, i)).collect();
        last[victim].local_divergent >= 1
            && last[victim].repairs >= 1
            && last.iter().all(|a| a.divergent >= 1)
    });
    let took = since.elapsed();
    assert!(
        ok,
        "node {} was not found divergent and repaired: {last:#?}\n{}",
        victim + 1,
        cluster.log_tails(30)
    );
    took
}

/// Every node holds exactly `expected` (and not `absent`), read from each
/// replica on a READONLY connection (waits for a follower still applying).
fn assert_every_replica_holds(
    cluster: &TestCluster,
    expected: &BTreeMap<String, String>,
    absent: &[String],
) {
    for i in 0..cluster.len() {
        let mut wrong = Vec::new();
        let ok = wait_until(Instant::now() + Duration::from_secs(30), || {
            wrong.clear();
            let mut c = match RawConn::connect(cluster.node(i).socket_addr()) {
                Ok(c) => c,
                Err(e) => {
                    wrong.push(format!("connect: {e}"));
                    return false;
                }
            };
            let _ = c.set_timeout(Duration::from_secs(5));
            if c.cmd(&["READONLY"]).ok() != Some(Frame::SimpleString(b"OK".to_vec())) {
                wrong.push("READONLY refused".into());
                return false;
            }
            for (k, v) in expected {
                match c.cmd(&["GET", k.as_str()]) {
                    Ok(Frame::BulkString(got)) if got == v.as_bytes() => {}
                    other => wrong.push(format!("GET {k}: {other:?}, expected {v:?}")),
                }
            }
            for k in absent {
                match c.cmd(&["GET", k.as_str()]) {
                    Ok(Frame::Null) => {}
                    other => wrong.push(format!("GET {k}: {other:?}, expected nil")),
                }
            }
            wrong.is_empty()
        });
        assert!(
            ok,
            "node {} does not hold every acknowledged write ({} wrong): {:?}",
            i + 1,
            wrong.len(),
            &wrong[..wrong.len().min(10)]
        );
    }
}

/// Writes unique keys through the cluster until `stop` (at most 5000, at
/// most 60 s); returns the acknowledged ones.
fn background_writer(
    cluster: &TestCluster,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<BTreeMap<String, String>> {
    let mut conn = connect(cluster);
    std::thread::spawn(move || {
        let started = Instant::now();
        let mut acked = BTreeMap::new();
        for i in 0..5000 {
            if stop.load(Ordering::Relaxed) || started.elapsed() > Duration::from_secs(60) {
                break;
            }
            let key = format!("during:{i}");
            let value = format!("d{i}");
            // One attempt per key: an error leaves the key indeterminate
            // (not checked); only acknowledged writes must survive.
            if let Ok(redis::Value::Okay) = redis::cmd("SET")
                .arg(&key)
                .arg(&value)
                .query::<redis::Value>(&mut conn)
            {
                acked.insert(key, value);
            }
        }
        acked
    })
}

fn corrupted_replica_is_repaired(victim: usize, role: &str) {
    let cluster = TestCluster::start(opts());
    wait_balanced(&cluster);
    let mut written = write_keys(&cluster, "ae", 300);
    cluster
        .wait_converged(Instant::now() + Duration::from_secs(30))
        .expect("replicas converge before the corruption");
    let before: Vec<AntiEntropyInfo> = (0..3).map(|i| ae(&cluster, i)).collect();
    assert!(
        before
            .iter()
            .all(|a| a.divergent == 0 && a.repairs == 0 && a.unresolved == 0),
        "divergence before any corruption: {before:#?}"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let writer = background_writer(&cluster, stop.clone());
    let corrupted_at = Instant::now();
    let stray = corrupt_shard1(&cluster, victim, &written);
    let took = wait_repaired(&cluster, victim, corrupted_at);
    stop.store(true, Ordering::Relaxed);
    let during = writer.join().expect("writer thread");
    println!(
        "anti-entropy: corrupted {role} (node {}) found divergent and repaired {:.2} s after \
         the corruption (checks every 1 s); {} writes acknowledged meanwhile",
        victim + 1,
        took.as_secs_f64(),
        during.len()
    );
    cluster
        .wait_converged(Instant::now() + Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}\n{}", cluster.log_tails(30)));
    written.extend(during);
    assert_every_replica_holds(&cluster, &written, &[stray]);
    let after: Vec<AntiEntropyInfo> = (0..3).map(|i| ae(&cluster, i)).collect();
    for (i, a) in after.iter().enumerate() {
        if i != victim {
            assert_eq!(
                a.local_divergent,
                0,
                "node {} was not corrupted but found divergent: {after:#?}",
                i + 1
            );
        }
        assert_eq!(a.unresolved, 0, "node {}: {after:#?}", i + 1);
    }
}

#[test]
fn a_corrupted_follower_is_detected_and_repaired() {
    // Node 3 follows shard 1 (led by node 1).
    corrupted_replica_is_repaired(2, "follower");
}

#[test]
fn a_corrupted_leader_hands_over_and_is_repaired() {
    // Node 1 leads shard 1.
    corrupted_replica_is_repaired(0, "leader");
}

/// Mixed writes by one writer, `ops` at most, until `stop`.
fn mixed_writer(
    cluster: &TestCluster,
    w: usize,
    ops: usize,
    stop: Arc<AtomicBool>,
    errors: Arc<Mutex<Vec<String>>>,
) -> std::thread::JoinHandle<usize> {
    let mut conn = connect(cluster);
    std::thread::spawn(move || {
        let mut done = 0;
        for i in 0..ops {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let k = i % 40;
            let cmd = match i % 8 {
                0 => redis::cmd("SET").arg(format!("s:{w}:{k}")).arg(i).clone(),
                1 => redis::cmd("INCR").arg(format!("c:{w}:{k}")).clone(),
                2 => redis::cmd("HSET")
                    .arg(format!("h:{w}:{}", k % 5))
                    .arg(format!("f{k}"))
                    .arg(i)
                    .clone(),
                3 => redis::cmd("RPUSH")
                    .arg(format!("l:{w}:{}", k % 5))
                    .arg(i)
                    .clone(),
                4 => redis::cmd("SADD")
                    .arg(format!("t:{w}:{}", k % 5))
                    .arg(k)
                    .clone(),
                5 => redis::cmd("ZADD")
                    .arg(format!("z:{w}:{}", k % 5))
                    .arg(i)
                    .arg(format!("m{k}"))
                    .clone(),
                // Keys that expire, so the sweeper deletes during checks.
                6 => redis::cmd("SET")
                    .arg(format!("e:{w}:{k}"))
                    .arg(i)
                    .arg("PX")
                    .arg(200)
                    .clone(),
                _ => redis::cmd("DEL").arg(format!("l:{w}:{}", k % 5)).clone(),
            };
            match cmd.query::<redis::Value>(&mut conn) {
                Ok(_) => done += 1,
                Err(e) => {
                    let mut errors = errors.lock().expect("errors");
                    if errors.len() < 20 {
                        errors.push(e.to_string());
                    }
                }
            }
        }
        done
    })
}

#[test]
fn no_divergence_is_reported_under_concurrent_writes() {
    let cluster = TestCluster::start(opts());
    wait_balanced(&cluster);
    let before: Vec<AntiEntropyInfo> = (0..3).map(|i| ae(&cluster, i)).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..4)
        .map(|w| mixed_writer(&cluster, w, 50_000, stop.clone(), errors.clone()))
        .collect();
    // Each node takes part in 3 checks a second (one per shard): wait for
    // at least 4 rounds on every node while the writers run.
    let mut now = Vec::new();
    let rounds = wait_until(Instant::now() + Duration::from_secs(60), || {
        now = (0..3).map(|i| ae(&cluster, i)).collect();
        now.iter()
            .zip(&before)
            .all(|(n, b)| n.checks >= b.checks + 12)
    });
    stop.store(true, Ordering::Relaxed);
    let ops: usize = writers
        .into_iter()
        .map(|w| w.join().expect("writer thread"))
        .sum();
    assert!(
        rounds,
        "checks did not run: before {before:#?}, now {now:#?}\n{}",
        cluster.log_tails(20)
    );
    assert!(
        ops > 0,
        "no write succeeded: {:?}",
        errors.lock().expect("errors")
    );
    cluster
        .wait_converged(Instant::now() + Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}\n{}", cluster.log_tails(30)));
    let after: Vec<AntiEntropyInfo> = (0..3).map(|i| ae(&cluster, i)).collect();
    println!(
        "anti-entropy under load: {ops} writes; checks per node {:?}",
        after.iter().map(|a| a.checks).collect::<Vec<_>>()
    );
    for (i, a) in after.iter().enumerate() {
        assert!(
            a.divergent == 0 && a.local_divergent == 0 && a.repairs == 0 && a.unresolved == 0,
            "node {}: false divergence under concurrent writes: {after:#?}\n{}",
            i + 1,
            cluster.log_tails(30)
        );
    }
}

#[test]
fn debug_redraft_corrupt_is_refused_without_enable_debug_command() {
    let node = TestNode::start(NodeOpts::new().redraft_only());
    let mut c = RawConn::connect(node.socket_addr()).expect("connect");
    c.set_timeout(Duration::from_secs(5)).expect("timeout");
    let refused = Frame::Error(
        "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", \
         you can run it from a local connection, otherwise you need to set this option in the \
         configuration file, and then restart the server."
            .into(),
    );
    for args in [
        &["DEBUG", "REDRAFT-CORRUPT", "SET", "k", "v"][..],
        &["DEBUG", "redraft-corrupt", "DEL", "k"][..],
    ] {
        assert_eq!(c.cmd(args).expect("DEBUG"), refused, "{args:?}");
    }
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "enable-debug-command"])
            .expect("CONFIG GET"),
        Frame::Array(vec![
            Frame::BulkString(b"enable-debug-command".to_vec()),
            Frame::BulkString(b"no".to_vec()),
        ])
    );
    // DIGEST changes nothing and stays allowed.
    assert_eq!(
        c.cmd(&["DEBUG", "DIGEST"]).expect("DEBUG DIGEST"),
        Frame::SimpleString(b"0".repeat(40))
    );
    // Nothing was written.
    assert_eq!(c.cmd(&["GET", "k"]).expect("GET"), Frame::Null);
}

#[test]
fn debug_redraft_corrupt_changes_only_this_replica_when_enabled() {
    let node = TestNode::start(NodeOpts::new().redraft_only().args([
        "--enable-debug-command",
        "local",
        "--anti-entropy-secs",
        "0",
    ]));
    let mut c = RawConn::connect(node.socket_addr()).expect("connect");
    c.set_timeout(Duration::from_secs(5)).expect("timeout");
    assert_eq!(
        c.cmd(&["DEBUG", "REDRAFT-CORRUPT", "SET", "k", "v"])
            .expect("SET"),
        Frame::SimpleString(b"OK".to_vec())
    );
    assert_eq!(
        c.cmd(&["GET", "k"]).expect("GET"),
        Frame::BulkString(b"v".to_vec())
    );
    assert_eq!(
        c.cmd(&["DEBUG", "REDRAFT-CORRUPT", "DEL", "k"])
            .expect("DEL"),
        Frame::Integer(1)
    );
    assert_eq!(
        c.cmd(&["DEBUG", "REDRAFT-CORRUPT", "DEL", "k"])
            .expect("DEL"),
        Frame::Integer(0)
    );
    for bad in [
        &["DEBUG", "REDRAFT-CORRUPT"][..],
        &["DEBUG", "REDRAFT-CORRUPT", "SET", "k"][..],
        &["DEBUG", "REDRAFT-CORRUPT", "DEL", "k", "extra"][..],
        &["DEBUG", "REDRAFT-CORRUPT", "FLIP", "k"][..],
    ] {
        match c.cmd(bad).expect("reply") {
            Frame::Error(e) => assert!(e.starts_with("ERR syntax error"), "{bad:?}: {e}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "enable-debug-command"])
            .expect("CONFIG GET"),
        Frame::Array(vec![
            Frame::BulkString(b"enable-debug-command".to_vec()),
            Frame::BulkString(b"local".to_vec()),
        ])
    );
}
