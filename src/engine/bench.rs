//! # Engine micro-benchmark
//!
//! [`bench_engine`] measures the workloads that decide the default engine:
//! writes as the Raft apply path makes them (one unsynced batch per Ready;
//! the engine is synced only before the Raft log is compacted, as the log
//! is the durable record), durable writes (a sync after every batch, the
//! worst case and what a sync-per-write design would pay), point reads of
//! present and absent keys, and range scans. The ignored test
//! `engine_benchmark_report` runs it against fjall and sled:
//!
//! ```text
//! cargo test --release -p redraft --lib engine_benchmark_report -- --ignored --nocapture
//! ```
//!
//! `REDRAFT_BENCH_OPS` sets its base operation count `N` (default
//! 100 000); the workloads' sizes derive from it (see [`bench_engine`]).
//! `REDRAFT_BENCH_ROUNDS` (default 3) repeats the run, alternating the
//! engines so that load from other processes falls on both, and ends with
//! a [`summary`] table of medians and ranges.
//! At the default, about 600 000 keys are written, more than one fjall
//! memtable (64 MiB) holds, so reads reach SSTables too.

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
    /// What the file system allocated to the engine's folder, when the
    /// caller measured it ([`allocated_bytes`]).
    pub allocated: Option<u64>,
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
        write!(f, "  disk size after run: {} KiB", self.disk_size / 1024)?;
        if let Some(bytes) = self.allocated {
            write!(f, "\n  allocated on disk: {} KiB", bytes / 1024)?;
        }
        Ok(())
    }
}

/// The median and the range of `values` (not empty).
fn median_range(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    let median = if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    };
    (median, values[0], values[values.len() - 1])
}

