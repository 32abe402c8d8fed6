//! Bounded fuzzing of command dispatch, part of the normal test suite.
//!
//! What: random argument vectors — names from the command table (random
//! case, subcommands included, sometimes unknown), argument counts near
//! each row's arity, and arguments drawn from keys, numbers at the edges,
//! option keywords and random bytes — are dispatched against an in-process
//! node over the memory engine, writes going through the real Raft path.
//!
//! Invariants: no panic on any thread (a panic in Raft apply would kill
//! the store silently, so a panic hook records every one); every write is
//! answered; every reply encodes in RESP2 and RESP3; every error starts
//! with an uppercase code (`ERR`, `WRONGTYPE`, …) as Redis's do; and the
//! node still serves a SET/GET afterwards.
//!
//! The longer, coverage-guided run is `scripts/fuzz.sh` (cargo-fuzz target
//! `command_args`). Seeds are fixed, so a failure reproduces; set
//! `REDRAFT_FUZZ_SEED` to try another.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redraft::cmd::{CommandSpec, TABLE};
use redraft::config::Config;
use redraft::dispatch::{dispatch, Outcome};
use redraft::node::Node;
use redraft::session::Session;
use redraft_resp::{Protocol, Reply};

/// Commands that stop the process, block, or stream forever: not for a
/// fuzzer in the test process.
const SKIPPED: &[&str] = &[
    "shutdown",
    "debug",
    "monitor",
    "sync",
    "psync",
    "replicaof",
    "slaveof",
    "wait",
    "client|pause",
    "failover",
];

const KEYWORDS: &[&str] = &[
    "NX",
    "XX",
    "GT",
    "LT",
    "EX",
    "PX",
    "EXAT",
    "PXAT",
    "KEEPTTL",
    "GET",
    "PERSIST",
    "MATCH",
    "COUNT",
    "TYPE",
    "REPLACE",
    "DB",
    "SCHEDULE",
    "ON",
    "OFF",
    "SKIP",
    "YES",
    "NO",
    "ID",
    "ADDR",
    "LADDR",
    "USER",
    "SKIPME",
    "MAXAGE",
    "NORMAL",
    "AUTH",
    "SETNAME",
    "LIB-NAME",
    "LIB-VER",
    "SAMPLES",
    "LEN",
    "IDX",
    "MINMATCHLEN",
    "WITHMATCHLEN",
    "string",
    "list",
    "*",
    "?",
    "[",
    "\\",
    "default",
    "HELP",
    "ASYNC",
    "SYNC",
    "maxmemory",
    "save",
    "appendonly",
    "port",
    "dir",
];

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "10",
    "100",
    "-100",
    "3",
    "16383",
    "16384",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "4611686018427387904",
    "1.5",
    "-0.5",
    "1e3",
    "inf",
    "-inf",
    "+inf",
    "nan",
    "01",
    "+1",
    " 1",
    "0x10",
    "",
    "1000000000000",
];

/// This file's tests, as their threads are named.
const TESTS: &[&str] = &[
    "random_commands_never_panic",
    "every_command_with_random_arguments",
];

/// Panics seen on the node's threads since the hook was installed.
fn panics() -> &'static Mutex<Vec<String>> {
    static PANICS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    PANICS.get_or_init(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Panics on a test's own thread fail that test anyway; the hook
            // is for the node's threads (Raft apply), whose panics would
            // otherwise go unnoticed.
            let on_test_thread = std::thread::current()
                .name()
                .is_some_and(|n| TESTS.contains(&n));
            if let Some(p) = PANICS.get().filter(|_| !on_test_thread) {
                if let Ok(mut v) = p.lock() {
                    v.push(format!("{info}"));
                }
            }
            default(info);
        }));
        Mutex::new(Vec::new())
    })
}

fn open_node(dir: &std::path::Path) -> Arc<Node> {
    let config = Config::parse_from([
        "redraft",
        "--port",
        "0",
        "--dir",
        dir.to_str().expect("utf-8 temp path"),
        "--engine",
        "memory",
        "--expire-sweep-ms",
        "0",
        "--raft-tick-ms",
        "10",
        "--unsafe-no-fsync",
    ]);
    Node::open(config).expect("open node")
}

