//! The Rust `redis` crate's async cluster client against one node: string
//! and key commands with exact replies, as redis-server 7.0 gives them.
//!
//! Each test starts its own node. Run against real Redis to check the
//! expectations: `REDRAFT_TEST_SERVER=redis-server cargo test -p
//! redraft-integration --test cluster_client`.

use std::collections::BTreeSet;

use redis::cluster_async::ClusterConnection;
use redis::Value;
use redraft_integration::client::*;
use redraft_integration::{NodeOpts, TestNode};

async fn setup() -> (TestNode, ClusterConnection) {
    let node = TestNode::start(NodeOpts::new());
    let conn = node
        .cluster_conn()
        .await
        .unwrap_or_else(|e| panic!("cluster client cannot connect: {}", error_text(&e)));
    (node, conn)
}

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

#[tokio::test]
async fn cluster_client_routes_keys_in_every_slot_range() {
    let (_node, mut c) = setup().await;
    let keys: Vec<String> = (0..200).map(|i| format!("route:{i}")).collect();
    for k in &keys {
        check!(c, ["SET", k, k], ok());
    }
    for k in &keys {
        check!(c, ["GET", k], bulk(k));
    }
}

#[tokio::test]
async fn set_get_basics() {
    let (_node, mut c) = setup().await;
    check!(c, ["GET", "s:missing"], nil());
    check!(c, ["SET", "s:k", "v"], ok());
    check!(c, ["GET", "s:k"], bulk("v"));
    check!(c, ["SET", "s:k", ""], ok());
    check!(c, ["GET", "s:k"], bulk(""));
    let binary = [0u8, 1, 2, b'\r', b'\n', 255];
    assert_eq!(q(&mut c, &[&b"SET"[..], b"s:bin", &binary]).await, ok());
    assert_eq!(q(&mut c, &[&b"GET"[..], b"s:bin"]).await, bulk(binary));
    check!(c, ["SET", "s:k"], err("ERR wrong number of arguments for 'set' command"));
    check!(c, ["GET", "s:k", "extra"], err("ERR wrong number of arguments for 'get' command"));
    check!(c, ["SET", "s:k", "v", "BOGUS"], err("ERR syntax error"));
}

#[tokio::test]
async fn set_nx_xx_get() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "nx:k", "1", "NX"], ok());
    check!(c, ["SET", "nx:k", "2", "NX"], nil());
    check!(c, ["GET", "nx:k"], bulk("1"));
    check!(c, ["SET", "nx:k", "3", "XX"], ok());
    check!(c, ["GET", "nx:k"], bulk("3"));
    check!(c, ["SET", "nx:none", "3", "XX"], nil());
    check!(c, ["EXISTS", "nx:none"], int(0));
    check!(c, ["SET", "nx:k", "4", "NX", "XX"], err("ERR syntax error"));
    // GET returns the old value (nil when there was none).
    check!(c, ["SET", "nx:k", "5", "GET"], bulk("3"));
    check!(c, ["SET", "nx:g", "1", "GET"], nil());
    check!(c, ["GET", "nx:g"], bulk("1"));
    // NX GET (7.0): the old value, and no write when the key exists.
    check!(c, ["SET", "nx:k", "6", "NX", "GET"], bulk("5"));
    check!(c, ["GET", "nx:k"], bulk("5"));
    check!(c, ["SET", "nx:new", "1", "NX", "GET"], nil());
    check!(c, ["GET", "nx:new"], bulk("1"));
    check!(c, ["SET", "nx:k", "7", "XX", "GET"], bulk("5"));
    check!(c, ["SET", "nx:none2", "7", "XX", "GET"], nil());
    check!(c, ["EXISTS", "nx:none2"], int(0));
    // Options are case-insensitive.
    check!(c, ["SET", "nx:k", "8", "xx", "get"], bulk("7"));
}

