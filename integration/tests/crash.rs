//! Crash test: acknowledged writes survive `kill -9`.
//!
//! 50 connections write for about 20 s — SETs of increasing, unique values
//! to registers and INCRs of counters, each key owned by one connection —
//! while the node is killed with SIGKILL and restarted every 3–4 s. A
//! write whose reply never came (the node died, the connection broke, an
//! error reply) is indeterminate. After a last kill and restart every key
//! is read back and [`checker::check`] asserts that every acknowledged
//! write is there with its acknowledged value (see the checker's docs for
//! the exact rules), printing the counts.
//!
//! The collection tests do the same for lists, sets, hashes and sorted
//! sets — RPUSH, SADD, HSET/HINCRBY, ZADD/ZINCRBY by a few writers, each
//! owning one collection of each type — on one node
//! (`acknowledged_collection_writes_survive_kill_9_restarts`) and on a
//! 3-node cluster whose nodes are killed at random
//! (`acknowledged_collection_writes_survive_kill_9_of_random_nodes`), and
//! check them with [`collections::check`]: every acknowledged element
//! present (a list's in the order sent), nothing that was never sent,
//! fields and scores at their last acknowledged value or a later
//! indeterminate one, counters between acknowledged and attempted.
//!
//! Environment: `REDRAFT_CRASH_SECS` (load duration, default 20),
//! `REDRAFT_CRASH_CONNS` (connections, default 50);
//! `REDRAFT_COLL_CRASH_SECS` (the collection tests' load, default 12),
//! `REDRAFT_COLL_CRASH_WRITERS` (their writers, default 8).
//!
//! CAVEATS: SIGKILL leaves the OS page cache intact, so this catches
//! writes acknowledged before they reached the kernel (or before they were
//! applied durably after restart), not a missing fsync; the checkers' unit
//! tests show they report lost writes.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::Rng;
use redraft_integration::checker::collections::{
    self, field_register_value, item, item_value, parse_integral_score, CollectionHistory,
    CollectionType,
};
use redraft_integration::checker::{self, register_value, History};
use redraft_integration::cluster::{key_slot, ClusterOpts, TestCluster};
use redraft_integration::env_num;
use redraft_integration::raw::{frame_text, Frame, RawConn};
use redraft_integration::{wait_until, NodeOpts, TestNode};

/// Registers and counters each connection owns.
const REGISTERS_PER_CONN: usize = 4;
const COUNTERS_PER_CONN: usize = 2;

/// State shared by the workers and the crash loop.
struct Shared {
    addr: std::net::SocketAddr,
    stop: AtomicBool,
    /// Acknowledged writes so far, all workers together.
    acks: AtomicU64,
}

/// What one connection did.
#[derive(Default)]
struct WorkerLog {
    history: History,
    connection_errors: u64,
    error_replies: Vec<String>,
}

/// Connects, retrying while the node is down; panics after a minute.
fn reconnect(shared: &Shared) -> Option<RawConn> {
    let mut conn = None;
    let up = wait_until(Instant::now() + Duration::from_secs(60), || {
        if shared.stop.load(Ordering::Relaxed) {
            return true;
        }
        conn = RawConn::connect(shared.addr).ok();
        conn.is_some()
    });
    assert!(up, "could not reconnect to {} within 60 s", shared.addr);
    conn
}

