"""Sets, case by case after Redis 7.0's tests/unit/type/set.tcl (and the
SSCAN cases of tests/unit/scan.tcl).

Every test runs against redraft and against the reference one-node Redis
Cluster (the fixtures of test_cluster_client.py) through a raw RESP2
connection (`raw`), so exact replies and error texts are compared. Keys
share the hash tag {t} so multi-key commands stay in one slot.

Redis answers set members in hash-table order and redraft in byte order;
Redis leaves the order unspecified, so members are compared sorted.
"""

from __future__ import annotations

import pytest

from resp import Err, RespSet, Status
from test_cluster_client import raw, server  # noqa: F401  (fixtures)

WRONGTYPE = Err("WRONGTYPE Operation against a key holding the wrong kind of value")


def srt(reply) -> list:
    assert isinstance(reply, list), reply
    return sorted(reply)


def b(*xs) -> list:
    return sorted(str(x).encode() for x in xs)


def setup(raw, key, *members):
    raw.call("DEL", key)
    assert raw.call("SADD", key, *members) == len(set(map(str, members)))


# -- SADD / SCARD / SISMEMBER / SMISMEMBER / SMEMBERS --------------------------


def test_sadd_scard_sismember_smismember_smembers_basics(raw):
    assert raw.call("SADD", "myset", "foo") == 1
    assert raw.call("SADD", "myset", "foo") == 0
    assert raw.call("SADD", "myset", "bar") == 1
    assert raw.call("SCARD", "myset") == 2
    assert raw.call("SISMEMBER", "myset", "foo") == 1
    assert raw.call("SISMEMBER", "myset", "bar") == 1
    assert raw.call("SISMEMBER", "myset", "bla") == 0
    assert raw.call("SMISMEMBER", "myset", "foo") == [1]
    assert raw.call("SMISMEMBER", "myset", "foo", "bar") == [1, 1]
    assert raw.call("SMISMEMBER", "myset", "foo", "bla") == [1, 0]
    assert raw.call("SMISMEMBER", "myset", "bla", "foo") == [0, 1]
    assert raw.call("SMISMEMBER", "myset", "bla") == [0]
    assert srt(raw.call("SMEMBERS", "myset")) == b("bar", "foo")
    assert raw.call("TYPE", "myset") == Status("set")


def test_smismember_against_non_set(raw):
    raw.call("LPUSH", "mylist", "foo")
    assert raw.call("SMISMEMBER", "mylist", "bar", "foo", "bla") == WRONGTYPE


def test_smismember_non_existing_key(raw):
    assert raw.call("SMISMEMBER", "myset1", "foo") == [0]
    assert raw.call("SMISMEMBER", "myset1", "foo", "bar") == [0, 0]


def test_smismember_requires_one_or_more_members(raw):
    assert raw.call("SMISMEMBER", "zmscoretest") == Err(
        "ERR wrong number of arguments for 'smismember' command"
    )


def test_sadd_against_non_set(raw):
    raw.call("SET", "mylist", "foo")
    assert raw.call("SADD", "mylist", "bar") == WRONGTYPE


def test_variadic_sadd(raw):
    assert raw.call("SADD", "myset", "a", "b", "c") == 3
    assert raw.call("SADD", "myset", "A", "a", "b", "c", "B") == 2
    assert srt(raw.call("SMEMBERS", "myset")) == b("A", "B", "a", "b", "c")


def test_smembers_and_scard_of_a_non_existing_key(raw):
    assert raw.call("SMEMBERS", "nokey") == []
    assert raw.call("SCARD", "nokey") == 0
    assert raw.call("SISMEMBER", "nokey", "a") == 0


# -- SREM --------------------------------------------------------------------


def test_srem_basics_regular_set(raw):
    setup(raw, "myset", "foo", "bar", "ciao")
    assert raw.call("SREM", "myset", "qux") == 0
    assert raw.call("SREM", "myset", "foo") == 1
    assert srt(raw.call("SMEMBERS", "myset")) == b("bar", "ciao")