#[tokio::test]
async fn set_expiry_options() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "ex:k", "v", "EX", "100"], ok());
    check_in!(c, ["TTL", "ex:k"], 99..=100);
    check!(c, ["SET", "ex:k", "v", "PX", "100000"], ok());
    check_in!(c, ["PTTL", "ex:k"], 95_000..=100_000);
    // KEEPTTL keeps it, a plain SET drops it.
    check!(c, ["SET", "ex:k", "v2", "KEEPTTL"], ok());
    check_in!(c, ["PTTL", "ex:k"], 95_000..=100_000);
    check!(c, ["GET", "ex:k"], bulk("v2"));
    check!(c, ["SET", "ex:k", "v3"], ok());
    check!(c, ["TTL", "ex:k"], int(-1));
    let at = (unix_secs() + 200).to_string();
    check!(c, ["SET", "ex:k", "v", "EXAT", &at], ok());
    check_in!(c, ["TTL", "ex:k"], 198..=200);
    let pat = (unix_ms() + 300_000).to_string();
    check!(c, ["SET", "ex:k", "v", "PXAT", &pat], ok());
    check_in!(c, ["TTL", "ex:k"], 298..=300);
    for bad in ["0", "-1"] {
        check!(c, ["SET", "ex:k", "v", "EX", bad], err("ERR invalid expire time in 'set' command"));
        check!(c, ["SET", "ex:k", "v", "PX", bad], err("ERR invalid expire time in 'set' command"));
    }
    check!(
        c,
        ["SET", "ex:k", "v", "EX", "9223372036854775807"],
        err("ERR invalid expire time in 'set' command")
    );
    check!(c, ["SET", "ex:k", "v", "EX", "abc"], err("ERR value is not an integer or out of range"));
    check!(c, ["SET", "ex:k", "v", "EX", "1.5"], err("ERR value is not an integer or out of range"));
    check!(c, ["SET", "ex:k", "v", "EX"], err("ERR syntax error"));
    check!(c, ["SET", "ex:k", "v", "EX", "10", "PX", "100"], err("ERR syntax error"));
    check!(c, ["SET", "ex:k", "v", "KEEPTTL", "EX", "10"], err("ERR syntax error"));
    // Repeating the same option is accepted (7.0).
    check!(c, ["SET", "ex:k", "v", "EX", "300", "EX", "300"], ok());
    // A failed SET changed nothing.
    check_in!(c, ["TTL", "ex:k"], 290..=300);
    check!(c, ["GET", "ex:k"], bulk("v"));
}