/// One connection's load: round-robin over its registers and counters,
/// one request in flight at a time.
fn worker(id: usize, shared: Arc<Shared>) -> WorkerLog {
    let registers: Vec<String> = (0..REGISTERS_PER_CONN)
        .map(|j| format!("crash:{id}:reg:{j}"))
        .collect();
    let counters: Vec<String> = (0..COUNTERS_PER_CONN)
        .map(|j| format!("crash:{id}:ctr:{j}"))
        .collect();
    let mut log = WorkerLog::default();
    let mut conn = reconnect(&shared);
    let mut step = 0usize;
    while !shared.stop.load(Ordering::Relaxed) {
        let Some(c) = conn.as_mut() else { break };
        let slot = step % (REGISTERS_PER_CONN + COUNTERS_PER_CONN);
        step += 1;
        let acked = if slot < REGISTERS_PER_CONN {
            let key = &registers[slot];
            let h = log.history.registers.entry(key.clone()).or_default();
            let n = h.attempted_max + 1;
            h.attempt(n);
            match c.cmd(&["SET", key, &register_value(key, n)]) {
                Ok(Frame::SimpleString(s)) if s == b"OK" => {
                    h.ack(n);
                    Ok(())
                }
                Ok(other) => Err(Ok(other)),
                Err(e) => Err(Err(e)),
            }
        } else {
            let key = &counters[slot - REGISTERS_PER_CONN];
            let h = log.history.counters.entry(key.clone()).or_default();
            h.attempt();
            match c.cmd(&["INCR", key]) {
                Ok(Frame::Integer(v)) => {
                    h.ack(v);
                    Ok(())
                }
                Ok(other) => Err(Ok(other)),
                Err(e) => Err(Err(e)),
            }
        };
        match acked {
            Ok(()) => {
                shared.acks.fetch_add(1, Ordering::Relaxed);
            }
            // An error reply: the write stays indeterminate, the
            // connection lives on.
            Err(Ok(reply)) => log.error_replies.push(frame_text(&reply)),
            // The node died (or the connection broke): indeterminate.
            Err(Err(_)) => {
                log.connection_errors += 1;
                conn = reconnect(&shared);
            }
        }
    }
    log
}

/// Reads every key of `history` from the node.
fn read_state(node: &TestNode, history: &History) -> std::collections::HashMap<String, Vec<u8>> {
    let mut c = RawConn::connect(node.socket_addr()).expect("connect for the final read");
    let mut state = std::collections::HashMap::new();
    for key in history.keys() {
        match c.cmd(&["GET", key]) {
            Ok(Frame::BulkString(v)) => {
                state.insert(key.clone(), v);
            }
            Ok(Frame::Null) => {}
            other => panic!("GET {key}: {other:?}"),
        }
    }
    state
}

