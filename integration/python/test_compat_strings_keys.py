"""Strings and keys, case by case after Redis 7.0's own test suite.

Each test is named after the test case of tests/unit/type/string.tcl,
type/incr.tcl, expire.tcl, keyspace.tcl or scan.tcl that it follows, and
runs through redis-py's RedisCluster (`rc`), with the raw client (`raw`)
where the exact reply or error text matters. Like test_cluster_client.py
(whose fixtures these are), every test runs against redraft and against
a reference one-node Redis Cluster.

Waiting for a key to expire polls the wall clock with a deadline (Redis's
tests sleep); no test sleeps to synchronise.
"""

from __future__ import annotations

import time

import pytest

from resp import Err, Status
from test_cluster_client import error_text, plain, raw, rc, server  # noqa: F401  (fixtures)

BIG_SET_ERR = Err("ERR invalid expire time in 'set' command")


def wait_past(unix_ms: int, deadline_s: float = 10.0) -> None:
    """Returns once the wall clock is past `unix_ms` (so a key whose expiry
    is `unix_ms` has expired on the server's clock too)."""
    deadline = time.monotonic() + deadline_s
    while time.time() * 1000 <= unix_ms + 5:
        assert time.monotonic() < deadline, "the clock did not advance"
        time.sleep(0.005)


def now_ms() -> int:
    return int(time.time() * 1000)


# -- tests/unit/type/string.tcl ----------------------------------------------


def test_set_and_get_an_item(rc):
    assert rc.set("x", "foobar") is True
    assert rc.get("x") == "foobar"
    assert rc.set("x", "") is True
    assert rc.get("x") == ""


def test_very_big_payload_in_get_set(rc):
    payload = "abcd" * 256 * 1024
    assert rc.set("foo", payload) is True
    assert rc.get("foo") == payload


def test_setnx_target_key_missing_and_exists(rc):
    assert rc.setnx("novar", "foobared") is True
    assert rc.get("novar") == "foobared"
    assert rc.setnx("novar", "blabla") is False
    assert rc.get("novar") == "foobared"


def test_setnx_against_not_expired_volatile_key(rc):
    rc.set("x", 10)
    rc.expire("x", 10000)
    assert rc.setnx("x", 20) is False
    assert rc.get("x") == "10"


def test_setnx_against_expired_volatile_key(rc):
    at = now_ms() + 50
    rc.set("x", 10, pxat=at)
    wait_past(at)
    assert rc.setnx("x", 20) is True
    assert rc.get("x") == "20"
    assert rc.ttl("x") == -1


def test_getex_ex_px_exat_pxat_persist_and_no_option(rc):
    rc.set("foo", "bar")
    assert rc.getex("foo", ex=10) == "bar"
    assert 5 <= rc.ttl("foo") <= 10
    assert rc.getex("foo", px=10000) == "bar"
    assert 5000 <= rc.pttl("foo") <= 10000
    exat = int(time.time()) + 10
    assert rc.getex("foo", exat=exat) == "bar"
    assert rc.expiretime("foo") == exat
    pxat = now_ms() + 10000
    assert rc.getex("foo", pxat=pxat) == "bar"
    assert rc.pexpiretime("foo") == pxat
    assert rc.getex("foo", persist=True) == "bar"
    assert rc.ttl("foo") == -1
    rc.set("foo", "bar", ex=10)
    assert rc.getex("foo") == "bar"
    assert 5 <= rc.ttl("foo") <= 10


def test_getex_syntax_errors_and_no_arguments(raw):
    raw.call("SET", "foo", "bar")
    assert raw.call("GETEX", "foo", "non-existent-option") == Err("ERR syntax error")
    assert raw.call("GETEX") == Err("ERR wrong number of arguments for 'getex' command")


def test_getex_and_get_expired_key_or_not_exist(rc):
    at = now_ms() + 20
    rc.set("foo", "bar", pxat=at)
    wait_past(at)
    assert rc.getex("foo") is None
    assert rc.get("foo") is None
    assert rc.getex("nokey", ex=10) is None
    assert rc.exists("nokey") == 0


def test_getdel(rc):
    rc.set("foo", "bar")
    assert rc.getdel("foo") == "bar"
    assert rc.getdel("foo") is None


