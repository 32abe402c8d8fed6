"""Raw-socket protocol tests, named after redis's tests/unit/protocol.tcl.

Each test sends the same bytes to the reference redis-server and to
redraft. It first checks that redis-server does what the test expects (so
a wrong expectation shows up as a failing reference, not as a redraft
bug), then that redraft does exactly the same: the same reply bytes, and
the connection closed or kept alive the same way. After every malformed
request a new client must still be served.
"""

from __future__ import annotations

import select
import socket
import threading
import time

import pytest

from resp import encode_command

CLOSE_DEADLINE_S = 5.0


@pytest.fixture
def servers(redis_server, redraft):
    """The reference first: a wrong expectation fails on it before redraft is judged."""
    return [redis_server, redraft]


def still_serving(srv) -> None:
    with srv.conn() as c:
        assert c.call("PING") == "PONG", f"{srv.kind} no longer serves new clients"


def exchange(srv, payload: bytes, *, closes: bool) -> tuple[bytes, bool]:
    """Sends `payload`; returns the first reply line and whether the server
    closed the connection. A connection expected to stay open is then
    checked with a PING on it."""
    with srv.conn() as c:
        c.send_raw(payload)
        line = c.read_line_raw()
        if closes:
            closed = c.closed_by_server(CLOSE_DEADLINE_S)
        else:
            closed = c.call("PING") != "PONG"
    still_serving(srv)
    return line, closed


def check(servers, payload: bytes, expected_line: bytes, *, closes: bool) -> None:
    for srv in servers:
        line, closed = exchange(srv, payload, closes=closes)
        assert (line, closed) == (expected_line, closes), (
            f"{srv.kind}: got {line!r} (closed={closed}),"
            f" want {expected_line!r} (closed={closes})"
        )


def check_alive_after(servers, payload: bytes) -> None:
    """Sends bytes that must be ignored, then PING on the same connection."""
    for srv in servers:
        with srv.conn() as c:
            c.send_raw(payload)
            assert c.call("PING") == "PONG", f"{srv.kind} did not ignore {payload!r}"
        still_serving(srv)


# -- tests/unit/protocol.tcl ---------------------------------------------------


def test_handle_an_empty_query(servers):
    check_alive_after(servers, b"\r\n")


def test_negative_multibulk_length(servers):
    check_alive_after(servers, b"*-10\r\n")


def test_out_of_range_multibulk_length(servers):
    check(servers, b"*3000000000\r\n", b"-ERR Protocol error: invalid multibulk length",
          closes=True)


def test_wrong_multibulk_payload_header(servers):
    check(servers, b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
          b"-ERR Protocol error: expected '$', got 'f'", closes=True)


def test_negative_multibulk_payload_length(servers):
    check(servers, b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n",
          b"-ERR Protocol error: invalid bulk length", closes=True)


def test_out_of_range_multibulk_payload_length(servers):
    check(servers, b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n",
          b"-ERR Protocol error: invalid bulk length", closes=True)


def test_non_number_multibulk_payload_length(servers):
    check(servers, b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n",
          b"-ERR Protocol error: invalid bulk length", closes=True)


def test_multi_bulk_request_not_followed_by_bulk_arguments(servers):
    check(servers, b"*1\r\nfoo\r\n", b"-ERR Protocol error: expected '$', got 'f'",
          closes=True)


def test_generic_wrong_number_of_args(servers):
    check(servers, b"*4\r\n$4\r\nping\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n",
          b"-ERR wrong number of arguments for 'ping' command", closes=False)


def test_unbalanced_number_of_quotes_in_inline_protocol(servers):
    check(servers, b'set """test-key""" test-value\r\nping\r\n',
          b"-ERR Protocol error: unbalanced quotes in request", closes=True)


def _desync(srv, seq: bytes) -> bytes:
    """protocol.tcl's desync test: a junk prefix, then a line that never ends.
    The server must answer a protocol error and close instead of buffering
    forever. Returns the server's first line."""
    s = socket.create_connection((srv.host, srv.port), timeout=10)
    try:
        s.sendall(seq)
        s.setblocking(False)
        chunk = b"payload" * 1024
        received = b""
        sent = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sent < 64 << 20:
            readable, _, _ = select.select([s], [], [], 0)
            if readable:
                break
            try:
                sent += s.send(chunk)
            except BlockingIOError:
                select.select([s], [s], [], 0.05)
            except (BrokenPipeError, ConnectionResetError):
                break
        s.setblocking(True)
        s.settimeout(5)
        try:
            while b"\r\n" not in received:
                data = s.recv(4096)
                if not data:
                    break
                received += data
        except (ConnectionResetError, socket.timeout):
            pass
        return received.split(b"\r\n", 1)[0]
    finally:
        s.close()


@pytest.mark.parametrize(
    "seq, error",
    [
        (b"\x00", b"-ERR Protocol error: too big inline request"),
        (b"*\x00", b"-ERR Protocol error: too big mbulk count string"),
        (b"$\x00", b"-ERR Protocol error: too big inline request"),
    ],
    ids=["1", "2", "3"],
)
def test_protocol_desync_regression_test(servers, seq, error):
    for srv in servers:
        assert _desync(srv, seq) == error, srv.kind
        still_serving(srv)


