"""Hashes, case by case after Redis 7.0's tests/unit/type/hash.tcl.

Each test is named after the hash.tcl case it follows and, like
test_cluster_client.py (whose fixtures these are), runs once against
redraft and once against a reference one-node Redis Cluster, asserting the
same replies from both. Most use the raw client (`raw`) so that the exact
bytes and error texts are compared.

Intended deviation: redraft lists a hash's fields in byte order, Redis in
insertion (listpack) or table order, so whole-hash replies (HGETALL, HKEYS,
HVALS, HSCAN, HRANDFIELD with a count) are compared as sets or sorted.
"""

from __future__ import annotations

import random

import pytest

from resp import Err, Status
from test_cluster_client import error_text, plain, raw, rc, server  # noqa: F401  (fixtures)

WRONGTYPE = Err("WRONGTYPE Operation against a key holding the wrong kind of value")
NOT_INT = Err("ERR value is not an integer or out of range")


def pairs(flat: list) -> dict:
    """A flat [field, value, …] reply as a dict."""
    assert len(flat) % 2 == 0
    return dict(zip(flat[0::2], flat[1::2]))


def b(x) -> bytes:
    return x if isinstance(x, bytes) else str(x).encode()


def small_hash(raw) -> dict:
    """Redis's `smallhash`: 8 random fields (a listpack in Redis)."""
    rnd = random.Random(1)
    h = {}
    for _ in range(8):
        h[b(rnd.randrange(10**9))] = b(rnd.randrange(10**9))
    for f, v in h.items():
        assert raw.call("HSET", "smallhash", f, v) == 1
    return h


def big_hash(raw) -> dict:
    """Redis's `bighash`: 1024 fields (a hash table in Redis)."""
    rnd = random.Random(2)
    h = {}
    while len(h) < 1024:
        h[b(rnd.randrange(10**12))] = b(rnd.randrange(10**12))
    items = list(h.items())
    for i in range(0, len(items), 128):
        args = [x for kv in items[i : i + 128] for x in kv]
        assert raw.call("HSET", "bighash", *args) == len(args) // 2
    return h


# -- creation, HGET, HSET, HSETNX, HMSET ---------------------------------------


def test_hset_hlen_small_hash_creation(raw):
    h = small_hash(raw)
    assert raw.call("HLEN", "smallhash") == len(h) == 8


def test_hset_hlen_big_hash_creation(raw):
    h = big_hash(raw)
    assert raw.call("HLEN", "bighash") == len(h) == 1024


def test_hget_against_the_small_hash(raw):
    h = small_hash(raw)
    for f, v in h.items():
        assert raw.call("HGET", "smallhash", f) == v


def test_hget_against_the_big_hash(raw):
    h = big_hash(raw)
    for f, v in list(h.items())[::7]:
        assert raw.call("HGET", "bighash", f) == v


def test_hget_against_non_existing_key(raw):
    small_hash(raw)
    assert raw.call("HGET", "smallhash", "__123123123__") is None
    assert raw.call("HGET", "nokey", "f") is None


def test_hset_in_update_and_insert_mode(raw):
    small_hash(raw)
    f = next(iter(small_hash_fields(raw)))
    assert raw.call("HSET", "smallhash", f, "newval1") == 0
    assert raw.call("HGET", "smallhash", f) == b"newval1"
    assert raw.call("HSET", "smallhash", "__foobar123__", "newval") == 1
    assert raw.call("HLEN", "smallhash") == 9
    # A field repeated in one call counts once and keeps its last value.
    assert raw.call("HSET", "h2", "a", "1", "a", "2") == 1
    assert raw.call("HGET", "h2", "a") == b"2"


def small_hash_fields(raw) -> list:
    return raw.call("HKEYS", "smallhash")


def test_hsetnx_target_key_missing_and_exists_small_hash(raw):
    small_hash(raw)
    assert raw.call("HSETNX", "smallhash", "__123123123__", "foo") == 1
    assert raw.call("HGET", "smallhash", "__123123123__") == b"foo"
    assert raw.call("HSETNX", "smallhash", "__123123123__", "bar") == 0
    assert raw.call("HGET", "smallhash", "__123123123__") == b"foo"
    assert raw.call("HSETNX", "newhash", "f", "v") == 1
    assert raw.call("HLEN", "newhash") == 1


