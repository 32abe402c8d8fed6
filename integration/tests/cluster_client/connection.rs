//! Connection commands: PING, ECHO, HELLO (2/3, AUTH, SETNAME), AUTH,
//! SELECT, CLIENT ID/SETNAME/GETNAME/LIST/INFO/SETINFO/KILL, QUIT, RESET;
//! and a `requirepass` node (auth.tcl): NOAUTH, AUTH, HELLO AUTH, and the
//! cluster client's own `password` and RESP3 options.

use redis::ProtocolVersion;

use super::*;

const PW: &str = "s3cret";
const NOAUTH: &str = "NOAUTH Authentication required.";
const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// "PING" (introspection.tcl); PING through the cluster client goes to
/// every node and succeeds only if all answer.
#[tokio::test]
async fn ping() {
    let (_node, mut c) = setup().await;
    check!(c, ["PING"], status("PONG"));
    check!(c, ["PING", "hello"], bulk("hello"));
    check!(
        c,
        ["PING", "a", "b"],
        err("ERR wrong number of arguments for 'ping' command")
    );
}

#[tokio::test]
async fn echo() {
    let (_node, mut c) = setup().await;
    check!(c, ["ECHO", "hello world"], bulk("hello world"));
    check!(c, ["ECHO", ""], bulk(""));
    let binary = [0u8, 255, b'\r', b'\n'];
    assert_eq!(q(&mut c, &[&b"ECHO"[..], &binary]).await, bulk(binary));
    check!(
        c,
        ["ECHO"],
        err("ERR wrong number of arguments for 'echo' command")
    );
    check!(
        c,
        ["ECHO", "a", "b"],
        err("ERR wrong number of arguments for 'echo' command")
    );
}

/// The fields of a HELLO reply, with its protocol checked.
fn hello_fields(r: &Reply, proto: i64) -> Vec<(String, Value)> {
    match (r, proto) {
        (Ok(Value::Map(_)), 3) | (Ok(Value::Array(_)), 2) => {}
        other => panic!("HELLO {proto}: wrong reply type {other:?}"),
    }
    let fields = pairs_of(r);
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        ["server", "version", "proto", "id", "mode", "role", "modules"],
        "{r:?}"
    );
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("server"), Some(Value::BulkString(b"redis".to_vec())));
    assert_eq!(get("version"), Some(Value::BulkString(b"7.0.15".to_vec())));
    assert_eq!(get("proto"), Some(Value::Int(proto)));
    assert_eq!(get("mode"), Some(Value::BulkString(b"cluster".to_vec())));
    assert_eq!(get("role"), Some(Value::BulkString(b"master".to_vec())));
    assert_eq!(get("modules"), Some(Value::Array(vec![])));
    fields
}

/// "HELLO 3 reply is correct" (tracking.tcl), through a cluster client
/// that speaks RESP3 itself (it sends `HELLO 3` on every connection):
/// replies come back as RESP3 types.
#[tokio::test]
async fn hello_3_reply_is_correct() {
    let node = TestNode::start(NodeOpts::new());
    let mut c = connect(builder(&node).use_protocol(ProtocolVersion::RESP3))
        .await
        .unwrap_or_else(|e| panic!("RESP3 cluster client: {e}"));
    let fields = hello_fields(&q(&mut c, &["HELLO", "3"]).await, 3);
    assert!(
        matches!(fields[3].1, Value::Int(id) if id > 0),
        "{fields:?}"
    );
    check!(c, ["SET", "k", "v"], ok());
    check!(c, ["GET", "k"], bulk("v"));
    check!(c, ["GET", "missing"], nil());
    // A map in RESP3, a flat array in RESP2.
    let config = q(&mut c, &["CONFIG", "GET", "maxclients"]).await;
    assert_eq!(
        config,
        Ok(Value::Map(vec![(
            Value::BulkString(b"maxclients".to_vec()),
            Value::BulkString(b"10000".to_vec())
        )]))
    );
    // INFO is a verbatim string in RESP3.
    assert!(info(&mut c, &["server"]).await.starts_with("# Server\r\n"));
}

