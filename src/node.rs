//! A node: its engine, its Raft store, its clients and its slot map.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::RwLock;
use redraft_cluster::{
    key_slot, RaftConfig, RaftRouter, RaftStore, ShardBootstrap, ShardId, Slot, SlotRange,
    Transport,
};
use redraft_resp::Reply;

use crate::apply::KvStateMachine;
use crate::config::{Config, PeerSpec};
use crate::engine::{self, Engine};
use crate::session::ClientRegistry;

/// Counters INFO stats reports.
#[derive(Default)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub commands_processed: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub expired_keys: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub error_replies: AtomicU64,
}

impl Stats {
    pub fn incr(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Which shard owns each slot. One node owning every shard for now.
#[derive(Default)]
pub struct SlotMap {
    /// `(range, shard)`, sorted by range start.
    pub ranges: Vec<(SlotRange, ShardId)>,
    /// Slots migrating: `(slot, from, to)` (see `crate::migration`).
    pub migrations: Vec<(Slot, ShardId, ShardId)>,
}

impl SlotMap {
    /// Splits the slots evenly over shards `1..=n`.
    pub fn even(n: u16) -> SlotMap {
        let ranges = SlotRange::split_even(n).into_iter().zip(1..).collect();
        SlotMap {
            ranges,
            migrations: Vec::new(),
        }
    }

    /// The cluster map's slot assignment (see
    /// [`redraft_cluster::meta::slot_assignment`]).
    pub fn of_map(map: &redraft_cluster::meta::ClusterMap) -> SlotMap {
        SlotMap {
            ranges: redraft_cluster::meta::slot_assignment(map),
            migrations: map
                .migrations
                .iter()
                .filter_map(|m| Some((u16::try_from(m.slot).ok()?, m.from, m.to)))
                .collect(),
        }
    }

    /// The migration of `slot`, if it is migrating: `(from, to)`.
    pub fn migration_of(&self, slot: Slot) -> Option<(ShardId, ShardId)> {
        self.migrations
            .iter()
            .find(|m| m.0 == slot)
            .map(|m| (m.1, m.2))
    }

    pub fn shard_of(&self, slot: Slot) -> Option<ShardId> {
        let i = self.ranges.partition_point(|(r, _)| r.end < slot);
        self.ranges
            .get(i)
            .filter(|(r, _)| r.contains(slot))
            .map(|(_, s)| *s)
    }

    /// The slot ranges `shard` owns, in order.
    pub fn ranges_of(&self, shard: ShardId) -> Vec<SlotRange> {
        self.ranges
            .iter()
            .filter(|(_, s)| *s == shard)
            .map(|(r, _)| *r)
            .collect()
    }

    pub fn shards(&self) -> Vec<ShardId> {
        let mut v: Vec<ShardId> = self.ranges.iter().map(|(_, s)| *s).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

pub struct Node {
    pub config: Config,
    /// Runtime parameters (CONFIG GET/SET), seeded from `config`.
    pub settings: crate::settings::Settings,
    /// 40 hex characters, stable across restarts (stored in the data folder).
    pub node_id: String,
    pub engine: Arc<dyn Engine>,
    pub raft: RaftRouter<Reply>,
    /// This node's Raft id (from `--raft-id`, or given when it joined).
    raft_id: u64,
    /// Every node of the cluster (this one included), by Raft id: the
    /// cluster map's, or the founding `--peers` before there is a map.
    nodes: RwLock<Vec<PeerSpec>>,
    /// The newest cluster map this node has seen (see `crate::meta`).
    pub map: Arc<crate::meta::MapView>,
    /// Where Raft messages leave; the cluster bus once it is started.
    pub transport: Arc<LateTransport>,
    /// The cluster bus, once started (multi-node clusters only).
    pub bus: std::sync::OnceLock<redraft_cluster::Bus>,
    /// Shared with the state machine: keyless writes (FLUSHALL) apply to
    /// the slot ranges of the shard they were proposed to.
    pub slots: Arc<RwLock<SlotMap>>,
    /// Clients blocked on keys (BLPOP, …); shared with the state machine,
    /// which wakes them as writes apply.
    pub blocking: Arc<crate::blocking::Blocking>,
    /// The local shards' slot migration states, as applied (shared with
    /// the state machine): reads and ASKING routing check them.
    pub migrations: crate::migration::Shared,
    /// Shard leaders learned from the other nodes (see `crate::gossip`).
    pub gossip: crate::gossip::GossipTable,
    pub clients: ClientRegistry,
    pub stats: Stats,
    pub started: Instant,
    raft_thread: parking_lot::Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Set by SHUTDOWN; the server's main task waits on it.
    shutdown_requested: tokio::sync::Notify,
}

/// The file in the data folder that holds the Raft id a node was given
/// when it joined a running cluster.
const JOINED_ID_FILE: &str = "joined-node-id";

/// The Raft id this data folder was given when it joined a cluster.
pub fn joined_id(dir: &std::path::Path) -> io::Result<Option<u64>> {
    match std::fs::read_to_string(dir.join(JOINED_ID_FILE)) {
        Ok(s) => s.trim().parse().map(Some).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{JOINED_ID_FILE}: '{}' is not a node id", s.trim()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Records the Raft id this data folder was given by the cluster it joined
/// (durably, before the node uses it).
pub fn save_joined_id(dir: &std::path::Path, id: u64) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{JOINED_ID_FILE}.tmp"));
    std::fs::write(&tmp, format!("{id}\n"))?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, dir.join(JOINED_ID_FILE))?;
    std::fs::File::open(dir)?.sync_all()
}

/// The nodes of `map` as peer specs.
fn map_nodes(map: &redraft_cluster::meta::ClusterMap) -> Vec<PeerSpec> {
    redraft_cluster::meta::node_addrs(map)
        .into_iter()
        .map(|(id, addr)| PeerSpec { id, addr })
        .collect()
}

impl Node {
    /// Opens (or creates) the node's data folder and starts its Raft store.
    /// A node that joined a cluster (`joined_id` in its folder) takes its
    /// id from there and `map` (the join's answer, or the map it kept)
    /// for its peers; it bootstraps no shard: leaders add it to theirs.
    pub fn open(config: Config) -> io::Result<Arc<Node>> {
        Self::open_with_map(config, None)
    }

    /// [`Node::open`], with the map a join just answered.
    pub fn open_with_map(
        config: Config,
        joined_map: Option<redraft_cluster::meta::ClusterMap>,
    ) -> io::Result<Arc<Node>> {
        std::fs::create_dir_all(&config.dir)?;
        let joined = joined_id(&config.dir)?;
        let engine = engine::open(config.engine, &config.dir.join(config.engine.as_str()))?;
        let mut map = crate::meta::load_node_map(engine.as_ref())?;
        if let Some(m) = joined_map.filter(|m| m.epoch > map.epoch) {
            crate::meta::store_node_map(engine.as_ref(), &m)?;
            map = m;
        }
        let me = joined.unwrap_or(config.raft_id.max(1));
        let nodes = if map.epoch > 0 {
            map_nodes(&map)
        } else {
            config.nodes()
        };
        if !nodes.iter().any(|n| n.id == me) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                match joined {
                    Some(id) => format!("node {id} (joined) is not in the cluster map it kept"),
                    None => format!("--raft-id {me} is not one of the --peers"),
                },
            ));
        }
        let node_id = redis_node_id(me);
        let slots = Arc::new(RwLock::new(if map.shard_count > 0 {
            SlotMap::of_map(&map)
        } else {
            SlotMap::even(config.shard_count())
        }));
        // The founders bootstrap the data shards on the ring of the
        // founding nodes, and the metadata group on the first of them.
        let mut shards: Vec<ShardBootstrap> = Vec::new();
        if joined.is_none() {
            let founders: Vec<u64> = config.nodes().iter().map(|n| n.id).collect();
            shards = placement(&founders, &slots.read().shards(), config.replicas);
            if founders.len() >= 2 {
                let voters = redraft_cluster::meta::meta_voters(&founders);
                shards.push(ShardBootstrap {
                    shard: redraft_cluster::meta::META_SHARD,
                    preferred_leader: voters.first().copied(),
                    voters,
                });
            }
            shards.retain(|b| b.voters.contains(&me));
        }
        let map = Arc::new(crate::meta::MapView::new(map));
        let transport = Arc::new(LateTransport::default());
        let blocking = Arc::new(crate::blocking::Blocking::default());
        let raft_cfg = RaftConfig {
            node_id: me,
            tick_ms: config.raft_tick_ms,
            compact_log_entries: config.raft_compact_entries,
            compact_log_bytes: config.raft_compact_mib.max(1) << 20,
            sync_log: !config.unsafe_no_fsync,
            anti_entropy_interval: (config.anti_entropy_secs > 0)
                .then(|| std::time::Duration::from_secs(config.anti_entropy_secs)),
            ..RaftConfig::default()
        };
        let sm = KvStateMachine::new(engine.clone(), slots.clone(), blocking.clone(), map.clone());
        let migrations = sm.migrations();
        let (raft, handle) = RaftStore::start(
            raft_cfg,
            &config.dir.join("raft"),
            &shards,
            sm,
            transport.clone(),
        )?;
        Ok(Arc::new(Node {
            settings: crate::settings::Settings::new(&config),
            config,
            node_id,
            engine,
            raft,
            raft_id: me,
            nodes: RwLock::new(nodes),
            map,
            transport,
            bus: std::sync::OnceLock::new(),
            slots,
            blocking,
            migrations,
            gossip: crate::gossip::GossipTable::default(),
            clients: ClientRegistry::default(),
            stats: Stats::default(),
            started: Instant::now(),
            raft_thread: parking_lot::Mutex::new(Some(handle)),
            shutdown_requested: tokio::sync::Notify::new(),
        }))
    }

    /// Whether the bus currently has a live stream to node `id`.
    pub fn peer_connected(&self, id: u64) -> bool {
        self.bus.get().is_some_and(|b| b.is_connected(id))
    }

    /// This node's Raft id.
    pub fn raft_id(&self) -> u64 {
        self.raft_id
    }

    /// Every node of the cluster (this one included), sorted by id.
    pub fn nodes(&self) -> Vec<PeerSpec> {
        self.nodes.read().clone()
    }

    /// The metadata group's leader as this node knows it: first-hand if it
    /// hosts a replica of the group, else from gossip.
    pub fn meta_leader(&self) -> Option<u64> {
        let meta = redraft_cluster::meta::META_SHARD;
        self.raft
            .shard_info(meta)
            .and_then(|i| i.leader)
            .or_else(|| self.gossip.lead(meta).map(|l| l.leader))
    }

    /// The client address of node `id`, if it is known.
    pub fn node_addr(&self, id: u64) -> Option<std::net::SocketAddr> {
        self.nodes
            .read()
            .iter()
            .find(|n| n.id == id)
            .map(|n| n.addr)
    }

    /// Replicas per shard: the cluster map's, else `--replicas`.
    pub fn replicas(&self) -> usize {
        match self.map.get().replicas {
            0 => self.config.replicas,
            r => r as usize,
        }
    }

    /// Takes a newer cluster map's nodes (keeping it for restarts); returns
    /// the nodes that were not known before.
    pub fn adopt_map(&self) -> io::Result<Vec<PeerSpec>> {
        let map = self.map.get();
        if map.epoch == 0 {
            return Ok(Vec::new());
        }
        crate::meta::store_node_map(self.engine.as_ref(), &map)?;
        if map.shard_count > 0 {
            let assignment = SlotMap::of_map(&map);
            let mut slots = self.slots.write();
            if slots.ranges != assignment.ranges || slots.migrations != assignment.migrations {
                *slots = assignment;
            }
        }
        let fresh = map_nodes(&map);
        let mut nodes = self.nodes.write();
        let added: Vec<PeerSpec> = fresh
            .iter()
            .filter(|n| !nodes.iter().any(|o| o.id == n.id && o.addr == n.addr))
            .copied()
            .collect();
        *nodes = fresh;
        Ok(added)
    }

    /// The slots whose keys this node answers keyless reads about (KEYS,
    /// SCAN, DBSIZE, RANDOMKEY): those of the shards it leads, or of every
    /// shard it hosts for a READONLY connection; sorted and merged.
    pub fn served_slots(&self, readonly: bool) -> Vec<SlotRange> {
        let map = self.slots.read();
        let ranges: Vec<SlotRange> = map
            .ranges
            .iter()
            .filter(|(_, s)| {
                if readonly {
                    self.raft.hosts(*s)
                } else {
                    self.raft.is_leader(*s)
                        || (self.nodes.read().len() < 2
                            && self.raft.shard_info(*s).is_some_and(|i| i.leader.is_none()))
                }
            })
            .map(|(r, _)| *r)
            .collect();
        crate::cmd::cluster::topology::merge_ranges(ranges)
    }

    /// A view of the engine limited to [`Node::served_slots`].
    pub fn served_view(&self, readonly: bool) -> crate::keyspace::served::ServedView<'_> {
        crate::keyspace::served::ServedView::new(self.engine.as_ref(), &self.served_slots(readonly))
    }