def test_hsetnx_target_key_missing_and_exists_big_hash(raw):
    big_hash(raw)
    assert raw.call("HSETNX", "bighash", "__123123123__", "foo") == 1
    assert raw.call("HSETNX", "bighash", "__123123123__", "bar") == 0
    assert raw.call("HGET", "bighash", "__123123123__") == b"foo"
    assert raw.call("HLEN", "bighash") == 1025


def test_hset_hmset_wrong_number_of_args(raw):
    assert raw.call("HSET", "smallhash", "key1", "val1", "key2") == Err(
        "ERR wrong number of arguments for 'hset' command"
    )
    assert raw.call("HMSET", "smallhash", "key1", "val1", "key2") == Err(
        "ERR wrong number of arguments for 'hmset' command"
    )
    assert raw.call("HSET", "smallhash", "key1") == Err(
        "ERR wrong number of arguments for 'hset' command"
    )
    assert raw.call("EXISTS", "smallhash") == 0


def test_hmset_small_and_big_hash(raw):
    args = []
    for i in range(8):
        args += [f"__f{i}__", f"__v{i}__"]
    assert raw.call("HMSET", "smallhash", *args) == Status("OK")
    args = []
    for i in range(1024):
        args += [f"__f{i}__", f"__v{i}__"]
    assert raw.call("HMSET", "bighash", *args) == Status("OK")
    assert raw.call("HLEN", "smallhash") == 8
    assert raw.call("HLEN", "bighash") == 1024
    assert raw.call("HGET", "bighash", "__f1000__") == b"__v1000__"


# -- HMGET, HKEYS, HVALS, HGETALL ----------------------------------------------


def test_hmget_against_non_existing_key_and_fields(raw):
    assert raw.call("HMGET", "doesntexist", "__123123123__", "__456456456__") == [None, None]
    small_hash(raw)
    assert raw.call("HMGET", "smallhash", "__123123123__", "__456456456__") == [None, None]


def test_hmget_against_wrong_type(raw):
    raw.call("SET", "wrongtype", "somevalue")
    assert raw.call("HMGET", "wrongtype", "field1", "field2") == WRONGTYPE


def test_hmget_small_and_big_hash(raw):
    for name, h in (("smallhash", small_hash(raw)), ("bighash", big_hash(raw))):
        fields = list(h)[:50]
        assert raw.call("HMGET", name, *fields) == [h[f] for f in fields]


def test_hkeys_hvals_hgetall_small_and_big_hash(raw):
    for name, h in (("smallhash", small_hash(raw)), ("bighash", big_hash(raw))):
        assert sorted(raw.call("HKEYS", name)) == sorted(h)
        assert sorted(raw.call("HVALS", name)) == sorted(h.values())
        flat = raw.call("HGETALL", name)
        assert len(flat) == 2 * len(h)
        assert pairs(flat) == h


def test_hgetall_against_non_existing_key(raw):
    assert raw.call("HGETALL", "htest") == []
    assert raw.call("HKEYS", "htest") == []
    assert raw.call("HVALS", "htest") == []


def test_hgetall_with_resp3_is_a_map(raw):
    raw.call("HELLO", "3")
    raw.call("HSET", "h", "a", "1", "b", "2")
    assert raw.call("HGETALL", "h") == {b"a": b"1", b"b": b"2"}
    assert raw.call("HGETALL", "nokey") == {}


# -- HDEL, HEXISTS, HLEN, HSTRLEN -------------------------------------------


def test_hdel_and_return_value(raw):
    h = small_hash(raw)
    f = next(iter(h))
    assert raw.call("HDEL", "smallhash", "nokey") == 0
    assert raw.call("HDEL", "smallhash", f) == 1
    assert raw.call("HDEL", "smallhash", f) == 0
    assert raw.call("HGET", "smallhash", f) is None
    assert raw.call("HDEL", "nokey", "f") == 0
    assert raw.call("HDEL", "smallhash") == Err(
        "ERR wrong number of arguments for 'hdel' command"
    )