def test_mget_against_non_existing_key(rc):
    rc.mset({"foo{t}": "BAR", "bar{t}": "FOO"})
    assert rc.mget("foo{t}", "baazz{t}", "bar{t}") == ["BAR", None, "FOO"]


def test_getset_set_new_value_and_replace_old_value(rc):
    assert rc.getset("foo", "xyz") is None
    assert rc.get("foo") == "xyz"
    rc.set("foo", "bar", ex=100)
    assert rc.getset("foo", "xyz") == "bar"
    assert rc.get("foo") == "xyz"
    assert rc.ttl("foo") == -1


def test_mset_msetnx_wrong_number_of_args(raw):
    assert raw.call("MSET", "x{t}", "10", "y{t}", "foo bar", "z{t}") == Err(
        "ERR wrong number of arguments for 'mset' command"
    )
    assert raw.call("MSETNX", "x{t}", "20", "y{t}", "foo bar", "z{t}") == Err(
        "ERR wrong number of arguments for 'msetnx' command"
    )


def test_mset_with_already_existing_same_key_twice(rc, raw):
    rc.set("x{t}", "x")
    assert raw.call("MSET", "x{t}", "xxx", "x{t}", "yyy") == Status("OK")
    assert rc.get("x{t}") == "yyy"


def test_msetnx_with_already_existent_key(rc):
    rc.set("x1{t}", "existing")
    assert rc.msetnx({"x1{t}": "xxx", "y2{t}": "yyy"}) is False
    assert rc.get("x1{t}") == "existing"
    assert rc.exists("y2{t}") == 0


def test_msetnx_with_not_existing_keys_same_key_twice(raw):
    assert raw.call("MSETNX", "x1{t}", "xxx", "x1{t}", "yyy") == 1
    assert raw.call("GET", "x1{t}") == b"yyy"
    assert raw.call("MSETNX", "x1{t}", "zzz", "x1{t}", "www") == 0
    assert raw.call("GET", "x1{t}") == b"yyy"


def test_strlen_against_integer_encoded_value_and_plain_string(rc):
    rc.set("myinteger", -555)
    assert rc.strlen("myinteger") == 4
    rc.set("mystring", "foozzz0123456789 baz")
    assert rc.strlen("mystring") == 20
    assert rc.strlen("notakey") == 0


def test_setrange_against_non_existing_string_and_integer_encoded_key(rc, raw):
    assert rc.setrange("mykey", 0, "foo") == 3
    assert rc.get("mykey") == "foo"
    rc.delete("mykey")
    assert rc.setrange("mykey", 0, "") == 0
    assert rc.exists("mykey") == 0
    assert rc.setrange("mykey", 1, "foo") == 4
    assert raw.call("GET", "mykey") == b"\x00foo"
    rc.set("mykey", "1234")
    assert rc.setrange("mykey", 0, "2") == 4
    assert rc.get("mykey") == "2234"
    assert rc.setrange("mykey", 5, "2") == 6
    assert raw.call("GET", "mykey") == b"2234\x002"


def test_setrange_with_out_of_range_and_huge_offset(raw):
    raw.call("SET", "mykey", "hello")
    too_big = Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    assert raw.call("SETRANGE", "mykey", "536870912", "hello") == too_big
    assert raw.call("SETRANGE", "mykey", "-1", "world") == Err("ERR offset is out of range")
    for offset in ("9223372036854775807", "2147483647"):
        assert raw.call("SETRANGE", "K", offset, "A") == too_big
    assert raw.call("EXISTS", "K") == 0


def test_getrange_against_string_and_integer_encoded_value(rc):
    rc.set("mykey", "Hello World")
    assert rc.getrange("mykey", 0, 3) == "Hell"
    assert rc.getrange("mykey", 0, -1) == "Hello World"
    assert rc.getrange("mykey", -4, -1) == "orld"
    assert rc.getrange("mykey", 5, 3) == ""
    assert rc.getrange("mykey", 5, 5000) == " World"
    assert rc.getrange("mykey", -5000, 10000) == "Hello World"
    rc.set("mykey", 1234)
    assert rc.getrange("mykey", 0, 2) == "123"
    assert rc.getrange("mykey", -3, -1) == "234"


def test_getrange_with_huge_ranges_github_issue_1844(rc):
    rc.set("foo", "bar")
    assert rc.getrange("foo", 0, 4294967297) == "bar"


