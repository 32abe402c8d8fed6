//! # Engine micro-benchmark
//!
//! [`bench_engine`] measures the workloads that decide the default engine:
//! durable writes (a sync after every batch, as the Raft apply path does),
//! point reads and range scans. The ignored test `engine_benchmark_report`
//! runs it against fjall and sled:
//!
//! ```text
//! cargo test --release -p redraft --lib engine_benchmark_report -- --ignored --nocapture
//! ```
//!
//! `REDRAFT_BENCH_OPS` overrides its operation count (default 50 000).

use super::{Engine, WriteBatch};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt;
use std::hint::black_box;
use std::ops::Bound;
use std::time::{Duration, Instant};

/// Bytes in every benchmark value.
pub const VALUE_LEN: usize = 100;

/// Keys per range scan.
pub const SCAN_LEN: usize = 1000;

/// One measured workload.
#[derive(Clone, Debug)]
pub struct WorkloadResult {
    pub name: &'static str,
    /// Operations done: puts, gets, or scans.
    pub ops: usize,
    /// Keys the operations touched (differs from `ops` for scans).
    pub keys: usize,
    pub elapsed: Duration,
}

impl WorkloadResult {
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn keys_per_sec(&self) -> f64 {
        self.keys as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Everything [`bench_engine`] measured on one engine.
#[derive(Clone, Debug)]
pub struct BenchResult {
    pub engine: &'static str,
    pub workloads: Vec<WorkloadResult>,
    /// [`Engine::disk_size`] after the run (after a final sync).
    pub disk_size: u64,
}

impl fmt::Display for BenchResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "engine {}:", self.engine)?;
        for w in &self.workloads {
            write!(
                f,
                "  {:<34} {:>8} ops in {:>8.3} s = {:>12.0} ops/s",
                w.name,
                w.ops,
                w.elapsed.as_secs_f64(),
                w.ops_per_sec()
            )?;
            if w.keys != w.ops {
                write!(f, " ({:.0} keys/s)", w.keys_per_sec())?;
            }
            writeln!(f)?;
        }
        write!(f, "  disk size after run: {} KiB", self.disk_size / 1024)
    }
}

fn random_key(rng: &mut StdRng) -> Vec<u8> {
    let mut key = b"bench:".to_vec();
    key.extend_from_slice(&rng.random::<u64>().to_be_bytes());
    key
}

fn random_value(rng: &mut StdRng) -> Vec<u8> {
    let mut value = vec![0u8; VALUE_LEN];
    rng.fill(&mut value[..]);
    value
}

/// Puts `ops` fresh random keys with [`VALUE_LEN`]-byte random values in
/// batches of `batch_len`, syncing after every batch. Returns the keys.
fn durable_puts(
    engine: &dyn Engine,
    rng: &mut StdRng,
    ops: usize,
    batch_len: usize,
    name: &'static str,
    out: &mut Vec<WorkloadResult>,
) -> Vec<Vec<u8>> {
    let mut keys = Vec::with_capacity(ops);
    let mut done = 0;
    let mut elapsed = Duration::ZERO;
    while done < ops {
        let n = batch_len.min(ops - done);
        let mut batch = WriteBatch::new();
        for _ in 0..n {
            let key = random_key(rng);
            keys.push(key.clone());
            batch.put(key, random_value(rng));
        }
        // Only the engine's work is timed, not generating the batch.
        let start = Instant::now();
        engine.write(batch).expect("benchmark write");
        engine.sync().expect("benchmark sync");
        elapsed += start.elapsed();
        done += n;
    }
    out.push(WorkloadResult {
        name,
        ops,
        keys: ops,
        elapsed,
    });
    keys
}

