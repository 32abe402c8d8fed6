//! A node: its engine, its Raft store, its clients and its slot map.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::RwLock;
use redraft_cluster::{
    key_slot, RaftConfig, RaftRouter, RaftStore, ShardId, Slot, SlotRange, SLOT_COUNT,
};
use redraft_resp::Reply;

use crate::apply::KvStateMachine;
use crate::config::Config;
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
pub struct SlotMap {
    /// `(range, shard)`, sorted by range start.
    pub ranges: Vec<(SlotRange, ShardId)>,
}

impl SlotMap {
    /// Splits the slots evenly over shards `1..=n`.
    pub fn even(n: u16) -> SlotMap {
        let ranges = SlotRange::split_even(n).into_iter().zip(1..).collect();
        SlotMap { ranges }
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
    /// Shared with the state machine: keyless writes (FLUSHALL) apply to
    /// the slot ranges of the shard they were proposed to.
    pub slots: Arc<RwLock<SlotMap>>,
    pub clients: ClientRegistry,
    pub stats: Stats,
    pub started: Instant,
    raft_thread: parking_lot::Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Set by SHUTDOWN; the server's main task waits on it.
    shutdown_requested: tokio::sync::Notify,
}

impl Node {
    /// Opens (or creates) the node's data folder and starts its Raft store.
    pub fn open(config: Config) -> io::Result<Arc<Node>> {
        std::fs::create_dir_all(&config.dir)?;
        let node_id = load_or_create_node_id(&config.dir)?;
        let engine = engine::open(config.engine, &config.dir.join(config.engine.as_str()))?;
        let slots = Arc::new(RwLock::new(SlotMap::even(
            config.shards.clamp(1, SLOT_COUNT),
        )));
        let shards = slots.read().shards();
        let raft_cfg = RaftConfig {
            node_id: config.raft_id.max(1),
            tick_ms: config.raft_tick_ms,
            compact_log_entries: config.raft_compact_entries,
            sync_log: !config.unsafe_no_fsync,
            ..RaftConfig::default()
        };
        let (raft, handle) = RaftStore::start(
            raft_cfg,
            &config.dir.join("raft"),
            &shards,
            KvStateMachine::new(engine.clone(), slots.clone()),
        )?;
        Ok(Arc::new(Node {
            settings: crate::settings::Settings::new(&config),
            config,
            node_id,
            engine,
            raft,
            slots,
            clients: ClientRegistry::default(),
            stats: Stats::default(),
            started: Instant::now(),
            raft_thread: parking_lot::Mutex::new(Some(handle)),
            shutdown_requested: tokio::sync::Notify::new(),
        }))
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

fn load_or_create_node_id(dir: &std::path::Path) -> io::Result<String> {
    let path = dir.join("node-id");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim();
        if s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(s.to_ascii_lowercase());
        }
    }
    let id: String = (0..20)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    let tmp = dir.join("node-id.tmp");
    std::fs::write(&tmp, &id)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(id)
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
        for s in 0..SLOT_COUNT {
            assert!(m.shard_of(s).is_some());
        }
    }
}