def test_hdel_more_than_a_single_value(raw):
    raw.call("HMSET", "myhash", "a", "1", "b", "2", "c", "3")
    assert raw.call("HDEL", "myhash", "x", "y") == 0
    assert raw.call("HDEL", "myhash", "a", "c", "f") == 2
    assert raw.call("HGETALL", "myhash") == [b"b", b"2"]


def test_hdel_hash_becomes_empty_before_deleting_all_specified_fields(raw):
    raw.call("HMSET", "myhash", "a", "1", "b", "2", "c", "3")
    assert raw.call("HDEL", "myhash", "a", "b", "c", "d", "e") == 3
    assert raw.call("EXISTS", "myhash") == 0
    assert raw.call("TYPE", "myhash") == Status("none")


def test_hexists(raw):
    h = small_hash(raw)
    f = next(iter(h))
    assert raw.call("HEXISTS", "smallhash", f) == 1
    assert raw.call("HEXISTS", "smallhash", "nokey") == 0
    assert raw.call("HEXISTS", "nokey", "f") == 0


def test_hstrlen_against_the_small_and_big_hash(raw):
    for name, h in (("smallhash", small_hash(raw)), ("bighash", big_hash(raw))):
        for f, v in list(h.items())[:20]:
            assert raw.call("HSTRLEN", name, f) == len(v)


def test_hstrlen_against_non_existing_field(raw):
    small_hash(raw)
    assert raw.call("HSTRLEN", "smallhash", "__123123123__") == 0
    assert raw.call("HSTRLEN", "nokey", "f") == 0


def test_hstrlen_corner_cases(raw):
    vals = [b"-9223372036854775808", b"9223372036854775807", b"9223372036854775808",
            b"", b"0", b"-1", b"x"]
    for v in vals:
        raw.call("HMSET", "smallhash", "field", v)
        assert raw.call("HSTRLEN", "smallhash", "field") == len(v)
        raw.call("HMSET", "bighash", "field", v, "long", "x" * 100)
        assert raw.call("HSTRLEN", "bighash", "field") == len(v)


# -- HINCRBY ------------------------------------------------------------------


def test_hincrby_against_non_existing_database_key(raw):
    raw.call("DEL", "htest")
    assert raw.call("HINCRBY", "htest", "foo", "2") == 2


def test_hincrby_against_non_existing_hash_key(raw):
    small_hash(raw)
    assert raw.call("HINCRBY", "smallhash", "tmp", "2") == 2
    assert raw.call("HGET", "smallhash", "tmp") == b"2"


def test_hincrby_against_hash_key_created_by_hincrby_itself(raw):
    raw.call("HINCRBY", "smallhash", "tmp", "2")
    assert raw.call("HINCRBY", "smallhash", "tmp", "3") == 5
    assert raw.call("HGET", "smallhash", "tmp") == b"5"


def test_hincrby_against_hash_key_originally_set_with_hset(raw):
    raw.call("HSET", "smallhash", "tmp", "100")
    assert raw.call("HINCRBY", "smallhash", "tmp", "2") == 102


def test_hincrby_over_32bit_value(raw):
    raw.call("HSET", "smallhash", "tmp", "17179869184")
    assert raw.call("HINCRBY", "smallhash", "tmp", "1") == 17179869185


def test_hincrby_over_32bit_value_with_over_32bit_increment(raw):
    raw.call("HSET", "smallhash", "tmp", "17179869184")
    assert raw.call("HINCRBY", "smallhash", "tmp", "17179869184") == 34359738368


def test_hincrby_fails_against_hash_value_with_spaces(raw):
    for v in (" 11", "11 "):
        raw.call("HSET", "smallhash", "str", v)
        assert raw.call("HINCRBY", "smallhash", "str", "1") == Err(
            "ERR hash value is not an integer"
        )
        assert raw.call("HGET", "smallhash", "str") == v.encode()


def test_hincrby_can_detect_overflows(raw):
    raw.call("HSET", "hash", "n", "-9223372036854775484")
    assert raw.call("HINCRBY", "hash", "n", "-1") == -9223372036854775485
    assert raw.call("HINCRBY", "hash", "n", "-10000") == Err(
        "ERR increment or decrement would overflow"
    )
    raw.call("HSET", "hash", "m", "9223372036854775807")
    assert raw.call("HINCRBY", "hash", "m", "1") == Err(
        "ERR increment or decrement would overflow"
    )
    assert raw.call("HINCRBY", "hash", "m", "-9223372036854775808") == -1