def test_extended_set_can_detect_syntax_errors(raw):
    assert raw.call("SET", "foo", "bar", "non-existing-option") == Err("ERR syntax error")


def test_extended_set_nx_xx_get_options(rc):
    assert rc.set("foo", "1", nx=True) is True
    assert rc.set("foo", "2", nx=True) is None
    assert rc.get("foo") == "1"
    rc.delete("foo")
    assert rc.set("foo", "1", xx=True) is None
    rc.set("foo", "bar")
    assert rc.set("foo", "2", xx=True) is True
    assert rc.set("foo", "bar2", get=True) == "2"
    assert rc.set("new", "bar", get=True) is None
    assert rc.set("foo", "bar3", xx=True, get=True) == "bar2"
    assert rc.set("nox", "bar", xx=True, get=True) is None
    assert rc.exists("nox") == 0
    assert rc.set("nx1", "bar", nx=True, get=True) is None
    assert rc.set("nx1", "baz", nx=True, get=True) == "bar"
    assert rc.get("nx1") == "bar"


def test_extended_set_ex_px_exat_pxat_and_multiple_options(rc):
    rc.set("foo", "bar", ex=10)
    assert 5 <= rc.ttl("foo") <= 10
    rc.set("foo", "bar", px=10000)
    assert 5 <= rc.ttl("foo") <= 10
    exat = int(time.time()) + 10
    rc.set("foo", "bar", exat=exat)
    assert rc.expiretime("foo") == exat
    pxat = now_ms() + 10000
    rc.set("foo", "bar", pxat=pxat)
    assert rc.pexpiretime("foo") == pxat
    assert rc.set("foo", "val", xx=True, px=10000) is True
    assert rc.set("foo", "val2", xx=True, ex=10, get=True) == "val"
    assert 5 <= rc.ttl("foo") <= 10


# -- tests/unit/type/incr.tcl ------------------------------------------------


def test_incr_against_non_existing_key_and_key_created_by_incr(rc):
    assert rc.incr("novar") == 1
    assert rc.get("novar") == "1"
    assert rc.incr("novar") == 2
    assert rc.decr("novar") == 1


def test_incr_over_32bit_value_and_incrby_with_over_32bit_increment(rc):
    rc.set("novar", 17179869184)
    assert rc.incr("novar") == 17179869185
    rc.set("novar", 17179869184)
    assert rc.incrby("novar", 17179869184) == 34359738368
    rc.set("novar", 17179869184)
    assert rc.decrby("novar", 17179869185) == -1


@pytest.mark.parametrize("value", ["    11", "11    ", "    11    "], ids=["left", "right", "both"])
def test_incr_fails_against_key_with_spaces(raw, value):
    raw.call("SET", "novar", value)
    assert raw.call("INCR", "novar") == Err("ERR value is not an integer or out of range")
    assert raw.call("INCRBYFLOAT", "novar", "1.0") == Err("ERR value is not a valid float")


def test_decrby_negation_overflow(raw):
    raw.call("SET", "x", "0")
    assert raw.call("DECRBY", "x", "-9223372036854775808") == Err("ERR decrement would overflow")


def test_incrbyfloat_against_non_existing_and_set_key(rc, raw):
    assert raw.call("INCRBYFLOAT", "novar", "1") == b"1"
    assert raw.call("INCRBYFLOAT", "novar", "0.25") == b"1.25"
    rc.set("novar", 1.5)
    assert raw.call("INCRBYFLOAT", "novar", "1.5") == b"3"
    rc.set("novar", 17179869184)
    assert raw.call("INCRBYFLOAT", "novar", "1.5") == b"17179869185.5"


def test_incrbyfloat_does_not_allow_nan_or_infinity(raw):
    raw.call("SET", "foo", "0")
    assert raw.call("INCRBYFLOAT", "foo", "+inf") == Err(
        "ERR increment would produce NaN or Infinity"
    )
    assert raw.call("GET", "foo") == b"0"


def test_incrbyfloat_decrement(raw):
    raw.call("SET", "foo", "1")
    assert raw.call("INCRBYFLOAT", "foo", "-1.1") == b"-0.1"


