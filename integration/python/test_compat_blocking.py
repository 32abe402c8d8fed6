"""Blocking list and sorted-set pops, case by case after Redis 7.0's
tests/unit/type/list.tcl and zset.tcl.

Runs against redraft and a reference one-node Redis Cluster (the fixtures
of test_cluster_client.py). A client is known to be blocked when INFO's
blocked_clients counts it; no test sleeps to synchronize.
"""

from __future__ import annotations

import time

from resp import Err, RespConn
from test_cluster_client import raw, server  # noqa: F401  (fixtures)


def blocked(conn) -> int:
    info = conn.call("INFO", "clients")
    if isinstance(info, bytes):
        info = info.decode()
    for line in str(info).splitlines():
        if line.startswith("blocked_clients:"):
            return int(line.split(":", 1)[1])
    raise AssertionError("no blocked_clients in INFO")


def block(server, ctl, *args) -> RespConn:  # noqa: F811
    """Sends a blocking command on a new connection; returns once blocked."""
    before = blocked(ctl)
    c = RespConn(server.host, server.port)
    c.send(*args)
    deadline = time.monotonic() + 10
    while blocked(ctl) <= before:
        assert time.monotonic() < deadline, f"{args} did not block"
        time.sleep(0.01)
    return c


def test_blpop_single_existing_list(raw):
    raw.call("RPUSH", "{t}blist", "a", "b", "c")
    assert raw.call("BLPOP", "{t}blist", 1) == [b"{t}blist", b"a"]
    assert raw.call("BRPOP", "{t}blist", 1) == [b"{t}blist", b"c"]
    assert raw.call("LLEN", "{t}blist") == 1


def test_blpop_multiple_existing_lists(raw):
    raw.call("RPUSH", "{t}blist1", "a", "b", "c")
    raw.call("RPUSH", "{t}blist2", "d", "e", "f")
    assert raw.call("BLPOP", "{t}blist1", "{t}blist2", 1) == [b"{t}blist1", b"a"]
    assert raw.call("BRPOP", "{t}blist1", "{t}blist2", 1) == [b"{t}blist1", b"c"]
    assert raw.call("LLEN", "{t}blist1") == 1
    assert raw.call("LLEN", "{t}blist2") == 3


def test_blpop_second_list_has_an_entry(raw):
    raw.call("RPUSH", "{t}blist2", "d", "e", "f")
    assert raw.call("BLPOP", "{t}blist1", "{t}blist2", 1) == [b"{t}blist2", b"d"]
    assert raw.call("BRPOP", "{t}blist1", "{t}blist2", 1) == [b"{t}blist2", b"f"]
    assert raw.call("LLEN", "{t}blist2") == 1


def test_blpop_with_same_key_multiple_times_should_work_issue_801(server, raw):  # noqa: F811
    c = block(server, raw, "BLPOP", "{t}list1", "{t}list2", "{t}list2", "{t}list1", 0)
    raw.call("LPUSH", "{t}list1", "a")
    assert c.read() == [b"{t}list1", b"a"]
    c.close()
    c = block(server, raw, "BLPOP", "{t}list1", "{t}list2", "{t}list2", "{t}list1", 0)
    raw.call("LPUSH", "{t}list2", "b")
    assert c.read() == [b"{t}list2", b"b"]
    c.close()


def test_blpop_timeout(raw):
    start = time.monotonic()
    raw.send("BLPOP", "{t}blist1", "{t}blist2", 0.2)
    assert raw.read_line_raw() == b"*-1"
    took = time.monotonic() - start
    assert 0.2 <= took < 5


def test_blpop_timeout_errors(raw):
    assert raw.call("BLPOP", "{t}l", -1) == Err("ERR timeout is negative")
    assert raw.call("BLPOP", "{t}l", "abc") == Err("ERR timeout is not a float or out of range")


def test_blpop_timeout_is_read_as_a_long_double(raw):
    """strtold, then ms = (long long) ceill(t * 1000) in x87 precision: hex
    and subnormals are floats; what does not fit a long long is negative."""
    negative = Err("ERR timeout is negative")
    not_float = Err("ERR timeout is not a float or out of range")
    for t, want in [
        ("0x10", None), ("0x1p3", None), ("-0.0001", None), ("-1e-3", None), ("1e-400", None),
        ("1e15", None), ("9223372036854775", None), ("9223372036854775.807", None),
        ("inf", negative), ("-inf", negative), ("1e16", negative), ("9.3e15", negative),
        ("9223372036854775.8075", negative), ("-0x10", negative), ("1e400", negative),
        ("nan", not_float), ("1e-5000", not_float), ("1e5000", not_float), ("0x", not_float),
        (" 1", not_float), ("0x1.0000000000000001p-16446", not_float),
    ]:
        raw.call("RPUSH", "{t}l", "a")
        got = raw.call("BLPOP", "{t}l", t)
        assert got == (want or [b"{t}l", b"a"]), t
        raw.call("DEL", "{t}l")