#[tokio::test]
async fn expired_keys_disappear() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "gone:k", "v", "PX", "50"], ok());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut gone = false;
    while !gone && std::time::Instant::now() < deadline {
        gone = q(&mut c, &["GET", "gone:k"]).await == nil();
        if !gone {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    assert!(gone, "a key SET with PX 50 was still there after 10 s");
    check!(c, ["EXISTS", "gone:k"], int(0));
    check!(c, ["TTL", "gone:k"], int(-2));
    // An expiry in the past deletes at once.
    check!(c, ["SET", "gone:k2", "v", "PXAT", "1"], ok());
    check!(c, ["GET", "gone:k2"], nil());
}

#[tokio::test]
async fn mset_mget_with_hash_tags() {
    let (node, mut c) = setup().await;
    check!(c, ["MSET", "{user1}:a", "1", "{user1}:b", "2"], ok());
    check!(
        c,
        ["MGET", "{user1}:a", "{user1}:b", "{user1}:c"],
        array(&[Some("1"), Some("2"), None])
    );
    check!(c, ["MSET", "{user1}:a", "x", "{user1}:a", "y"], ok());
    check!(c, ["GET", "{user1}:a"], bulk("y"));
    check!(c, ["MSET", "{user1}:a"], err("ERR wrong number of arguments for 'mset' command"));
    check!(c, ["MSET", "{user1}:a", "1", "{user1}:b"], err("ERR wrong number of arguments for 'mset' command"));
    check!(c, ["MSETNX", "{user1}:a", "1", "{user1}:n"], err("ERR wrong number of arguments for 'msetnx' command"));
    check!(c, ["MSETNX", "{user1}:n1", "1", "{user1}:a", "2"], int(0));
    check!(c, ["EXISTS", "{user1}:n1"], int(0));
    check!(c, ["MSETNX", "{user1}:n1", "1", "{user1}:n2", "2"], int(1));
    check!(c, ["MGET", "{user1}:n1", "{user1}:n2"], array(&[Some("1"), Some("2")]));
    // Keys in different slots: the server itself refuses (a plain
    // connection, so the client cannot split the command).
    let mut plain = node.conn().await;
    let crossslot = err("CROSSSLOT Keys in request don't hash to the same slot");
    assert_eq!(q(&mut plain, &["MSET", "a", "1", "b", "2"]).await, crossslot);
    assert_eq!(q(&mut plain, &["MGET", "a", "b"]).await, crossslot);
    assert_eq!(q(&mut plain, &["DEL", "a", "b"]).await, crossslot);
}

#[tokio::test]
async fn incr_family() {
    let (_node, mut c) = setup().await;
    check!(c, ["INCR", "n:c"], int(1));
    check!(c, ["INCR", "n:c"], int(2));
    check!(c, ["INCRBY", "n:c", "10"], int(12));
    check!(c, ["DECR", "n:c"], int(11));
    check!(c, ["DECRBY", "n:c", "5"], int(6));
    check!(c, ["INCRBY", "n:c", "-6"], int(0));
    check!(c, ["DECR", "n:new"], int(-1));
    check!(c, ["GET", "n:c"], bulk("0"));
    check!(c, ["SET", "n:c", "41"], ok());
    check!(c, ["INCR", "n:c"], int(42));
    check!(c, ["SET", "n:max", "9223372036854775807"], ok());
    check!(c, ["INCR", "n:max"], err("ERR increment or decrement would overflow"));
    check!(c, ["SET", "n:min", "-9223372036854775808"], ok());
    check!(c, ["DECR", "n:min"], err("ERR increment or decrement would overflow"));
    check!(c, ["DECRBY", "n:c", "-9223372036854775808"], err("ERR decrement would overflow"));
    check!(c, ["INCRBY", "n:c", "abc"], err("ERR value is not an integer or out of range"));
    check!(c, ["INCRBY", "n:c", "1.0"], err("ERR value is not an integer or out of range"));
    for bad in ["abc", " 1", "1 ", "01", "+1", "1.0", "", "99999999999999999999"] {
        check!(c, ["SET", "n:s", bad], ok());
        check!(c, ["INCR", "n:s"], err("ERR value is not an integer or out of range"));
    }
    // INCR keeps the TTL.
    check!(c, ["SET", "n:t", "5", "EX", "100"], ok());
    check!(c, ["INCR", "n:t"], int(6));
    check_in!(c, ["TTL", "n:t"], 99..=100);
    check!(c, ["INCR"], err("ERR wrong number of arguments for 'incr' command"));
    check!(c, ["INCRBY", "n:c"], err("ERR wrong number of arguments for 'incrby' command"));
}

#[tokio::test]
async fn incrbyfloat() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "f:k", "10.50"], ok());
    check!(c, ["INCRBYFLOAT", "f:k", "0.1"], bulk("10.6"));
    check!(c, ["INCRBYFLOAT", "f:k", "-5"], bulk("5.6"));
    check!(c, ["GET", "f:k"], bulk("5.6"));
    check!(c, ["SET", "f:k", "5.0e3"], ok());
    check!(c, ["INCRBYFLOAT", "f:k", "2.0e2"], bulk("5200"));
    check!(c, ["INCRBYFLOAT", "f:new", "3"], bulk("3"));
    check!(c, ["INCRBYFLOAT", "f:new", "-3"], bulk("0"));
    check!(c, ["INCRBYFLOAT", "f:new", "1e-3"], bulk("0.001"));
    check!(c, ["INCRBYFLOAT", "f:k", "abc"], err("ERR value is not a valid float"));
    check!(c, ["INCRBYFLOAT", "f:k", "inf"], err("ERR increment would produce NaN or Infinity"));
    check!(c, ["INCRBYFLOAT", "f:k", "nan"], err("ERR value is not a valid float"));
    check!(c, ["SET", "f:s", "abc"], ok());
    check!(c, ["INCRBYFLOAT", "f:s", "1"], err("ERR value is not a valid float"));
    check!(c, ["SET", "f:i", "3"], ok());
    check!(c, ["INCRBYFLOAT", "f:i", "0.5"], bulk("3.5"));
    // INCR on a float string fails.
    check!(c, ["INCR", "f:i"], err("ERR value is not an integer or out of range"));
    // Keeps the TTL.
    check!(c, ["SET", "f:t", "1", "EX", "100"], ok());
    check!(c, ["INCRBYFLOAT", "f:t", "1"], bulk("2"));
    check_in!(c, ["TTL", "f:t"], 99..=100);
}