def test_srem_with_multiple_arguments(raw):
    setup(raw, "myset", "a", "b", "c", "d")
    assert raw.call("SREM", "myset", "k", "k", "k") == 0
    assert raw.call("SREM", "myset", "b", "d", "x", "y") == 2
    assert srt(raw.call("SMEMBERS", "myset")) == b("a", "c")


def test_srem_variadic_version_with_more_args_needed_to_destroy_the_key(raw):
    setup(raw, "myset", "1", "2", "3")
    assert raw.call("SREM", "myset", "1", "2", "3", "4", "5", "6", "7", "8") == 3
    assert raw.call("EXISTS", "myset") == 0


# -- SINTERCARD --------------------------------------------------------------


def test_sintercard_with_illegal_arguments(raw):
    assert raw.call("SINTERCARD") == Err("ERR wrong number of arguments for 'sintercard' command")
    assert raw.call("SINTERCARD", "1") == Err(
        "ERR wrong number of arguments for 'sintercard' command"
    )
    gt0 = Err("ERR numkeys should be greater than 0")
    assert raw.call("SINTERCARD", "0", "myset{t}") == gt0
    assert raw.call("SINTERCARD", "a", "myset{t}") == gt0
    assert raw.call("SINTERCARD", "2", "myset{t}") == Err(
        "ERR Number of keys can't be greater than number of args"
    )
    assert raw.call("SINTERCARD", "1", "myset{t}", "myset2{t}") == Err("ERR syntax error")
    assert raw.call("SINTERCARD", "1", "myset{t}", "bar_arg") == Err("ERR syntax error")
    assert raw.call("SINTERCARD", "1", "myset{t}", "LIMIT") == Err("ERR syntax error")
    neg = Err("ERR LIMIT can't be negative")
    assert raw.call("SINTERCARD", "1", "myset{t}", "LIMIT", "-1") == neg
    assert raw.call("SINTERCARD", "1", "myset{t}", "LIMIT", "a") == neg


def test_sintercard_against_non_set_should_throw_error(raw):
    raw.call("SET", "key1{t}", "x")
    assert raw.call("SINTERCARD", "1", "key1{t}") == WRONGTYPE
    assert raw.call("SINTERCARD", "2", "key1{t}", "noset{t}") == WRONGTYPE
    assert raw.call("SINTERCARD", "2", "noset{t}", "key1{t}") == WRONGTYPE


def test_sintercard_against_non_existing_key(raw):
    assert raw.call("SINTERCARD", "1", "non-existing-key") == 0
    assert raw.call("SINTERCARD", "1", "non-existing-key", "LIMIT", "0") == 0
    assert raw.call("SINTERCARD", "1", "non-existing-key", "LIMIT", "10") == 0


def make_two_sets(raw):
    setup(raw, "set1{t}", *range(200))
    setup(raw, "set2{t}", *range(195, 1000))


def test_sinter_with_two_sets(raw):
    make_two_sets(raw)
    assert srt(raw.call("SINTER", "set1{t}", "set2{t}")) == b(195, 196, 197, 198, 199)


def test_sintercard_with_two_sets(raw):
    make_two_sets(raw)
    assert raw.call("SINTERCARD", "2", "set1{t}", "set2{t}") == 5
    assert raw.call("SINTERCARD", "2", "set1{t}", "set2{t}", "LIMIT", "0") == 5
    assert raw.call("SINTERCARD", "2", "set1{t}", "set2{t}", "LIMIT", "3") == 3
    assert raw.call("SINTERCARD", "2", "set1{t}", "set2{t}", "LIMIT", "10") == 5
    assert raw.call("SINTERCARD", "2", "set1{t}", "set2{t}", "limit", "0", "LIMIT", "2") == 2


def test_sinterstore_with_two_sets(raw):
    make_two_sets(raw)
    assert raw.call("SINTERSTORE", "setres{t}", "set1{t}", "set2{t}") == 5
    assert srt(raw.call("SMEMBERS", "setres{t}")) == b(195, 196, 197, 198, 199)


