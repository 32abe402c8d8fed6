//! Server commands: INFO and its sections, DBSIZE, TIME, CONFIG GET/SET,
//! FLUSHALL, FLUSHDB, COMMAND, COMMAND COUNT/INFO/DOCS/GETKEYS.

use super::*;

fn bulk_v(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

fn status_v(s: &str) -> Value {
    Value::SimpleString(s.to_string())
}

/// The sections a plain INFO prints, in Redis 7.0's order (CPU, Modules
/// and Errorstats among them).
const DEFAULT_SECTIONS: [&str; 11] = [
    "Server",
    "Clients",
    "Memory",
    "Persistence",
    "Stats",
    "Replication",
    "CPU",
    "Modules",
    "Errorstats",
    "Cluster",
    "Keyspace",
];

/// An INFO field and, if it is fixed, its value.
type Expected<'a> = (&'a str, Option<&'a str>);

fn section_names(text: &str) -> Vec<String> {
    text.split("\r\n")
        .filter_map(|l| l.strip_prefix("# "))
        .map(str::to_string)
        .collect()
}

/// INFO, INFO default/all/everything and one section at a time: each
/// section has its header and the fields clients and tools read.
#[tokio::test]
async fn info_sections() {
    let (node, mut c) = setup().await;
    check!(c, ["SET", "k", "v"], ok());
    for args in [&[][..], &["default"], &["all"], &["everything"]] {
        let text = info(&mut c, args).await;
        let names = section_names(&text);
        let wanted: Vec<&String> = names
            .iter()
            .filter(|n| DEFAULT_SECTIONS.contains(&n.as_str()))
            .collect();
        assert_eq!(wanted, DEFAULT_SECTIONS, "INFO {args:?}: {names:?}");
        assert!(text.ends_with("\r\n"), "INFO {args:?}");
    }
    let port = node.port().to_string();
    let sections: [(&str, &[Expected]); 8] = [
        (
            "server",
            &[
                ("redis_version", Some("7.0.15")),
                ("redis_mode", Some("cluster")),
                ("tcp_port", Some(&port)),
                ("process_id", None),
                ("run_id", None),
                ("uptime_in_seconds", None),
            ],
        ),
        (
            "clients",
            &[
                ("connected_clients", None),
                ("maxclients", Some("10000")),
                ("blocked_clients", Some("0")),
            ],
        ),
        (
            "memory",
            &[
                ("used_memory", None),
                ("maxmemory", Some("0")),
                ("maxmemory_policy", Some("noeviction")),
            ],
        ),
        (
            "persistence",
            &[
                ("loading", Some("0")),
                ("aof_enabled", None),
                ("rdb_changes_since_last_save", None),
            ],
        ),
        (
            "stats",
            &[
                ("total_connections_received", None),
                ("total_commands_processed", None),
                ("total_error_replies", None),
                ("expired_keys", None),
                ("keyspace_hits", None),
            ],
        ),
        (
            "replication",
            &[("role", Some("master")), ("connected_slaves", Some("0"))],
        ),
        ("cluster", &[("cluster_enabled", Some("1"))]),
        ("keyspace", &[("db0", Some("keys=1,expires=0,avg_ttl=0"))]),
    ];
    for (section, fields) in sections {
        let text = info(&mut c, &[section]).await;
        let names = section_names(&text);
        let title = {
            let mut t = section.to_string();
            t[..1].make_ascii_uppercase();
            t
        };
        assert_eq!(names, [title], "INFO {section}:\n{text}");
        for (name, want) in fields {
            let got = field(&text, name)
                .unwrap_or_else(|| panic!("INFO {section} lacks {name}:\n{text}"));
            if let Some(want) = want {
                assert_eq!(got, *want, "INFO {section} {name}");
            }
        }
    }
    let server = info(&mut c, &["server"]).await;
    let run_id = field(&server, "run_id").unwrap_or("");
    assert!(
        run_id.len() == 40 && run_id.bytes().all(|b| b.is_ascii_hexdigit()),
        "run_id {run_id}"
    );
    let clients: i64 = field(&info(&mut c, &["clients"]).await, "connected_clients")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(clients >= 1, "connected_clients {clients}");
    // Several sections at once (7.0), case-insensitive; unknown: empty.
    assert_eq!(
        section_names(&info(&mut c, &["SERVER", "clients"]).await),
        ["Server", "Clients"]
    );
    assert_eq!(info(&mut c, &["nosuchsection"]).await, "");
}

/// INFO keyspace counts keys and keys with a TTL; an empty keyspace has
/// no `db0` line.
#[tokio::test]
async fn info_keyspace() {
    let (_node, mut c) = setup().await;
    assert_eq!(info(&mut c, &["keyspace"]).await, "# Keyspace\r\n");
    check!(c, ["SET", "a", "1"], ok());
    check!(c, ["SET", "b", "2", "EX", "1000"], ok());
    check!(c, ["SET", "c", "3", "EX", "1000"], ok());
    let text = info(&mut c, &["keyspace"]).await;
    let db0 = field(&text, "db0").unwrap_or_else(|| panic!("no db0 in {text}"));
    assert!(db0.starts_with("keys=3,expires=2,avg_ttl="), "{db0}");
    check!(c, ["FLUSHALL"], ok());
    assert_eq!(info(&mut c, &["keyspace"]).await, "# Keyspace\r\n");
}

/// INFO stats counts commands and error replies (what the redis-benchmark
/// test reads to find errors).
#[tokio::test]
async fn info_stats_counts_commands_and_error_replies() {
    let node = TestNode::start(NodeOpts::new());
    let mut p = node.conn().await;
    let stat = |text: String, name: &str| -> i64 {
        field(&text, name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {text}"))
    };
    let before = info(&mut p, &["stats"]).await;
    check!(p, ["SET", "k", "v"], ok());
    check!(p, ["GET", "k"], bulk("v"));
    check!(
        p,
        ["INCR", "k"],
        err("ERR value is not an integer or out of range")
    );
    check!(
        p,
        ["GET"],
        err("ERR wrong number of arguments for 'get' command")
    );
    check!(
        p,
        ["NOSUCHCOMMAND"],
        err("ERR unknown command 'NOSUCHCOMMAND', with args beginning with: ")
    );
    check!(
        p,
        ["MSET", "a", "1", "b", "2"],
        err("CROSSSLOT Keys in request don't hash to the same slot")
    );
    let after = info(&mut p, &["stats"]).await;
    assert_eq!(
        stat(after.clone(), "total_error_replies") - stat(before.clone(), "total_error_replies"),
        4,
        "{after}"
    );
    // INFO itself counts too: the SET, GET and the first INFO at least.
    assert!(
        stat(after, "total_commands_processed") >= stat(before, "total_commands_processed") + 3
    );
}

/// "DBSIZE" (keyspace.tcl): the cluster client sums the masters' counts.
#[tokio::test]
async fn dbsize() {
    let (node, mut c) = setup().await;
    check!(c, ["DBSIZE"], int(0));
    for i in 0..25 {
        check!(c, ["SET", &format!("k{i}"), "v"], ok());
    }
    check!(c, ["DBSIZE"], int(25));
    check!(c, ["DEL", "k0", "k1", "k2"], int(3));
    check!(c, ["DBSIZE"], int(22));
    let at = unix_ms() + 20;
    check!(c, ["SET", "short", "v", "PXAT", &at.to_string()], ok());
    wait_past(at).await;
    check!(c, ["GET", "short"], nil());
    check!(c, ["DBSIZE"], int(22));
    // Fanned out by the cluster client, so on a plain connection.
    let mut p = node.conn().await;
    check!(
        p,
        ["DBSIZE", "x"],
        err("ERR wrong number of arguments for 'dbsize' command")
    );
}

#[tokio::test]
async fn time() {
    let (_node, mut c) = setup().await;
    let reply = q(&mut c, &["TIME"]).await;
    let parts = strings_of(&reply);
    assert_eq!(parts.len(), 2, "{reply:?}");
    let secs: i64 = parts[0].parse().expect("seconds");
    let micros: i64 = parts[1].parse().expect("microseconds");
    assert!(
        (secs - unix_secs()).abs() <= 2,
        "TIME {secs} vs {}",
        unix_secs()
    );
    assert!((0..1_000_000).contains(&micros), "{micros}");
    check!(
        c,
        ["TIME", "x"],
        err("ERR wrong number of arguments for 'time' command")
    );
}

/// "CONFIG GET multiple args", "CONFIG SET duplicate configs", "CONFIG
/// SET rollback on set error", "CONFIG SET set immutable"
/// (introspection.tcl), and the parameters redis-benchmark and clients
/// read. CONFIG SET goes to every node through the cluster client.
#[tokio::test]
async fn config_get_and_set() {
    let (node, mut c) = setup().await;
    let pairs = |r: Reply| -> BTreeSet<(String, String)> {
        pairs_of(&r)
            .into_iter()
            .map(|(k, v)| (k, as_text(&Ok(v))))
            .collect()
    };
    let port = node.port().to_string();
    assert_eq!(
        pairs(q(&mut c, &["CONFIG", "GET", "port"]).await),
        BTreeSet::from([("port".to_string(), port)])
    );
    assert_eq!(
        pairs(
            q(
                &mut c,
                &["CONFIG", "GET", "maxmemory", "timeout", "maxclients"]
            )
            .await
        ),
        BTreeSet::from([
            ("maxclients".to_string(), "10000".to_string()),
            ("maxmemory".to_string(), "0".to_string()),
            ("timeout".to_string(), "0".to_string()),
        ])
    );
    check!(
        c,
        ["CONFIG", "GET", "save"],
        array(&[Some("save"), Some("")])
    );
    check!(
        c,
        ["CONFIG", "GET", "cluster-enabled"],
        array(&[Some("cluster-enabled"), Some("yes")])
    );
    // redraft is always durable: its appendonly is yes (the reference runs
    // with appendonly no).
    let aof = pairs(q(&mut c, &["CONFIG", "GET", "appendonly"]).await);
    let want = if node.server() == Server::Redraft {
        "yes"
    } else {
        "no"
    };
    assert_eq!(
        aof,
        BTreeSet::from([("appendonly".to_string(), want.to_string())])
    );
    check!(
        c,
        ["CONFIG", "GET", "no-such-parameter"],
        Ok(Value::Array(vec![]))
    );
    let globbed = pairs(q(&mut c, &["CONFIG", "GET", "maxmemory*"]).await);
    for name in ["maxmemory", "maxmemory-policy"] {
        assert!(
            globbed.iter().any(|(k, _)| k == name),
            "CONFIG GET maxmemory* lacks {name}: {globbed:?}"
        );
    }

    check!(c, ["CONFIG", "SET", "maxmemory", "100mb"], ok());
    check!(
        c,
        ["CONFIG", "GET", "maxmemory"],
        array(&[Some("maxmemory"), Some("104857600")])
    );
    check!(
        c,
        [
            "CONFIG",
            "SET",
            "maxmemory-policy",
            "allkeys-lru",
            "timeout",
            "100"
        ],
        ok()
    );
    check!(
        c,
        ["CONFIG", "GET", "MAXMEMORY-policy"],
        array(&[Some("MAXMEMORY-policy"), Some("allkeys-lru")])
    );
    check!(
        c,
        ["CONFIG", "GET", "timeout"],
        array(&[Some("timeout"), Some("100")])
    );
    check!(
        c,
        ["CONFIG", "SET", "maxmemory", "10000001", "maxmemory", "10000002"],
        err("ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter")
    );
    check!(
        c,
        ["CONFIG", "SET", "maxmemory", "10mb", "timeout", "abc"],
        err("ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer")
    );
    check!(
        c,
        ["CONFIG", "GET", "maxmemory"],
        array(&[Some("maxmemory"), Some("104857600")])
    );
    check!(
        c,
        ["CONFIG", "SET", "cluster-enabled", "no"],
        err("ERR CONFIG SET failed (possibly related to argument 'cluster-enabled') - can't set immutable config")
    );
    check!(
        c,
        ["CONFIG", "SET", "timeout", "-1"],
        err("ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive")
    );
    check!(
        c,
        ["CONFIG", "SET", "maxmemory", "abc"],
        err("ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value")
    );
    check!(
        c,
        ["CONFIG", "SET", "nosuch", "1"],
        err("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'")
    );
    check!(
        c,
        ["CONFIG", "SET", "timeout"],
        err("ERR wrong number of arguments for 'config|set' command")
    );
    check!(
        c,
        ["CONFIG", "GET"],
        err("ERR wrong number of arguments for 'config|get' command")
    );
    check!(
        c,
        ["CONFIG", "NOSUCH"],
        err("ERR unknown subcommand 'NOSUCH'. Try CONFIG HELP.")
    );
}

/// FLUSHALL and FLUSHDB (SYNC, ASYNC) empty every slot, TTLs included;
/// the cluster client sends them to every master.
#[tokio::test]
async fn flushall_and_flushdb() {
    let (_node, mut c) = setup().await;
    for flush in [
        &["FLUSHALL"][..],
        &["FLUSHALL", "SYNC"],
        &["FLUSHALL", "ASYNC"],
        &["FLUSHDB"],
        &["FLUSHDB", "SYNC"],
        &["FLUSHDB", "ASYNC"],
    ] {
        for i in 0..20 {
            check!(c, ["SET", &format!("k{i}"), "v", "EX", "1000"], ok());
        }
        check!(c, ["DBSIZE"], int(20));
        assert_eq!(q(&mut c, flush).await, ok(), "{flush:?}");
        check!(c, ["DBSIZE"], int(0));
        assert!(
            strings_of(&q(&mut c, &["KEYS", "*"]).await).is_empty(),
            "{flush:?}"
        );
        check!(c, ["GET", "k3"], nil());
    }
    check!(c, ["FLUSHALL", "BOGUS"], err("ERR syntax error"));
    check!(c, ["FLUSHDB", "x"], err("ERR syntax error"));
    check!(c, ["FLUSHALL", "SYNC", "x"], err("ERR syntax error"));
}

/// One COMMAND INFO row as Redis 7.0 prints it in RESP2.
fn key_spec(flags: &[&str], index: i64, lastkey: i64, keystep: i64) -> Value {
    Value::Array(vec![
        bulk_v("flags"),
        Value::Array(flags.iter().map(|f| status_v(f)).collect()),
        bulk_v("begin_search"),
        Value::Array(vec![
            bulk_v("type"),
            bulk_v("index"),
            bulk_v("spec"),
            Value::Array(vec![bulk_v("index"), Value::Int(index)]),
        ]),
        bulk_v("find_keys"),
        Value::Array(vec![
            bulk_v("type"),
            bulk_v("range"),
            bulk_v("spec"),
            Value::Array(vec![
                bulk_v("lastkey"),
                Value::Int(lastkey),
                bulk_v("keystep"),
                Value::Int(keystep),
                bulk_v("limit"),
                Value::Int(0),
            ]),
        ]),
    ])
}

/// "COMMAND COUNT get total number of Redis commands"
/// (introspection-2.tcl); COMMAND lists that many rows, one per name.
#[tokio::test]
async fn command_count_get_total_number_of_redis_commands() {
    let (_node, mut c) = setup().await;
    let count = as_int(&q(&mut c, &["COMMAND", "COUNT"]).await);
    assert!(count > 0);
    let all = q(&mut c, &["COMMAND"]).await;
    let Ok(Value::Array(rows)) = &all else {
        panic!("COMMAND: {all:?}");
    };
    assert_eq!(rows.len() as i64, count);
    let names: BTreeSet<String> = rows
        .iter()
        .map(|r| match r {
            Value::Array(f) => as_text(&Ok(f[0].clone())),
            other => panic!("COMMAND row {other:?}"),
        })
        .collect();
    assert_eq!(names.len(), rows.len(), "names repeat in COMMAND");
    for name in [
        "get",
        "set",
        "setnx",
        "setex",
        "psetex",
        "mget",
        "mset",
        "msetnx",
        "getset",
        "getdel",
        "getex",
        "append",
        "strlen",
        "incr",
        "incrby",
        "decr",
        "decrby",
        "incrbyfloat",
        "getrange",
        "setrange",
        "del",
        "unlink",
        "exists",
        "type",
        "expire",
        "pexpire",
        "expireat",
        "pexpireat",
        "ttl",
        "pttl",
        "expiretime",
        "pexpiretime",
        "persist",
        "rename",
        "renamenx",
        "copy",
        "touch",
        "keys",
        "scan",
        "randomkey",
        "ping",
        "echo",
        "hello",
        "auth",
        "select",
        "client",
        "quit",
        "reset",
        "info",
        "dbsize",
        "time",
        "config",
        "flushall",
        "flushdb",
        "command",
        "cluster",
        "readonly",
        "readwrite",
        "asking",
    ] {
        assert!(names.contains(name), "COMMAND lacks {name}");
    }
    check!(
        c,
        ["COMMAND", "COUNT", "x"],
        err("ERR wrong number of arguments for 'command|count' command")
    );
}

/// COMMAND INFO rows exactly as 7.0 gives them; "COMMAND INFO of invalid
/// subcommands"; "SET command will not be marked with movablekeys", "GET
/// command will not be marked with movablekeys", "MSET command will not
/// be marked with movablekeys" (introspection-2.tcl).
#[tokio::test]
async fn command_info() {
    let (_node, mut c) = setup().await;
    let get_row = Value::Array(vec![
        bulk_v("get"),
        Value::Int(2),
        Value::Array(vec![status_v("readonly"), status_v("fast")]),
        Value::Int(1),
        Value::Int(1),
        Value::Int(1),
        Value::Array(vec![
            status_v("@read"),
            status_v("@string"),
            status_v("@fast"),
        ]),
        Value::Array(vec![]),
        Value::Array(vec![key_spec(&["RO", "access"], 1, 0, 1)]),
        Value::Array(vec![]),
    ]);
    check!(
        c,
        ["COMMAND", "INFO", "get"],
        Ok(Value::Array(vec![get_row.clone()]))
    );
    check!(
        c,
        ["COMMAND", "INFO", "GET", "nosuch"],
        Ok(Value::Array(vec![get_row, Value::Nil]))
    );
    check!(
        c,
        ["COMMAND", "INFO", "get|key"],
        Ok(Value::Array(vec![Value::Nil]))
    );
    check!(
        c,
        ["COMMAND", "INFO", "config|get|key"],
        Ok(Value::Array(vec![Value::Nil]))
    );
    // (name, arity, first, last, step)
    for (name, arity, first, last, step) in [
        ("set", -3, 1, 1, 1),
        ("mset", -3, 1, -1, 2),
        ("msetnx", -3, 1, -1, 2),
        ("mget", -2, 1, -1, 1),
        ("del", -2, 1, -1, 1),
        ("exists", -2, 1, -1, 1),
        ("copy", -3, 1, 2, 1),
        ("rename", 3, 1, 2, 1),
        ("getex", -2, 1, 1, 1),
        ("expire", -3, 1, 1, 1),
        ("scan", -2, 0, 0, 0),
        ("ping", -1, 0, 0, 0),
        ("hello", -1, 0, 0, 0),
        ("client|kill", -3, 0, 0, 0),
        ("config|get", -3, 0, 0, 0),
        ("cluster|keyslot", 3, 0, 0, 0),
    ] {
        let reply = q(&mut c, &["COMMAND", "INFO", name]).await;
        let Ok(Value::Array(rows)) = &reply else {
            panic!("COMMAND INFO {name}: {reply:?}");
        };
        let Some(Value::Array(row)) = rows.first() else {
            panic!("COMMAND INFO {name}: {reply:?}");
        };
        assert_eq!(row[0], bulk_v(name));
        assert_eq!(
            row[1..=1]
                .iter()
                .chain(&row[3..6])
                .cloned()
                .collect::<Vec<_>>(),
            [arity, first, last, step].map(Value::Int),
            "COMMAND INFO {name}"
        );
        let Value::Array(flags) = &row[2] else {
            panic!("{name} flags {row:?}");
        };
        assert!(
            !flags.contains(&status_v("movablekeys")),
            "{name} marked movablekeys"
        );
    }
}

/// "COMMAND GETKEYS GET", "COMMAND GETKEYS MORE THAN 256 KEYS"
/// (introspection-2.tcl) and its errors.
#[tokio::test]
async fn command_getkeys() {
    let (_node, mut c) = setup().await;
    check!(
        c,
        ["COMMAND", "GETKEYS", "GET", "key"],
        array(&[Some("key")])
    );
    check!(
        c,
        ["COMMAND", "GETKEYS", "SET", "k", "v", "EX", "10"],
        array(&[Some("k")])
    );
    check!(
        c,
        ["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"],
        array(&[Some("a"), Some("b")])
    );
    check!(
        c,
        ["COMMAND", "GETKEYS", "COPY", "src", "dst", "REPLACE"],
        array(&[Some("src"), Some("dst")])
    );
    check!(
        c,
        ["COMMAND", "GETKEYS", "RENAME", "a", "b"],
        array(&[Some("a"), Some("b")])
    );
    let mut args = vec!["COMMAND".to_string(), "GETKEYS".into(), "MSET".into()];
    for i in 0..260 {
        args.push(format!("key{i}"));
        args.push(i.to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let keys = strings_of(&q(&mut c, &args).await);
    assert_eq!(keys.len(), 260);
    assert_eq!(keys[259], "key259");
    check!(
        c,
        ["COMMAND", "GETKEYS", "PING", "x"],
        err("ERR The command has no key arguments")
    );
    check!(
        c,
        ["COMMAND", "GETKEYS", "NOSUCH", "a"],
        err("ERR Invalid command specified")
    );
    check!(
        c,
        ["COMMAND", "GETKEYS", "GET", "a", "b"],
        err("ERR Invalid number of arguments specified for command")
    );
    check!(
        c,
        ["COMMAND", "GETKEYS", "GET"],
        err("ERR wrong number of arguments for 'command|getkeys' command")
    );
}

/// COMMAND DOCS: one command's docs exactly as 7.0 gives them; unknown
/// names are left out; with no name, every command.
#[tokio::test]
async fn command_docs() {
    let (_node, mut c) = setup().await;
    let get_docs = Value::Array(vec![
        bulk_v("get"),
        Value::Array(vec![
            bulk_v("summary"),
            bulk_v("Get the value of a key"),
            bulk_v("since"),
            bulk_v("1.0.0"),
            bulk_v("group"),
            bulk_v("string"),
            bulk_v("complexity"),
            bulk_v("O(1)"),
            bulk_v("arguments"),
            Value::Array(vec![Value::Array(vec![
                bulk_v("name"),
                bulk_v("key"),
                bulk_v("type"),
                bulk_v("key"),
                bulk_v("key_spec_index"),
                Value::Int(0),
            ])]),
        ]),
    ]);
    let Value::Array(get_pair) = &get_docs else {
        unreachable!()
    };
    check!(c, ["COMMAND", "DOCS", "get"], Ok(get_docs.clone()));
    check!(
        c,
        ["COMMAND", "DOCS", "nosuch", "GET"],
        Ok(get_docs.clone())
    );
    check!(c, ["COMMAND", "DOCS", "nosuch"], Ok(Value::Array(vec![])));
    let docs = pairs_of(&q(&mut c, &["COMMAND", "DOCS", "client|kill", "expire"]).await);
    assert_eq!(
        docs.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["client|kill", "expire"]
    );
    let expire_docs = pairs_of(&Ok(docs[1].1.clone()));
    let get = |k: &str| {
        expire_docs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("group"), Some(bulk_v("generic")));
    assert_eq!(get("since"), Some(bulk_v("1.0.0")));
    assert!(
        get("history").is_some() && get("arguments").is_some(),
        "{expire_docs:?}"
    );
    let count = as_int(&q(&mut c, &["COMMAND", "COUNT"]).await);
    let all = pairs_of(&q(&mut c, &["COMMAND", "DOCS"]).await);
    assert_eq!(all.len() as i64, count);
    assert!(all.iter().any(|(k, v)| k == "get" && *v == get_pair[1]));
}
