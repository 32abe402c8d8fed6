//! Keys: DEL/UNLINK/EXISTS/TYPE/TOUCH, the EXPIRE family, TTLs, RENAME/RENAMENX/COPY, KEYS/SCAN/RANDOMKEY.

use super::*;

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
    check!(
        c,
        ["EXPIRE", "e:k", "10", "FOO"],
        err("ERR Unsupported option FOO")
    );
    check!(
        c,
        ["EXPIRE", "e:k", "abc"],
        err("ERR value is not an integer or out of range")
    );
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
    check!(
        c,
        ["RENAMENX", "{r}missing", "{r}f"],
        err("ERR no such key")
    );

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
    check!(
        c,
        ["COPY", "{c}src", "{c}dst", "BOGUS"],
        err("ERR syntax error")
    );
}

#[tokio::test]
async fn scan_follows_the_cursor_with_match_count_and_type() {
    let (_node, mut c) = setup().await;
    let mut want = BTreeSet::new();
    for i in 0..120 {
        let k = format!("scan:{i}");
        check!(c, ["SET", &k, "v"], ok());
        want.insert(k);
    }
    check!(c, ["SET", "other", "v"], ok());
    let all: BTreeSet<String> = scan_all(&mut c, &["COUNT", "7"])
        .await
        .into_iter()
        .collect();
    let mut want_all = want.clone();
    want_all.insert("other".into());
    assert_eq!(all, want_all);
    let matched: BTreeSet<String> = scan_all(&mut c, &["MATCH", "scan:*"])
        .await
        .into_iter()
        .collect();
    assert_eq!(matched, want);
    let typed = scan_all(
        &mut c,
        &["MATCH", "scan:1?", "TYPE", "string", "COUNT", "1000"],
    )
    .await;
    assert_eq!(typed.len(), 10, "{typed:?}");
    let none = scan_all(&mut c, &["TYPE", "list"]).await;
    assert!(none.is_empty(), "{none:?}");
    check!(c, ["SCAN", "abc"], err("ERR invalid cursor"));
    check!(c, ["SCAN", "0", "COUNT", "0"], err("ERR syntax error"));
    check!(
        c,
        ["SCAN", "0", "COUNT", "x"],
        err("ERR value is not an integer or out of range")
    );
    check!(c, ["SCAN", "0", "BOGUS", "1"], err("ERR syntax error"));
    check!(c, ["SCAN", "0", "MATCH"], err("ERR syntax error"));
    check!(c, ["SCAN", "0", "TYPE"], err("ERR syntax error"));
}

// -- Redis 7.0 tests/unit/keyspace.tcl --------------------------------------

/// "DEL against a single item", "Vararg DEL", "DEL against expired key";
/// UNLINK is DEL without the wait (lazyfree.tcl).
#[tokio::test]
async fn del_against_a_single_item_and_vararg_del() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "x", "foo"], ok());
    check!(c, ["DEL", "x"], int(1));
    check!(c, ["GET", "x"], nil());
    check!(c, ["SET", "foo1{t}", "a"], ok());
    check!(c, ["SET", "foo2{t}", "b"], ok());
    check!(c, ["SET", "foo3{t}", "c"], ok());
    check!(
        c,
        ["DEL", "foo1{t}", "foo2{t}", "foo3{t}", "foo4{t}"],
        int(3)
    );
    check!(
        c,
        ["MGET", "foo1{t}", "foo2{t}", "foo3{t}"],
        array(&[None, None, None])
    );
    // The cluster client splits a DEL across slots and adds the counts.
    check!(c, ["SET", "a", "1"], ok());
    check!(c, ["SET", "b", "2"], ok());
    check!(c, ["DEL", "a", "b", "c"], int(2));
    let at = unix_ms() + 20;
    check!(c, ["SET", "foo", "bar", "PXAT", &at.to_string()], ok());
    wait_past(at).await;
    check!(c, ["DEL", "foo"], int(0));
    check!(c, ["SET", "u1{u}", "1"], ok());
    check!(c, ["SET", "u2{u}", "2"], ok());
    check!(c, ["UNLINK", "u1{u}", "u2{u}", "u3{u}"], int(2));
    check!(c, ["EXISTS", "u1{u}", "u2{u}"], int(0));
    check!(
        c,
        ["DEL"],
        err("ERR wrong number of arguments for 'del' command")
    );
    check!(
        c,
        ["UNLINK"],
        err("ERR wrong number of arguments for 'unlink' command")
    );
}