    /// Every shard this node knows of: its local replicas' state, and for
    /// the shards it does not host, what gossip says of them.
    pub fn known_shards(&self) -> Vec<redraft_cluster::ShardInfo> {
        let mut known = self.raft.shards();
        // The metadata group owns no slots: not a shard clients see.
        known.retain(|i| i.shard != redraft_cluster::meta::META_SHARD);
        let hosted: std::collections::HashSet<ShardId> = known.iter().map(|i| i.shard).collect();
        known.extend(
            self.gossip
                .leads()
                .iter()
                .filter(|l| {
                    !hosted.contains(&l.shard) && l.shard != redraft_cluster::meta::META_SHARD
                })
                .map(crate::gossip::remote_info),
        );
        known
    }

    /// For shards of the slot map that no replica here nor gossip names a
    /// leader for, yet split off a shard whose leader is known: the
    /// parent's state as a stand-in (its leader campaigns first for the
    /// new shard, on the same replicas). So CLUSTER SLOTS and MOVED cover
    /// a new shard's slots from the moment the map has it, instead of
    /// leaving them unassigned until gossip names its leader (redis-py
    /// refuses a slot map with holes).
    pub fn split_stand_ins(
        &self,
        known: &[redraft_cluster::ShardInfo],
    ) -> Vec<redraft_cluster::ShardInfo> {
        let map = self.map.get();
        let led = |s: ShardId| known.iter().find(|i| i.shard == s && i.leader.is_some());
        let mut out = Vec::new();
        for entry in &map.shards {
            if led(entry.id).is_some() || entry.parent == 0 {
                continue;
            }
            // Up the chain of splits to the nearest shard with a leader.
            let mut parent = entry.parent;
            for _ in 0..map.shards.len() {
                if let Some(info) = led(parent) {
                    let mut stand_in = info.clone();
                    stand_in.shard = entry.id;
                    out.push(stand_in);
                    break;
                }
                match map.shards.iter().find(|s| s.id == parent) {
                    Some(p) if p.parent != 0 => parent = p.parent,
                    _ => break,
                }
            }
        }
        out
    }

