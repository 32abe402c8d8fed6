//! Strings: GET/SET and options, SETNX/SETEX/PSETEX, MGET/MSET/MSETNX, GETSET/GETDEL/GETEX, APPEND/STRLEN, INCR family, GETRANGE/SETRANGE.

use super::*;

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
    check!(
        c,
        ["SET", "s:k"],
        err("ERR wrong number of arguments for 'set' command")
    );
    check!(
        c,
        ["GET", "s:k", "extra"],
        err("ERR wrong number of arguments for 'get' command")
    );
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
        check!(
            c,
            ["SET", "ex:k", "v", "EX", bad],
            err("ERR invalid expire time in 'set' command")
        );
        check!(
            c,
            ["SET", "ex:k", "v", "PX", bad],
            err("ERR invalid expire time in 'set' command")
        );
    }
    check!(
        c,
        ["SET", "ex:k", "v", "EX", "9223372036854775807"],
        err("ERR invalid expire time in 'set' command")
    );
    check!(
        c,
        ["SET", "ex:k", "v", "EX", "abc"],
        err("ERR value is not an integer or out of range")
    );
    check!(
        c,
        ["SET", "ex:k", "v", "EX", "1.5"],
        err("ERR value is not an integer or out of range")
    );
    check!(c, ["SET", "ex:k", "v", "EX"], err("ERR syntax error"));
    check!(
        c,
        ["SET", "ex:k", "v", "EX", "10", "PX", "100"],
        err("ERR syntax error")
    );
    check!(
        c,
        ["SET", "ex:k", "v", "KEEPTTL", "EX", "10"],
        err("ERR syntax error")
    );
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
    check!(
        c,
        ["MSET", "{user1}:a"],
        err("ERR wrong number of arguments for 'mset' command")
    );
    check!(
        c,
        ["MSET", "{user1}:a", "1", "{user1}:b"],
        err("ERR wrong number of arguments for 'mset' command")
    );
    check!(
        c,
        ["MSETNX", "{user1}:a", "1", "{user1}:n"],
        err("ERR wrong number of arguments for 'msetnx' command")
    );
    check!(c, ["MSETNX", "{user1}:n1", "1", "{user1}:a", "2"], int(0));
    check!(c, ["EXISTS", "{user1}:n1"], int(0));
    check!(c, ["MSETNX", "{user1}:n1", "1", "{user1}:n2", "2"], int(1));
    check!(
        c,
        ["MGET", "{user1}:n1", "{user1}:n2"],
        array(&[Some("1"), Some("2")])
    );
    // Keys in different slots: the server itself refuses (a plain
    // connection, so the client cannot split the command).
    let mut plain = node.conn().await;
    let crossslot = err("CROSSSLOT Keys in request don't hash to the same slot");
    assert_eq!(
        q(&mut plain, &["MSET", "a", "1", "b", "2"]).await,
        crossslot
    );
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
    check!(
        c,
        ["INCR", "n:max"],
        err("ERR increment or decrement would overflow")
    );
    check!(c, ["SET", "n:min", "-9223372036854775808"], ok());
    check!(
        c,
        ["DECR", "n:min"],
        err("ERR increment or decrement would overflow")
    );
    check!(
        c,
        ["DECRBY", "n:c", "-9223372036854775808"],
        err("ERR decrement would overflow")
    );
    check!(
        c,
        ["INCRBY", "n:c", "abc"],
        err("ERR value is not an integer or out of range")
    );
    check!(
        c,
        ["INCRBY", "n:c", "1.0"],
        err("ERR value is not an integer or out of range")
    );
    for bad in [
        "abc",
        " 1",
        "1 ",
        "01",
        "+1",
        "1.0",
        "",
        "99999999999999999999",
    ] {
        check!(c, ["SET", "n:s", bad], ok());
        check!(
            c,
            ["INCR", "n:s"],
            err("ERR value is not an integer or out of range")
        );
    }
    // INCR keeps the TTL.
    check!(c, ["SET", "n:t", "5", "EX", "100"], ok());
    check!(c, ["INCR", "n:t"], int(6));
    check_in!(c, ["TTL", "n:t"], 99..=100);
    check!(
        c,
        ["INCR"],
        err("ERR wrong number of arguments for 'incr' command")
    );
    check!(
        c,
        ["INCRBY", "n:c"],
        err("ERR wrong number of arguments for 'incrby' command")
    );
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
    check!(
        c,
        ["INCRBYFLOAT", "f:k", "abc"],
        err("ERR value is not a valid float")
    );
    check!(
        c,
        ["INCRBYFLOAT", "f:k", "inf"],
        err("ERR increment would produce NaN or Infinity")
    );
    check!(
        c,
        ["INCRBYFLOAT", "f:k", "nan"],
        err("ERR value is not a valid float")
    );
    check!(c, ["SET", "f:s", "abc"], ok());
    check!(
        c,
        ["INCRBYFLOAT", "f:s", "1"],
        err("ERR value is not a valid float")
    );
    check!(c, ["SET", "f:i", "3"], ok());
    check!(c, ["INCRBYFLOAT", "f:i", "0.5"], bulk("3.5"));
    // INCR on a float string fails.
    check!(
        c,
        ["INCR", "f:i"],
        err("ERR value is not an integer or out of range")
    );
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
    check!(
        c,
        ["GETRANGE", "r:k", "0", "abc"],
        err("ERR value is not an integer or out of range")
    );
    check!(c, ["SUBSTR", "r:k", "0", "3"], bulk("This"));

    check!(c, ["SET", "r:s", "Hello World"], ok());
    check!(c, ["SETRANGE", "r:s", "6", "Redis"], int(11));
    check!(c, ["GET", "r:s"], bulk("Hello Redis"));
    check!(c, ["SETRANGE", "r:s", "11", "!"], int(12));
    check!(c, ["GET", "r:s"], bulk("Hello Redis!"));
    check!(c, ["SETRANGE", "r:pad", "5", "Hi"], int(7));
    check!(c, ["GET", "r:pad"], bulk(b"\0\0\0\0\0Hi"));
    check!(
        c,
        ["SETRANGE", "r:s", "-1", "x"],
        err("ERR offset is out of range")
    );
    check!(
        c,
        ["SETRANGE", "r:s", "536870911", "xx"],
        err("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    );
    check!(
        c,
        ["SETRANGE", "r:s", "abc", "x"],
        err("ERR value is not an integer or out of range")
    );
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
    check!(
        c,
        ["GETEX", "g:e", "EX", "0"],
        err("ERR invalid expire time in 'getex' command")
    );
    check!(
        c,
        ["GETEX", "g:e", "EX", "-5"],
        err("ERR invalid expire time in 'getex' command")
    );
    check!(
        c,
        ["GETEX", "g:e", "EX", "10", "PX", "10"],
        err("ERR syntax error")
    );
    check!(
        c,
        ["GETEX", "g:e", "PERSIST", "EX", "10"],
        err("ERR syntax error")
    );
    check!(c, ["GETEX", "g:e", "EX"], err("ERR syntax error"));
    check!(
        c,
        ["GETEX", "g:e", "EX", "x"],
        err("ERR value is not an integer or out of range")
    );
    check_in!(c, ["TTL", "g:e"], 290..=300);
}

// -- Redis 7.0 tests/unit/type/string.tcl and incr.tcl ----------------------

/// "SET and GET an item", "SET and GET an empty item", "Very big payload
/// in GET/SET" (1 MiB instead of Redis's 512 KiB loops).
#[tokio::test]
async fn set_and_get_an_item() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "x", "foobar"], ok());
    check!(c, ["GET", "x"], bulk("foobar"));
    check!(c, ["SET", "x", ""], ok());
    check!(c, ["GET", "x"], bulk(""));
    let big = "abcd".repeat(256 * 1024);
    check!(c, ["SET", "foo", &big], ok());
    check!(c, ["GET", "foo"], bulk(&big));
}