/// "KEYS with pattern", "KEYS to get all keys", "DBSIZE", "KEYS with
/// hashtag": the cluster client asks every master and joins the lists.
#[tokio::test]
async fn keys_with_pattern_and_hashtag() {
    let (node, mut c) = setup().await;
    for k in ["key_x", "key_y", "key_z", "foo_a", "foo_b", "foo_c"] {
        check!(c, ["SET", k, "hello"], ok());
    }
    let sorted = |r: Reply| {
        let mut v = strings_of(&r);
        v.sort();
        v
    };
    assert_eq!(
        sorted(q(&mut c, &["KEYS", "foo*"]).await),
        ["foo_a", "foo_b", "foo_c"]
    );
    assert_eq!(
        sorted(q(&mut c, &["KEYS", "*"]).await),
        ["foo_a", "foo_b", "foo_c", "key_x", "key_y", "key_z"]
    );
    check!(c, ["DBSIZE"], int(6));
    for k in ["{a}x", "{a}y", "{a}z", "{b}a", "{b}b", "{b}c"] {
        check!(c, ["SET", k, "hello"], ok());
    }
    assert_eq!(
        sorted(q(&mut c, &["KEYS", "{a}*"]).await),
        ["{a}x", "{a}y", "{a}z"]
    );
    assert_eq!(
        sorted(q(&mut c, &["KEYS", "*{b}*"]).await),
        ["{b}a", "{b}b", "{b}c"]
    );
    assert_eq!(
        sorted(q(&mut c, &["KEYS", "key_[xy]"]).await),
        ["key_x", "key_y"]
    );
    assert_eq!(
        sorted(q(&mut c, &["KEYS", "key_[^x]"]).await),
        ["key_y", "key_z"]
    );
    assert_eq!(
        sorted(q(&mut c, &["KEYS", "\\{a\\}?"]).await),
        ["{a}x", "{a}y", "{a}z"]
    );
    assert!(sorted(q(&mut c, &["KEYS", "nomatch*"]).await).is_empty());
    // The cluster client fans KEYS out and cannot merge the errors: the
    // arity check uses a plain connection.
    let mut p = node.conn().await;
    check!(
        p,
        ["KEYS"],
        err("ERR wrong number of arguments for 'keys' command")
    );
}

/// "EXISTS", "Zero length value in key. SET/GET/EXISTS"; TYPE of a
/// string and of a missing key.
#[tokio::test]
async fn exists_and_type() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "newkey", "test"], ok());
    check!(c, ["EXISTS", "newkey"], int(1));
    check!(c, ["DEL", "newkey"], int(1));
    check!(c, ["EXISTS", "newkey"], int(0));
    check!(c, ["SET", "emptykey", ""], ok());
    check!(c, ["GET", "emptykey"], bulk(""));
    check!(c, ["EXISTS", "emptykey"], int(1));
    check!(c, ["DEL", "emptykey"], int(1));
    check!(c, ["EXISTS", "emptykey"], int(0));
    check!(c, ["SET", "s", "v"], ok());
    check!(c, ["TYPE", "s"], status("string"));
    check!(c, ["TYPE", "nokey"], status("none"));
    check!(
        c,
        ["TYPE", "s", "x"],
        err("ERR wrong number of arguments for 'type' command")
    );
    check!(
        c,
        ["EXISTS"],
        err("ERR wrong number of arguments for 'exists' command")
    );
}

/// "TOUCH returns the number of existing keys specified"
/// (introspection-2.tcl).
#[tokio::test]
async fn touch_returns_the_number_of_existing_keys_specified() {
    let (_node, mut c) = setup().await;
    check!(c, ["MSET", "key1{t}", "1", "key2{t}", "2"], ok());
    check!(
        c,
        ["TOUCH", "key0{t}", "key1{t}", "key2{t}", "key3{t}"],
        int(2)
    );
    check!(c, ["TOUCH", "nokey"], int(0));
    check!(
        c,
        ["TOUCH"],
        err("ERR wrong number of arguments for 'touch' command")
    );
}

