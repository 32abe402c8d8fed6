//! Redis's own command-line tools against one node: `redis-cli -c` runs
//! SET/GET/INCR/EXPIRE/TTL/SCAN (one command per call, a piped script,
//! and `--scan`), and `redis-benchmark` runs SET, GET, INCR and MSET to
//! the end without a single error reply.
//!
//! `redis-cli --cluster check` is tested in `cluster_tools.rs`.
//!
//! How errors are found in a benchmark: redis-benchmark 7.0 stops at the
//! first error reply, printing `Error from server: …` and exiting with
//! status 1 (its `-e` flag no longer changes that). The test asserts the
//! exit status, the absence of that line, a CSV row for each of the four
//! tests, and that the node's `total_error_replies` (INFO stats) did not
//! move; a sanity case makes the node answer errors to show that each of
//! these checks would see them.
//!
//! The tools are real binaries; when one is not installed the test says
//! so on stderr and passes without checking anything (`scripts/test.sh`
//! installs them). Run against real Redis to check the expectations:
//! `REDRAFT_TEST_SERVER=redis-server cargo test -p redraft-integration
//! --test redis_tools`.

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use redraft_integration::raw::frame_text;
use redraft_integration::tools::have_tool;
use redraft_integration::{wait_until, NodeOpts, TestNode};

/// What a tool printed and how it ended.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `tool args…` with `stdin` as its input, killing it (and failing
/// the test) if it runs past `limit`.
fn run(tool: &str, args: &[&str], stdin: &[u8], limit: Duration) -> Run {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {tool}: {e}"));
    // Feed and drain the pipes on threads so that no full pipe stalls it.
    let mut input = child.stdin.take().expect("stdin");
    let script = stdin.to_vec();
    let in_t = std::thread::spawn(move || {
        let _ = input.write_all(&script);
    });
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            String::from_utf8_lossy(&v).into_owned()
        })
    };
    let out_t = drain(Box::new(child.stdout.take().expect("stdout")));
    let err_t = drain(Box::new(child.stderr.take().expect("stderr")));
    let mut status = None;
    let done = wait_until(Instant::now() + limit, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if !done {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{tool} {args:?} did not finish within {limit:?}");
    }
    let _ = in_t.join();
    Run {
        status: status.expect("exit status"),
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    }
}

/// `redis-cli -c -p PORT args…`; its output without the final newline.
fn cli(node: &TestNode, args: &[&str]) -> String {
    let port = node.port().to_string();
    let mut all = vec!["-c", "-p", port.as_str()];
    all.extend_from_slice(args);
    let r = run("redis-cli", &all, b"", Duration::from_secs(30));
    assert!(
        r.status.success(),
        "redis-cli {all:?}: {}{}",
        r.stdout,
        r.stderr
    );
    r.stdout.trim_end_matches('\n').to_string()
}

/// The node's `total_error_replies`.
fn error_replies(node: &TestNode) -> u64 {
    let info = node.raw().cmd(&["INFO", "stats"]).expect("INFO stats");
    let text = frame_text(&info);
    text.split("\r\n")
        .find_map(|l| l.strip_prefix("total_error_replies:"))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no total_error_replies in {text}"))
}

#[test]
fn redis_cli_runs_set_get_incr_expire_ttl_scan() {
    if !have_tool("redis-cli", "redis_cli_runs_set_get_incr_expire_ttl_scan") {
        return;
    }
    let node = TestNode::start(NodeOpts::new());
    // "foo" and "bar" live in different slots: redis-cli -c routes each.
    assert_eq!(cli(&node, &["SET", "foo", "10"]), "OK");
    assert_eq!(cli(&node, &["SET", "bar", "hello"]), "OK");
    assert_eq!(cli(&node, &["GET", "foo"]), "10");
    assert_eq!(cli(&node, &["GET", "bar"]), "hello");
    assert_eq!(cli(&node, &["INCR", "foo"]), "11");
    assert_eq!(cli(&node, &["INCRBY", "foo", "5"]), "16");
    assert_eq!(cli(&node, &["TTL", "foo"]), "-1");
    assert_eq!(cli(&node, &["EXPIRE", "foo", "100"]), "1");
    let ttl: i64 = cli(&node, &["TTL", "foo"])
        .parse()
        .expect("TTL is a number");
    assert!((99..=100).contains(&ttl), "TTL {ttl}");
    assert_eq!(cli(&node, &["TTL", "nokey"]), "-2");
    assert_eq!(cli(&node, &["GET", "nokey"]), "");
    let scan = cli(&node, &["SCAN", "0", "COUNT", "1000"]);
    let mut lines: Vec<&str> = scan.lines().collect();
    assert_eq!(lines.first(), Some(&"0"), "one page, cursor 0: {scan:?}");
    lines.remove(0);
    lines.sort();
    assert_eq!(lines, ["bar", "foo"]);
    let matched = cli(&node, &["SCAN", "0", "MATCH", "f*", "COUNT", "1000"]);
    assert_eq!(matched, "0\nfoo");
    // redis-cli's own SCAN loop.
    for i in 0..30 {
        assert_eq!(cli(&node, &["SET", &format!("user:{i}"), "v"]), "OK");
    }
    let mut scanned: Vec<String> = cli(&node, &["--scan", "--pattern", "user:*"])
        .lines()
        .map(str::to_string)
        .collect();
    scanned.sort();
    let mut want: Vec<String> = (0..30).map(|i| format!("user:{i}")).collect();
    want.sort();
    assert_eq!(scanned, want);
}

