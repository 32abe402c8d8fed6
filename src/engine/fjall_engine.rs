//! # The fjall engine
//!
//! [fjall](https://docs.rs/fjall) 3 is an LSM-tree: writes go to a journal
//! and a memtable, memtables are flushed to SSTables in the background, and
//! SSTables are merged by **leveled compaction** (fjall's default strategy,
//! which this engine keeps). Every SSTable carries a **bloom filter**: fjall
//! builds them by default, and [`keyspace_options`] states the policy
//! explicitly (including the last level, as `GET`s of missing keys are
//! common) so it does not change behind our back.
//!
//! All data lives in one keyspace named `"data"`. The block cache holds
//! [`CACHE_BYTES`] (fjall's default is 32 MiB).
//!
//! ## Durability
//! - [`Engine::write`] commits one fjall batch: one journal entry under one
//!   sequence number, so it is atomic both to readers and to recovery. The
//!   journal entry is handed to the OS on commit (fjall's
//!   `PersistMode::Buffer`), so a process crash loses nothing; a power cut
//!   can lose what was not synced.
//! - [`Engine::sync`] fsyncs the active journal (`PersistMode::SyncAll`).
//!   That covers every earlier batch: fjall fsyncs a journal when it seals
//!   it (on memtable rotation), and deletes a sealed journal only after the
//!   SSTables holding its data are written and synced.
//! - fjall replays the journal in order on open and drops a torn tail, so a
//!   crash recovers a prefix of the batches.
//! - Dropping the engine also fsyncs the journal (fjall does so on drop).
//!
//! Reads ([`Engine::scan`] as well as [`Engine::snapshot`]) run against a
//! fjall snapshot (a sequence number), so both are point-in-time views.

use super::{
    range_is_inverted, storable_range, validate_batch, BatchOp, Engine, KeyRange, KvIter, KvPair,
    WriteBatch, CACHE_BYTES, MAX_KEY_LEN,
};
use fjall::config::{BloomConstructionPolicy, FilterPolicy, FilterPolicyEntry};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable};
use std::collections::HashMap;
use std::io;
use std::path::Path;

/// The name of the one keyspace the engine uses.
const KEYSPACE: &str = "data";

/// An [`Engine`] on a fjall database; see the module docs.
pub struct FjallEngine {
    db: Database,
    data: Keyspace,
}

/// The options the `"data"` keyspace is created with (fjall keeps them with
/// the keyspace; reopening does not change them).
///
/// Bloom filters on every level: 0.01% false positives in L0, 10 bits per
/// key (about 1%) below, and `expect_point_read_hits(false)` so the last
/// level keeps its filter too. Compaction stays fjall's default, leveled.
pub fn keyspace_options() -> KeyspaceCreateOptions {
    KeyspaceCreateOptions::default()
        .filter_policy(FilterPolicy::new([
            FilterPolicyEntry::Bloom(BloomConstructionPolicy::FalsePositiveRate(0.0001)),
            FilterPolicyEntry::Bloom(BloomConstructionPolicy::BitsPerKey(10.0)),
        ]))
        .expect_point_read_hits(false)
        // fjall's default is 64 MiB; with sealed memtables waiting for
        // their flush, resident memory grew by ~200 MiB while a large
        // collection was built (integration/tests/memory.rs).
        .max_memtable_size(MEMTABLE_BYTES)
}

/// The memtable size of the data keyspace.
pub const MEMTABLE_BYTES: u64 = 16 << 20;

/// Converts a fjall error, unwrapping plain I/O errors.
fn to_io(err: fjall::Error) -> io::Error {
    match err {
        fjall::Error::Io(err) => err,
        other => io::Error::other(other),
    }
}

fn to_pair(guard: fjall::Guard) -> io::Result<KvPair> {
    let (key, value) = guard.into_inner().map_err(to_io)?;
    Ok((key.to_vec(), value.to_vec()))
}

/// For each op of `batch`, whether a later op of the batch touches the same
/// key. All ops of a fjall batch share one sequence number, so the engine
/// drops superseded ops rather than rely on the order fjall applies
/// same-key, same-seqno entries in.
fn superseded(batch: &WriteBatch) -> Option<Vec<bool>> {
    if batch.len() < 2 {
        return None;
    }
    let mut last = HashMap::with_capacity(batch.len());
    for (i, op) in batch.ops.iter().enumerate() {
        let key = match op {
            BatchOp::Put(key, _) | BatchOp::Delete(key) => key.as_slice(),
        };
        last.insert(key, i);
    }
    if last.len() == batch.len() {
        return None;
    }
    Some(
        batch
            .ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                let key = match op {
                    BatchOp::Put(key, _) | BatchOp::Delete(key) => key.as_slice(),
                };
                last[key] != i
            })
            .collect(),
    )
}

impl FjallEngine {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> io::Result<FjallEngine> {
        let db = Database::builder(dir.as_ref())
            .cache_size(CACHE_BYTES)
            .open()
            .map_err(to_io)?;
        let data = db.keyspace(KEYSPACE, keyspace_options).map_err(to_io)?;
        Ok(FjallEngine { db, data })
    }

    fn iter(&self, range: KeyRange, rev: bool) -> KvIter<'static> {
        let range = storable_range(range);
        if range_is_inverted(&range) {
            return Box::new(std::iter::empty());
        }
        // The iterator owns its snapshot: it holds the sequence number it
        // reads at, so it is 'static and point-in-time.
        let iter = self.db.snapshot().range::<Vec<u8>, _>(&self.data, range);
        if rev {
            Box::new(iter.rev().map(to_pair))
        } else {
            Box::new(iter.map(to_pair))
        }
    }
}

impl Engine for FjallEngine {
    fn name(&self) -> &'static str {
        "fjall"
    }

    fn get(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            // fjall cannot store such a key, and asserts on a lookup of an
            // over-long one.
            return Ok(None);
        }
        Ok(self.data.get(key).map_err(to_io)?.map(|v| v.to_vec()))
    }

    fn scan(&self, range: KeyRange) -> KvIter<'_> {
        self.iter(range, false)
    }

    fn scan_rev(&self, range: KeyRange) -> KvIter<'_> {
        self.iter(range, true)
    }

    fn write(&self, batch: WriteBatch) -> io::Result<()> {
        validate_batch(&batch)?;
        if batch.is_empty() {
            return Ok(());
        }
        let skip = superseded(&batch);
        let mut fjall_batch = self.db.batch();
        for (i, op) in batch.ops.into_iter().enumerate() {
            if skip.as_ref().is_some_and(|skip| skip[i]) {
                continue;
            }
            match op {
                BatchOp::Put(key, value) => fjall_batch.insert(&self.data, key, value),
                BatchOp::Delete(key) => fjall_batch.remove(&self.data, key),
            }
        }
        fjall_batch.commit().map_err(to_io)
    }

    fn sync(&self) -> io::Result<()> {
        self.db.persist(PersistMode::SyncAll).map_err(to_io)
    }

    fn snapshot(&self, range: KeyRange) -> io::Result<KvIter<'static>> {
        Ok(self.iter(range, false))
    }

    fn disk_size(&self) -> u64 {
        self.db.disk_space().unwrap_or(0)
    }
}