/// "RENAME basic usage", "RENAME source key should no longer exist",
/// "RENAME against already existing key", "RENAMENX basic usage",
/// "RENAMENX against already existing key", "RENAMENX against already
/// existing key (2)", "RENAME against non existing source key", "RENAME
/// where source and dest key are the same (existing)", "RENAMENX where
/// source and dest key are the same (existing)", "RENAME where source and
/// dest key are the same (non existing)".
#[tokio::test]
async fn rename_and_renamenx_cases() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "mykey{t}", "hello"], ok());
    check!(c, ["RENAME", "mykey{t}", "mykey1{t}"], ok());
    check!(c, ["RENAME", "mykey1{t}", "mykey2{t}"], ok());
    check!(c, ["GET", "mykey2{t}"], bulk("hello"));
    check!(c, ["EXISTS", "mykey{t}"], int(0));
    check!(c, ["SET", "mykey{t}", "a"], ok());
    check!(c, ["SET", "mykey2{t}", "b"], ok());
    check!(c, ["RENAME", "mykey2{t}", "mykey{t}"], ok());
    check!(
        c,
        ["MGET", "mykey{t}", "mykey2{t}"],
        array(&[Some("b"), None])
    );
    check!(c, ["DEL", "mykey{t}", "mykey2{t}"], int(1));
    check!(c, ["SET", "mykey{t}", "foobar"], ok());
    check!(c, ["RENAMENX", "mykey{t}", "mykey2{t}"], int(1));
    check!(
        c,
        ["MGET", "mykey{t}", "mykey2{t}"],
        array(&[None, Some("foobar")])
    );
    check!(c, ["SET", "mykey{t}", "foo"], ok());
    check!(c, ["SET", "mykey2{t}", "bar"], ok());
    check!(c, ["RENAMENX", "mykey{t}", "mykey2{t}"], int(0));
    check!(
        c,
        ["MGET", "mykey{t}", "mykey2{t}"],
        array(&[Some("foo"), Some("bar")])
    );
    check!(
        c,
        ["RENAME", "nokey{t}", "foobar{t}"],
        err("ERR no such key")
    );
    check!(c, ["RENAME", "mykey{t}", "mykey{t}"], ok());
    check!(c, ["RENAMENX", "mykey{t}", "mykey{t}"], int(0));
    check!(c, ["GET", "mykey{t}"], bulk("foo"));
    check!(
        c,
        ["RENAME", "nokey{t}", "nokey{t}"],
        err("ERR no such key")
    );
    check!(
        c,
        ["RENAME", "mykey{t}"],
        err("ERR wrong number of arguments for 'rename' command")
    );
}

/// "RENAME with volatile key, should move the TTL as well", "RENAME with
/// volatile key, should not inherit TTL of target key".
#[tokio::test]
async fn rename_with_volatile_key() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "mykey{t}", "foo"], ok());
    check!(c, ["EXPIRE", "mykey{t}", "100"], int(1));
    check_in!(c, ["TTL", "mykey{t}"], 95..=100);
    check!(c, ["RENAME", "mykey{t}", "mykey2{t}"], ok());
    check_in!(c, ["TTL", "mykey2{t}"], 95..=100);
    check!(c, ["SET", "mykey{t}", "foo"], ok());
    check!(c, ["SET", "mykey2{t}", "bar"], ok());
    check!(c, ["EXPIRE", "mykey2{t}", "100"], int(1));
    check!(c, ["TTL", "mykey{t}"], int(-1));
    check_in!(c, ["TTL", "mykey2{t}"], 95..=100);
    check!(c, ["RENAME", "mykey{t}", "mykey2{t}"], ok());
    check!(c, ["TTL", "mykey2{t}"], int(-1));
}

