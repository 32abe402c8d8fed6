//! The Rust `redis` crate's async cluster client
//! (`redis::cluster_async::ClusterConnection`) against one node: every
//! command of the single-node issue, with exact replies as redis-server
//! 7.0 gives them.
//!
//! Layout, one module per command family (in `cluster_client/`):
//! `connection` (PING … RESET, AUTH against a `requirepass` node),
//! `server` (INFO, DBSIZE, TIME, CONFIG, FLUSH*, COMMAND …), `strings`,
//! `keys` (including the EXPIRE family, KEYS, SCAN, RANDOMKEY) and
//! `cluster` (CLUSTER …, READONLY/READWRITE/ASKING, CROSSSLOT). Tests are
//! named after the Redis 7.0 test cases they follow (`tests/unit/…tcl`)
//! where one exists.
//!
//! Commands go through the cluster client, which routes keyless commands
//! to one or all masters (here: the one node). Commands about the
//! connection itself (QUIT, RESET, HELLO SETNAME, SELECT, AUTH after the
//! fact) use a plain connection of the same crate, as a cluster client
//! cannot say which of its connections they would act on; so do the
//! CROSSSLOT checks, which the cluster client would avoid by splitting
//! the command.
//!
//! Each test starts its own node. Run against real Redis to check the
//! expectations: `REDRAFT_TEST_SERVER=redis-server cargo test -p
//! redraft-integration --test cluster_client`. Where redraft differs on
//! purpose, the test says so and branches on [`Server`].

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::Value;
use redraft_integration::client::*;
use redraft_integration::{wait_until_async, NodeOpts, Server, TestNode};

/// Asserts one command's reply: `check!(conn, ["SET", "k", "v"], ok())`.
macro_rules! check {
    ($c:expr, [$($a:expr),+ $(,)?], $expect:expr) => {{
        let args: &[&str] = &[$($a),+];
        let got = q(&mut $c, args).await;
        assert_eq!(got, $expect, "{}", args.join(" "));
    }};
}

/// Asserts that an integer reply lies in a range.
macro_rules! check_in {
    ($c:expr, [$($a:expr),+ $(,)?], $range:expr) => {{
        let args: &[&str] = &[$($a),+];
        let got = as_int(&q(&mut $c, args).await);
        assert!($range.contains(&got), "{}: {got} not in {:?}", args.join(" "), $range);
    }};
}

// A test crate's root resolves `mod x;` beside itself, so the family
// files under `cluster_client/` are named by path.
#[path = "cluster_client/cluster.rs"]
mod cluster;
#[path = "cluster_client/connection.rs"]
mod connection;
#[path = "cluster_client/keys.rs"]
mod keys;
#[path = "cluster_client/server.rs"]
mod server;
#[path = "cluster_client/strings.rs"]
mod strings;

/// A node with default options and a cluster client connected to it.
async fn setup() -> (TestNode, ClusterConnection) {
    setup_with(NodeOpts::new()).await
}

async fn setup_with(opts: NodeOpts) -> (TestNode, ClusterConnection) {
    let node = TestNode::start(opts);
    let mut b = builder(&node);
    if let Some(pw) = node.requirepass() {
        b = b.password(pw);
    }
    let conn = connect(b)
        .await
        .unwrap_or_else(|e| panic!("cluster client cannot connect: {e}"));
    (node, conn)
}

/// A cluster client builder seeded with `node` (5 s timeouts, 2 retries).
fn builder(node: &TestNode) -> ClusterClientBuilder {
    redis::cluster::ClusterClient::builder(vec![node.url()])
        .connection_timeout(Duration::from_secs(5))
        .response_timeout(Duration::from_secs(5))
        .retries(2)
}

/// Builds the client and connects; the error as [`error_text`] gives it.
async fn connect(b: ClusterClientBuilder) -> Result<ClusterConnection, String> {
    let client = b.build().map_err(|e| error_text(&e))?;
    client
        .get_async_connection()
        .await
        .map_err(|e| error_text(&e))
}

/// The text of a string-like reply; a keyless command that the cluster
/// client sends to every master (INFO) comes back as a map from node
/// address to reply, which for one node holds exactly one entry.
fn text_of(r: &Reply) -> String {
    fn leaf(v: &Value) -> String {
        match v {
            Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            Value::VerbatimString { text, .. } => text.clone(),
            Value::SimpleString(s) => s.clone(),
            Value::Map(entries) if entries.len() == 1 => leaf(&entries[0].1),
            other => panic!("expected a string, got {other:?}"),
        }
    }
    match r {
        Ok(v) => leaf(v),
        Err(e) => panic!("expected a string, got the error {e}"),
    }
}

/// `INFO args…` as text.
async fn info<C: redis::aio::ConnectionLike>(c: &mut C, args: &[&str]) -> String {
    let mut all = vec!["INFO"];
    all.extend_from_slice(args);
    text_of(&q(c, &all).await)
}

/// The value of `name:value` in INFO-style text.
fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.split("\r\n")
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
}

/// The bulk strings of an array reply.
fn strings_of(r: &Reply) -> Vec<String> {
    match r {
        Ok(Value::Array(items)) | Ok(Value::Set(items)) => items
            .iter()
            .map(|v| match v {
                Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("expected bulk strings, got {other:?} in {r:?}"),
            })
            .collect(),
        other => panic!("expected an array, got {other:?}"),
    }
}

/// A map reply (RESP3 map, or RESP2 flat array of pairs) keyed by text.
fn pairs_of(r: &Reply) -> Vec<(String, Value)> {
    let key = |v: &Value| match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        other => panic!("expected a string key, got {other:?}"),
    };
    match r {
        Ok(Value::Map(entries)) => entries.iter().map(|(k, v)| (key(k), v.clone())).collect(),
        Ok(Value::Array(flat)) if flat.len() % 2 == 0 => flat
            .chunks(2)
            .map(|kv| (key(&kv[0]), kv[1].clone()))
            .collect(),
        other => panic!("expected a map, got {other:?}"),
    }
}

/// Every key SCAN returns, following the cursor to 0 (bounded).
async fn scan_all<C: redis::aio::ConnectionLike>(c: &mut C, extra: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut keys = Vec::new();
    for _ in 0..10_000 {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(extra);
        let reply = q(c, &args).await;
        let Ok(Value::Array(parts)) = &reply else {
            panic!("SCAN {extra:?}: {reply:?}");
        };
        let [Value::BulkString(next), batch] = parts.as_slice() else {
            panic!("SCAN {extra:?}: bad shape {parts:?}");
        };
        keys.extend(strings_of(&Ok(batch.clone())));
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            return keys;
        }
    }
    panic!("SCAN never returned cursor 0");
}

/// Waits (10 s at most) until the wall clock passes `unix_ms`, so that a
/// key whose expiry is `unix_ms` has expired on the node's clock too.
async fn wait_past(unix_ms_at: i64) {
    let passed = wait_until_async(Instant::now() + Duration::from_secs(10), || async move {
        unix_ms() > unix_ms_at + 5
    })
    .await;
    assert!(passed, "the clock did not pass {unix_ms_at}");
}
