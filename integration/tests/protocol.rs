//! Raw-byte protocol tests: malformed requests, inline commands,
//! pipelining and RESP3, byte for byte as redis-server 7.0 answers them.
//!
//! Test names follow redis's `tests/unit/protocol.tcl` where a case comes
//! from there. Every malformed request must get Redis's exact error and a
//! closed connection, and the node must go on serving: a connection opened
//! before the bad bytes (a bystander) and a new one both still get PONG.
//!
//! Run against real Redis to check the expectations:
//! `REDRAFT_TEST_SERVER=redis-server cargo test -p redraft-integration
//! --test protocol` (tests of redraft-only flags then run on redraft).

use std::io::Write;
use std::net::Shutdown;
use std::time::{Duration, Instant};

use redraft_integration::raw::{encode_cmd, frame_text, Frame, Frame3, RawConn};
use redraft_integration::{NodeOpts, TestNode};

fn start() -> TestNode {
    TestNode::start(NodeOpts::new())
}

fn connect(node: &TestNode) -> RawConn {
    RawConn::connect(node.socket_addr())
        .unwrap_or_else(|e| panic!("connect to {}: {e}", node.addr()))
}

/// PING on `c` answers PONG.
fn assert_pong(c: &mut RawConn, who: &str) {
    match c.cmd(&["PING"]) {
        Ok(Frame::SimpleString(s)) if s == b"PONG" => {}
        other => panic!("{who}: PING got {other:?}"),
    }
}

/// A connection that may run commands: authenticated when the node
/// wants a password.
fn served(node: &TestNode) -> RawConn {
    let mut c = connect(node);
    if let Some(pw) = node.requirepass() {
        let reply = c.cmd(&["AUTH", pw]).expect("AUTH");
        assert_eq!(frame_text(&reply), "OK", "AUTH");
    }
    c
}

/// A connection that is open and served before the bad input arrives.
fn bystander(node: &TestNode) -> RawConn {
    let mut c = served(node);
    assert_pong(&mut c, "bystander before");
    c
}

/// The bystander and a brand-new connection are both still served.
fn assert_still_serving(node: &TestNode, mut bystander: RawConn) {
    assert_pong(&mut bystander, "bystander after the bad input");
    assert_pong(&mut served(node), "a new connection after the bad input");
}

/// Sends `payload` on a new connection and asserts that the server replies
/// exactly `-<error>\r\n` and closes the connection, and that other
/// clients are still served.
fn assert_protocol_error(node: &TestNode, payload: &[u8], error: &str) {
    let other = bystander(node);
    let mut c = connect(node);
    c.send(payload).expect("send");
    let got = c
        .read_until_close()
        .unwrap_or_else(|e| panic!("after {:?}: {e}", String::from_utf8_lossy(payload)));
    assert_eq!(
        String::from_utf8_lossy(&got),
        format!("-{error}\r\n"),
        "reply to {:?}",
        String::from_utf8_lossy(&payload[..payload.len().min(64)])
    );
    assert_still_serving(node, other);
}

/// Sends `payload`, which must get no reply at all, then PING on the same
/// connection: the bytes were skipped and the connection lives on.
fn assert_ignored(node: &TestNode, payload: &[u8]) {
    let other = bystander(node);
    let mut c = connect(node);
    c.send(payload).expect("send");
    c.send(&encode_cmd(&["PING"])).expect("send");
    let reply = c.read_reply_bytes().expect("reply");
    assert_eq!(
        String::from_utf8_lossy(&reply),
        "+PONG\r\n",
        "after {:?}",
        String::from_utf8_lossy(payload)
    );
    assert_still_serving(node, other);
}

/// Sends `payload`, an incomplete request, and asserts that the server
/// waits for the rest (no reply, connection open) while serving others.
fn assert_waits_for_more(node: &TestNode, payload: &[u8]) {
    let other = bystander(node);
    let mut c = connect(node);
    c.send(payload).expect("send");
    assert!(
        !c.closed_within(Duration::from_millis(300)),
        "closed after the incomplete request {:?}",
        String::from_utf8_lossy(payload)
    );
    assert_still_serving(node, other);
    // Still open and silent: nothing was answered meanwhile.
    assert!(!c.closed_within(Duration::from_millis(50)));
}

// -- tests/unit/protocol.tcl -------------------------------------------------

#[test]
fn handle_an_empty_query() {
    let node = start();
    assert_ignored(&node, b"\r\n");
    assert_ignored(&node, b"   \r\n");
    assert_ignored(&node, b"\n");
}