/// "COPY basic usage for string", "COPY for string does not replace an
/// existing key without REPLACE option", "COPY for string can replace an
/// existing key with REPLACE option", "COPY for string ensures that
/// copied data is independent of copying data", "COPY for string does not
/// copy data to no-integer DB", "COPY can copy key expire metadata as
/// well", "COPY does not create an expire if it does not exist".
#[tokio::test]
async fn copy_for_string_cases() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "mykey{t}", "foobar"], ok());
    check!(c, ["COPY", "mykey{t}", "mynewkey{t}"], int(1));
    check!(c, ["GET", "mynewkey{t}"], bulk("foobar"));
    check!(c, ["TTL", "mynewkey{t}"], int(-1));
    check!(c, ["SET", "mynewkey{t}", "other"], ok());
    check!(c, ["COPY", "mykey{t}", "mynewkey{t}"], int(0));
    check!(c, ["GET", "mynewkey{t}"], bulk("other"));
    check!(c, ["COPY", "mykey{t}", "mynewkey{t}", "REPLACE"], int(1));
    check!(c, ["GET", "mynewkey{t}"], bulk("foobar"));
    check!(c, ["SET", "mykey{t}", "changed"], ok());
    check!(c, ["GET", "mynewkey{t}"], bulk("foobar"));
    check!(c, ["SET", "mynewkey{t}", "changed too"], ok());
    check!(c, ["GET", "mykey{t}"], bulk("changed"));
    check!(
        c,
        ["COPY", "mykey{t}", "mynewkey{t}", "DB", "notanumber"],
        err("ERR value is not an integer or out of range")
    );
    check!(c, ["SET", "mykey{t}", "foobar", "EX", "100"], ok());
    check!(c, ["COPY", "mykey{t}", "mynewkey{t}", "REPLACE"], int(1));
    check_in!(c, ["TTL", "mynewkey{t}"], 95..=100);
    check!(c, ["GET", "mynewkey{t}"], bulk("foobar"));
    check!(c, ["COPY", "nokey{t}", "mynewkey{t}", "REPLACE"], int(0));
    check!(c, ["GET", "mynewkey{t}"], bulk("foobar"));
}

/// "RANDOMKEY", "RANDOMKEY against empty DB", "RANDOMKEY regression 1".
#[tokio::test]
async fn randomkey() {
    let (_node, mut c) = setup().await;
    check!(c, ["RANDOMKEY"], nil());
    check!(c, ["SET", "foo", "x"], ok());
    check!(c, ["SET", "bar", "y"], ok());
    let mut seen = BTreeSet::new();
    for _ in 0..200 {
        seen.insert(as_text(&q(&mut c, &["RANDOMKEY"]).await));
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(seen, BTreeSet::from(["bar".to_string(), "foo".to_string()]));
    check!(c, ["DEL", "foo", "bar"], int(2));
    check!(c, ["SET", "x", "10"], ok());
    check!(c, ["DEL", "x"], int(1));
    check!(c, ["RANDOMKEY"], nil());
    check!(
        c,
        ["RANDOMKEY", "x"],
        err("ERR wrong number of arguments for 'randomkey' command")
    );
}

// -- Redis 7.0 tests/unit/scan.tcl ------------------------------------------

/// "SCAN basic", "SCAN COUNT", "SCAN MATCH", "SCAN TYPE", "SCAN unknown
/// type" (no error in 7.0: nothing matches), "SCAN with expired keys",
/// "SCAN with expired keys with TYPE filter".
#[tokio::test]
async fn scan_cases() {
    let (_node, mut c) = setup().await;
    let mut want = BTreeSet::new();
    for i in 0..100 {
        let k = format!("key:{i}");
        check!(c, ["SET", &k, &i.to_string()], ok());
        want.insert(k);
    }
    for count in ["1", "5", "10", "1000"] {
        let got: BTreeSet<String> = scan_all(&mut c, &["COUNT", count])
            .await
            .into_iter()
            .collect();
        assert_eq!(got, want, "COUNT {count}");
    }
    let matched: BTreeSet<String> = scan_all(&mut c, &["MATCH", "key:1*"])
        .await
        .into_iter()
        .collect();
    let want_1: BTreeSet<String> = want
        .iter()
        .filter(|k| k.starts_with("key:1"))
        .cloned()
        .collect();
    assert_eq!(matched, want_1);
    let typed: BTreeSet<String> = scan_all(&mut c, &["TYPE", "string"])
        .await
        .into_iter()
        .collect();
    assert_eq!(typed, want);
    assert!(scan_all(&mut c, &["TYPE", "string1"]).await.is_empty());
    // Expired keys are never returned, also with a TYPE filter.
    let at = unix_ms() + 20;
    for i in 0..10 {
        check!(
            c,
            ["SET", &format!("gone:{i}"), "v", "PXAT", &at.to_string()],
            ok()
        );
    }
    wait_past(at).await;
    let got: BTreeSet<String> = scan_all(&mut c, &["COUNT", "10"])
        .await
        .into_iter()
        .collect();
    assert_eq!(got, want);
    let got: BTreeSet<String> = scan_all(&mut c, &["COUNT", "10", "TYPE", "string"])
        .await
        .into_iter()
        .collect();
    assert_eq!(got, want);
}

// -- Redis 7.0 tests/unit/expire.tcl ----------------------------------------

/// "EXPIRE - set timeouts multiple times", "EXPIREAT - Check for EXPIRE
/// alike behavior", "EXPIRE - write on expire should work" (a write
/// clears the TTL).
#[tokio::test]
async fn expire_set_timeouts_multiple_times() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "x", "foobar"], ok());
    check!(c, ["EXPIRE", "x", "5"], int(1));
    check_in!(c, ["TTL", "x"], 4..=5);
    check!(c, ["EXPIRE", "x", "10"], int(1));
    check_in!(c, ["TTL", "x"], 9..=10);
    check!(c, ["EXPIRE", "x", "2"], int(1));
    check_in!(c, ["TTL", "x"], 1..=2);
    check!(c, ["DEL", "x"], int(1));
    check!(c, ["SET", "x", "foo"], ok());
    check!(
        c,
        ["EXPIREAT", "x", &(unix_secs() + 15).to_string()],
        int(1)
    );
    check_in!(c, ["TTL", "x"], 13..=15);
    check!(c, ["SET", "x", "bar"], ok());
    check!(c, ["TTL", "x"], int(-1));
}