/// "SETNX target key missing", "SETNX target key exists".
#[tokio::test]
async fn setnx_target_key_missing_and_exists() {
    let (_node, mut c) = setup().await;
    check!(c, ["SETNX", "novar", "foobared"], int(1));
    check!(c, ["GET", "novar"], bulk("foobared"));
    check!(c, ["SETNX", "novar", "blabla"], int(0));
    check!(c, ["GET", "novar"], bulk("foobared"));
    check!(
        c,
        ["SETNX", "novar"],
        err("ERR wrong number of arguments for 'setnx' command")
    );
}

/// "SETNX against not-expired volatile key".
#[tokio::test]
async fn setnx_against_not_expired_volatile_key() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "x", "10"], ok());
    check!(c, ["EXPIRE", "x", "10000"], int(1));
    check!(c, ["SETNX", "x", "20"], int(0));
    check!(c, ["GET", "x"], bulk("10"));
    check_in!(c, ["TTL", "x"], 9999..=10000);
}

/// "SETNX against expired volatile key": the expired key counts as
/// missing, and the new value has no TTL.
#[tokio::test]
async fn setnx_against_expired_volatile_key() {
    let (_node, mut c) = setup().await;
    let at = unix_ms() + 50;
    check!(c, ["SET", "x", "10", "PXAT", &at.to_string()], ok());
    wait_past(at).await;
    check!(c, ["SETNX", "x", "20"], int(1));
    check!(c, ["GET", "x"], bulk("20"));
    check!(c, ["TTL", "x"], int(-1));
}