def test_hincrby_argument_and_type_errors(raw):
    assert raw.call("HINCRBY", "h", "f", "1.5") == NOT_INT
    assert raw.call("HINCRBY", "h", "f", "x") == NOT_INT
    assert raw.call("EXISTS", "h") == 0
    raw.call("SET", "s", "v")
    # The increment is checked before the key's type.
    assert raw.call("HINCRBY", "s", "f", "x") == NOT_INT
    assert raw.call("HINCRBY", "s", "f", "1") == WRONGTYPE
    raw.call("HSET", "h", "f", "1.5")
    assert raw.call("HINCRBY", "h", "f", "1") == Err("ERR hash value is not an integer")


# -- HINCRBYFLOAT ---------------------------------------------------------------


def test_hincrbyfloat_against_non_existing_database_key(raw):
    assert raw.call("HINCRBYFLOAT", "htest", "foo", "2.5") == b"2.5"


def test_hincrbyfloat_against_non_existing_hash_key(raw):
    small_hash(raw)
    assert raw.call("HINCRBYFLOAT", "smallhash", "tmp", "2.5") == b"2.5"
    assert raw.call("HGET", "smallhash", "tmp") == b"2.5"


def test_hincrbyfloat_against_hash_key_created_by_hincrby_itself(raw):
    raw.call("HINCRBY", "smallhash", "tmp", "2")
    assert raw.call("HINCRBYFLOAT", "smallhash", "tmp", "3.5") == b"5.5"
    assert raw.call("HGET", "smallhash", "tmp") == b"5.5"


def test_hincrbyfloat_against_hash_key_originally_set_with_hset(raw):
    raw.call("HSET", "smallhash", "tmp", "100")
    assert raw.call("HINCRBYFLOAT", "smallhash", "tmp", "2.5") == b"102.5"


def test_hincrbyfloat_over_32bit_value(raw):
    raw.call("HSET", "smallhash", "tmp", "17179869184")
    assert raw.call("HINCRBYFLOAT", "smallhash", "tmp", "1") == b"17179869185"


def test_hincrbyfloat_over_32bit_value_with_over_32bit_increment(raw):
    raw.call("HSET", "smallhash", "tmp", "17179869184")
    assert raw.call("HINCRBYFLOAT", "smallhash", "tmp", "17179869184") == b"34359738368"


def test_hincrbyfloat_fails_against_hash_value_with_spaces(raw):
    for v in (" 11", "11 "):
        raw.call("HSET", "smallhash", "str", v)
        assert raw.call("HINCRBYFLOAT", "smallhash", "str", "1") == Err(
            "ERR hash value is not a float"
        )


def test_hincrbyfloat_fails_against_hash_value_that_contains_a_null_terminator_in_the_middle(raw):
    raw.call("HSET", "h", "f", b"1\x002")
    assert raw.call("HINCRBYFLOAT", "h", "f", "1") == Err("ERR hash value is not a float")


def test_hincrbyfloat_does_not_allow_nan_or_infinity(raw):
    assert raw.call("HINCRBYFLOAT", "hfoo", "field", "+inf") == Err(
        "ERR value is NaN or Infinity"
    )
    assert raw.call("HINCRBYFLOAT", "hfoo", "field", "x") == Err(
        "ERR value is not a valid float"
    )
    assert raw.call("EXISTS", "hfoo") == 0
    raw.call("HSET", "hfoo", "big", "1e4932")
    assert raw.call("HINCRBYFLOAT", "hfoo", "big", "1e4932") == Err(
        "ERR increment would produce NaN or Infinity"
    )
    raw.call("SET", "s", "v")
    assert raw.call("HINCRBYFLOAT", "s", "f", "x") == Err("ERR value is not a valid float")
    assert raw.call("HINCRBYFLOAT", "s", "f", "1") == WRONGTYPE