/// "HELLO without protover" (tracking.tcl): HELLO with no version keeps
/// the connection's protocol; HELLO's id is the CLIENT ID.
#[tokio::test]
async fn hello_without_protover() {
    let node = TestNode::start(NodeOpts::new());
    let mut p = node.conn().await;
    let id = as_int(&q(&mut p, &["CLIENT", "ID"]).await);
    let fields = hello_fields(&q(&mut p, &["HELLO"]).await, 2);
    assert_eq!(fields[3].1, Value::Int(id));
    hello_fields(&q(&mut p, &["HELLO", "3"]).await, 3);
    hello_fields(&q(&mut p, &["HELLO"]).await, 3);
    hello_fields(&q(&mut p, &["HELLO", "2"]).await, 2);
    hello_fields(&q(&mut p, &["HELLO"]).await, 2);
}

/// HELLO's errors: an unknown version, a bad option, AUTH without its
/// two arguments, a bad SETNAME — and none changes the protocol.
#[tokio::test]
async fn hello_errors() {
    let node = TestNode::start(NodeOpts::new());
    let mut p = node.conn().await;
    check!(
        p,
        ["HELLO", "4"],
        err("NOPROTO unsupported protocol version")
    );
    check!(
        p,
        ["HELLO", "1"],
        err("NOPROTO unsupported protocol version")
    );
    check!(
        p,
        ["HELLO", "x"],
        err("ERR Protocol version is not an integer or out of range")
    );
    check!(
        p,
        ["HELLO", "3", "FOO"],
        err("ERR Syntax error in HELLO option 'FOO'")
    );
    check!(
        p,
        ["HELLO", "3", "AUTH", "default"],
        err("ERR Syntax error in HELLO option 'AUTH'")
    );
    check!(
        p,
        ["HELLO", "3", "SETNAME"],
        err("ERR Syntax error in HELLO option 'SETNAME'")
    );
    check!(
        p,
        ["HELLO", "3", "SETNAME", "a b"],
        err("ERR Client names cannot contain spaces, newlines or special characters.")
    );
    hello_fields(&q(&mut p, &["HELLO"]).await, 2);
}

/// HELLO SETNAME names the connection, as CLIENT SETNAME does.
#[tokio::test]
async fn hello_setname() {
    let node = TestNode::start(NodeOpts::new());
    let mut p = node.conn().await;
    hello_fields(
        &q(&mut p, &["HELLO", "2", "SETNAME", "hello-name"]).await,
        2,
    );
    check!(p, ["CLIENT", "GETNAME"], bulk("hello-name"));
    hello_fields(
        &q(
            &mut p,
            &["HELLO", "3", "AUTH", "default", "any", "SETNAME", "other"],
        )
        .await,
        3,
    );
    check!(p, ["CLIENT", "GETNAME"], bulk("other"));
}

/// SELECT 0 is accepted; any other database is Redis Cluster's error,
/// also for a cluster client configured with another database.
#[tokio::test]
async fn select_only_database_0_in_cluster_mode() {
    let (node, mut c) = setup().await;
    let mut p = node.conn().await;
    check!(p, ["SELECT", "0"], ok());
    check!(
        p,
        ["SELECT", "1"],
        err("ERR SELECT is not allowed in cluster mode")
    );
    check!(
        p,
        ["SELECT", "-1"],
        err("ERR SELECT is not allowed in cluster mode")
    );
    check!(
        p,
        ["SELECT", "x"],
        err("ERR value is not an integer or out of range")
    );
    check!(
        p,
        ["SELECT"],
        err("ERR wrong number of arguments for 'select' command")
    );
    check!(c, ["SET", "k", "v"], ok());
    let other_db = connect(builder(&node).database_id(1)).await;
    let e = other_db
        .err()
        .expect("a cluster client on database 1 connected");
    assert!(e.contains("SELECT is not allowed in cluster mode"), "{e}");
}