#[tokio::test]
async fn append_and_strlen() {
    let (_node, mut c) = setup().await;
    check!(c, ["APPEND", "a:k", "Hello"], int(5));
    check!(c, ["APPEND", "a:k", " World"], int(11));
    check!(c, ["GET", "a:k"], bulk("Hello World"));
    check!(c, ["STRLEN", "a:k"], int(11));
    check!(c, ["STRLEN", "a:missing"], int(0));
    check!(c, ["APPEND", "a:k", ""], int(11));
    check!(c, ["SET", "a:n", "12"], ok());
    check!(c, ["APPEND", "a:n", "3"], int(3));
    check!(c, ["GET", "a:n"], bulk("123"));
    check!(c, ["INCR", "a:n"], int(124));
    check!(c, ["STRLEN", "a:n"], int(3));
    check!(c, ["APPEND", "a:e", ""], int(0));
    check!(c, ["EXISTS", "a:e"], int(1));
    // APPEND keeps the TTL.
    check!(c, ["SET", "a:t", "x", "EX", "100"], ok());
    check!(c, ["APPEND", "a:t", "y"], int(2));
    check_in!(c, ["TTL", "a:t"], 99..=100);
}

#[tokio::test]
async fn getrange_and_setrange() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "r:k", "This is a string"], ok());
    check!(c, ["GETRANGE", "r:k", "0", "3"], bulk("This"));
    check!(c, ["GETRANGE", "r:k", "-3", "-1"], bulk("ing"));
    check!(c, ["GETRANGE", "r:k", "0", "-1"], bulk("This is a string"));
    check!(c, ["GETRANGE", "r:k", "10", "100"], bulk("string"));
    check!(c, ["GETRANGE", "r:k", "5", "3"], bulk(""));
    check!(c, ["GETRANGE", "r:k", "100", "200"], bulk(""));
    // 7.0 clamps a negative end to 0 (8.0 returns "").
    check!(c, ["GETRANGE", "r:k", "-100", "-50"], bulk("T"));
    check!(c, ["GETRANGE", "r:missing", "0", "1"], bulk(""));
    check!(c, ["GETRANGE", "r:k", "0", "abc"], err("ERR value is not an integer or out of range"));
    check!(c, ["SUBSTR", "r:k", "0", "3"], bulk("This"));

    check!(c, ["SET", "r:s", "Hello World"], ok());
    check!(c, ["SETRANGE", "r:s", "6", "Redis"], int(11));
    check!(c, ["GET", "r:s"], bulk("Hello Redis"));
    check!(c, ["SETRANGE", "r:s", "11", "!"], int(12));
    check!(c, ["GET", "r:s"], bulk("Hello Redis!"));
    check!(c, ["SETRANGE", "r:pad", "5", "Hi"], int(7));
    check!(c, ["GET", "r:pad"], bulk(b"\0\0\0\0\0Hi"));
    check!(c, ["SETRANGE", "r:s", "-1", "x"], err("ERR offset is out of range"));
    check!(
        c,
        ["SETRANGE", "r:s", "536870911", "xx"],
        err("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    );
    check!(c, ["SETRANGE", "r:s", "abc", "x"], err("ERR value is not an integer or out of range"));
    // An empty write to a missing key creates nothing.
    check!(c, ["SETRANGE", "r:none", "10", ""], int(0));
    check!(c, ["EXISTS", "r:none"], int(0));
    check!(c, ["SETRANGE", "r:s", "100", ""], int(12));
    check!(c, ["STRLEN", "r:s"], int(12));
}

#[tokio::test]
async fn getdel_and_getex() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "g:k", "v"], ok());
    check!(c, ["GETDEL", "g:k"], bulk("v"));
    check!(c, ["GET", "g:k"], nil());
    check!(c, ["GETDEL", "g:k"], nil());

    check!(c, ["SET", "g:e", "v"], ok());
    check!(c, ["GETEX", "g:e"], bulk("v"));
    check!(c, ["TTL", "g:e"], int(-1));
    check!(c, ["GETEX", "g:e", "EX", "100"], bulk("v"));
    check_in!(c, ["TTL", "g:e"], 99..=100);
    check!(c, ["GETEX", "g:e", "PERSIST"], bulk("v"));
    check!(c, ["TTL", "g:e"], int(-1));
    check!(c, ["GETEX", "g:e", "PX", "50000"], bulk("v"));
    check_in!(c, ["PTTL", "g:e"], 45_000..=50_000);
    let at = (unix_secs() + 200).to_string();
    check!(c, ["GETEX", "g:e", "EXAT", &at], bulk("v"));
    check_in!(c, ["TTL", "g:e"], 198..=200);
    let pat = (unix_ms() + 300_000).to_string();
    check!(c, ["GETEX", "g:e", "PXAT", &pat], bulk("v"));
    check_in!(c, ["TTL", "g:e"], 298..=300);
    check!(c, ["GETEX", "g:missing", "EX", "100"], nil());
    check!(c, ["EXISTS", "g:missing"], int(0));
    check!(c, ["GETEX", "g:e", "EX", "0"], err("ERR invalid expire time in 'getex' command"));
    check!(c, ["GETEX", "g:e", "EX", "-5"], err("ERR invalid expire time in 'getex' command"));
    check!(c, ["GETEX", "g:e", "EX", "10", "PX", "10"], err("ERR syntax error"));
    check!(c, ["GETEX", "g:e", "PERSIST", "EX", "10"], err("ERR syntax error"));
    check!(c, ["GETEX", "g:e", "EX"], err("ERR syntax error"));
    check!(c, ["GETEX", "g:e", "EX", "x"], err("ERR value is not an integer or out of range"));
    check_in!(c, ["TTL", "g:e"], 290..=300);
}

