//! Fuzz target: command argument parsing and execution, through dispatch.
//!
//! One in-process node (memory engine, no fsync) lives for the whole run;
//! each input is one argv, dispatched as a client would send it, writes
//! going through Raft and apply. Checked: no panic on any thread (a panic
//! hook aborts, so a panic in Raft apply is a crash too, not a silently
//! dead store), every write is answered within 10 s, every error reply
//! starts with an uppercase code.
//!
//! Input layout: byte 0 and 1 pick a command-table row (or, when byte 0 is
//! 0xFF, the first argument is raw bytes: unknown names); the rest,
//! split at 0x00, are the arguments. A one-byte argument 0x01..=0x3F is
//! replaced by a dictionary word (keys, edge numbers, option keywords), so
//! the fuzzer reaches option parsing quickly.
//!
//! Bounds, so memory reflects bugs rather than legal requests: at most 16
//! arguments; integers from 2^20 up to just past Redis's 512 MB string
//! limit are reduced below 2^20 (a legal `SETRANGE k 500000000 x` would
//! allocate 500 MB per execution); the keyspace is flushed every 1000
//! inputs. Commands that stop or block the process are skipped.

#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use libfuzzer_sys::fuzz_target;
use redraft::cmd::{CommandSpec, TABLE};
use redraft::config::Config;
use redraft::dispatch::dispatch;
use redraft::node::Node;
use redraft::session::Session;
use redraft_resp::Reply;

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

const DICTIONARY: &[&str] = &[
    "k",
    "a",
    "{t}x",
    "{t}y",
    "",
    "0",
    "1",
    "-1",
    "2",
    "16383",
    "16384",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "1.5",
    "inf",
    "-inf",
    "nan",
    "01",
    "+1",
    "536870912",
    "536870911",
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
    "ON",
    "OFF",
    "SKIP",
    "ID",
    "USER",
    "ADDR",
    "LADDR",
    "SKIPME",
    "MAXAGE",
    "AUTH",
    "SETNAME",
    "LEN",
    "IDX",
    "MINMATCHLEN",
    "WITHMATCHLEN",
    "SAMPLES",
    "string",
    "*",
    "HELP",
    "ASYNC",
    "SYNC",
    "maxmemory",
    "SCHEDULE",
    "YES",
    "NO",
];

struct Harness {
    node: Arc<Node>,
    rt: tokio::runtime::Runtime,
    rows: Vec<&'static CommandSpec>,
    runs: std::sync::atomic::AtomicU64,
    _dir: tempfile::TempDir,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        // A panic on the node's own threads must be a crash the fuzzer sees.
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            default(info);
            std::process::abort();
        }));
        let dir = tempfile::Builder::new()
            .prefix("redraft-fuzz-")
            .tempdir()
            .expect("tempdir");
        let config = Config::parse_from([
            "redraft",
            "--port",
            "0",
            "--dir",
            dir.path().to_str().expect("utf-8 path"),
            "--engine",
            "memory",
            "--expire-sweep-ms",
            "0",
            "--raft-tick-ms",
            "10",
            "--unsafe-no-fsync",
        ]);
        let node = Node::open(config).expect("open node");
        let mut rows = Vec::new();
        for spec in &TABLE.all {
            if !spec.name.starts_with("__") && !SKIPPED.contains(&spec.name) {
                rows.push(*spec);
            }
            rows.extend(
                spec.subcommands
                    .iter()
                    .filter(|s| !SKIPPED.contains(&s.name)),
            );
        }
        Harness {
            node,
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            rows,
            runs: Default::default(),
            _dir: dir,
        }
    })
}

/// Keeps legal-but-huge sizes out (see the module docs).
fn bound(arg: Vec<u8>) -> Vec<u8> {
    match std::str::from_utf8(&arg)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
    {
        Some(n) if (1 << 20..=(512 << 20) + (1 << 20)).contains(&n.unsigned_abs()) => {
            (n % (1 << 20)).to_string().into_bytes()
        }
        _ => arg,
    }
}

fn argv_from(data: &[u8], h: &Harness) -> Vec<Bytes> {
    let mut argv: Vec<Vec<u8>> = Vec::new();
    let rest = match data {
        [0xFF, rest @ ..] => rest,
        [a, b, rest @ ..] => {
            let spec = h.rows[(usize::from(*a) << 8 | usize::from(*b)) % h.rows.len()];
            match spec.name.split_once('|') {
                Some((c, s)) => argv.extend([c.as_bytes().to_vec(), s.as_bytes().to_vec()]),
                None => argv.push(spec.name.as_bytes().to_vec()),
            }
            rest
        }
        _ => return Vec::new(),
    };
    for part in rest.split(|&b| b == 0).take(16) {
        let arg = match part {
            [w @ 1..=0x3F] => DICTIONARY[usize::from(*w) % DICTIONARY.len()]
                .as_bytes()
                .to_vec(),
            _ => part.to_vec(),
        };
        argv.push(bound(arg));
    }
    argv.into_iter().map(Bytes::from).collect()
}

fn run(h: &Harness, argv: Vec<Bytes>) -> Reply {
    let addr = "127.0.0.1:1".parse().expect("addr");
    let handle = h.node.clients.register(addr, addr);
    let id = handle.id;
    let mut session = Session::new(handle, true);
    let outcome = dispatch(&mut session, &h.node, argv.clone());
    let reply = h
        .rt
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(10), outcome.resolve(&mut session, &h.node))
                .await
        })
        .unwrap_or_else(|_| panic!("{argv:?} was never answered"));
    h.node.clients.unregister(id);
    reply
}

fuzz_target!(|data: &[u8]| {
    let h = harness();
    let argv = argv_from(data, h);
    if argv.is_empty() || argv[0].is_empty() {
        return;
    }
    if h.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 1000 == 999 {
        run(h, vec![Bytes::from_static(b"FLUSHALL")]);
    }
    let reply = run(h, argv.clone());
    if let Reply::Error(text) = &reply {
        let code = text.split(' ').next().unwrap_or_default();
        assert!(
            !code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase()),
            "{argv:?}: error without an uppercase code: {text:?}"
        );
    }
});