    /// The client address of `shard`'s leader as this node knows it (its
    /// replica, gossip, or a just-split shard's parent), if any.
    pub fn leader_addr(&self, shard: ShardId) -> Option<std::net::SocketAddr> {
        let leader = self
            .raft
            .shard_info(shard)
            .and_then(|i| i.leader)
            .or_else(|| self.gossip.lead(shard).map(|l| l.leader))
            .or_else(|| {
                self.split_stand_ins(&self.known_shards())
                    .into_iter()
                    .find(|i| i.shard == shard)
                    .and_then(|i| i.leader)
            })?;
        self.node_addr(leader)
    }

    /// The shard owning `key`'s slot.
    pub fn shard_of_key(&self, key: &[u8]) -> Option<ShardId> {
        self.slots.read().shard_of(key_slot(key))
    }

    /// Asks the process to shut down cleanly (SHUTDOWN).
    pub fn request_shutdown(&self) {
        self.shutdown_requested.notify_one();
    }

    /// Resolves once SHUTDOWN was requested.
    pub async fn shutdown_requested(&self) {
        self.shutdown_requested.notified().await;
    }

    /// Stops the Raft store and makes the engine durable.
    pub fn shutdown(&self) {
        self.raft.stop();
        if let Some(h) = self.raft_thread.lock().take() {
            let _ = h.join();
        }
        if let Err(e) = self.engine.sync() {
            tracing::error!("engine sync at shutdown: {e}");
        }
    }
}