/// "CLIENT GETNAME should return NIL if name is not assigned", "CLIENT
/// LIST shows empty fields for unassigned names", "CLIENT SETNAME does
/// not accept spaces", "CLIENT SETNAME can assign a name to this
/// connection", "CLIENT SETNAME can change the name of an existing
/// connection" (introspection.tcl), through the cluster client (one
/// connection to the one node).
#[tokio::test]
async fn client_setname_and_getname() {
    let (_node, mut c) = setup().await;
    check!(c, ["CLIENT", "GETNAME"], nil());
    let list = as_text(&q(&mut c, &["CLIENT", "LIST"]).await);
    assert!(list.contains(" name= "), "{list}");
    check!(
        c,
        ["CLIENT", "SETNAME", "foo bar"],
        err("ERR Client names cannot contain spaces, newlines or special characters.")
    );
    check!(
        c,
        ["CLIENT", "SETNAME", "foo\nbar"],
        err("ERR Client names cannot contain spaces, newlines or special characters.")
    );
    check!(c, ["CLIENT", "SETNAME", "myname"], ok());
    check!(c, ["CLIENT", "GETNAME"], bulk("myname"));
    assert!(as_text(&q(&mut c, &["CLIENT", "LIST"]).await).contains(" name=myname "));
    check!(c, ["CLIENT", "SETNAME", "someothername"], ok());
    assert!(as_text(&q(&mut c, &["CLIENT", "INFO"]).await).contains(" name=someothername "));
    check!(c, ["CLIENT", "SETNAME", ""], ok());
    check!(c, ["CLIENT", "GETNAME"], nil());
    check!(
        c,
        ["CLIENT", "SETNAME"],
        err("ERR wrong number of arguments for 'client|setname' command")
    );
    check!(
        c,
        ["CLIENT", "GETNAME", "x"],
        err("ERR wrong number of arguments for 'client|getname' command")
    );
}

/// "CLIENT LIST", "CLIENT LIST with IDs", "CLIENT INFO"
/// (introspection.tcl): the line's fields in Redis's order.
#[tokio::test]
async fn client_list_and_info() {
    let (node, mut c) = setup().await;
    let mut p = node.conn().await;
    let id = as_int(&q(&mut p, &["CLIENT", "ID"]).await);
    assert!(id > 0);
    let info = as_text(&q(&mut p, &["CLIENT", "INFO"]).await);
    assert!(
        info.starts_with(&format!("id={id} addr=127.0.0.1:")),
        "{info}"
    );
    assert!(
        info.ends_with('\n') && info.matches('\n').count() == 1,
        "{info:?}"
    );
    let names: Vec<&str> = info
        .trim_end()
        .split(' ')
        .map(|f| f.split('=').next().unwrap_or(""))
        .collect();
    let want_7_0 = [
        "id",
        "addr",
        "laddr",
        "fd",
        "name",
        "age",
        "idle",
        "flags",
        "db",
        "sub",
        "psub",
        "ssub",
        "multi",
        "qbuf",
        "qbuf-free",
        "argv-mem",
        "multi-mem",
        "rbs",
        "rbp",
        "obl",
        "oll",
        "omem",
        "tot-mem",
        "events",
        "cmd",
        "user",
        "redir",
        "resp",
    ];
    assert_eq!(&names[..want_7_0.len()], want_7_0, "{info}");
    for f in [
        " flags=N ",
        " db=0 ",
        " multi=-1 ",
        " cmd=client|info ",
        " user=default ",
        " resp=2",
    ] {
        assert!(info.contains(f), "CLIENT INFO lacks {f:?}: {info}");
    }
    let list = as_text(&q(&mut c, &["CLIENT", "LIST"]).await);
    assert!(list.lines().count() >= 2, "{list}");
    assert!(
        list.lines().any(|l| l.starts_with(&format!("id={id} "))),
        "{list}"
    );
    let only = as_text(&q(&mut c, &["CLIENT", "LIST", "ID", &id.to_string()]).await);
    assert_eq!(only.lines().count(), 1, "{only}");
    assert!(only.starts_with(&format!("id={id} ")), "{only}");
    let none = as_text(&q(&mut c, &["CLIENT", "LIST", "ID", "999999"]).await);
    assert_eq!(none, "");
    let normal = as_text(&q(&mut c, &["CLIENT", "LIST", "TYPE", "normal"]).await);
    assert!(
        normal.lines().any(|l| l.starts_with(&format!("id={id} "))),
        "{normal}"
    );
    check!(
        c,
        ["CLIENT", "LIST", "TYPE", "foo"],
        err("ERR Unknown client type 'foo'")
    );
    check!(
        c,
        ["CLIENT", "LIST", "ID", "x"],
        err("ERR Invalid client ID")
    );
    check!(c, ["CLIENT", "LIST", "FOO"], err("ERR syntax error"));
    check!(
        c,
        ["CLIENT", "NOSUCH"],
        err("ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.")
    );
}

