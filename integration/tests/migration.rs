//! Slot migration (`CLUSTER MIGRATE`), end to end: the redirects Redis
//! Cluster clients expect while a slot moves between shards — `-MOVED`,
//! `-ASK`, `ASKING`, `-TRYAGAIN` — checked at the raw protocol level, and a
//! migration under load from both cluster clients.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use redraft_integration::cluster::{key_slot, ClusterOpts, TestCluster};
use redraft_integration::raw::{frame_text, Frame, RawConn};
use redraft_integration::tools::assert_cluster_check_settles;
use redraft_integration::wait_until;

/// Each data shard's voters and leader node index, from the leaders' INFO.
fn shards(cluster: &TestCluster) -> BTreeMap<u32, (BTreeSet<u64>, usize)> {
    let mut out = BTreeMap::new();
    for i in 0..cluster.len() {
        let Ok(info) = cluster.replication(i) else {
            continue;
        };
        for (shard, s) in info.shards {
            if shard != 0 && s.role == "leader" {
                out.insert(shard, (s.voters.iter().copied().collect(), i));
            }
        }
    }
    out
}

/// The shard owning `slot` when `n` shards split the slots evenly.
fn even_owner(slot: u16, n: u16) -> u32 {
    redraft_cluster::SlotRange::split_even(n)
        .iter()
        .position(|r| r.contains(slot))
        .map_or(0, |i| i as u32 + 1)
}

/// A shard whose voters share no node with `from`'s.
fn disjoint_target(cluster: &TestCluster, from: u32) -> Option<u32> {
    let all = shards(cluster);
    let (a, _) = all.get(&from)?;
    all.iter()
        .find(|(s, (v, _))| **s != from && v.is_disjoint(a))
        .map(|(s, _)| *s)
}

/// `CLUSTER MIGRATE slot to` through whichever node leads the metadata
/// group (REDIRECT and TRYAGAIN are retried).
fn cluster_migrate(cluster: &TestCluster, slot: u16, to: u32) {
    let (slot, to) = (slot.to_string(), to.to_string());
    let mut last = String::new();
    let ok = wait_until(Instant::now() + Duration::from_secs(20), || {
        (0..cluster.len()).any(
            |i| match cluster.cmd_text(i, &["CLUSTER", "MIGRATE", &slot, &to]) {
                Ok(r) => {
                    last = r;
                    true
                }
                Err(e) => {
                    last = e;
                    false
                }
            },
        )
    });
    assert!(ok && last == "OK", "CLUSTER MIGRATE {slot} {to}: {last}");
}

fn conn(cluster: &TestCluster, i: usize) -> RawConn {
    RawConn::connect(cluster.node(i).socket_addr()).expect("connect")
}

fn text(f: Frame) -> String {
    frame_text(&f)
}

fn send(c: &mut RawConn, args: &[&str]) -> String {
    text(c.cmd(args).expect("reply"))
}

