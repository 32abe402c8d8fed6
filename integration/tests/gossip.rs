//! Gossip of shard leaders: in a 5-node cluster with 3 replicas per shard,
//! every node hosts only some shards, and learns who leads the others from
//! its peers. Every node must then list every slot in CLUSTER NODES, agree
//! with the others on its master, and redirect a key it does not host to
//! that master; after the master of a shard is killed, the nodes that do
//! not host that shard must learn its new leader.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use redraft_integration::cluster::{key_in, key_slot, ClusterOpts, NodeLine, TestCluster};
use redraft_integration::raw::Frame;
use redraft_integration::tools::{assert_cluster_check_ok, have_tool};
use redraft_integration::wait_until;

/// The master address each slot range has in node `i`'s CLUSTER NODES, as
/// `(first slot, last slot) -> addr`; an error names uncovered slots.
fn slot_masters(cluster: &TestCluster, i: usize) -> Result<BTreeMap<(u16, u16), String>, String> {
    let text = cluster.cmd_text(i, &["CLUSTER", "NODES"])?;
    let lines = NodeLine::parse_all(&text);
    let mut map = BTreeMap::new();
    let mut covered = 0usize;
    for l in lines.iter().filter(|l| l.is_master()) {
        for &(a, b) in &l.slots {
            covered += usize::from(b - a) + 1;
            map.insert((a, b), l.addr.clone());
        }
    }
    if covered != 16384 {
        return Err(format!(
            "node {} covers {covered} of 16384 slots:\n{text}",
            i + 1
        ));
    }
    Ok(map)
}

fn master_of(map: &BTreeMap<(u16, u16), String>, slot: u16) -> Option<&str> {
    map.iter()
        .find(|((a, b), _)| (*a..=*b).contains(&slot))
        .map(|(_, addr)| addr.as_str())
}

/// What a plain GET of `key` on node `i` answers: `Ok(None)` when served
/// there, `Ok(Some(addr))` for a MOVED to `addr`.
fn get_on(cluster: &TestCluster, i: usize, key: &str) -> Result<Option<String>, String> {
    match cluster.node(i).raw().cmd(&[b"GET", key.as_bytes()]) {
        Ok(Frame::Error(e)) if e.starts_with("MOVED ") => {
            Ok(e.split_whitespace().nth(2).map(str::to_string))
        }
        Ok(Frame::Error(e)) => Err(format!("GET {key} on node {}: {e}", i + 1)),
        Ok(_) => Ok(None),
        Err(e) => Err(format!("GET {key} on node {}: {e}", i + 1)),
    }
}

#[test]
fn five_nodes_learn_every_shard_leader_by_gossip() {
    let mut cluster = TestCluster::start(ClusterOpts::new().nodes(5));
    let deadline = Instant::now() + Duration::from_secs(30);
    // Every node covers every slot, and all agree on the masters.
    let mut views = Vec::new();
    let agreed = wait_until(deadline, || {
        views = (0..5).map(|i| slot_masters(&cluster, i)).collect();
        views.iter().all(|v| v.is_ok()) && views.windows(2).all(|w| w[0] == w[1])
    });
    assert!(
        agreed,
        "the nodes' slot maps differ or miss slots: {views:#?}"
    );
    let map = views[0].clone().expect("checked");
    // Each shard's first slot: a key there, redirected to its master from
    // every node that does not serve it.
    for (&(a, _), master) in &map {
        let key = key_in("gossip:", |s| s == a).expect("a key in the slot");
        for i in 0..5 {
            let served_here = cluster.node(i).addr() == *master;
            let got = get_on(&cluster, i, &key).expect("GET");
            if served_here {
                assert_eq!(got, None, "node {} leads slot {a} but redirected", i + 1);
            } else {
                assert_eq!(
                    got.as_deref(),
                    Some(master.as_str()),
                    "node {} redirected slot {a} elsewhere than its master",
                    i + 1
                );
            }
        }
    }

    // Kill the master of slot 0; every live node learns the new one.
    let key = key_in("gossip:", |s| s == 0).expect("a key in slot 0");
    assert_eq!(key_slot(key.as_bytes()), 0);
    let old = master_of(&map, 0).expect("slot 0 has a master").to_string();
    let victim = cluster.index_of_addr(&old).expect("the master is a node");
    cluster.kill9(victim);
    let live: Vec<usize> = (0..5).filter(|&i| i != victim).collect();
    let mut last = Vec::new();
    let moved_on = wait_until(Instant::now() + Duration::from_secs(30), || {
        last = live
            .iter()
            .map(|&i| slot_masters(&cluster, i).map(|m| master_of(&m, 0).map(str::to_string)))
            .collect();
        let first = match last.first() {
            Some(Ok(Some(m))) => m.clone(),
            _ => return false,
        };
        first != old
            && last
                .iter()
                .all(|m| m.as_ref().ok() == Some(&Some(first.clone())))
    });
    assert!(
        moved_on,
        "live nodes did not agree on a new master of slot 0: {last:?}"
    );
    let new = last[0].clone().expect("checked").expect("checked");
    for &i in &live {
        let got = get_on(&cluster, i, &key).expect("GET");
        if cluster.node(i).addr() == new {
            assert_eq!(got, None, "the new master redirected");
        } else {
            assert_eq!(
                got.as_deref(),
                Some(new.as_str()),
                "node {} redirect",
                i + 1
            );
        }
    }
    cluster.restart(victim);
    cluster
        .wait_ready(Instant::now() + Duration::from_secs(60))
        .expect("the cluster is whole again");
}

#[test]
fn redis_cli_check_is_ok_on_five_nodes() {
    if !have_tool("redis-cli", "redis_cli_check_is_ok_on_five_nodes") {
        return;
    }
    let cluster = TestCluster::start(ClusterOpts::new().nodes(5));
    // Leaders are learned by gossip: wait until every node tells the same
    // slot -> master story (the first elections may still be spreading).
    let agreed = wait_until(Instant::now() + Duration::from_secs(30), || {
        let maps: Vec<_> = (0..cluster.len())
            .map(|i| slot_masters(&cluster, i))
            .collect();
        maps.iter().all(|m| m.is_ok() && m == &maps[0])
    });
    assert!(agreed, "the five nodes never agreed on the slots' masters");
    for addr in cluster.addrs() {
        assert_cluster_check_ok(&addr, &cluster.addrs());
    }
}