/// Runs the workloads against `engine`, which should start empty:
///
/// 1. `ops` puts of random keys, one per batch, a sync after each;
/// 2. `ops` puts of random keys, 64 per batch, a sync after each batch;
/// 3. `ops` gets of random keys written by 1 and 2;
/// 4. `ops` gets of keys never written;
/// 5. `max(ops / 500, 10)` forward scans of [`SCAN_LEN`] keys from random
///    existing keys.
///
/// Panics on any engine error.
pub fn bench_engine(engine: &dyn Engine, ops: usize) -> BenchResult {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut workloads = Vec::new();

    let mut keys = durable_puts(
        engine,
        &mut rng,
        ops,
        1,
        "put, batch of 1, sync each",
        &mut workloads,
    );
    keys.extend(durable_puts(
        engine,
        &mut rng,
        ops,
        64,
        "put, batch of 64, sync each batch",
        &mut workloads,
    ));

    let lookups: Vec<&[u8]> = (0..ops)
        .map(|_| keys[rng.random_range(0..keys.len())].as_slice())
        .collect();
    let start = Instant::now();
    for key in &lookups {
        let value = engine.get(key).expect("benchmark get");
        assert!(value.is_some(), "benchmark key vanished");
        black_box(value);
    }
    workloads.push(WorkloadResult {
        name: "get existing key",
        ops,
        keys: ops,
        elapsed: start.elapsed(),
    });

    // Absent keys (a different prefix, so never written): the case bloom
    // filters are for.
    let missing: Vec<Vec<u8>> = (0..ops)
        .map(|_| {
            let mut key = random_key(&mut rng);
            key[0] = b'B';
            key
        })
        .collect();
    let start = Instant::now();
    for key in &missing {
        let value = engine.get(key).expect("benchmark get");
        assert!(value.is_none(), "benchmark found a key never written");
        black_box(value);
    }
    workloads.push(WorkloadResult {
        name: "get missing key",
        ops,
        keys: ops,
        elapsed: start.elapsed(),
    });

    keys.sort_unstable();
    keys.dedup();
    let scans = (ops / 500).max(10);
    let last_start = keys.len().saturating_sub(SCAN_LEN).max(1);
    let starts: Vec<Vec<u8>> = (0..scans)
        .map(|_| keys[rng.random_range(0..last_start)].clone())
        .collect();
    let start = Instant::now();
    let mut scanned = 0;
    for from in starts {
        for pair in engine
            .scan((Bound::Included(from), Bound::Unbounded))
            .take(SCAN_LEN)
        {
            black_box(pair.expect("benchmark scan"));
            scanned += 1;
        }
    }
    workloads.push(WorkloadResult {
        name: "scan 1000 keys",
        ops: scans,
        keys: scanned,
        elapsed: start.elapsed(),
    });

    engine.sync().expect("benchmark sync");
    BenchResult {
        engine: engine.name(),
        workloads,
        disk_size: engine.disk_size(),
    }
}

/// Bytes the file system allocated to the files under `dir` (what `du`
/// reports), which unlike [`Engine::disk_size`] means the same thing for
/// every engine.
pub fn allocated_bytes(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => allocated_bytes(&entry.path()),
            Ok(meta) => meta.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::{allocated_bytes, bench_engine};
    use crate::engine::fjall_engine::FjallEngine;
    use crate::engine::memory::MemoryEngine;
    use crate::engine::sled_engine::SledEngine;
    use crate::engine::Engine;

    #[test]
    fn bench_engine_runs_on_a_small_load() {
        let engine = MemoryEngine::new();
        let result = bench_engine(&engine, 200);
        assert_eq!(result.engine, "memory");
        assert_eq!(result.workloads.len(), 5);
        // 400 keys in all, fewer than a scan's 1000: each of the 10 scans
        // starts at the first key and reads them all.
        assert_eq!(result.workloads[4].keys, 10 * 400);
        assert!(result.to_string().contains("get existing key"));
    }

    #[test]
    fn allocated_bytes_counts_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("a"), vec![1u8; 20_000]).unwrap();
        std::fs::write(dir.path().join("sub/b"), vec![1u8; 20_000]).unwrap();
        let bytes = allocated_bytes(dir.path());
        assert!(bytes >= 40_000, "{bytes}");
    }

    #[test]
    #[ignore = "benchmark: run in release with --ignored --nocapture"]
    fn engine_benchmark_report() {
        let ops = std::env::var("REDRAFT_BENCH_OPS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(50_000);
        let open: [(&str, fn(&std::path::Path) -> Box<dyn Engine>); 2] = [
            ("fjall", |dir| Box::new(FjallEngine::open(dir).unwrap())),
            ("sled", |dir| Box::new(SledEngine::open(dir).unwrap())),
        ];
        println!("{ops} operations per workload");
        for (name, open) in open {
            let dir = tempfile::tempdir().unwrap();
            let engine = open(dir.path());
            assert_eq!(engine.name(), name);
            println!("{}", bench_engine(engine.as_ref(), ops));
            println!(
                "  allocated on disk: {} KiB",
                allocated_bytes(dir.path()) / 1024
            );
        }
    }
}
