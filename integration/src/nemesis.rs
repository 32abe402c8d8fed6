//! The fault-injection harness: a cluster of real nodes, clients running
//! four workloads over RESP while a *nemesis* injects faults, and checkers
//! that read what the clients saw.
//!
//! One [`run`]:
//! 1. starts a 3- or 5-node cluster, each node in its own network
//!    namespace with its own address ([`NetnsCluster`]) when this process
//!    may make namespaces (root), else on loopback (partitions are then
//!    left out and the summary says so);
//! 2. starts `clients` client tasks. Each runs one workload on its own
//!    connections (one per node, opened lazily), one operation in flight,
//!    and records every operation ([`crate::history`]):
//!    - *registers*: `SET` of a value unique to the run, `GET`, and
//!      compare-and-set as `WATCH k; GET k; MULTI; SET k new; EXEC`;
//!    - *counters*: `INCR` and `GET`;
//!    - *sets*: `SADD` of a unique element and `SMEMBERS`;
//!    - *lists*: `RPUSH` of a unique element and `LRANGE k 0 -1`.
//!
//!    Clients route by slot themselves: they follow `MOVED` (and `ASK`
//!    with `ASKING`) within one operation, and send a share of reads to a
//!    random node first, so that a node that wrongly answers a read it
//!    does not lead is caught. A redirected attempt did not run, so an
//!    operation's invoke time is its first send;
//! 3. runs the nemesis on this thread until the time is up: every fault
//!    is injected for a while and then healed, one at a time ([`Fault`]);
//! 4. heals everything, stops the clients, waits for the cluster, reads
//!    every key once more (the final reads, part of the history), and runs
//!    the checkers: linearizability for registers and counters
//!    ([`crate::linearizability`]), lost, phantom and order anomalies for
//!    sets and lists and bounds for counters ([`crate::workload_checks`]);
//!    finally every node must hold the same data (`DEBUG DIGEST`).
//!
//! Error replies are classified by [`classify_error_reply`]: only replies a
//! node gives before applying anything make an operation *failed*;
//! timeouts, dropped connections, `ERR write outcome unknown` and
//! `CLUSTERDOWN` leave it *indeterminate*.
//!
//! CAVEATS:
//! - Faults come one at a time (never a kill during a partition).
//! - 5-node runs need the elastic-cluster work: a node learns the leader
//!   of a shard it does not replicate only from gossip, which does not
//!   exist yet, so a 5-node cluster never reports `cluster_state:ok`.
//!   With 3 nodes, a partition isolates one node (the majority/minority
//!   split) or cuts two nodes apart while the third bridges them.
//! - Membership changes are not injected yet: the cluster's membership is
//!   fixed at start.
//! - The disk fault needs failpoints in the binary (`DEBUG FAILPOINT`,
//!   with `--enable-debug-command yes`); see [`Fault::Disk`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redis::aio::MultiplexedConnection;
use redis::Value;

use crate::cluster::{key_slot, ClusterOpts, TestCluster};
use crate::history::{classify_error_reply, ClientLog, Clock, ErrorClass, Outcome, Recorder};
use crate::linearizability::{
    check_counter, check_register, CheckOptions, CounterOp, LinReport, RegisterOp, RegisterRet,
};
use crate::netns::{NetnsCluster, NetnsNet};
use crate::raw::{frame_text, Frame};
use crate::workload_checks::{
    check_counter_bounds, check_lists, check_sets, AnomalyKind, ListOp, ListRet, SetOp, SetRet,
    WorkloadReport,
};

/// A kind of fault the nemesis injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// `kill -9` of a node, down for a moment, then restarted on its data.
    Kill,
    /// SIGSTOP of a node for a while, then SIGCONT (a long GC pause, a
    /// stalled VM).
    Pause,
    /// A network partition: one node isolated, a majority/minority split
    /// (5 nodes), or two sides joined only through one bridge node.
    Partition,
    /// A slow or failing disk through failpoints at the Raft log's and
    /// the engine's write and fsync sites. A failing write crashes the
    /// node (a write error must never be ignored), which is restarted.
    Disk,
    /// Leadership moved by `CLUSTER FAILOVER` (a Raft leader transfer).
    Transfer,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::Kill,
        Fault::Pause,
        Fault::Partition,
        Fault::Disk,
        Fault::Transfer,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::Pause => "pause",
            Fault::Partition => "partition",
            Fault::Disk => "disk",
            Fault::Transfer => "transfer",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Fault, String> {
        Fault::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown fault {s:?} (kill, pause, partition, disk, transfer)"))
    }
}

/// Parses `kill,pause,partition` (or `all`).
pub fn parse_faults(s: &str) -> Result<Vec<Fault>, String> {
    if s.trim().eq_ignore_ascii_case("all") {
        return Ok(Fault::ALL.to_vec());
    }
    let mut v: Vec<Fault> = s
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    v.sort();
    v.dedup();
    Ok(v)
}