/// The 40-hex Redis Cluster id of the node with Raft id `raft_id`: a
/// fixed function of it, so every node names every other the same way
/// without exchanging ids, and a node keeps its id across restarts.
pub fn redis_node_id(raft_id: u64) -> String {
    // splitmix64: well-spread bits from a small integer.
    let mut x = raft_id ^ 0x7265_6472_6166_7421; // "redraft!"
    let mut out = String::with_capacity(40);
    while out.len() < 40 {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.push_str(&format!("{z:016x}"));
    }
    out.truncate(40);
    out
}

/// The initial replicas of every shard and the node each prefers as its
/// leader: replica sets on the consistent-hash ring of the nodes, leaders
/// balanced (see `redraft_cluster::placement`).
pub fn placement(nodes: &[u64], shards: &[ShardId], replicas: usize) -> Vec<ShardBootstrap> {
    redraft_cluster::placement::place(nodes, shards, replicas)
}

/// A transport set once the cluster bus is up; until then (and on a
/// one-node cluster) messages are dropped, which Raft tolerates.
#[derive(Default)]
pub struct LateTransport(std::sync::OnceLock<Arc<dyn Transport>>);

impl LateTransport {
    pub fn set(&self, t: Arc<dyn Transport>) {
        let _ = self.0.set(t);
    }
}