#[test]
fn acknowledged_writes_survive_kill_9_restarts() {
    let secs = env_num("REDRAFT_CRASH_SECS", 20);
    let conns = env_num("REDRAFT_CRASH_CONNS", 50) as usize;
    // A kill every 3-4 s, at least one, at most ten.
    let max_kills = (secs * 1000 / 3500).clamp(1, 10);
    let mut node = TestNode::start(NodeOpts::new().redraft_only());

    // INCR must exist: an unknown command would only show as error replies.
    {
        let mut c = RawConn::connect(node.socket_addr()).expect("connect");
        let reply = c.cmd(&["INCR", "crash:probe"]).expect("INCR");
        assert_eq!(reply, Frame::Integer(1), "INCR crash:probe");
    }

    let shared = Arc::new(Shared {
        addr: node.socket_addr(),
        stop: AtomicBool::new(false),
        acks: AtomicU64::new(0),
    });
    let workers: Vec<JoinHandle<WorkerLog>> = (0..conns)
        .map(|id| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || worker(id, shared))
        })
        .collect();

    // Stops the workers even if the crash loop panics.
    struct StopOnDrop(Arc<Shared>);
    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            self.0.stop.store(true, Ordering::Relaxed);
        }
    }
    let stopper = StopOnDrop(Arc::clone(&shared));

    let started = Instant::now();
    let end = started + Duration::from_secs(secs);
    let mut rng = rand::rng();
    let mut kills = 0u64;
    let mut acks_per_epoch = Vec::new();
    let mut epoch_start_acks = 0;
    while kills < max_kills {
        // Let the load run 3-4 s (less in a short run), never past the end.
        let pause = Duration::from_millis(rng.random_range(3000..4000).min(secs * 500));
        let kill_at = Instant::now() + pause;
        if kill_at >= end {
            break;
        }
        std::thread::sleep(pause);
        // Writes must have been acknowledged since the last restart, or
        // the clients did not come back.
        let progressed = wait_until(Instant::now() + Duration::from_secs(30), || {
            shared.acks.load(Ordering::Relaxed) > epoch_start_acks
        });
        assert!(
            progressed,
            "no write acknowledged in 30 s after start #{}",
            node.starts()
        );
        node.kill9();
        let acks_now = shared.acks.load(Ordering::Relaxed);
        acks_per_epoch.push(acks_now - epoch_start_acks);
        epoch_start_acks = acks_now;
        kills += 1;
        node.restart();
    }
    let progressed = wait_until(end.max(Instant::now()) + Duration::from_secs(30), || {
        Instant::now() >= end && shared.acks.load(Ordering::Relaxed) > epoch_start_acks
    });
    assert!(progressed, "no write acknowledged after the last restart");
    drop(stopper);
    let mut history = History::default();
    let mut connection_errors = 0;
    let mut error_replies: Vec<String> = Vec::new();
    for w in workers {
        let log = w.join().expect("worker thread panicked");
        history.merge(log.history);
        connection_errors += log.connection_errors;
        error_replies.extend(log.error_replies);
    }
    let load_secs = started.elapsed().as_secs_f64();
    acks_per_epoch.push(shared.acks.load(Ordering::Relaxed) - epoch_start_acks);

    // One more crash before reading: what is read back is what a restart
    // recovers.
    node.kill9();
    node.restart();
    let state = read_state(&node, &history);
    let report = checker::check(&history, |k| state.get(k).cloned());

    error_replies.sort();
    error_replies.dedup();
    println!(
        "crash test: {conns} connections, {load_secs:.1} s, {kills} kill -9 + restart during \
         the load (+1 before the read), acks per epoch {acks_per_epoch:?}"
    );
    println!(
        "  SET:  {} acknowledged (all present: {}), {} indeterminate, {} registers",
        history.acked_sets(),
        report.ok(),
        history.indeterminate_sets(),
        history.registers.len()
    );
    println!(
        "  INCR: {} acknowledged, {} indeterminate ({} of them applied), {} counters",
        history.acked_incrs(),
        history.indeterminate_incrs(),
        report.indeterminate_incrs_applied,
        history.counters.len()
    );
    println!(
        "  registers: {} at the last ack, {} at a later indeterminate SET, {} at an earlier \
         indeterminate SET, {} missing (never acknowledged)",
        report.registers_at_last_ack,
        report.registers_at_later_indeterminate,
        report.registers_at_earlier_indeterminate,
        report.registers_missing_unacked
    );
    println!("  connection errors: {connection_errors}; distinct error replies: {error_replies:?}");
    for v in report.violations.iter().take(20) {
        println!("  VIOLATION {v}");
    }

    assert!(
        report.ok(),
        "{} of the acknowledged writes were lost or corrupted (first: {})",
        report.violations.len(),
        report.violations[0]
    );
    assert!(kills >= 1, "the node was never killed during the load");
    assert!(
        history.acked_sets() > 0 && history.acked_incrs() > 0,
        "no load"
    );
    // Every register and counter was checked.
    assert_eq!(
        (history.registers.len(), history.counters.len()),
        (conns * REGISTERS_PER_CONN, conns * COUNTERS_PER_CONN)
    );
}

// ---------------------------------------------------------------------
// Collections: lists, sets, hashes and sorted sets

/// Register fields (members) and counter fields (members) per hash and per
/// sorted set.
const FIELD_REGISTERS: usize = 2;
const FIELD_COUNTERS: usize = 2;
/// Commands one writer sends at most: the load is bounded in count as well
/// as in time. Far above what a writer sends in the tests' time (one node
/// on loopback answered about 1,700 commands a second per writer; at
/// 20,000 the writers ran out before the test's last restart).
const MAX_OPS_PER_WRITER: u64 = 200_000;
/// The kinds of command a writer sends, in turn.
const OPS: usize = 8;