/// What one run does.
#[derive(Clone, Debug)]
pub struct NemesisOpts {
    /// 3 or 5.
    pub nodes: usize,
    pub faults: Vec<Fault>,
    /// How long clients and nemesis run (then healing and checks).
    pub duration: Duration,
    /// Client tasks, spread over the four workloads.
    pub clients: usize,
    /// Keys per workload (few keys: more contention, more to check).
    pub keys: usize,
    /// Seeds the nemesis's and the clients' choices.
    pub seed: u64,
    /// Extra arguments for every node (e.g. `--unsafe-stale-reads`).
    pub node_args: Vec<String>,
    /// Chance that a read goes to a random node first.
    pub stray_reads: f64,
    /// How long one fault lasts at most (each lasts 30–100% of it).
    pub fault_max: Duration,
    /// A client gives up on a reply after this long (indeterminate).
    pub op_timeout: Duration,
    /// Use network namespaces when possible (else loopback).
    pub netns: bool,
}

impl Default for NemesisOpts {
    fn default() -> Self {
        NemesisOpts {
            nodes: 3,
            faults: vec![Fault::Kill, Fault::Pause, Fault::Partition],
            duration: Duration::from_secs(20),
            clients: 12,
            keys: 4,
            seed: 1,
            node_args: Vec::new(),
            stray_reads: 0.2,
            fault_max: Duration::from_secs(3),
            op_timeout: Duration::from_secs(2),
            netns: true,
        }
    }
}

/// What one run found.
#[derive(Clone, Debug, Default)]
pub struct RunSummary {
    /// Operations recorded (every workload, final reads included).
    pub ops: usize,
    /// Faults injected.
    pub faults: usize,
    /// Faults by kind, with how they were injected.
    pub fault_log: Vec<String>,
    /// Acknowledged writes.
    pub acked: usize,
    /// Indeterminate operations.
    pub indeterminate: usize,
    /// Acknowledged writes missing afterwards (sets, lists, counters
    /// below their acknowledged sum, registers whose history is not
    /// linearizable because of a missing write count as violations).
    pub lost: usize,
    /// Keys whose history is not linearizable, plus other anomalies
    /// (phantoms, order, duplicates) and replica divergence.
    pub violations: usize,
    /// Keys the linearizability search gave up on (neither pass nor fail).
    pub unknown: usize,
    /// Faults asked for that could not run here, with why.
    pub skipped: Vec<String>,
    /// The checkers' reports, for a human.
    pub report: String,
}

impl RunSummary {
    pub fn ok(&self) -> bool {
        self.lost == 0 && self.violations == 0
    }
}

/// The cluster under test: in namespaces, or on loopback.
enum Hosts {
    Netns(Box<NetnsCluster>),
    Loopback(TestCluster),
}

impl Hosts {
    fn cluster(&mut self) -> &mut TestCluster {
        match self {
            Hosts::Netns(n) => &mut n.cluster,
            Hosts::Loopback(c) => c,
        }
    }
    fn cluster_ref(&self) -> &TestCluster {
        match self {
            Hosts::Netns(n) => &n.cluster,
            Hosts::Loopback(c) => c,
        }
    }
    fn net(&mut self) -> Option<&mut NetnsNet> {
        match self {
            Hosts::Netns(n) => Some(&mut n.net),
            Hosts::Loopback(_) => None,
        }
    }
}