#[test]
fn redis_cli_runs_a_piped_script() {
    if !have_tool("redis-cli", "redis_cli_runs_a_piped_script") {
        return;
    }
    let node = TestNode::start(NodeOpts::new());
    let port = node.port().to_string();
    let script = "SET foo 10\nGET foo\nINCR foo\nEXPIRE foo 100\nPERSIST foo\nTTL foo\n\
                  SET bar 1\nGET nokey\nSCAN 0 MATCH b* COUNT 1000\nDEL foo\n";
    let r = run(
        "redis-cli",
        &["-c", "-p", &port],
        script.as_bytes(),
        Duration::from_secs(30),
    );
    assert!(r.status.success(), "{}{}", r.stdout, r.stderr);
    // Not a terminal: replies without type decorations, nil as "".
    let want = ["OK", "10", "11", "1", "1", "-1", "OK", "", "0", "bar", "1"];
    assert_eq!(r.stdout.lines().collect::<Vec<_>>(), want, "{:?}", r.stdout);
}

#[test]
fn redis_benchmark_set_get_incr_mset_without_error_replies() {
    if !have_tool(
        "redis-benchmark",
        "redis_benchmark_set_get_incr_mset_without_error_replies",
    ) {
        return;
    }
    let node = TestNode::start(NodeOpts::new());
    let port = node.port().to_string();
    let before = error_replies(&node);
    let args = [
        "-p",
        &port,
        "-n",
        "20000",
        "-P",
        "16",
        "-t",
        "set,get,incr,mset",
        "--csv",
    ];
    let r = run("redis-benchmark", &args, b"", Duration::from_secs(300));
    let output = format!("{}{}", r.stdout, r.stderr);
    assert!(
        r.status.success(),
        "redis-benchmark {args:?} failed:\n{output}"
    );
    assert!(!output.contains("Error from server"), "{output}");
    for test in ["SET", "GET", "INCR", "MSET (10 keys)"] {
        let row = r
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("\"{test}\",")))
            .unwrap_or_else(|| panic!("no CSV row for {test}:\n{output}"));
        let rps: f64 = row
            .split(',')
            .nth(1)
            .and_then(|v| v.trim_matches('"').parse().ok())
            .unwrap_or_else(|| panic!("no rps in {row}"));
        assert!(rps > 0.0, "{row}");
    }
    assert_eq!(error_replies(&node) - before, 0, "the node answered errors");
    // The benchmark's keys hold what it wrote: INCR counted every request.
    let mut c = node.raw();
    let counter = frame_text(&c.cmd(&["GET", "counter:__rand_int__"]).expect("GET"));
    assert_eq!(counter, "20000");
}

/// Sanity for the test above: a benchmark whose commands fail is caught
/// by each of its checks (exit status, message, error counter).
#[test]
fn redis_benchmark_error_replies_are_detected() {
    if !have_tool(
        "redis-benchmark",
        "redis_benchmark_error_replies_are_detected",
    ) {
        return;
    }
    let node = TestNode::start(NodeOpts::new());
    let port = node.port().to_string();
    let before = error_replies(&node);
    let args = ["-p", &port, "-n", "100", "--csv", "SELECT", "1"];
    let r = run("redis-benchmark", &args, b"", Duration::from_secs(60));
    let output = format!("{}{}", r.stdout, r.stderr);
    assert!(!r.status.success(), "{output}");
    assert!(
        output.contains("Error from server: ERR SELECT is not allowed in cluster mode"),
        "{output}"
    );
    assert!(error_replies(&node) > before);
}