/// "GETEX EX option", "GETEX PX option", "GETEX EXAT option", "GETEX PXAT
/// option", "GETEX PERSIST option", "GETEX no option".
#[tokio::test]
async fn getex_options() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "foo", "bar"], ok());
    check!(c, ["GETEX", "foo", "EX", "10"], bulk("bar"));
    check_in!(c, ["TTL", "foo"], 5..=10);
    check!(c, ["GETEX", "foo", "PX", "10000"], bulk("bar"));
    check_in!(c, ["PTTL", "foo"], 5000..=10000);
    let exat = unix_secs() + 10;
    check!(c, ["GETEX", "foo", "EXAT", &exat.to_string()], bulk("bar"));
    check_in!(c, ["TTL", "foo"], 5..=10);
    check!(c, ["EXPIRETIME", "foo"], int(exat));
    let pxat = unix_ms() + 10_000;
    check!(c, ["GETEX", "foo", "PXAT", &pxat.to_string()], bulk("bar"));
    check_in!(c, ["PTTL", "foo"], 5000..=10000);
    check!(c, ["PEXPIRETIME", "foo"], int(pxat));
    check!(c, ["GETEX", "foo", "PERSIST"], bulk("bar"));
    check!(c, ["TTL", "foo"], int(-1));
    check!(c, ["SET", "foo", "bar", "EX", "10"], ok());
    // Without an option GETEX is a GET: the TTL stays.
    check!(c, ["GETEX", "foo"], bulk("bar"));
    check_in!(c, ["TTL", "foo"], 5..=10);
}

/// "GETEX syntax errors", "GETEX no arguments", "GETEX and GET expired
/// key or not exist", "GETEX with big integer should report an error",
/// "GETEX with smallest integer should report an error".
#[tokio::test]
async fn getex_syntax_errors_and_missing_keys() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "foo", "bar"], ok());
    check!(
        c,
        ["GETEX", "foo", "non-existent-option"],
        err("ERR syntax error")
    );
    check!(
        c,
        ["GETEX"],
        err("ERR wrong number of arguments for 'getex' command")
    );
    check!(
        c,
        ["GETEX", "foo", "EX", "10000000000000000"],
        err("ERR invalid expire time in 'getex' command")
    );
    check!(
        c,
        ["GETEX", "foo", "EX", "-9999999999999999"],
        err("ERR invalid expire time in 'getex' command")
    );
    check!(
        c,
        ["GETEX", "foo", "PXAT", "0"],
        err("ERR invalid expire time in 'getex' command")
    );
    check!(c, ["TTL", "foo"], int(-1));
    let at = unix_ms() + 20;
    check!(c, ["SET", "foo", "bar", "PXAT", &at.to_string()], ok());
    wait_past(at).await;
    check!(c, ["GETEX", "foo"], nil());
    check!(c, ["GET", "foo"], nil());
    check!(c, ["GETEX", "nokey", "EX", "10"], nil());
    check!(c, ["EXISTS", "nokey"], int(0));
}

