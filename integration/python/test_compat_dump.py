"""DUMP / RESTORE, case by case after Redis 7.0's tests/integration/dump.tcl,
plus round trips between redraft and a real redis-server.

The dump.tcl cases run once against redraft and once against a reference
one-node Redis Cluster (fixtures of test_cluster_client.py) and assert the
same replies from both. The MIGRATE cases are not applicable (no MIGRATE).
"RESTORE can set LRU" and "RESTORE can set LFU" check that the options are
accepted; redraft keeps no per-key access data, so OBJECT IDLETIME/FREQ
are not compared.

The cross tests build a value of every type and encoding on one server,
RESTORE its DUMP on the other, and compare the restored value and its
OBJECT ENCODING on both: the payload formats agree both ways. Payloads in
older encodings (ziplist, RDB 9) that redis-server 7.0 still accepts are
checked the same way.
"""

from __future__ import annotations

import time

import pytest

from difftest import with_footer
from resp import Err
from test_cluster_client import error_text, plain, raw, rc, server  # noqa: F401  (fixtures)

BUSYKEY = Err("BUSYKEY Target key name already exists.")
BAD_FORMAT = Err("ERR Bad data format")
BAD_PAYLOAD = Err("ERR DUMP payload version or checksum are wrong")


def test_dump_restore_are_able_to_serialize_unserialize_a_simple_key(raw):
    assert raw.call("SET", "foo", "bar") == "OK"
    encoded = raw.call("DUMP", "foo")
    assert raw.call("DEL", "foo") == 1
    assert raw.call("EXISTS", "foo") == 0
    assert raw.call("RESTORE", "foo", 0, encoded) == "OK"
    assert raw.call("TTL", "foo") == -1
    assert raw.call("GET", "foo") == b"bar"


def test_restore_can_set_an_arbitrary_expire_to_the_materialized_key(raw):
    raw.call("SET", "foo", "bar")
    encoded = raw.call("DUMP", "foo")
    raw.call("DEL", "foo")
    assert raw.call("RESTORE", "foo", 3000, encoded) == "OK"
    ttl = raw.call("PTTL", "foo")
    assert 2000 <= ttl <= 3000
    assert raw.call("GET", "foo") == b"bar"


def test_restore_can_set_an_expire_that_overflows_a_32_bit_integer(raw):
    raw.call("SET", "foo", "bar")
    encoded = raw.call("DUMP", "foo")
    raw.call("DEL", "foo")
    assert raw.call("RESTORE", "foo", 2569591501, encoded) == "OK"
    ttl = raw.call("PTTL", "foo")
    assert 2569591501 - 3000 <= ttl <= 2569591501
    assert raw.call("GET", "foo") == b"bar"


def test_restore_can_set_an_absolute_expire(raw):
    raw.call("SET", "foo", "bar")
    encoded = raw.call("DUMP", "foo")
    raw.call("DEL", "foo")
    now = int(time.time() * 1000)
    assert raw.call("RESTORE", "foo", now + 3000, encoded, "ABSTTL", "REPLACE") == "OK"
    ttl = raw.call("PTTL", "foo")
    assert 2000 <= ttl <= 3100
    assert raw.call("GET", "foo") == b"bar"


def test_restore_with_absttl_in_the_past(raw):
    raw.call("SET", "foo", "bar")
    encoded = raw.call("DUMP", "foo")
    now = int(time.time() * 1000)
    assert raw.call("RESTORE", "foo", now - 3000, encoded, "ABSTTL", "REPLACE") == "OK"
    assert raw.call("EXISTS", "foo") == 0


def test_restore_can_set_lru(raw):
    raw.call("SET", "foo", "bar")
    encoded = raw.call("DUMP", "foo")
    raw.call("DEL", "foo")
    assert raw.call("RESTORE", "foo", 0, encoded, "IDLETIME", 1000) == "OK"
    assert raw.call("GET", "foo") == b"bar"


def test_restore_can_set_lfu(raw):
    raw.call("SET", "foo", "bar")
    encoded = raw.call("DUMP", "foo")
    raw.call("DEL", "foo")
    assert raw.call("RESTORE", "foo", 0, encoded, "FREQ", 100) == "OK"
    assert raw.call("GET", "foo") == b"bar"


def test_restore_returns_an_error_of_the_key_already_exists(raw):
    raw.call("SET", "foo", "bar")
    encoded = raw.call("DUMP", "foo")
    assert raw.call("RESTORE", "foo", 0, encoded) == BUSYKEY
    assert raw.call("GET", "foo") == b"bar"


def test_restore_can_overwrite_an_existing_key_with_replace(raw):
    raw.call("SET", "foo", "bar")
    encoded = raw.call("DUMP", "foo")
    raw.call("SET", "foo", "bar2")
    assert raw.call("RESTORE", "foo", 0, encoded, "REPLACE") == "OK"
    assert raw.call("GET", "foo") == b"bar"