def test_hincrbyfloat_precision_like_incrbyfloat(raw):
    assert raw.call("HINCRBYFLOAT", "h", "f", "10.5") == b"10.5"
    assert raw.call("HINCRBYFLOAT", "h", "f", "0.1") == b"10.6"
    assert raw.call("HINCRBYFLOAT", "h", "f", "1e3") == b"1010.59999999999999998"
    assert raw.call("HINCRBYFLOAT", "h", "g", "5.0e3") == b"5000"


# -- WRONGTYPE everywhere ---------------------------------------------------------


def test_hash_commands_against_wrong_type(raw):
    raw.call("SET", "s", "v")
    for cmd in (
        ("HSET", "s", "f", "v"),
        ("HMSET", "s", "f", "v"),
        ("HSETNX", "s", "f", "v"),
        ("HGET", "s", "f"),
        ("HMGET", "s", "f"),
        ("HGETALL", "s"),
        ("HKEYS", "s"),
        ("HVALS", "s"),
        ("HDEL", "s", "f"),
        ("HLEN", "s"),
        ("HEXISTS", "s", "f"),
        ("HSTRLEN", "s", "f"),
        ("HINCRBY", "s", "f", "1"),
        ("HINCRBYFLOAT", "s", "f", "1"),
        ("HSCAN", "s", "0"),
        ("HRANDFIELD", "s"),
        ("HRANDFIELD", "s", "1"),
    ):
        assert raw.call(*cmd) == WRONGTYPE, cmd
    raw.call("HSET", "h", "f", "v")
    assert raw.call("GET", "h") == WRONGTYPE
    assert raw.call("TYPE", "h") == Status("hash")


def test_hash_keeps_its_ttl_across_writes(raw):
    raw.call("HSET", "h", "a", "1")
    assert raw.call("EXPIRE", "h", "1000") == 1
    raw.call("HSET", "h", "b", "2")
    raw.call("HINCRBY", "h", "c", "1")
    raw.call("HDEL", "h", "a")
    assert 0 < raw.call("TTL", "h") <= 1000
    # A deleted and recreated hash has no TTL and none of the old fields.
    raw.call("DEL", "h")
    raw.call("HSET", "h", "z", "1")
    assert raw.call("TTL", "h") == -1
    assert raw.call("HGETALL", "h") == [b"z", b"1"]


# -- HSCAN (tests/unit/scan.tcl) ------------------------------------------------


def hscan_all(raw, key, *opts) -> dict:
    out = {}
    cursor = b"0"
    for _ in range(10_000):
        reply = raw.call("HSCAN", key, cursor, *opts)
        cursor, items = reply
        out.update(pairs(items))
        if cursor == b"0":
            return out
    raise AssertionError("HSCAN did not end")


@pytest.mark.parametrize("size", [30, 1000])
def test_hscan_with_encoding(raw, size):
    h = {f"key:{i}".encode(): str(i).encode() for i in range(size)}
    args = [x for kv in h.items() for x in kv]
    raw.call("HMSET", "hash", *args)
    assert hscan_all(raw, "hash") == h
    assert hscan_all(raw, "hash", "COUNT", "100") == h


def test_hscan_match_and_errors(raw):
    raw.call("HMSET", "hash", "foo1", "1", "foo2", "2", "bar", "3")
    assert hscan_all(raw, "hash", "MATCH", "foo*") == {b"foo1": b"1", b"foo2": b"2"}
    assert raw.call("HSCAN", "hash", "0", "MATCH", "*")[0] == b"0"
    assert raw.call("HSCAN", "nokey", "0") == [b"0", []]
    # A missing key answers before the options are looked at.
    assert raw.call("HSCAN", "nokey", "0", "COUNT", "0") == [b"0", []]
    assert raw.call("HSCAN", "hash", "abc") == Err("ERR invalid cursor")
    assert raw.call("HSCAN", "hash", "")[0] == b"0"
    assert raw.call("HSCAN", "hash", "18446744073709551616") == Err("ERR invalid cursor")
    assert raw.call("HSCAN", "hash", "0", "COUNT", "0") == Err("ERR syntax error")
    assert raw.call("HSCAN", "hash", "0", "COUNT", "x") == NOT_INT
    assert raw.call("HSCAN", "hash", "0", "MATCH") == Err("ERR syntax error")
    assert raw.call("HSCAN", "hash", "0", "TYPE", "string") == Err("ERR syntax error")
    assert raw.call("HSCAN", "hash", "0", "NOVALUES") == Err("ERR syntax error")
    raw.call("SET", "s", "v")
    # The cursor is checked before the key's type, the options after.
    assert raw.call("HSCAN", "s", "x") == Err("ERR invalid cursor")
    assert raw.call("HSCAN", "s", "0", "COUNT", "0") == WRONGTYPE


