//! Raft log store benchmark: the multi-raft write pattern against three
//! candidate stores.
//!
//! Each "Ready cycle" appends K entries (120-byte payloads) spread over 3
//! shards plus one `HardState` per shard, in one durable write (one
//! `fdatasync`), as the store thread does after a Ready of every shard.
//! Measured per store: cycles/s, entries/s and p50/p99 latency of the
//! durable write.
//!
//! - `raft-engine`: `LogBatch::add_entries` + `put_message(HardState)`,
//!   `Engine::write(sync = true)`, configured as `cluster/src/raft/log.rs`;
//! - `segment`: one append-only file, one length-prefixed, CRC32-checked
//!   record per cycle, then `File::sync_data`; `segment+pre` is the same
//!   on a file grown ahead in 2 MiB chunks of zeros;
//! - `fjall`: keyspace `raftlog`, keys `[shard u64 BE][index u64 BE]`, one
//!   batch per cycle, committed, then `Database::persist(SyncData)`.
//!
//! Usage (all optional):
//!
//! ```text
//! cargo run --release -p redraft-cluster --example log_bench -- \
//!     [--cycles N] [--entries K] [--dir PATH]
//! ```
//!
//! The stores live in a temporary directory created under `--dir` (default:
//! `$CARGO_TARGET_DIR`, else `target`), removed at exit, so that the
//! benchmark runs on the disk the build uses rather than on a tmpfs.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use protobuf::Message as _;
use raft::eraftpb::{Entry, HardState};
use raft_engine::{Config, Engine, LogBatch, MessageExt, ReadableSize};

const SHARDS: u64 = 3;
const PAYLOAD: usize = 120;
const WARMUP_CYCLES: usize = 50;

#[derive(Clone)]
struct EntryExt;

impl MessageExt for EntryExt {
    type Entry = Entry;

    fn index(e: &Entry) -> u64 {
        e.index
    }
}

/// One cycle's work: per shard, its new entries and its hard state.
struct Cycle {
    shards: Vec<(u64, Vec<Entry>, HardState)>,
}

/// Builds the cycles' contents: entry `j` of a cycle goes to shard
/// `j % SHARDS`; indexes grow per shard from 1.
struct Workload {
    next_index: Vec<u64>,
    entries_per_cycle: usize,
    payload: Vec<u8>,
}

impl Workload {
    fn new(entries_per_cycle: usize) -> Workload {
        Workload {
            next_index: vec![1; SHARDS as usize],
            entries_per_cycle,
            payload: (0..PAYLOAD).map(|i| (i % 251) as u8).collect(),
        }
    }

    fn next(&mut self) -> Cycle {
        let mut shards: Vec<(u64, Vec<Entry>, HardState)> = (0..SHARDS)
            .map(|s| (s + 1, Vec::new(), HardState::default()))
            .collect();
        for j in 0..self.entries_per_cycle {
            let s = j % SHARDS as usize;
            let e = Entry {
                index: self.next_index[s],
                term: 1,
                data: self.payload.clone().into(),
                ..Default::default()
            };
            self.next_index[s] += 1;
            shards[s].1.push(e);
        }
        for (s, (_, entries, hs)) in shards.iter_mut().enumerate() {
            hs.term = 1;
            hs.vote = 1;
            // Commit trails the appends, as on a follower.
            hs.commit = self.next_index[s].saturating_sub(1 + entries.len() as u64);
        }
        Cycle { shards }
    }
}

/// A Raft log store under test: makes one cycle durable.
trait Store {
    fn write_cycle(&mut self, cycle: &Cycle);
}

struct RaftEngineStore {
    engine: Engine,
}

