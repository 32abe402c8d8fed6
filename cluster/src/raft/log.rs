//! Durable Raft state of every local replica, in one `raft-engine`.
//!
//! Per shard (raft-engine's "region" id = shard id):
//! - entries, appended by index (an append below the last index truncates
//!   the tail, as Raft requires);
//! - `hs`: the `HardState` (term, vote, commit);
//! - `cs`: the `ConfState` (voters, learners);
//! - `ci`: the log index of the entry (or snapshot) `cs` comes from
//!   (8 bytes, big-endian), so that a restarted replica can tell a newer
//!   configuration of its group, learned by gossip, from its own;
//! - `tombstone`: present once the replica was removed from its group
//!   (its log is gone; a restart must not bootstrap it again): the index
//!   it had applied then (8 bytes, big-endian);
//! - `compacted`: index and term of the last entry discarded by log
//!   compaction (16 bytes, big-endian), so the log can be reopened with
//!   raft-rs knowing the term before its first entry.
//!
//! All shards share the engine's write-ahead files: one `write(sync)` makes
//! every shard's appends of a Ready cycle durable with one fsync.

use std::io;
use std::path::Path;

use raft::eraftpb::{ConfState, Entry, HardState, SnapshotMetadata};
use raft_engine::{Config, Engine, LogBatch, MessageExt, ReadableSize};

const HARD_STATE: &[u8] = b"hs";
const CONF_STATE: &[u8] = b"cs";
const CONF_INDEX: &[u8] = b"ci";
const COMPACTED: &[u8] = b"compacted";
const TOMBSTONE: &[u8] = b"tombstone";

#[derive(Clone)]
pub(crate) struct EntryExt;

impl MessageExt for EntryExt {
    type Entry = Entry;

    fn index(e: &Entry) -> u64 {
        e.index
    }
}

/// What was persisted for one shard, as read at startup.
#[derive(Debug, Default)]
pub(crate) struct PersistedShard {
    pub hard_state: HardState,
    pub conf_state: Option<ConfState>,
    /// The log index `conf_state` comes from (0 if not recorded).
    pub conf_index: u64,
    /// `(index, term)` of the last discarded entry; `(0, 0)` if none.
    pub compacted: (u64, u64),
    pub entries: Vec<Entry>,
    /// The replica was removed from its group after applying this index
    /// (nothing else is kept).
    pub tombstone: Option<u64>,
}

pub(crate) struct RaftLog {
    engine: Engine,
}

fn to_io(e: raft_engine::Error) -> io::Error {
    io::Error::other(e.to_string())
}

impl RaftLog {
    pub fn open(dir: &Path) -> io::Result<RaftLog> {
        std::fs::create_dir_all(dir)?;
        let cfg = Config {
            dir: dir.to_string_lossy().into_owned(),
            target_file_size: ReadableSize::mb(64),
            purge_threshold: ReadableSize::gb(1),
            // Entries are small commands; compressing them costs latency.
            batch_compression_threshold: ReadableSize::kb(64),
            ..Config::default()
        };
        let engine = Engine::open(cfg).map_err(to_io)?;
        Ok(RaftLog { engine })
    }

    /// Shards with any persisted state (tombstones included).
    pub fn shards(&self) -> Vec<u64> {
        self.engine.raft_groups()
    }

    pub fn load(&self, shard: u64) -> io::Result<PersistedShard> {
        let hard_state = self
            .engine
            .get_message::<HardState>(shard, HARD_STATE)
            .map_err(to_io)?
            .unwrap_or_default();
        let conf_state = self
            .engine
            .get_message::<ConfState>(shard, CONF_STATE)
            .map_err(to_io)?;
        let compacted = match self.engine.get(shard, COMPACTED) {
            Some(v) if v.len() == 16 => {
                let (a, b) = v.split_at(8);
                (
                    u64::from_be_bytes(a.try_into().unwrap_or_default()),
                    u64::from_be_bytes(b.try_into().unwrap_or_default()),
                )
            }
            _ => (0, 0),
        };
        let mut entries = Vec::new();
        if let (Some(first), Some(last)) = (
            self.engine.first_index(shard),
            self.engine.last_index(shard),
        ) {
            self.engine
                .fetch_entries_to::<EntryExt>(shard, first, last + 1, None, &mut entries)
                .map_err(to_io)?;
        }
        let conf_index = self
            .engine
            .get(shard, CONF_INDEX)
            .and_then(|v| v.get(..8).and_then(|b| b.try_into().ok()))
            .map_or(0, u64::from_be_bytes);
        Ok(PersistedShard {
            hard_state,
            conf_state,
            conf_index,
            compacted,
            entries,
            tombstone: self.engine.get(shard, TOMBSTONE).map(|v| {
                v.get(..8)
                    .and_then(|b| b.try_into().ok())
                    .map_or(u64::MAX, u64::from_be_bytes)
            }),
        })
    }

