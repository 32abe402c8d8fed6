//! Golden-script tests of placement (`cluster/tests/golden/placement.txt`).
//!
//! The script is a list of blocks separated by blank lines. Each block is
//! one command, a `----` line, and the output the command must print:
//!
//! - `place nodes=1,2,3 shards=N rf=R`: every shard's voters and preferred
//!   leader, then each node's replicas and leads;
//! - `grow from=1,2,3 to=1,2,3,4 shards=N rf=R` (or a shrinking `to`): the
//!   replicas that move, against the ideal `1/(nodes after)` for a grow
//!   (`1/(nodes before)` for a shrink), and each node's load after.
//!
//! Lines starting with `#` are comments. Run with `UPDATE_GOLDEN=1` to
//! rewrite the expected outputs from the code (then read the diff); the
//! runner is `golden_runner/mod.rs`.

mod golden_runner;

use std::collections::HashMap;
use std::fmt::Write as _;

use redraft_cluster::placement::{load, place, replicas_moved};
use redraft_cluster::ShardBootstrap;

fn args(words: &[&str]) -> HashMap<String, String> {
    words
        .iter()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn ids(s: &str) -> Vec<u64> {
    s.split(',')
        .map(|x| x.parse().unwrap_or_else(|_| panic!("bad node id {x:?}")))
        .collect()
}

fn num(a: &HashMap<String, String>, k: &str) -> usize {
    a.get(k)
        .unwrap_or_else(|| panic!("missing {k}="))
        .parse()
        .unwrap_or_else(|_| panic!("bad {k}="))
}

fn print_load(out: &mut String, p: &[ShardBootstrap]) {
    for (node, (replicas, leads)) in load(p) {
        let _ = writeln!(out, "node {node}: {replicas} replicas, {leads} leads");
    }
}

fn join(v: &[u64]) -> String {
    v.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

fn run(command: &str) -> String {
    let words: Vec<&str> = command.split_whitespace().collect();
    let a = args(&words[1..]);
    let shards: Vec<u64> = (1..=num(&a, "shards") as u64).collect();
    let rf = num(&a, "rf");
    let mut out = String::new();
    match words[0] {
        "place" => {
            let p = place(&ids(&a["nodes"]), &shards, rf);
            for b in &p {
                let _ = writeln!(
                    out,
                    "shard {}: voters {} leader {}",
                    b.shard,
                    join(&b.voters),
                    b.preferred_leader.unwrap_or(0)
                );
            }
            print_load(&mut out, &p);
        }
        "grow" => {
            let (from, to) = (ids(&a["from"]), ids(&a["to"]));
            let before = place(&from, &shards, rf);
            let after = place(&to, &shards, rf);
            let (moved, total) = replicas_moved(&before, &after);
            let ideal = 1.0 / from.len().max(to.len()) as f64;
            let frac = moved as f64 / total as f64;
            let _ = writeln!(
                out,
                "moved {moved} of {total} replicas ({:.1}%); ideal 1/{} ({:.1}%); ratio {:.2}",
                frac * 100.0,
                from.len().max(to.len()),
                ideal * 100.0,
                frac / ideal
            );
            print_load(&mut out, &after);
        }
        other => panic!("unknown command {other:?}"),
    }
    out
}

#[test]
fn placement_golden_script() {
    golden_runner::run_golden("placement.txt", run);
}

/// Not golden: the bound the elastic-cluster issue sets (at most 1.25x
/// the ideal `1/(N+1)`), over several shard counts, so a change of the
/// ring cannot pass by tuning one script. With 32 or more shards it holds
/// up to 8 nodes; with 16 it holds for 3 -> 4 and 4 -> 5, but one shard
/// more or less on the new node is already 1/48 of the replicas and at
/// 6 -> 7 the ring's luck gives 1.6x (see docs/architecture/placement.md).
#[test]
fn growing_by_one_node_moves_at_most_a_quarter_more_than_ideal() {
    let cases = [(16u64, 3..=4u64), (32, 3..=7), (64, 3..=7), (128, 3..=7)];
    for (shards, sizes) in cases {
        let shards: Vec<u64> = (1..=shards).collect();
        for n in sizes {
            let from: Vec<u64> = (1..=n).collect();
            let to: Vec<u64> = (1..=n + 1).collect();
            let (moved, total) = replicas_moved(&place(&from, &shards, 3), &place(&to, &shards, 3));
            let ratio = (moved as f64 / total as f64) * (n + 1) as f64;
            assert!(
                ratio <= 1.25,
                "{} shards, {n} -> {} nodes: moved {moved} of {total}, {ratio:.2} x ideal",
                shards.len(),
                n + 1
            );
        }
    }
}
