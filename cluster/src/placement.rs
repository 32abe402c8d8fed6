//! # Placement: which nodes hold each shard's replicas
//!
//! Replica sets come from a consistent-hash ring of the nodes (the
//! `hashring` crate), each node standing on the ring as [`VNODES`] virtual
//! nodes. A shard's replicas are the first `rf` *distinct* nodes met walking
//! the ring clockwise from the shard's hash. Adding a node N+1 puts it into
//! a shard's set exactly when it lands among those first `rf` nodes, and
//! then it pushes out exactly one node (the last); so about `rf/(N+1)` of
//! the shards change one replica each, and about `1/(N+1)` of all replicas
//! move — the ideal for a cluster that keeps every node equally loaded.
//! Removing a node moves only its own replicas.
//!
//! Preferred leaders are then balanced separately (they cost nothing to
//! move: a leader transfer, no data): each shard, in id order, prefers the
//! replica that so far prefers the fewest shards, ties going to the
//! replica met first on the ring, so every node leads `floor` or `ceil` of
//! shards/nodes.
//!
//! Everything here is a pure function of (nodes, shards, rf): every node
//! computes the same placement. The deterministic tests are golden scripts
//! (`cluster/tests/golden/placement.txt`).

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use hashring::HashRing;

use crate::raft::{ShardBootstrap, ShardId};

/// Virtual nodes per node on the ring.
pub const VNODES: u32 = 128;

/// One point of a node on the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct VNode {
    node: u64,
    index: u32,
}

impl Hash for VNode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // A fixed byte string per point: placement must not depend on
        // anything but the ids.
        state.write(format!("redraft-node-{}-vnode-{}", self.node, self.index).as_bytes());
    }
}

/// The ring of a set of nodes.
pub struct Ring {
    ring: HashRing<VNode>,
    nodes: Vec<u64>,
}

impl Ring {
    /// A ring of `nodes` (duplicates ignored).
    pub fn new(nodes: &[u64]) -> Ring {
        let mut ids = nodes.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut ring = HashRing::new();
        for &node in &ids {
            for index in 0..VNODES {
                ring.add(VNode { node, index });
            }
        }
        Ring { ring, nodes: ids }
    }

    /// The nodes on the ring, sorted.
    pub fn nodes(&self) -> &[u64] {
        &self.nodes
    }

    /// The first `rf` distinct nodes clockwise from `shard`'s point, in
    /// ring order (fewer if the ring has fewer nodes).
    pub fn replicas(&self, shard: ShardId, rf: usize) -> Vec<u64> {
        let want = rf.min(self.nodes.len());
        let mut out: Vec<u64> = Vec::with_capacity(want);
        if want == 0 {
            return out;
        }
        let key = format!("redraft-shard-{shard}");
        // The whole ring, rotated to start at the shard's point.
        let walk = self
            .ring
            .get_with_replicas(&key, self.ring.len())
            .unwrap_or_default();
        for v in walk {
            if !out.contains(&v.node) {
                out.push(v.node);
                if out.len() == want {
                    break;
                }
            }
        }
        out
    }
}

/// Replica sets and balanced preferred leaders of `shards` on `nodes`.
/// Voters are sorted; the preferred leader is one of them.
pub fn place(nodes: &[u64], shards: &[ShardId], rf: usize) -> Vec<ShardBootstrap> {
    let ring = Ring::new(nodes);
    let mut leads: HashMap<u64, usize> = HashMap::new();
    let mut sorted = shards.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
        .into_iter()
        .map(|shard| {
            let in_ring_order = ring.replicas(shard, rf.max(1));
            let preferred = in_ring_order
                .iter()
                .copied()
                .min_by_key(|n| leads.get(n).copied().unwrap_or(0));
            if let Some(p) = preferred {
                *leads.entry(p).or_default() += 1;
            }
            let mut voters = in_ring_order;
            voters.sort_unstable();
            ShardBootstrap {
                shard,
                voters,
                preferred_leader: preferred,
            }
        })
        .collect()
}

/// How many replicas differ between two placements of the same shards:
/// `(moved, total)`, where a replica is moved when its node is in the new
/// set but not in the old one (each such replica is one copy of the shard
/// to stream), and `total` counts the replicas of the new placement.
pub fn replicas_moved(before: &[ShardBootstrap], after: &[ShardBootstrap]) -> (usize, usize) {
    let old: BTreeMap<ShardId, &Vec<u64>> = before.iter().map(|b| (b.shard, &b.voters)).collect();
    let mut moved = 0;
    let mut total = 0;
    for b in after {
        total += b.voters.len();
        let prev = old.get(&b.shard);
        moved += b
            .voters
            .iter()
            .filter(|v| !prev.is_some_and(|p| p.contains(v)))
            .count();
    }
    (moved, total)
}

/// How many shards each node holds a replica of, and prefers to lead.
pub fn load(placement: &[ShardBootstrap]) -> BTreeMap<u64, (usize, usize)> {
    let mut out: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
    for b in placement {
        for &v in &b.voters {
            out.entry(v).or_default().0 += 1;
        }
        if let Some(p) = b.preferred_leader {
            out.entry(p).or_default().1 += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_are_distinct_and_stable() {
        let ring = Ring::new(&[3, 1, 2, 2]);
        assert_eq!(ring.nodes(), &[1, 2, 3]);
        for shard in 1..50 {
            let r = ring.replicas(shard, 3);
            let mut s = r.clone();
            s.sort_unstable();
            assert_eq!(s, vec![1, 2, 3], "shard {shard}: {r:?}");
            assert_eq!(r, Ring::new(&[1, 2, 3]).replicas(shard, 3));
        }
        assert_eq!(ring.replicas(1, 5).len(), 3);
        assert!(Ring::new(&[]).replicas(1, 3).is_empty());
    }

    #[test]
    fn adding_a_node_moves_only_replicas_onto_it() {
        let shards: Vec<ShardId> = (1..=64).collect();
        let before = place(&[1, 2, 3, 4], &shards, 3);
        let after = place(&[1, 2, 3, 4, 5], &shards, 3);
        for (b, a) in before.iter().zip(&after) {
            for v in a.voters.iter().filter(|v| !b.voters.contains(v)) {
                assert_eq!(*v, 5, "shard {}: {:?} -> {:?}", a.shard, b.voters, a.voters);
            }
        }
    }

    #[test]
    fn leaders_are_balanced() {
        let shards: Vec<ShardId> = (1..=10).collect();
        let p = place(&[1, 2, 3, 4], &shards, 3);
        for (node, (_, leads)) in load(&p) {
            assert!((2..=3).contains(&leads), "node {node} leads {leads}");
        }
        for b in &p {
            assert!(b.voters.contains(&b.preferred_leader.expect("a leader")));
        }
    }
}