def test_string_to_double_with_null_terminator(raw):
    raw.call("SET", "foo", "1")
    raw.call("SETRANGE", "foo", "2", "2")
    assert raw.call("INCRBYFLOAT", "foo", "1") == Err("ERR value is not a valid float")


def test_no_negative_zero(raw):
    assert raw.call("INCRBYFLOAT", "foo", repr(1 / 41)) == b"0.02439024390243902"
    assert raw.call("INCRBYFLOAT", "foo", repr(-1 / 41)) == b"0"


# -- tests/unit/other.tcl ----------------------------------------------------


def test_append_basics_and_integer_encoded_values(rc):
    assert rc.exists("foo") == 0
    assert rc.append("foo", "bar") == 3
    assert rc.get("foo") == "bar"
    assert rc.append("foo", 100) == 6
    assert rc.get("foo") == "bar100"
    rc.set("foo", 1)
    assert rc.append("foo", 2) == 2
    assert rc.get("foo") == "12"
    rc.set("foo", 1)
    assert rc.append("foo", "abc") == 4
    assert rc.get("foo") == "1abc"


# -- tests/unit/keyspace.tcl -------------------------------------------------


def test_del_against_a_single_item_and_vararg_del(rc):
    rc.set("x", "foo")
    assert rc.delete("x") == 1
    assert rc.get("x") is None
    rc.mset({"foo1{t}": "a", "foo2{t}": "b", "foo3{t}": "c"})
    assert rc.delete("foo1{t}", "foo2{t}", "foo3{t}", "foo4{t}") == 3
    assert rc.mget("foo1{t}", "foo2{t}", "foo3{t}") == [None, None, None]


def test_untagged_multi_key_commands(rc):
    """The cluster client splits DEL/EXISTS/UNLINK/TOUCH of keys in different slots."""
    rc.mset_nonatomic({"a": "1", "b": "2", "c": "3"})
    assert rc.exists("a", "b", "c", "d") == 3
    assert rc.touch("a", "b", "d") == 2
    assert rc.unlink("a", "d") == 1
    assert rc.delete("b", "c", "d") == 2
    assert rc.dbsize() == 0


def test_del_against_expired_key(rc):
    at = now_ms() + 20
    rc.set("foo", "bar", pxat=at)
    wait_past(at)
    assert rc.delete("foo") == 0


def test_keys_with_pattern_and_to_get_all_keys(rc):
    for k in ["key_x", "key_y", "key_z", "foo_a", "foo_b", "foo_c"]:
        rc.set(k, "hello")
    assert sorted(rc.keys("foo*")) == ["foo_a", "foo_b", "foo_c"]
    assert sorted(rc.keys()) == ["foo_a", "foo_b", "foo_c", "key_x", "key_y", "key_z"]
    assert rc.dbsize() == 6


def test_keys_with_hashtag(rc):
    for k in ["{a}x", "{a}y", "{a}z", "{b}a", "{b}b", "{b}c"]:
        rc.set(k, "hello")
    assert sorted(rc.keys("{a}*")) == ["{a}x", "{a}y", "{a}z"]
    assert sorted(rc.keys("*{b}*")) == ["{b}a", "{b}b", "{b}c"]


def test_exists_and_zero_length_value_in_key(rc):
    rc.set("newkey", "test")
    assert rc.exists("newkey") == 1
    rc.delete("newkey")
    assert rc.exists("newkey") == 0
    rc.set("emptykey", "")
    assert rc.get("emptykey") == ""
    assert rc.exists("emptykey") == 1
    assert rc.type("emptykey") == "string"
    assert rc.type("newkey") == "none"


def test_rename_basic_usage_and_against_already_existing_key(rc):
    rc.set("mykey{t}", "hello")
    assert rc.rename("mykey{t}", "mykey1{t}") is True
    assert rc.rename("mykey1{t}", "mykey2{t}") is True
    assert rc.get("mykey2{t}") == "hello"
    assert rc.exists("mykey{t}") == 0
    rc.set("mykey{t}", "a")
    rc.set("mykey2{t}", "b")
    assert rc.rename("mykey2{t}", "mykey{t}") is True
    assert rc.mget("mykey{t}", "mykey2{t}") == ["b", None]


