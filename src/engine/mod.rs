//! # Storage engines
//!
//! One engine instance per node holds every shard's data and the state
//! machine's bookkeeping (applied indexes), behind the narrow [`Engine`]
//! trait. Keys are ordered bytewise; the keyspace layer (`crate::keyspace`)
//! puts the slot first in every data key so one slot is one contiguous
//! range.
//!
//! Engines: [`fjall`](fjall_engine) (an LSM-tree: SSTables, bloom filters,
//! leveled compaction), [`sled`](sled_engine) (the card's engine), and
//! [`memory`] (tests). `--engine` picks one; see
//! `docs/architecture/storage.md` for the benchmark that chose the default.
//!
//! ## The durability contract
//! - [`Engine::write`] applies a batch **atomically** and makes it visible
//!   to every later read at once. It does not have to be durable.
//! - [`Engine::sync`] returns once every batch written before it is durable.
//! - After a crash the engine recovers to a **prefix** of the batches
//!   written: every batch is wholly present or wholly absent, and if a batch
//!   is present so is every batch written before it. The Raft write path
//!   relies on this: the applied index is written in the same batch as the
//!   data it produced, so recovery replays the log from exactly the point
//!   the data reached.
//! - A clean close is `sync` then drop: reopening the same folder finds
//!   every batch. (Dropping without `sync` counts as a crash, although both
//!   disk engines flush on drop.)
//! - Any I/O error is reported, never swallowed; the apply path treats it as
//!   fatal for the node.
//!
//! How each engine meets this (which fsyncs, in which order) is in its
//! module docs; sled needs fsyncs of its own on top of sled's `flush`.
//!
//! ## Reads
//! - [`Engine::get`] and each pair a scan yields show committed batches
//!   only, each wholly or not at all.
//! - [`Engine::snapshot`] is point-in-time for every engine.
//! - [`Engine::scan`] is point-in-time on fjall; on sled and memory, batches
//!   committed while it runs may show in the part of the range it has not
//!   reached yet. Keys always come strictly ordered.
//!
//! ## Keys and values
//! Keys must be 1 to [`MAX_KEY_LEN`] bytes and values at most
//! [`MAX_VALUE_LEN`] bytes (fjall's limits; fjall panics beyond them, so
//! every engine rejects such a batch as a whole with
//! [`io::ErrorKind::InvalidInput`] before applying any of it). The keyspace
//! layer prefixes every key, so no real key is empty. Reads and range bounds
//! accept any key (fjall asserts on over-long ones, so its engine answers
//! them without asking fjall, see `storable_range`).
//!
//! ## Tests
//! One suite (`suite.rs`) runs against every engine: point operations,
//! batches, every combination of scan bounds, scans and snapshots racing a
//! writer, restarts, a model test of random operations with restarts and
//! crashes compared with a `BTreeMap`, and, for the disk engines, a process
//! killed mid-write that must recover a prefix of its batches.
//!
//! ## CAVEATS
//! - [`Engine::snapshot`] of sled materializes the range in memory (sled has
//!   no point-in-time iterators).
//! - sled's durability against power loss depends on sled internals we can
//!   only partly patch from outside (see its module docs).

pub mod bench;
pub mod fjall_engine;
pub mod memory;
pub mod sled_engine;
#[cfg(test)]
mod suite;

use std::io;
use std::ops::Bound;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

/// A key/value pair read from an engine.
pub type KvPair = (Vec<u8>, Vec<u8>);

/// An iterator over pairs in key order.
pub type KvIter<'a> = Box<dyn Iterator<Item = io::Result<KvPair>> + Send + 'a>;

/// A key range, as `RangeBounds` over owned keys.
pub type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// One change in a [`WriteBatch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchOp {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

/// Changes applied atomically by [`Engine::write`], in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBatch {
    pub ops: Vec<BatchOp>,
}

