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