#[tokio::test]
async fn del_exists_type_touch() {
    let (_node, mut c) = setup().await;
    check!(c, ["MSET", "{t}a", "1", "{t}b", "2", "{t}c", "3"], ok());
    check!(c, ["EXISTS", "{t}a", "{t}a", "{t}b", "{t}z"], int(3));
    check!(c, ["TOUCH", "{t}a", "{t}b", "{t}z"], int(2));
    check!(c, ["TYPE", "{t}a"], status("string"));
    check!(c, ["TYPE", "{t}z"], status("none"));
    check!(c, ["DEL", "{t}a", "{t}b", "{t}z", "{t}a"], int(2));
    check!(c, ["EXISTS", "{t}a", "{t}b", "{t}c"], int(1));
    check!(c, ["UNLINK", "{t}c"], int(1));
    check!(c, ["EXISTS", "{t}c"], int(0));
    check!(c, ["DEL", "{t}c"], int(0));
}

#[tokio::test]
async fn expire_ttl_persist() {
    let (_node, mut c) = setup().await;
    check!(c, ["TTL", "e:missing"], int(-2));
    check!(c, ["PTTL", "e:missing"], int(-2));
    check!(c, ["EXPIRE", "e:missing", "100"], int(0));
    check!(c, ["SET", "e:k", "v"], ok());
    check!(c, ["TTL", "e:k"], int(-1));
    check!(c, ["PTTL", "e:k"], int(-1));
    check!(c, ["PERSIST", "e:k"], int(0));
    check!(c, ["EXPIRE", "e:k", "100"], int(1));
    check_in!(c, ["TTL", "e:k"], 99..=100);
    check_in!(c, ["PTTL", "e:k"], 95_000..=100_000);
    check!(c, ["PERSIST", "e:k"], int(1));
    check!(c, ["TTL", "e:k"], int(-1));
    // NX / XX / GT / LT (7.0).
    check!(c, ["EXPIRE", "e:k", "100", "XX"], int(0));
    check!(c, ["EXPIRE", "e:k", "100", "NX"], int(1));
    check!(c, ["EXPIRE", "e:k", "200", "NX"], int(0));
    check!(c, ["EXPIRE", "e:k", "200", "XX"], int(1));
    check!(c, ["EXPIRE", "e:k", "50", "GT"], int(0));
    check!(c, ["EXPIRE", "e:k", "300", "GT"], int(1));
    check!(c, ["EXPIRE", "e:k", "400", "LT"], int(0));
    check!(c, ["EXPIRE", "e:k", "10", "LT"], int(1));
    check_in!(c, ["TTL", "e:k"], 9..=10);
    check!(c, ["PERSIST", "e:k"], int(1));
    // A key without a TTL counts as infinite for GT and LT.
    check!(c, ["EXPIRE", "e:k", "10", "GT"], int(0));
    check!(c, ["EXPIRE", "e:k", "10", "LT"], int(1));
    check!(
        c,
        ["EXPIRE", "e:k", "10", "NX", "XX"],
        err("ERR NX and XX, GT or LT options at the same time are not compatible")
    );
    check!(
        c,
        ["EXPIRE", "e:k", "10", "GT", "LT"],
        err("ERR GT and LT options at the same time are not compatible")
    );
    check!(c, ["EXPIRE", "e:k", "10", "FOO"], err("ERR Unsupported option FOO"));
    check!(c, ["EXPIRE", "e:k", "abc"], err("ERR value is not an integer or out of range"));
    check!(
        c,
        ["EXPIRE", "e:k", "9223372036854775807"],
        err("ERR invalid expire time in 'expire' command")
    );
    // PEXPIRE, EXPIREAT, PEXPIREAT, EXPIRETIME, PEXPIRETIME.
    check!(c, ["PEXPIRE", "e:k", "100000"], int(1));
    check_in!(c, ["PTTL", "e:k"], 95_000..=100_000);
    let at = unix_secs() + 500;
    check!(c, ["EXPIREAT", "e:k", &at.to_string()], int(1));
    check!(c, ["EXPIRETIME", "e:k"], int(at));
    check!(c, ["PEXPIRETIME", "e:k"], int(at * 1000));
    let pat = unix_ms() + 600_000;
    check!(c, ["PEXPIREAT", "e:k", &pat.to_string()], int(1));
    check!(c, ["PEXPIRETIME", "e:k"], int(pat));
    check!(c, ["EXPIRETIME", "e:missing"], int(-2));
    check!(c, ["SET", "e:p", "v"], ok());
    check!(c, ["EXPIRETIME", "e:p"], int(-1));
    // A non-positive TTL deletes the key.
    check!(c, ["EXPIRE", "e:k", "0"], int(1));
    check!(c, ["EXISTS", "e:k"], int(0));
    check!(c, ["SET", "e:k", "v"], ok());
    check!(c, ["EXPIRE", "e:k", "-1"], int(1));
    check!(c, ["GET", "e:k"], nil());
    check!(c, ["SET", "e:k", "v"], ok());
    check!(c, ["EXPIREAT", "e:k", "1"], int(1));
    check!(c, ["EXISTS", "e:k"], int(0));
}