impl Transport for LateTransport {
    fn send(&self, to: u64, msgs: Vec<(ShardId, redraft_cluster::RaftMessage)>) {
        match self.0.get() {
            Some(t) => t.send(to, msgs),
            None => redraft_cluster::NoTransport.send(to, msgs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_map_finds_every_slot() {
        let m = SlotMap::even(3);
        assert_eq!(m.shard_of(0), Some(1));
        assert_eq!(m.shard_of(16383), Some(3));
        assert_eq!(m.shards(), vec![1, 2, 3]);
        for s in 0..redraft_cluster::SLOT_COUNT {
            assert!(m.shard_of(s).is_some());
        }
    }

    #[test]
    fn placement_spreads_leaders_and_replicas() {
        let p = placement(&[1, 2, 3], &[1, 2, 3], 3);
        let mut leaders: Vec<_> = p.iter().filter_map(|b| b.preferred_leader).collect();
        leaders.sort_unstable();
        assert_eq!(leaders, vec![1, 2, 3]);
        assert!(p.iter().all(|b| b.voters == vec![1, 2, 3]));
        let p = placement(&[1, 2, 3, 4, 5], &[1, 2, 3, 4, 5], 3);
        for b in &p {
            assert_eq!(b.voters.len(), 3);
            assert!(b.voters.contains(&b.preferred_leader.expect("a leader")));
        }
        let p = placement(&[7], &[1, 2], 3);
        assert!(p.iter().all(|b| b.voters == vec![7]));
    }

    #[test]
    fn node_ids_are_stable_hex_and_distinct() {
        let a = redis_node_id(1);
        assert_eq!(a.len(), 40);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(a, redis_node_id(1));
        assert_ne!(a, redis_node_id(2));
    }
}