def test_sunion_with_two_sets(raw):
    make_two_sets(raw)
    assert srt(raw.call("SUNION", "set1{t}", "set2{t}")) == b(*range(1000))


def test_sunionstore_with_two_sets(raw):
    make_two_sets(raw)
    assert raw.call("SUNIONSTORE", "setres{t}", "set1{t}", "set2{t}") == 1000
    assert srt(raw.call("SMEMBERS", "setres{t}")) == b(*range(1000))


def make_three_sets(raw):
    make_two_sets(raw)
    setup(raw, "set3{t}", 199, 195, 1000, 2000)
    setup(raw, "set4{t}", 5, 6, 7, 8, 9, 10, 11, 12, 13, 14)
    setup(raw, "set5{t}", 0, 1, 2, 3, 4, 5)


def test_sinter_against_three_sets(raw):
    make_three_sets(raw)
    assert srt(raw.call("SINTER", "set1{t}", "set2{t}", "set3{t}")) == b(195, 199)


def test_sintercard_against_three_sets(raw):
    make_three_sets(raw)
    assert raw.call("SINTERCARD", "3", "set1{t}", "set2{t}", "set3{t}") == 2
    assert raw.call("SINTERCARD", "3", "set1{t}", "set2{t}", "set3{t}", "LIMIT", "1") == 1


def test_sinterstore_with_three_sets(raw):
    make_three_sets(raw)
    assert raw.call("SINTERSTORE", "setres{t}", "set1{t}", "set2{t}", "set3{t}") == 2
    assert srt(raw.call("SMEMBERS", "setres{t}")) == b(195, 199)


def test_sunion_with_non_existing_keys(raw):
    make_two_sets(raw)
    assert srt(raw.call("SUNION", "nokey1{t}", "set1{t}", "set2{t}", "nokey2{t}")) == b(
        *range(1000)
    )


def test_sdiff_with_two_sets(raw):
    make_three_sets(raw)
    assert srt(raw.call("SDIFF", "set1{t}", "set4{t}")) == b(0, 1, 2, 3, 4, *range(15, 200))


def test_sdiff_with_three_sets(raw):
    make_three_sets(raw)
    assert srt(raw.call("SDIFF", "set1{t}", "set4{t}", "set5{t}")) == b(*range(15, 200))


def test_sdiffstore_with_three_sets(raw):
    make_three_sets(raw)
    assert raw.call("SDIFFSTORE", "setres{t}", "set1{t}", "set4{t}", "set5{t}") == 185
    assert srt(raw.call("SMEMBERS", "setres{t}")) == b(*range(15, 200))


def test_sdiff_with_first_set_empty(raw):
    setup(raw, "set2{t}", 1, 2, 3, 4)
    setup(raw, "set3{t}", "a", "b", "c", "d")
    raw.call("DEL", "set1{t}")
    assert raw.call("SDIFF", "set1{t}", "set2{t}", "set3{t}") == []


def test_sdiff_with_same_set_two_times(raw):
    setup(raw, "set1{t}", "a", "b", "c", 1, 2, 3, 4, 5, 6)
    assert raw.call("SDIFF", "set1{t}", "set1{t}") == []


def test_sdiff_against_non_set_should_throw_error(raw):
    setup(raw, "key1{t}", "x")
    raw.call("SET", "key2{t}", "x")
    assert raw.call("SDIFF", "key1{t}", "noset{t}", "key2{t}") == WRONGTYPE
    # WRONGTYPE wins even after a missing first key.
    assert raw.call("SDIFF", "noset{t}", "key2{t}") == WRONGTYPE


def test_sdiff_should_handle_non_existing_key_as_empty(raw):
    setup(raw, "set1{t}", "a", "b", "c")
    setup(raw, "set2{t}", "b", "c", "d")
    assert srt(raw.call("SDIFF", "set1{t}", "set2{t}", "set3{t}")) == b("a")
    assert raw.call("SDIFF", "set3{t}", "set2{t}", "set1{t}") == []


