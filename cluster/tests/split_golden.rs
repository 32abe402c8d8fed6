//! Golden-script test of shard splits in the cluster map
//! (`cluster/tests/golden/split.txt`): `CLUSTER SPLIT <slot>` is the map
//! command `split_at`; after each step the script shows the map's slot
//! assignment (each shard's ranges and the shard it was split off), and
//! where the ring places each shard's replicas.
//!
//! Commands (blocks as in `golden_runner/mod.rs`; state carries over):
//! - `init nodes=1,2,3 shards=N rf=R`: the founders' first map;
//! - `split at=SLOT`: split the shard owning SLOT from SLOT on;
//! - `join addr=IP:PORT`: a node joins (the new shards are placed too);
//! - `migrate slot=S to=SHARD`, `finish slot=S`: a slot migration starts
//!   (`CLUSTER MIGRATE`), and ends with the slot given to its target.

mod golden_runner;

use std::fmt::Write as _;

use redraft_cluster::meta::{self, map_command::Cmd, Applied, ClusterMap, MapCommand};
use redraft_cluster::placement::place;

fn arg<'a>(words: &'a [&str], key: &str) -> &'a str {
    words
        .iter()
        .find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("missing {key}="))
}

fn report(map: &ClusterMap, applied: Applied) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{applied:?}");
    let _ = writeln!(out, "epoch {} next_shard {}", map.epoch, map.next_shard);
    let assignment = meta::slot_assignment(map);
    let mut shards: Vec<u64> = assignment.iter().map(|(_, s)| *s).collect();
    shards.sort_unstable();
    shards.dedup();
    let placement = place(&meta::active_ids(map), &shards, map.replicas as usize);
    for b in &placement {
        let ranges: Vec<String> = assignment
            .iter()
            .filter(|(_, s)| *s == b.shard)
            .map(|(r, _)| r.to_string())
            .collect();
        let slots: usize = assignment
            .iter()
            .filter(|(_, s)| *s == b.shard)
            .map(|(r, _)| r.len())
            .sum();
        let parent = map
            .shards
            .iter()
            .find(|s| s.id == b.shard)
            .map_or(0, |s| s.parent);
        let from = if parent == 0 {
            String::new()
        } else {
            format!(" (split off {parent})")
        };
        let mut voters = b.voters.clone();
        voters.sort_unstable();
        let _ = writeln!(
            out,
            "shard {}{from}: slots {} ({slots}) on {:?}",
            b.shard,
            ranges.join(","),
            voters
        );
    }
    let total: usize = assignment.iter().map(|(r, _)| r.len()).sum();
    let _ = writeln!(out, "slots covered {total}");
    for m in &map.migrations {
        let _ = writeln!(out, "migrating slot {}: {} -> {}", m.slot, m.from, m.to);
    }
    out
}

#[test]
fn split_golden_script() {
    let mut map = ClusterMap::default();
    golden_runner::run_golden("split.txt", |command| {
        let words: Vec<&str> = command.split_whitespace().collect();
        let cmd = match words[0] {
            "init" => {
                let founders: Vec<(u64, std::net::SocketAddr)> = arg(&words, "nodes")
                    .split(',')
                    .map(|id| {
                        let id: u64 = id.parse().expect("id");
                        (
                            id,
                            format!("127.0.0.1:{}", 7000 + id).parse().expect("addr"),
                        )
                    })
                    .collect();
                let shards: u16 = arg(&words, "shards").parse().expect("shards");
                let rf: usize = arg(&words, "rf").parse().expect("rf");
                Cmd::Init(meta::initial(&founders, shards, rf))
            }
            "split" => Cmd::SplitAt(arg(&words, "at").parse().expect("slot")),
            "join" => Cmd::AddNode(arg(&words, "addr").to_string()),
            "migrate" => Cmd::Migrate(meta::Migration {
                slot: arg(&words, "slot").parse().expect("slot"),
                from: 0,
                to: arg(&words, "to").parse().expect("shard"),
            }),
            "finish" => Cmd::FinishMigration(arg(&words, "slot").parse().expect("slot")),
            other => panic!("unknown command {other:?}"),
        };
        let applied = meta::apply(&mut map, &MapCommand { cmd: Some(cmd) });
        report(&map, applied)
    });
}