impl RaftEngineStore {
    fn open(dir: &Path) -> RaftEngineStore {
        // The configuration of cluster/src/raft/log.rs.
        let cfg = Config {
            dir: dir.to_string_lossy().into_owned(),
            target_file_size: ReadableSize::mb(64),
            purge_threshold: ReadableSize::gb(1),
            batch_compression_threshold: ReadableSize::kb(64),
            ..Config::default()
        };
        RaftEngineStore {
            engine: Engine::open(cfg).expect("open raft-engine"),
        }
    }
}

impl Store for RaftEngineStore {
    fn write_cycle(&mut self, cycle: &Cycle) {
        let mut batch = LogBatch::default();
        for (shard, entries, hs) in &cycle.shards {
            batch
                .add_entries::<EntryExt>(*shard, entries)
                .expect("add_entries");
            batch
                .put_message(*shard, b"hs".to_vec(), hs)
                .expect("put_message");
        }
        self.engine.write(&mut batch, true).expect("write");
    }
}

/// An append-only segment: records `[len u32 LE][crc32 u32 LE][payload]`,
/// payload = per shard `[shard u64][count u32]` then per entry
/// `[index u64][term u64][len u32][data]`, then `[term][vote][commit]`.
///
/// With `preallocate`, the file is grown ahead in [`PREALLOC`] chunks of
/// zeros (made durable with the chunk's first record) and records overwrite
/// them, so most `fdatasync`s need not log a new file size (raft-engine
/// does the same with `fallocate`).
struct SegmentStore {
    file: File,
    buf: Vec<u8>,
    preallocate: bool,
    written: u64,
    capacity: u64,
}

const PREALLOC: u64 = 2 << 20;

impl SegmentStore {
    fn open(dir: &Path, preallocate: bool) -> SegmentStore {
        std::fs::create_dir_all(dir).expect("create segment dir");
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(dir.join("00000001.log"))
            .expect("open segment");
        // Make the file's directory entry durable once, as a real log would.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .expect("sync dir");
        SegmentStore {
            file,
            buf: Vec::new(),
            preallocate,
            written: 0,
            capacity: 0,
        }
    }
}

impl Store for SegmentStore {
    fn write_cycle(&mut self, cycle: &Cycle) {
        let buf = &mut self.buf;
        buf.clear();
        buf.extend_from_slice(&[0; 8]);
        for (shard, entries, hs) in &cycle.shards {
            buf.extend_from_slice(&shard.to_le_bytes());
            buf.extend_from_slice(&(entries.len() as u32).to_le_bytes());
            for e in entries {
                buf.extend_from_slice(&e.index.to_le_bytes());
                buf.extend_from_slice(&e.term.to_le_bytes());
                buf.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
                buf.extend_from_slice(&e.data);
            }
            buf.extend_from_slice(&hs.term.to_le_bytes());
            buf.extend_from_slice(&hs.vote.to_le_bytes());
            buf.extend_from_slice(&hs.commit.to_le_bytes());
        }
        let len = (buf.len() - 8) as u32;
        let crc = crc32fast::hash(&buf[8..]);
        buf[0..4].copy_from_slice(&len.to_le_bytes());
        buf[4..8].copy_from_slice(&crc.to_le_bytes());
        let end = self.written + buf.len() as u64;
        if self.preallocate && end > self.capacity {
            let grow = PREALLOC.max(end - self.capacity);
            let zeros = vec![0; grow as usize];
            self.file
                .write_all_at(&zeros, self.capacity)
                .expect("preallocate");
            self.capacity += grow;
        }
        self.file.write_all_at(buf, self.written).expect("append");
        self.written = end;
        self.file.sync_data().expect("fdatasync");
    }
}

struct FjallStore {
    db: fjall::Database,
    log: fjall::Keyspace,
}

impl FjallStore {
    fn open(dir: &Path) -> FjallStore {
        let db = fjall::Database::builder(dir).open().expect("open fjall");
        let log = db
            .keyspace("raftlog", fjall::KeyspaceCreateOptions::default)
            .expect("keyspace");
        FjallStore { db, log }
    }
}

