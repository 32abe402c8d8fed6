//! # The sled engine
//!
//! [sled](https://docs.rs/sled) 0.34.7: a lock-free B+-tree over a
//! log-structured page store. All data lives in sled's default tree.
//!
//! ## Durability
//! - [`Engine::write`] is one `Tree::apply_batch`, which sled applies
//!   atomically (a `sled::Batch` is a map, so the last op on a key wins).
//! - [`Engine::sync`] is `flush()`: it writes every dirty log buffer out and
//!   fsyncs it.
//! - sled's background flusher (`flush_every_ms`, 500 ms by default) is
//!   **off**: with it on, unsynced writes become durable by themselves
//!   within half a second, which is harmless to the contract but would make
//!   the write benchmark and crash reasoning depend on a timer. Unsynced
//!   batches can still reach the disk early whenever a log buffer fills up;
//!   the contract allows that.
//! - sled's recovery stops at the first torn or missing log entry, so a
//!   crash recovers a prefix of the batches.
//! - Dropping the engine flushes (sled does so on drop).
//!
//! ## Caveats
//! - sled has no point-in-time iterators. [`Engine::snapshot`] copies the
//!   range into memory while holding [`SledEngine`]'s write gate, so no
//!   batch can land half-way through the copy. [`Engine::scan`] iterates the
//!   live tree and may see batches committed while it runs.

use super::{
    range_is_inverted, validate_batch, BatchOp, Engine, KeyRange, KvIter, KvPair, WriteBatch,
};
use parking_lot::RwLock;
use std::io;
use std::path::Path;

/// An [`Engine`] on a sled database; see the module docs.
pub struct SledEngine {
    db: sled::Db,
    /// Writers hold it shared, [`Engine::snapshot`] exclusively, so a
    /// snapshot sees every batch wholly or not at all.
    write_gate: RwLock<()>,
}

fn to_pair(item: sled::Result<(sled::IVec, sled::IVec)>) -> io::Result<KvPair> {
    let (key, value) = item?;
    Ok((key.to_vec(), value.to_vec()))
}

impl SledEngine {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> io::Result<SledEngine> {
        let db = sled::Config::new()
            .path(dir.as_ref())
            .flush_every_ms(None)
            .open()?;
        Ok(SledEngine {
            db,
            write_gate: RwLock::new(()),
        })
    }

    fn iter(&self, range: KeyRange, rev: bool) -> KvIter<'static> {
        if range_is_inverted(&range) {
            return Box::new(std::iter::empty());
        }
        let iter = self.db.range::<Vec<u8>, _>(range);
        if rev {
            Box::new(iter.rev().map(to_pair))
        } else {
            Box::new(iter.map(to_pair))
        }
    }
}

impl Engine for SledEngine {
    fn name(&self) -> &'static str {
        "sled"
    }

    fn get(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        Ok(self.db.get(key)?.map(|v| v.to_vec()))
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
        let mut sled_batch = sled::Batch::default();
        for op in batch.ops {
            match op {
                BatchOp::Put(key, value) => sled_batch.insert(key, value),
                BatchOp::Delete(key) => sled_batch.remove(key),
            }
        }
        let _gate = self.write_gate.read();
        Ok(self.db.apply_batch(sled_batch)?)
    }

    fn sync(&self) -> io::Result<()> {
        self.db.flush()?;
        Ok(())
    }

    fn snapshot(&self, range: KeyRange) -> io::Result<KvIter<'static>> {
        let _gate = self.write_gate.write();
        let pairs = self.iter(range, false).collect::<io::Result<Vec<_>>>()?;
        Ok(Box::new(pairs.into_iter().map(Ok)))
    }

    fn disk_size(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}