def test_renamenx_basic_usage_and_against_already_existing_key(rc):
    rc.set("mykey{t}", "foobar")
    assert rc.renamenx("mykey{t}", "mykey2{t}") is True
    assert rc.mget("mykey{t}", "mykey2{t}") == [None, "foobar"]
    rc.set("mykey{t}", "foo")
    rc.set("mykey2{t}", "bar")
    assert rc.renamenx("mykey{t}", "mykey2{t}") is False
    assert rc.mget("mykey{t}", "mykey2{t}") == ["foo", "bar"]


def test_rename_against_non_existing_source_key_and_same_key(raw):
    assert raw.call("RENAME", "nokey{t}", "foobar{t}") == Err("ERR no such key")
    raw.call("SET", "mykey{t}", "a")
    assert raw.call("RENAME", "mykey{t}", "mykey{t}") == Status("OK")
    assert raw.call("RENAMENX", "mykey{t}", "mykey{t}") == 0
    assert raw.call("RENAME", "nokey{t}", "nokey{t}") == Err("ERR no such key")


def test_rename_with_volatile_key_ttl_moves_and_is_not_inherited(rc):
    rc.set("mykey{t}", "foo")
    rc.expire("mykey{t}", 100)
    rc.rename("mykey{t}", "mykey2{t}")
    assert 95 <= rc.ttl("mykey2{t}") <= 100
    rc.set("mykey{t}", "foo")
    rc.set("mykey2{t}", "bar")
    rc.expire("mykey2{t}", 100)
    rc.rename("mykey{t}", "mykey2{t}")
    assert rc.ttl("mykey2{t}") == -1


def test_copy_basic_usage_and_replace_for_string(rc):
    rc.set("mykey{t}", "foobar")
    assert rc.copy("mykey{t}", "mynewkey{t}") is True
    assert rc.get("mynewkey{t}") == "foobar"
    rc.set("mynewkey{t}", "other")
    assert rc.copy("mykey{t}", "mynewkey{t}") is False
    assert rc.get("mynewkey{t}") == "other"
    assert rc.copy("mykey{t}", "mynewkey{t}", replace=True) is True
    assert rc.get("mynewkey{t}") == "foobar"
    # The copy is independent of its source.
    rc.set("mykey{t}", "changed")
    assert rc.get("mynewkey{t}") == "foobar"


def test_copy_can_copy_key_expire_metadata_and_does_not_create_one(rc, raw):
    rc.set("mykey{t}", "foobar", ex=100)
    assert rc.copy("mykey{t}", "mynewkey{t}", replace=True) is True
    assert 95 <= rc.ttl("mynewkey{t}") <= 100
    rc.set("mykey{t}", "foobar")
    assert rc.copy("mykey{t}", "mynewkey{t}", replace=True) is True
    assert rc.ttl("mynewkey{t}") == -1
    assert raw.call("COPY", "mykey{t}", "mynewkey{t}", "DB", "notanumber") == Err(
        "ERR value is not an integer or out of range"
    )


def test_randomkey_and_against_empty_db(rc):
    assert rc.randomkey() is None
    rc.set("foo", "x")
    rc.set("bar", "y")
    seen = set()
    for _ in range(200):
        seen.add(rc.randomkey())
        if len(seen) == 2:
            break
    assert seen == {"foo", "bar"}
    rc.delete("foo", "bar")
    assert rc.randomkey() is None


# -- tests/unit/expire.tcl ---------------------------------------------------


def test_expire_set_timeouts_multiple_times(rc):
    rc.set("x", "foobar")
    assert rc.expire("x", 5) is True
    assert 4 <= rc.ttl("x") <= 5
    assert rc.expire("x", 10) is True
    assert 9 <= rc.ttl("x") <= 10
    assert rc.expire("x", 2) is True


def test_expireat_check_for_expire_alike_behavior(rc):
    rc.set("x", "foo")
    rc.expireat("x", int(time.time()) + 15)
    assert 13 <= rc.ttl("x") <= 15


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # redis-py 8 deprecates setex()/psetex()
def test_setex_set_expire_combo_check_value_overwrite_and_wrong_time(rc, raw):
    assert rc.setex("x", 12, "test") is True
    assert 10 <= rc.ttl("x") <= 12
    assert rc.get("x") == "test"
    rc.setex("y", 1, "foo")
    rc.setex("y", 100, "bar")
    assert rc.get("y") == "bar"
    assert raw.call("SETEX", "z", "-10", "foo") == Err("ERR invalid expire time in 'setex' command")