def test_restore_can_detect_a_syntax_error_for_unrecongized_options(raw):
    raw.call("SET", "foo", "bar")
    encoded = raw.call("DUMP", "foo")
    assert raw.call("RESTORE", "foo", 0, encoded, "invalid-option") == Err("ERR syntax error")
    assert raw.call("RESTORE", "foo", 0, encoded, "IDLETIME", 1, "FREQ", 1) == \
        Err("ERR syntax error")
    assert raw.call("RESTORE", "foo", 0, encoded, "IDLETIME", -1) == \
        Err("ERR Invalid IDLETIME value, must be >= 0")
    assert raw.call("RESTORE", "foo", 0, encoded, "FREQ", 256) == \
        Err("ERR Invalid FREQ value, must be >= 0 and <= 255")


def test_restore_should_not_store_key_that_are_already_expired_with_replace(raw):
    raw.call("SET", "foo", "bar")
    encoded = raw.call("DUMP", "foo")
    assert raw.call("RESTORE", "foo", 1, encoded, "ABSTTL", "REPLACE") == "OK"
    assert raw.call("EXISTS", "foo") == 0
    # Without REPLACE on a missing key: OK, and still nothing stored.
    assert raw.call("RESTORE", "foo", 1, encoded, "ABSTTL") == "OK"
    assert raw.call("EXISTS", "foo") == 0


def test_dump_of_non_existing_key_returns_nil(raw):
    assert raw.call("DUMP", "nonexisting_key") is None


def test_restore_errors_in_redis_order(raw):
    raw.call("SET", "foo", "bar")
    encoded = raw.call("DUMP", "foo")
    # BUSYKEY comes before the TTL and payload checks.
    assert raw.call("RESTORE", "foo", -1, b"junk") == BUSYKEY
    assert raw.call("RESTORE", "new", -1, encoded) == Err("ERR Invalid TTL value, must be >= 0")
    assert raw.call("RESTORE", "new", "abc", encoded) == \
        Err("ERR value is not an integer or out of range")
    assert raw.call("RESTORE", "new", 0, b"junk") == BAD_PAYLOAD
    assert raw.call("RESTORE", "new", 0, encoded[:-1] + b"\x00") == BAD_PAYLOAD
    assert raw.call("RESTORE", "new", 0, with_footer(b"\x00\x03bar", 11)) == BAD_PAYLOAD
    assert raw.call("RESTORE", "new", 0, with_footer(b"\x63\x01\x02")) == BAD_FORMAT
    assert raw.call("RESTORE", "new", 0, with_footer(b"\x02\x00")) == BAD_FORMAT
    assert raw.call("EXISTS", "new") == 0
    assert raw.call("RESTORE-ASKING", "new", 0, encoded) == "OK"
    assert raw.call("GET", "new") == b"bar"


def test_dump_of_a_string_matches_redis_byte_for_byte(raw):
    # redis-server 7.0.15's DUMP of these values (integer encodings, a raw
    # string, an LZF-compressed one).
    for value, payload in [
        (b"bar", b"\x00\x03bar\n\x00\xe6\xbeI`\xeef\xfd\x17"),
        (b"1", b"\x00\xc0\x01\n\x00&x\xe7\xb6\xd1\x01\x11\xfc"),
    ]:
        raw.call("SET", "k", value)
        assert raw.call("DUMP", "k") == payload


# -- round trips between the two servers ----------------------------------------


def build_values(c):
    """One key per type and encoding; {name: OBJECT ENCODING}."""
    c.call("SET", "{t}int", "12345")
    c.call("SET", "{t}str", "hello world")
    c.call("SET", "{t}big", "x" * 100 + "y" * 100)  # LZF-compressed in a DUMP
    c.call("SET", "{t}bigint", "9223372036854775807")
    c.call("RPUSH", "{t}list", "a", "1", "-300", "70000", "b" * 100)
    c.call("RPUSH", "{t}biglist", *[("e%d-" % i) * 20 for i in range(2000)])
    c.call("SADD", "{t}intset", "1", "-2", "70000", "5000000000")
    c.call("SADD", "{t}smallintset", "1", "2", "-3")
    c.call("SADD", "{t}set", "a", "b", "1")
    c.call("SADD", "{t}bigset", *[str(i) for i in range(600)])
    c.call("ZADD", "{t}zlp", "1.5", "a", "2", "b", "-inf", "n", "inf", "p", "100000", "c")
    c.call("ZADD", "{t}zsk", *[x for i in range(200) for x in (str(i * 0.25), "m%d" % i)])
    c.call("ZADD", "{t}zlong", "1", "m" * 70)
    c.call("HSET", "{t}hlp", "f1", "v1", "f2", "2", "n", "-70000")
    c.call("HSET", "{t}hht", *[x for i in range(600) for x in ("f%d" % i, "v%d" % i)])
    c.call("PEXPIRE", "{t}str", 100_000_000)
    return ["{t}int", "{t}str", "{t}big", "{t}bigint", "{t}list", "{t}biglist", "{t}intset",
            "{t}smallintset", "{t}set", "{t}bigset", "{t}zlp", "{t}zsk", "{t}zlong", "{t}hlp", "{t}hht"]