def test_sdiffstore_against_non_set_should_throw_error(raw):
    raw.call("SET", "key1{t}", "x")
    assert raw.call("SDIFFSTORE", "set3{t}", "key1{t}", "noset{t}") == WRONGTYPE
    assert raw.call("EXISTS", "set3{t}") == 0


def test_sdiffstore_should_handle_non_existing_key_as_empty(raw):
    setup(raw, "set1{t}", "a", "b", "c")
    assert raw.call("SDIFFSTORE", "set3{t}", "set1{t}", "set2{t}") == 3
    assert srt(raw.call("SMEMBERS", "set3{t}")) == b("a", "b", "c")
    assert raw.call("SDIFFSTORE", "set3{t}", "set2{t}", "set1{t}") == 0
    assert raw.call("EXISTS", "set3{t}") == 0


def test_sinter_against_non_set_should_throw_error(raw):
    setup(raw, "key1{t}", "x")
    raw.call("SET", "key2{t}", "x")
    assert raw.call("SINTER", "key1{t}", "noset{t}", "key2{t}") == WRONGTYPE
    assert raw.call("SINTER", "noset{t}", "key2{t}") == WRONGTYPE


def test_sinter_should_handle_non_existing_key_as_empty(raw):
    setup(raw, "set1{t}", "a", "b", "c")
    setup(raw, "set2{t}", "b", "c", "d")
    assert raw.call("SINTER", "set1{t}", "set2{t}", "set3{t}") == []


def test_sinterstore_against_non_set_should_throw_error(raw):
    raw.call("SET", "key1{t}", "x")
    assert raw.call("SINTERSTORE", "set3{t}", "key1{t}", "noset{t}") == WRONGTYPE


def test_sinterstore_against_non_existing_keys_should_delete_dstkey(raw):
    raw.call("SET", "setres{t}", "xxx")
    assert raw.call("SINTERSTORE", "setres{t}", "foo111{t}", "bar222{t}") == 0
    assert raw.call("EXISTS", "setres{t}") == 0
    # With a non-existing key among existing sets.
    raw.call("SET", "setres{t}", "xxx")
    setup(raw, "set1{t}", "a", "b")
    assert raw.call("SINTERSTORE", "setres{t}", "set1{t}", "bar222{t}") == 0
    assert raw.call("EXISTS", "setres{t}") == 0


def test_sinterstore_replaces_destination_and_its_ttl(raw):
    raw.call("SET", "setres{t}", "xxx", "EX", "100")
    setup(raw, "set1{t}", "a", "b")
    assert raw.call("SINTERSTORE", "setres{t}", "set1{t}") == 2
    assert raw.call("TTL", "setres{t}") == -1
    assert raw.call("TYPE", "setres{t}") == Status("set")
    # The destination may be a source.
    setup(raw, "set2{t}", "b", "c")
    assert raw.call("SUNIONSTORE", "set1{t}", "set1{t}", "set2{t}") == 3
    assert srt(raw.call("SMEMBERS", "set1{t}")) == b("a", "b", "c")


def test_sunion_against_non_set_should_throw_error(raw):
    setup(raw, "key1{t}", "x")
    raw.call("SET", "key2{t}", "x")
    assert raw.call("SUNION", "key1{t}", "noset{t}", "key2{t}") == WRONGTYPE


def test_sunion_should_handle_non_existing_key_as_empty(raw):
    setup(raw, "set1{t}", "a", "b", "c")
    setup(raw, "set2{t}", "b", "c", "d")
    assert srt(raw.call("SUNION", "set1{t}", "set2{t}", "set3{t}")) == b("a", "b", "c", "d")


def test_sunionstore_against_non_set_should_throw_error(raw):
    raw.call("SET", "key1{t}", "x")
    assert raw.call("SUNIONSTORE", "set3{t}", "key1{t}", "noset{t}") == WRONGTYPE