/// Runs one nemesis run; `Err` when the cluster could not be started or
/// a fault could not be injected or healed (a harness failure, not a
/// finding).
pub fn run(opts: &NemesisOpts) -> Result<RunSummary, String> {
    let mut summary = RunSummary::default();
    let mut node_args = Vec::new();
    if opts.faults.contains(&Fault::Disk) {
        // DEBUG FAILPOINT.
        node_args.extend(["--enable-debug-command".to_string(), "yes".to_string()]);
    }
    node_args.extend(opts.node_args.iter().cloned());
    let copts = ClusterOpts::new().nodes(opts.nodes).args(node_args);
    let netns_ok = opts.netns && NetnsNet::check().is_ok();
    let mut hosts = if netns_ok {
        Hosts::Netns(Box::new(NetnsCluster::start(copts, 7000)?))
    } else {
        Hosts::Loopback(TestCluster::try_start(copts)?)
    };
    let mut faults = opts.faults.clone();
    if !netns_ok && faults.contains(&Fault::Partition) {
        faults.retain(|&f| f != Fault::Partition);
        summary.skipped.push(format!(
            "partition: no network namespaces here ({})",
            NetnsNet::check().err().unwrap_or_else(|| "disabled".into())
        ));
    }
    if faults.contains(&Fault::Disk) && !failpoints_available(hosts.cluster_ref()) {
        faults.retain(|&f| f != Fault::Disk);
        summary
            .skipped
            .push("disk: the binary has no failpoints (DEBUG FAILPOINT)".into());
    }
    hosts
        .cluster()
        .wait_ready(Instant::now() + Duration::from_secs(60))?;

    let addrs = hosts.cluster_ref().addrs();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let clock = Clock::new();
    let recs = Recorders::new(clock);
    let stop = Arc::new(AtomicBool::new(false));
    let prefix = format!("n{:x}", opts.seed);
    let mut tasks = Vec::new();
    for c in 0..opts.clients {
        let client = Client::new(
            c,
            addrs.clone(),
            opts.op_timeout,
            opts.stray_reads,
            opts.seed ^ ((c as u64 + 1) * 0x9e37_79b9),
        );
        let keys: Vec<String> = (0..opts.keys)
            .map(|k| format!("{prefix}:{}:{k}", Workload::of(c).name()))
            .collect();
        tasks.push(rt.spawn(Workload::of(c).run(client, keys, recs.clone(), Arc::clone(&stop))));
    }

    // The nemesis.
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let end = Instant::now() + opts.duration;
    let nemesis_result = nemesis(&mut hosts, &faults, opts, end, &mut rng, &mut summary);
    // Whatever happened, heal and stop the clients.
    let heal_result = heal_all(&mut hosts);
    stop.store(true, Ordering::SeqCst);
    rt.block_on(async {
        for t in tasks {
            let _ = tokio::time::timeout(opts.op_timeout * 4 + Duration::from_secs(5), t).await;
        }
    });
    nemesis_result?;
    heal_result?;
    hosts
        .cluster()
        .wait_ready(Instant::now() + Duration::from_secs(60))
        .map_err(|e| format!("cluster not ready after healing: {e}"))?;

    // Final reads, through the same clients' code, until each succeeds.
    let final_client = Client::new(usize::MAX, addrs.clone(), opts.op_timeout, 0.0, opts.seed);
    let finals = rt.block_on(final_reads(final_client, &recs, opts, &prefix))?;

    // Checks.
    let check_opts = CheckOptions::default();
    let regs = recs.registers.take_history();
    let ctrs = recs.counters.take_history();
    let sets = recs.sets.take_history();
    let lists = recs.lists.take_history();
    summary.ops = regs.ops.len() + ctrs.ops.len() + sets.ops.len() + lists.ops.len();
    for (ok, info) in [
        count_writes(&regs.ops, |i| !matches!(i, RegisterOp::Read)),
        count_writes(&ctrs.ops, |i| !matches!(i, CounterOp::Read)),
        count_writes(&sets.ops, |i| !matches!(i, SetOp::Read)),
        count_writes(&lists.ops, |i| !matches!(i, ListOp::Read)),
    ] {
        summary.acked += ok;
        summary.indeterminate += info;
    }
    let reg_report = check_register(&regs, &check_opts);
    let ctr_report = check_counter(&ctrs, &check_opts);
    let bounds = check_counter_bounds(&ctrs, &finals);
    let set_report = check_sets(&sets);
    let list_report = check_lists(&lists);
    let mut text = String::new();
    for (name, r) in [("registers", &reg_report), ("counters", &ctr_report)] {
        summary.violations += r.violations().len();
        summary.unknown += r.unknown_keys().len();
        text += &format!("{name}: {}", lin_text(r));
    }
    for (name, r) in [
        ("counter bounds", &bounds),
        ("sets", &set_report),
        ("lists", &list_report),
    ] {
        let lost = r.count(AnomalyKind::Lost) + r.count(AnomalyKind::OutOfBounds);
        summary.lost += lost;
        summary.violations += r.counts.values().sum::<usize>() - lost;
        text += &format!("{name}: {}\n", workload_text(r));
    }
    // A register or counter whose final read misses an acknowledged
    // write is a violation above; count it as lost too.
    summary.lost += lost_registers(&reg_report);

    // Every replica the same.
    let cluster = hosts.cluster_ref();
    match cluster.wait_converged(Instant::now() + Duration::from_secs(60)) {
        Ok(d) => text += &format!("replicas: converged at digest {d}\n"),
        Err(e) => {
            summary.violations += 1;
            text += &format!("replicas: DIVERGED: {e}\n");
            text += &diverged_keys(cluster, &prefix, opts.keys);
        }
    }
    summary.report = text;
    Ok(summary)
}