/// "PERSIST can undo an EXPIRE", "PERSIST returns 0 against non existing
/// or non volatile keys".
#[tokio::test]
async fn persist_can_undo_an_expire() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "x", "foo"], ok());
    check!(c, ["EXPIRE", "x", "50"], int(1));
    check_in!(c, ["TTL", "x"], 49..=50);
    check!(c, ["PERSIST", "x"], int(1));
    check!(c, ["TTL", "x"], int(-1));
    check!(c, ["GET", "x"], bulk("foo"));
    check!(c, ["PERSIST", "x"], int(0));
    check!(c, ["PERSIST", "nokeyatall"], int(0));
    check!(
        c,
        ["PERSIST"],
        err("ERR wrong number of arguments for 'persist' command")
    );
}

/// "PEXPIRE can set sub-second expires", "PEXPIREAT can set sub-second
/// expires" (waiting on the key, not a sleep).
#[tokio::test]
async fn pexpire_and_pexpireat_can_set_sub_second_expires() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "x", "somevalue"], ok());
    check!(c, ["PEXPIRE", "x", "100"], int(1));
    check!(c, ["SET", "y", "somevalue"], ok());
    let at = unix_ms() + 100;
    check!(c, ["PEXPIREAT", "y", &at.to_string()], int(1));
    // At most 100 ms left, or (on a slow machine) already expired.
    let left = as_int(&q(&mut c, &["PTTL", "y"]).await);
    assert!(left == -2 || (1..=100).contains(&left), "PTTL {left}");
    wait_past(at + 100).await;
    check!(c, ["GET", "x"], nil());
    check!(c, ["GET", "y"], nil());
}