def test_sunionstore_should_handle_non_existing_key_as_empty(raw):
    setup(raw, "set1{t}", "a", "b", "c")
    assert raw.call("SUNIONSTORE", "set3{t}", "set1{t}", "set2{t}") == 3
    assert srt(raw.call("SMEMBERS", "set3{t}")) == b("a", "b", "c")


def test_sunionstore_against_non_existing_keys_should_delete_dstkey(raw):
    raw.call("SET", "setres{t}", "xxx")
    assert raw.call("SUNIONSTORE", "setres{t}", "foo111{t}", "bar222{t}") == 0
    assert raw.call("EXISTS", "setres{t}") == 0


def test_multi_key_set_commands_across_slots_are_rejected(raw):
    crossslot = Err("CROSSSLOT Keys in request don't hash to the same slot")
    assert raw.call("SINTER", "a", "b") == crossslot
    assert raw.call("SINTERCARD", "2", "a", "b") == crossslot
    assert raw.call("SMOVE", "a", "b", "x") == crossslot


# -- SPOP / SRANDMEMBER --------------------------------------------------------


def test_spop_basics(raw):
    setup(raw, "myset", "a", "b", "c")
    popped = sorted(raw.call("SPOP", "myset") for _ in range(3))
    assert popped == b("a", "b", "c")
    assert raw.call("SCARD", "myset") == 0
    assert raw.call("EXISTS", "myset") == 0
    assert raw.call("SPOP", "myset") is None


def test_spop_with_count_1(raw):
    setup(raw, "myset", "a", "b", "c")
    popped = []
    for _ in range(3):
        r = raw.call("SPOP", "myset", "1")
        assert isinstance(r, list) and len(r) == 1
        popped += r
    assert sorted(popped) == b("a", "b", "c")
    assert raw.call("SPOP", "myset", "1") == []


def test_srandmember(raw):
    setup(raw, "myset", "a", "b", "c")
    seen = {raw.call("SRANDMEMBER", "myset") for _ in range(100)}
    assert seen <= set(b("a", "b", "c")) and len(seen) >= 2
    assert raw.call("SCARD", "myset") == 3
    assert raw.call("SRANDMEMBER", "nokey") is None


def test_spop_with_count(raw):
    setup(raw, "myset", *"abcdefghij")
    first = raw.call("SPOP", "myset", "4")
    assert len(first) == 4 and len(set(first)) == 4
    rest = raw.call("SPOP", "myset", "100")
    assert sorted(first + rest) == b(*"abcdefghij")
    assert raw.call("EXISTS", "myset") == 0
    assert raw.call("SPOP", "myset", "3") == []


def test_spop_argument_errors(raw):
    setup(raw, "myset", "a", "b")
    positive = Err("ERR value is out of range, must be positive")
    assert raw.call("SPOP", "myset", "-1") == positive
    assert raw.call("SPOP", "nokey", "x") == positive
    assert raw.call("SPOP", "myset", "1", "2") == Err("ERR syntax error")
    assert raw.call("SPOP", "myset", "0") == []
    assert raw.call("SPOP", "nokey", "0") == []
    raw.call("SET", "str", "v")
    assert raw.call("SPOP", "str") == WRONGTYPE
    assert raw.call("SPOP", "str", "0") == WRONGTYPE
    assert raw.call("SCARD", "myset") == 2


def test_srandmember_count_of_0_is_handled_correctly(raw):
    setup(raw, "myset", "a")
    assert raw.call("SRANDMEMBER", "myset", "0") == []


def test_srandmember_with_count_against_non_existing_key(raw):
    assert raw.call("SRANDMEMBER", "nonexisting_key", "100") == []
    assert raw.call("SRANDMEMBER", "nonexisting_key", "-100") == []


def test_srandmember_count_overflow(raw):
    setup(raw, "myset", "a")
    assert raw.call("SRANDMEMBER", "myset", "-9223372036854775808") == Err(
        "ERR value is out of range, value must between -9223372036854775807 and "
        "9223372036854775807"
    )
    assert raw.call("SRANDMEMBER", "myset", "x") == Err(
        "ERR value is not an integer or out of range"
    )
    assert raw.call("SRANDMEMBER", "myset", "1", "2") == Err("ERR syntax error")


