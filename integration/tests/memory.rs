//! Memory: a large collection lives in the engine, not in the node's
//! memory.
//!
//! Each test builds one collection on a fresh node — a hash (HSET with
//! 1,000 field/value pairs per command) or a list (RPUSH with 1,000
//! elements per command), [`WINDOW`] commands in flight — reads it at
//! single points (HGET of the middle and the last field and HLEN; LINDEX
//! of the middle and the last index and LLEN), DELs it (LEN, EXISTS and
//! DBSIZE then answer 0), and waits until the background sweeper has
//! removed every stale subkey from the engine
//! (`redraft_stale_subkeys_swept_total` on the node's metrics endpoint
//! reaches the element count; DBSIZE stays 0). The node's resident memory
//! (VmRSS) is printed before the build, after it, after the reads, after
//! the DEL and after the sweep, with the peak (VmHWM), and the time each
//! step took.
//!
//! Two bounds, each against the values' total size (elements × value
//! bytes), which is what a node holding the collection in memory would
//! need at the least:
//!
//! - suite tests (`point_reads_and_del_of_a_large_*`, 100,000 elements of
//!   500 bytes: 48 MiB of values, about 10 s each): RSS after the reads and
//!   after the DEL may exceed RSS after the build by less than the values'
//!   size. A point read, a length or a DEL that loaded the collection
//!   would not.
//! - `a_million_*` tests (ignored in the suite; `scripts/memcheck.sh` runs
//!   them): 1,000,000 elements of 100 bytes (95 MiB of values), and RSS
//!   after the build, the reads and the DEL may exceed RSS before the
//!   build by less than the values' size. Environment:
//!   `REDRAFT_MEM_ELEMENTS` (a multiple of 1,000), `REDRAFT_MEM_VALUE_BYTES`
//!   and `REDRAFT_MEM_NODE_ARGS` (extra node flags, split on spaces)
//!   change that run.
//!
//! CAVEATS:
//! - The million-element bound does not hold today with the node's
//!   defaults: the node's memory under a write burst is dominated by
//!   buffers of fixed size, not by the collection. fjall's memtable
//!   (64 MiB of keys and values, about 200 MiB of RSS at its peak with
//!   its sealed predecessors), the Raft log's in-memory copy (the last
//!   `--raft-compact-entries` entries, 20,000 by default: all 1,000 build
//!   commands, so a second copy of every value) and the 256 MiB block
//!   cache (filled by the sweep's scans) add up to more than 95 MiB. RSS
//!   stops growing with the collection once they are full (it is flat from
//!   about 700,000 to 1,000,000 elements), which is the property the
//!   suite's bound checks.
//! - RSS counts what the allocator kept, not what is live.
//! - The sweep deletes a stale collection 10,000 subkeys per Raft entry,
//!   each step scanning from the collection's first subkey over the
//!   tombstones of the steps before: it slows down as it goes (about 200
//!   s for a million subkeys here), so the sweep deadline is generous.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use redraft_integration::env_num;
use redraft_integration::raw::{encode_cmd, frame_text, Frame, RawConn};
use redraft_integration::{free_port, wait_until, NodeOpts, TestNode};

/// Elements per HSET / RPUSH command.
const PER_COMMAND: u64 = 1_000;
/// Commands in flight on the connection.
const WINDOW: usize = 8;
/// The sweeper's counter of stale subkeys removed.
const SWEPT: &str = "redraft_stale_subkeys_swept_total";

/// Value number `i`: `len` printable bytes that name `i` and then look
/// random (so the engine's compression cannot shrink them to nothing).
fn value(i: u64, len: usize) -> Vec<u8> {
    let mut v = format!("{i:010}:").into_bytes();
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.push(b'!' + (x % 90) as u8);
    }
    v.truncate(len);
    v
}

fn field(i: u64) -> Vec<u8> {
    format!("f{i:010}").into_bytes()
}

/// The value of counter `name` on the node's Prometheus endpoint (0 while
/// it was never incremented), or `None` when the endpoint does not answer.
fn metric(addr: SocketAddr, name: &str) -> Option<u64> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    if !body.starts_with("HTTP/1.1 200") {
        return None;
    }
    Some(
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map_or(0, |v| v as u64),
    )
}