fn new_session(node: &Node) -> Session {
    let addr = "127.0.0.1:1".parse().expect("addr");
    Session::new(node.clients.register(addr, addr), true)
}

/// Every runnable row: top-level commands and subcommands.
fn rows() -> Vec<&'static CommandSpec> {
    let mut v = Vec::new();
    for spec in &TABLE.all {
        if !spec.name.starts_with("__") && !SKIPPED.contains(&spec.name) {
            v.push(*spec);
        }
        for sub in spec.subcommands {
            if !SKIPPED.contains(&sub.name) {
                v.push(sub);
            }
        }
    }
    v
}

fn random_case(rng: &mut StdRng, s: &str) -> Vec<u8> {
    s.bytes()
        .map(|b| {
            if rng.random_bool(0.5) {
                b.to_ascii_uppercase()
            } else {
                b
            }
        })
        .collect()
}

fn random_arg(rng: &mut StdRng) -> Vec<u8> {
    match rng.random_range(0..10) {
        // A small keyspace, with hash tags, so keys collide and types clash.
        0..=2 => {
            let keys = ["k", "a", "b", "{t}x", "{t}y", "n", "f", ""];
            keys[rng.random_range(0..keys.len())].as_bytes().to_vec()
        }
        3..=4 => NUMBERS[rng.random_range(0..NUMBERS.len())]
            .as_bytes()
            .to_vec(),
        5..=6 => {
            let word = KEYWORDS[rng.random_range(0..KEYWORDS.len())];
            random_case(rng, word)
        }
        7 => (0..rng.random_range(0..12)).map(|_| rng.random()).collect(),
        8 => vec![b'x'; rng.random_range(0..300)],
        _ => rng.random_range(-1000i64..1000).to_string().into_bytes(),
    }
}

/// A random argv for `spec`: usually an argument count its arity allows.
fn random_argv(rng: &mut StdRng, spec: &CommandSpec) -> Vec<Bytes> {
    let mut argv: Vec<Vec<u8>> = match spec.name.split_once('|') {
        Some((container, sub)) => vec![random_case(rng, container), random_case(rng, sub)],
        None => vec![random_case(rng, spec.name)],
    };
    let fixed = spec.arity.unsigned_abs() as usize;
    let total = if rng.random_bool(0.8) {
        if spec.arity >= 0 {
            fixed
        } else {
            fixed + rng.random_range(0..5)
        }
    } else {
        rng.random_range(1..fixed + 4)
    };
    while argv.len() < total {
        argv.push(random_arg(rng));
    }
    argv.truncate(total.max(1));
    argv.into_iter().map(Bytes::from).collect()
}

/// Checks the invariants every reply must keep.
fn check_reply(argv: &[Bytes], reply: &Reply) {
    for proto in [Protocol::Resp2, Protocol::Resp3] {
        let mut out = BytesMut::new();
        reply.encode(proto, &mut out);
        assert!(!out.is_empty(), "{argv:?}: empty encoding");
    }
    // A blocking pop that would block: the connection waits on it, and the
    // marker never reaches a client.
    if redraft::blocking::is_would_block(reply) {
        return;
    }
    if let Reply::Error(text) = reply {
        let code = text.split(' ').next().unwrap_or_default();
        assert!(
            !code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase()),
            "{argv:?}: error without an uppercase code: {text:?}"
        );
    }
    if let Reply::Array(items) | Reply::Set(items) | Reply::Push(items) = reply {
        items.iter().for_each(|r| check_reply(argv, r));
    }
    if let Reply::Map(pairs) = reply {
        for (k, v) in pairs {
            check_reply(argv, k);
            check_reply(argv, v);
        }
    }
}