def test_srandmember_with_count(raw):
    setup(raw, "myset", *range(20))
    members = b(*range(20))
    distinct = raw.call("SRANDMEMBER", "myset", "10")
    assert len(distinct) == 10 and len(set(distinct)) == 10
    assert set(distinct) <= set(members)
    assert srt(raw.call("SRANDMEMBER", "myset", "100")) == members
    assert srt(raw.call("SRANDMEMBER", "myset", "20")) == members
    repeats = raw.call("SRANDMEMBER", "myset", "-100")
    assert len(repeats) == 100 and set(repeats) <= set(members)
    assert raw.call("SCARD", "myset") == 20
    raw.call("SET", "str", "v")
    assert raw.call("SRANDMEMBER", "str", "0") == WRONGTYPE


# -- SMOVE ---------------------------------------------------------------------


def setup_move(raw):
    setup(raw, "myset1{t}", "a", "b", "c")
    setup(raw, "myset2{t}", "x", "y", "z")


def test_smove_basics(raw):
    setup_move(raw)
    assert raw.call("SMOVE", "myset1{t}", "myset2{t}", "a") == 1
    assert srt(raw.call("SMEMBERS", "myset1{t}")) == b("b", "c")
    assert srt(raw.call("SMEMBERS", "myset2{t}")) == b("a", "x", "y", "z")
    assert raw.call("SMOVE", "myset2{t}", "myset1{t}", "x") == 1
    assert srt(raw.call("SMEMBERS", "myset1{t}")) == b("b", "c", "x")


def test_smove_non_existing_key(raw):
    setup_move(raw)
    assert raw.call("SMOVE", "myset1{t}", "myset2{t}", "foo") == 0
    assert raw.call("SMOVE", "myset1{t}", "myset1{t}", "foo") == 0
    assert srt(raw.call("SMEMBERS", "myset1{t}")) == b("a", "b", "c")
    assert srt(raw.call("SMEMBERS", "myset2{t}")) == b("x", "y", "z")


def test_smove_non_existing_src_set(raw):
    setup_move(raw)
    assert raw.call("SMOVE", "noset{t}", "myset2{t}", "foo") == 0
    assert srt(raw.call("SMEMBERS", "myset2{t}")) == b("x", "y", "z")


def test_smove_from_regular_set_to_non_existing_destination_set(raw):
    setup_move(raw)
    raw.call("DEL", "myset3{t}")
    assert raw.call("SMOVE", "myset1{t}", "myset3{t}", "a") == 1
    assert srt(raw.call("SMEMBERS", "myset1{t}")) == b("b", "c")
    assert srt(raw.call("SMEMBERS", "myset3{t}")) == b("a")


def test_smove_wrong_src_key_type(raw):
    raw.call("SET", "x{t}", "10")
    setup_move(raw)
    assert raw.call("SMOVE", "x{t}", "myset2{t}", "foo") == WRONGTYPE


def test_smove_wrong_dst_key_type(raw):
    raw.call("SET", "x{t}", "10")
    setup_move(raw)
    assert raw.call("SMOVE", "myset2{t}", "x{t}", "foo") == WRONGTYPE
    assert raw.call("SMOVE", "myset2{t}", "x{t}", "x") == WRONGTYPE
    assert raw.call("SMOVE", "noset{t}", "x{t}", "x") == 0
    assert srt(raw.call("SMEMBERS", "myset2{t}")) == b("x", "y", "z")


def test_smove_with_identical_source_and_destination(raw):
    setup(raw, "set{t}", "a", "b", "c")
    assert raw.call("SMOVE", "set{t}", "set{t}", "b") == 1
    assert srt(raw.call("SMEMBERS", "set{t}")) == b("a", "b", "c")