/// "GETDEL": the value, then the key is gone; "GETDEL propagate as DEL"
/// is about replication and has no counterpart here.
#[tokio::test]
async fn getdel() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "foo", "bar", "EX", "100"], ok());
    check!(c, ["GETDEL", "foo"], bulk("bar"));
    check!(c, ["GETDEL", "foo"], nil());
    check!(c, ["TTL", "foo"], int(-2));
    check!(
        c,
        ["GETDEL"],
        err("ERR wrong number of arguments for 'getdel' command")
    );
}

/// "MGET", "MGET against non existing key"; the cluster client splits an
/// MGET of keys in different slots and joins the replies in order.
#[tokio::test]
async fn mget() {
    let (_node, mut c) = setup().await;
    check!(c, ["SET", "foo{t}", "BAR"], ok());
    check!(c, ["SET", "bar{t}", "FOO"], ok());
    check!(
        c,
        ["MGET", "foo{t}", "bar{t}"],
        array(&[Some("BAR"), Some("FOO")])
    );
    check!(
        c,
        ["MGET", "foo{t}", "baazz{t}", "bar{t}"],
        array(&[Some("BAR"), None, Some("FOO")])
    );
    check!(c, ["SET", "elsewhere", "E"], ok());
    check!(
        c,
        ["MGET", "foo{t}", "elsewhere", "missing", "bar{t}"],
        array(&[Some("BAR"), Some("E"), None, Some("FOO")])
    );
    check!(
        c,
        ["MGET"],
        err("ERR wrong number of arguments for 'mget' command")
    );
}

/// "GETSET (set new value)", "GETSET (replace old value)"; GETSET also
/// drops the TTL, as a SET does.
#[tokio::test]
async fn getset() {
    let (_node, mut c) = setup().await;
    check!(c, ["GETSET", "foo", "xyz"], nil());
    check!(c, ["GET", "foo"], bulk("xyz"));
    check!(c, ["SET", "foo", "bar", "EX", "100"], ok());
    check!(c, ["GETSET", "foo", "xyz"], bulk("bar"));
    check!(c, ["GET", "foo"], bulk("xyz"));
    check!(c, ["TTL", "foo"], int(-1));
    check!(
        c,
        ["GETSET", "foo"],
        err("ERR wrong number of arguments for 'getset' command")
    );
}

/// "MSET base case", "MSET/MSETNX wrong number of args", "MSET with
/// already existing - same key twice", "MSETNX with already existent
/// key", "MSETNX with not existing keys", "MSETNX with not existing keys
/// - same key twice", "MSETNX with already existing keys - same key
/// twice".
#[tokio::test]
async fn mset_and_msetnx() {
    let (_node, mut c) = setup().await;
    check!(
        c,
        [
            "MSET",
            "x{t}",
            "10",
            "y{t}",
            "foo bar",
            "z{t}",
            "x x x x x x x\n\n\r\n"
        ],
        ok()
    );
    check!(
        c,
        ["MGET", "x{t}", "y{t}", "z{t}"],
        array(&[Some("10"), Some("foo bar"), Some("x x x x x x x\n\n\r\n")])
    );
    check!(
        c,
        ["MSET", "x{t}", "10", "y{t}", "foo bar", "z{t}"],
        err("ERR wrong number of arguments for 'mset' command")
    );
    check!(
        c,
        ["MSETNX", "x{t}", "20", "y{t}", "foo bar", "z{t}"],
        err("ERR wrong number of arguments for 'msetnx' command")
    );
    check!(c, ["SET", "x{t}", "x"], ok());
    check!(c, ["MSET", "x{t}", "xxx", "x{t}", "yyy"], ok());
    check!(c, ["GET", "x{t}"], bulk("yyy"));

    check!(c, ["SET", "x1{t}", "existing", "EX", "100"], ok());
    check!(c, ["MSETNX", "x1{t}", "xxx", "y2{t}", "yyy"], int(0));
    check!(c, ["GET", "x1{t}"], bulk("existing"));
    check!(c, ["EXISTS", "y2{t}"], int(0));
    check_in!(c, ["TTL", "x1{t}"], 99..=100);
    check!(c, ["MSETNX", "x2{t}", "xxx", "y2{t}", "yyy"], int(1));
    check!(
        c,
        ["MGET", "x2{t}", "y2{t}"],
        array(&[Some("xxx"), Some("yyy")])
    );
    check!(c, ["MSETNX", "x3{t}", "xxx", "x3{t}", "yyy"], int(1));
    check!(c, ["GET", "x3{t}"], bulk("yyy"));
    check!(c, ["MSETNX", "x1{t}", "xxx", "x1{t}", "yyy"], int(0));
    check!(c, ["GET", "x1{t}"], bulk("existing"));
}