/// One command's reply, failing the test on an error.
fn cmd(c: &mut RawConn, args: &[&[u8]]) -> Frame {
    let text = || {
        args.iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    match c.cmd(args) {
        Ok(Frame::Error(e)) => panic!("{}: -{e}", text()),
        Ok(reply) => reply,
        Err(e) => panic!("{}: {e}", text()),
    }
}

/// Sends `commands` with [`WINDOW`] of them in flight and hands each
/// reply, in order, to `check` with the command's number.
fn pipeline(
    c: &mut RawConn,
    commands: impl Iterator<Item = Vec<u8>>,
    mut check: impl FnMut(usize, Frame),
) {
    let mut sent = 0;
    let mut answered = 0;
    for bytes in commands {
        c.send(&bytes).expect("send a pipelined command");
        sent += 1;
        if sent - answered >= WINDOW {
            check(answered, c.read_frame().expect("pipelined reply"));
            answered += 1;
        }
    }
    while answered < sent {
        check(answered, c.read_frame().expect("pipelined reply"));
        answered += 1;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Hash,
    List,
}

/// What a run builds and which bound it asserts.
struct Run {
    kind: Kind,
    elements: u64,
    value_bytes: usize,
    node_args: Vec<String>,
    /// Bound RSS growth since before the build (the million-element
    /// runs), or only since after the build (the suite's runs).
    bound_from_start: bool,
    sweep_deadline: Duration,
}

/// Measured resident memory, KiB.
struct Rss {
    before: u64,
    built: u64,
    read: u64,
    deleted: u64,
    swept: u64,
    peak: u64,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Builds, reads, deletes and sweeps one collection; see the module docs.
fn run(r: Run) {
    let n = r.elements;
    assert!(
        n > 0 && n.is_multiple_of(PER_COMMAND),
        "{n} elements is not a positive multiple of {PER_COMMAND}"
    );
    let vbytes = r.value_bytes;
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let node = TestNode::start(
        NodeOpts::new()
            .redraft_only()
            .args(["--metrics-addr", &metrics.to_string()])
            .args(r.node_args.iter().cloned()),
    );
    let rss = |phase: &str| {
        node.rss_kib()
            .unwrap_or_else(|| panic!("no VmRSS for the node {phase}"))
    };
    let (name, key, len_cmd) = match r.kind {
        Kind::Hash => ("hash", &b"mem:hash"[..], &b"HLEN"[..]),
        Kind::List => ("list", &b"mem:list"[..], &b"LLEN"[..]),
    };
    let mut c = node.raw();
    c.set_timeout(Duration::from_secs(120)).expect("timeout");
    // Warm up the paths the build takes (connection, Raft, engine, the
    // sweeper), so that their first allocations are not counted as the
    // collection's.
    for _ in 0..3 {
        let args: Vec<&[u8]> = match r.kind {
            Kind::Hash => vec![b"HSET", key, b"warm", b"up"],
            Kind::List => vec![b"RPUSH", key, b"warm"],
        };
        cmd(&mut c, &args);
        cmd(&mut c, &[b"DEL", key]);
    }
    // The node is new: its only stale subkeys are the warm-up's three.
    let settled = wait_until(Instant::now() + Duration::from_secs(30), || {
        metric(metrics, SWEPT).is_some_and(|s| s >= 3)
    });
    assert!(
        settled,
        "the warm-up's 3 subkeys were not swept within 30 s"
    );
    let swept_base = metric(metrics, SWEPT).unwrap_or(0);
    let before = rss("before the build");
    let values_kib = n * vbytes as u64 / 1024;

    // Build.
    let t = Instant::now();
    let commands = (0..n / PER_COMMAND).map(|chunk| {
        let lo = chunk * PER_COMMAND;
        let mut args: Vec<Vec<u8>> = Vec::with_capacity(2 + 2 * PER_COMMAND as usize);
        args.push(match r.kind {
            Kind::Hash => b"HSET".to_vec(),
            Kind::List => b"RPUSH".to_vec(),
        });
        args.push(key.to_vec());
        for i in lo..lo + PER_COMMAND {
            if r.kind == Kind::Hash {
                args.push(field(i));
            }
            args.push(value(i, vbytes));
        }
        encode_cmd(&args)
    });
    pipeline(&mut c, commands, |i, reply| {
        let want = match r.kind {
            Kind::Hash => PER_COMMAND as i64,
            Kind::List => (i as i64 + 1) * PER_COMMAND as i64,
        };
        assert_eq!(
            reply,
            Frame::Integer(want),
            "{name}: reply to build command #{i}"
        );
    });
    let build_s = t.elapsed().as_secs_f64();
    let built = rss("after the build");

    // Point reads.
    let t = Instant::now();
    for i in [n / 2, n - 1] {
        let reply = match r.kind {
            Kind::Hash => cmd(&mut c, &[b"HGET", key, &field(i)]),
            Kind::List => cmd(&mut c, &[b"LINDEX", key, i.to_string().as_bytes()]),
        };
        assert_eq!(
            reply,
            Frame::BulkString(value(i, vbytes)),
            "{name}: element {i}"
        );
    }
    assert_eq!(
        cmd(&mut c, &[len_cmd, key]),
        Frame::Integer(n as i64),
        "{name}: length"
    );
    let read_ms = t.elapsed().as_secs_f64() * 1000.0;
    let read = rss("after the reads");

    // DEL is O(1): the subkeys become stale at once.
    let t = Instant::now();
    assert_eq!(cmd(&mut c, &[b"DEL", key]), Frame::Integer(1), "DEL");
    let del_ms = t.elapsed().as_secs_f64() * 1000.0;
    let deleted = rss("after the DEL");
    assert_eq!(
        cmd(&mut c, &[len_cmd, key]),
        Frame::Integer(0),
        "{name}: length after DEL"
    );
    assert_eq!(
        cmd(&mut c, &[b"EXISTS", key]),
        Frame::Integer(0),
        "EXISTS after DEL"
    );
    assert_eq!(
        cmd(&mut c, &[b"DBSIZE"]),
        Frame::Integer(0),
        "DBSIZE after DEL"
    );

    // The sweeper removes every stale subkey from the engine.
    let t = Instant::now();
    let mut swept = 0;
    let emptied = wait_until(Instant::now() + r.sweep_deadline, || {
        swept = metric(metrics, SWEPT)
            .unwrap_or(swept_base)
            .saturating_sub(swept_base);
        swept >= n
    });
    let sweep_s = t.elapsed().as_secs_f64();
    let m = Rss {
        before,
        built,
        read,
        deleted,
        swept: rss("after the sweep"),
        peak: node.peak_rss_kib().expect("VmHWM"),
    };
    let disk = frame_text(&cmd(&mut c, &[b"INFO", b"persistence"]))
        .lines()
        .find_map(|l| l.strip_prefix("aof_current_size:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_default();

    println!(
        "memory test: {name} of {n} elements, {vbytes}-byte values: {:.1} MiB of values",
        mib(values_kib)
    );
    println!(
        "  build {build_s:.1} s ({:.0} elements/s); point reads {read_ms:.1} ms; DEL {del_ms:.1} \
         ms; sweep of {swept} stale subkeys {sweep_s:.1} s; engine files after: {disk} bytes",
        n as f64 / build_s
    );
    let phases = [
        ("before", m.before),
        ("after build", m.built),
        ("after reads", m.read),
        ("after DEL", m.deleted),
        ("after sweep", m.swept),
        ("peak (VmHWM)", m.peak),
    ];
    for (phase, kib) in phases {
        println!(
            "  RSS {phase:<13} {:8.1} MiB (growth {:+8.1} MiB)",
            mib(kib),
            mib(kib) - mib(m.before)
        );
    }

    assert!(
        emptied && swept == n,
        "{name}: {swept} of its {n} stale subkeys swept within {:?} of the DEL",
        r.sweep_deadline
    );
    assert_eq!(
        cmd(&mut c, &[b"DBSIZE"]),
        Frame::Integer(0),
        "DBSIZE after the sweep"
    );
    let (base_phase, base, bounded): (&str, u64, &[(&str, u64)]) = if r.bound_from_start {
        (
            "before the build",
            m.before,
            &[
                ("after the build", m.built),
                ("after the reads", m.read),
                ("after the DEL", m.deleted),
            ],
        )
    } else {
        (
            "after the build",
            m.built,
            &[("after the reads", m.read), ("after the DEL", m.deleted)],
        )
    };
    for &(phase, kib) in bounded {
        assert!(
            kib < base + values_kib,
            "{name}: RSS {phase} is {:.1} MiB, {:.1} MiB above the {:.1} MiB {base_phase}; the \
             bound is the values' {:.1} MiB",
            mib(kib),
            mib(kib) - mib(base),
            mib(base),
            mib(values_kib)
        );
    }
}

/// The suite's run: 100,000 elements of 500 bytes; see the module docs.
fn suite_run(kind: Kind) -> Run {
    Run {
        kind,
        elements: 100_000,
        value_bytes: 500,
        node_args: Vec::new(),
        bound_from_start: false,
        sweep_deadline: Duration::from_secs(60),
    }
}

/// The million-element run, as the environment may change it.
fn million_run(kind: Kind) -> Run {
    Run {
        kind,
        elements: env_num("REDRAFT_MEM_ELEMENTS", 1_000_000),
        value_bytes: env_num("REDRAFT_MEM_VALUE_BYTES", 100) as usize,
        node_args: std::env::var("REDRAFT_MEM_NODE_ARGS")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        bound_from_start: true,
        sweep_deadline: Duration::from_secs(600),
    }
}

#[test]
fn point_reads_and_del_of_a_large_hash_do_not_load_it() {
    run(suite_run(Kind::Hash));
}

#[test]
fn point_reads_and_del_of_a_large_list_do_not_load_it() {
    run(suite_run(Kind::List));
}

#[test]
#[ignore = "minutes, and over its bound with the default flags: scripts/memcheck.sh runs it"]
fn a_million_field_hash_grows_rss_by_less_than_its_values() {
    run(million_run(Kind::Hash));
}

#[test]
#[ignore = "minutes, and over its bound with the default flags: scripts/memcheck.sh runs it"]
fn a_million_element_list_grows_rss_by_less_than_its_values() {
    run(million_run(Kind::List));
}