def test_hscan_small_hash_ignores_cursor_and_count(raw):
    raw.call("HMSET", "hash", "a", "1", "b", "2", "c", "3")
    for cursor in ("0", "5", "-1", "18446744073709551615"):
        cur, items = raw.call("HSCAN", "hash", cursor, "COUNT", "1")
        assert cur == b"0"
        assert pairs(items) == {b"a": b"1", b"b": b"2", b"c": b"3"}


# -- HRANDFIELD -------------------------------------------------------------------


def test_hrandfield_count_of_0_is_handled_correctly(raw):
    raw.call("HSET", "myhash", "a", "1")
    assert raw.call("HRANDFIELD", "myhash", "0") == []
    assert raw.call("HRANDFIELD", "myhash", "0", "WITHVALUES") == []


def test_hrandfield_count_overflow(raw):
    raw.call("HMSET", "myhash", "a", "1")
    out_of_range = Err("ERR value is out of range")
    assert raw.call("HRANDFIELD", "myhash", "-9223372036854770000", "WITHVALUES") == out_of_range
    assert raw.call("HRANDFIELD", "myhash", "-9223372036854775808", "WITHVALUES") == Err(
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    )
    assert raw.call("HRANDFIELD", "myhash", "-9223372036854775808") == Err(
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    )
    assert raw.call("HRANDFIELD", "myhash", "4611686018427387904", "WITHVALUES") == out_of_range
    assert raw.call("HRANDFIELD", "myhash", "4611686018427387903", "WITHVALUES") == [b"a", b"1"]
    # Checked before the key is looked at.
    assert raw.call("HRANDFIELD", "nokey", "-9223372036854770000", "WITHVALUES") == out_of_range
    raw.call("SET", "s", "v")
    assert raw.call("HRANDFIELD", "s", "-9223372036854770000", "WITHVALUES") == out_of_range
    assert raw.call("HRANDFIELD", "s", "1", "WITHVALUES", "x") == Err("ERR syntax error")


def test_hrandfield_with_count_against_non_existing_key(raw):
    assert raw.call("HRANDFIELD", "nonexisting_key", "100") == []
    assert raw.call("HRANDFIELD", "nonexisting_key") is None
    assert raw.call("HRANDFIELD", "nonexisting_key", "1", "foo") == Err("ERR syntax error")
    assert raw.call("HRANDFIELD", "nonexisting_key", "x") == NOT_INT


def test_hrandfield_syntax_errors(raw):
    raw.call("HSET", "myhash", "a", "1")
    assert raw.call("HRANDFIELD", "myhash", "1", "foo") == Err("ERR syntax error")
    assert raw.call("HRANDFIELD", "myhash", "1", "WITHVALUES", "x") == Err("ERR syntax error")
    raw.call("SET", "s", "v")
    assert raw.call("HRANDFIELD", "s", "x") == NOT_INT


@pytest.mark.parametrize("size", [10, 300])
def test_hrandfield_with_count(raw, size):
    h = {f"f{i}".encode(): f"v{i}".encode() for i in range(size)}
    raw.call("HMSET", "myhash", *[x for kv in h.items() for x in kv])
    # A single field.
    for _ in range(20):
        assert raw.call("HRANDFIELD", "myhash") in h
    # Positive counts: distinct fields.
    for count in (1, 5, size - 1, size, size + 10):
        got = raw.call("HRANDFIELD", "myhash", str(count))
        assert len(got) == min(count, size)
        assert len(set(got)) == len(got)
        assert set(got) <= set(h)
        flat = raw.call("HRANDFIELD", "myhash", str(count), "WITHVALUES")
        assert len(flat) == 2 * min(count, size)
        assert all(h[f] == v for f, v in pairs(flat).items())
    # Negative counts: exactly |count| fields, repeats allowed.
    got = raw.call("HRANDFIELD", "myhash", "-100")
    assert len(got) == 100 and set(got) <= set(h)
    flat = raw.call("HRANDFIELD", "myhash", "-50", "WITHVALUES")
    assert len(flat) == 100
    assert all(h[f] == v for f, v in zip(flat[0::2], flat[1::2]))
    if size == 10:
        # 1000 draws of 10 fields: every field shows up.
        assert set(raw.call("HRANDFIELD", "myhash", "-1000")) == set(h)