#[test]
fn negative_multibulk_length() {
    let node = start();
    assert_ignored(&node, b"*-10\r\n");
    assert_ignored(&node, b"*0\r\n");
    assert_ignored(&node, b"*-9223372036854775808\r\n");
}

#[test]
fn out_of_range_multibulk_length() {
    let node = start();
    assert_protocol_error(
        &node,
        b"*3000000000\r\n",
        "ERR Protocol error: invalid multibulk length",
    );
    // One past INT_MAX is refused; INT_MAX itself is awaited.
    assert_protocol_error(
        &node,
        b"*2147483648\r\n",
        "ERR Protocol error: invalid multibulk length",
    );
    assert_protocol_error(
        &node,
        b"*9223372036854775808\r\n",
        "ERR Protocol error: invalid multibulk length",
    );
    assert_waits_for_more(&node, b"*2147483647\r\n");
}

#[test]
fn wrong_multibulk_payload_header() {
    let node = start();
    assert_protocol_error(
        &node,
        b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
        "ERR Protocol error: expected '$', got 'f'",
    );
}

#[test]
fn negative_multibulk_payload_length() {
    let node = start();
    assert_protocol_error(
        &node,
        b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n",
        "ERR Protocol error: invalid bulk length",
    );
    assert_protocol_error(
        &node,
        b"*1\r\n$-1\r\n",
        "ERR Protocol error: invalid bulk length",
    );
}

#[test]
fn out_of_range_multibulk_payload_length() {
    let node = start();
    assert_protocol_error(
        &node,
        b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n",
        "ERR Protocol error: invalid bulk length",
    );
    // proto-max-bulk-len is 512 MB: one byte more is refused, exactly 512 MB
    // is awaited (and nothing is allocated up front).
    assert_protocol_error(
        &node,
        b"*1\r\n$536870913\r\n",
        "ERR Protocol error: invalid bulk length",
    );
    assert_waits_for_more(&node, b"*1\r\n$536870912\r\n");
}

#[test]
fn non_number_multibulk_payload_length() {
    let node = start();
    for bad in [&b"blabla"[..], b"", b"01", b"+4", b"-0", b"4 ", b"0x10"] {
        let mut payload = b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$".to_vec();
        payload.extend_from_slice(bad);
        payload.extend_from_slice(b"\r\n");
        assert_protocol_error(&node, &payload, "ERR Protocol error: invalid bulk length");
    }
}

#[test]
fn multi_bulk_request_not_followed_by_bulk_arguments() {
    let node = start();
    assert_protocol_error(
        &node,
        b"*1\r\nfoo\r\n",
        "ERR Protocol error: expected '$', got 'f'",
    );
}

#[test]
fn generic_wrong_number_of_args() {
    let node = start();
    let mut c = connect(&node);
    c.send(b"*4\r\n$4\r\nping\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n")
        .expect("send");
    let reply = c.read_reply_bytes().expect("reply");
    assert_eq!(
        String::from_utf8_lossy(&reply),
        "-ERR wrong number of arguments for 'ping' command\r\n"
    );
    // A command error keeps the connection.
    assert_pong(&mut c, "after a command error");
}

#[test]
fn unbalanced_number_of_quotes_in_inline_protocol() {
    let node = start();
    let error = "ERR Protocol error: unbalanced quotes in request";
    assert_protocol_error(
        &node,
        b"set \"\"\"test-key\"\"\" test-value\r\nping\r\n",
        error,
    );
    assert_protocol_error(&node, b"'\r\n", error);
    assert_protocol_error(&node, b"ping \"x\r\n", error);
    // A closing quote must be followed by a space.
    assert_protocol_error(&node, b"\"a\"b\r\n", error);
}