/// "SETEX - Set + Expire combo operation. Check for TTL", "SETEX - Check
/// value", "SETEX - Overwrite old key", "SETEX - Wrong time parameter"
/// (expire.tcl), "PSETEX can set sub-second expires" (with a wait on the
/// key instead of a sleep).
#[tokio::test]
async fn setex_and_psetex() {
    let (_node, mut c) = setup().await;
    check!(c, ["SETEX", "x", "12", "test"], ok());
    check_in!(c, ["TTL", "x"], 10..=12);
    check!(c, ["GET", "x"], bulk("test"));
    check!(c, ["SETEX", "y", "1", "foo"], ok());
    check!(c, ["SETEX", "y", "100", "bar"], ok());
    check!(c, ["GET", "y"], bulk("bar"));
    check_in!(c, ["TTL", "y"], 99..=100);
    check!(
        c,
        ["SETEX", "z", "-10", "foo"],
        err("ERR invalid expire time in 'setex' command")
    );
    check!(
        c,
        ["SETEX", "z", "0", "foo"],
        err("ERR invalid expire time in 'setex' command")
    );
    check!(
        c,
        ["SETEX", "z", "ten", "foo"],
        err("ERR value is not an integer or out of range")
    );
    check!(
        c,
        ["PSETEX", "z", "0", "foo"],
        err("ERR invalid expire time in 'psetex' command")
    );
    check!(
        c,
        ["SETEX", "z", "10"],
        err("ERR wrong number of arguments for 'setex' command")
    );
    check!(c, ["EXISTS", "z"], int(0));
    // 900 ms rather than Redis's 100, so that a slow machine still sees
    // the key before it expires.
    check!(c, ["PSETEX", "key", "900", "somevalue"], ok());
    check!(c, ["GET", "key"], bulk("somevalue"));
    check_in!(c, ["PTTL", "key"], 1..=900);
    let gone = wait_until_async(Instant::now() + Duration::from_secs(10), || {
        let mut c = c.clone();
        async move { q(&mut c, &["GET", "key"]).await == nil() }
    })
    .await;
    assert!(gone, "a PSETEX 900 key outlived 10 s");
}