def test_smove_last_member_deletes_the_source(raw):
    setup(raw, "src{t}", "only")
    assert raw.call("SMOVE", "src{t}", "dst{t}", "only") == 1
    assert raw.call("EXISTS", "src{t}") == 0
    assert raw.call("SMEMBERS", "dst{t}") == [b"only"]


# -- tests/unit/scan.tcl -------------------------------------------------------


@pytest.mark.parametrize("n", [5, 200])
def test_sscan_with_encoding(raw, n):
    setup(raw, "set", *range(n))
    cursor, keys = b"0", []
    for _ in range(10_000):
        cursor, page = raw.call("SSCAN", "set", cursor)
        keys += page
        if cursor == b"0":
            break
    assert cursor == b"0"
    assert sorted(set(keys)) == b(*range(n))


def test_sscan_match_and_errors(raw):
    setup(raw, "set", "foo", "fab", "fiz", "foobar", 1, 2, 3, 4)
    cursor, keys = b"0", []
    for _ in range(10_000):
        cursor, page = raw.call("SSCAN", "set", cursor, "MATCH", "foo*", "COUNT", "100")
        keys += page
        if cursor == b"0":
            break
    assert sorted(set(keys)) == b("foo", "foobar")
    assert raw.call("SSCAN", "set", "x") == Err("ERR invalid cursor")
    assert raw.call("SSCAN", "set", "0", "COUNT", "0") == Err("ERR syntax error")
    assert raw.call("SSCAN", "set", "0", "COUNT", "x") == Err(
        "ERR value is not an integer or out of range"
    )
    assert raw.call("SSCAN", "set", "0", "MATCH") == Err("ERR syntax error")
    assert raw.call("SSCAN", "set", "0", "TYPE", "set") == Err("ERR syntax error")
    # A missing key answers an empty page before the options are parsed.
    assert raw.call("SSCAN", "nokey", "0", "COUNT", "0") == [b"0", []]
    raw.call("SET", "str", "v")
    assert raw.call("SSCAN", "str", "0") == WRONGTYPE


# -- RESP3 reply kinds (not a set.tcl case: what Redis 7.0 sends) -------------


def test_resp3_reply_kinds(raw):
    assert isinstance(raw.call("HELLO", "3"), dict)
    setup(raw, "s{t}", "a", "b", "c")
    for cmd in (
        ["SMEMBERS", "s{t}"],
        ["SINTER", "s{t}"],
        ["SUNION", "s{t}", "none{t}"],
        ["SDIFF", "s{t}"],
        ["SMEMBERS", "none{t}"],
        ["SPOP", "none{t}", "2"],
        ["SPOP", "s{t}", "1"],
    ):
        assert type(raw.call(*cmd)) is RespSet, cmd
    for cmd in (["SRANDMEMBER", "s{t}", "2"], ["SRANDMEMBER", "s{t}", "-2"],
                ["SRANDMEMBER", "none{t}", "2"], ["SMISMEMBER", "s{t}", "a"]):
        assert type(raw.call(*cmd)) is list, cmd
    assert raw.call("SISMEMBER", "s{t}", "zz") == 0  # an integer, not a boolean
    assert raw.call("SRANDMEMBER", "none{t}") is None


def test_command_getkeys_and_info_of_set_commands(raw):
    assert raw.call("COMMAND", "GETKEYS", "SINTERCARD", "2", "a{t}", "b{t}", "LIMIT", "1") == [
        b"a{t}",
        b"b{t}",
    ]
    assert raw.call("COMMAND", "GETKEYS", "SMOVE", "a{t}", "b{t}", "m") == [b"a{t}", b"b{t}"]
    info = raw.call("COMMAND", "INFO", "sintercard", "sadd", "smove")
    assert [row[:6] for row in info] == [
        [b"sintercard", -3, [Status("readonly"), Status("movablekeys")], 0, 0, 0],
        [b"sadd", -3, [Status("write"), Status("denyoom"), Status("fast")], 1, 1, 1],
        [b"smove", 4, [Status("write"), Status("fast")], 1, 2, 1],
    ]