def test_persist_can_undo_an_expire(rc):
    rc.set("x", "foo")
    rc.expire("x", 50)
    assert rc.persist("x") is True
    assert rc.ttl("x") == -1
    assert rc.get("x") == "foo"
    assert rc.persist("x") is False
    assert rc.persist("nokeyatall") is False


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # redis-py 8 deprecates setex()/psetex()
def test_psetex_pexpire_pexpireat_can_set_sub_second_expires(rc):
    assert rc.psetex("a", 100, "somevalue") is True
    rc.set("x", "somevalue")
    assert rc.pexpire("x", 100) is True
    rc.set("y", "somevalue")
    at = now_ms() + 100
    assert rc.pexpireat("y", at) is True
    assert rc.pttl("y") == -2 or 0 < rc.pttl("y") <= 100  # -2: already expired (slow machine)
    wait_past(at + 100)
    assert rc.mget_nonatomic("a", "x", "y") == [None, None, None]


def test_ttl_pttl_expiretime_pexpiretime_return_minus_1_or_minus_2(rc):
    rc.set("x", "v")
    assert [rc.ttl("x"), rc.pttl("x"), rc.expiretime("x"), rc.pexpiretime("x")] == [-1] * 4
    assert [rc.ttl("y"), rc.pttl("y"), rc.expiretime("y"), rc.pexpiretime("y")] == [-2] * 4


def test_expiretime_and_pexpiretime_return_absolute_expiration_time(rc):
    rc.set("foo", "bar")
    at = int(time.time()) + 100
    rc.expireat("foo", at)
    assert rc.expiretime("foo") == at
    assert rc.pexpiretime("foo") == at * 1000
    pat = (int(time.time()) + 100) * 1000 + 700  # EXPIRETIME rounds to nearest second
    rc.pexpireat("foo", pat)
    assert rc.pexpiretime("foo") == pat
    assert rc.expiretime("foo") == (pat + 500) // 1000


def test_expire_with_empty_string_and_big_integers(raw):
    raw.call("SET", "foo", "bar")
    assert raw.call("EXPIRE", "foo", "") == Err("ERR value is not an integer or out of range")
    for big in ("9223370399119966", "9223372036854776", "10000000000000000", "18446744073709561"):
        assert raw.call("EXPIRE", "foo", big) == Err("ERR invalid expire time in 'expire' command")
    assert raw.call("PEXPIRE", "foo", "9223372036854770000") == Err(
        "ERR invalid expire time in 'pexpire' command"
    )
    for big in ("-9223372036854776", "-9999999999999999"):
        assert raw.call("EXPIRE", "foo", big) == Err("ERR invalid expire time in 'expire' command")
    assert raw.call("TTL", "foo") == -1
    assert raw.call("PEXPIREAT", "foo", "9223372036854770000") == 1
    assert raw.call("PEXPIREAT", "foo", "-9223372036854770000") == 1
    assert raw.call("TTL", "foo") == -2


def test_set_and_getex_with_big_or_smallest_integer_should_report_an_error(raw):
    assert raw.call("SET", "foo", "bar", "EX", "10000000000000000") == BIG_SET_ERR
    assert raw.call("SET", "foo", "bar", "EX", "-9999999999999999") == BIG_SET_ERR
    raw.call("SET", "foo", "bar")
    for big in ("10000000000000000", "-9999999999999999"):
        assert raw.call("GETEX", "foo", "EX", big) == Err(
            "ERR invalid expire time in 'getex' command"
        )


def test_set_command_will_remove_expire_and_keepttl_keeps_it(rc):
    rc.set("foo", "bar", ex=100)
    rc.set("foo", "bar")
    assert rc.ttl("foo") == -1
    rc.set("foo", "bar", ex=100)
    rc.set("foo", "bar", keepttl=True)
    assert 90 <= rc.ttl("foo") <= 100
    assert rc.getex("foo", persist=True) == "bar"
    assert rc.ttl("foo") == -1


