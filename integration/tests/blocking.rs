//! Blocking pops (BLPOP, BLMOVE, BZPOPMIN, …) on one node: FIFO wake-up of
//! several blocked clients, timeouts, and timeout errors, compared byte for
//! byte with what redis-server 7.0 answers.

use std::time::{Duration, Instant};

use redraft_integration::raw::RawConn;
use redraft_integration::{wait_until, NodeOpts, TestNode};

fn conn(node: &TestNode) -> RawConn {
    RawConn::connect(node.socket_addr()).expect("connect")
}

/// The raw reply to `args`.
fn raw(c: &mut RawConn, args: &[&str]) -> String {
    c.send_cmd(args).expect("send");
    String::from_utf8_lossy(&c.read_reply_bytes().expect("reply")).into_owned()
}

/// INFO's blocked_clients.
fn blocked(c: &mut RawConn) -> u64 {
    let info = raw(c, &["INFO", "clients"]);
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("blocked_clients in INFO")
}

/// Sends `args` on a new connection and waits until the node counts one
/// more blocked client.
fn block(node: &TestNode, ctl: &mut RawConn, args: &[&str]) -> RawConn {
    let before = blocked(ctl);
    let mut c = conn(node);
    c.send_cmd(args).expect("send");
    assert!(
        wait_until(Instant::now() + Duration::from_secs(10), || blocked(ctl)
            > before),
        "{args:?} did not block"
    );
    c
}

#[test]
fn blpop_serves_blocked_clients_in_fifo_order() {
    let node = TestNode::start(NodeOpts::new());
    let mut ctl = conn(&node);
    raw(&mut ctl, &["DEL", "{b}l"]);
    let mut waiters: Vec<RawConn> = (0..3)
        .map(|_| block(&node, &mut ctl, &["BLPOP", "{b}l", "{b}other", "0"]))
        .collect();
    assert_eq!(raw(&mut ctl, &["RPUSH", "{b}l", "a", "b", "c"]), ":3\r\n");
    for (w, v) in waiters.iter_mut().zip(["a", "b", "c"]) {
        assert_eq!(
            String::from_utf8_lossy(&w.read_reply_bytes().expect("BLPOP reply")),
            format!("*2\r\n$4\r\n{{b}}l\r\n$1\r\n{v}\r\n")
        );
    }
    assert_eq!(raw(&mut ctl, &["EXISTS", "{b}l"]), ":0\r\n");
    assert!(wait_until(
        Instant::now() + Duration::from_secs(5),
        || blocked(&mut ctl) == 0
    ));
}

#[test]
fn blpop_one_element_each_wakes_waiters_in_order() {
    let node = TestNode::start(NodeOpts::new());
    let mut ctl = conn(&node);
    let mut first = block(&node, &mut ctl, &["BRPOP", "q", "0"]);
    let mut second = block(&node, &mut ctl, &["BRPOP", "q", "0"]);
    assert_eq!(raw(&mut ctl, &["LPUSH", "q", "1"]), ":1\r\n");
    assert_eq!(
        String::from_utf8_lossy(&first.read_reply_bytes().expect("first")),
        "*2\r\n$1\r\nq\r\n$1\r\n1\r\n"
    );
    assert_eq!(raw(&mut ctl, &["LPUSH", "q", "2"]), ":1\r\n");
    assert_eq!(
        String::from_utf8_lossy(&second.read_reply_bytes().expect("second")),
        "*2\r\n$1\r\nq\r\n$1\r\n2\r\n"
    );
}

#[test]
fn blpop_times_out_with_a_null_array() {
    let node = TestNode::start(NodeOpts::new());
    let mut c = conn(&node);
    let start = Instant::now();
    assert_eq!(raw(&mut c, &["BLPOP", "empty", "0.3"]), "*-1\r\n");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(300),
        "returned after {took:?}"
    );
    assert!(took < Duration::from_secs(5), "returned after {took:?}");
    // The connection serves on; BLMOVE too times out with a null array.
    assert_eq!(
        raw(&mut c, &["BLMOVE", "{e}1", "{e}2", "LEFT", "RIGHT", "0.1"]),
        "*-1\r\n"
    );
    // RESP3: the null of a timed-out pop is `_`.
    c.send_cmd(&["HELLO", "3"]).expect("send");
    c.read_reply_bytes3().expect("HELLO");
    c.send_cmd(&["BZPOPMIN", "empty", "0.1"]).expect("send");
    assert_eq!(c.read_reply_bytes3().expect("BZPOPMIN"), b"_\r\n");
}