def test_hrandfield_with_resp3(raw):
    raw.call("HELLO", "3")
    raw.call("HMSET", "myhash", "a", "1", "b", "2", "c", "3")
    got = raw.call("HRANDFIELD", "myhash", "3", "WITHVALUES")
    assert sorted(got) == [[b"a", b"1"], [b"b", b"2"], [b"c", b"3"]]
    got = raw.call("HRANDFIELD", "myhash", "-4", "WITHVALUES")
    assert len(got) == 4 and all(len(p) == 2 for p in got)
    assert sorted(raw.call("HRANDFIELD", "myhash", "3")) == [b"a", b"b", b"c"]


# -- fuzzing -----------------------------------------------------------------


@pytest.mark.parametrize("size", [10, 512])
def test_hash_fuzzing_1(raw, size):
    """Hash fuzzing #1: random fields and values, then every HGET."""
    rnd = random.Random(size)
    model = {}
    for _ in range(size):
        f = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 20)))
        v = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 20)))
        model[f] = v
        raw.call("HSET", "hash", f, v)
    for f, v in model.items():
        assert raw.call("HGET", "hash", f) == v
    assert raw.call("HLEN", "hash") == len(model)


@pytest.mark.parametrize("size", [10, 512])
def test_hash_fuzzing_2(raw, size):
    """Hash fuzzing #2: random HSET/HDEL, then the whole hash."""
    rnd = random.Random(size + 1)
    model = {}
    for _ in range(size):
        f = str(rnd.randrange(size)).encode()
        if rnd.random() < 0.5:
            v = str(rnd.randrange(10**6)).encode()
            assert raw.call("HSET", "hash", f, v) == (0 if f in model else 1)
            model[f] = v
        else:
            assert raw.call("HDEL", "hash", f) == (1 if f in model else 0)
            model.pop(f, None)
    assert pairs(raw.call("HGETALL", "hash")) == model
    assert raw.call("HLEN", "hash") == len(model)


def test_stress_test_the_hash_listpack_to_hashtable_encoding_conversion(raw):
    rnd = random.Random(3)
    model = {}
    for _ in range(300):
        f = str(rnd.randrange(200)).encode()
        v = b"x" * rnd.randrange(1, 100)
        raw.call("HSET", "hash", f, v)
        model[f] = v
    assert pairs(raw.call("HGETALL", "hash")) == model


def test_is_a_listpack_encoded_hash_promoted_on_big_payload(raw):
    raw.call("HSET", "smallhash", "foo", "bar")
    assert raw.call("OBJECT", "ENCODING", "smallhash") == b"listpack"
    raw.call("HSET", "smallhash", "foo", "a" * 1024)
    assert raw.call("OBJECT", "ENCODING", "smallhash") == b"hashtable"


def test_hash_through_redis_py_cluster_client(rc):
    assert rc.hset("user:1", mapping={"name": "ann", "age": "41"}) == 2
    assert rc.hget("user:1", "name") == "ann"
    assert rc.hgetall("user:1") == {"name": "ann", "age": "41"}
    assert rc.hincrby("user:1", "age", 1) == 42
    assert rc.hincrbyfloat("user:1", "score", 1.5) == 1.5
    assert rc.hmget("user:1", ["name", "nope"]) == ["ann", None]
    assert rc.hexists("user:1", "name") is True
    assert rc.hlen("user:1") == 3
    assert rc.hsetnx("user:1", "name", "bob") == 0
    assert sorted(rc.hkeys("user:1")) == ["age", "name", "score"]
    assert rc.hstrlen("user:1", "name") == 3
    assert dict(rc.hscan_iter("user:1")) == {"name": "ann", "age": "42", "score": "1.5"}
    assert rc.hdel("user:1", "name", "age", "score") == 3
    assert rc.exists("user:1") == 0
