//! # Server commands
//!
//! INFO, DBSIZE, TIME, CONFIG, FLUSHALL, FLUSHDB, COMMAND, LASTSAVE, SAVE,
//! BGSAVE and MEMORY USAGE, with redis-server 7.0's arity, flags, ACL
//! categories and replies.
//!
//! - [`command`]: COMMAND and its subcommands, from the one command table
//!   (plus generated Redis metadata, [`command_meta`], for tips, key specs
//!   and long docs).
//! - [`config`]: CONFIG over the node's runtime settings
//!   (`crate::settings`).
//! - [`memory`]: MEMORY USAGE, in redis-server's own accounting.
//! - here: the rest. INFO text comes from `crate::info`.
//!
//! FLUSHALL and FLUSHDB are keyless writes: dispatch proposes them to every
//! shard of the node, and each shard's apply deletes every key of the slot
//! ranges it owns (`ApplyCtx::ranges()`), metadata and subkeys alike, in one
//! range deletion per range. There is one database, so both do the same.
//!
//! SAVE makes the engine durable (`Engine::sync`): every acknowledged write
//! is already durable in the Raft log, so there is no snapshot to take.
//! BGSAVE does the same before answering, as Redis's reply text says it
//! has started; LASTSAVE reports the time of the last one (or of the start).
//!
//! CAVEATS:
//! - ASYNC and SYNC are accepted and mean the same: the deletion is one
//!   batch applied before the reply, holding a deletion for every key of
//!   the shard (memory grows with the keyspace).
//! - DBSIZE walks every metadata record (O(keys)), where Redis reads a
//!   counter; it counts live keys only, where Redis counts keys whose TTL
//!   passed but that were not reclaimed yet.

mod command;
#[rustfmt::skip]
mod command_meta;
mod config;
pub mod failpoint;
mod memory;

use std::sync::atomic::Ordering;

use bytes::Bytes;
use redraft_resp::Reply;

use super::args::is;
use super::error::err_syntax;
use super::flags::*;
use super::{ApplyCtx, CommandSpec, Handler, ReadCtx};
use crate::node::Node;
use crate::session::Session;

pub use command::{docs_entry, info_entry};

