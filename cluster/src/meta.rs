//! The cluster map: which nodes form the cluster (ids and addresses), how
//! many shards split the slots, and how many replicas each has. It is the
//! state of the metadata group (shard 0, on up to [`META_VOTERS`] nodes);
//! every change is a [`MapCommand`] that group applies, and bumps the
//! map's epoch. Nodes outside the group learn the map by gossip (the
//! newest epoch wins).
//!
//! Which nodes hold which shard follows from the map (the consistent-hash
//! ring of its nodes, see [`crate::placement`]); each shard's own Raft
//! group records its voters, and each shard's leader moves its replicas
//! until they match the ring.

use std::net::SocketAddr;

use prost::Message as _;

pub use crate::bus::proto::{
    map_command, ClusterMap, MapCommand, Migration, NodeEntry, ShardSlots,
};
use crate::slots::{SlotRange, SLOT_COUNT};

/// The metadata group has at most this many voters.
pub const META_VOTERS: usize = 5;

/// The metadata group's shard id.
pub const META_SHARD: u64 = 0;

/// [`NodeEntry::state`] of a node that takes replicas.
pub const ACTIVE: u32 = 0;
/// [`NodeEntry::state`] of a node being drained: placement leaves it out.
pub const DRAINING: u32 = 1;

/// The first map of a cluster founded by `nodes` (id and client address).
pub fn initial(nodes: &[(u64, SocketAddr)], shard_count: u16, replicas: usize) -> ClusterMap {
    let mut entries: Vec<NodeEntry> = nodes
        .iter()
        .map(|&(id, addr)| NodeEntry {
            id,
            addr: addr.to_string(),
            state: ACTIVE,
        })
        .collect();
    entries.sort_by_key(|n| n.id);
    entries.dedup_by_key(|n| n.id);
    ClusterMap {
        epoch: 1,
        next_id: entries.last().map_or(1, |n| n.id + 1),
        nodes: entries,
        shard_count: u32::from(shard_count),
        replicas: replicas as u32,
        shards: Vec::new(),
        next_shard: 0,
        migrations: Vec::new(),
    }
}

/// Which shard owns each slot: `(range, shard)` sorted by range start.
/// The founding shards split the slots evenly until a shard is split.
pub fn slot_assignment(map: &ClusterMap) -> Vec<(SlotRange, u64)> {
    if map.shards.is_empty() {
        let n = u16::try_from(map.shard_count.max(1)).unwrap_or(SLOT_COUNT);
        return SlotRange::split_even(n).into_iter().zip(1..).collect();
    }
    let mut v: Vec<(SlotRange, u64)> = map
        .shards
        .iter()
        .flat_map(|s| shard_ranges(s).into_iter().map(move |r| (r, s.id)))
        .collect();
    v.sort_by_key(|(r, _)| r.start);
    v
}

/// The slot ranges of a shard entry (pairs that are not valid ranges are
/// skipped).
pub fn shard_ranges(s: &ShardSlots) -> Vec<SlotRange> {
    s.ranges
        .chunks_exact(2)
        .filter(|c| c[0] <= c[1] && c[1] < u32::from(SLOT_COUNT))
        .map(|c| SlotRange::new(c[0] as u16, c[1] as u16))
        .collect()
}

fn ranges_field(ranges: &[SlotRange]) -> Vec<u32> {
    ranges
        .iter()
        .flat_map(|r| [u32::from(r.start), u32::from(r.end)])
        .collect()
}

/// The shard owning `slot` in the map.
pub fn owner(map: &ClusterMap, slot: u16) -> Option<u64> {
    slot_assignment(map)
        .into_iter()
        .find(|(r, _)| r.contains(slot))
        .map(|(_, s)| s)
}

/// The explicit shard list, made from the even split if the map has none.
fn materialize_shards(map: &mut ClusterMap) {
    if map.shards.is_empty() {
        map.shards = slot_assignment(map)
            .into_iter()
            .map(|(r, id)| ShardSlots {
                id,
                ranges: ranges_field(&[r]),
                parent: 0,
            })
            .collect();
    }
}

