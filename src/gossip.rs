//! What a node knows of the shards it does not host, from gossip.
//!
//! Every node gossips, for each shard, the leader it knows with that
//! leader's term and the shard's voters: first-hand for the shards it
//! hosts (its own replica's Raft state), second-hand for the others. A
//! receiver keeps, per shard, the entry with the highest term (Raft elects
//! at most one leader per term, so a higher term is always newer news),
//! and within a term the one with the newer configuration (voters change
//! by conf change without a new term).
//! With that, every node answers MOVED and CLUSTER SLOTS/SHARDS/NODES for
//! every slot, also in clusters where shards live on a subset of the nodes.
//!
//! The bus side (the `Gossip` RPC, its schedule) is in
//! `redraft_cluster::bus`; this is the node's table.

use std::collections::HashMap;
use std::time::Instant;

use parking_lot::RwLock;
use redraft_cluster::bus::{GossipState, ShardLead};
use redraft_cluster::{ShardId, ShardInfo, ShardRole};

/// Shard leaders learned by gossip, and when each peer was last heard.
#[derive(Default)]
pub struct GossipTable {
    leads: RwLock<HashMap<ShardId, ShardLead>>,
    heard: RwLock<HashMap<u64, Instant>>,
    /// When other nodes last heard each node, as they report it.
    heard_by_others: RwLock<HashMap<u64, Instant>>,
}

impl GossipTable {
    /// Merges a peer's state: per shard, the higher term wins.
    pub fn merge(&self, state: &GossipState) {
        let now = Instant::now();
        self.heard.write().insert(state.from_node, now);
        {
            let mut others = self.heard_by_others.write();
            for &(node, ms_ago) in &state.heard {
                let Some(at) = now.checked_sub(std::time::Duration::from_millis(ms_ago)) else {
                    continue;
                };
                let e = others.entry(node).or_insert(at);
                *e = (*e).max(at);
            }
        }
        let mut leads = self.leads.write();
        for l in &state.leads {
            match leads.get(&l.shard) {
                Some(old) if (old.term, old.conf_index) >= (l.term, l.conf_index) => {}
                _ => {
                    leads.insert(l.shard, l.clone());
                }
            }
        }
    }

    /// Records first-hand knowledge (a local replica's state) so that it is
    /// passed on even after the replica moves away.
    pub fn learn(&self, lead: ShardLead) {
        self.merge(&GossipState {
            from_node: 0,
            leads: vec![lead],
            map: None,
            heard: Vec::new(),
        });
    }

    /// The newest entry known for `shard`.
    pub fn lead(&self, shard: ShardId) -> Option<ShardLead> {
        self.leads.read().get(&shard).cloned()
    }

    /// Every entry, by shard.
    pub fn leads(&self) -> Vec<ShardLead> {
        let mut v: Vec<ShardLead> = self.leads.read().values().cloned().collect();
        v.sort_unstable_by_key(|l| l.shard);
        v
    }

    /// When node `id` last gossiped with this one.
    pub fn last_heard(&self, id: u64) -> Option<Instant> {
        self.heard.read().get(&id).copied()
    }

    /// When node `id` was last heard, by this node or (as they gossip it)
    /// by any other: a node only this one cannot reach is not down.
    pub fn last_heard_by_anyone(&self, id: u64) -> Option<Instant> {
        let mine = self.last_heard(id);
        let theirs = self.heard_by_others.read().get(&id).copied();
        mine.max(theirs)
    }

    /// `(node, ms ago)` for every node this one gossiped with: what it
    /// tells the others.
    pub fn heard_report(&self) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = self
            .heard
            .read()
            .iter()
            .filter(|(&id, _)| id != 0)
            .map(|(&id, at)| (id, at.elapsed().as_millis() as u64))
            .collect();
        v.sort_unstable();
        v
    }
}

/// The state to gossip: the local replicas' knowledge first-hand, then
/// what was learned for the other shards.
pub fn state_of(table: &GossipTable, local: &[ShardInfo]) -> GossipState {
    for info in local {
        if let Some(leader) = info.leader {
            table.learn(ShardLead {
                shard: info.shard,
                term: info.term,
                leader,
                voters: info.voters.clone(),
                conf_index: info.conf_index,
                learners: info.learners.clone(),
            });
        }
    }
    GossipState {
        from_node: 0,
        leads: table.leads(),
        map: None,
        heard: table.heard_report(),
    }
}

/// The local replicas that a newer configuration of their group, known
/// from gossip, no longer names: `(shard, that configuration's index)`.
/// Such a replica was moved out while its node was down (no leader sends
/// to it any more, so it never applies its removal). Replicas not
/// initialised yet (no voters: created for a leader's message, waiting
/// for their snapshot) are left to their leader.
pub fn stale_replicas(table: &GossipTable, local: &[ShardInfo], me: u64) -> Vec<(ShardId, u64)> {
    local
        .iter()
        .filter(|i| !i.voters.is_empty() && i.role != ShardRole::Leader)
        .filter_map(|i| {
            let lead = table.lead(i.shard)?;
            (lead.conf_index > i.conf_index && !lead.names(me))
                .then_some((i.shard, lead.conf_index))
        })
        .collect()
}