/// MOVED, ASK, ASKING and TRYAGAIN as a Redis Cluster client sees them
/// while a slot migrates between two shards on different nodes, then
/// MOVED to the new owner once it is done. The migration is held after
/// its first batch by the `migration-step` failpoint, so the test sees
/// the slot half moved.
#[test]
fn redirects_during_a_slot_migration_are_moved_ask_asking_and_tryagain() {
    let cluster = TestCluster::start(ClusterOpts::new().shards(4).args([
        "--replicas",
        "1",
        "--enable-debug-command",
        "yes",
    ]));
    let slot = key_slot(b"m");
    let from = even_owner(slot, 4);
    assert!(
        wait_until(Instant::now() + Duration::from_secs(20), || shards(
            &cluster
        )
        .len()
            == 4),
        "not every shard has a leader"
    );
    let Some(to) = disjoint_target(&cluster, from) else {
        panic!(
            "no shard on other nodes than shard {from}: {:?}",
            shards(&cluster)
        );
    };
    let all = shards(&cluster);
    let (a, b) = (all[&from].1, all[&to].1);
    let (a_addr, b_addr) = (cluster.node(a).addr(), cluster.node(b).addr());
    let other = (0..cluster.len()).find(|&i| i != a).expect("another node");

    // 150 keys in the slot, written at the source's leader.
    let keys: Vec<String> = (0..150).map(|i| format!("{{m}}:k{i}")).collect();
    let mut ca = conn(&cluster, a);
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(send(&mut ca, &["SET", k, &i.to_string()]), "OK");
    }
    // MOVED: another node sends the client to the slot's leader.
    let mut co = conn(&cluster, other);
    assert_eq!(
        send(&mut co, &["GET", &keys[0]]),
        format!("MOVED {slot} {a_addr}")
    );

    // Held after the first batch (100 keys, in key order) is imported.
    for i in 0..cluster.len() {
        assert_eq!(
            cluster
                .cmd_text(
                    i,
                    &["DEBUG", "FAILPOINT", "migration-step", "2*off->return"]
                )
                .expect("DEBUG FAILPOINT"),
            "OK"
        );
    }
    cluster_migrate(&cluster, slot, to);
    let mut sorted = keys.clone();
    sorted.sort();
    let (moved, stayed) = (&sorted[0], &sorted[149]);
    let ask = format!("ASK {slot} {b_addr}");
    let asked = wait_until(Instant::now() + Duration::from_secs(20), || {
        send(&mut ca, &["GET", moved]) == ask
    });
    assert!(
        asked,
        "the source never answered ASK for a moved key: {}\n{}",
        send(&mut ca, &["GET", moved]),
        cluster.log_tails(40)
    );
    let value = |k: &str| keys.iter().position(|x| x == k).unwrap().to_string();

    // ASK: a moved key, and a key that does not exist (new keys go to the
    // target while the slot migrates), for reads and writes alike.
    assert_eq!(send(&mut ca, &["SET", moved, "x"]), ask);
    assert_eq!(send(&mut ca, &["GET", "{m}:new"]), ask);
    assert_eq!(send(&mut ca, &["SET", "{m}:new", "1"]), ask);
    // A key not moved yet is served by the source.
    assert_eq!(send(&mut ca, &["GET", stayed]), value(stayed));
    assert_eq!(send(&mut ca, &["INCR", "{m}:absent-counter"]), ask);
    // TRYAGAIN: a multi-key command over moved and unmoved keys.
    let tryagain = send(&mut ca, &["MGET", moved, stayed]);
    assert!(tryagain.starts_with("TRYAGAIN"), "{tryagain}");

    // The target: MOVED without ASKING (the slot is still the source's),
    // served after ASKING, for one command only.
    let mut cb = conn(&cluster, b);
    assert_eq!(
        send(&mut cb, &["GET", moved]),
        format!("MOVED {slot} {a_addr}")
    );
    assert_eq!(send(&mut cb, &["ASKING"]), "OK");
    assert_eq!(send(&mut cb, &["GET", moved]), value(moved));
    assert_eq!(
        send(&mut cb, &["GET", moved]),
        format!("MOVED {slot} {a_addr}"),
        "ASKING must cover one command only"
    );
    assert_eq!(send(&mut cb, &["ASKING"]), "OK");
    assert_eq!(send(&mut cb, &["SET", "{m}:new", "1"]), "OK");
    assert_eq!(send(&mut cb, &["ASKING"]), "OK");
    assert_eq!(send(&mut cb, &["GET", "{m}:new"]), "1");
    // TRYAGAIN at the target: several keys, not all imported yet.
    assert_eq!(send(&mut cb, &["ASKING"]), "OK");
    let tryagain = send(&mut cb, &["MGET", moved, stayed]);
    assert!(tryagain.starts_with("TRYAGAIN"), "{tryagain}");
    // All imported ones: served.
    let moved2 = &sorted[1];
    assert_eq!(send(&mut cb, &["ASKING"]), "OK");
    assert_eq!(
        c_array(&mut cb, &["MGET", moved, moved2]),
        vec![value(moved), value(moved2)]
    );

    // redis-cli's check stays OK with the slot half moved.
    let addrs = cluster.addrs();
    assert_cluster_check_settles(&addrs[0], &addrs, Duration::from_secs(30));

    // Let it finish: then MOVED from the source to the target, and the
    // target serves the slot without ASKING.
    for i in 0..cluster.len() {
        cluster
            .cmd_text(i, &["DEBUG", "FAILPOINT", "migration-step", "OFF"])
            .expect("DEBUG FAILPOINT OFF");
    }
    let moved_to_b = format!("MOVED {slot} {b_addr}");
    let done = wait_until(Instant::now() + Duration::from_secs(30), || {
        send(&mut ca, &["GET", stayed]) == moved_to_b
            && send(&mut cb, &["GET", stayed]) == value(stayed)
    });
    assert!(
        done,
        "the slot never became the target's: source says {}, target says {}\n{}",
        send(&mut ca, &["GET", stayed]),
        send(&mut cb, &["GET", stayed]),
        cluster.log_tails(40)
    );
    for k in &keys {
        assert_eq!(
            send(&mut cb, &["GET", k]),
            value(k),
            "{k} after the migration"
        );
    }
    assert_eq!(send(&mut cb, &["GET", "{m}:new"]), "1");
    let slot_text = slot.to_string();
    assert_eq!(
        send(&mut cb, &["CLUSTER", "COUNTKEYSINSLOT", &slot_text]),
        "151"
    );
    assert_eq!(
        send(&mut ca, &["CLUSTER", "COUNTKEYSINSLOT", &slot_text]),
        "0"
    );
    // Every node routes the slot to the target.
    let settled = wait_until(Instant::now() + Duration::from_secs(10), || {
        (0..cluster.len())
            .filter(|&i| i != b)
            .all(|i| send(&mut conn(&cluster, i), &["GET", stayed]) == moved_to_b)
    });
    assert!(settled, "a node still routes slot {slot} elsewhere");
    let addrs = cluster.addrs();
    assert_cluster_check_settles(&addrs[0], &addrs, Duration::from_secs(30));
}

