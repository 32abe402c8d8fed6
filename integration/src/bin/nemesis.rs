//! Runs the fault-injection harness outside the test suite (see
//! `scripts/nemesis.sh` and [`redraft_integration::nemesis`]).
//!
//! ```text
//! nemesis [--faults kill,pause,partition,disk,transfer|all] [--minutes N]
//!         [--run-seconds S] [--nodes 3|5] [--clients C] [--seed X]
//!         [--unsafe-stale-reads]
//! ```
//!
//! Runs `minutes * 60 / run-seconds` runs, each with a fresh cluster and a
//! new seed, prints one row per run and the last line
//! `runs R, ops N, faults F, acked A, lost L, violations V`; exits 1 when
//! anything acknowledged was lost or a history was not linearizable, 2 on
//! bad arguments or a harness failure.

use std::time::Duration;

use redraft_integration::nemesis::{parse_faults, print_table, run, NemesisOpts};

fn usage(why: &str) -> ! {
    eprintln!("nemesis: {why}");
    eprintln!(
        "usage: nemesis [--faults LIST|all] [--minutes N] [--run-seconds S] [--nodes 3|5] \
         [--clients C] [--seed X] [--unsafe-stale-reads]"
    );
    std::process::exit(2);
}

fn main() {
    let mut opts = NemesisOpts::default();
    let mut minutes = 1.0f64;
    let mut run_seconds = 60u64;
    let mut seed: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(1);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| usage(&format!("{name} wants a value")))
        };
        match a.as_str() {
            "--faults" => {
                opts.faults = parse_faults(&value("--faults")).unwrap_or_else(|e| usage(&e))
            }
            "--minutes" => {
                minutes = value("--minutes")
                    .parse()
                    .ok()
                    .filter(|m: &f64| *m > 0.0)
                    .unwrap_or_else(|| usage("--minutes wants a positive number"))
            }
            "--run-seconds" => {
                run_seconds = value("--run-seconds")
                    .parse()
                    .ok()
                    .filter(|s| *s >= 5)
                    .unwrap_or_else(|| usage("--run-seconds wants a number >= 5"))
            }
            "--nodes" => {
                opts.nodes = match value("--nodes").as_str() {
                    "3" => 3,
                    "5" => 5,
                    _ => usage("--nodes is 3 or 5"),
                }
            }
            "--clients" => {
                opts.clients = value("--clients")
                    .parse()
                    .ok()
                    .filter(|c| (4..=200).contains(c))
                    .unwrap_or_else(|| usage("--clients wants 4..=200"))
            }
            "--seed" => {
                seed = u64::from_str_radix(value("--seed").trim_start_matches("0x"), 16)
                    .unwrap_or_else(|_| usage("--seed wants a hex number"))
            }
            "--unsafe-stale-reads" => opts.node_args.push("--unsafe-stale-reads".into()),
            "-h" | "--help" => usage("help"),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    opts.duration = Duration::from_secs(run_seconds);
    let runs = ((minutes * 60.0) / run_seconds as f64).round().max(1.0) as u64;
    let faults: Vec<String> = opts.faults.iter().map(|f| f.to_string()).collect();
    println!(
        "nemesis: {runs} runs of {run_seconds} s, {} nodes, {} clients, faults {}",
        opts.nodes,
        opts.clients,
        faults.join(",")
    );
    let mut results = Vec::new();
    for r in 0..runs {
        let run_seed = seed.wrapping_add(r);
        let o = NemesisOpts {
            seed: run_seed,
            ..opts.clone()
        };
        match run(&o) {
            Ok(s) => {
                println!(
                    "run {} (seed {run_seed:x}): ops {}, faults {}, acked {}, indeterminate {}, lost {}, violations {}, unknown {}",
                    r + 1,
                    s.ops,
                    s.faults,
                    s.acked,
                    s.indeterminate,
                    s.lost,
                    s.violations,
                    s.unknown
                );
                for f in &s.skipped {
                    println!("  skipped fault {f}");
                }
                if !s.ok() {
                    print!("{}", s.report);
                    for f in &s.fault_log {
                        println!("  fault: {f}");
                    }
                }
                results.push((run_seed, s));
            }
            Err(e) => {
                eprintln!("run {} (seed {run_seed:x}): harness failure: {e}", r + 1);
                print_table(&results);
                std::process::exit(2);
            }
        }
    }
    print_table(&results);
    if results.iter().any(|(_, s)| !s.ok()) {
        std::process::exit(1);
    }
}