/// "TTL returns time to live in seconds", "PTTL returns time to live in
/// milliseconds", "TTL / PTTL / EXPIRETIME / PEXPIRETIME return -1 if key
/// has no expire", "TTL / PTTL / EXPIRETIME / PEXPIRETIME return -2 if
/// key does not exit", "EXPIRETIME returns absolute expiration time in
/// seconds", "PEXPIRETIME returns absolute expiration time in
/// milliseconds".
#[tokio::test]
async fn ttl_pttl_expiretime_pexpiretime() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "x", "somevalue"], ok());
    check!(c, ["EXPIRE", "x", "10"], int(1));
    check_in!(c, ["TTL", "x"], 9..=10);
    check!(c, ["PEXPIRE", "x", "1000000"], int(1));
    check_in!(c, ["PTTL", "x"], 900_000..=1_000_000);
    check!(c, ["PERSIST", "x"], int(1));
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        check!(c, [cmd, "x"], int(-1));
        check!(c, [cmd, "nokey"], int(-2));
        check!(
            c,
            [cmd],
            err(&format!(
                "ERR wrong number of arguments for '{}' command",
                cmd.to_lowercase()
            ))
        );
    }
    let at = unix_secs() + 100;
    check!(c, ["EXPIREAT", "x", &at.to_string()], int(1));
    check!(c, ["EXPIRETIME", "x"], int(at));
    check!(c, ["PEXPIRETIME", "x"], int(at * 1000));
    // 700 ms past a second: EXPIRETIME rounds to the nearest second.
    let pat = (unix_secs() + 100) * 1000 + 700;
    check!(c, ["PEXPIREAT", "x", &pat.to_string()], int(1));
    check!(c, ["EXPIRETIME", "x"], int((pat + 500) / 1000));
    check!(c, ["PEXPIRETIME", "x"], int(pat));
}

/// "EXPIRE with empty string as TTL should report an error", "EXPIRE with
/// big integer overflows when converted to milliseconds", "PEXPIRE with
/// big integer overflow when basetime is added", "EXPIRE with big
/// negative integer", "PEXPIREAT with big integer works", "PEXPIREAT with
/// big negative integer works".
#[tokio::test]
async fn expire_with_big_and_bad_integers() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "foo", "bar"], ok());
    check!(
        c,
        ["EXPIRE", "foo", ""],
        err("ERR value is not an integer or out of range")
    );
    let e = err("ERR invalid expire time in 'expire' command");
    for big in [
        "9223370399119966",
        "9223372036854776",
        "10000000000000000",
        "18446744073709561",
    ] {
        check!(c, ["EXPIRE", "foo", big], e.clone());
    }
    check!(c, ["TTL", "foo"], int(-1));
    check!(
        c,
        ["PEXPIRE", "foo", "9223372036854770000"],
        err("ERR invalid expire time in 'pexpire' command")
    );
    check!(
        c,
        ["EXPIREAT", "foo", "9223372036854775807"],
        err("ERR invalid expire time in 'expireat' command")
    );
    for big in ["-9223372036854776", "-9999999999999999"] {
        check!(c, ["EXPIRE", "foo", big], e.clone());
    }
    check!(c, ["TTL", "foo"], int(-1));
    // A large negative TTL that fits deletes the key.
    check!(c, ["EXPIRE", "foo", "-9999999999999"], int(1));
    check!(c, ["EXISTS", "foo"], int(0));
    check!(c, ["SET", "foo", "bar"], ok());
    check!(c, ["PEXPIREAT", "foo", "9223372036854770000"], int(1));
    let left = 9_223_372_036_854_770_000 - unix_ms();
    check_in!(c, ["PTTL", "foo"], left - 10_000..=left + 10_000);
    check!(c, ["PEXPIREAT", "foo", "-9223372036854770000"], int(1));
    check!(c, ["TTL", "foo"], int(-2));
}

/// "SET command will remove expire", "SET - use KEEPTTL option, TTL
/// should not be removed", "GETEX use of PERSIST option should remove
/// TTL".
#[tokio::test]
async fn set_keepttl_and_getex_persist_and_ttl() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "foo", "bar", "EX", "100"], ok());
    check!(c, ["SET", "foo", "bar"], ok());
    check!(c, ["TTL", "foo"], int(-1));
    check!(c, ["SET", "foo", "bar", "EX", "100"], ok());
    check!(c, ["SET", "foo", "bar", "KEEPTTL"], ok());
    check_in!(c, ["TTL", "foo"], 90..=100);
    check!(c, ["GETEX", "foo", "PERSIST"], bulk("bar"));
    check!(c, ["TTL", "foo"], int(-1));
}