/// Starts migrating `m.slot` from its owner to shard `m.to` (`m.from` is
/// filled in with the owner). One migration per shard at a time; asking
/// again for the same migration changes nothing.
fn migrate(map: &mut ClusterMap, m: &Migration) -> Applied {
    if map.epoch == 0 {
        return Applied::Refused("the cluster map is not initialised yet".into());
    }
    let Some(slot) = u16::try_from(m.slot).ok().filter(|&s| s < SLOT_COUNT) else {
        return Applied::Refused(format!("slot {} is out of range (0..16383)", m.slot));
    };
    let Some(from) = owner(map, slot) else {
        return Applied::Refused(format!("no shard owns slot {slot}"));
    };
    if let Some(old) = map.migrations.iter().find(|x| x.slot == m.slot) {
        return if old.to == m.to {
            Applied::Migration {
                slot: m.slot,
                epoch: map.epoch,
            }
        } else {
            Applied::Refused(format!(
                "slot {slot} is already migrating to shard {}",
                old.to
            ))
        };
    }
    if !slot_assignment(map).iter().any(|(_, s)| *s == m.to) {
        return Applied::Refused(format!("no shard {}", m.to));
    }
    if from == m.to {
        return Applied::Refused(format!("slot {slot} is already shard {}'s", m.to));
    }
    if let Some(busy) = map
        .migrations
        .iter()
        .find(|x| [x.from, x.to].iter().any(|s| *s == from || *s == m.to))
    {
        return Applied::Refused(format!(
            "shard {} or {} is already in a migration (slot {}): one at a time",
            from, m.to, busy.slot
        ));
    }
    materialize_shards(map);
    map.migrations.push(Migration {
        slot: m.slot,
        from,
        to: m.to,
    });
    map.epoch += 1;
    Applied::Migration {
        slot: m.slot,
        epoch: map.epoch,
    }
}

/// Ends the migration of `slot`: the slot becomes its target's.
fn finish_migration(map: &mut ClusterMap, slot: u32) -> Applied {
    let Some(i) = map.migrations.iter().position(|x| x.slot == slot) else {
        return Applied::Refused(format!("slot {slot} is not migrating"));
    };
    let m = map.migrations.remove(i);
    let s = slot as u16;
    materialize_shards(map);
    for entry in map.shards.iter_mut() {
        let ranges = shard_ranges(entry);
        if entry.id == m.from {
            let kept = crate::slots::subtract_ranges(&ranges, &[SlotRange::new(s, s)]);
            entry.ranges = ranges_field(&kept);
        } else if entry.id == m.to {
            let mut all = ranges;
            all.push(SlotRange::new(s, s));
            all.sort();
            let mut merged: Vec<SlotRange> = Vec::new();
            for r in all {
                match merged.last_mut() {
                    Some(last) if u32::from(last.end) + 1 >= u32::from(r.start) => {
                        last.end = last.end.max(r.end);
                    }
                    _ => merged.push(r),
                }
            }
            entry.ranges = ranges_field(&merged);
        }
    }
    map.epoch += 1;
    Applied::Migration {
        slot,
        epoch: map.epoch,
    }
}

/// Splits the shard owning `at`: the slots it owns from `at` on go to a
/// new shard.
fn split_at(map: &mut ClusterMap, at: u32) -> Applied {
    if map.epoch == 0 {
        return Applied::Refused("the cluster map is not initialised yet".into());
    }
    let Ok(at) =
        u16::try_from(at).map_err(|_| ()).and_then(
            |a| {
                if a < SLOT_COUNT {
                    Ok(a)
                } else {
                    Err(())
                }
            },
        )
    else {
        return Applied::Refused(format!("slot {at} is out of range (0..16383)"));
    };
    materialize_shards(map);
    let Some(i) = map
        .shards
        .iter()
        .position(|s| shard_ranges(s).iter().any(|r| r.contains(at)))
    else {
        return Applied::Refused(format!("no shard owns slot {at}"));
    };
    let ranges = shard_ranges(&map.shards[i]);
    let mut kept = Vec::new();
    let mut given = Vec::new();
    for r in ranges {
        if r.end < at {
            kept.push(r);
        } else if r.start >= at {
            given.push(r);
        } else {
            kept.push(SlotRange::new(r.start, at - 1));
            given.push(SlotRange::new(at, r.end));
        }
    }
    let parent = map.shards[i].id;
    if kept.is_empty() {
        return Applied::Refused(format!(
            "slot {at} is the first slot of shard {parent}: split it at a later slot"
        ));
    }
    let id = map
        .next_shard
        .max(map.shards.iter().map(|s| s.id).max().unwrap_or(0) + 1);
    map.next_shard = id + 1;
    map.shards[i].ranges = ranges_field(&kept);
    map.shards.push(ShardSlots {
        id,
        ranges: ranges_field(&given),
        parent,
    });
    map.epoch += 1;
    Applied::Shard {
        id,
        epoch: map.epoch,
    }
}