/// Which workload keys the nodes disagree on (`DEBUG DIGEST-VALUE` on
/// each node), one line per key, for the report of a divergence.
fn diverged_keys(cluster: &TestCluster, prefix: &str, keys: usize) -> String {
    let names: Vec<String> = [
        Workload::Registers,
        Workload::Counters,
        Workload::Sets,
        Workload::Lists,
    ]
    .iter()
    .flat_map(|w| (0..keys).map(move |k| format!("{prefix}:{}:{k}", w.name())))
    .collect();
    let mut args = vec!["DEBUG", "DIGEST-VALUE"];
    args.extend(names.iter().map(String::as_str));
    let per_node: Vec<Vec<String>> = (0..cluster.len())
        .map(|i| match cluster.cmd(i, &args) {
            Ok(Frame::Array(items)) => items.iter().map(frame_text).collect(),
            other => vec![format!("{other:?}"); names.len()],
        })
        .collect();
    let mut out = String::new();
    for (k, name) in names.iter().enumerate() {
        let digests: Vec<&str> = per_node
            .iter()
            .map(|d| d.get(k).map_or("?", String::as_str))
            .collect();
        if digests.windows(2).any(|w| w[0] != w[1]) {
            out += &format!("  differs: {name}: {}\n", digests.join(" "));
        }
    }
    if out.is_empty() {
        out = "  every workload key has the same value on every node\n".into();
    }
    // Whether a node lags (its applied index behind) or applied the same
    // entries differently.
    for i in 0..cluster.len() {
        let shards = match cluster.replication(i) {
            Ok(r) => r
                .shards
                .values()
                .map(|s| {
                    format!(
                        "shard {} {} term {} commit {} applied {}",
                        s.shard, s.role, s.term, s.commit, s.applied
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            Err(e) => e,
        };
        out += &format!("  node {}: {shards}\n", i + 1);
    }
    out
}

fn count_writes<I, O>(
    ops: &[crate::history::Op<I, O>],
    is_write: impl Fn(&I) -> bool,
) -> (usize, usize) {
    let mut c = (0, 0);
    for op in ops.iter().filter(|o| is_write(&o.input)) {
        match op.outcome {
            Outcome::Ok(_) => c.0 += 1,
            Outcome::Info => c.1 += 1,
            Outcome::Fail => {}
        }
    }
    c
}

/// Register keys whose violation involves the final read: the value an
/// acknowledged write left is gone.
fn lost_registers(r: &LinReport) -> usize {
    r.violations()
        .iter()
        .filter(|(_, v)| v.explanation.contains(FINAL_PROCESS_TAG))
        .count()
}

/// The process id of the final reads (so reports name them).
const FINAL_PROCESS: u64 = 999_999;
const FINAL_PROCESS_TAG: &str = "process 999999";

fn lin_text(r: &LinReport) -> String {
    let mut s = r.summary() + "\n";
    for (k, v) in r.violations().into_iter().take(5) {
        s += &format!("  VIOLATION key {k}: {v}\n");
    }
    for k in r.unknown_keys().into_iter().take(5) {
        s += &format!("  UNKNOWN key {k}\n");
    }
    s
}

fn workload_text(r: &WorkloadReport) -> String {
    let mut s = r.summary();
    for a in r.anomalies.iter().take(5) {
        s += &format!("\n  {a}");
    }
    s
}

// ---------------------------------------------------------------------
// The nemesis

fn nemesis(
    hosts: &mut Hosts,
    faults: &[Fault],
    opts: &NemesisOpts,
    end: Instant,
    rng: &mut StdRng,
    summary: &mut RunSummary,
) -> Result<(), String> {
    if faults.is_empty() {
        wait_until_time(end);
        return Ok(());
    }
    let n = opts.nodes;
    loop {
        // A quiet moment between faults, so the cluster recovers and
        // clients make progress.
        let quiet = Duration::from_millis(rng.random_range(300..1200));
        if Instant::now() + quiet >= end {
            wait_until_time(end);
            return Ok(());
        }
        wait_until_time(Instant::now() + quiet);
        let fault = faults[rng.random_range(0..faults.len())];
        let hold = opts
            .fault_max
            .mul_f64(rng.random_range(0.3..1.0))
            .min(end.saturating_duration_since(Instant::now()));
        let victim = rng.random_range(0..n);
        let what = match fault {
            Fault::Kill => {
                let c = hosts.cluster();
                c.kill9(victim);
                wait_until_time(Instant::now() + hold);
                c.try_restart(victim)
                    .map_err(|e| format!("restart of node {}: {e}", victim + 1))?;
                format!("kill -9 node {} for {:.1}s", victim + 1, hold.as_secs_f64())
            }
            Fault::Pause => {
                let c = hosts.cluster();
                c.pause(victim);
                wait_until_time(Instant::now() + hold);
                c.resume(victim);
                format!("pause node {} for {:.1}s", victim + 1, hold.as_secs_f64())
            }
            Fault::Partition => {
                let net = hosts.net().ok_or("partition without namespaces")?;
                let mut order: Vec<usize> = (0..n).collect();
                for i in (1..n).rev() {
                    order.swap(i, rng.random_range(0..=i));
                }
                let (desc, groups) = match rng.random_range(0..3) {
                    0 => (
                        format!("isolate node {}", order[0] + 1),
                        vec![vec![order[0]], order[1..].to_vec()],
                    ),
                    1 if n >= 5 => (
                        format!("split {:?} | {:?}", names(&order[..2]), names(&order[2..])),
                        vec![order[..2].to_vec(), order[2..].to_vec()],
                    ),
                    _ => {
                        // order[0] is the bridge; the rest split in two.
                        let rest = &order[1..];
                        let half = rest.len() / 2;
                        (
                            format!(
                                "bridge node {} between {:?} and {:?}",
                                order[0] + 1,
                                names(&rest[..half]),
                                names(&rest[half..])
                            ),
                            vec![rest[..half].to_vec(), rest[half..].to_vec()],
                        )
                    }
                };
                net.partition(&groups)?;
                wait_until_time(Instant::now() + hold);
                for i in 0..n {
                    net.heal(i)?;
                }
                format!("{desc} for {:.1}s", hold.as_secs_f64())
            }
            Fault::Disk => {
                // The first disk fault of a run fails a write; later ones
                // fail one in three, else slow the disk down.
                let first = !summary.fault_log.iter().any(|f| f.starts_with("disk:"));
                disk_fault(hosts.cluster(), victim, hold, first, rng)?
            }
            Fault::Transfer => {
                let c = hosts.cluster();
                match c.cmd_text(victim, &["CLUSTER", "FAILOVER"]) {
                    Ok(reply) => format!("CLUSTER FAILOVER on node {}: {reply}", victim + 1),
                    Err(e) => e,
                }
            }
        };
        summary.faults += 1;
        summary.fault_log.push(format!("{fault}: {what}"));
    }
}

fn names(nodes: &[usize]) -> Vec<usize> {
    nodes.iter().map(|i| i + 1).collect()
}

/// Sleeps until `t`: the nemesis's pacing (how long a fault lasts), not
/// a synchronization.
fn wait_until_time(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

/// Failpoints of the Raft log and the engine (see the node's
/// `DEBUG FAILPOINT`).
const DISK_FAILPOINTS: &[&str] = &[
    "raft-log-write",
    "raft-log-fsync",
    "engine-write",
    "engine-fsync",
];

fn failpoints_available(c: &TestCluster) -> bool {
    c.cmd_text(0, &["DEBUG", "FAILPOINT", "list"])
        .is_ok_and(|t| !t.starts_with("ERR") && !t.contains("not supported"))
}

/// A slow disk (every write or fsync at one site delayed) or a failing
/// one (the next write errors: the node must crash, not go on), on one
/// node for `hold`.
fn disk_fault(
    c: &mut TestCluster,
    victim: usize,
    hold: Duration,
    fail_write: bool,
    rng: &mut StdRng,
) -> Result<String, String> {
    let site = DISK_FAILPOINTS[rng.random_range(0..DISK_FAILPOINTS.len())];
    let failing = fail_write || rng.random_bool(0.3);
    let action = if failing {
        "return".to_string()
    } else {
        format!("sleep({})", rng.random_range(20..200))
    };
    let set = c.cmd_text(victim, &["DEBUG", "FAILPOINT", site, &action]);
    wait_until_time(Instant::now() + hold);
    if c.is_running(victim) {
        let _ = c.cmd_text(victim, &["DEBUG", "FAILPOINT", site, "off"]);
    }
    let crashed = !c.is_running(victim);
    if crashed {
        c.try_restart(victim)
            .map_err(|e| format!("restart of node {} after {site}: {e}", victim + 1))?;
    }
    Ok(format!(
        "{site}={action} on node {} for {:.1}s ({}){}",
        victim + 1,
        hold.as_secs_f64(),
        set.unwrap_or_else(|e| e),
        if crashed {
            ", node crashed and was restarted"
        } else {
            ""
        }
    ))
}

/// Heals every partition, resumes every paused node, restarts every dead
/// one.
fn heal_all(hosts: &mut Hosts) -> Result<(), String> {
    let n = hosts.cluster().len();
    if let Some(net) = hosts.net() {
        for i in 0..n {
            net.heal(i)?;
        }
    }
    let c = hosts.cluster();
    for i in 0..n {
        c.resume(i);
        if !c.is_running(i) {
            c.try_restart(i)
                .map_err(|e| format!("restart of node {}: {e}", i + 1))?;
        }
        let _ = c.cmd_text(i, &["DEBUG", "FAILPOINT", "all", "off"]);
    }
    Ok(())
}

// ---------------------------------------------------------------------
// Clients

/// One recorder per workload, on one clock.
#[derive(Clone)]
struct Recorders {
    registers: Recorder<RegisterOp<String>, RegisterRet<String>>,
    counters: Recorder<CounterOp, i64>,
    sets: Recorder<SetOp<String>, SetRet<String>>,
    lists: Recorder<ListOp<String>, ListRet<String>>,
}

impl Recorders {
    fn new(clock: Clock) -> Recorders {
        Recorders {
            registers: Recorder::with_clock(clock),
            counters: Recorder::with_clock(clock),
            sets: Recorder::with_clock(clock),
            lists: Recorder::with_clock(clock),
        }
    }
}

/// A reply, an error reply (its text), or no reply (timeout, I/O).
enum Answer {
    Value(Value),
    Error(String),
    Lost,
}

/// A client's own routing and connections.
struct Client {
    id: usize,
    addrs: Vec<String>,
    conns: HashMap<usize, MultiplexedConnection>,
    /// Slot → node index, learned from MOVED.
    routes: HashMap<u16, usize>,
    timeout: Duration,
    stray_reads: f64,
    rng: StdRng,
    next_value: u64,
}

/// Unique values: the client's id and a counter.
static VALUE_SALT: AtomicU64 = AtomicU64::new(0);

impl Client {
    fn new(
        id: usize,
        addrs: Vec<String>,
        timeout: Duration,
        stray_reads: f64,
        seed: u64,
    ) -> Client {
        Client {
            id,
            addrs,
            conns: HashMap::new(),
            routes: HashMap::new(),
            timeout,
            stray_reads,
            rng: StdRng::seed_from_u64(seed),
            next_value: 0,
        }
    }

    fn unique(&mut self) -> String {
        self.next_value += 1;
        let salt = VALUE_SALT.fetch_add(1, Ordering::Relaxed);
        format!("c{}-{}-{salt}", self.id, self.next_value)
    }

    fn node_of(&mut self, key: &str, read: bool) -> usize {
        let slot = key_slot(key.as_bytes());
        if read && self.rng.random_bool(self.stray_reads) {
            return self.rng.random_range(0..self.addrs.len());
        }
        match self.routes.get(&slot) {
            Some(&n) => n,
            None => self.rng.random_range(0..self.addrs.len()),
        }
    }

    async fn conn(&mut self, node: usize) -> Result<&mut MultiplexedConnection, String> {
        if !self.conns.contains_key(&node) {
            let url = format!("redis://{}/?protocol=resp2", self.addrs[node]);
            let client = redis::Client::open(url).map_err(|e| e.to_string())?;
            let c = tokio::time::timeout(self.timeout, client.get_multiplexed_async_connection())
                .await
                .map_err(|_| "connect timeout".to_string())?
                .map_err(|e| e.to_string())?;
            self.conns.insert(node, c);
        }
        Ok(self.conns.get_mut(&node).expect("just inserted"))
    }

    /// One command on `node`; a connection that times out or breaks is
    /// dropped (its state is unknown).
    async fn send(&mut self, node: usize, cmd: &redis::Cmd) -> Answer {
        let timeout = self.timeout;
        let conn = match self.conn(node).await {
            Ok(c) => c,
            // Not connected: nothing was sent.
            Err(e) => return Answer::Error(format!("NOTSENT {e}")),
        };
        match tokio::time::timeout(timeout, cmd.query_async::<Value>(conn)).await {
            Ok(Ok(v)) => Answer::Value(v),
            Ok(Err(e)) if e.code().is_some() => Answer::Error(format!(
                "{} {}",
                e.code().unwrap_or(""),
                e.detail().unwrap_or("")
            )),
            Ok(Err(e)) => {
                self.conns.remove(&node);
                let _ = e;
                Answer::Lost
            }
            Err(_) => {
                self.conns.remove(&node);
                Answer::Lost
            }
        }
    }

    /// Sends a single-key command, following MOVED and ASK (at most 5
    /// hops). Returns the final answer; redirected attempts did not run.
    async fn call(&mut self, key: &str, cmd: &redis::Cmd, read: bool) -> Answer {
        let mut node = self.node_of(key, read);
        let mut asking = false;
        for _ in 0..5 {
            if asking {
                let _ = self.send(node, &redis::cmd("ASKING")).await;
            }
            match self.send(node, cmd).await {
                Answer::Error(e) if e.starts_with("MOVED ") || e.starts_with("ASK ") => {
                    let Some(target) = self.redirect_target(&e) else {
                        return Answer::Error(e);
                    };
                    asking = e.starts_with("ASK ");
                    if !asking {
                        self.routes.insert(key_slot(key.as_bytes()), target);
                    }
                    node = target;
                }
                Answer::Error(e) if e.starts_with("NOTSENT") => {
                    // Try another node: this one is down.
                    node = self.rng.random_range(0..self.addrs.len());
                    asking = false;
                }
                other => return other,
            }
        }
        Answer::Error("TRYAGAIN too many redirects".into())
    }

    /// `MOVED 123 10.0.0.1:7000` → the node with that address.
    fn redirect_target(&self, e: &str) -> Option<usize> {
        let addr = e.split_whitespace().nth(2)?;
        self.addrs.iter().position(|a| a == addr)
    }
}

/// How an error answer to a write is recorded.
fn write_outcome<O>(a: &Answer) -> Outcome<O> {
    match a {
        Answer::Error(e) if e.starts_with("NOTSENT") => Outcome::Fail,
        Answer::Error(e) => match classify_error_reply(e) {
            ErrorClass::Fail => Outcome::Fail,
            ErrorClass::Info => Outcome::Info,
        },
        _ => Outcome::Info,
    }
}

#[derive(Clone, Copy, Debug)]
enum Workload {
    Registers,
    Counters,
    Sets,
    Lists,
}

impl Workload {
    fn of(client: usize) -> Workload {
        match client % 4 {
            0 => Workload::Registers,
            1 => Workload::Counters,
            2 => Workload::Sets,
            _ => Workload::Lists,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Workload::Registers => "reg",
            Workload::Counters => "ctr",
            Workload::Sets => "set",
            Workload::Lists => "list",
        }
    }

    async fn run(self, mut c: Client, keys: Vec<String>, recs: Recorders, stop: Arc<AtomicBool>) {
        match self {
            Workload::Registers => {
                let mut log = recs.registers.client_with_id(c.id as u64);
                let mut last_seen: HashMap<String, Option<String>> = HashMap::new();
                while !stop.load(Ordering::Relaxed) {
                    let key = keys[c.rng.random_range(0..keys.len())].clone();
                    match c.rng.random_range(0..10) {
                        0..=3 => register_write(&mut c, &mut log, &key).await,
                        4..=6 => {
                            if let Some(v) = register_read(&mut c, &mut log, &key).await {
                                last_seen.insert(key, v);
                            }
                        }
                        _ => {
                            let expected = last_seen.get(&key).cloned().flatten();
                            if let Some(v) = register_cas(&mut c, &mut log, &key, expected).await {
                                last_seen.insert(key, v);
                            }
                        }
                    }
                }
            }
            Workload::Counters => {
                let mut log = recs.counters.client_with_id(c.id as u64);
                while !stop.load(Ordering::Relaxed) {
                    let key = keys[c.rng.random_range(0..keys.len())].clone();
                    if c.rng.random_bool(0.6) {
                        let p = log.invoke(&key, CounterOp::Incr(1));
                        let a = c.call(&key, redis::cmd("INCR").arg(&key), false).await;
                        match a {
                            Answer::Value(Value::Int(v)) => log.ok(p, v),
                            other => log.resolve(p, write_outcome(&other)),
                        }
                    } else {
                        counter_read(&mut c, &mut log, &key).await;
                    }
                }
            }
            Workload::Sets => {
                let mut log = recs.sets.client_with_id(c.id as u64);
                while !stop.load(Ordering::Relaxed) {
                    let key = keys[c.rng.random_range(0..keys.len())].clone();
                    if c.rng.random_bool(0.7) {
                        let e = c.unique();
                        let p = log.invoke(&key, SetOp::Add(e.clone()));
                        let a = c
                            .call(&key, redis::cmd("SADD").arg(&key).arg(&e), false)
                            .await;
                        match a {
                            Answer::Value(Value::Int(n)) => log.ok(p, SetRet::Added(n as u64)),
                            other => log.resolve(p, write_outcome(&other)),
                        }
                    } else {
                        set_read(&mut c, &mut log, &key).await;
                    }
                }
            }
            Workload::Lists => {
                let mut log = recs.lists.client_with_id(c.id as u64);
                while !stop.load(Ordering::Relaxed) {
                    let key = keys[c.rng.random_range(0..keys.len())].clone();
                    if c.rng.random_bool(0.7) {
                        let e = c.unique();
                        let p = log.invoke(&key, ListOp::Append(e.clone()));
                        let a = c
                            .call(&key, redis::cmd("RPUSH").arg(&key).arg(&e), false)
                            .await;
                        match a {
                            Answer::Value(Value::Int(n)) => log.ok(p, ListRet::Appended(n as u64)),
                            other => log.resolve(p, write_outcome(&other)),
                        }
                    } else {
                        list_read(&mut c, &mut log, &key).await;
                    }
                }
            }
        }
    }
}

type RegLog = ClientLog<RegisterOp<String>, RegisterRet<String>>;

fn bulk_text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

async fn register_write(c: &mut Client, log: &mut RegLog, key: &str) {
    let v = c.unique();
    let p = log.invoke(key, RegisterOp::Write(v.clone()));
    let a = c.call(key, redis::cmd("SET").arg(key).arg(&v), false).await;
    match a {
        Answer::Value(Value::Okay) => log.ok(p, RegisterRet::Written),
        other => log.resolve(p, write_outcome(&other)),
    }
}

/// A GET; `Some(value)` when answered. A failed read is dropped
/// (indeterminate reads tell nothing).
async fn register_read(c: &mut Client, log: &mut RegLog, key: &str) -> Option<Option<String>> {
    let p = log.invoke(key, RegisterOp::Read);
    match c.call(key, redis::cmd("GET").arg(key), true).await {
        Answer::Value(Value::Nil) => {
            log.ok(p, RegisterRet::Read(None));
            Some(None)
        }
        Answer::Value(v) => match bulk_text(&v) {
            Some(s) => {
                log.ok(p, RegisterRet::Read(Some(s.clone())));
                Some(Some(s))
            }
            None => {
                log.fail(p);
                None
            }
        },
        _ => {
            log.fail(p);
            None
        }
    }
}

/// Compare-and-set through WATCH/GET/MULTI/SET/EXEC on the key's leader.
/// A GET that shows another value is recorded as a read; an EXEC that
/// aborts did nothing. Returns the value the client now knows, if any.
async fn register_cas(
    c: &mut Client,
    log: &mut RegLog,
    key: &str,
    expected: Option<String>,
) -> Option<Option<String>> {
    let new = c.unique();
    // Find the leader first: WATCH answers MOVED elsewhere.
    let node = c.node_of(key, false);
    let watch = c.send(node, redis::cmd("WATCH").arg(key)).await;
    match watch {
        Answer::Value(Value::Okay) => {}
        Answer::Error(e) => {
            if let Some(t) = c.redirect_target(&e) {
                c.routes.insert(key_slot(key.as_bytes()), t);
            }
            return None;
        }
        _ => return None,
    }
    let p = log.invoke(key, RegisterOp::Read);
    let current = match c.send(node, redis::cmd("GET").arg(key)).await {
        Answer::Value(Value::Nil) => None,
        Answer::Value(v) => match bulk_text(&v) {
            Some(s) => Some(s),
            None => {
                log.fail(p);
                let _ = c.send(node, &redis::cmd("UNWATCH")).await;
                return None;
            }
        },
        _ => {
            log.fail(p);
            let _ = c.send(node, &redis::cmd("UNWATCH")).await;
            return None;
        }
    };
    if current != expected {
        log.ok(p, RegisterRet::Read(current.clone()));
        let _ = c.send(node, &redis::cmd("UNWATCH")).await;
        return Some(current);
    }
    // The read is part of the compare-and-set: record that instead.
    log.fail(p);
    let p = log.invoke(
        key,
        RegisterOp::Cas {
            expected: expected.clone(),
            new: new.clone(),
        },
    );
    let multi = c.send(node, &redis::cmd("MULTI")).await;
    if !matches!(multi, Answer::Value(Value::Okay)) {
        // Nothing queued yet; discard in case MULTI did open.
        let _ = c.send(node, &redis::cmd("DISCARD")).await;
        log.fail(p);
        return None;
    }
    let queued = c.send(node, redis::cmd("SET").arg(key).arg(&new)).await;
    if let Answer::Lost = queued {
        log.fail(p);
        return None;
    }
    match c.send(node, &redis::cmd("EXEC")).await {
        Answer::Value(Value::Array(items)) if items.len() == 1 => {
            if matches!(items[0], Value::Okay) {
                log.ok(p, RegisterRet::Cas(true));
                Some(Some(new))
            } else {
                log.info(p);
                None
            }
        }
        // Aborted: a watched key changed; nothing was written.
        Answer::Value(Value::Nil) => {
            log.fail(p);
            None
        }
        other => {
            log.resolve(p, write_outcome(&other));
            None
        }
    }
}

async fn counter_read(
    c: &mut Client,
    log: &mut ClientLog<CounterOp, i64>,
    key: &str,
) -> Option<i64> {
    let p = log.invoke(key, CounterOp::Read);
    let v = match c.call(key, redis::cmd("GET").arg(key), true).await {
        Answer::Value(Value::Nil) => Some(0),
        Answer::Value(v) => bulk_text(&v).and_then(|s| s.parse().ok()),
        _ => None,
    };
    match v {
        Some(v) => log.ok(p, v),
        None => log.fail(p),
    }
    v
}

fn strings(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Array(items) | Value::Set(items) => items.iter().map(bulk_text).collect(),
        _ => None,
    }
}

async fn set_read(
    c: &mut Client,
    log: &mut ClientLog<SetOp<String>, SetRet<String>>,
    key: &str,
) -> Option<Vec<String>> {
    let p = log.invoke(key, SetOp::Read);
    let v = match c.call(key, redis::cmd("SMEMBERS").arg(key), true).await {
        Answer::Value(v) => strings(&v),
        _ => None,
    };
    match &v {
        Some(items) => log.ok(p, SetRet::Read(items.clone())),
        None => log.fail(p),
    }
    v
}

async fn list_read(
    c: &mut Client,
    log: &mut ClientLog<ListOp<String>, ListRet<String>>,
    key: &str,
) -> Option<Vec<String>> {
    let p = log.invoke(key, ListOp::Read);
    let v = match c
        .call(key, redis::cmd("LRANGE").arg(key).arg(0).arg(-1), true)
        .await
    {
        Answer::Value(v) => strings(&v),
        _ => None,
    };
    match &v {
        Some(items) => log.ok(p, ListRet::Read(items.clone())),
        None => log.fail(p),
    }
    v
}

/// Reads every key once more after the faults, retrying each until it is
/// answered (60 s in all); returns the counters' final values.
async fn final_reads(
    mut c: Client,
    recs: &Recorders,
    opts: &NemesisOpts,
    prefix: &str,
) -> Result<BTreeMap<String, i64>, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut reg = recs.registers.client_with_id(FINAL_PROCESS);
    let mut ctr = recs.counters.client_with_id(FINAL_PROCESS);
    let mut set = recs.sets.client_with_id(FINAL_PROCESS);
    let mut list = recs.lists.client_with_id(FINAL_PROCESS);
    let mut finals = BTreeMap::new();
    let key = |w: Workload, k: usize| format!("{prefix}:{}:{k}", w.name());
    for k in 0..opts.keys {
        macro_rules! until_answered {
            ($e:expr, $what:expr) => {
                loop {
                    if let Some(v) = $e {
                        break v;
                    }
                    if Instant::now() >= deadline {
                        return Err(format!("final read of {} not answered within 60 s", $what));
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            };
        }
        let rk = key(Workload::Registers, k);
        until_answered!(register_read(&mut c, &mut reg, &rk).await, rk);
        let ck = key(Workload::Counters, k);
        let v = until_answered!(counter_read(&mut c, &mut ctr, &ck).await, ck);
        finals.insert(ck, v);
        let sk = key(Workload::Sets, k);
        until_answered!(set_read(&mut c, &mut set, &sk).await, sk);
        let lk = key(Workload::Lists, k);
        until_answered!(list_read(&mut c, &mut list, &lk).await, lk);
    }
    Ok(finals)
}

/// Prints a table of runs and the last line `runs R, ops N, faults F,
/// acked A, lost L, violations V`.
pub fn print_table(runs: &[(u64, RunSummary)]) {
    println!(
        "{:>4} {:>12} {:>8} {:>7} {:>8} {:>8} {:>6} {:>10} {:>7}",
        "run", "seed", "ops", "faults", "acked", "indet", "lost", "violations", "unknown"
    );
    let mut total = RunSummary::default();
    for (i, (seed, s)) in runs.iter().enumerate() {
        println!(
            "{:>4} {:>12x} {:>8} {:>7} {:>8} {:>8} {:>6} {:>10} {:>7}",
            i + 1,
            seed,
            s.ops,
            s.faults,
            s.acked,
            s.indeterminate,
            s.lost,
            s.violations,
            s.unknown
        );
        total.ops += s.ops;
        total.faults += s.faults;
        total.acked += s.acked;
        total.lost += s.lost;
        total.violations += s.violations;
    }
    println!(
        "runs {}, ops {}, faults {}, acked {}, lost {}, violations {}",
        runs.len(),
        total.ops,
        total.faults,
        total.acked,
        total.lost,
        total.violations
    );
}