/// "Extended SET can detect syntax errors", "Extended SET NX option",
/// "Extended SET XX option", "Extended SET GET option", "Extended SET GET
/// option with no previous value", "Extended SET GET option with XX",
/// "Extended SET GET option with XX and no previous value", "Extended SET
/// GET option with NX", "Extended SET GET option with NX and previous
/// value", "Extended SET EX option", "Extended SET PX option", "Extended
/// SET EXAT option", "Extended SET PXAT option", "Extended SET using
/// multiple options at once".
#[tokio::test]
async fn extended_set_options() {
    let (_node, mut c) = setup().await;
    check!(
        c,
        ["SET", "foo", "bar", "non-existing-option"],
        err("ERR syntax error")
    );
    check!(c, ["SET", "foo", "1", "NX"], ok());
    check!(c, ["SET", "foo", "2", "NX"], nil());
    check!(c, ["GET", "foo"], bulk("1"));
    check!(c, ["DEL", "foo"], int(1));
    check!(c, ["SET", "foo", "1", "XX"], nil());
    check!(c, ["SET", "foo", "bar"], ok());
    check!(c, ["SET", "foo", "2", "XX"], ok());
    check!(c, ["GET", "foo"], bulk("2"));
    check!(c, ["SET", "foo", "bar2", "GET"], bulk("2"));
    check!(c, ["GET", "foo"], bulk("bar2"));
    check!(c, ["SET", "new", "bar", "GET"], nil());
    check!(c, ["GET", "new"], bulk("bar"));
    check!(c, ["SET", "foo", "bar3", "XX", "GET"], bulk("bar2"));
    check!(c, ["SET", "nox", "bar", "XX", "GET"], nil());
    check!(c, ["EXISTS", "nox"], int(0));
    check!(c, ["SET", "nx1", "bar", "NX", "GET"], nil());
    check!(c, ["GET", "nx1"], bulk("bar"));
    check!(c, ["SET", "nx1", "baz", "NX", "GET"], bulk("bar"));
    check!(c, ["GET", "nx1"], bulk("bar"));
    check!(c, ["SET", "foo", "bar", "EX", "10"], ok());
    check_in!(c, ["TTL", "foo"], 5..=10);
    check!(c, ["SET", "foo", "bar", "PX", "10000"], ok());
    check_in!(c, ["TTL", "foo"], 5..=10);
    let exat = unix_secs() + 10;
    check!(c, ["SET", "foo", "bar", "EXAT", &exat.to_string()], ok());
    check!(c, ["EXPIRETIME", "foo"], int(exat));
    let pxat = unix_ms() + 10_000;
    check!(c, ["SET", "foo", "bar", "PXAT", &pxat.to_string()], ok());
    check!(c, ["PEXPIRETIME", "foo"], int(pxat));
    check!(c, ["SET", "foo", "val", "XX", "PX", "10000"], ok());
    check!(
        c,
        ["SET", "foo", "val2", "XX", "EX", "10", "GET"],
        bulk("val")
    );
    check_in!(c, ["TTL", "foo"], 5..=10);
    check!(
        c,
        ["SET", "foo", "v", "EXAT", "0"],
        err("ERR invalid expire time in 'set' command")
    );
    check!(
        c,
        ["SET", "foo", "v", "PXAT", "-1"],
        err("ERR invalid expire time in 'set' command")
    );
    check!(
        c,
        ["SET", "foo", "v", "EX", "10", "EXAT", "10"],
        err("ERR syntax error")
    );
    check!(
        c,
        ["SET", "foo", "v", "KEEPTTL", "PXAT", "10"],
        err("ERR syntax error")
    );
}

/// "SET with EX with big integer should report an error", "SET with EX
/// with smallest integer should report an error" (expire.tcl).
#[tokio::test]
async fn set_with_ex_with_big_or_smallest_integer_should_report_an_error() {
    let (_node, mut c) = setup().await;
    let e = err("ERR invalid expire time in 'set' command");
    check!(
        c,
        ["SET", "foo", "bar", "EX", "10000000000000000"],
        e.clone()
    );
    check!(
        c,
        ["SET", "foo", "bar", "EX", "-9999999999999999"],
        e.clone()
    );
    check!(c, ["SET", "foo", "bar", "PX", "9223372036854775807"], e);
    check!(c, ["EXISTS", "foo"], int(0));
}

/// "STRLEN against non-existing key", "STRLEN against integer-encoded
/// value", "STRLEN against plain string".
#[tokio::test]
async fn strlen() {
    let (_node, mut c) = setup().await;
    check!(c, ["STRLEN", "notakey"], int(0));
    check!(c, ["SET", "myinteger", "-555"], ok());
    check!(c, ["STRLEN", "myinteger"], int(4));
    check!(c, ["SET", "mystring", "foozzz0123456789 baz"], ok());
    check!(c, ["STRLEN", "mystring"], int(20));
    check!(
        c,
        ["STRLEN"],
        err("ERR wrong number of arguments for 'strlen' command")
    );
}

/// "APPEND basics", "APPEND basics, integer encoded values" (other.tcl).
#[tokio::test]
async fn append_basics() {
    let (_node, mut c) = setup().await;
    check!(c, ["EXISTS", "foo"], int(0));
    check!(c, ["APPEND", "foo", "bar"], int(3));
    check!(c, ["GET", "foo"], bulk("bar"));
    check!(c, ["APPEND", "foo", "100"], int(6));
    check!(c, ["GET", "foo"], bulk("bar100"));
    check!(c, ["SET", "foo", "1"], ok());
    check!(c, ["APPEND", "foo", "2"], int(2));
    check!(c, ["GET", "foo"], bulk("12"));
    check!(c, ["SET", "foo", "1"], ok());
    check!(c, ["APPEND", "foo", "abc"], int(4));
    check!(c, ["GET", "foo"], bulk("1abc"));
}