/// One expiry command with NX/XX/GT/LT and its ttl in seconds; `at`
/// turns a relative TTL into the command's unit (absolute for the *AT
/// forms).
async fn expire_opt(
    c: &mut ClusterConnection,
    cmd: &str,
    key: &str,
    secs: i64,
    opts: &[&str],
) -> Reply {
    let value = match cmd {
        "EXPIRE" => secs,
        "PEXPIRE" => secs * 1000,
        "EXPIREAT" => unix_secs() + secs,
        "PEXPIREAT" => unix_ms() + secs * 1000,
        other => panic!("not an expiry command: {other}"),
    }
    .to_string();
    let mut args = vec![cmd, key, value.as_str()];
    args.extend_from_slice(opts);
    q(c, &args).await
}

/// "EXPIRE with NX option on a key with ttl", "… on a key without ttl",
/// "EXPIRE with XX option on a key with ttl", "… without ttl", "EXPIRE
/// with GT option on a key with lower ttl", "… with higher ttl", "…
/// without ttl", "EXPIRE with LT option on a key with higher ttl", "…
/// with lower ttl", "… without ttl", "EXPIRE with LT and XX option on a
/// key with ttl", "… without ttl" — for EXPIRE, PEXPIRE, EXPIREAT and
/// PEXPIREAT alike.
#[tokio::test]
async fn expire_with_nx_xx_gt_lt_options() {
    let (_node, mut c) = setup().await;
    for cmd in ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"] {
        // NX
        check!(c, ["SET", "foo", "bar", "EX", "100"], ok());
        assert_eq!(
            expire_opt(&mut c, cmd, "foo", 200, &["NX"]).await,
            int(0),
            "{cmd} NX with ttl"
        );
        check_in!(c, ["TTL", "foo"], 50..=100);
        check!(c, ["PERSIST", "foo"], int(1));
        assert_eq!(
            expire_opt(&mut c, cmd, "foo", 200, &["NX"]).await,
            int(1),
            "{cmd} NX without ttl"
        );
        check_in!(c, ["TTL", "foo"], 100..=200);
        // XX
        assert_eq!(
            expire_opt(&mut c, cmd, "foo", 300, &["XX"]).await,
            int(1),
            "{cmd} XX with ttl"
        );
        check_in!(c, ["TTL", "foo"], 200..=300);
        check!(c, ["PERSIST", "foo"], int(1));
        assert_eq!(
            expire_opt(&mut c, cmd, "foo", 300, &["XX"]).await,
            int(0),
            "{cmd} XX without ttl"
        );
        check!(c, ["TTL", "foo"], int(-1));
        // GT
        check!(c, ["SET", "foo", "bar", "EX", "200"], ok());
        assert_eq!(
            expire_opt(&mut c, cmd, "foo", 100, &["GT"]).await,
            int(0),
            "{cmd} GT lower"
        );
        check_in!(c, ["TTL", "foo"], 100..=200);
        assert_eq!(
            expire_opt(&mut c, cmd, "foo", 300, &["GT"]).await,
            int(1),
            "{cmd} GT higher"
        );
        check_in!(c, ["TTL", "foo"], 200..=300);
        check!(c, ["PERSIST", "foo"], int(1));
        assert_eq!(
            expire_opt(&mut c, cmd, "foo", 300, &["GT"]).await,
            int(0),
            "{cmd} GT without ttl"
        );
        check!(c, ["TTL", "foo"], int(-1));
        // LT
        check!(c, ["SET", "foo", "bar", "EX", "100"], ok());
        assert_eq!(
            expire_opt(&mut c, cmd, "foo", 200, &["LT"]).await,
            int(0),
            "{cmd} LT higher"
        );
        check_in!(c, ["TTL", "foo"], 50..=100);
        assert_eq!(
            expire_opt(&mut c, cmd, "foo", 50, &["LT"]).await,
            int(1),
            "{cmd} LT lower"
        );
        check_in!(c, ["TTL", "foo"], 40..=50);
        check!(c, ["PERSIST", "foo"], int(1));
        assert_eq!(
            expire_opt(&mut c, cmd, "foo", 100, &["LT"]).await,
            int(1),
            "{cmd} LT without ttl"
        );
        check_in!(c, ["TTL", "foo"], 50..=100);
        // LT XX
        assert_eq!(
            expire_opt(&mut c, cmd, "foo", 50, &["LT", "XX"]).await,
            int(1),
            "{cmd} LT XX with ttl"
        );
        check_in!(c, ["TTL", "foo"], 40..=50);
        check!(c, ["PERSIST", "foo"], int(1));
        assert_eq!(
            expire_opt(&mut c, cmd, "foo", 50, &["LT", "XX"]).await,
            int(0),
            "{cmd} LT XX without ttl"
        );
        check!(c, ["TTL", "foo"], int(-1));
        // Options are case-insensitive.
        assert_eq!(
            expire_opt(&mut c, cmd, "foo", 50, &["nx"]).await,
            int(1),
            "{cmd} nx"
        );
        check!(c, ["DEL", "foo"], int(1));
    }
}