    pub fn add_entries(
        &self,
        batch: &mut LogBatch,
        shard: u64,
        entries: &[Entry],
    ) -> io::Result<()> {
        batch.add_entries::<EntryExt>(shard, entries).map_err(to_io)
    }

    pub fn put_hard_state(
        &self,
        batch: &mut LogBatch,
        shard: u64,
        hs: &HardState,
    ) -> io::Result<()> {
        batch
            .put_message(shard, HARD_STATE.to_vec(), hs)
            .map_err(to_io)
    }

    /// Records the configuration in force, set by the entry (or the
    /// snapshot) at `index`.
    pub fn put_conf_state(
        &self,
        batch: &mut LogBatch,
        shard: u64,
        cs: &ConfState,
        index: u64,
    ) -> io::Result<()> {
        batch
            .put_message(shard, CONF_STATE.to_vec(), cs)
            .map_err(to_io)?;
        batch
            .put(shard, CONF_INDEX.to_vec(), index.to_be_bytes().to_vec())
            .map_err(to_io)
    }

    /// Writes a batch; with `sync`, returns only once it is on disk.
    ///
    /// Failpoints (fault injection, inert unless configured):
    /// `raft-log-write` on every write, `raft-log-fsync` on synced ones
    /// (raft-engine writes and fsyncs in one call, so both sit before it).
    pub fn write(&self, batch: &mut LogBatch, sync: bool) -> io::Result<usize> {
        fail::fail_point!("raft-log-write", |_| Err(io::Error::other(
            "failpoint raft-log-write"
        )));
        if sync {
            fail::fail_point!("raft-log-fsync", |_| Err(io::Error::other(
                "failpoint raft-log-fsync"
            )));
        }
        self.engine.write(batch, sync).map_err(to_io)
    }

    /// Forgets the shard's whole log and restarts it right after a
    /// snapshot: conf state, compaction point and hard state from the
    /// snapshot, no entries. Durable on return.
    pub fn reset_to_snapshot(
        &self,
        shard: u64,
        meta: &SnapshotMetadata,
        hs: &HardState,
    ) -> io::Result<()> {
        let mut batch = LogBatch::default();
        batch.add_command(shard, raft_engine::Command::Clean);
        self.write(&mut batch, false)?;
        let mut batch = LogBatch::default();
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(&meta.index.to_be_bytes());
        v.extend_from_slice(&meta.term.to_be_bytes());
        batch.put(shard, COMPACTED.to_vec(), v).map_err(to_io)?;
        self.put_conf_state(&mut batch, shard, meta.get_conf_state(), meta.index)?;
        self.put_hard_state(&mut batch, shard, hs)?;
        self.write(&mut batch, true)?;
        Ok(())
    }

    /// Forgets the shard's whole log and leaves a tombstone recording the
    /// `applied` index. Durable on return.
    pub fn destroy(&self, shard: u64, applied: u64) -> io::Result<()> {
        let mut batch = LogBatch::default();
        batch.add_command(shard, raft_engine::Command::Clean);
        self.write(&mut batch, false)?;
        let mut batch = LogBatch::default();
        batch
            .put(shard, TOMBSTONE.to_vec(), applied.to_be_bytes().to_vec())
            .map_err(to_io)?;
        self.write(&mut batch, true)?;
        Ok(())
    }

    /// Discards entries before `index`; `(index - 1, term)` is recorded as
    /// the compaction point.
    pub fn compact(&self, shard: u64, index: u64, prev_term: u64) -> io::Result<()> {
        let mut batch = LogBatch::default();
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(&(index - 1).to_be_bytes());
        v.extend_from_slice(&prev_term.to_be_bytes());
        batch.put(shard, COMPACTED.to_vec(), v).map_err(to_io)?;
        self.write(&mut batch, true)?;
        self.engine.compact_to(shard, index);
        // Reclaim files whose every entry has been compacted away.
        let _ = self.engine.purge_expired_files();
        Ok(())
    }
}