/// The founding nodes that vote in the metadata group: the lowest ids.
pub fn meta_voters(nodes: &[u64]) -> Vec<u64> {
    let mut v = nodes.to_vec();
    v.sort_unstable();
    v.dedup();
    v.truncate(META_VOTERS);
    v
}

/// What applying a command answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The map was created (or already existed: `Init` changes nothing).
    Initialized { epoch: u64 },
    /// A node has this id (new, or it had joined before with this address).
    Node { id: u64, epoch: u64 },
    /// A shard split off: its id.
    Shard { id: u64, epoch: u64 },
    /// A slot migration started (or finished): the slot.
    Migration { slot: u32, epoch: u64 },
    /// The command was not understood or not valid; the map is unchanged.
    Refused(String),
}

/// Applies one command to `map`. Deterministic: every replica of the
/// metadata group reaches the same map.
pub fn apply(map: &mut ClusterMap, cmd: &MapCommand) -> Applied {
    match &cmd.cmd {
        Some(map_command::Cmd::Init(init)) => {
            if map.epoch == 0 {
                *map = init.clone();
                map.epoch = map.epoch.max(1);
            }
            Applied::Initialized { epoch: map.epoch }
        }
        Some(map_command::Cmd::AddNode(addr)) => {
            if map.epoch == 0 {
                return Applied::Refused("the cluster map is not initialised yet".into());
            }
            if addr.parse::<SocketAddr>().is_err() {
                return Applied::Refused(format!("'{addr}' is not an IP:PORT address"));
            }
            if let Some(n) = map.nodes.iter().find(|n| &n.addr == addr) {
                return Applied::Node {
                    id: n.id,
                    epoch: map.epoch,
                };
            }
            let id = map.next_id.max(1);
            map.next_id = id + 1;
            map.nodes.push(NodeEntry {
                id,
                addr: addr.clone(),
                state: ACTIVE,
            });
            map.epoch += 1;
            Applied::Node {
                id,
                epoch: map.epoch,
            }
        }
        Some(map_command::Cmd::DrainNode(id)) => {
            let active = map.nodes.iter().filter(|n| n.state == ACTIVE).count();
            let replicas = map.replicas.max(1) as usize;
            let Some(n) = map.nodes.iter_mut().find(|n| n.id == *id) else {
                return Applied::Refused(format!("no node {id} in the cluster"));
            };
            if n.state == DRAINING {
                return Applied::Node {
                    id: *id,
                    epoch: map.epoch,
                };
            }
            if active <= replicas {
                return Applied::Refused(format!(
                    "draining node {id} would leave {} nodes for {replicas} replicas per shard",
                    active - 1
                ));
            }
            n.state = DRAINING;
            map.epoch += 1;
            Applied::Node {
                id: *id,
                epoch: map.epoch,
            }
        }
        Some(map_command::Cmd::RemoveNode(id)) => {
            match map.nodes.iter().position(|n| n.id == *id) {
                Some(i) if map.nodes[i].state == DRAINING => {
                    map.nodes.remove(i);
                    map.epoch += 1;
                    Applied::Node {
                        id: *id,
                        epoch: map.epoch,
                    }
                }
                Some(_) => Applied::Refused(format!("node {id} is not drained")),
                None => Applied::Refused(format!("no node {id} in the cluster")),
            }
        }
        Some(map_command::Cmd::SplitAt(at)) => split_at(map, *at),
        Some(map_command::Cmd::Migrate(m)) => migrate(map, m),
        Some(map_command::Cmd::FinishMigration(slot)) => finish_migration(map, *slot),
        None => Applied::Refused("empty map command".into()),
    }
}

/// Why `cmd` would be refused on `map` (applied to a copy), if it would:
/// lets a node answer an admin request at once with the map's own rule.
pub fn refusal(map: &ClusterMap, cmd: &MapCommand) -> Option<String> {
    match apply(&mut map.clone(), cmd) {
        Applied::Refused(why) => Some(why),
        _ => None,
    }
}

/// The ids of the nodes that take replicas (not draining), sorted.
pub fn active_ids(map: &ClusterMap) -> Vec<u64> {
    let mut v: Vec<u64> = map
        .nodes
        .iter()
        .filter(|n| n.state == ACTIVE)
        .map(|n| n.id)
        .collect();
    v.sort_unstable();
    v
}

