//! # The sled engine
//!
//! [sled](https://docs.rs/sled) 0.34.7: a lock-free B+-tree over a
//! log-structured page store. All data lives in sled's default tree; its
//! page cache is capped at [`CACHE_BYTES`] (sled's default is 1 GiB).
//!
//! ## Durability
//! - [`Engine::write`] is one `Tree::apply_batch`, which sled applies
//!   atomically: under sled's process-wide write lock for readers, and
//!   sealed as one batch in its log for recovery (a `sled::Batch` is a map,
//!   so the last op on a key wins, as the contract wants).
//! - [`Engine::sync`] is `flush()` **plus our own fsyncs**. sled's `flush()`
//!   writes every dirty log buffer out but, on Linux, only calls
//!   `sync_file_range` on it, which persists neither the file's size (the
//!   log grows by appending) nor the disk's volatile write cache (sled issue
//!   #1452). So `sync` also fsyncs the log file `db` (through a handle of
//!   our own: fsync acts on the file, not the handle). sled writes page
//!   fragments larger than a quarter segment (128 KiB by default: large
//!   values) to files under `blobs/` and never fsyncs them; `sync` fsyncs
//!   each blob file created since the last sync, before the flush, so a
//!   durable log entry does not point at a lost blob.
//! - Opening fsyncs sled's `conf` file and the folders, which sled leaves
//!   unsynced after creating them.
//! - sled's background flusher (`flush_every_ms`, 500 ms by default) is
//!   **off**: with it on, unsynced writes become durable by themselves
//!   within half a second, which is harmless to the contract but would make
//!   the write benchmark and crash reasoning depend on a timer. Unsynced
//!   batches can still reach the disk early whenever a log buffer fills up;
//!   the contract allows that.
//! - sled's recovery stops at the first torn or missing log entry and drops
//!   unsealed batches, so a crash recovers a prefix of the batches (the
//!   suite's kill -9 test checks this for process crashes).
//! - Dropping the engine flushes (sled does so on drop), but only a `sync`
//!   adds our fsyncs.
//! - sled may keep its folder lock for a moment after the engine is
//!   dropped (a background write still holds the log file); [`open`]
//!   waits for it, up to five seconds.
//!
//! [`open`]: SledEngine::open
//!
//! ## Caveats
//! - sled has no point-in-time iterators. [`Engine::snapshot`] copies the
//!   range into memory while holding [`SledEngine`]'s write gate, so no
//!   batch can land half-way through the copy. [`Engine::scan`] iterates the
//!   live tree: every pair it yields is committed (sled's write lock covers
//!   each step), but batches committed while it runs may show in the keys
//!   it has not reached yet, so it is not a consistent view across keys.
//! - Durability against power loss still rests on sled internals we cannot
//!   fix from outside: blobs and log records written by sled's own
//!   background work between our fsyncs, and the rename of its `snap.*`
//!   files (its folder is not fsynced afterwards).

use super::{
    range_is_inverted, validate_batch, BatchOp, Engine, KeyRange, KvIter, KvPair, WriteBatch,
    CACHE_BYTES,
};
use parking_lot::{Mutex, RwLock};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// An [`Engine`] on a sled database; see the module docs.
pub struct SledEngine {
    db: sled::Db,
    /// Writers hold it shared, [`Engine::snapshot`] exclusively, so a
    /// snapshot sees every batch wholly or not at all.
    write_gate: RwLock<()>,
    /// sled's log file, fsynced by [`Engine::sync`] after sled's flush.
    log_file: File,
    /// sled's folder of blob files.
    blob_dir: PathBuf,
    /// The highest blob id already fsynced. Held through a whole `sync`, so
    /// concurrent syncs do not skip each other's blobs.
    synced_blob: Mutex<u64>,
}

/// How long [`SledEngine::open`] waits for sled's folder lock.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// Opens sled in `dir`, waiting up to [`LOCK_WAIT`] for its folder lock.
///
/// sled releases the lock when the last reference to its log file goes,
/// and a background write can hold one for a moment after the last handle
/// was dropped; without the wait, reopening a folder right after closing it
/// fails now and then. A folder that is really in use still fails, later.
fn open_db(dir: &Path) -> io::Result<sled::Db> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        let config = sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .flush_every_ms(None);
        match config.open() {
            // sled 0.34 reports a lock conflict only through this message.
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            result => return Ok(result?),
        }
    }
}

/// fsyncs the file or folder at `path`.
fn fsync_path(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// fsyncs every blob file in `blob_dir` with an id above `*synced`, then the
/// folder itself if any was found, and raises `*synced` to the highest id
/// seen. sled names blobs by the log sequence number they were written at,
/// so ids only grow. A blob deleted meanwhile is skipped.
fn sync_new_blobs(blob_dir: &Path, synced: &mut u64) -> io::Result<()> {
    let entries = match std::fs::read_dir(blob_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut highest = *synced;
    for entry in entries {
        let entry = entry?;
        let Some(id) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u64>().ok())
        else {
            continue;
        };
        if id <= *synced {
            continue;
        }
        match fsync_path(&entry.path()) {
            Ok(()) => highest = highest.max(id),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    if highest > *synced {
        fsync_path(blob_dir)?;
        *synced = highest;
    }
    Ok(())
}

fn to_pair(item: sled::Result<(sled::IVec, sled::IVec)>) -> io::Result<KvPair> {
    let (key, value) = item?;
    Ok((key.to_vec(), value.to_vec()))
}

impl SledEngine {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> io::Result<SledEngine> {
        let dir = dir.as_ref();
        let db = open_db(dir)?;
        // sled's file layout (0.34): the log `db`, its settings `conf`, and
        // the `blobs` folder.
        let log_file = File::open(dir.join("db"))?;
        let blob_dir = dir.join("blobs");
        log_file.sync_all()?;
        fsync_path(&dir.join("conf"))?;
        fsync_path(&blob_dir)?;
        fsync_path(dir)?;
        let mut synced_blob = 0;
        sync_new_blobs(&blob_dir, &mut synced_blob)?;
        Ok(SledEngine {
            db,
            write_gate: RwLock::new(()),
            log_file,
            blob_dir,
            synced_blob: Mutex::new(synced_blob),
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
        let mut synced_blob = self.synced_blob.lock();
        // Blobs first: the log entries that point at them become durable
        // in the flush below.
        sync_new_blobs(&self.blob_dir, &mut synced_blob)?;
        self.db.flush()?;
        self.log_file.sync_all()?;
        // Blobs sled wrote during the flush (its own page rewrites).
        sync_new_blobs(&self.blob_dir, &mut synced_blob)
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

#[cfg(test)]
mod tests {
    use super::sync_new_blobs;

    #[test]
    fn sync_new_blobs_tracks_the_highest_id() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = dir.path().join("blobs");
        let mut synced = 0;
        sync_new_blobs(&blobs, &mut synced).expect("a missing folder is fine");
        assert_eq!(synced, 0);
        std::fs::create_dir(&blobs).unwrap();
        for name in ["5", "10", "not-a-blob"] {
            std::fs::write(blobs.join(name), b"x").unwrap();
        }
        sync_new_blobs(&blobs, &mut synced).unwrap();
        assert_eq!(synced, 10);
        std::fs::write(blobs.join("12"), b"x").unwrap();
        std::fs::remove_file(blobs.join("5")).unwrap();
        sync_new_blobs(&blobs, &mut synced).unwrap();
        assert_eq!(synced, 12);
    }
}
