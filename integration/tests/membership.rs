//! Elastic membership, end to end: nodes join a running cluster
//! (`--join`) under load, the shard leaders move replicas onto them by
//! conf change, and clients see nothing but redirects they follow.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::Value;
use redraft_integration::cluster::{key_slot, ClusterOpts, ReplicationInfo, TestCluster};
use redraft_integration::pyload::PyLoad;
use redraft_integration::tools::assert_cluster_check_settles;
use redraft_integration::{redraft_bin, runtime, wait_until};

const SHARDS: u16 = 12;
const REPLICAS: usize = 3;
const WRITERS: usize = 8;
/// Commands one writer sends at most (the load is bounded in count too).
const MAX_OPS_PER_WRITER: u64 = 200_000;

#[derive(Default)]
struct Load {
    stop: AtomicBool,
    acks: AtomicU64,
}

/// What one writer did: keys acknowledged (each written once, with its
/// number as value) and errors by kind.
#[derive(Default)]
struct WriterLog {
    acked: Vec<(String, u64)>,
    errors: BTreeMap<String, u64>,
}

/// One writer: SETs `grow:<id>:<n>` to `n` for n = 0, 1, … through the
/// Rust cluster client (which follows MOVED and ASK and retries TRYAGAIN
/// and CLUSTERDOWN), one command in flight, until told to stop.
async fn writer(id: usize, client: redis::cluster::ClusterClient, load: Arc<Load>) -> WriterLog {
    let mut log = WriterLog::default();
    let mut conn = match client.get_async_connection().await {
        Ok(c) => c,
        Err(e) => {
            *log.errors.entry(format!("connect: {e}")).or_default() += 1;
            return log;
        }
    };
    let mut n = 0u64;
    while !load.stop.load(Ordering::Relaxed) && n < MAX_OPS_PER_WRITER {
        let key = format!("grow:{id}:{n}");
        let r = redis::cmd("SET")
            .arg(&key)
            .arg(n)
            .query_async::<Value>(&mut conn)
            .await;
        match r {
            Ok(Value::Okay) => {
                log.acked.push((key, n));
                load.acks.fetch_add(1, Ordering::Relaxed);
            }
            Ok(other) => {
                *log.errors
                    .entry(format!("unexpected {other:?}"))
                    .or_default() += 1
            }
            Err(e) => {
                let kind = e.code().unwrap_or("I/O or timeout").to_string();
                *log.errors.entry(kind).or_default() += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        n += 1;
    }
    log
}

/// The Rust writers through the redis-rs cluster client, seeded with
/// nodes 1 to 3; stopped when dropped.
struct RustLoad {
    load: Arc<Load>,
    writers: Vec<tokio::task::JoinHandle<WriterLog>>,
}

impl RustLoad {
    fn start(rt: &tokio::runtime::Runtime, cluster: &TestCluster, n: usize) -> RustLoad {
        let load = Arc::new(Load::default());
        let client = cluster
            .client_builder(&[0, 1, 2])
            .retries(10)
            // Patient, as an application under a loaded machine would be:
            // several clusters on two cores can take seconds to answer.
            .response_timeout(Duration::from_secs(10))
            .build()
            .expect("cluster client");
        let writers = (0..n)
            .map(|id| rt.spawn(writer(id, client.clone(), load.clone())))
            .collect();
        RustLoad { load, writers }
    }

    /// Writes acknowledged so far.
    fn acks(&self) -> u64 {
        self.load.acks.load(Ordering::Relaxed)
    }

    /// Stops the writers; every acknowledged `(key, value)` and the errors
    /// by kind.
    fn stop(mut self, rt: &tokio::runtime::Runtime) -> (Vec<(String, u64)>, BTreeMap<String, u64>) {
        self.load.stop.store(true, Ordering::Relaxed);
        let mut acked = Vec::new();
        let mut errors: BTreeMap<String, u64> = BTreeMap::new();
        for w in std::mem::take(&mut self.writers) {
            let log = rt
                .block_on(async { tokio::time::timeout(Duration::from_secs(30), w).await })
                .expect("a writer did not stop within 30 s")
                .expect("writer panicked");
            acked.extend(log.acked);
            for (k, v) in log.errors {
                *errors.entry(k).or_default() += v;
            }
        }
        (acked, errors)
    }
}

impl Drop for RustLoad {
    fn drop(&mut self) {
        self.load.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads every acknowledged key back through a client seeded with
/// `seeds`; returns the keys that do not hold their acknowledged value.
fn read_back(
    rt: &tokio::runtime::Runtime,
    cluster: &TestCluster,
    seeds: &[usize],
    acked: &[(String, u64)],
) -> Vec<String> {
    let reader = cluster
        .client_builder(seeds)
        .retries(10)
        .build()
        .expect("cluster client");
    rt.block_on(async {
        let mut conn = reader.get_async_connection().await.expect("connect");
        let mut lost = Vec::new();
        for (key, n) in acked {
            let v: Option<u64> = redis::cmd("GET")
                .arg(key)
                .query_async(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("GET {key}: {e}"));
            if v != Some(*n) {
                lost.push(format!("{key}: {v:?}, acknowledged {n}"));
            }
        }
        lost
    })
}

/// Replicas agree: every node of `live` runs an anti-entropy check after
/// this call (bounded wait), and none saw a divergent replica.
fn assert_replicas_agree(cluster: &TestCluster, live: &[usize]) {
    let before: Vec<u64> = (0..cluster.len())
        .map(|i| {
            cluster
                .replication(i)
                .map(|r| r.anti_entropy.checks)
                .unwrap_or(0)
        })
        .collect();
    let checked = wait_until(Instant::now() + Duration::from_secs(30), || {
        live.iter().all(|&i| {
            cluster
                .replication(i)
                .is_ok_and(|r: ReplicationInfo| r.anti_entropy.checks > before[i])
        })
    });
    assert!(
        checked,
        "anti-entropy did not check every node after the load"
    );
    for &i in live {
        let r = cluster.replication(i).expect("INFO replication");
        assert_eq!(
            r.anti_entropy.divergent,
            0,
            "node {} saw divergent replicas",
            i + 1
        );
    }
}

/// Each data shard's voters, as its leader reports them (nodes of `gone`
/// are not asked).
fn shard_voters(cluster: &TestCluster, gone: &[usize]) -> BTreeMap<u32, BTreeSet<u64>> {
    let mut out = BTreeMap::new();
    for i in 0..cluster.len() {
        if gone.contains(&i) {
            continue;
        }
        let Ok(info) = cluster.replication(i) else {
            continue;
        };
        for (shard, s) in info.shards {
            if shard != 0 && s.role == "leader" {
                out.insert(shard, s.voters.iter().copied().collect());
            }
        }
    }
    out
}

/// Where the ring puts each of [`SHARDS`] shards' replicas over `ids`.
fn ring_placement(ids: &[u64]) -> BTreeMap<u32, BTreeSet<u64>> {
    ring_placement_of(ids, SHARDS)
}

/// Where the ring puts each of `shards` shards' replicas over `ids`.
fn ring_placement_of(ids: &[u64], shards: u16) -> BTreeMap<u32, BTreeSet<u64>> {
    let shards: Vec<u64> = (1..=u64::from(shards)).collect();
    redraft_cluster::placement::place(ids, &shards, REPLICAS)
        .into_iter()
        .map(|b| (b.shard as u32, b.voters.into_iter().collect()))
        .collect()
}

/// The shard (1-based, even split) owning `slot`.
fn shard_of_slot(slot: u16) -> u32 {
    let ranges = redraft_cluster::SlotRange::split_even(SHARDS);
    ranges
        .iter()
        .position(|r| r.contains(slot))
        .map_or(0, |i| i as u32 + 1)
}

/// Replica copies of keys that had to move between `before` and `after`
/// placements, over all copies: `(moved, total)`.
fn moved_fraction(
    keys_per_shard: &BTreeMap<u32, u64>,
    before: &BTreeMap<u32, BTreeSet<u64>>,
    after: &BTreeMap<u32, BTreeSet<u64>>,
) -> (u64, u64) {
    let mut moved = 0;
    let mut total = 0;
    for (shard, &keys) in keys_per_shard {
        let (Some(b), Some(a)) = (before.get(shard), after.get(shard)) else {
            continue;
        };
        moved += a.difference(b).count() as u64 * keys;
        total += a.len() as u64 * keys;
    }
    (moved, total)
}

/// Joins one node through node 1 and waits until every shard's voters are
/// the ring's placement over the grown cluster; returns the key copies
/// moved and the total.
fn grow(
    cluster: &mut TestCluster,
    load: &RustLoad,
    keys_per_shard: &BTreeMap<u32, u64>,
) -> (u64, u64) {
    let before = shard_voters(cluster, &[]);
    let i = cluster
        .join_node(0)
        .unwrap_or_else(|e| panic!("joining node: {e}\n{}", cluster.log_tails(20)));
    let n = cluster.len() as u64;
    let target = ring_placement(&(1..=n).collect::<Vec<_>>());
    let settled = wait_until(Instant::now() + Duration::from_secs(60), || {
        shard_voters(cluster, &[]) == target
    });
    assert!(
        settled,
        "replicas never reached the ring placement over {n} nodes: have {:?}, want {target:?}\n{}",
        shard_voters(cluster, &[]),
        cluster.log_tails(200)
    );
    assert!(
        !shard_voters(cluster, &[])
            .values()
            .all(|v| !v.contains(&(i as u64 + 1))),
        "the new node hosts nothing"
    );
    let acks = load.acks();
    assert!(
        wait_until(Instant::now() + Duration::from_secs(15), || {
            load.acks() > acks + 100
        }),
        "no writes acknowledged after node {} joined",
        i + 1
    );
    moved_fraction(keys_per_shard, &before, &target)
}

#[test]
fn a_cluster_grows_from_three_to_five_nodes_and_drains_one_under_load() {
    let mut cluster = TestCluster::start(
        ClusterOpts::new()
            .shards(SHARDS)
            .args(["--anti-entropy-secs", "1"]),
    );
    let rt = runtime();
    let load = RustLoad::start(&rt, &cluster, WRITERS);
    // And redis-py's RedisCluster, in its own process.
    let py = PyLoad::start(&cluster.node(0).addr());
    assert!(
        wait_until(Instant::now() + Duration::from_secs(15), || {
            load.acks() > 2_000
        }),
        "no load before the first join"
    );
    // Keys per shard for the moved-data figure: the load spreads keys
    // evenly over the slots; count what was written so far by slot.
    let mut keys_per_shard: BTreeMap<u32, u64> = BTreeMap::new();
    let written = load.acks() / WRITERS as u64;
    for id in 0..WRITERS {
        for n in 0..written {
            let slot = key_slot(format!("grow:{id}:{n}").as_bytes());
            *keys_per_shard.entry(shard_of_slot(slot)).or_default() += 1;
        }
    }

    let mut figures = Vec::new();
    for n in [3u64, 4] {
        let (moved, total) = grow(&mut cluster, &load, &keys_per_shard);
        let fraction = moved as f64 / total as f64;
        let ideal = 1.0 / (n + 1) as f64;
        println!(
            "membership: {n}->{} nodes moved {moved} of {total} key copies = {:.1}% \
             (ideal 1/{} = {:.1}%, {:.2}x)",
            n + 1,
            fraction * 100.0,
            n + 1,
            ideal * 100.0,
            fraction / ideal
        );
        figures.push((n, fraction / ideal));
    }

    // Drain node 3 with the admin command, under the same load.
    let drained = 2;
    let out = std::process::Command::new(redraft_bin())
        .args([
            "drain",
            "3",
            "--via",
            &cluster.node(0).addr(),
            "--timeout-secs",
            "90",
        ])
        .output()
        .expect("run redraft drain");
    if !out.status.success() {
        let shards: Vec<String> = (0..cluster.len())
            .map(|i| {
                let info = cluster
                    .cmd_text(i, &["INFO", "replication"])
                    .unwrap_or_default();
                let lines: Vec<&str> = info.lines().filter(|l| l.starts_with("shard")).collect();
                format!("node {}:\n{}", i + 1, lines.join("\n"))
            })
            .collect();
        panic!(
            "redraft drain failed: {}\n{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            shards.join("\n"),
            cluster.log_tails(60)
        );
    }
    assert!(
        wait_until(Instant::now() + Duration::from_secs(30), || !cluster
            .node_mut(drained)
            .is_running()),
        "the drained node did not shut down"
    );
    let remaining = [1u64, 2, 4, 5];
    assert_eq!(
        shard_voters(&cluster, &[drained]),
        ring_placement(&remaining),
        "after the drain, replicas are not the ring placement over the other nodes"
    );
    let acks = load.acks();
    assert!(
        wait_until(Instant::now() + Duration::from_secs(15), || {
            load.acks() > acks + 100
        }),
        "no writes acknowledged after the drain"
    );
    let live: Vec<usize> = (0..cluster.len()).filter(|&i| i != drained).collect();

    // Leaders spread over the remaining nodes.
    let max_leads = usize::from(SHARDS).div_ceil(live.len()) + 1;
    let balanced = wait_until(Instant::now() + Duration::from_secs(30), || {
        let mut per_node: BTreeMap<usize, usize> = BTreeMap::new();
        for &i in &live {
            let Ok(info) = cluster.replication(i) else {
                return false;
            };
            let leads = info
                .shards
                .iter()
                .filter(|(&s, r)| s != 0 && r.role == "leader")
                .count();
            per_node.insert(i, leads);
        }
        per_node.values().all(|&l| l <= max_leads)
    });
    assert!(balanced, "a node leads more than {max_leads} shards");

    let (acked, errors) = load.stop(&rt);
    let py_report = py.stop();
    println!("membership: redis-py load: {py_report}");
    assert!(
        py_report.contains("\"failed\": {}") && py_report.contains("\"lost\": []"),
        "redis-py saw failed operations or lost writes: {py_report}"
    );
    assert!(
        !py_report.contains("\"acked\": 0,"),
        "redis-py wrote nothing: {py_report}"
    );
    println!(
        "membership: {} writes acknowledged, failed operations: {errors:?}",
        acked.len()
    );
    assert!(errors.is_empty(), "client operations failed: {errors:?}");

    // Every acknowledged write reads back, through a client seeded with
    // the new nodes only.
    let lost = read_back(&rt, &cluster, &[3, 4], &acked);
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );

    // Replicas agree: anti-entropy checks after the load find nothing.
    assert_replicas_agree(&cluster, &live);
    let addrs: Vec<String> = live.iter().map(|&i| cluster.node(i).addr()).collect();
    assert_cluster_check_settles(&cluster.node(4).addr(), &addrs, Duration::from_secs(30));
    for (n, ratio) in figures {
        assert!(
            ratio <= 1.25,
            "{n}->{} moved {ratio:.2}x the ideal share",
            n + 1
        );
    }
}

#[test]
fn a_node_down_longer_than_the_limit_has_its_replicas_rebuilt() {
    let mut cluster = TestCluster::start(ClusterOpts::new().nodes(4).shards(8).args([
        "--node-down-secs",
        "3",
        "--anti-entropy-secs",
        "1",
    ]));
    let rt = runtime();
    let load = RustLoad::start(&rt, &cluster, 4);
    assert!(
        wait_until(Instant::now() + Duration::from_secs(15), || {
            load.acks() > 500
        }),
        "no load before the kill"
    );
    let victim = 3;
    cluster.kill9(victim);
    let killed = Instant::now();
    // Every shard gets back to three voters, all on live nodes.
    let rebuilt = wait_until(Instant::now() + Duration::from_secs(60), || {
        let voters = shard_voters(&cluster, &[victim]);
        voters.len() == 8
            && voters
                .values()
                .all(|v| v.len() == REPLICAS && !v.contains(&(victim as u64 + 1)))
    });
    assert!(
        rebuilt,
        "replicas were not rebuilt: {:?}\n{}",
        shard_voters(&cluster, &[victim]),
        cluster.log_tails(60)
    );
    println!(
        "membership: node {} killed; every shard back to {REPLICAS} voters after {:.1} s",
        victim + 1,
        killed.elapsed().as_secs_f64()
    );
    // CLUSTER SHARDS on a live node shows three nodes per shard, and the
    // dead node is gone from CLUSTER NODES.
    let shards = cluster
        .cmd_text(0, &["CLUSTER", "SHARDS"])
        .expect("CLUSTER SHARDS");
    let gone = wait_until(Instant::now() + Duration::from_secs(30), || {
        cluster
            .cluster_nodes(0)
            .is_ok_and(|n| n.len() == 3 && !n.iter().any(|l| l.addr == cluster.node(victim).addr()))
    });
    assert!(gone, "the dead node is still in CLUSTER NODES:\n{shards}");
    let acks = load.acks();
    assert!(
        wait_until(Instant::now() + Duration::from_secs(15), || {
            load.acks() > acks + 100
        }),
        "no writes acknowledged after the rebuild"
    );
    // Failed operations are expected here: writes in flight to the killed
    // node. Acknowledged ones must all be there.
    let (acked, _errors) = load.stop(&rt);
    let lost = read_back(&rt, &cluster, &[0, 1, 2], &acked);
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    println!("membership: {} acknowledged writes, none lost", acked.len());
}

#[test]
fn a_join_completes_when_the_metadata_leader_is_killed_during_it() {
    let mut cluster = TestCluster::start(ClusterOpts::new().shards(6));
    let meta_leader = |cluster: &TestCluster| {
        (0..cluster.len()).find(|&i| {
            cluster
                .replication(i)
                .is_ok_and(|r| r.shards.get(&0).is_some_and(|s| s.role == "leader"))
        })
    };
    let mut leader = None;
    assert!(
        wait_until(Instant::now() + Duration::from_secs(15), || {
            leader = meta_leader(&cluster);
            leader.is_some()
        }),
        "no leader of the metadata group"
    );
    let leader = leader.expect("checked");
    let seed = (leader + 1) % cluster.len();
    rt_set(&cluster, "before-join", "1");
    // Kill the metadata leader, then join at once: the join is asked
    // while the group has no leader (the seed names none, or the dead
    // one) and must complete once a new leader took over.
    cluster.kill9(leader);
    let asked = Instant::now();
    let joined = cluster
        .join_node(seed)
        .unwrap_or_else(|e| panic!("join: {e}\n{}", cluster.log_tails(40)));
    println!(
        "membership: joined {:.2} s after the metadata leader was killed",
        asked.elapsed().as_secs_f64()
    );
    // The cluster works without the killed node, then with it again.
    let new_leader = wait_until(Instant::now() + Duration::from_secs(15), || {
        meta_leader(&cluster).is_some_and(|l| l != leader)
    });
    assert!(new_leader, "the metadata group did not elect a new leader");
    // The shards move to the placement over the four nodes while the
    // killed one is still down: it is moved out of some of them (the
    // ring leaves each founder out of at least one of 6 shards).
    let target = ring_placement_of(&[1, 2, 3, 4], 6);
    for id in 1..=3u64 {
        assert!(
            target.values().any(|voters| !voters.contains(&id)),
            "the placement keeps node {id} in every shard: {target:?}"
        );
    }
    let settled = |cluster: &TestCluster, gone: &[usize]| {
        wait_until(Instant::now() + Duration::from_secs(60), || {
            shard_voters(cluster, gone) == target
        })
    };
    assert!(
        settled(&cluster, &[leader]),
        "replicas never reached the placement over 4 nodes without the killed one: {:?}\n{}",
        shard_voters(&cluster, &[leader]),
        cluster.log_tails(40)
    );
    cluster.restart(leader);
    assert!(
        settled(&cluster, &[]),
        "replicas left the placement over 4 nodes after the killed node returned: {:?}\n{}",
        shard_voters(&cluster, &[]),
        cluster.log_tails(40)
    );
    let mut conn = cluster.client().get_connection().expect("connect");
    let v: Option<String> = redis::cmd("GET")
        .arg("before-join")
        .query(&mut conn)
        .expect("GET");
    assert_eq!(
        v.as_deref(),
        Some("1"),
        "a write from before the join is lost"
    );
    // The killed node was moved out of shards while it was down: it
    // learns that from gossip and drops those replicas, so every node
    // agrees on every shard (before, it kept them as voters of their old
    // configuration and `--cluster check` said "Nodes don't agree").
    let addrs: Vec<String> = (0..cluster.len()).map(|i| cluster.node(i).addr()).collect();
    assert_cluster_check_settles(
        &cluster.node(joined).addr(),
        &addrs,
        Duration::from_secs(30),
    );
}

/// SET through a cluster client (following redirects).
fn rt_set(cluster: &TestCluster, key: &str, value: &str) {
    let mut conn = cluster.client().get_connection().expect("connect");
    let r: String = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query(&mut conn)
        .expect("SET");
    assert_eq!(r, "OK");
}

/// The live nodes' claimed slot ranges (`CLUSTER NODES`, own line), over
/// all nodes: `(start, end)` sorted.
fn claimed_ranges(cluster: &mut TestCluster) -> Vec<(u16, u16)> {
    let mut v: Vec<(u16, u16)> = cluster
        .live()
        .into_iter()
        .flat_map(|i| cluster.led_slots(i).unwrap_or_default())
        .collect();
    v.sort_unstable();
    v
}

/// Asks the metadata group (through whichever node leads it) for `CLUSTER
/// SPLIT <slot>`; the new shard's id. Retried on REDIRECT and TRYAGAIN; a
/// retry refused because the slot already starts a shard (the first try
/// was applied, its answer lost) names that shard.
fn cluster_split(cluster: &TestCluster, slot: u16) -> u64 {
    let arg = slot.to_string();
    let done = format!("slot {slot} is the first slot of shard ");
    let mut last = String::new();
    let mut id = None;
    let asked = wait_until(Instant::now() + Duration::from_secs(20), || {
        (0..cluster.len()).any(|i| {
            let answer = cluster.cmd_text(i, &["CLUSTER", "SPLIT", &arg]);
            id = match &answer {
                Ok(ok) => ok.parse().ok(),
                Err(e) => e
                    .split_once(&done)
                    .and_then(|(_, rest)| rest.split(':').next())
                    .and_then(|n| n.parse().ok()),
            };
            last = answer.unwrap_or_else(|e| e);
            id.is_some()
        })
    });
    assert!(asked, "CLUSTER SPLIT {slot} was not taken: {last}");
    id.unwrap_or_else(|| panic!("CLUSTER SPLIT {slot} answered {last}"))
}

/// A shard splits in place under load from both cluster clients: the new
/// shard serves its slots at once, on the same replicas, with the keys it
/// took over; it then moves by conf change to a node that joins, like any
/// shard; no client operation fails and no acknowledged write is lost.
#[test]
fn a_shard_splits_in_place_under_load_and_its_new_shard_moves_like_any_other() {
    let mut cluster = TestCluster::start(
        ClusterOpts::new()
            .shards(3)
            .args(["--anti-entropy-secs", "1"]),
    );
    let rt = runtime();
    let load = RustLoad::start(&rt, &cluster, 4);
    let py = PyLoad::start(&cluster.node(0).addr());
    assert!(
        wait_until(Instant::now() + Duration::from_secs(15), || {
            load.acks() > 1_000
        }),
        "no load before the split"
    );
    // Keys in the slots shard 2 (5461-10921) gives away at 8000.
    let moving = (0..4)
        .flat_map(|id| (0..200).map(move |n| format!("grow:{id}:{n}")))
        .filter(|k| (8000..=10921).contains(&key_slot(k.as_bytes())))
        .count();
    assert!(moving > 0, "no early key lies in the slots split off");

    // A bad slot, and the first slot of a shard, are refused.
    let bad = (0..cluster.len())
        .filter_map(|i| cluster.cmd_text(i, &["CLUSTER", "SPLIT", "16384"]).err())
        .next()
        .unwrap_or_default();
    assert!(bad.contains("out of range"), "{bad}");

    assert_eq!(cluster_split(&cluster, 8000), 4);
    // Shard 4 has a leader, and the leaders' claims (CLUSTER NODES, which
    // merges a node's adjacent ranges) cover every slot exactly once.
    let split = wait_until(Instant::now() + Duration::from_secs(30), || {
        let ranges = claimed_ranges(&mut cluster);
        let exact = ranges.first().is_some_and(|r| r.0 == 0)
            && ranges.last().is_some_and(|r| r.1 == 16383)
            && ranges.windows(2).all(|w| w[0].1 + 1 == w[1].0);
        exact && shard_voters(&cluster, &[]).contains_key(&4)
    });
    assert!(
        split,
        "the new shard never served its slots: claims {:?}, shards {:?}\n{}",
        claimed_ranges(&mut cluster),
        shard_voters(&cluster, &[]),
        cluster.log_tails(60)
    );
    // Every node routes slot 8000 (now shard 4's) and 7999 (still shard
    // 2's) to the leader of each.
    for slot in [7999u16, 8000, 10921] {
        assert!(
            cluster
                .wait_leader_of_slot(slot, Instant::now() + Duration::from_secs(10))
                .is_some(),
            "no single leader claims slot {slot}"
        );
    }
    // Shard 4, on the same three replicas as its parent.
    let voters = shard_voters(&cluster, &[]);
    assert_eq!(
        voters.get(&4),
        Some(&BTreeSet::from([1, 2, 3])),
        "the new shard is not on its parent's replicas: {voters:?}"
    );
    // Every node agrees on the slot map (redis-cli's view too).
    let addrs = cluster.addrs();
    assert_cluster_check_settles(&addrs[0], &addrs, Duration::from_secs(30));
    // The same slot again: refused, nothing splits twice.
    let again = (0..cluster.len())
        .filter_map(|i| cluster.cmd_text(i, &["CLUSTER", "SPLIT", "8000"]).err())
        .find(|e| e.contains("first slot"));
    assert!(again.is_some(), "a second split at 8000 was not refused");
    let acks = load.acks();
    assert!(
        wait_until(Instant::now() + Duration::from_secs(15), || {
            load.acks() > acks + 500
        }),
        "no writes acknowledged after the split"
    );

    // Shard 3 splits too, at 12000: shard 5, which the ring places on the
    // node that joins next.
    assert_eq!(cluster_split(&cluster, 12000), 5);
    assert!(
        wait_until(Instant::now() + Duration::from_secs(30), || shard_voters(
            &cluster,
            &[]
        )
        .contains_key(&5)),
        "shard 5 never got a leader: {:?}",
        shard_voters(&cluster, &[])
    );
    assert!(
        cluster
            .wait_leader_of_slot(12000, Instant::now() + Duration::from_secs(10))
            .is_some(),
        "no single leader claims slot 12000"
    );

    // A fourth node joins: every shard, the new ones included, moves to
    // the ring placement over four nodes (shard 5 by a snapshot that
    // carries its own slot ranges).
    cluster
        .join_node(0)
        .unwrap_or_else(|e| panic!("joining node: {e}\n{}", cluster.log_tails(20)));
    let target = ring_placement_of(&[1, 2, 3, 4], 5);
    assert!(
        target[&5].contains(&4),
        "the ring no longer moves shard 5: {target:?}"
    );
    let settled = wait_until(Instant::now() + Duration::from_secs(60), || {
        shard_voters(&cluster, &[]) == target
    });
    assert!(
        settled,
        "replicas never reached the ring placement: have {:?}, want {target:?}\n{}",
        shard_voters(&cluster, &[]),
        cluster.log_tails(100)
    );
    let acks = load.acks();
    assert!(
        wait_until(Instant::now() + Duration::from_secs(15), || {
            load.acks() > acks + 100
        }),
        "no writes acknowledged after the join"
    );

    let (acked, errors) = load.stop(&rt);
    let py_report = py.stop();
    println!("split: redis-py load: {py_report}");
    assert!(
        py_report.contains("\"failed\": {}") && py_report.contains("\"lost\": []"),
        "redis-py saw failed operations or lost writes: {py_report}"
    );
    println!(
        "split: {} writes acknowledged ({moving} of the first 800 keys in the slots split off), \
         failed operations: {errors:?}",
        acked.len()
    );
    assert!(errors.is_empty(), "client operations failed: {errors:?}");
    let lost = read_back(&rt, &cluster, &[3], &acked);
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    // Replicas agree, the new shards' included.
    assert_replicas_agree(&cluster, &(0..cluster.len()).collect::<Vec<_>>());
    let addrs = cluster.addrs();
    assert_cluster_check_settles(&addrs[3], &addrs, Duration::from_secs(30));
}
