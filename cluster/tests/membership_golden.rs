//! Golden-script test of the cluster map and the placement that follows
//! it (`cluster/tests/golden/membership.txt`): nodes are founded, join,
//! drain and are removed, and after each step the script shows the map
//! (epoch, nodes and their state), the metadata group's voters, and which
//! shard replicas the shard leaders must move to reach the ring placement
//! over the active nodes.
//!
//! Commands (blocks as in `golden_runner/mod.rs`; state carries over):
//! - `init nodes=1,2,3 shards=N rf=R`: the founders' first map;
//! - `join addr=IP:PORT`: a node asks to join;
//! - `drain node=ID`, `remove node=ID`: a node starts draining, leaves.

mod golden_runner;

use std::collections::BTreeSet;
use std::fmt::Write as _;

use redraft_cluster::meta::{self, map_command::Cmd, Applied, ClusterMap, MapCommand};
use redraft_cluster::placement::place;
use redraft_cluster::ShardBootstrap;

struct State {
    map: ClusterMap,
    /// The placement the shards were moved to last.
    placed: Vec<ShardBootstrap>,
}

fn arg<'a>(words: &'a [&str], key: &str) -> &'a str {
    words
        .iter()
        .find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("missing {key}="))
}

fn ids(s: &str) -> Vec<u64> {
    s.split(',')
        .map(|x| x.parse().unwrap_or_else(|_| panic!("bad id {x:?}")))
        .collect()
}

fn join(v: impl IntoIterator<Item = u64>) -> String {
    v.into_iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn placement(map: &ClusterMap) -> Vec<ShardBootstrap> {
    let shards: Vec<u64> = (1..=u64::from(map.shard_count)).collect();
    place(&meta::active_ids(map), &shards, map.replicas as usize)
}

/// The map, the metadata voters, and the moves from the last placement.
fn report(state: &mut State, applied: Applied) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{applied:?}");
    let m = &state.map;
    let _ = writeln!(out, "epoch {} next_id {}", m.epoch, m.next_id);
    for n in &m.nodes {
        let st = if n.state == meta::DRAINING {
            "draining"
        } else {
            "active"
        };
        let _ = writeln!(out, "node {} {} {st}", n.id, n.addr);
    }
    let _ = writeln!(
        out,
        "metadata voters {}",
        join(meta::meta_voters(&meta::active_ids(m)))
    );
    let after = placement(m);
    let mut moved = 0;
    for (b, a) in state.placed.iter().zip(&after) {
        let before: BTreeSet<u64> = b.voters.iter().copied().collect();
        let now: BTreeSet<u64> = a.voters.iter().copied().collect();
        if before != now {
            moved += now.difference(&before).count();
            let _ = writeln!(
                out,
                "move shard {}: {} -> {} (+{} -{})",
                a.shard,
                join(before.iter().copied()),
                join(now.iter().copied()),
                join(now.difference(&before).copied()),
                join(before.difference(&now).copied())
            );
        }
    }
    let total: usize = after.iter().map(|b| b.voters.len()).sum();
    let _ = writeln!(out, "replicas moved {moved} of {total}");
    state.placed = after;
    out
}

fn apply(state: &mut State, cmd: Cmd) -> String {
    let applied = meta::apply(&mut state.map, &MapCommand { cmd: Some(cmd) });
    report(state, applied)
}

#[test]
fn membership_golden_script() {
    let mut state = State {
        map: ClusterMap::default(),
        placed: Vec::new(),
    };
    golden_runner::run_golden("membership.txt", |command| {
        let words: Vec<&str> = command.split_whitespace().collect();
        match words[0] {
            "init" => {
                let founders: Vec<(u64, std::net::SocketAddr)> = ids(arg(&words, "nodes"))
                    .into_iter()
                    .map(|id| {
                        (
                            id,
                            format!("127.0.0.1:{}", 7000 + id).parse().expect("addr"),
                        )
                    })
                    .collect();
                let shards: u16 = arg(&words, "shards").parse().expect("shards");
                let rf: usize = arg(&words, "rf").parse().expect("rf");
                let init = meta::initial(&founders, shards, rf);
                state.placed = placement(&init);
                apply(&mut state, Cmd::Init(init))
            }
            "join" => apply(&mut state, Cmd::AddNode(arg(&words, "addr").to_string())),
            "drain" => apply(
                &mut state,
                Cmd::DrainNode(arg(&words, "node").parse().expect("node")),
            ),
            "remove" => apply(
                &mut state,
                Cmd::RemoveNode(arg(&words, "node").parse().expect("node")),
            ),
            other => panic!("unknown command {other:?}"),
        }
    });
}