def value_of(c, key):
    kind = c.call("TYPE", key)
    if kind == "string":
        v = c.call("GET", key)
    elif kind == "list":
        v = c.call("LRANGE", key, 0, -1)
    elif kind == "set":
        v = sorted(c.call("SMEMBERS", key))
    elif kind == "zset":
        v = c.call("ZRANGE", key, 0, -1, "WITHSCORES")
    else:
        v = sorted(c.call("HGETALL", key))
    ttl = c.call("PTTL", key)
    return kind, v, c.call("OBJECT", "ENCODING", key), ttl > 0


@pytest.mark.parametrize("direction", ["redis_to_redraft", "redraft_to_redis"])
def test_dump_restore_round_trip_between_redraft_and_redis(redraft, redis_cluster, direction):
    src, dst = (redis_cluster, redraft) if direction == "redis_to_redraft" \
        else (redraft, redis_cluster)
    with src.conn() as s, dst.conn() as d, redis_cluster.conn() as ref:
        for c in (s, d):
            assert c.call("FLUSHALL") == "OK"
        keys = build_values(s)
        for key in keys:
            payload = s.call("DUMP", key)
            assert isinstance(payload, bytes), key
            ttl = 100_000_000 if key == "{t}str" else 0
            assert d.call("RESTORE", key, ttl, payload) == "OK", key
            assert value_of(d, key) == value_of(s, key), key
            # The restored value, dumped again, reads back the same in Redis.
            again = d.call("DUMP", key)
            assert ref.call("RESTORE", "{t}again", 0, again, "REPLACE") == "OK", key
            assert value_of(ref, "{t}again")[:3] == value_of(s, key)[:3], key


@pytest.mark.parametrize("key", ["{t}int", "{t}str", "{t}big", "{t}bigint", "{t}list",
                                 "{t}smallintset", "{t}zlp", "{t}zsk", "{t}zlong"])
def test_dump_payloads_are_byte_identical_to_redis(redraft, redis_cluster, key):
    """Where the order of elements is the same on both servers (not hashes or
    plain sets), redraft's DUMP is redis-server's, byte for byte. (Not
    guaranteed where LZF compresses: the lzf crate may pick other tokens than
    liblzf for the same bytes, as for `{t}intset` here; both decode alike.)"""
    with redraft.conn() as a, redis_cluster.conn() as b:
        for c in (a, b):
            assert c.call("FLUSHALL") == "OK"
            build_values(c)
        assert a.call("DUMP", key) == b.call("DUMP", key)


def ziplist(entries: list[bytes]) -> bytes:
    """A ziplist of string entries (each under 64 bytes), as Redis 6 built them."""
    body = b""
    prev = 0
    for e in entries:
        entry = bytes([prev, len(e)]) + e
        body += entry
        prev = len(entry)
    total = 10 + len(body) + 1
    tail = 10 + len(body) - prev if entries else 10
    return (total.to_bytes(4, "little") + tail.to_bytes(4, "little")
            + len(entries).to_bytes(2, "little") + body + b"\xff")


def rdb_string(b: bytes) -> bytes:
    assert len(b) < 64
    return bytes([len(b)]) + b


@pytest.mark.parametrize("kind", ["hash", "zset", "list", "quicklist"])
def test_restore_accepts_ziplist_payloads_of_older_redis(raw, kind):
    if kind == "hash":
        body = b"\x0d" + rdb_string(ziplist([b"f1", b"v1", b"f2", b"v2"]))
        want = ("HGETALL", [b"f1", b"v1", b"f2", b"v2"])
    elif kind == "zset":
        body = b"\x0c" + rdb_string(ziplist([b"a", b"1.5", b"b", b"2"]))
        want = ("ZRANGE", [b"a", b"1.5", b"b", b"2"])
    elif kind == "list":
        body = b"\x0a" + rdb_string(ziplist([b"x", b"y", b"z"]))
        want = ("LRANGE", [b"x", b"y", b"z"])
    else:
        body = b"\x0e\x02" + rdb_string(ziplist([b"x", b"y"])) + rdb_string(ziplist([b"z"]))
        want = ("LRANGE", [b"x", b"y", b"z"])
    assert raw.call("RESTORE", "old", 0, with_footer(body, 9)) == "OK"
    cmd, value = want
    if cmd == "HGETALL":
        got = raw.call("HGETALL", "old")
        assert sorted(zip(got[::2], got[1::2])) == sorted(zip(value[::2], value[1::2]))
    elif cmd == "ZRANGE":
        assert raw.call("ZRANGE", "old", 0, -1, "WITHSCORES") == value
    else:
        assert raw.call("LRANGE", "old", 0, -1) == value