fn c_array(c: &mut RawConn, args: &[&str]) -> Vec<String> {
    match c.cmd(args).expect("reply") {
        Frame::Array(items) => items.iter().map(frame_text).collect(),
        other => panic!("{args:?}: {other:?}"),
    }
}

/// What one writer of the migrating slot did.
#[derive(Default)]
struct SlotWriter {
    /// `(key, value)` SET and acknowledged.
    acked: Vec<(String, u64)>,
    /// INCRs of its counter acknowledged.
    incrs: u64,
    errors: BTreeMap<String, u64>,
}

/// Writes into the migrating slot through the Rust cluster client (which
/// follows MOVED and ASK, and retries TRYAGAIN): new keys, and INCRs of a
/// counter that existed before the migration, until told to stop.
async fn slot_writer(
    id: usize,
    client: redis::cluster::ClusterClient,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    acks: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> SlotWriter {
    let mut log = SlotWriter::default();
    let mut conn = match client.get_async_connection().await {
        Ok(c) => c,
        Err(e) => {
            *log.errors.entry(format!("connect: {e}")).or_default() += 1;
            return log;
        }
    };
    let mut n = 0u64;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 100_000 {
        let r = if n.is_multiple_of(2) {
            let key = format!("{{mig}}:w{id}:{n}");
            redis::cmd("SET")
                .arg(&key)
                .arg(n)
                .query_async::<redis::Value>(&mut conn)
                .await
                .map(|v| {
                    if v == redis::Value::Okay {
                        log.acked.push((key, n));
                    }
                })
        } else {
            redis::cmd("INCR")
                .arg(format!("{{mig}}:c{id}"))
                .query_async::<i64>(&mut conn)
                .await
                .map(|_| log.incrs += 1)
        };
        match r {
            Ok(()) => {
                acks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Err(e) => {
                let kind = e.code().unwrap_or("I/O or timeout").to_string();
                *log.errors.entry(kind).or_default() += 1;
            }
        }
        n += 1;
    }
    log
}

/// A slot with 2,000 keys migrates between shards on different nodes
/// while the Rust cluster client writes new keys into it and increments
/// counters that move with it, and redis-py's `RedisCluster` runs its own
/// load; halfway, with a batch taken from the source but not imported,
/// leadership of the source moves to its other replica, whose driver goes
/// on: no client operation fails (ASK and TRYAGAIN are followed), no
/// acknowledged write is lost, no increment is lost or doubled, and the
/// slot ends up served by the target.
#[test]
fn a_slot_migrates_under_load_from_both_cluster_clients() {
    const SHARDS: u16 = 8;
    // Four nodes, two replicas per shard: the ring puts some shards on
    // disjoint pairs of nodes.
    let placement = redraft_cluster::placement::place(
        &[1, 2, 3, 4],
        &(1..=u64::from(SHARDS)).collect::<Vec<_>>(),
        2,
    );
    let nodes_of = |s: u64| -> BTreeSet<u64> {
        placement
            .iter()
            .find(|b| b.shard == s)
            .map(|b| b.voters.iter().copied().collect())
            .unwrap_or_default()
    };
    let slot = key_slot(b"mig");
    let from = u64::from(even_owner(slot, SHARDS));
    let to = (1..=u64::from(SHARDS))
        .find(|&s| s != from && nodes_of(s).is_disjoint(&nodes_of(from)))
        .expect("the ring places some shard on other nodes than the slot's");
    let cluster = TestCluster::start(ClusterOpts::new().nodes(4).shards(SHARDS).args([
        "--replicas",
        "2",
        "--anti-entropy-secs",
        "1",
        "--enable-debug-command",
        "yes",
    ]));
    let rt = redraft_integration::runtime();
    let client = cluster
        .client_builder(&[0, 1, 2, 3])
        .retries(10)
        .response_timeout(Duration::from_secs(10))
        .build()
        .expect("cluster client");
    const WRITERS: usize = 4;
    const PRELOAD: usize = 2_000;
    rt.block_on(async {
        let mut c = client.get_async_connection().await.expect("connect");
        for i in 0..PRELOAD {
            let _: () = redis::cmd("SET")
                .arg(format!("{{mig}}:p{i}"))
                .arg(i)
                .query_async(&mut c)
                .await
                .expect("preload");
        }
        for id in 0..WRITERS {
            let _: () = redis::cmd("SET")
                .arg(format!("{{mig}}:c{id}"))
                .arg(0)
                .query_async(&mut c)
                .await
                .expect("preload counter");
        }
    });
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let acks = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|id| rt.spawn(slot_writer(id, client.clone(), stop.clone(), acks.clone())))
        .collect();
    let acked_now = || acks.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        wait_until(Instant::now() + Duration::from_secs(15), || acked_now()
            > 50),
        "no load before the migration"
    );
    let py = redraft_integration::pyload::PyLoad::start(&cluster.node(0).addr());

    // Held after its third step (a batch imported, the next one taken
    // from the source but not imported), while leadership of the source
    // moves: the new leader's driver must go on from the logs.
    for i in 0..cluster.len() {
        cluster
            .cmd_text(
                i,
                &["DEBUG", "FAILPOINT", "migration-step", "3*off->return"],
            )
            .expect("DEBUG FAILPOINT");
    }
    let before = acked_now();
    let started = Instant::now();
    cluster_migrate(&cluster, slot, to as u32);
    let (voters, old_leader) = shards(&cluster)
        .get(&(from as u32))
        .cloned()
        .expect("the source's leader");
    // The first batch is in the target.
    let target = shards(&cluster)
        .get(&(to as u32))
        .map(|s| s.1)
        .expect("the target's leader");
    let at_target = || {
        cluster
            .cmd_text(target, &["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()])
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0)
    };
    assert!(
        wait_until(Instant::now() + Duration::from_secs(20), || at_target()
            >= 100),
        "the first batch never reached the target: {} keys there",
        at_target()
    );
    let other = voters
        .iter()
        .map(|&v| v as usize - 1)
        .find(|&i| i != old_leader)
        .expect("a second replica of the source");
    assert_eq!(
        cluster
            .cmd_text(other, &["CLUSTER", "FAILOVER"])
            .expect("FAILOVER"),
        "OK"
    );
    assert!(
        wait_until(Instant::now() + Duration::from_secs(15), || shards(
            &cluster
        )
        .get(&(from as u32))
        .is_some_and(|s| s.1 == other)),
        "leadership of the source never moved"
    );
    for i in 0..cluster.len() {
        cluster
            .cmd_text(i, &["DEBUG", "FAILPOINT", "migration-step", "OFF"])
            .expect("DEBUG FAILPOINT OFF");
    }
    // Done: the target's leader claims the slot, and the source's leader
    // holds none of its keys.
    let target_leader = |c: &TestCluster| shards(c).get(&(to as u32)).map(|s| s.1);
    let done = wait_until(Instant::now() + Duration::from_secs(60), || {
        let Some(b) = target_leader(&cluster) else {
            return false;
        };
        cluster
            .led_slots(b)
            .is_ok_and(|r| r.iter().any(|&(x, y)| (x..=y).contains(&slot)))
    });
    assert!(
        done,
        "the slot never became shard {to}'s\n{}",
        cluster.log_tails(60)
    );
    let took = started.elapsed();
    let source = shards(&cluster)
        .get(&(from as u32))
        .map(|s| s.1)
        .expect("source leader");
    assert_eq!(
        cluster
            .cmd_text(source, &["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()])
            .expect("COUNTKEYSINSLOT"),
        "0",
        "keys left at the source"
    );
    let during = acked_now() - before;
    assert!(during > 0, "no write acknowledged while the slot migrated");
    let after = acked_now();
    assert!(
        wait_until(Instant::now() + Duration::from_secs(15), || acked_now()
            > after + 50),
        "no writes acknowledged after the migration"
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut logs = Vec::new();
    for w in writers {
        logs.push(
            rt.block_on(async { tokio::time::timeout(Duration::from_secs(30), w).await })
                .expect("a writer did not stop within 30 s")
                .expect("writer panicked"),
        );
    }
    let py_report = py.stop();
    println!("migration: redis-py load: {py_report}");
    let errors: BTreeMap<String, u64> = logs.iter().flat_map(|l| l.errors.clone()).collect();
    let acked: usize = logs.iter().map(|l| l.acked.len()).sum();
    let incrs: u64 = logs.iter().map(|l| l.incrs).sum();
    println!(
        "migration: slot {slot} ({PRELOAD} keys) moved from shard {from} to {to} in {:.2} s \
         (a leader change included) under load: {acked} SETs and {incrs} INCRs acknowledged in the slot ({during} while it \
         migrated), failed operations: {errors:?}",
        took.as_secs_f64()
    );
    assert!(errors.is_empty(), "client operations failed: {errors:?}");
    assert!(acked > 0 && incrs > 0, "the writers wrote nothing");
    assert!(
        py_report.contains("\"failed\": {}") && py_report.contains("\"lost\": []"),
        "redis-py saw failed operations or lost writes: {py_report}"
    );
    // Everything reads back from the target, through the cluster client.
    rt.block_on(async {
        let mut c = client.get_async_connection().await.expect("connect");
        for i in 0..PRELOAD {
            let v: Option<u64> = redis::cmd("GET")
                .arg(format!("{{mig}}:p{i}"))
                .query_async(&mut c)
                .await
                .expect("GET");
            assert_eq!(v, Some(i as u64), "preloaded key {i}");
        }
        for (id, log) in logs.iter().enumerate() {
            for (key, n) in &log.acked {
                let v: Option<u64> = redis::cmd("GET")
                    .arg(key)
                    .query_async(&mut c)
                    .await
                    .expect("GET");
                assert_eq!(v, Some(*n), "{key}");
            }
            let v: i64 = redis::cmd("GET")
                .arg(format!("{{mig}}:c{id}"))
                .query_async(&mut c)
                .await
                .expect("GET counter");
            assert_eq!(
                v, log.incrs as i64,
                "counter {id}: increments lost or doubled"
            );
        }
    });
    let addrs = cluster.addrs();
    assert_cluster_check_settles(&addrs[0], &addrs, Duration::from_secs(30));
}