def test_raw_protocol_response(servers):
    # protocol.tcl uses SRANDMEMBER; redraft has only strings so far, so the
    # same null-reply check is made with GET and MGET.
    for srv in servers:
        with srv.conn() as c:
            c.send_raw(b"*2\r\n$3\r\nGET\r\n$15\r\nnonexisting_key\r\n")
            assert c.read_raw() == b"$-1\r\n", srv.kind
            c.send_raw(b"*3\r\n$3\r\nSET\r\n$3\r\nraw\r\n$1\r\nv\r\n")
            assert c.read_raw() == b"+OK\r\n", srv.kind
            c.send_raw(b"*3\r\n$4\r\nMGET\r\n$3\r\nraw\r\n$5\r\n{raw}\r\n")
            assert c.read_raw() == b"*2\r\n$1\r\nv\r\n$-1\r\n", srv.kind


def test_test_large_number_of_args(servers):
    args = []
    for _ in range(10000):
        args += [b"k", b"v"]
    args += [b"{k}2", b"v2"]
    for srv in servers:
        with srv.conn(timeout=30) as c:
            assert c.call("MSET", *args) == "OK", srv.kind
            assert c.call("GET", "{k}2") == b"v2", srv.kind
            assert c.call("GET", "k") == b"v", srv.kind


# -- beyond protocol.tcl ---------------------------------------------------------


def test_inline_commands(servers):
    for srv in servers:
        with srv.conn() as c:
            c.send_raw(b"PING\r\n")
            assert c.read_line_raw() == b"+PONG", srv.kind
            c.send_raw(b"PING\n")  # a bare LF ends an inline command too
            assert c.read_line_raw() == b"+PONG", srv.kind
            c.send_raw(b'SET "in line" "a\\x41b"\r\nGET "in line"\r\n')
            assert c.read_line_raw() == b"+OK", srv.kind
            assert [c.read_line_raw(), c.read_line_raw()] == [b"$3", b"aAb"], srv.kind
            c.send_raw(b"  ping   \r\n")
            assert c.read_line_raw() == b"+PONG", srv.kind


def test_10000_pipelined_commands_answered_in_order(servers):
    n = 10_000
    commands = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            commands.append((b"PING",))
        elif kind == 1:
            commands.append((b"SET", b"{p}key:%d" % i, b"value:%d" % i))
        else:
            commands.append((b"GET", b"{p}key:%d" % (i - 1)))
    payload = b"".join(encode_command(*cmd) for cmd in commands)
    for srv in servers:
        with srv.conn(timeout=30) as c:
            # Write from a thread: replies must be read while requests go out,
            # or both sides' buffers can fill up.
            writer = threading.Thread(target=c.send_raw, args=(payload,), daemon=True)
            writer.start()
            replies = [c.read() for _ in range(n)]
            writer.join(timeout=30)
        for i, reply in enumerate(replies):
            kind = i % 3
            want = "PONG" if kind == 0 else "OK" if kind == 1 else b"value:%d" % (i - 1)
            assert reply == want, f"{srv.kind}: reply #{i} is {reply!r}, want {want!r}"
        still_serving(srv)


@pytest.mark.parametrize(
    "fragment",
    [
        b"*3\r\n$3\r\nSET\r\n$9\r\ntruncated\r\n$10\r\nabc",
        b"*3\r\n$3\r\nSET\r\n$9\r\ntrunc",
        b"*3\r\n",
        b"*",
        b"SET truncated inline-without-newline",
    ],
    ids=["mid-bulk", "mid-key", "header-only", "star", "inline"],
)
def test_truncated_frame_then_close_does_not_kill_the_server(servers, fragment):
    for srv in servers:
        with srv.conn() as c:
            c.send_raw(fragment)
        assert srv.alive(), f"{srv.kind} exited"
        with srv.conn() as c:
            assert c.call("PING") == "PONG", srv.kind
            assert c.call("GET", "truncated") is None, f"{srv.kind} ran a partial command"


@pytest.mark.parametrize(
    "args",
    [
        [b"FOOBAR"],
        [b"FOOBAR", b"a", b"b"],
        [b"foobar", b"x" * 100, b"y" * 100, b"z" * 100],
        [b"FOOBAR"] + [b"arg%d" % i for i in range(40)],
        [b"N" * 200, b"a"],
        [b"FOO", b"a\r\nb"],
    ],
    ids=["no-args", "two-args", "long-args", "many-args", "long-name", "newline-in-arg"],
)
def test_unknown_command_error_text_equals_redis(servers, args):
    replies = []
    for srv in servers:
        with srv.conn() as c:
            c.send_raw(encode_command(*args))
            replies.append(c.read_line_raw())
            assert c.call("PING") == "PONG", f"{srv.kind} closed after an unknown command"
    redis_reply, redraft_reply = replies
    assert redis_reply.startswith(b"-ERR unknown command '")
    assert redraft_reply == redis_reply