fn run(seed: u64, commands: usize) {
    let panics = panics();
    let dir = tempfile::tempdir().expect("tempdir");
    let node = open_node(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rows = rows();
    assert!(rows.len() > 50, "the table has the single-node commands");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut session = new_session(&node);
    let (mut writes, mut errors) = (0, 0);
    for i in 0..commands {
        let argv = if rng.random_ratio(1, 50) {
            // An unknown name, or arguments only.
            (0..rng.random_range(1..4))
                .map(|_| Bytes::from(random_arg(&mut rng)))
                .filter(|a| !a.is_empty())
                .collect::<Vec<_>>()
        } else {
            let spec = rows[rng.random_range(0..rows.len())];
            random_argv(&mut rng, spec)
        };
        if argv.is_empty() {
            continue;
        }
        let reply = match dispatch(&mut session, &node, argv.clone()) {
            Outcome::Reply(r) => r,
            Outcome::Pending(p) => {
                writes += 1;
                rt.block_on(async {
                    tokio::time::timeout(Duration::from_secs(10), p.wait(&node)).await
                })
                .unwrap_or_else(|_| panic!("seed {seed}, command {i}: {argv:?} was never answered"))
            }
            o @ Outcome::ReadIndex(..) => rt.block_on(o.resolve(&mut session, &node)),
        };
        errors += usize::from(reply.is_error());
        check_reply(&argv, &reply);
        assert!(
            panics.lock().map(|p| p.is_empty()).unwrap_or(false),
            "seed {seed}, command {i}: {argv:?} panicked: {:?}",
            panics.lock().map(|p| p.clone()).unwrap_or_default()
        );
        if session.close_after_reply {
            // QUIT: a client would reconnect.
            session = new_session(&node);
        }
    }
    // The draw reaches handlers, not only the arity check, and proposes.
    eprintln!("seed {seed}: {commands} commands, {writes} proposed, {errors} errors");
    assert!(
        writes > commands / 20,
        "seed {seed}: only {writes} writes proposed"
    );
    assert!(errors < commands * 9 / 10, "seed {seed}: {errors} errors");
    // The node survived: a fresh, authenticated session can still write and
    // read (CONFIG SET may have added a password; HELLO may have switched
    // the protocol).
    let mut session = new_session(&node);
    let set: Vec<Bytes> = ["SET", "fuzz:alive", "yes"].map(Bytes::from).to_vec();
    let reply = match dispatch(&mut session, &node, set) {
        Outcome::Reply(r) => r,
        Outcome::Pending(p) => rt.block_on(p.wait(&node)),
        o @ Outcome::ReadIndex(..) => rt.block_on(o.resolve(&mut session, &node)),
    };
    assert_eq!(reply, Reply::ok(), "seed {seed}: SET after the run");
    let get: Vec<Bytes> = ["GET", "fuzz:alive"].map(Bytes::from).to_vec();
    let Outcome::Reply(reply) = dispatch(&mut session, &node, get) else {
        panic!("GET is a read")
    };
    assert_eq!(reply, Reply::bulk("yes"), "seed {seed}: GET after the run");
    node.shutdown();
}

#[test]
fn random_commands_never_panic() {
    match std::env::var("REDRAFT_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(seed) => run(seed, 5000),
        None => {
            for seed in 1..=3 {
                run(seed, 3000);
            }
        }
    }
}

/// Every row with exactly its arity, once: each handler is reached at
/// least once whatever the random draw.
#[test]
fn every_command_with_random_arguments() {
    let panics = panics();
    let dir = tempfile::tempdir().expect("tempdir");
    let node = open_node(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut rng = StdRng::seed_from_u64(7);
    for spec in rows() {
        for _ in 0..20 {
            let mut session = new_session(&node);
            let argv = random_argv(&mut rng, spec);
            let reply = match dispatch(&mut session, &node, argv.clone()) {
                Outcome::Reply(r) => r,
                Outcome::Pending(p) => rt
                    .block_on(async {
                        tokio::time::timeout(Duration::from_secs(10), p.wait(&node)).await
                    })
                    .unwrap_or_else(|_| panic!("{argv:?} was never answered")),
                o @ Outcome::ReadIndex(..) => rt.block_on(o.resolve(&mut session, &node)),
            };
            check_reply(&argv, &reply);
            assert!(
                panics.lock().map(|p| p.is_empty()).unwrap_or(false),
                "{argv:?} panicked"
            );
        }
    }
    node.shutdown();
}