/// protocol.tcl's desync test: a prefix, then a line that never ends. The
/// server must refuse with a protocol error and close once the line passes
/// 64 KB, instead of buffering forever.
fn desync(node: &TestNode, prefix: &[u8], error: &str) {
    let other = bystander(node);
    let mut c = connect(node);
    c.send(prefix).expect("send");
    let mut writer = c.stream().try_clone().expect("clone stream");
    // Write from a thread: the server stops reading once it has refused.
    let feeder = std::thread::spawn(move || {
        let chunk = b"payload".repeat(1024);
        let mut sent = 0usize;
        let deadline = Instant::now() + Duration::from_secs(30);
        while sent < (64 << 20) && Instant::now() < deadline {
            match writer.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        let _ = writer.shutdown(Shutdown::Write);
        sent
    });
    let got = c.read_until_close().expect("server closes");
    let sent = feeder.join().expect("feeder thread");
    let first_line = got.split(|&b| b == b'\n').next().unwrap_or_default();
    assert_eq!(
        String::from_utf8_lossy(first_line),
        format!("-{error}\r"),
        "after {sent} bytes"
    );
    assert!(
        sent < (64 << 20),
        "the server read 64 MB of an endless line"
    );
    assert_still_serving(node, other);
}

#[test]
fn protocol_desync_regression_test() {
    let node = start();
    desync(&node, b"\x00", "ERR Protocol error: too big inline request");
    desync(
        &node,
        b"*\x00",
        "ERR Protocol error: too big mbulk count string",
    );
    desync(
        &node,
        b"$\x00",
        "ERR Protocol error: too big inline request",
    );
}

#[test]
fn raw_protocol_response() {
    // protocol.tcl checks SRANDMEMBER's null reply; GET has the same one.
    let node = start();
    let mut c = connect(&node);
    c.send(b"*2\r\n$3\r\nGET\r\n$15\r\nnonexisting_key\r\n")
        .expect("send");
    assert_eq!(c.read_reply_bytes().expect("reply"), b"$-1\r\n");
    c.send(b"*3\r\n$3\r\nSET\r\n$3\r\nraw\r\n$1\r\nv\r\n")
        .expect("send");
    assert_eq!(c.read_reply_bytes().expect("reply"), b"+OK\r\n");
    c.send(b"*2\r\n$3\r\nGET\r\n$3\r\nraw\r\n").expect("send");
    assert_eq!(c.read_reply_bytes().expect("reply"), b"$1\r\nv\r\n");
}

#[test]
fn test_large_number_of_args() {
    // protocol.tcl sends MSET with 20,000 arguments; DEL exercises the same
    // parsing with one hash tag, so the request stays in one slot.
    let node = start();
    let mut c = connect(&node);
    assert_eq!(
        frame_text(&c.cmd(&["SET", "{big}k", "v"]).expect("SET")),
        "OK"
    );
    let mut args = vec!["DEL".to_string()];
    args.extend((0..20_000).map(|i| format!("{{big}}missing:{i}")));
    args.push("{big}k".into());
    assert_eq!(c.cmd(&args).expect("DEL"), Frame::Integer(1));
    assert_eq!(c.cmd(&["GET", "{big}k"]).expect("GET"), Frame::Null);
}

// -- beyond protocol.tcl -------------------------------------------------------

#[test]
fn a_bad_type_byte_inside_a_multibulk_is_a_protocol_error() {
    let node = start();
    for (payload, got) in [
        (&b"*1\r\n+PING\r\n"[..], '+'),
        (b"*1\r\n:1\r\n", ':'),
        (b"*1\r\n*1\r\n$4\r\nPING\r\n", '*'),
        (b"*2\r\n$3\r\nGET\r\n-k\r\n", '-'),
    ] {
        assert_protocol_error(
            &node,
            payload,
            &format!("ERR Protocol error: expected '$', got '{got}'"),
        );
    }
}

#[test]
fn any_other_first_byte_starts_an_inline_command() {
    // Only '*' starts a multibulk; '+', ':', '$', '-' lines are inline
    // commands with odd names, answered without closing.
    let node = start();
    let mut c = connect(&node);
    for (line, name) in [
        ("+PING", "+PING"),
        (":1", ":1"),
        ("$4", "$4"),
        ("-ERR x", "-ERR"),
    ] {
        c.send(format!("{line}\r\n").as_bytes()).expect("send");
        let reply = c.read_reply_bytes().expect("reply");
        let args = line
            .split(' ')
            .skip(1)
            .map(|a| format!("'{a}' "))
            .collect::<String>();
        assert_eq!(
            String::from_utf8_lossy(&reply),
            format!("-ERR unknown command '{name}', with args beginning with: {args}\r\n"),
        );
    }
    assert_pong(&mut c, "after odd inline commands");
}

#[test]
fn non_numeric_and_malformed_multibulk_lengths() {
    let node = start();
    for bad in [
        &b"*abc\r\n"[..],
        b"*\r\n",
        b"*01\r\n",
        b"*+1\r\n",
        b"*-0\r\n",
        b"*1 \r\n",
        b"* 1\r\n",
    ] {
        assert_protocol_error(&node, bad, "ERR Protocol error: invalid multibulk length");
    }
}

#[test]
fn too_big_count_strings_and_inline_requests() {
    let node = start();
    let mut mbulk = b"*".to_vec();
    mbulk.extend(std::iter::repeat_n(b'1', 70_000));
    assert_protocol_error(
        &node,
        &mbulk,
        "ERR Protocol error: too big mbulk count string",
    );
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(std::iter::repeat_n(b'1', 70_000));
    assert_protocol_error(
        &node,
        &bulk,
        "ERR Protocol error: too big bulk count string",
    );
    let inline = vec![b'a'; 70_000];
    assert_protocol_error(&node, &inline, "ERR Protocol error: too big inline request");
}

#[test]
fn truncated_frames_then_close_do_not_run_or_kill_anything() {
    let node = start();
    let fragments: [&[u8]; 6] = [
        b"*3\r\n$3\r\nSET\r\n$9\r\ntruncated\r\n$10\r\nabc",
        b"*3\r\n$3\r\nSET\r\n$9\r\ntrunc",
        b"*3\r\n$3\r\nSET\r\n$9\r\ntruncated\r\n$1\r\nv",
        b"*3\r\n",
        b"*",
        b"SET truncated inline-without-newline",
    ];
    for fragment in fragments {
        let other = bystander(&node);
        let mut c = connect(&node);
        c.send(fragment).expect("send");
        assert!(!c.closed_within(Duration::from_millis(100)), "closed early");
        drop(c);
        assert_still_serving(&node, other);
        let mut c = connect(&node);
        assert_eq!(
            c.cmd(&["GET", "truncated"]).expect("GET"),
            Frame::Null,
            "a partial request ran: {:?}",
            String::from_utf8_lossy(fragment)
        );
    }
}

#[test]
fn a_request_sent_one_byte_at_a_time_is_parsed_whole() {
    let node = start();
    let mut c = connect(&node);
    let mut bytes = encode_cmd(&["SET", "bytewise", "value with spaces"]);
    bytes.extend_from_slice(b"GET bytewise\r\n");
    for b in &bytes {
        c.send(std::slice::from_ref(b)).expect("send");
    }
    assert_eq!(c.read_reply_bytes().expect("SET"), b"+OK\r\n");
    assert_eq!(
        c.read_reply_bytes().expect("GET"),
        b"$17\r\nvalue with spaces\r\n"
    );
}

#[test]
fn a_bulk_may_hold_crlf_and_the_two_bytes_after_it_are_not_checked() {
    // Redis takes the two bytes after a bulk as its terminator unchecked.
    let node = start();
    let mut c = connect(&node);
    c.send(b"*3\r\n$3\r\nSET\r\n$2\r\ncr\r\n$4\r\na\r\nbXY")
        .expect("send");
    assert_eq!(c.read_reply_bytes().expect("SET"), b"+OK\r\n");
    assert_eq!(
        c.cmd(&["GET", "cr"]).expect("GET"),
        Frame::BulkString(b"a\r\nb".to_vec())
    );
}

#[test]
fn proto_max_bulk_len_is_configurable() {
    let node = TestNode::start(
        NodeOpts::new()
            .redraft_only()
            .args(["--proto-max-bulk-len", "1000"]),
    );
    let mut c = connect(&node);
    let v = "v".repeat(1000);
    assert_eq!(frame_text(&c.cmd(&["SET", "k", &v]).expect("SET")), "OK");
    assert_protocol_error(
        &node,
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1001\r\n",
        "ERR Protocol error: invalid bulk length",
    );
}

#[test]
fn unauthenticated_clients_may_not_announce_big_requests() {
    let node = TestNode::start(NodeOpts::new().requirepass("secret"));
    assert_protocol_error(
        &node,
        b"*11\r\n",
        "ERR Protocol error: unauthenticated multibulk length",
    );
    assert_protocol_error(
        &node,
        b"*1\r\n$16385\r\n",
        "ERR Protocol error: unauthenticated bulk length",
    );
    assert_waits_for_more(&node, b"*10\r\n$16384\r\n");
    // After AUTH the usual limits apply, also to requests pipelined
    // behind the AUTH.
    let mut c = connect(&node);
    c.send(&encode_cmd(&["AUTH", "secret"])).expect("send");
    c.send(b"*11\r\n$4\r\nPING\r\n").expect("send");
    assert_eq!(c.read_reply_bytes().expect("AUTH"), b"+OK\r\n");
    assert!(!c.closed_within(Duration::from_millis(200)));
}

#[test]
fn inline_commands() {
    let node = start();
    let mut c = connect(&node);
    c.send(b"PING\r\n").expect("send");
    assert_eq!(c.read_reply_bytes().expect("PING"), b"+PONG\r\n");
    // A bare LF ends an inline command too.
    c.send(b"PING\n").expect("send");
    assert_eq!(c.read_reply_bytes().expect("PING"), b"+PONG\r\n");
    c.send(b"  ping   hello  \r\n").expect("send");
    assert_eq!(
        c.read_reply_bytes().expect("PING hello"),
        b"$5\r\nhello\r\n"
    );
    c.send(b"SET \"in line\" \"a\\x41b\\n\"\r\nGET 'in line'\r\n")
        .expect("send");
    assert_eq!(c.read_reply_bytes().expect("SET"), b"+OK\r\n");
    assert_eq!(c.read_reply_bytes().expect("GET"), b"$4\r\naAb\n\r\n");
    // Inline and multibulk requests mix in one pipeline.
    let mut mixed = b"PING\r\n".to_vec();
    mixed.extend(encode_cmd(&["PING", "x"]));
    mixed.extend_from_slice(b"PING\r\n");
    c.send(&mixed).expect("send");
    assert_eq!(c.read_reply_bytes().expect("1"), b"+PONG\r\n");
    assert_eq!(c.read_reply_bytes().expect("2"), b"$1\r\nx\r\n");
    assert_eq!(c.read_reply_bytes().expect("3"), b"+PONG\r\n");
}

#[test]
fn pipelining_10000_commands_get_10000_replies_in_order() {
    let node = start();
    let n = 10_000;
    let mut payload = Vec::new();
    for i in 0..n {
        payload.extend(match i % 3 {
            0 => encode_cmd(&["PING".to_string(), format!("p{i}")]),
            1 => encode_cmd(&["SET".to_string(), format!("{{pipe}}:{i}"), format!("v{i}")]),
            _ => encode_cmd(&["GET".to_string(), format!("{{pipe}}:{}", i - 1)]),
        });
    }
    let mut c = connect(&node);
    c.set_timeout(Duration::from_secs(60)).expect("timeout");
    // Write from a thread: replies must be read while requests go out, or
    // both sides' buffers can fill up.
    let mut writer = c.stream().try_clone().expect("clone stream");
    let feeder = std::thread::spawn(move || writer.write_all(&payload));
    for i in 0..n {
        let reply = c.read_frame().unwrap_or_else(|e| panic!("reply #{i}: {e}"));
        let want = match i % 3 {
            0 => Frame::BulkString(format!("p{i}").into_bytes()),
            1 => Frame::SimpleString(b"OK".to_vec()),
            _ => Frame::BulkString(format!("v{}", i - 1).into_bytes()),
        };
        assert_eq!(reply, want, "reply #{i}");
    }
    feeder
        .join()
        .expect("feeder thread")
        .expect("write pipeline");
    assert!(
        !c.closed_within(Duration::from_millis(100)),
        "connection closed after the pipeline"
    );
    assert_pong(&mut c, "after the pipeline");
}

#[test]
fn resp3_after_hello_3() {
    let node = start();
    let mut c = connect(&node);
    c.send(&encode_cmd(&["HELLO", "3"])).expect("send");
    let hello = c.read_frame3().expect("HELLO 3");
    let Frame3::Map { data, .. } = hello else {
        panic!("HELLO 3 is not a map: {hello:?}");
    };
    let field = |name: &str| {
        data.iter()
            .find(|(k, _)| matches!(k, Frame3::BlobString { data, .. } if data == name.as_bytes()))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("HELLO 3 has no {name}"))
    };
    assert!(matches!(field("proto"), Frame3::Number { data: 3, .. }));
    assert!(matches!(field("server"), Frame3::BlobString { .. }));
    for name in ["version", "id", "mode", "role", "modules"] {
        field(name);
    }
    // RESP3 encodings of the replies that differ from RESP2.
    let mut ask = |args: &[&str]| {
        c.send(&encode_cmd(args)).expect("send");
        String::from_utf8(c.read_reply_bytes3().expect("reply")).expect("utf-8")
    };
    assert_eq!(ask(&["GET", "resp3:missing"]), "_\r\n");
    assert_eq!(ask(&["SET", "resp3:k", "v"]), "+OK\r\n");
    assert_eq!(ask(&["GET", "resp3:k"]), "$1\r\nv\r\n");
    assert_eq!(ask(&["DEL", "resp3:k"]), ":1\r\n");
    assert_eq!(ask(&["PING"]), "+PONG\r\n");
    assert_eq!(
        ask(&["GET"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    // Back to RESP2.
    c.send(&encode_cmd(&["HELLO", "2"])).expect("send");
    assert!(matches!(c.read_frame().expect("HELLO 2"), Frame::Array(_)));
    c.send(&encode_cmd(&["GET", "resp3:missing"]))
        .expect("send");
    assert_eq!(c.read_reply_bytes().expect("GET"), b"$-1\r\n");
}