def test_blpop_with_sub_millisecond_timeout_should_not_block_indefinitely(raw):
    raw.call("DEL", "{t}l")
    for t in ("0.0001", "1e-400"):
        raw.send("BLPOP", "{t}l", t)
        assert raw.read_line_raw() == b"*-1"


def test_blmpop_and_bzmpop_check_the_timeout_last(raw):
    syntax = Err("ERR syntax error")
    assert raw.call("BLMPOP", "nan", 1, "{t}k", "LEFT", "COUNT") == syntax
    assert raw.call("BLMPOP", -1, 0, "{t}k", "LEFT") == Err(
        "ERR numkeys should be greater than 0")
    assert raw.call("BLMPOP", -1, 1, "{t}k", "LEFT", "COUNT", 0) == Err(
        "ERR count should be greater than 0")
    assert raw.call("BZMPOP", -1, 1, "{t}k", "MID") == syntax
    assert raw.call("BZMPOP", "nan", 1, "{t}k", "MIN") == Err(
        "ERR timeout is not a float or out of range")


def test_blpop_arguments_are_empty(server, raw):  # noqa: F811
    c = block(server, raw, "BLPOP", "{t}blist1", "{t}blist2", 0)
    raw.call("RPUSH", "{t}blist1", "foo")
    assert c.read() == [b"{t}blist1", b"foo"]
    assert raw.call("EXISTS", "{t}blist1") == 0
    assert raw.call("EXISTS", "{t}blist2") == 0
    c.send("BLPOP", "{t}blist1", "{t}blist2", 0)
    deadline = time.monotonic() + 10
    while blocked(raw) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    raw.call("RPUSH", "{t}blist2", "foo")
    assert c.read() == [b"{t}blist2", b"foo"]
    c.close()


def test_blpop_serves_clients_in_fifo_order(server, raw):  # noqa: F811
    waiters = [block(server, raw, "BLPOP", "{t}fifo", 0) for _ in range(3)]
    assert raw.call("RPUSH", "{t}fifo", "1", "2", "3") == 3
    for w, v in zip(waiters, [b"1", b"2", b"3"]):
        assert w.read() == [b"{t}fifo", v]
        w.close()


def test_blmpop_left_single_existing_list(raw):
    raw.call("RPUSH", "{t}blist", "a", "b", "c", "d")
    assert raw.call("BLMPOP", 1, 2, "{t}blist", "{t}x", "LEFT", "COUNT", 2) == [
        b"{t}blist",
        [b"a", b"b"],
    ]
    assert raw.call("BLMPOP", 1, 1, "{t}blist", "RIGHT") == [b"{t}blist", [b"d"]]


def test_blmpop_left_when_new_key_is_moved_into_place(server, raw):  # noqa: F811
    c = block(server, raw, "BLMPOP", 0, 1, "{t}foo", "LEFT", "COUNT", 2)
    raw.call("RPUSH", "{t}bar", "x", "y")
    raw.call("RENAME", "{t}bar", "{t}foo")
    assert c.read() == [b"{t}foo", [b"x", b"y"]]
    c.close()


def test_blmove_left_right(server, raw):  # noqa: F811
    c = block(server, raw, "BLMOVE", "{t}src", "{t}dst", "LEFT", "RIGHT", 0)
    raw.call("RPUSH", "{t}src", "foo")
    assert c.read() == b"foo"
    assert raw.call("LRANGE", "{t}dst", 0, -1) == [b"foo"]
    c.close()


def test_bzpopmin_basics(server, raw):  # noqa: F811
    raw.call("ZADD", "{t}zset", 1, "a", 2, "b", 3, "c")
    assert raw.call("BZPOPMIN", "{t}zset", 0) == [b"{t}zset", b"a", b"1"]
    assert raw.call("BZPOPMAX", "{t}zset", 0) == [b"{t}zset", b"c", b"3"]
    assert raw.call("BZPOPMIN", "{t}zset", 0) == [b"{t}zset", b"b", b"2"]
    c = block(server, raw, "BZPOPMIN", "{t}zset", 0)
    raw.call("ZADD", "{t}zset", 5, "e")
    assert c.read() == [b"{t}zset", b"e", b"5"]
    c.close()
    raw.send("BZPOPMIN", "{t}zset", 0.1)
    assert raw.read_line_raw() == b"*-1"


def test_bzmpop_basics(raw):
    raw.call("ZADD", "{t}z", 1, "a", 2, "b")
    assert raw.call("BZMPOP", 1, 1, "{t}z", "MAX", "COUNT", 5) == [
        b"{t}z",
        [[b"b", b"2"], [b"a", b"1"]],
    ]