fn fjall_key(shard: u64, index: u64) -> [u8; 16] {
    let mut k = [0; 16];
    k[..8].copy_from_slice(&shard.to_be_bytes());
    k[8..].copy_from_slice(&index.to_be_bytes());
    k
}

impl Store for FjallStore {
    fn write_cycle(&mut self, cycle: &Cycle) {
        let mut batch = self.db.batch();
        for (shard, entries, hs) in &cycle.shards {
            for e in entries {
                let value = e.write_to_bytes().expect("encode entry");
                batch.insert(&self.log, fjall_key(*shard, e.index), value);
            }
            // Index 0 is never an entry's: it holds the hard state.
            let value = hs.write_to_bytes().expect("encode hard state");
            batch.insert(&self.log, fjall_key(*shard, 0), value);
        }
        batch.commit().expect("commit");
        self.db
            .persist(fjall::PersistMode::SyncData)
            .expect("persist");
    }
}

struct Report {
    name: &'static str,
    cycles: usize,
    entries: usize,
    total: Duration,
    p50: Duration,
    p99: Duration,
}

fn run(name: &'static str, store: &mut dyn Store, cycles: usize, k: usize) -> Report {
    let mut workload = Workload::new(k);
    for _ in 0..WARMUP_CYCLES {
        let c = workload.next();
        store.write_cycle(&c);
    }
    let mut lat = Vec::with_capacity(cycles);
    let start = Instant::now();
    for _ in 0..cycles {
        let c = workload.next();
        let t = Instant::now();
        store.write_cycle(&c);
        lat.push(t.elapsed());
    }
    let total = start.elapsed();
    lat.sort_unstable();
    let pct = |p: usize| lat[((lat.len() * p) / 100).min(lat.len() - 1)];
    Report {
        name,
        cycles,
        entries: cycles * k,
        total,
        p50: pct(50),
        p99: pct(99),
    }
}

fn arg_value(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cycles: usize = arg_value(&args, "--cycles").map_or(2000, |v| v.parse().expect("--cycles"));
    let k: usize = arg_value(&args, "--entries").map_or(16, |v| v.parse().expect("--entries"));
    assert!(
        cycles > 0 && k > 0,
        "--cycles and --entries must be positive"
    );
    let base = arg_value(&args, "--dir")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("target"));
    std::fs::create_dir_all(&base).expect("create base dir");
    let tmp = tempfile::Builder::new()
        .prefix("log_bench")
        .tempdir_in(&base)
        .expect("temp dir");

    println!(
        "log_bench: {SHARDS} shards, {k} entries x {PAYLOAD} B + {SHARDS} hard states per cycle, \
         {cycles} cycles (+{WARMUP_CYCLES} warm-up), one fdatasync per cycle, in {}",
        base.display()
    );
    let mut reports = Vec::new();
    {
        let mut s = RaftEngineStore::open(&tmp.path().join("raft-engine"));
        reports.push(run("raft-engine", &mut s, cycles, k));
    }
    {
        let mut s = SegmentStore::open(&tmp.path().join("segment"), false);
        reports.push(run("segment", &mut s, cycles, k));
    }
    {
        let mut s = SegmentStore::open(&tmp.path().join("segment-pre"), true);
        reports.push(run("segment+pre", &mut s, cycles, k));
    }
    {
        let mut s = FjallStore::open(&tmp.path().join("fjall"));
        reports.push(run("fjall", &mut s, cycles, k));
    }
    println!(
        "{:<12} {:>10} {:>11} {:>9} {:>9}",
        "store", "cycles/s", "entries/s", "p50 ms", "p99 ms"
    );
    for r in &reports {
        let secs = r.total.as_secs_f64();
        println!(
            "{:<12} {:>10.0} {:>11.0} {:>9.3} {:>9.3}",
            r.name,
            r.cycles as f64 / secs,
            r.entries as f64 / secs,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3,
        );
    }
}