/// "EXPIRE with conflicting options: LT GT", "… NX GT", "… NX LT", "…
/// NX XX", "EXPIRE with unsupported options", "EXPIRE with negative
/// expiry", "EXPIRE with negative expiry on a non-valitale key", "EXPIRE
/// with non-existed key" — for all four expiry commands.
#[tokio::test]
async fn expire_with_conflicting_unsupported_and_negative() {
    let (_node, mut c) = setup().await;
    let nx_xx = "ERR NX and XX, GT or LT options at the same time are not compatible";
    let gt_lt = "ERR GT and LT options at the same time are not compatible";
    for cmd in ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"] {
        check!(c, ["SET", "foo", "bar"], ok());
        for (opts, e) in [
            (&["LT", "GT"][..], gt_lt),
            (&["NX", "GT"], nx_xx),
            (&["NX", "LT"], nx_xx),
            (&["NX", "XX"], nx_xx),
        ] {
            assert_eq!(
                expire_opt(&mut c, cmd, "foo", 200, opts).await,
                err(e),
                "{cmd} {opts:?}"
            );
        }
        assert_eq!(
            expire_opt(&mut c, cmd, "foo", 200, &["AB"]).await,
            err("ERR Unsupported option AB"),
            "{cmd} AB"
        );
        assert_eq!(
            expire_opt(&mut c, cmd, "foo", 200, &["XX", "AB"]).await,
            err("ERR Unsupported option AB"),
            "{cmd} XX AB"
        );
        check!(c, ["TTL", "foo"], int(-1));
        assert_eq!(
            expire_opt(&mut c, cmd, "nokey", 100, &[]).await,
            int(0),
            "{cmd} non-existed key"
        );
        assert_eq!(
            expire_opt(&mut c, cmd, "nokey", 100, &["NX"]).await,
            int(0),
            "{cmd} NX non-existed key"
        );
        // A TTL in the past deletes the key (with GT, only if it had one:
        // a key without TTL counts as infinite).
        assert_eq!(
            expire_opt(&mut c, cmd, "foo", -200, &["GT"]).await,
            int(0),
            "{cmd} -200 GT"
        );
        check!(c, ["TTL", "foo"], int(-1));
        assert_eq!(
            expire_opt(&mut c, cmd, "foo", -200, &["LT"]).await,
            int(1),
            "{cmd} -200 LT"
        );
        check!(c, ["TTL", "foo"], int(-2));
        check!(c, ["SET", "foo", "bar", "EX", "100"], ok());
        assert_eq!(
            expire_opt(&mut c, cmd, "foo", -200, &["XX"]).await,
            int(1),
            "{cmd} -200 XX"
        );
        check!(c, ["EXISTS", "foo"], int(0));
    }
    check!(
        c,
        ["EXPIRE", "foo"],
        err("ERR wrong number of arguments for 'expire' command")
    );
    check!(
        c,
        ["PEXPIREAT", "foo"],
        err("ERR wrong number of arguments for 'pexpireat' command")
    );
}