#[tokio::test]
async fn rename_and_copy() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "{r}a", "1", "EX", "100"], ok());
    check!(c, ["RENAME", "{r}a", "{r}b"], ok());
    check!(c, ["EXISTS", "{r}a"], int(0));
    check!(c, ["GET", "{r}b"], bulk("1"));
    check_in!(c, ["TTL", "{r}b"], 99..=100);
    check!(c, ["RENAME", "{r}missing", "{r}x"], err("ERR no such key"));
    check!(c, ["RENAME", "{r}b", "{r}b"], ok());
    check!(c, ["GET", "{r}b"], bulk("1"));
    // RENAME overwrites, dropping the destination's TTL for the source's.
    check!(c, ["SET", "{r}c", "2", "EX", "500"], ok());
    check!(c, ["SET", "{r}d", "3"], ok());
    check!(c, ["RENAME", "{r}d", "{r}c"], ok());
    check!(c, ["GET", "{r}c"], bulk("3"));
    check!(c, ["TTL", "{r}c"], int(-1));
    check!(c, ["RENAMENX", "{r}b", "{r}c"], int(0));
    check!(c, ["RENAMENX", "{r}b", "{r}e"], int(1));
    check!(c, ["GET", "{r}e"], bulk("1"));
    check!(c, ["RENAMENX", "{r}missing", "{r}f"], err("ERR no such key"));

    check!(c, ["SET", "{c}src", "v", "EX", "100"], ok());
    check!(c, ["COPY", "{c}src", "{c}dst"], int(1));
    check!(c, ["GET", "{c}dst"], bulk("v"));
    check_in!(c, ["TTL", "{c}dst"], 99..=100);
    check!(c, ["SET", "{c}src", "w"], ok());
    check!(c, ["COPY", "{c}src", "{c}dst"], int(0));
    check!(c, ["GET", "{c}dst"], bulk("v"));
    check!(c, ["COPY", "{c}src", "{c}dst", "REPLACE"], int(1));
    check!(c, ["GET", "{c}dst"], bulk("w"));
    check!(c, ["TTL", "{c}dst"], int(-1));
    check!(c, ["COPY", "{c}missing", "{c}dst"], int(0));
    check!(
        c,
        ["COPY", "{c}src", "{c}src"],
        err("ERR source and destination objects are the same")
    );
    check!(c, ["COPY", "{c}src", "{c}dst", "BOGUS"], err("ERR syntax error"));
}

