//! Active expiry end to end: keys that expire and are never touched again
//! are removed by the sweeper (counted in INFO stats `expired_keys`), not
//! only hidden from reads. Named after Redis's tests/unit/expire.tcl.
//!
//! Run against real Redis to check the expectations:
//! `REDRAFT_TEST_SERVER=redis-server cargo test -p redraft-integration
//! --test active_expiry`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::Value;
use redraft_integration::client::*;
use redraft_integration::{NodeOpts, TestNode};

/// `expired_keys` from INFO stats.
async fn expired_keys(c: &mut MultiplexedConnection) -> i64 {
    let info = as_text(&q(c, &["INFO", "stats"]).await);
    info.lines()
        .find_map(|l| l.strip_prefix("expired_keys:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no expired_keys in INFO stats:\n{info}"))
}

/// Every key SCAN returns, following the cursor to 0.
async fn scan_all(c: &mut MultiplexedConnection) -> BTreeSet<String> {
    let mut cursor = "0".to_string();
    let mut keys = BTreeSet::new();
    for _ in 0..100_000 {
        let reply = q(c, &["SCAN", &cursor, "COUNT", "100"]).await;
        let Ok(Value::Array(parts)) = reply else {
            panic!("SCAN: {reply:?}");
        };
        let [Value::BulkString(next), Value::Array(page)] = parts.as_slice() else {
            panic!("SCAN: bad shape {parts:?}");
        };
        for k in page {
            let Value::BulkString(k) = k else {
                panic!("SCAN returned {k:?}");
            };
            keys.insert(String::from_utf8_lossy(k).into_owned());
        }
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            return keys;
        }
    }
    panic!("SCAN never returned cursor 0");
}

#[tokio::test]
async fn redis_should_actively_expire_keys_incrementally() {
    let node = TestNode::start(NodeOpts::new().args(["--expire-sweep-ms", "20"]));
    let mut c = node.conn().await;
    let before = expired_keys(&mut c).await;
    // Spread over many slots (and so over the walk), never read again.
    for i in 0..300 {
        assert_eq!(
            q(&mut c, &["SET", &format!("ax:{i}"), "v", "PX", "300"]).await,
            ok()
        );
    }
    let keep: BTreeSet<String> = (0..20).map(|i| format!("keep:{i}")).collect();
    for k in &keep {
        assert_eq!(q(&mut c, &["SET", k, "v"]).await, ok());
    }
    assert_eq!(q(&mut c, &["SET", "later", "v", "EX", "3600"]).await, ok());

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut swept = expired_keys(&mut c).await - before;
    while swept < 300 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        swept = expired_keys(&mut c).await - before;
    }
    assert_eq!(swept, 300, "the sweeper removed exactly the expired keys");
    assert_eq!(q(&mut c, &["DBSIZE"]).await, int(21));
    let mut want = keep.clone();
    want.insert("later".into());
    assert_eq!(scan_all(&mut c).await, want);
    assert_eq!(q(&mut c, &["TTL", "keep:0"]).await, int(-1));
    let ttl = as_int(&q(&mut c, &["TTL", "later"]).await);
    assert!((3590..=3600).contains(&ttl), "TTL later = {ttl}");
}

#[tokio::test]
async fn expire_should_not_remove_a_key_set_again() {
    let node = TestNode::start(NodeOpts::new().args(["--expire-sweep-ms", "10"]));
    let mut c = node.conn().await;
    // Each round: a key about to expire is written again without a TTL;
    // whatever the sweeper saw, the new value survives.
    for i in 0..50 {
        let k = format!("again:{i}");
        assert_eq!(q(&mut c, &["SET", &k, "old", "PX", "1"]).await, ok());
        assert_eq!(q(&mut c, &["SET", &k, "new"]).await, ok());
    }
    // Wait for a sweep after the writes: a marker key that expires later
    // is removed only by a pass that comes after them.
    let before = expired_keys(&mut c).await;
    assert_eq!(q(&mut c, &["SET", "marker", "v", "PX", "50"]).await, ok());
    let deadline = Instant::now() + Duration::from_secs(30);
    while expired_keys(&mut c).await <= before {
        assert!(Instant::now() < deadline, "the marker was never swept");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for i in 0..50 {
        assert_eq!(
            q(&mut c, &["GET", &format!("again:{i}")]).await,
            bulk("new"),
            "again:{i}"
        );
    }
}
