//! Redis's own cluster tools against one node: `redis-cli --cluster check`
//! must find every slot covered, and `redis-cli -c` must work.
//!
//! These run the real `redis-cli` binary; when it is not installed the
//! tests say so on stderr and pass without checking anything (the suite's
//! `scripts/test.sh` installs it). Run against real Redis to check the
//! expectations: `REDRAFT_TEST_SERVER=redis-server cargo test -p
//! redraft-integration --test cluster_tools`.

use std::process::Output;
use std::time::Duration;

use redraft_integration::tools::{have_tool, run_tool, strip_ansi};
use redraft_integration::{NodeOpts, Server, TestNode};

fn have_redis_cli(test: &str) -> bool {
    have_tool("redis-cli", test)
}

/// Runs `redis-cli args…`, killing it if it runs past 30 s.
fn redis_cli(args: &[&str]) -> Output {
    run_tool("redis-cli", args, Duration::from_secs(30))
}

fn cluster_check(node: &TestNode) -> (String, Output) {
    let out = redis_cli(&["--cluster", "check", &node.addr()]);
    let text = strip_ansi(&String::from_utf8_lossy(&out.stdout))
        + &strip_ansi(&String::from_utf8_lossy(&out.stderr));
    (text, out)
}

fn assert_check_ok(node: &TestNode, text: &str, out: &Output) {
    assert!(
        out.status.success(),
        "redis-cli --cluster check failed:\n{text}"
    );
    for line in [
        "[OK] All nodes agree about slots configuration.",
        "[OK] All 16384 slots covered.",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    assert!(
        !text.contains("[ERR]") && !text.contains("[WARNING]"),
        "errors or warnings in:\n{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("M: ") && l.ends_with(&format!(":{}", node.port()))),
        "no master line for port {} in:\n{text}",
        node.port()
    );
    assert!(
        text.lines()
            .any(|l| l.trim() == "slots:[0-16383] (16384 slots) master"),
        "the master does not own every slot as one range:\n{text}"
    );
}

#[test]
fn cluster_check_reports_every_slot_covered() {
    if !have_redis_cli("cluster_check_reports_every_slot_covered") {
        return;
    }
    let node = TestNode::start(NodeOpts::new());
    let mut c = node.raw();
    for key in ["a", "b", "{a}c"] {
        c.cmd(&["SET", key, "1"]).expect("SET");
    }
    let (text, out) = cluster_check(&node);
    assert_check_ok(&node, &text, &out);
    assert!(
        text.lines()
            .any(|l| l.starts_with("[OK] 3 keys in 1 masters.")),
        "key count from DBSIZE in:\n{text}"
    );
}

#[test]
fn cluster_check_merges_the_ranges_of_several_shards() {
    if !have_redis_cli("cluster_check_merges_the_ranges_of_several_shards") {
        return;
    }
    // Three Raft groups on one node still make one Redis master whose
    // ranges join up into 0-16383.
    let node = TestNode::start(NodeOpts::new().args(["--shards", "3"]).redraft_only());
    let (text, out) = cluster_check(&node);
    assert_check_ok(&node, &text, &out);
}

#[test]
fn redis_cli_cluster_mode_runs_commands() {
    if !have_redis_cli("redis_cli_cluster_mode_runs_commands") {
        return;
    }
    let node = TestNode::start(NodeOpts::new());
    let port = node.port().to_string();
    let run = |args: &[&str]| {
        let mut all = vec!["-c", "-p", &port];
        all.extend_from_slice(args);
        let out = redis_cli(&all);
        assert!(out.status.success(), "redis-cli {all:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    };
    // Keys in different slots, so a cluster client would route them apart.
    assert_eq!(run(&["SET", "foo", "1"]), "OK");
    assert_eq!(run(&["SET", "bar", "2"]), "OK");
    assert_eq!(run(&["GET", "foo"]), "1");
    assert_eq!(run(&["GET", "bar"]), "2");
    assert_eq!(run(&["CLUSTER", "KEYSLOT", "foo"]), "12182");
    let nodes = run(&["CLUSTER", "NODES"]);
    let fields: Vec<&str> = nodes.split(' ').collect();
    assert_eq!(fields.len(), 9, "one line, no replicas: {nodes:?}");
    assert_eq!(fields[2], "myself,master");
    assert_eq!(fields[8], "0-16383");
    if node.server() == Server::Redraft {
        assert_eq!(
            fields[1],
            format!("127.0.0.1:{port}@{}", node.port() as u32 + 10_000)
        );
    }
}
