//! Short nemesis runs (see `redraft_integration::nemesis`): every fault
//! kind against a real cluster under four workloads, with zero lost
//! acknowledged writes and zero linearizability violations; and a run
//! against nodes started with a test-only unsafe switch, which the
//! harness must catch.
//!
//! Partitions need network namespaces (root); without them the partition
//! test prints why and skips. Longer runs: `scripts/nemesis.sh`.
//!
//! Environment: `REDRAFT_NEMESIS_SECS` (seconds per run, default 20).

use std::time::Duration;

use redraft_integration::nemesis::{run, Fault, NemesisOpts, RunSummary};
use redraft_integration::netns::NetnsNet;

fn secs() -> Duration {
    let s = std::env::var("REDRAFT_NEMESIS_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    Duration::from_secs(s)
}

fn run_ok(name: &str, opts: NemesisOpts) -> RunSummary {
    let s = match run(&opts) {
        Ok(s) => s,
        Err(e) => panic!("{name}: harness failure: {e}"),
    };
    println!(
        "{name}: ops {}, faults {}, acked {}, indeterminate {}, lost {}, violations {}, unknown {}",
        s.ops, s.faults, s.acked, s.indeterminate, s.lost, s.violations, s.unknown
    );
    for f in &s.fault_log {
        println!("  fault: {f}");
    }
    for f in &s.skipped {
        println!("  skipped: {f}");
    }
    print!("{}", s.report);
    s
}

fn assert_clean(name: &str, s: &RunSummary, kinds: &[Fault]) {
    assert_eq!(s.lost, 0, "{name}: acknowledged writes lost:\n{}", s.report);
    assert_eq!(
        s.violations, 0,
        "{name}: linearizability violations or anomalies:\n{}",
        s.report
    );
    assert!(s.acked > 0, "{name}: no write was acknowledged");
    for k in kinds {
        assert!(
            s.fault_log.iter().any(|f| f.starts_with(&format!("{k}:"))),
            "{name}: no {k} fault was injected: {:?}",
            s.fault_log
        );
    }
}

#[test]
fn nemesis_kill_and_pause_lose_nothing() {
    let kinds = [Fault::Kill, Fault::Pause];
    let s = run_ok(
        "kill+pause",
        NemesisOpts {
            faults: kinds.to_vec(),
            duration: secs(),
            seed: 0x6b69_6c6c,
            ..NemesisOpts::default()
        },
    );
    assert_clean("kill+pause", &s, &kinds);
}

#[test]
fn nemesis_partitions_lose_nothing() {
    if let Err(why) = NetnsNet::check() {
        println!("SKIPPED nemesis_partitions_lose_nothing: {why}");
        return;
    }
    let kinds = [Fault::Partition];
    let s = run_ok(
        "partition",
        NemesisOpts {
            faults: kinds.to_vec(),
            duration: secs(),
            seed: 0x7061_7274,
            ..NemesisOpts::default()
        },
    );
    assert_clean("partition", &s, &kinds);
}

#[test]
fn nemesis_disk_faults_and_leader_transfers_lose_nothing() {
    let kinds = [Fault::Disk, Fault::Transfer];
    let s = run_ok(
        "disk+transfer",
        NemesisOpts {
            faults: kinds.to_vec(),
            duration: secs(),
            seed: 0x6469_736b,
            netns: false,
            ..NemesisOpts::default()
        },
    );
    assert!(
        s.skipped.is_empty(),
        "disk+transfer: faults skipped: {:?}",
        s.skipped
    );
    assert_clean("disk+transfer", &s, &kinds);
}

/// The checker must fail when it should: nodes started with
/// `--unsafe-stale-reads` answer reads from whatever replica they hold,
/// and pauses leave a replica behind, so some read misses an
/// acknowledged write.
#[test]
fn nemesis_catches_a_node_serving_stale_reads() {
    let s = run_ok(
        "unsafe stale reads",
        NemesisOpts {
            faults: vec![Fault::Pause],
            duration: secs(),
            seed: 0x7374_616c,
            node_args: vec!["--unsafe-stale-reads".into()],
            stray_reads: 0.6,
            netns: false,
            ..NemesisOpts::default()
        },
    );
    assert!(
        s.violations > 0,
        "the harness did not notice stale reads:\n{}",
        s.report
    );
}