/// "After CLIENT SETNAME, connection can still be closed"
/// (introspection.tcl): a closed connection leaves CLIENT LIST.
#[tokio::test]
async fn after_client_setname_connection_can_still_be_closed() {
    let (node, mut c) = setup().await;
    let mut p = node.conn().await;
    check!(p, ["CLIENT", "SETNAME", "foobar"], ok());
    assert!(as_text(&q(&mut c, &["CLIENT", "LIST"]).await).contains("name=foobar"));
    drop(p);
    let gone = wait_until_async(Instant::now() + Duration::from_secs(10), || {
        let mut c = c.clone();
        async move { !as_text(&q(&mut c, &["CLIENT", "LIST"]).await).contains("name=foobar") }
    })
    .await;
    assert!(gone, "a closed connection is still in CLIENT LIST");
}

/// "CLIENT KILL with illegal arguments" (introspection.tcl).
#[tokio::test]
async fn client_kill_with_illegal_arguments() {
    let (_node, mut c) = setup().await;
    check!(
        c,
        ["CLIENT", "KILL"],
        err("ERR wrong number of arguments for 'client|kill' command")
    );
    check!(
        c,
        ["CLIENT", "KILL", "ID", "10", "wrong_arg"],
        err("ERR syntax error")
    );
    for bad in ["str", "-1", "0"] {
        check!(
            c,
            ["CLIENT", "KILL", "ID", bad],
            err("ERR client-id should be greater than 0")
        );
    }
    check!(
        c,
        ["CLIENT", "KILL", "TYPE", "wrong_type"],
        err("ERR Unknown client type 'wrong_type'")
    );
    check!(
        c,
        ["CLIENT", "KILL", "USER", "wrong_user"],
        err("ERR No such user 'wrong_user'")
    );
    check!(
        c,
        ["CLIENT", "KILL", "SKIPME", "yes_or_no"],
        err("ERR syntax error")
    );
    check!(
        c,
        ["CLIENT", "KILL", "000.123.321.567:0"],
        err("ERR No such client")
    );
    check!(c, ["CLIENT", "KILL", "ID", "999999"], int(0));
    check!(c, ["CLIENT", "KILL", "ADDR", "1.2.3.4:5"], int(0));
}

/// CLIENT KILL by ID, by ADDR and in the old `CLIENT KILL addr:port`
/// form closes the other connection, which sees the close.
#[tokio::test]
async fn client_kill_closes_the_other_connection() {
    let (node, mut c) = setup().await;
    for form in ["ID", "ADDR", "old"] {
        let mut victim = node.client().get_connection().expect("plain connection");
        let id: i64 = redis::cmd("CLIENT")
            .arg("ID")
            .query(&mut victim)
            .expect("CLIENT ID");
        let info: String = redis::cmd("CLIENT")
            .arg("INFO")
            .query(&mut victim)
            .expect("CLIENT INFO");
        let addr = info
            .split(' ')
            .find_map(|f| f.strip_prefix("addr="))
            .expect("addr= in CLIENT INFO")
            .to_string();
        let id = id.to_string();
        let reply = match form {
            "ID" => q(&mut c, &["CLIENT", "KILL", "ID", &id]).await,
            "ADDR" => q(&mut c, &["CLIENT", "KILL", "ADDR", &addr]).await,
            _ => q(&mut c, &["CLIENT", "KILL", &addr]).await,
        };
        assert_eq!(
            reply,
            if form == "old" { ok() } else { int(1) },
            "CLIENT KILL {form}"
        );
        // Gone at once, as in Redis: a second kill finds nothing.
        check!(c, ["CLIENT", "KILL", "ID", &id], int(0));
        check!(c, ["CLIENT", "KILL", &addr], err("ERR No such client"));
        let after: redis::RedisResult<Value> = redis::cmd("PING").query(&mut victim);
        assert!(
            after.is_err(),
            "a killed connection still answers: {after:?}"
        );
        let list = as_text(&q(&mut c, &["CLIENT", "LIST"]).await);
        assert!(
            !list.lines().any(|l| l.starts_with(&format!("id={id} "))),
            "{list}"
        );
    }
    // SKIPME yes (the default) spares the caller; the count is of others.
    let mut p = node.conn().await;
    let me = as_int(&q(&mut p, &["CLIENT", "ID"]).await).to_string();
    check!(p, ["CLIENT", "KILL", "ID", &me], int(0));
    check!(p, ["PING"], status("PONG"));
}