#[tokio::test]
async fn scan_with_a_plain_connection() {
    let node = TestNode::start(NodeOpts::new());
    let mut c = node.conn().await;
    let mut want = BTreeSet::new();
    for i in 0..120 {
        let k = format!("scan:{i}");
        assert_eq!(q(&mut c, &["SET", &k, "v"]).await, ok(), "SET {k}");
        want.insert(k);
    }
    assert_eq!(q(&mut c, &["SET", "other", "v"]).await, ok());

    async fn scan_all(c: &mut redis::aio::MultiplexedConnection, extra: &[&str]) -> Vec<String> {
        let mut cursor = "0".to_string();
        let mut keys = Vec::new();
        for _ in 0..10_000 {
            let mut args = vec!["SCAN", cursor.as_str()];
            args.extend_from_slice(extra);
            let reply = q(c, &args).await;
            let Ok(Value::Array(parts)) = reply else {
                panic!("SCAN {extra:?}: {reply:?}");
            };
            let [Value::BulkString(next), Value::Array(batch)] = parts.as_slice() else {
                panic!("SCAN {extra:?}: bad shape {parts:?}");
            };
            for k in batch {
                match k {
                    Value::BulkString(k) => keys.push(String::from_utf8_lossy(k).into_owned()),
                    other => panic!("SCAN returned {other:?}"),
                }
            }
            cursor = String::from_utf8_lossy(next).into_owned();
            if cursor == "0" {
                return keys;
            }
        }
        panic!("SCAN never returned cursor 0");
    }

    let all: BTreeSet<String> = scan_all(&mut c, &["COUNT", "7"]).await.into_iter().collect();
    let mut want_all = want.clone();
    want_all.insert("other".into());
    assert_eq!(all, want_all);
    let matched: BTreeSet<String> = scan_all(&mut c, &["MATCH", "scan:*"]).await.into_iter().collect();
    assert_eq!(matched, want);
    let typed = scan_all(&mut c, &["MATCH", "scan:1?", "TYPE", "string", "COUNT", "1000"]).await;
    assert_eq!(typed.len(), 10, "{typed:?}");
    let none = scan_all(&mut c, &["TYPE", "list"]).await;
    assert!(none.is_empty(), "{none:?}");
    assert_eq!(q(&mut c, &["SCAN", "abc"]).await, err("ERR invalid cursor"));
    assert_eq!(q(&mut c, &["SCAN", "0", "COUNT", "0"]).await, err("ERR syntax error"));
    assert_eq!(q(&mut c, &["SCAN", "0", "COUNT", "x"]).await, err("ERR value is not an integer or out of range"));
    assert_eq!(q(&mut c, &["SCAN", "0", "BOGUS", "1"]).await, err("ERR syntax error"));
}

