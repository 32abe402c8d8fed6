//! # The in-memory engine
//!
//! A `BTreeMap` behind a `parking_lot` `RwLock`. Nothing survives the
//! process; it exists for tests and for `--engine memory`.
//!
//! ## Crash simulation
//! The engine keeps, next to the live map, an image of what the last
//! [`Engine::sync`] made "durable" and the batches written since then.
//! [`MemoryEngine::crash_and_reopen`] returns a new engine holding only the
//! synced image: what a real engine would be guaranteed to recover after a
//! power cut. [`MemoryEngine::crash_keeping`] recovers the synced image plus
//! the first `n` batches written after it, any of which the durability
//! contract allows a crash to leave behind (a real engine may have written
//! some of them out before the crash). Both leave `self` untouched, so a test
//! can crash the same engine several ways.
//!
//! The price is memory: the synced image doubles the data, and unsynced
//! batches pile up until the next `sync()`.

use super::{
    range_is_inverted, validate_batch, BatchOp, Engine, KeyRange, KvIter, KvPair, WriteBatch,
};
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::io;
use std::ops::Bound;

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// How many pairs a [`MemoryEngine::scan`] iterator copies out per lock
/// acquisition.
const SCAN_CHUNK: usize = 256;

/// An in-memory [`Engine`] that can simulate crashes; see the module docs.
#[derive(Default)]
pub struct MemoryEngine {
    state: RwLock<State>,
}

#[derive(Default)]
struct State {
    /// What reads see.
    live: Map,
    /// The data as of the last `sync()`.
    synced: Map,
    /// Batches written since the last `sync()`, oldest first.
    unsynced: Vec<WriteBatch>,
}

fn apply(map: &mut Map, batch: &WriteBatch) {
    for op in &batch.ops {
        match op {
            BatchOp::Put(key, value) => {
                map.insert(key.clone(), value.clone());
            }
            BatchOp::Delete(key) => {
                map.remove(key);
            }
        }
    }
}

impl MemoryEngine {
    /// An empty engine.
    pub fn new() -> MemoryEngine {
        MemoryEngine::default()
    }

    fn from_map(map: Map) -> MemoryEngine {
        MemoryEngine {
            state: RwLock::new(State {
                live: map.clone(),
                synced: map,
                unsynced: Vec::new(),
            }),
        }
    }

    /// Simulates a crash that loses every unsynced batch: returns an engine
    /// holding exactly what the last [`Engine::sync`] covered (everything
    /// it holds counts as synced).
    pub fn crash_and_reopen(&self) -> MemoryEngine {
        self.crash_keeping(0)
    }

    /// Simulates a crash that kept the synced data plus the first `n`
    /// batches written after the last sync (all of them if there are fewer),
    /// i.e. any prefix the durability contract allows.
    pub fn crash_keeping(&self, n: usize) -> MemoryEngine {
        let state = self.state.read();
        let mut map = state.synced.clone();
        for batch in state.unsynced.iter().take(n) {
            apply(&mut map, batch);
        }
        MemoryEngine::from_map(map)
    }

    /// How many batches were written since the last sync.
    pub fn unsynced_batches(&self) -> usize {
        self.state.read().unsynced.len()
    }

    fn collect(&self, range: &KeyRange, rev: bool, limit: usize) -> Vec<KvPair> {
        if range_is_inverted(range) {
            return Vec::new();
        }
        let state = self.state.read();
        let iter = state.live.range::<Vec<u8>, _>(range.clone());
        let clone = |(k, v): (&Vec<u8>, &Vec<u8>)| (k.clone(), v.clone());
        if rev {
            iter.rev().take(limit).map(clone).collect()
        } else {
            iter.take(limit).map(clone).collect()
        }
    }

    fn cursor(&self, range: KeyRange, rev: bool) -> KvIter<'_> {
        Box::new(Cursor {
            engine: self,
            range,
            rev,
            buf: Vec::new().into_iter(),
            done: false,
        })
    }
}

/// A scan that copies [`SCAN_CHUNK`] pairs at a time, so that it neither
/// holds the lock between `next()` calls nor copies a whole large range up
/// front. Each chunk is consistent; the scan as a whole sees later writes.
struct Cursor<'a> {
    engine: &'a MemoryEngine,
    /// What is left to read.
    range: KeyRange,
    rev: bool,
    buf: std::vec::IntoIter<KvPair>,
    done: bool,
}

impl Iterator for Cursor<'_> {
    type Item = io::Result<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(pair) = self.buf.next() {
            return Some(Ok(pair));
        }
        if self.done {
            return None;
        }
        let chunk = self.engine.collect(&self.range, self.rev, SCAN_CHUNK);
        if chunk.len() < SCAN_CHUNK {
            self.done = true;
        }
        if let Some((last, _)) = chunk.last() {
            let rest = Bound::Excluded(last.clone());
            if self.rev {
                self.range.1 = rest;
            } else {
                self.range.0 = rest;
            }
        }
        self.buf = chunk.into_iter();
        self.buf.next().map(Ok)
    }
}

impl Engine for MemoryEngine {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn get(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        Ok(self.state.read().live.get(key).cloned())
    }

    fn scan(&self, range: KeyRange) -> KvIter<'_> {
        self.cursor(range, false)
    }

    fn scan_rev(&self, range: KeyRange) -> KvIter<'_> {
        self.cursor(range, true)
    }

    fn write(&self, batch: WriteBatch) -> io::Result<()> {
        validate_batch(&batch)?;
        if batch.is_empty() {
            return Ok(());
        }
        let mut state = self.state.write();
        apply(&mut state.live, &batch);
        state.unsynced.push(batch);
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        let mut state = self.state.write();
        let State {
            synced, unsynced, ..
        } = &mut *state;
        for batch in unsynced.drain(..) {
            apply(synced, &batch);
        }
        Ok(())
    }

    fn snapshot(&self, range: KeyRange) -> io::Result<KvIter<'static>> {
        let pairs = self.collect(&range, false, usize::MAX);
        Ok(Box::new(pairs.into_iter().map(Ok)))
    }
}