const ADMIN_ACL: &[&str] = &["admin", "slow", "dangerous"];
const FLUSH_ACL: &[&str] = &["keyspace", "write", "slow", "dangerous"];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "bgsave",
        -1,
        &[ADMIN, NOSCRIPT, NO_ASYNC_LOADING],
        (0, 0, 0),
        ADMIN_ACL,
        Handler::Node(bgsave),
    )
    .doc(
        "server",
        "Asynchronously save the dataset to disk",
        "1.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "command",
        -1,
        &[LOADING, STALE],
        (0, 0, 0),
        &["slow", "connection"],
        Handler::Node(command::command),
    )
    .doc(
        "server",
        "Get array of Redis command details",
        "2.8.13",
        "O(N) where N is the total number of Redis commands",
    )
    .with_subcommands(command::SUBCOMMANDS),
    CommandSpec::new("config", -2, &[], (0, 0, 0), &["slow"], Handler::Container)
        .doc(
            "server",
            "A container for server configuration commands",
            "2.0.0",
            "Depends on subcommand.",
        )
        .with_subcommands(config::SUBCOMMANDS),
    CommandSpec::new(
        "dbsize",
        1,
        &[READONLY, FAST],
        (0, 0, 0),
        &["keyspace", "read", "fast"],
        Handler::Read(dbsize),
    )
    .doc(
        "server",
        "Return the number of keys in the selected database",
        "1.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "flushall",
        -1,
        &[WRITE],
        (0, 0, 0),
        FLUSH_ACL,
        Handler::Write {
            check: check_flush,
            apply: flush,
        },
    )
    .doc(
        "server",
        "Remove all keys from all databases",
        "1.0.0",
        "O(N) where N is the total number of keys in all databases",
    ),
    CommandSpec::new(
        "flushdb",
        -1,
        &[WRITE],
        (0, 0, 0),
        FLUSH_ACL,
        Handler::Write {
            check: check_flush,
            apply: flush,
        },
    )
    .doc(
        "server",
        "Remove all keys from the current database",
        "1.0.0",
        "O(N) where N is the number of keys in the selected database",
    ),
    CommandSpec::new(
        "debug",
        -2,
        &[ADMIN, NOSCRIPT, LOADING, STALE],
        (0, 0, 0),
        &["admin", "slow", "dangerous"],
        Handler::Node(debug),
    )
    .doc(
        "server",
        "A container for debugging commands",
        "1.0.0",
        "Depends on subcommand.",
    ),
    CommandSpec::new(
        "info",
        -1,
        &[LOADING, STALE],
        (0, 0, 0),
        &["slow", "dangerous"],
        Handler::Node(info),
    )
    .doc(
        "server",
        "Get information and statistics about the server",
        "1.0.0",
        "O(1)",
    ),
    CommandSpec::new(
        "shutdown",
        -1,
        &[ADMIN, NOSCRIPT, LOADING, STALE, NO_MULTI, ALLOW_BUSY],
        (0, 0, 0),
        &["admin", "slow", "dangerous"],
        Handler::Node(shutdown),
    )
    .doc(
        "server",
        "Synchronously save the dataset to disk and then shut down the server",
        "1.0.0",
        "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
    ),
    CommandSpec::new(
        "lastsave",
        1,
        &[LOADING, STALE, FAST],
        (0, 0, 0),
        &["admin", "fast", "dangerous"],
        Handler::Node(lastsave),
    )
    .doc(
        "server",
        "Get the UNIX time stamp of the last successful save to disk",
        "1.0.0",
        "O(1)",
    ),
    CommandSpec::new("memory", -2, &[], (0, 0, 0), &["slow"], Handler::Container)
        .doc(
            "server",
            "A container for memory diagnostics commands",
            "4.0.0",
            "Depends on subcommand.",
        )
        .with_subcommands(memory::SUBCOMMANDS),
    CommandSpec::new(
        "save",
        1,
        &[ADMIN, NOSCRIPT, NO_ASYNC_LOADING, NO_MULTI],
        (0, 0, 0),
        ADMIN_ACL,
        Handler::Node(save),
    )
    .doc(
        "server",
        "Synchronously save the dataset to disk",
        "1.0.0",
        "O(N) where N is the total number of keys in all databases",
    ),
    CommandSpec::new(
        "time",
        1,
        &[LOADING, STALE, FAST],
        (0, 0, 0),
        &["fast"],
        Handler::Node(time),
    )
    .doc("server", "Return the current server time", "2.6.0", "O(1)"),
];

/// `DEBUG DIGEST`: a 40-hex digest of every key and value this node
/// stores, whatever shard it belongs to and whichever role this node plays
/// in it (40 zeros when empty, as Redis). Replicas of the same shards that
/// applied the same entries give the same digest, which is how tests check
/// that replicas converged.
///
/// `DEBUG DIGEST-VALUE key …`: one digest per key of its value as this
/// node's engine holds it (40 zeros for a missing key), as in Redis; tests
/// use it to find which keys two diverging replicas disagree on.
///
/// `DEBUG FAILPOINT …`: fault injection at the log's and engine's write
/// and fsync sites ([`failpoint`]), with the same permission.
///
/// `DEBUG REDRAFT-CORRUPT SET key value | DEL key`: writes (a string) or
/// deletes `key` in **this node's** engine only, behind Raft's back, so
/// tests can make one replica diverge and watch anti-entropy repair it.
/// Allowed only as `--enable-debug-command` says (Redis's option and
/// error; off by default). DIGEST, which changes nothing, is always
/// allowed. Other DEBUG subcommands are not supported.
fn debug(s: &mut Session, node: &Node, args: &[Bytes]) -> Reply {
    if is(&args[1], "REDRAFT-CORRUPT") {
        return debug_corrupt(s, node, args);
    }
    if is(&args[1], "FAILPOINT") {
        if !node.config.enable_debug_command.allows(s.handle.addr) {
            return Reply::error(DEBUG_NOT_ALLOWED);
        }
        return failpoint::debug_failpoint(&args[2..]);
    }
    if is(&args[1], "DIGEST-VALUE") {
        return digest_values(node, &args[2..]);
    }
    if !is(&args[1], "DIGEST") {
        return Reply::error(format!(
            "ERR DEBUG subcommand '{}' is not supported by redraft (only DIGEST, DIGEST-VALUE, \
             FAILPOINT and REDRAFT-CORRUPT)",
            String::from_utf8_lossy(&args[1])
        ));
    }
    if args.len() != 2 {
        return err_syntax();
    }
    match data_digest(&*node.engine) {
        Ok(d) => Reply::Status(Bytes::from(d)),
        Err(e) => crate::keyspace::KsError::from(e).into(),
    }
}