/// CLIENT SETINFO comes from Redis 7.2; redraft accepts it because client
/// libraries send it on connect (redis-rs and redis-py ignore the error
/// 7.0 gives). Intended deviation: 7.0 answers "unknown subcommand".
#[tokio::test]
async fn client_setinfo() {
    let (node, mut c) = setup().await;
    let mut p = node.conn().await;
    let reply = q(&mut p, &["CLIENT", "SETINFO", "LIB-NAME", "mylib"]).await;
    if node.server() == Server::RedisReference {
        assert_eq!(
            reply,
            err("ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.")
        );
        return;
    }
    assert_eq!(reply, ok());
    check!(p, ["CLIENT", "SETINFO", "LIB-VER", "1.2.3"], ok());
    let info = as_text(&q(&mut p, &["CLIENT", "INFO"]).await);
    assert!(info.ends_with(" lib-name=mylib lib-ver=1.2.3\n"), "{info}");
    check!(
        p,
        ["CLIENT", "SETINFO", "LIB-FOO", "x"],
        err("ERR Unrecognized option 'LIB-FOO'")
    );
    check!(
        p,
        ["CLIENT", "SETINFO", "LIB-NAME", "a b"],
        err("ERR LIB-NAME cannot contain spaces, newlines or special characters.")
    );
    // The cluster client sent its own name and version when it connected.
    let info = as_text(&q(&mut c, &["CLIENT", "INFO"]).await);
    assert!(info.contains(" lib-name=redis-rs lib-ver="), "{info}");
}

/// QUIT answers OK and closes the connection (a plain connection: the
/// cluster client would reconnect).
#[tokio::test]
async fn quit_closes_the_connection() {
    let node = TestNode::start(NodeOpts::new());
    let mut p = node.client().get_connection().expect("plain connection");
    let reply: Value = redis::cmd("QUIT").query(&mut p).expect("QUIT");
    assert_eq!(reply, Value::Okay);
    let after: redis::RedisResult<Value> = redis::cmd("PING").query(&mut p);
    assert!(
        after.is_err(),
        "the connection still answers after QUIT: {after:?}"
    );
    // The node itself serves on.
    let mut other = node.conn().await;
    check!(other, ["PING"], status("PONG"));
}

/// "RESET clears client state" (other.tcl): name, protocol, READONLY;
/// the connection stays open.
#[tokio::test]
async fn reset_clears_client_state() {
    let node = TestNode::start(NodeOpts::new());
    let mut p = node.conn().await;
    check!(p, ["CLIENT", "SETNAME", "foo"], ok());
    hello_fields(&q(&mut p, &["HELLO", "3"]).await, 3);
    check!(p, ["READONLY"], ok());
    check!(p, ["RESET"], status("RESET"));
    check!(p, ["CLIENT", "GETNAME"], nil());
    let info = as_text(&q(&mut p, &["CLIENT", "INFO"]).await);
    assert!(
        info.contains(" name= ") && info.contains(" flags=N ") && info.contains(" resp=2"),
        "{info}"
    );
    check!(
        p,
        ["RESET", "x"],
        err("ERR wrong number of arguments for 'reset' command")
    );
}

// -- Redis 7.0 tests/unit/auth.tcl ------------------------------------------

/// "AUTH fails if there is no password configured server side", "Arity
/// check for auth command".
#[tokio::test]
async fn auth_fails_if_there_is_no_password_configured_server_side() {
    let (_node, mut c) = setup().await;
    check!(
        c,
        ["AUTH", "foo"],
        err(
            "ERR AUTH <password> called without any password configured for the default user. \
             Are you sure your configuration is correct?"
        )
    );
    check!(c, ["AUTH", "a", "b", "c"], err("ERR syntax error"));
    check!(
        c,
        ["AUTH"],
        err("ERR wrong number of arguments for 'auth' command")
    );
    // Without a password the default user takes any: `AUTH default x` is OK.
    check!(c, ["AUTH", "default", "anything"], ok());
    check!(c, ["AUTH", "bob", "anything"], err(WRONGPASS));
}