/// Sends each command to the node serving its key's slot: one node, or
/// any node of a cluster, following its MOVED replies.
struct Router {
    seeds: Vec<SocketAddr>,
    next_seed: usize,
    conns: HashMap<SocketAddr, RawConn>,
    owners: HashMap<u16, SocketAddr>,
    timeout: Duration,
}

impl Router {
    fn new(seeds: Vec<SocketAddr>, timeout: Duration) -> Router {
        Router {
            seeds,
            next_seed: 0,
            conns: HashMap::new(),
            owners: HashMap::new(),
            timeout,
        }
    }

    /// The node believed to serve `slot`; a seed, in turn, if none is.
    fn addr_for(&mut self, slot: u16) -> SocketAddr {
        if let Some(&a) = self.owners.get(&slot) {
            return a;
        }
        self.next_seed = (self.next_seed + 1) % self.seeds.len();
        self.seeds[self.next_seed]
    }

    fn conn(&mut self, addr: SocketAddr) -> std::io::Result<&mut RawConn> {
        let c = match self.conns.entry(addr) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(RawConn::connect(addr)?),
        };
        c.set_timeout(self.timeout)?;
        Ok(c)
    }

    /// Whether a connection to the node believed to serve `key` is open,
    /// or opens now. A writer waits for it before it records an attempt:
    /// a command that could not be sent is not indeterminate.
    fn ready(&mut self, key: &str) -> bool {
        let slot = key_slot(key.as_bytes());
        let addr = self.addr_for(slot);
        if self.conn(addr).is_ok() {
            self.owners.insert(slot, addr);
            true
        } else {
            self.owners.remove(&slot);
            false
        }
    }

    /// Sends one command about `key` and returns its reply, following up
    /// to three MOVED replies (a MOVED reply means the command did not run
    /// there). `Err` when the connection failed: it may or may not have run.
    fn call(&mut self, key: &str, args: &[String]) -> Result<Frame, String> {
        let slot = key_slot(key.as_bytes());
        let mut addr = self.addr_for(slot);
        for _ in 0..4 {
            let reply = match self.conn(addr) {
                Ok(c) => c.cmd(args),
                Err(e) => Err(e),
            };
            match reply {
                Err(e) => {
                    self.conns.remove(&addr);
                    self.owners.remove(&slot);
                    return Err(e.to_string());
                }
                Ok(Frame::Error(e)) if e.starts_with("MOVED ") => {
                    match e.split_whitespace().nth(2).and_then(|a| a.parse().ok()) {
                        Some(to) => {
                            self.owners.insert(slot, to);
                            addr = to;
                        }
                        None => return Ok(Frame::Error(e)),
                    }
                }
                Ok(f) => {
                    self.owners.insert(slot, addr);
                    return Ok(f);
                }
            }
        }
        Ok(Frame::Error("MOVED more than three times".into()))
    }
}

/// State shared by the collection writers and the test.
struct CollLoad {
    seeds: Vec<SocketAddr>,
    /// Reply timeout of the writers' connections.
    timeout: Duration,
    stop: AtomicBool,
    acks: AtomicU64,
}

/// Stops the writers even if the test panics.
struct StopCollOnDrop(Arc<CollLoad>);

impl Drop for StopCollOnDrop {
    fn drop(&mut self) {
        self.0.stop.store(true, Ordering::Relaxed);
    }
}

/// What one collection writer did.
#[derive(Default)]
struct CollWriterLog {
    histories: BTreeMap<String, CollectionHistory>,
    connection_errors: u64,
    /// Error replies by their first word.
    error_replies: BTreeMap<String, u64>,
    /// Replies of the wrong shape: each one fails the test.
    unexpected: Vec<String>,
}