EXPIRE_FORMS = {
    "expire": lambda rc, k, s, **o: rc.expire(k, s, **o),
    "pexpire": lambda rc, k, s, **o: rc.pexpire(k, s * 1000, **o),
    "expireat": lambda rc, k, s, **o: rc.expireat(k, int(time.time()) + s, **o),
    "pexpireat": lambda rc, k, s, **o: rc.pexpireat(k, now_ms() + s * 1000, **o),
}


@pytest.mark.parametrize("form", EXPIRE_FORMS)
def test_expire_with_nx_xx_gt_lt_options(rc, form):
    """EXPIRE with NX/XX option on a key with/without ttl, with GT/LT option on
    a key with lower/higher ttl or without ttl, with LT and XX option — for
    each of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT."""
    ex = EXPIRE_FORMS[form]
    rc.set("foo", "bar", ex=100)
    assert ex(rc, "foo", 200, nx=True) is False
    assert 50 <= rc.ttl("foo") <= 100
    rc.persist("foo")
    assert ex(rc, "foo", 200, nx=True) is True
    assert ex(rc, "foo", 300, xx=True) is True
    assert 200 <= rc.ttl("foo") <= 300
    rc.persist("foo")
    assert ex(rc, "foo", 300, xx=True) is False
    rc.set("foo", "bar", ex=200)
    assert ex(rc, "foo", 100, gt=True) is False
    assert ex(rc, "foo", 300, gt=True) is True
    rc.persist("foo")
    assert ex(rc, "foo", 300, gt=True) is False
    rc.set("foo", "bar", ex=100)
    assert ex(rc, "foo", 200, lt=True) is False
    assert ex(rc, "foo", 50, lt=True) is True
    assert 40 <= rc.ttl("foo") <= 50
    rc.persist("foo")
    assert ex(rc, "foo", 100, lt=True) is True
    assert ex(rc, "foo", 50, lt=True, xx=True) is True
    rc.persist("foo")
    assert ex(rc, "foo", 50, lt=True, xx=True) is False
    assert rc.ttl("foo") == -1


@pytest.mark.parametrize("cmd", ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"])
def test_expire_with_conflicting_and_unsupported_options(raw, cmd):
    raw.call("SET", "foo", "bar")
    nx_xx = Err("ERR NX and XX, GT or LT options at the same time are not compatible")
    assert raw.call(cmd, "foo", "200", "LT", "GT") == Err(
        "ERR GT and LT options at the same time are not compatible"
    )
    assert raw.call(cmd, "foo", "200", "NX", "GT") == nx_xx
    assert raw.call(cmd, "foo", "200", "NX", "LT") == nx_xx
    assert raw.call(cmd, "foo", "200", "NX", "XX") == nx_xx
    assert raw.call(cmd, "foo", "200", "AB") == Err("ERR Unsupported option AB")
    assert raw.call(cmd, "foo", "200", "XX", "AB") == Err("ERR Unsupported option AB")
    assert raw.call("TTL", "foo") == -1


def test_expire_with_negative_expiry_and_non_existed_key(rc):
    rc.set("foo", "bar", ex=100)
    assert rc.expire("foo", -10, lt=True) is True
    assert rc.ttl("foo") == -2
    rc.set("foo", "bar")
    assert rc.expire("foo", -10, gt=True) is False
    assert rc.ttl("foo") == -1
    assert rc.expire("none", 100, nx=True) is False
    assert rc.expire("none", 100) is False


# -- tests/unit/scan.tcl -----------------------------------------------------


def test_scan_basic_count_match_type(rc):
    names = {f"key:{i}" for i in range(100)}
    rc.mset_nonatomic({n: n for n in names})
    for count in (1, 5, 10, 1000):
        assert set(rc.scan_iter(count=count)) == names
    assert set(rc.scan_iter(match="key:1*")) == {n for n in names if n.startswith("key:1")}
    assert set(rc.scan_iter(_type="string")) == names
    assert set(rc.scan_iter(_type="string1")) == set()


def test_scan_with_expired_keys_with_and_without_type_filter(rc):
    names = {f"key:{i}" for i in range(20)}
    rc.mset_nonatomic({n: n for n in names})
    at = now_ms() + 20
    for i in range(10):
        rc.set(f"gone:{i}", "v", pxat=at)
    wait_past(at)
    assert set(rc.scan_iter(count=10)) == names
    assert set(rc.scan_iter(count=10, _type="string")) == names
