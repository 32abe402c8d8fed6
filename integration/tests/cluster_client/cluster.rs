//! Cluster commands: CLUSTER KEYSLOT/INFO/MYID/SLOTS/SHARDS/NODES/COUNTKEYSINSLOT/GETKEYSINSLOT, READONLY/READWRITE/ASKING, CROSSSLOT.

use super::*;

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
async fn cluster_keyslot_slots_info() {
    let (node, mut c) = setup().await;
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
        assert_eq!(
            q(&mut c, &["CLUSTER", "KEYSLOT", key]).await,
            int(slot),
            "KEYSLOT {key:?}"
        );
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
        assert!(
            info.split("\r\n").any(|l| l == line),
            "CLUSTER INFO lacks {line}:\n{info}"
        );
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

/// CLUSTER SHARDS and CLUSTER NODES describe one master owning every
/// slot, with the id CLUSTER MYID gives.
#[tokio::test]
async fn cluster_shards_and_nodes() {
    let (node, mut c) = setup().await;
    let myid = as_text(&q(&mut c, &["CLUSTER", "MYID"]).await);
    let shards = q(&mut c, &["CLUSTER", "SHARDS"]).await;
    let Ok(Value::Array(list)) = &shards else {
        panic!("CLUSTER SHARDS: {shards:?}");
    };
    assert_eq!(list.len(), 1, "{shards:?}");
    let shard = pairs_of(&Ok(list[0].clone()));
    assert_eq!(
        shard.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["slots", "nodes"]
    );
    assert_eq!(
        shard[0].1,
        Value::Array(vec![Value::Int(0), Value::Int(16383)])
    );
    let Value::Array(nodes) = &shard[1].1 else {
        panic!("CLUSTER SHARDS nodes: {shards:?}");
    };
    assert_eq!(nodes.len(), 1, "{shards:?}");
    let n = pairs_of(&Ok(nodes[0].clone()));
    let names: Vec<&str> = n.iter().map(|(k, _)| k.as_str()).collect();
    // 7.0 prints `hostname` only for a node that has one.
    assert_eq!(
        names,
        [
            "id",
            "port",
            "ip",
            "endpoint",
            "role",
            "replication-offset",
            "health"
        ],
        "{n:?}"
    );
    let get = |k: &str| n.iter().find(|(name, _)| name == k).map(|(_, v)| v.clone());
    assert_eq!(
        get("id"),
        Some(Value::BulkString(myid.clone().into_bytes()))
    );
    assert_eq!(get("port"), Some(Value::Int(i64::from(node.port()))));
    assert_eq!(get("role"), Some(Value::BulkString(b"master".to_vec())));
    assert_eq!(get("health"), Some(Value::BulkString(b"online".to_vec())));

    let nodes = as_text(&q(&mut c, &["CLUSTER", "NODES"]).await);
    assert!(
        nodes.ends_with('\n') && nodes.lines().count() == 1,
        "{nodes:?}"
    );
    let f: Vec<&str> = nodes.trim_end().split(' ').collect();
    assert_eq!(f.len(), 9, "{nodes:?}");
    assert_eq!(f[0], myid);
    assert!(f[1].contains(&format!(":{}@", node.port())), "{nodes:?}");
    assert_eq!(&f[2..4], ["myself,master", "-"]);
    assert_eq!(&f[7..9], ["connected", "0-16383"]);
    check!(
        c,
        ["CLUSTER", "SHARDS", "x"],
        err("ERR wrong number of arguments for 'cluster|shards' command")
    );
}

/// CLUSTER COUNTKEYSINSLOT and GETKEYSINSLOT see the keys of one slot,
/// and only live ones.
#[tokio::test]
async fn cluster_countkeysinslot_and_getkeysinslot() {
    let (_node, mut c) = setup().await;
    let slot = as_int(&q(&mut c, &["CLUSTER", "KEYSLOT", "{s}"]).await).to_string();
    check!(c, ["CLUSTER", "COUNTKEYSINSLOT", &slot], int(0));
    check!(
        c,
        ["CLUSTER", "GETKEYSINSLOT", &slot, "10"],
        Ok(Value::Array(vec![]))
    );
    check!(c, ["MSET", "{s}a", "1", "{s}b", "2", "{s}c", "3"], ok());
    check!(c, ["SET", "elsewhere", "x"], ok());
    check!(c, ["CLUSTER", "COUNTKEYSINSLOT", &slot], int(3));
    let mut keys = strings_of(&q(&mut c, &["CLUSTER", "GETKEYSINSLOT", &slot, "10"]).await);
    keys.sort();
    assert_eq!(keys, ["{s}a", "{s}b", "{s}c"]);
    assert_eq!(
        strings_of(&q(&mut c, &["CLUSTER", "GETKEYSINSLOT", &slot, "2"]).await).len(),
        2
    );
    check!(
        c,
        ["CLUSTER", "GETKEYSINSLOT", &slot, "0"],
        Ok(Value::Array(vec![]))
    );
    let at = unix_ms() + 20;
    check!(c, ["SET", "{s}d", "v", "PXAT", &at.to_string()], ok());
    wait_past(at).await;
    check!(c, ["GET", "{s}d"], nil());
    check!(c, ["CLUSTER", "COUNTKEYSINSLOT", &slot], int(3));
    check!(
        c,
        ["CLUSTER", "COUNTKEYSINSLOT", "16384"],
        err("ERR Invalid slot")
    );
    check!(
        c,
        ["CLUSTER", "COUNTKEYSINSLOT", "-1"],
        err("ERR Invalid slot")
    );
    check!(
        c,
        ["CLUSTER", "COUNTKEYSINSLOT", "x"],
        err("ERR value is not an integer or out of range")
    );
    check!(
        c,
        ["CLUSTER", "GETKEYSINSLOT", "16384", "1"],
        err("ERR Invalid slot or number of keys")
    );
    check!(
        c,
        ["CLUSTER", "GETKEYSINSLOT", "1", "-1"],
        err("ERR Invalid slot or number of keys")
    );
    check!(
        c,
        ["CLUSTER", "GETKEYSINSLOT", "0", "x"],
        err("ERR value is not an integer or out of range")
    );
}

/// READONLY, READWRITE and ASKING are accepted on a master; reads and
/// writes go on as before.
#[tokio::test]
async fn readonly_readwrite_asking() {
    let (node, mut c) = setup().await;
    let mut p = node.conn().await;
    check!(p, ["READONLY"], ok());
    check!(p, ["SET", "k", "v"], ok());
    check!(p, ["GET", "k"], bulk("v"));
    check!(p, ["READWRITE"], ok());
    check!(p, ["ASKING"], ok());
    check!(p, ["GET", "k"], bulk("v"));
    check!(c, ["READONLY"], ok());
    check!(c, ["READWRITE"], ok());
    check!(c, ["ASKING"], ok());
    for cmd in ["readonly", "readwrite", "asking"] {
        check!(
            p,
            [&cmd.to_uppercase(), "x"],
            err(&format!(
                "ERR wrong number of arguments for '{cmd}' command"
            ))
        );
    }
    // A cluster client that reads from replicas sends READONLY itself.
    let mut r = connect(
        builder(&node).read_routing_strategy(redis::cluster_read_routing::RandomReplicaStrategy),
    )
    .await
    .unwrap_or_else(|e| panic!("read_from_replicas client: {e}"));
    check!(r, ["GET", "k"], bulk("v"));
    check!(r, ["SET", "k", "w"], ok());
}

/// Every multi-key command refuses keys of different slots with
/// CROSSSLOT (a plain connection: the cluster client would split or
/// refuse the command itself), and accepts them under one hash tag.
#[tokio::test]
async fn crossslot_for_every_multi_key_command() {
    let (node, mut c) = setup().await;
    let mut p = node.conn().await;
    let crossslot = err("CROSSSLOT Keys in request don't hash to the same slot");
    check!(p, ["SET", "a", "1"], ok());
    check!(p, ["SET", "{a}b", "2"], ok());
    for args in [
        &["MSET", "a", "1", "b", "2"][..],
        &["MSETNX", "a", "1", "b", "2"],
        &["MGET", "a", "b"],
        &["DEL", "a", "b"],
        &["UNLINK", "a", "b"],
        &["EXISTS", "a", "b"],
        &["TOUCH", "a", "b"],
        &["RENAME", "a", "b"],
        &["RENAMENX", "a", "b"],
        &["COPY", "a", "b"],
    ] {
        assert_eq!(q(&mut p, args).await, crossslot, "{args:?}");
    }
    // Nothing was changed by the refused commands.
    check!(p, ["GET", "a"], bulk("1"));
    check!(p, ["EXISTS", "b"], int(0));
    check!(p, ["MGET", "a", "{a}b"], array(&[Some("1"), Some("2")]));
    check!(p, ["COPY", "a", "{a}c"], int(1));
    // MSET's pairing is checked by the command, after the slots (its
    // arity, -3, allows an odd count); under one tag the pairing fails.
    check!(p, ["MSET", "a", "1", "b"], crossslot.clone());
    check!(
        p,
        ["MSET", "{a}x", "1", "{a}y"],
        err("ERR wrong number of arguments for 'mset' command")
    );
    // The cluster client splits what it can (MGET, DEL, EXISTS, MSET) and
    // refuses RENAME across slots before sending it.
    check!(
        c,
        ["MGET", "a", "b", "{a}b"],
        array(&[Some("1"), None, Some("2")])
    );
    check!(c, ["EXISTS", "a", "b", "{a}b"], int(2));
    let renamed = q(&mut c, &["RENAME", "a", "b"]).await;
    assert!(
        renamed.is_err(),
        "RENAME across slots through the cluster client: {renamed:?}"
    );
    check!(c, ["GET", "a"], bulk("1"));
}