/// "AUTH fails when a wrong password is given", "Arbitrary command gives
/// an error when AUTH is required", "AUTH succeeds when the right password
/// is given", "Once AUTH succeeded we can actually send commands to the
/// server" — on a node started with `--requirepass`.
#[tokio::test]
async fn auth_with_requirepass() {
    let node = TestNode::start(NodeOpts::new().requirepass(PW));
    let mut p = node.conn().await;
    check!(p, ["AUTH", "wrong!"], err(WRONGPASS));
    check!(p, ["SET", "foo", "bar"], err(NOAUTH));
    check!(p, ["PING"], err(NOAUTH));
    check!(p, ["CLIENT", "ID"], err(NOAUTH));
    check!(p, ["CLUSTER", "INFO"], err(NOAUTH));
    check!(p, ["AUTH", "bob", PW], err(WRONGPASS));
    check!(p, ["AUTH", PW], ok());
    check!(p, ["SET", "foo", "100"], ok());
    check!(p, ["INCR", "foo"], int(101));
    // A failed AUTH does not log an authenticated connection out.
    check!(p, ["AUTH", "wrong!"], err(WRONGPASS));
    check!(p, ["GET", "foo"], bulk("101"));
    check!(p, ["AUTH", "default", PW], ok());
}

/// HELLO on a `requirepass` node: refused before authentication unless
/// it carries AUTH; HELLO AUTH authenticates and switches protocol in one
/// step.
#[tokio::test]
async fn hello_auth_with_requirepass() {
    let node = TestNode::start(NodeOpts::new().requirepass(PW));
    let mut p = node.conn().await;
    let refused = err(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO \
         AUTH <user> <pass> option can be used to authenticate the client and select the RESP \
         protocol version at the same time",
    );
    check!(p, ["HELLO", "3"], refused.clone());
    check!(p, ["HELLO"], refused.clone());
    check!(p, ["HELLO", "2", "SETNAME", "x"], refused);
    check!(
        p,
        ["HELLO", "3", "AUTH", "default", "wrong"],
        err(WRONGPASS)
    );
    check!(p, ["HELLO", "3", "AUTH", "bob", PW], err(WRONGPASS));
    check!(p, ["GET", "k"], err(NOAUTH));
    hello_fields(
        &q(
            &mut p,
            &["HELLO", "3", "AUTH", "default", PW, "SETNAME", "h"],
        )
        .await,
        3,
    );
    check!(p, ["GET", "k"], nil());
    check!(p, ["CLIENT", "GETNAME"], bulk("h"));
    hello_fields(&q(&mut p, &["HELLO"]).await, 3);
}

/// "RESET clears authenticated state" (other.tcl); QUIT and RESET need
/// no authentication.
#[tokio::test]
async fn reset_clears_authenticated_state() {
    let node = TestNode::start(NodeOpts::new().requirepass(PW));
    let mut p = node.conn().await;
    check!(p, ["RESET"], status("RESET"));
    check!(p, ["AUTH", PW], ok());
    check!(p, ["SET", "x", "1"], ok());
    check!(p, ["RESET"], status("RESET"));
    check!(p, ["GET", "x"], err(NOAUTH));
    let mut q2 = node.client().get_connection().expect("plain connection");
    let quit: Value = redis::cmd("QUIT").query(&mut q2).expect("QUIT before AUTH");
    assert_eq!(quit, Value::Okay);
}

/// The cluster client against a `requirepass` node: without a password
/// it cannot even read the topology (NOAUTH), with a wrong one AUTH
/// fails, with the right one (AUTH in RESP2, `HELLO 3 AUTH` in RESP3) it
/// works.
#[tokio::test]
async fn cluster_client_authenticates_with_password() {
    let node = TestNode::start(NodeOpts::new().requirepass(PW));
    let e = connect(builder(&node))
        .await
        .err()
        .expect("connected without a password");
    assert!(e.contains("NOAUTH"), "{e}");
    let e = connect(builder(&node).password("wrong"))
        .await
        .err()
        .expect("connected with a wrong password");
    // redis-rs reports a refused AUTH as its own AuthenticationFailed.
    assert!(
        e.contains("WRONGPASS") || e.contains("AuthenticationFailed"),
        "{e}"
    );
    for proto in [ProtocolVersion::RESP2, ProtocolVersion::RESP3] {
        let mut c = connect(builder(&node).password(PW).use_protocol(proto))
            .await
            .unwrap_or_else(|e| panic!("{proto:?} with the password: {e}"));
        check!(c, ["SET", "{a}k", "v"], ok());
        check!(c, ["GET", "{a}k"], bulk("v"));
        check!(c, ["DBSIZE"], int(1));
        check!(c, ["DEL", "{a}k"], int(1));
    }
    let mut c = connect(builder(&node).username("default").password(PW))
        .await
        .unwrap_or_else(|e| panic!("AUTH default <password>: {e}"));
    check!(c, ["PING"], status("PONG"));
}