/// "SETRANGE against non-existing key", "SETRANGE against string-encoded
/// key", "SETRANGE against integer-encoded key", "SETRANGE with out of
/// range offset", "SETRANGE with huge offset".
#[tokio::test]
async fn setrange() {
    let (_node, mut c) = setup().await;
    check!(c, ["SETRANGE", "mykey", "0", "foo"], int(3));
    check!(c, ["GET", "mykey"], bulk("foo"));
    check!(c, ["DEL", "mykey"], int(1));
    check!(c, ["SETRANGE", "mykey", "0", ""], int(0));
    check!(c, ["EXISTS", "mykey"], int(0));
    check!(c, ["SETRANGE", "mykey", "1", "foo"], int(4));
    check!(c, ["GET", "mykey"], bulk(b"\0foo"));
    check!(c, ["SET", "mykey", "foo"], ok());
    check!(c, ["SETRANGE", "mykey", "0", "b"], int(3));
    check!(c, ["GET", "mykey"], bulk("boo"));
    check!(c, ["SETRANGE", "mykey", "0", ""], int(3));
    check!(c, ["SETRANGE", "mykey", "1", "b"], int(3));
    check!(c, ["GET", "mykey"], bulk("bbo"));
    check!(c, ["SETRANGE", "mykey", "4", "bar"], int(7));
    check!(c, ["GET", "mykey"], bulk(b"bbo\0bar"));
    check!(c, ["SET", "mykey", "1234"], ok());
    check!(c, ["SETRANGE", "mykey", "0", "2"], int(4));
    check!(c, ["GET", "mykey"], bulk("2234"));
    check!(c, ["SETRANGE", "mykey", "5", "2"], int(6));
    check!(c, ["GET", "mykey"], bulk(b"2234\x002"));
    let too_big = err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    check!(
        c,
        ["SETRANGE", "mykey", "536870912", "hello"],
        too_big.clone()
    );
    check!(
        c,
        ["SETRANGE", "mykey", "-1", "world"],
        err("ERR offset is out of range")
    );
    for offset in ["9223372036854775807", "2147483647"] {
        check!(c, ["SETRANGE", "K", offset, "A"], too_big.clone());
    }
    check!(c, ["EXISTS", "K"], int(0));
}

/// "GETRANGE against non-existing key", "GETRANGE against string value",
/// "GETRANGE against integer-encoded value", "GETRANGE with huge ranges,
/// Github issue #1844".
#[tokio::test]
async fn getrange() {
    let (_node, mut c) = setup().await;
    check!(c, ["GETRANGE", "mykey", "0", "-1"], bulk(""));
    check!(c, ["SET", "mykey", "Hello World"], ok());
    check!(c, ["GETRANGE", "mykey", "0", "3"], bulk("Hell"));
    check!(c, ["GETRANGE", "mykey", "0", "-1"], bulk("Hello World"));
    check!(c, ["GETRANGE", "mykey", "-4", "-1"], bulk("orld"));
    check!(c, ["GETRANGE", "mykey", "5", "3"], bulk(""));
    check!(c, ["GETRANGE", "mykey", "5", "5000"], bulk(" World"));
    check!(
        c,
        ["GETRANGE", "mykey", "-5000", "10000"],
        bulk("Hello World")
    );
    check!(c, ["SET", "mykey", "1234"], ok());
    check!(c, ["GETRANGE", "mykey", "0", "2"], bulk("123"));
    check!(c, ["GETRANGE", "mykey", "-3", "-1"], bulk("234"));
    check!(c, ["SET", "foo", "bar"], ok());
    check!(c, ["GETRANGE", "foo", "0", "4294967297"], bulk("bar"));
    check!(
        c,
        ["GETRANGE", "foo", "0"],
        err("ERR wrong number of arguments for 'getrange' command")
    );
}