/// A `ShardInfo` standing for a shard this node does not host, from what
/// gossip says of it (role `Follower`, no log positions).
pub fn remote_info(lead: &ShardLead) -> ShardInfo {
    ShardInfo {
        shard: lead.shard,
        role: ShardRole::Follower,
        term: lead.term,
        leader: Some(lead.leader),
        voters: lead.voters.clone(),
        ..ShardInfo::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(shard: u64, term: u64, leader: u64) -> ShardLead {
        ShardLead {
            shard,
            term,
            leader,
            voters: vec![1, 2, 3],
            conf_index: 5,
            learners: Vec::new(),
        }
    }

    #[test]
    fn within_a_term_the_newer_configuration_wins() {
        let t = GossipTable::default();
        let moved = ShardLead {
            voters: vec![1, 2, 4],
            conf_index: 40,
            ..lead(1, 5, 2)
        };
        t.merge(&GossipState {
            from_node: 2,
            leads: vec![moved.clone()],
            map: None,
            heard: Vec::new(),
        });
        // A second-hand copy of the old configuration, same term.
        t.merge(&GossipState {
            from_node: 3,
            leads: vec![lead(1, 5, 2)],
            map: None,
            heard: Vec::new(),
        });
        assert_eq!(t.lead(1), Some(moved));
    }

    #[test]
    fn a_replica_moved_out_while_away_is_found_stale() {
        let t = GossipTable::default();
        // Node 3 was moved out of shard 1 (configuration at index 40) and
        // of shard 2 (index 30) while it was down; it is being added to
        // shard 4 as a learner.
        t.merge(&GossipState {
            from_node: 2,
            leads: vec![
                ShardLead {
                    voters: vec![1, 2, 4],
                    conf_index: 40,
                    ..lead(1, 5, 2)
                },
                ShardLead {
                    voters: vec![1, 2, 4],
                    conf_index: 30,
                    ..lead(2, 5, 2)
                },
                ShardLead {
                    voters: vec![1, 2, 4],
                    learners: vec![3],
                    conf_index: 50,
                    ..lead(4, 5, 2)
                },
                lead(5, 5, 2),
            ],
            map: None,
            heard: Vec::new(),
        });
        let replica = |shard, conf_index, voters: Vec<u64>| ShardInfo {
            shard,
            term: 4,
            voters,
            conf_index,
            ..ShardInfo::default()
        };
        let local = [
            // Its old configuration: stale.
            replica(1, 20, vec![1, 2, 3]),
            // Already applied a newer one (added back): kept.
            replica(2, 35, vec![1, 2, 3]),
            // Caught up to an older configuration as a learner: kept.
            replica(4, 45, vec![1, 2, 4]),
            // Named by the gossiped configuration: kept.
            replica(5, 1, vec![1, 2, 3]),
            // Not initialised yet: its leader decides.
            replica(6, 0, vec![]),
        ];
        assert_eq!(stale_replicas(&t, &local, 3), vec![(1, 40)]);
        // A leader is never removed this way.
        let leading = [ShardInfo {
            role: ShardRole::Leader,
            ..replica(1, 20, vec![1, 2, 3])
        }];
        assert!(stale_replicas(&t, &leading, 3).is_empty());
    }

    #[test]
    fn a_node_another_one_heard_lately_is_not_taken_for_down() {
        let t = GossipTable::default();
        // Node 2 heard node 5 100 ms ago, and node 6 an hour ago; this
        // node never heard either itself.
        t.merge(&GossipState {
            from_node: 2,
            heard: vec![(5, 100), (6, 3_600_000), (7, u64::MAX)],
            ..GossipState::default()
        });
        assert!(t.last_heard(5).is_none());
        let five = t.last_heard_by_anyone(5).expect("heard by node 2");
        assert!(five.elapsed() < std::time::Duration::from_secs(60));
        let six = t
            .last_heard_by_anyone(6)
            .expect("heard by node 2, long ago");
        assert!(six.elapsed() >= std::time::Duration::from_secs(3_599));
        // A newer report wins, an older one does not go back in time.
        t.merge(&GossipState {
            from_node: 3,
            heard: vec![(6, 10), (5, 3_600_000)],
            ..GossipState::default()
        });
        assert!(t.last_heard_by_anyone(6).expect("6").elapsed() < six.elapsed());
        assert!(t.last_heard_by_anyone(5).expect("5") >= five);
        // Only first-hand knowledge is passed on.
        let report: Vec<u64> = t.heard_report().iter().map(|&(id, _)| id).collect();
        assert_eq!(report, vec![2, 3]);
        assert!(state_of(&t, &[]).heard.iter().all(|&(_, ms)| ms < 60_000));
    }

    #[test]
    fn the_higher_term_wins_whatever_the_order() {
        let t = GossipTable::default();
        t.merge(&GossipState {
            from_node: 2,
            leads: vec![lead(1, 5, 2), lead(2, 3, 3)],
            map: None,
            heard: Vec::new(),
        });
        t.merge(&GossipState {
            from_node: 3,
            leads: vec![lead(1, 4, 3), lead(2, 7, 1)],
            map: None,
            heard: Vec::new(),
        });
        assert_eq!(t.lead(1).unwrap().leader, 2);
        assert_eq!(t.lead(2).unwrap().leader, 1);
        assert_eq!(t.lead(3), None);
        assert!(t.last_heard(2).is_some() && t.last_heard(3).is_some());
        assert!(t.last_heard(4).is_none());
    }

    #[test]
    fn local_replicas_are_passed_on_first_hand() {
        let t = GossipTable::default();
        t.learn(lead(1, 2, 1));
        let local = [
            ShardInfo {
                shard: 1,
                term: 3,
                leader: Some(2),
                voters: vec![1, 2, 3],
                conf_index: 5,
                ..ShardInfo::default()
            },
            ShardInfo {
                shard: 2,
                term: 9,
                leader: None,
                ..ShardInfo::default()
            },
        ];
        let s = state_of(&t, &local);
        assert_eq!(s.leads, vec![lead(1, 3, 2)]);
        let info = remote_info(&s.leads[0]);
        assert_eq!((info.shard, info.leader, info.term), (1, Some(2), 3));
        assert_eq!(info.role, ShardRole::Follower);
    }
}