/// Encodes a map (for the metadata group's snapshot and for gossip).
pub fn encode(map: &ClusterMap) -> Vec<u8> {
    map.encode_to_vec()
}

/// Decodes a map; `None` for bytes that are not one.
pub fn decode(bytes: &[u8]) -> Option<ClusterMap> {
    ClusterMap::decode(bytes).ok()
}

/// Encodes a command for proposing to the metadata group.
pub fn encode_command(cmd: &MapCommand) -> Vec<u8> {
    cmd.encode_to_vec()
}

/// Decodes a command read from the metadata group's log.
pub fn decode_command(bytes: &[u8]) -> Option<MapCommand> {
    MapCommand::decode(bytes).ok()
}

/// The map's nodes as `(id, client address)`; entries with an address
/// that does not parse are skipped.
pub fn node_addrs(map: &ClusterMap) -> Vec<(u64, SocketAddr)> {
    map.nodes
        .iter()
        .filter_map(|n| n.addr.parse().ok().map(|a| (n.id, a)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn add(a: &str) -> MapCommand {
        MapCommand {
            cmd: Some(map_command::Cmd::AddNode(a.to_string())),
        }
    }

    #[test]
    fn init_then_joins_are_numbered_and_idempotent() {
        let mut map = ClusterMap::default();
        assert!(matches!(
            apply(&mut map, &add("127.0.0.1:7004")),
            Applied::Refused(_)
        ));
        let init = initial(&[(1, addr(7001)), (2, addr(7002)), (3, addr(7003))], 3, 3);
        let cmd = MapCommand {
            cmd: Some(map_command::Cmd::Init(init.clone())),
        };
        assert_eq!(apply(&mut map, &cmd), Applied::Initialized { epoch: 1 });
        assert_eq!(map, init);
        // A second Init changes nothing.
        let other = initial(&[(9, addr(7009))], 1, 1);
        let again = MapCommand {
            cmd: Some(map_command::Cmd::Init(other)),
        };
        assert_eq!(apply(&mut map, &again), Applied::Initialized { epoch: 1 });
        assert_eq!(map, init);
        assert_eq!(
            apply(&mut map, &add("127.0.0.1:7004")),
            Applied::Node { id: 4, epoch: 2 }
        );
        // The same address joining again gets the same id, same epoch.
        assert_eq!(
            apply(&mut map, &add("127.0.0.1:7004")),
            Applied::Node { id: 4, epoch: 2 }
        );
        assert_eq!(
            apply(&mut map, &add("127.0.0.1:7005")),
            Applied::Node { id: 5, epoch: 3 }
        );
        assert!(matches!(
            apply(&mut map, &add("not an address")),
            Applied::Refused(_)
        ));
        assert_eq!(map.epoch, 3);
        assert_eq!(node_addrs(&map).len(), 5);
        // Draining: out of the placement, then removed; never below the
        // replication factor.
        let drain = |id| MapCommand {
            cmd: Some(map_command::Cmd::DrainNode(id)),
        };
        let remove = |id| MapCommand {
            cmd: Some(map_command::Cmd::RemoveNode(id)),
        };
        assert!(matches!(apply(&mut map, &remove(2)), Applied::Refused(_)));
        assert_eq!(
            apply(&mut map, &drain(2)),
            Applied::Node { id: 2, epoch: 4 }
        );
        assert_eq!(
            apply(&mut map, &drain(2)),
            Applied::Node { id: 2, epoch: 4 }
        );
        assert_eq!(active_ids(&map), vec![1, 3, 4, 5]);
        assert_eq!(
            apply(&mut map, &drain(3)),
            Applied::Node { id: 3, epoch: 5 }
        );
        assert!(matches!(apply(&mut map, &drain(4)), Applied::Refused(_)));
        assert_eq!(
            apply(&mut map, &remove(2)),
            Applied::Node { id: 2, epoch: 6 }
        );
        assert!(matches!(apply(&mut map, &drain(9)), Applied::Refused(_)));
        assert_eq!(node_addrs(&map).len(), 4);
        assert_eq!(decode(&encode(&map)), Some(map.clone()));
        assert_eq!(decode_command(&encode_command(&add("x"))), Some(add("x")));
    }

    #[test]
    fn meta_voters_are_the_lowest_five_ids() {
        assert_eq!(meta_voters(&[7, 3, 1, 9, 2, 8, 4]), vec![1, 2, 3, 4, 7]);
        assert_eq!(meta_voters(&[2, 1]), vec![1, 2]);
    }
}