/// "INCR against non existing key", "INCR against key created by incr
/// itself", "DECR against key created by incr", "INCR against key
/// originally set with SET", "INCR over 32bit value", "INCRBY over 32bit
/// value with over 32bit increment", "INCR fails against key with spaces
/// (left)/(right)/(both)", "DECRBY negation overflow", "DECRBY over 32bit
/// value with over 32bit increment, negative res" (incr.tcl).
#[tokio::test]
async fn incr_decr_cases() {
    let (_node, mut c) = setup().await;
    check!(c, ["INCR", "novar"], int(1));
    check!(c, ["GET", "novar"], bulk("1"));
    check!(c, ["INCR", "novar"], int(2));
    check!(c, ["DECR", "novar"], int(1));
    check!(c, ["SET", "novar", "100"], ok());
    check!(c, ["INCR", "novar"], int(101));
    check!(c, ["SET", "novar", "17179869184"], ok());
    check!(c, ["INCR", "novar"], int(17179869185));
    check!(c, ["SET", "novar", "17179869184"], ok());
    check!(c, ["INCRBY", "novar", "17179869184"], int(34359738368));
    check!(c, ["SET", "novar", "17179869184"], ok());
    check!(c, ["DECRBY", "novar", "17179869185"], int(-1));
    for spaced in ["    11", "11    ", "    11    "] {
        check!(c, ["SET", "novar", spaced], ok());
        check!(
            c,
            ["INCR", "novar"],
            err("ERR value is not an integer or out of range")
        );
    }
    check!(c, ["SET", "x", "0"], ok());
    check!(
        c,
        ["DECRBY", "x", "-9223372036854775808"],
        err("ERR decrement would overflow")
    );
    check!(c, ["GET", "x"], bulk("0"));
    check!(
        c,
        ["DECRBY", "x", "x"],
        err("ERR value is not an integer or out of range")
    );
    check!(
        c,
        ["DECR", "x", "1"],
        err("ERR wrong number of arguments for 'decr' command")
    );
}

/// "INCRBYFLOAT against non existing key", "INCRBYFLOAT against key
/// originally set with SET", "INCRBYFLOAT over 32bit value", "INCRBYFLOAT
/// fails against key with spaces (left)/(right)/(both)", "INCRBYFLOAT
/// does not allow NaN or Infinity", "INCRBYFLOAT decrement", "string to
/// double with null terminator", "No negative zero" (incr.tcl).
#[tokio::test]
async fn incrbyfloat_cases() {
    let (_node, mut c) = setup().await;
    check!(c, ["INCRBYFLOAT", "novar", "1"], bulk("1"));
    check!(c, ["GET", "novar"], bulk("1"));
    check!(c, ["INCRBYFLOAT", "novar", "0.25"], bulk("1.25"));
    check!(c, ["SET", "novar", "1.5"], ok());
    check!(c, ["INCRBYFLOAT", "novar", "1.5"], bulk("3"));
    check!(c, ["SET", "novar", "17179869184"], ok());
    check!(c, ["INCRBYFLOAT", "novar", "1.5"], bulk("17179869185.5"));
    for spaced in ["    11", "11    ", "    11    "] {
        check!(c, ["SET", "novar", spaced], ok());
        check!(
            c,
            ["INCRBYFLOAT", "novar", "1.0"],
            err("ERR value is not a valid float")
        );
    }
    check!(c, ["SET", "foo", "0"], ok());
    check!(
        c,
        ["INCRBYFLOAT", "foo", "+inf"],
        err("ERR increment would produce NaN or Infinity")
    );
    check!(c, ["GET", "foo"], bulk("0"));
    check!(c, ["SET", "foo", "1"], ok());
    check!(c, ["INCRBYFLOAT", "foo", "-1.1"], bulk("-0.1"));
    check!(c, ["SET", "foo", "1"], ok());
    check!(c, ["SETRANGE", "foo", "2", "2"], int(3));
    check!(
        c,
        ["INCRBYFLOAT", "foo", "1"],
        err("ERR value is not a valid float")
    );
    check!(c, ["DEL", "foo"], int(1));
    check!(
        c,
        ["INCRBYFLOAT", "foo", "0.024390243902439025"],
        bulk("0.02439024390243902")
    );
    check!(
        c,
        ["INCRBYFLOAT", "foo", "-0.024390243902439025"],
        bulk("0")
    );
}
