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
//! Environment: `REDRAFT_CRASH_SECS` (load duration, default 20),
//! `REDRAFT_CRASH_CONNS` (connections, default 50).
//!
//! CAVEATS: SIGKILL leaves the OS page cache intact, so this catches
//! writes acknowledged before they reached the kernel (or before they were
//! applied durably after restart), not a missing fsync; the checker's unit
//! tests show it reports lost writes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::Rng;
use redraft_integration::checker::{self, register_value, History};
use redraft_integration::raw::{frame_text, Frame, RawConn};
use redraft_integration::{wait_until, NodeOpts, TestNode};

/// Registers and counters each connection owns.
const REGISTERS_PER_CONN: usize = 4;
const COUNTERS_PER_CONN: usize = 2;

fn env_num(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

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
