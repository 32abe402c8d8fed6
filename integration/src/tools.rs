//! Running external tools (redis-cli, redis-benchmark) from tests: whether
//! one is installed, running one with a time limit, and cleaning its output.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::wait_until;

/// Whether `tool` runs here; prints why the test is skipped if not.
pub fn have_tool(tool: &str, test: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED {test}: {tool} is not installed (apt-get install redis-tools)");
    }
    ok
}

/// Runs `program args…`, killing it (and failing the test) after `limit`.
/// Both pipes are read on threads so a full pipe cannot stall the child.
pub fn run_tool(program: &str, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let mut status = None;
    let done = wait_until(Instant::now() + limit, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if !done {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{program} {args:?} did not finish within {limit:?}");
    }
    Output {
        status: status.expect("exit status"),
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    }
}

/// The text without ANSI colour sequences (redis-cli colours its
/// `--cluster` output even when it is not a terminal).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs `redis-cli --cluster check ADDR` and asserts what a healthy
/// cluster prints: exit 0, every slot covered, all nodes agreeing, no
/// `[ERR]`, and every address of `nodes` listed. Returns the output.
pub fn assert_cluster_check_ok(addr: &str, nodes: &[String]) -> String {
    let out = run_tool(
        "redis-cli",
        &["--cluster", "check", addr],
        Duration::from_secs(30),
    );
    let text = strip_ansi(&String::from_utf8_lossy(&out.stdout))
        + &strip_ansi(&String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "redis-cli --cluster check {addr} failed:\n{text}"
    );
    for line in [
        "[OK] All 16384 slots covered.",
        "[OK] All nodes agree about slots configuration.",
    ] {
        assert!(
            text.lines().any(|l| l.trim() == line),
            "--cluster check {addr}: missing {line:?} in:\n{text}"
        );
    }
    assert!(
        !text.contains("[ERR]"),
        "--cluster check {addr}: errors in:\n{text}"
    );
    for other in nodes {
        assert!(
            text.contains(other.as_str()),
            "--cluster check {addr} does not list {other}:\n{text}"
        );
    }
    text
}

/// [`assert_cluster_check_ok`] once `redis-cli --cluster check ADDR`
/// passes, tried again for up to `within` while it fails: right after a
/// membership change, leaders move to their preferred nodes and the
/// nodes learn them by gossip, so for a moment they may disagree.
pub fn assert_cluster_check_settles(addr: &str, nodes: &[String], within: Duration) -> String {
    let _ = wait_until(Instant::now() + within, || {
        run_tool(
            "redis-cli",
            &["--cluster", "check", addr],
            Duration::from_secs(30),
        )
        .status
        .success()
    });
    assert_cluster_check_ok(addr, nodes)
}