#[test]
fn blmove_and_bzpopmin_pop_at_once_and_when_woken() {
    let node = TestNode::start(NodeOpts::new());
    let mut ctl = conn(&node);
    assert_eq!(raw(&mut ctl, &["RPUSH", "{m}src", "a", "b"]), ":2\r\n");
    assert_eq!(
        raw(
            &mut ctl,
            &["BLMOVE", "{m}src", "{m}dst", "RIGHT", "LEFT", "0"]
        ),
        "$1\r\nb\r\n"
    );
    let mut w = block(
        &node,
        &mut ctl,
        &["BLMOVE", "{m}empty", "{m}dst", "LEFT", "LEFT", "0"],
    );
    assert_eq!(raw(&mut ctl, &["RPUSH", "{m}empty", "z"]), ":1\r\n");
    assert_eq!(
        String::from_utf8_lossy(&w.read_reply_bytes().expect("BLMOVE")),
        "$1\r\nz\r\n"
    );
    assert_eq!(
        raw(&mut ctl, &["LRANGE", "{m}dst", "0", "-1"]),
        "*2\r\n$1\r\nz\r\n$1\r\nb\r\n"
    );

    let mut z = block(&node, &mut ctl, &["BZPOPMIN", "zs", "0"]);
    assert_eq!(
        raw(&mut ctl, &["ZADD", "zs", "2", "two", "1", "one"]),
        ":2\r\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&z.read_reply_bytes().expect("BZPOPMIN")),
        "*3\r\n$2\r\nzs\r\n$3\r\none\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        raw(&mut ctl, &["BZPOPMAX", "zs", "0"]),
        "*3\r\n$2\r\nzs\r\n$3\r\ntwo\r\n$1\r\n2\r\n"
    );
}

#[test]
fn timeout_errors_and_multi() {
    let node = TestNode::start(NodeOpts::new());
    let mut c = conn(&node);
    for (args, want) in [
        (&["BLPOP", "k", "-1"][..], "-ERR timeout is negative\r\n"),
        (
            &["BLPOP", "k", "abc"][..],
            "-ERR timeout is not a float or out of range\r\n",
        ),
        (
            &["BZPOPMIN", "k", "1x"][..],
            "-ERR timeout is not a float or out of range\r\n",
        ),
        (
            &["BLMPOP", "-1", "1", "k", "LEFT"][..],
            "-ERR timeout is negative\r\n",
        ),
    ] {
        assert_eq!(raw(&mut c, args), want, "{args:?}");
    }
    // Inside MULTI a blocking pop never blocks.
    assert_eq!(raw(&mut c, &["MULTI"]), "+OK\r\n");
    assert_eq!(raw(&mut c, &["BLPOP", "nothing", "0"]), "+QUEUED\r\n");
    assert_eq!(raw(&mut c, &["EXEC"]), "*1\r\n*-1\r\n");
}

/// Redis answers clients blocked on a master that a failover turns into a
/// replica with `-UNBLOCKED …` and closes their connection
/// (`disconnectAllBlockedClients`). In redraft the failover is a leader
/// change of the key's shard: the old leader is paused past an election
/// timeout, another node takes over, and the blocked client, once its node
/// runs again, gets that error and the connection closes.
#[test]
fn blocked_client_is_unblocked_when_its_node_loses_leadership() {
    use redraft_integration::cluster::{key_in, key_slot, ClusterOpts, TestCluster};

    let mut cluster = TestCluster::start(ClusterOpts::new());
    let key = key_in("unblock", |_| true).expect("a key");
    let slot = key_slot(key.as_bytes());
    let deadline = Instant::now() + Duration::from_secs(30);
    let leader = cluster
        .wait_leader_of_slot(slot, deadline)
        .expect("the key's shard has a leader");
    let node = cluster.node(leader);
    let mut ctl = conn(node);
    let mut waiter = block(node, &mut ctl, &["BLPOP", &key, "0"]);
    drop(ctl);

    cluster.pause(leader);
    let moved = wait_until(Instant::now() + Duration::from_secs(30), || {
        cluster.leader_of_slot(slot).is_some_and(|l| l != leader)
    });
    assert!(moved, "no other node took over slot {slot}");
    cluster.resume(leader);

    waiter
        .set_timeout(Duration::from_secs(20))
        .expect("read timeout");
    assert_eq!(
        String::from_utf8_lossy(&waiter.read_reply_bytes().expect("BLPOP reply")),
        format!("-{}\r\n", UNBLOCKED)
    );
    assert!(
        waiter.closed_within(Duration::from_secs(5)),
        "the connection stays open after UNBLOCKED"
    );
    // The list is untouched, and a push lands on the new leader.
    let mut client = cluster.client().get_connection().expect("cluster client");
    let len: i64 = redis::cmd("RPUSH")
        .arg(&key)
        .arg("x")
        .query(&mut client)
        .expect("RPUSH");
    assert_eq!(len, 1);
}

/// Redis 7.0's text for clients unblocked by a master → replica change.
const UNBLOCKED: &str =
    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)";