#[tokio::test]
async fn cluster_keyslot_slots_info() {
    let node = TestNode::start(NodeOpts::new());
    let mut c = node.conn().await;
    for (key, slot) in [
        ("foo", 12182),
        ("bar", 5061),
        ("", 0),
        ("{user1}:a", 8106),
        ("user1", 8106),
        ("{}a", 10875),
        ("a{}{b}", 15033),
        ("{b", 6215),
        ("{a}b}", 15495),
    ] {
        assert_eq!(q(&mut c, &["CLUSTER", "KEYSLOT", key]).await, int(slot), "KEYSLOT {key:?}");
    }
    let slots = q(&mut c, &["CLUSTER", "SLOTS"]).await;
    let Ok(Value::Array(ranges)) = &slots else {
        panic!("CLUSTER SLOTS: {slots:?}");
    };
    assert_eq!(ranges.len(), 1, "one node owns every slot: {slots:?}");
    let Value::Array(range) = &ranges[0] else {
        panic!("CLUSTER SLOTS: {slots:?}");
    };
    assert_eq!(range[0], Value::Int(0));
    assert_eq!(range[1], Value::Int(16383));
    let Value::Array(master) = &range[2] else {
        panic!("CLUSTER SLOTS: {slots:?}");
    };
    // A lone redis-server does not know its own IP yet and reports "".
    if node.server() == redraft_integration::Server::Redraft {
        assert_eq!(master[0], Value::BulkString(b"127.0.0.1".to_vec()));
    }
    assert_eq!(master[1], Value::Int(i64::from(node.port())));
    let Value::BulkString(id) = &master[2] else {
        panic!("CLUSTER SLOTS: {slots:?}");
    };
    assert_eq!(id.len(), 40);
    assert!(id.iter().all(|b| b.is_ascii_hexdigit()), "node id {id:?}");
    assert_eq!(range.len(), 3, "no replicas: {slots:?}");
    let myid = q(&mut c, &["CLUSTER", "MYID"]).await;
    assert_eq!(myid, Ok(Value::BulkString(id.clone())));

    let info = as_text(&q(&mut c, &["CLUSTER", "INFO"]).await);
    for line in [
        "cluster_state:ok",
        "cluster_slots_assigned:16384",
        "cluster_slots_ok:16384",
        "cluster_known_nodes:1",
        "cluster_size:1",
    ] {
        assert!(info.split("\r\n").any(|l| l == line), "CLUSTER INFO lacks {line}:\n{info}");
    }
    assert_eq!(
        q(&mut c, &["CLUSTER", "KEYSLOT"]).await,
        err("ERR wrong number of arguments for 'cluster|keyslot' command")
    );
    assert_eq!(
        q(&mut c, &["CLUSTER", "NOSUCH"]).await,
        err("ERR unknown subcommand 'NOSUCH'. Try CLUSTER HELP.")
    );
}