/// A markdown table of several rounds of results: one row per workload,
/// one column per engine (in order of first appearance), each cell the
/// median ops/s over the rounds with the range beside it; then the median
/// disk use in MiB.
pub fn summary(results: &[BenchResult]) -> String {
    let mut engines: Vec<&'static str> = Vec::new();
    for r in results {
        if !engines.contains(&r.engine) {
            engines.push(r.engine);
        }
    }
    let Some(first) = results.first() else {
        return String::new();
    };
    let mut out = String::from("| workload |");
    for e in &engines {
        out.push_str(&format!(" {e} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(engines.len()));
    out.push('\n');
    for (i, w) in first.workloads.iter().enumerate() {
        let unit = if w.keys != w.ops { "scans/s" } else { "ops/s" };
        out.push_str(&format!("| {} ({unit}) |", w.name));
        for e in &engines {
            let mut values: Vec<f64> = results
                .iter()
                .filter(|r| r.engine == *e)
                .map(|r| r.workloads[i].ops_per_sec())
                .collect();
            let (median, low, high) = median_range(&mut values);
            out.push_str(&format!(" {median:.0} ({low:.0}–{high:.0}) |"));
        }
        out.push('\n');
    }
    type DiskField = fn(&BenchResult) -> Option<u64>;
    let disk_rows: [(&str, DiskField); 2] = [
        ("disk size reported by the engine (MiB)", |r| {
            Some(r.disk_size)
        }),
        ("allocated on disk (MiB)", |r| r.allocated),
    ];
    for (name, field) in disk_rows {
        out.push_str(&format!("| {name} |"));
        for e in &engines {
            let mut values: Vec<f64> = results
                .iter()
                .filter(|r| r.engine == *e)
                .filter_map(field)
                .map(|b| b as f64 / (1024.0 * 1024.0))
                .collect();
            if values.is_empty() {
                out.push_str(" – |");
            } else {
                out.push_str(&format!(" {:.0} |", median_range(&mut values).0));
            }
        }
        out.push('\n');
    }
    out
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
/// batches of `batch_len`, syncing after every batch if `sync`. Returns the
/// keys.
fn timed_puts(
    engine: &dyn Engine,
    rng: &mut StdRng,
    ops: usize,
    batch_len: usize,
    sync: bool,
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
        if sync {
            engine.sync().expect("benchmark sync");
        }
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

/// Runs the workloads against `engine`, which should start empty. With
/// `n` the base count:
///
/// 1. `max(n / 20, 1)` puts of random keys, one per batch, a sync after
///    each (durable, fsync-bound);
/// 2. `n` puts of random keys, 64 per batch, a sync after each batch;
/// 3. `5 n` puts of random keys, 16 per batch, no sync (the apply path);
/// 4. `n` gets of random keys written by 1 to 3;
/// 5. `n` gets of keys never written;
/// 6. `max(n / 500, 10)` forward scans of [`SCAN_LEN`] keys from random
///    existing keys.
///
/// Values are [`VALUE_LEN`] random bytes. Panics on any engine error.
pub fn bench_engine(engine: &dyn Engine, n: usize) -> BenchResult {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut workloads = Vec::new();

    let mut keys = timed_puts(
        engine,
        &mut rng,
        (n / 20).max(1),
        1,
        true,
        "put, batch of 1, sync each",
        &mut workloads,
    );
    keys.extend(timed_puts(
        engine,
        &mut rng,
        n,
        64,
        true,
        "put, batch of 64, sync each batch",
        &mut workloads,
    ));
    keys.extend(timed_puts(
        engine,
        &mut rng,
        5 * n,
        16,
        false,
        "put, batch of 16, no sync",
        &mut workloads,
    ));

    let lookups: Vec<&[u8]> = (0..n)
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
        ops: n,
        keys: n,
        elapsed: start.elapsed(),
    });

    // Absent keys (a different prefix, so never written): the case bloom
    // filters are for.
    let missing: Vec<Vec<u8>> = (0..n)
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
        ops: n,
        keys: n,
        elapsed: start.elapsed(),
    });

    keys.sort_unstable();
    keys.dedup();
    let scans = (n / 500).max(10);
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
        allocated: None,
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
    use super::{allocated_bytes, bench_engine, summary, BenchResult, WorkloadResult};
    use crate::engine::fjall_engine::FjallEngine;
    use crate::engine::memory::MemoryEngine;
    use crate::engine::sled_engine::SledEngine;
    use crate::engine::Engine;
    use std::time::Duration;

    #[test]
    fn bench_engine_runs_on_a_small_load() {
        let engine = MemoryEngine::new();
        let result = bench_engine(&engine, 200);
        assert_eq!(result.engine, "memory");
        assert_eq!(result.workloads.len(), 6);
        let puts: Vec<usize> = result.workloads[..3].iter().map(|w| w.ops).collect();
        assert_eq!(puts, [10, 200, 1000]);
        // 1210 keys, so each of the 10 scans reads a full 1000.
        assert_eq!(result.workloads[5].ops, 10);
        assert_eq!(result.workloads[5].keys, 10 * 1000);
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
    fn summary_reports_medians_per_engine() {
        let mut results = Vec::new();
        for (engine, secs) in [("a", 1.0), ("b", 4.0), ("a", 2.0), ("b", 4.0), ("a", 4.0)] {
            results.push(BenchResult {
                engine,
                workloads: vec![WorkloadResult {
                    name: "w",
                    ops: 100,
                    keys: 100,
                    elapsed: Duration::from_secs_f64(secs),
                }],
                disk_size: 1024 * 1024,
                allocated: None,
            });
        }
        let table = summary(&results);
        assert!(
            table.contains("| w (ops/s) | 50 (25–100) | 25 (25–25) |"),
            "{table}"
        );
        assert!(
            table.contains("| allocated on disk (MiB) | – | – |"),
            "{table}"
        );
    }

    #[test]
    #[ignore = "benchmark: run in release with --ignored --nocapture"]
    fn engine_benchmark_report() {
        let env = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(default)
        };
        let ops = env("REDRAFT_BENCH_OPS", 100_000);
        let rounds = env("REDRAFT_BENCH_ROUNDS", 3);
        type Open = fn(&std::path::Path) -> Box<dyn Engine>;
        let open: [(&str, Open); 2] = [
            ("fjall", |dir| Box::new(FjallEngine::open(dir).unwrap())),
            ("sled", |dir| Box::new(SledEngine::open(dir).unwrap())),
        ];
        println!("N = {ops}, {rounds} rounds, engines alternating");
        let mut results = Vec::new();
        for round in 1..=rounds {
            for (name, open) in open {
                let dir = tempfile::tempdir().unwrap();
                let engine = open(dir.path());
                assert_eq!(engine.name(), name);
                let mut result = bench_engine(engine.as_ref(), ops);
                drop(engine);
                result.allocated = Some(allocated_bytes(dir.path()));
                println!("round {round}, {result}");
                results.push(result);
            }
        }
        println!("\n{}", summary(&results));
    }
}