impl WriteBatch {
    pub fn new() -> WriteBatch {
        WriteBatch::default()
    }

    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(BatchOp::Put(key.into(), value.into()));
    }

    pub fn delete(&mut self, key: impl Into<Vec<u8>>) {
        self.ops.push(BatchOp::Delete(key.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }
}

/// An ordered key/value store with atomic batches. See the module docs for
/// the durability contract.
pub trait Engine: Send + Sync + 'static {
    /// The engine's name as `--engine` spells it.
    fn name(&self) -> &'static str;

    fn get(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>>;

    /// Pairs in `range`, ascending by key. Each pair is committed data, but
    /// only fjall's scan is point-in-time (see "Reads" in the module docs);
    /// callers needing a point-in-time view use [`Engine::snapshot`].
    fn scan(&self, range: KeyRange) -> KvIter<'_>;

    /// Pairs in `range`, descending by key.
    fn scan_rev(&self, range: KeyRange) -> KvIter<'_>;

    /// Applies `batch` atomically.
    fn write(&self, batch: WriteBatch) -> io::Result<()>;

    /// Makes every write so far durable.
    fn sync(&self) -> io::Result<()>;

    /// A point-in-time iterator over `range`, unaffected by later writes
    /// (for Raft snapshots and digests).
    fn snapshot(&self, range: KeyRange) -> io::Result<KvIter<'static>>;

    /// Approximate bytes on disk (INFO persistence, metrics).
    fn disk_size(&self) -> u64 {
        0
    }
}

/// Bytes of block or page cache each disk engine may use. Equal for both,
/// so the benchmark compares engines rather than cache sizes (sled's own
/// default is 1 GiB, fjall's 32 MiB).
pub const CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// The longest key an engine accepts (fjall stores key lengths in 16 bits).
pub const MAX_KEY_LEN: usize = u16::MAX as usize;

/// The longest value an engine accepts (fjall stores value lengths in 32
/// bits).
pub const MAX_VALUE_LEN: u64 = u32::MAX as u64;

/// Checks every key and value of `batch` against the limits in the module
/// docs, so that an engine can refuse the whole batch before applying any
/// of it.
pub(crate) fn validate_batch(batch: &WriteBatch) -> io::Result<()> {
    for op in &batch.ops {
        let (key, value) = match op {
            BatchOp::Put(key, value) => (key, Some(value)),
            BatchOp::Delete(key) => (key, None),
        };
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("key length {} is outside 1..={MAX_KEY_LEN}", key.len()),
            ));
        }
        if let Some(value) = value {
            if value.len() as u64 > MAX_VALUE_LEN {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("value length {} exceeds {MAX_VALUE_LEN}", value.len()),
                ));
            }
        }
    }
    Ok(())
}

/// Whether no key can lie in `range` because its start is past its end
/// (or equal to it with an exclusive side). Engines answer such ranges with
/// an empty iterator instead of handing them to a backend that may panic on
/// them (`BTreeMap::range` does).
pub(crate) fn range_is_inverted(range: &KeyRange) -> bool {
    match range {
        (Bound::Included(start), Bound::Included(end)) => start > end,
        (Bound::Included(start) | Bound::Excluded(start), Bound::Excluded(end))
        | (Bound::Excluded(start), Bound::Included(end)) => start >= end,
        (Bound::Unbounded, _) | (_, Bound::Unbounded) => false,
    }
}

/// `range` with every bound longer than [`MAX_KEY_LEN`] replaced by one that
/// selects the same storable keys, for backends that assert on over-long
/// keys in range bounds (fjall does).
///
/// With `p` the first `MAX_KEY_LEN` bytes of a longer bound `b`, a key `k`
/// of at most `MAX_KEY_LEN` bytes is never equal to `b`, is above `b`
/// exactly when it is above `p`, and below `b` exactly when it is at most
/// `p`. So a long start becomes `Excluded(p)` and a long end `Included(p)`.
pub(crate) fn storable_range(range: KeyRange) -> KeyRange {
    fn long(bound: &Bound<Vec<u8>>) -> Option<Vec<u8>> {
        match bound {
            Bound::Included(b) | Bound::Excluded(b) if b.len() > MAX_KEY_LEN => {
                Some(b[..MAX_KEY_LEN].to_vec())
            }
            _ => None,
        }
    }
    let (start, end) = range;
    let start = long(&start).map_or(start, Bound::Excluded);
    let end = long(&end).map_or(end, Bound::Included);
    (start, end)
}

/// The engines `--engine` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineKind {
    Fjall,
    Sled,
    Memory,
}

impl EngineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Fjall => "fjall",
            EngineKind::Sled => "sled",
            EngineKind::Memory => "memory",
        }
    }
}

impl FromStr for EngineKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fjall" => Ok(EngineKind::Fjall),
            "sled" => Ok(EngineKind::Sled),
            "memory" => Ok(EngineKind::Memory),
            _ => Err(format!("unknown engine '{s}' (fjall, sled, memory)")),
        }
    }
}

/// Opens the engine of `kind` under `dir` (the memory engine ignores it).
pub fn open(kind: EngineKind, dir: &Path) -> io::Result<Arc<dyn Engine>> {
    Ok(match kind {
        EngineKind::Fjall => Arc::new(fjall_engine::FjallEngine::open(dir)?),
        EngineKind::Sled => Arc::new(sled_engine::SledEngine::open(dir)?),
        EngineKind::Memory => Arc::new(memory::MemoryEngine::new()),
    })
}