/// See [`debug`]: each key's value in Redis's serialization (DUMP's
/// payload, TTL included), digested like [`data_digest`].
fn digest_values(node: &Node, keys: &[Bytes]) -> Reply {
    let now = crate::clock::now_ms();
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let obj = match crate::keyspace::rdb::read_object(&*node.engine, key, now) {
            Ok(o) => o,
            Err(e) => return e.into(),
        };
        let digest = match obj {
            None => "0".repeat(40),
            Some(o) => hex_digest(&[&crate::keyspace::rdb::encode(&o)]),
        };
        out.push(Reply::Status(Bytes::from(digest)));
    }
    Reply::Array(out)
}

/// 40 hex digits from three seeded hashes of `parts`.
fn hex_digest(parts: &[&[u8]]) -> String {
    use std::hash::{Hash, Hasher};
    let mut out = String::with_capacity(48);
    for seed in 0u8..3 {
        let mut h = std::hash::DefaultHasher::new();
        seed.hash(&mut h);
        for p in parts {
            p.hash(&mut h);
        }
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out.truncate(40);
    out
}

/// What Redis answers to DEBUG when `enable-debug-command` forbids it.
pub const DEBUG_NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command \
     option is set to \"local\", you can run it from a local connection, otherwise you need to set \
     this option in the configuration file, and then restart the server.";

/// See [`debug`].
fn debug_corrupt(s: &Session, node: &Node, args: &[Bytes]) -> Reply {
    use crate::keyspace::{meta_key, Meta};
    if !node.config.enable_debug_command.allows(s.handle.addr) {
        return Reply::error(DEBUG_NOT_ALLOWED);
    }
    let usage =
        || Reply::error("ERR syntax error: DEBUG REDRAFT-CORRUPT SET <key> <value> | DEL <key>");
    let (set, key) = match (args.get(2), args.len()) {
        (Some(op), 5) if is(op, "SET") => (true, &args[3]),
        (Some(op), 4) if is(op, "DEL") => (false, &args[3]),
        _ => return usage(),
    };
    let slot = redraft_cluster::key_slot(key);
    if !node
        .shard_of_key(key)
        .is_some_and(|shard| node.raft.hosts(shard))
    {
        return Reply::error(format!("ERR this node holds no replica of slot {slot}"));
    }
    let mk = meta_key(key);
    let mut batch = crate::engine::WriteBatch::new();
    let existed = match node.engine.get(&mk) {
        Ok(v) => v.is_some(),
        Err(e) => return crate::keyspace::KsError::from(e).into(),
    };
    if set {
        batch.put(mk, Meta::string(args[4].to_vec(), 0).encode());
    } else {
        batch.delete(mk);
    }
    if let Err(e) = node.engine.write(batch) {
        return crate::keyspace::KsError::from(e).into();
    }
    tracing::warn!(
        slot,
        op = if set { "SET" } else { "DEL" },
        "DEBUG REDRAFT-CORRUPT changed this replica's data behind Raft's back"
    );
    if set {
        Reply::ok()
    } else {
        Reply::Integer(i64::from(existed))
    }
}

/// See [`debug`]: three keyed SipHash passes over every data pair in key
/// order, printed as 40 hex digits.
pub fn data_digest(kv: &dyn crate::engine::Engine) -> std::io::Result<String> {
    use std::hash::{Hash, Hasher};
    let mut hashers: Vec<std::hash::DefaultHasher> = (0u8..3)
        .map(|seed| {
            let mut h = std::hash::DefaultHasher::new();
            seed.hash(&mut h);
            h
        })
        .collect();
    let mut any = false;
    for pair in kv.scan(crate::keyspace::all_data_range()) {
        let (k, v) = pair?;
        // WATCH stamps are bookkeeping, not data.
        if crate::keyspace::is_bookkeeping(&k) {
            continue;
        }
        any = true;
        for h in &mut hashers {
            k.hash(h);
            v.hash(h);
        }
    }
    if !any {
        return Ok("0".repeat(40));
    }
    let mut out: String = hashers
        .iter()
        .map(|h| format!("{:016x}", h.finish()))
        .collect();
    out.truncate(40);
    Ok(out)
}

/// `INFO [section …]`: verbatim text in RESP3, a bulk string in RESP2.
fn info(_s: &mut Session, node: &Node, args: &[Bytes]) -> Reply {
    Reply::Verbatim("txt", Bytes::from(crate::info::render(node, &args[1..])))
}

fn dbsize(ctx: &mut ReadCtx<'_>, _args: &[Bytes]) -> Reply {
    let view = match ctx.node() {
        Ok(node) => node.served_view(ctx.readonly),
        Err(e) => return e,
    };
    match crate::info::keyspace_stats(&view, ctx.now_ms) {
        Ok(ks) => Reply::Integer(ks.keys as i64),
        Err(e) => crate::keyspace::KsError::from(e).into(),
    }
}

/// `TIME`: Unix seconds and the microseconds within the second.
fn time(_s: &mut Session, _n: &Node, _args: &[Bytes]) -> Reply {
    let us = crate::clock::now_us();
    Reply::Array(vec![
        Reply::bulk((us / 1_000_000).to_string()),
        Reply::bulk((us % 1_000_000).to_string()),
    ])
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: every acknowledged write
/// is already durable in the Raft log, so SAVE/NOSAVE change nothing; the
/// engine is synced on the way out. As in Redis, success closes the
/// connection without a reply.
fn shutdown(s: &mut Session, node: &Node, args: &[Bytes]) -> Reply {
    let (mut save, mut nosave, mut abort) = (false, false, false);
    for a in &args[1..] {
        if is(a, "NOSAVE") {
            nosave = true;
        } else if is(a, "SAVE") {
            save = true;
        } else if is(a, "NOW") || is(a, "FORCE") {
        } else if is(a, "ABORT") {
            abort = true;
        } else {
            return err_syntax();
        }
    }
    if (save && nosave) || (abort && args.len() > 2) {
        return err_syntax();
    }
    if abort {
        return Reply::error("ERR No shutdown in progress.");
    }
    tracing::info!(client = s.id(), "SHUTDOWN requested by a client");
    node.request_shutdown();
    s.skip_replies = 1;
    s.close_after_reply = true;
    Reply::ok()
}

fn lastsave(_s: &mut Session, node: &Node, _args: &[Bytes]) -> Reply {
    Reply::Integer(node.settings.last_save.load(Ordering::Relaxed) as i64)
}

/// Makes every write so far durable in the engine and records the time.
fn sync_engine(node: &Node) -> Result<(), Reply> {
    node.engine.sync().map_err(|e| {
        tracing::error!("SAVE: engine sync failed: {e}");
        Reply::error(format!("ERR {e}"))
    })?;
    node.settings
        .last_save
        .store(crate::clock::now_ms() / 1000, Ordering::Relaxed);
    node.settings.saves.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

fn save(_s: &mut Session, node: &Node, _args: &[Bytes]) -> Reply {
    match sync_engine(node) {
        Ok(()) => Reply::ok(),
        Err(e) => e,
    }
}

/// `BGSAVE [SCHEDULE]`.
fn bgsave(_s: &mut Session, node: &Node, args: &[Bytes]) -> Reply {
    if args.len() > 2 || (args.len() == 2 && !is(&args[1], "SCHEDULE")) {
        return err_syntax();
    }
    match sync_engine(node) {
        Ok(()) => Reply::status("Background saving started"),
        Err(e) => e,
    }
}

/// `FLUSHALL`/`FLUSHDB [ASYNC|SYNC]`.
fn check_flush(args: &[Bytes]) -> Result<(), Reply> {
    match args {
        [_] => Ok(()),
        [_, mode] if is(mode, "ASYNC") || is(mode, "SYNC") => Ok(()),
        _ => Err(err_syntax()),
    }
}

/// Deletes every key of the shard being applied: one range deletion per
/// slot range it owns.
fn flush(ctx: &mut ApplyCtx<'_, '_>, args: &[Bytes]) -> Reply {
    if let Err(e) = check_flush(args) {
        return e;
    }
    for range in ctx.ranges() {
        if let Err(e) = ctx.ov.delete_range(crate::keyspace::slots_key_range(range)) {
            return crate::keyspace::KsError::from(e).into();
        }
    }
    Reply::ok()
}

#[cfg(test)]
pub(crate) mod testing {
    //! A real node on the memory engine, for handler tests.

    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicU16, Ordering};
    use std::sync::Arc;

    use bytes::{Bytes, BytesMut};
    use clap::Parser;
    use redraft_resp::{Protocol, Reply};

    use crate::config::Config;
    use crate::dispatch::dispatch;
    use crate::node::Node;
    use crate::session::Session;

    pub struct TestNode {
        pub node: Arc<Node>,
        /// Client port of the next session: each gets its own address.
        next_port: AtomicU16,
        _dir: tempfile::TempDir,
    }

    impl TestNode {
        pub fn start(extra: &[&str]) -> TestNode {
            let dir = tempfile::tempdir().expect("temporary folder");
            let path = dir.path().display().to_string();
            let mut argv = vec![
                "redraft", "--port", "7000", "--engine", "memory", "--dir", &path,
            ];
            argv.extend_from_slice(extra);
            let node = Node::open(Config::parse_from(argv)).expect("node opens");
            TestNode {
                node,
                next_port: AtomicU16::new(40000),
                _dir: dir,
            }
        }

        /// A new client session, authenticated if no password is set.
        pub fn session(&self) -> Session {
            let port = self.next_port.fetch_add(1, Ordering::Relaxed);
            let a = SocketAddr::from(([127, 0, 0, 1], port));
            let l: SocketAddr = "127.0.0.1:7000".parse().unwrap();
            let h = self.node.clients.register(a, l);
            Session::new(h, self.node.settings.requirepass().is_none())
        }

        /// Runs one command through dispatch, waiting for a write's reply.
        pub fn call(&self, s: &mut Session, args: &[&str]) -> Reply {
            let args = args
                .iter()
                .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                .collect();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let outcome = dispatch(s, &self.node, args);
            rt.block_on(outcome.resolve(s, &self.node))
        }
    }

    impl Drop for TestNode {
        fn drop(&mut self) {
            self.node.shutdown();
        }
    }

    /// `reply` as `proto` puts it on the wire.
    pub fn wire(reply: &Reply, proto: Protocol) -> String {
        let mut out = BytesMut::new();
        reply.encode(proto, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{wire, TestNode};
    use super::*;
    use redraft_cluster::SlotRange;
    use redraft_resp::Protocol;
    use std::ops::Bound;

    #[test]
    fn key_range_covers_whole_slots() {
        let r = crate::keyspace::slots_key_range(SlotRange::new(0, 16383));
        assert_eq!(r.0, Bound::Included(vec![0, 0]));
        assert_eq!(r.1, Bound::Excluded(vec![0x40, 0]));
        let r = crate::keyspace::slots_key_range(SlotRange::new(5, 5));
        assert_eq!(r.0, Bound::Included(vec![0, 5]));
        assert_eq!(r.1, Bound::Excluded(vec![0, 6]));
    }

    #[test]
    fn flush_arguments() {
        let b = |a: &[&str]| {
            a.iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect::<Vec<_>>()
        };
        assert!(check_flush(&b(&["flushall"])).is_ok());
        assert!(check_flush(&b(&["flushall", "async"])).is_ok());
        assert!(check_flush(&b(&["flushdb", "SYNC"])).is_ok());
        assert_eq!(check_flush(&b(&["flushall", "now"])), Err(err_syntax()));
        assert_eq!(
            check_flush(&b(&["flushall", "sync", "x"])),
            Err(err_syntax())
        );
    }

    #[test]
    fn dbsize_flushall_flushdb() {
        let t = TestNode::start(&["--shards", "3"]);
        let mut s = t.session();
        assert_eq!(t.call(&mut s, &["DBSIZE"]), Reply::Integer(0));
        for k in ["a", "b", "c", "{x}1", "{x}2"] {
            assert_eq!(t.call(&mut s, &["SET", k, "v"]), Reply::ok());
        }
        assert_eq!(t.call(&mut s, &["DBSIZE"]), Reply::Integer(5));
        assert_eq!(t.call(&mut s, &["FLUSHDB", "now"]), err_syntax());
        assert_eq!(t.call(&mut s, &["FLUSHDB", "ASYNC"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["DBSIZE"]), Reply::Integer(0));
        assert_eq!(t.call(&mut s, &["SET", "a", "v"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["FLUSHALL"]), Reply::ok());
        assert_eq!(t.call(&mut s, &["GET", "a"]), Reply::Null);
        assert_eq!(t.call(&mut s, &["DBSIZE"]), Reply::Integer(0));
    }

    #[test]
    fn time_save_lastsave() {
        let t = TestNode::start(&[]);
        let mut s = t.session();
        let Reply::Array(parts) = t.call(&mut s, &["TIME"]) else {
            panic!("TIME is an array")
        };
        let Reply::Bulk(secs) = &parts[0] else {
            panic!()
        };
        let Reply::Bulk(us) = &parts[1] else { panic!() };
        let secs: u64 = std::str::from_utf8(secs).unwrap().parse().unwrap();
        let us: u64 = std::str::from_utf8(us).unwrap().parse().unwrap();
        assert!(secs.abs_diff(crate::clock::now_ms() / 1000) < 5);
        assert!(us < 1_000_000);
        assert_eq!(t.call(&mut s, &["SAVE"]), Reply::ok());
        assert_eq!(
            t.call(&mut s, &["BGSAVE", "SCHEDULE"]),
            Reply::status("Background saving started")
        );
        assert_eq!(t.call(&mut s, &["BGSAVE", "now"]), err_syntax());
        let Reply::Integer(last) = t.call(&mut s, &["LASTSAVE"]) else {
            panic!("LASTSAVE is an integer")
        };
        assert!((last as u64).abs_diff(secs) < 5);
        assert_eq!(t.node.settings.saves.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn info_is_verbatim_in_resp3() {
        let t = TestNode::start(&[]);
        let mut s = t.session();
        let r = t.call(&mut s, &["INFO", "cluster"]);
        assert_eq!(
            wire(&r, Protocol::Resp3),
            "=34\r\ntxt:# Cluster\r\ncluster_enabled:1\r\n\r\n"
        );
        assert_eq!(
            wire(&r, Protocol::Resp2),
            "$30\r\n# Cluster\r\ncluster_enabled:1\r\n\r\n"
        );
    }
}