/// What an attempt will acknowledge when its reply comes.
enum Pending {
    Item(u64),
    Register(String, u64),
    Counter(String),
}

/// The key of writer `id`'s collection of type `ty`.
fn coll_key(prefix: &str, id: usize, ty: CollectionType) -> String {
    format!("{prefix}:{id}:{}", ty.name())
}

/// One writer: round-robin over RPUSH, SADD, HSET of a new field, HSET of
/// a register field, HINCRBY, ZADD of a new member, ZADD of a register
/// member and ZINCRBY, on its own four collections, one command in
/// flight, until `load.stop` or [`MAX_OPS_PER_WRITER`] commands.
fn collection_writer(prefix: String, id: usize, load: Arc<CollLoad>) -> CollWriterLog {
    let mut log = CollWriterLog::default();
    for ty in CollectionType::ALL {
        log.histories
            .insert(coll_key(&prefix, id, ty), CollectionHistory::new(ty));
    }
    let mut router = Router::new(load.seeds.clone(), load.timeout);
    let mut step = 0usize;
    let mut sent = 0u64;
    while !load.stop.load(Ordering::Relaxed) && sent < MAX_OPS_PER_WRITER {
        let op = step % OPS;
        let j = (step / OPS) % FIELD_REGISTERS.max(FIELD_COUNTERS);
        let ty = match op {
            0 => CollectionType::List,
            1 => CollectionType::Set,
            2..=4 => CollectionType::Hash,
            _ => CollectionType::ZSet,
        };
        let key = coll_key(&prefix, id, ty);
        if !router.ready(&key) {
            // Down: nothing sent, so nothing attempted.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        step += 1;
        sent += 1;
        let h = log.histories.get_mut(&key).expect("own collection");
        let reg = format!("r{}", j % FIELD_REGISTERS);
        let ctr = format!("c{}", j % FIELD_COUNTERS);
        let (args, pending): (Vec<String>, Pending) = match op {
            0 | 1 | 2 | 5 => {
                let n = h.items.attempt();
                let it = item(&key, n);
                let args = match op {
                    0 => vec!["RPUSH".into(), key.clone(), it],
                    1 => vec!["SADD".into(), key.clone(), it],
                    2 => vec!["HSET".into(), key.clone(), it, item_value(&key, n)],
                    _ => vec!["ZADD".into(), key.clone(), n.to_string(), it],
                };
                (args, Pending::Item(n))
            }
            3 | 6 => {
                let r = h.registers.entry(reg.clone()).or_default();
                let n = r.attempted_max + 1;
                r.attempt(n);
                let args = if op == 3 {
                    let v = field_register_value(&key, &reg, n);
                    vec!["HSET".into(), key.clone(), reg.clone(), v]
                } else {
                    vec!["ZADD".into(), key.clone(), n.to_string(), reg.clone()]
                };
                (args, Pending::Register(reg, n))
            }
            _ => {
                h.counters.entry(ctr.clone()).or_default().attempt();
                let args = if op == 4 {
                    vec!["HINCRBY".into(), key.clone(), ctr.clone(), "1".into()]
                } else {
                    vec!["ZINCRBY".into(), key.clone(), "1".into(), ctr.clone()]
                };
                (args, Pending::Counter(ctr))
            }
        };
        let reply = match router.call(&key, &args) {
            Ok(Frame::Error(e)) => {
                let kind = e.split_whitespace().next().unwrap_or("").to_string();
                *log.error_replies.entry(kind).or_default() += 1;
                // Indeterminate; give a restart or a failover a moment.
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Ok(reply) => reply,
            Err(_) => {
                log.connection_errors += 1;
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        // A new item is answered 1 (added) by SADD, HSET and ZADD, and with
        // the new length by RPUSH.
        let acked = match (&pending, &reply) {
            (Pending::Item(n), Frame::Integer(v)) if (op == 0 && *v >= 1) || *v == 1 => {
                h.items.ack(*n);
                true
            }
            (Pending::Register(name, n), Frame::Integer(0 | 1)) => {
                h.registers.get_mut(name).expect("attempted").ack(*n);
                true
            }
            (Pending::Counter(name), Frame::Integer(v)) if op == 4 => {
                h.counters.get_mut(name).expect("attempted").ack(*v);
                true
            }
            (Pending::Counter(name), Frame::BulkString(b)) if op == 7 => {
                match parse_integral_score(b) {
                    Some(v) => {
                        h.counters.get_mut(name).expect("attempted").ack(v);
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        };
        if acked {
            load.acks.fetch_add(1, Ordering::Relaxed);
        } else {
            log.unexpected
                .push(format!("{args:?} answered {}", frame_text(&reply)));
        }
    }
    log
}

/// Starts `n` collection writers on threads.
fn start_collection_writers(
    prefix: &str,
    n: usize,
    load: &Arc<CollLoad>,
) -> Vec<JoinHandle<CollWriterLog>> {
    (0..n)
        .map(|id| {
            let load = Arc::clone(load);
            let prefix = prefix.to_string();
            std::thread::spawn(move || collection_writer(prefix, id, load))
        })
        .collect()
}

/// Everything the collection writers did, merged.
#[derive(Default)]
struct CollHistory {
    histories: BTreeMap<String, CollectionHistory>,
    connection_errors: u64,
    error_replies: BTreeMap<String, u64>,
    unexpected: Vec<String>,
}

/// Stops the writers and merges their logs.
fn stop_collection_writers(
    load: &CollLoad,
    writers: Vec<JoinHandle<CollWriterLog>>,
) -> CollHistory {
    load.stop.store(true, Ordering::Relaxed);
    let mut all = CollHistory::default();
    for w in writers {
        let log = w.join().expect("collection writer panicked");
        all.histories.extend(log.histories);
        all.connection_errors += log.connection_errors;
        for (k, v) in log.error_replies {
            *all.error_replies.entry(k).or_default() += v;
        }
        all.unexpected.extend(log.unexpected);
    }
    all
}

/// Reads every collection back, through any of `seeds` (retrying on
/// errors, for a minute at most, while the node or cluster settles).
fn read_collections(
    seeds: &[SocketAddr],
    histories: &BTreeMap<String, CollectionHistory>,
) -> HashMap<String, Vec<Vec<u8>>> {
    let mut router = Router::new(seeds.to_vec(), Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut state = HashMap::new();
    for (key, h) in histories {
        let args: Vec<String> = match h.ty {
            CollectionType::List => vec!["LRANGE".into(), key.clone(), "0".into(), "-1".into()],
            CollectionType::Set => vec!["SMEMBERS".into(), key.clone()],
            CollectionType::Hash => vec!["HGETALL".into(), key.clone()],
            CollectionType::ZSet => vec![
                "ZRANGE".into(),
                key.clone(),
                "0".into(),
                "-1".into(),
                "WITHSCORES".into(),
            ],
        };
        let mut last = String::new();
        let mut got = None;
        let ok = wait_until(deadline, || match router.call(key, &args) {
            Ok(Frame::Array(items)) => {
                got = Some(items);
                true
            }
            Ok(other) => {
                last = frame_text(&other);
                assert!(!last.starts_with("WRONGTYPE"), "{args:?}: {last}");
                false
            }
            Err(e) => {
                last = e;
                false
            }
        });
        assert!(ok, "{args:?} not answered within 60 s; last: {last}");
        let values = got
            .unwrap_or_default()
            .into_iter()
            .map(|f| match f {
                Frame::BulkString(b) => b,
                other => panic!("{args:?}: element {other:?}"),
            })
            .collect();
        state.insert(key.clone(), values);
    }
    state
}

/// Checks the collections read back against the history, prints the
/// counts and asserts that nothing acknowledged was lost.
fn check_collections(name: &str, seeds: &[SocketAddr], all: &CollHistory, writers: usize) {
    let state = read_collections(seeds, &all.histories);
    let report = collections::check(&all.histories, |k| {
        state.get(k).cloned().unwrap_or_default()
    });
    for ty in CollectionType::ALL {
        let c = report.counts.get(&ty).cloned().unwrap_or_default();
        println!(
            "{name}: {:<4} {} collections, {} writes acknowledged, {} indeterminate ({} of them \
             applied), {} elements read back",
            ty.name(),
            c.collections,
            c.acked,
            c.indeterminate,
            c.indeterminate_applied,
            c.read_back
        );
    }
    println!(
        "{name}: connection errors {}; error replies by kind {:?}",
        all.connection_errors, all.error_replies
    );
    for v in report.violations.iter().take(20) {
        println!("  VIOLATION {v}");
    }
    for u in all.unexpected.iter().take(20) {
        println!("  UNEXPECTED {u}");
    }
    assert!(
        report.ok(),
        "{name}: {} acknowledged collection writes lost or corrupted (first: {})",
        report.violations.len(),
        report.violations[0]
    );
    assert!(
        all.unexpected.is_empty(),
        "{name}: {} replies of the wrong shape (first: {})",
        all.unexpected.len(),
        all.unexpected[0]
    );
    // Every collection of every writer was checked, and each type saw
    // acknowledged writes.
    assert_eq!(all.histories.len(), writers * CollectionType::ALL.len());
    for ty in CollectionType::ALL {
        assert!(
            report.counts.get(&ty).is_some_and(|c| c.acked > 0),
            "{name}: no {} write was acknowledged",
            ty.name()
        );
    }
}

#[test]
fn acknowledged_collection_writes_survive_kill_9_restarts() {
    let secs = env_num("REDRAFT_COLL_CRASH_SECS", 12);
    let writers_n = env_num("REDRAFT_COLL_CRASH_WRITERS", 8) as usize;
    let max_kills = (secs * 1000 / 2500).clamp(1, 8);
    let mut node = TestNode::start(NodeOpts::new().redraft_only());
    let load = Arc::new(CollLoad {
        seeds: vec![node.socket_addr()],
        timeout: Duration::from_secs(10),
        stop: AtomicBool::new(false),
        acks: AtomicU64::new(0),
    });
    let _stopper = StopCollOnDrop(Arc::clone(&load));
    let writers = start_collection_writers("coll", writers_n, &load);

    let started = Instant::now();
    let end = started + Duration::from_secs(secs);
    let mut rng = rand::rng();
    let mut kills = 0u64;
    let mut epoch_acks = 0;
    while kills < max_kills {
        let pause = Duration::from_millis(rng.random_range(2000..3000));
        if Instant::now() + pause >= end {
            break;
        }
        std::thread::sleep(pause);
        let progressed = wait_until(Instant::now() + Duration::from_secs(30), || {
            load.acks.load(Ordering::Relaxed) > epoch_acks
        });
        assert!(
            progressed,
            "no collection write acknowledged in 30 s after start #{}",
            node.starts()
        );
        node.kill9();
        epoch_acks = load.acks.load(Ordering::Relaxed);
        kills += 1;
        node.restart();
    }
    let progressed = wait_until(end.max(Instant::now()) + Duration::from_secs(30), || {
        Instant::now() >= end && load.acks.load(Ordering::Relaxed) > epoch_acks
    });
    assert!(
        progressed,
        "no collection write acknowledged after the last restart"
    );
    let all = stop_collection_writers(&load, writers);
    println!(
        "collection crash test: {writers_n} writers, {:.1} s, {kills} kill -9 + restart during \
         the load (+1 before the read)",
        started.elapsed().as_secs_f64()
    );
    assert!(kills >= 1, "the node was never killed during the load");
    // What is read back is what a restart recovers.
    node.kill9();
    node.restart();
    check_collections(
        "collection crash test",
        &[node.socket_addr()],
        &all,
        writers_n,
    );
}

#[test]
fn acknowledged_collection_writes_survive_kill_9_of_random_nodes() {
    let secs = env_num("REDRAFT_COLL_CRASH_SECS", 12);
    let writers_n = env_num("REDRAFT_COLL_CRASH_WRITERS", 8) as usize;
    let max_kills = (secs * 1000 / 3000).clamp(1, 8);
    let mut cluster = TestCluster::start(ClusterOpts::new());
    let seeds: Vec<SocketAddr> = (0..cluster.len())
        .map(|i| cluster.node(i).socket_addr())
        .collect();
    let load = Arc::new(CollLoad {
        seeds: seeds.clone(),
        timeout: Duration::from_secs(3),
        stop: AtomicBool::new(false),
        acks: AtomicU64::new(0),
    });
    let _stopper = StopCollOnDrop(Arc::clone(&load));
    let writers = start_collection_writers("rcoll", writers_n, &load);

    let started = Instant::now();
    let end = started + Duration::from_secs(secs);
    let mut rng = rand::rng();
    let mut kills = Vec::new();
    let mut epoch_acks = 0;
    while kills.len() < max_kills as usize {
        let pause = Duration::from_millis(rng.random_range(2000..3000));
        if Instant::now() + pause >= end {
            break;
        }
        std::thread::sleep(pause);
        let progressed = wait_until(Instant::now() + Duration::from_secs(30), || {
            load.acks.load(Ordering::Relaxed) > epoch_acks
        });
        assert!(
            progressed,
            "no collection write acknowledged within 30 s after kill #{}\n{}",
            kills.len(),
            cluster.log_tails(20)
        );
        let victim = rng.random_range(0..cluster.len());
        cluster.kill9(victim);
        kills.push(victim + 1);
        epoch_acks = load.acks.load(Ordering::Relaxed);
        // Down for a moment, so leaders move.
        std::thread::sleep(Duration::from_millis(rng.random_range(200..1000)));
        cluster.restart(victim);
        // Back in the cluster before the next kill, so a majority of every
        // shard stays up.
        if let Err(e) = cluster.wait_ready(Instant::now() + Duration::from_secs(30)) {
            panic!(
                "after restarting node {}: {e}\n{}",
                victim + 1,
                cluster.log_tails(20)
            );
        }
    }
    let progressed = wait_until(end.max(Instant::now()) + Duration::from_secs(30), || {
        Instant::now() >= end && load.acks.load(Ordering::Relaxed) > epoch_acks
    });
    assert!(
        progressed,
        "no collection write acknowledged after the last restart"
    );
    let all = stop_collection_writers(&load, writers);
    println!(
        "cluster collection crash test: {writers_n} writers, {:.1} s, kill -9 + restart of nodes \
         {kills:?} during the load (+ all nodes before the read)",
        started.elapsed().as_secs_f64()
    );
    assert!(!kills.is_empty(), "no node was killed during the load");
    // What is read back is what the whole cluster recovers from disk.
    for i in 0..cluster.len() {
        cluster.kill9(i);
    }
    for i in 0..cluster.len() {
        cluster.restart(i);
    }
    if let Err(e) = cluster.wait_ready(Instant::now() + Duration::from_secs(60)) {
        panic!(
            "after restarting every node: {e}\n{}",
            cluster.log_tails(20)
        );
    }
    check_collections("cluster collection crash test", &seeds, &all, writers_n);
    match cluster.wait_converged(Instant::now() + Duration::from_secs(30)) {
        Ok(d) => println!("cluster collection crash test: all nodes at digest {d}"),
        Err(e) => panic!("{e}\n{}", cluster.log_tails(20)),
    }
}
