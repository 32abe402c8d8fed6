"""Lists, case by case after Redis 7.0's tests/unit/type/list.tcl.

Each test is named after the list.tcl case it follows and runs against
redraft and against a reference one-node Redis Cluster (the fixtures of
test_cluster_client.py), through the raw client so replies keep their
kind: an error's full text, a status, a null bulk versus a null array
(read as raw lines where RESP2 and RESP3 differ). Every key carries the
hash tag {t} so multi-key commands stay in one slot. The blocking
commands (BLPOP and friends) are tested in test_compat_blocking.py.
"""

from __future__ import annotations

import pytest

from resp import Err, Status
from test_cluster_client import raw, server  # noqa: F401  (fixtures)

WRONGTYPE = Err("WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = Err("ERR syntax error")
NOT_INT = Err("ERR value is not an integer or out of range")


def line(conn, *args) -> bytes:
    """The reply to a command whose reply is one line (`*-1`, `$-1`, `_`, `*0`)."""
    conn.send(*args)
    return conn.read_line_raw()


def lrange(conn, key):
    return conn.call("LRANGE", key, 0, -1)


# -- push, pop, length, index -------------------------------------------------


def test_lpush_rpush_llength_lindex_lpop_quicklist(raw):
    assert raw.call("LPUSH", "{t}l", "a") == 1
    assert raw.call("RPUSH", "{t}l", "b") == 2
    assert raw.call("RPUSH", "{t}l", "c") == 3
    assert raw.call("LLEN", "{t}l") == 3
    assert raw.call("LINDEX", "{t}l", 0) == b"a"
    assert raw.call("LINDEX", "{t}l", 1) == b"b"
    assert raw.call("LINDEX", "{t}l", 2) == b"c"
    assert raw.call("LINDEX", "{t}l", 3) is None
    assert raw.call("RPOP", "{t}l") == b"c"
    assert raw.call("LPOP", "{t}l") == b"a"
    assert raw.call("LPOP", "{t}l") == b"b"
    assert raw.call("LLEN", "{t}l") == 0
    assert raw.call("EXISTS", "{t}l") == 0
    # Variadic pushes: LPUSH pushes each in turn onto the head.
    assert raw.call("LPUSH", "{t}v", "a", "b", "c") == 3
    assert raw.call("RPUSH", "{t}v", "1", "2") == 5
    assert lrange(raw, "{t}v") == [b"c", b"b", b"a", b"1", b"2"]
    assert raw.call("TYPE", "{t}v") == Status("list")


def test_lpushx_rpushx_generic(raw):
    assert raw.call("LPUSHX", "{t}xlist", "a") == 0
    assert raw.call("LLEN", "{t}xlist") == 0
    assert raw.call("RPUSHX", "{t}xlist", "a") == 0
    assert raw.call("EXISTS", "{t}xlist") == 0
    raw.call("RPUSH", "{t}xlist", "a", "c")
    assert raw.call("RPUSHX", "{t}xlist", "d") == 3
    assert raw.call("LPUSHX", "{t}xlist", "a") == 4
    assert raw.call("RPUSHX", "{t}xlist", "42", "x") == 6
    assert raw.call("LPUSHX", "{t}xlist", "y3", "y2", "y1") == 9
    assert lrange(raw, "{t}xlist") == [
        b"y1", b"y2", b"y3", b"a", b"a", b"c", b"d", b"42", b"x",
    ]


def test_lpop_rpop_with_the_optional_count_argument(raw):
    assert raw.call("RPUSH", "{t}l", "one", "two", "three", "four", "five", "six", "seven") == 7
    assert raw.call("LPOP", "{t}l", 2) == [b"one", b"two"]
    assert raw.call("RPOP", "{t}l", 2) == [b"seven", b"six"]
    assert raw.call("LPOP", "{t}l", 1) == [b"three"]
    assert raw.call("RPOP", "{t}l", 100) == [b"five", b"four"]
    assert raw.call("EXISTS", "{t}l") == 0


def test_lpop_rpop_with_wrong_number_of_arguments(raw):
    assert raw.call("LPOP", "{t}key", 1, 1) == Err(
        "ERR wrong number of arguments for 'lpop' command"
    )
    assert raw.call("RPOP", "{t}key", 2, 2) == Err(
        "ERR wrong number of arguments for 'rpop' command"
    )


@pytest.mark.parametrize("resp", [2, 3])
def test_lpop_rpop_with_the_count_0_returns_an_empty_array(raw, resp):
    if resp == 3:
        assert isinstance(raw.call("HELLO", "3"), dict)
    raw.call("RPUSH", "{t}l", "a")
    assert line(raw, "LPOP", "{t}l", 0) == b"*0"
    assert line(raw, "RPOP", "{t}l", 0) == b"*0"
    assert raw.call("LLEN", "{t}l") == 1


@pytest.mark.parametrize("resp", [2, 3])
def test_lpop_rpop_against_non_existing_key(raw, resp):
    if resp == 3:
        assert isinstance(raw.call("HELLO", "3"), dict)
    null_bulk, null_array = (b"$-1", b"*-1") if resp == 2 else (b"_", b"_")
    assert line(raw, "LPOP", "{t}nx") == null_bulk
    assert line(raw, "RPOP", "{t}nx") == null_bulk
    assert line(raw, "LPOP", "{t}nx", 1) == null_array
    assert line(raw, "RPOP", "{t}nx", 0) == null_array


def test_lpop_rpop_with_negative_or_malformed_count(raw):
    raw.call("RPUSH", "{t}l", "a")
    for count in ("-1", "abc"):
        assert raw.call("LPOP", "{t}l", count) == Err(
            "ERR value is out of range, must be positive"
        )
        assert raw.call("RPOP", "{t}l", count) == Err(
            "ERR value is out of range, must be positive"
        )


# -- LPOS ---------------------------------------------------------------------


def test_lpos_basic_usage(raw):
    raw.call("RPUSH", "{t}mylist", "a", "b", "c", "1", "2", "3", "c", "c")
    assert raw.call("LPOS", "{t}mylist", "a") == 0
    assert raw.call("LPOS", "{t}mylist", "c") == 2


def test_lpos_rank_positive_and_negative_rank_option(raw):
    raw.call("RPUSH", "{t}mylist", "a", "b", "c", "1", "2", "3", "c", "c")
    assert raw.call("LPOS", "{t}mylist", "c", "RANK", 1) == 2
    assert raw.call("LPOS", "{t}mylist", "c", "RANK", 2) == 6
    assert raw.call("LPOS", "{t}mylist", "c", "RANK", 4) is None
    assert raw.call("LPOS", "{t}mylist", "c", "RANK", -1) == 7
    assert raw.call("LPOS", "{t}mylist", "c", "RANK", -2) == 6


def test_lpos_count_option(raw):
    raw.call("RPUSH", "{t}mylist", "a", "b", "c", "1", "2", "3", "c", "c")
    assert raw.call("LPOS", "{t}mylist", "c", "COUNT", 0) == [2, 6, 7]
    assert raw.call("LPOS", "{t}mylist", "c", "COUNT", 1) == [2]
    assert raw.call("LPOS", "{t}mylist", "c", "COUNT", 2) == [2, 6]
    assert raw.call("LPOS", "{t}mylist", "c", "COUNT", 100) == [2, 6, 7]


def test_lpos_count_plus_rank_option(raw):
    raw.call("RPUSH", "{t}mylist", "a", "b", "c", "1", "2", "3", "c", "c")
    assert raw.call("LPOS", "{t}mylist", "c", "COUNT", 0, "RANK", 2) == [6, 7]
    assert raw.call("LPOS", "{t}mylist", "c", "COUNT", 2, "RANK", -1) == [7, 6]


def test_lpos_non_existing_key(raw):
    assert raw.call("LPOS", "{t}mylistxxx", "c", "COUNT", 0, "MAXLEN", 7) == []
    assert raw.call("LPOS", "{t}mylistxxx", "c") is None


def test_lpos_no_match(raw):
    raw.call("RPUSH", "{t}mylist", "a", "b", "c", "1", "2", "3", "c", "c")
    assert raw.call("LPOS", "{t}mylist", "x", "COUNT", 2, "RANK", -1) == []
    assert raw.call("LPOS", "{t}mylist", "x", "RANK", -1) is None


def test_lpos_maxlen(raw):
    raw.call("RPUSH", "{t}mylist", "a", "b", "c", "1", "2", "3", "c", "c")
    assert raw.call("LPOS", "{t}mylist", "a", "COUNT", 0, "MAXLEN", 1) == [0]
    assert raw.call("LPOS", "{t}mylist", "c", "COUNT", 0, "MAXLEN", 1) == []
    assert raw.call("LPOS", "{t}mylist", "c", "COUNT", 0, "MAXLEN", 3) == [2]
    assert raw.call("LPOS", "{t}mylist", "c", "COUNT", 0, "MAXLEN", 3, "RANK", -1) == [7, 6]
    assert raw.call("LPOS", "{t}mylist", "c", "COUNT", 0, "MAXLEN", 7, "RANK", 2) == [6]


def test_lpos_when_rank_is_greater_than_matches(raw):
    raw.call("RPUSH", "{t}mylist", "a")
    assert raw.call("LPOS", "{t}mylist", "b", "COUNT", 10, "RANK", 5) == []


def test_lpos_errors(raw):
    raw.call("RPUSH", "{t}mylist", "a", "b")
    assert raw.call("LPOS", "{t}mylist", "a", "RANK", 0) == Err(
        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second "
        "... or use negative to start from the end of the list"
    )
    assert raw.call("LPOS", "{t}mylist", "a", "COUNT", -1) == Err("ERR COUNT can't be negative")
    assert raw.call("LPOS", "{t}mylist", "a", "MAXLEN", -1) == Err("ERR MAXLEN can't be negative")
    assert raw.call("LPOS", "{t}mylist", "a", "RANK", "x") == NOT_INT
    assert raw.call("LPOS", "{t}mylist", "a", "FOO", 1) == SYNTAX
    assert raw.call("LPOS", "{t}mylist", "a", "RANK") == SYNTAX
    raw.call("SET", "{t}s", "x")
    assert raw.call("LPOS", "{t}s", "a") == WRONGTYPE
    # Options are checked before the key's type.
    assert raw.call("LPOS", "{t}s", "a", "COUNT", -1) == Err("ERR COUNT can't be negative")


# -- LRANGE, LTRIM, LINDEX, LSET ---------------------------------------------


def test_lrange_basics(raw):
    raw.call("RPUSH", "{t}l", *range(10))
    assert raw.call("LRANGE", "{t}l", 1, -2) == [str(i).encode() for i in range(1, 9)]
    assert raw.call("LRANGE", "{t}l", -3, -1) == [b"7", b"8", b"9"]
    assert raw.call("LRANGE", "{t}l", 4, 4) == [b"4"]


def test_lrange_inverted_indexes(raw):
    raw.call("RPUSH", "{t}l", *range(10))
    assert raw.call("LRANGE", "{t}l", 6, 2) == []


def test_lrange_out_of_range_indexes_including_the_full_list(raw):
    raw.call("RPUSH", "{t}l", 1, 2, 3)
    assert raw.call("LRANGE", "{t}l", -1000, 1000) == [b"1", b"2", b"3"]


def test_lrange_out_of_range_negative_end_index(raw):
    raw.call("RPUSH", "{t}l", 1, 2, 3)
    assert raw.call("LRANGE", "{t}l", 0, -4) == []
    assert raw.call("LRANGE", "{t}l", 0, -3) == [b"1"]


def test_lrange_against_non_existing_key(raw):
    assert raw.call("LRANGE", "{t}nosuchkey", 0, 1) == []
    assert raw.call("LRANGE", "{t}nosuchkey", "a", 1) == NOT_INT


def test_ltrim_basics(raw):
    raw.call("RPUSH", "{t}l", *range(5))
    assert raw.call("LTRIM", "{t}l", 1, -2) == Status("OK")
    assert lrange(raw, "{t}l") == [b"1", b"2", b"3"]
    assert raw.call("LTRIM", "{t}l", 0, 0) == Status("OK")
    assert lrange(raw, "{t}l") == [b"1"]
    assert raw.call("LTRIM", "{t}l", 1, 0) == Status("OK")
    assert raw.call("EXISTS", "{t}l") == 0
    assert raw.call("LTRIM", "{t}nx", 0, 1) == Status("OK")
    assert raw.call("LTRIM", "{t}nx", "a", 1) == NOT_INT


def test_ltrim_out_of_range_negative_end_index(raw):
    raw.call("RPUSH", "{t}l", 1, 2, 3)
    assert raw.call("LTRIM", "{t}l", 0, -5) == Status("OK")
    assert raw.call("EXISTS", "{t}l") == 0
    raw.call("RPUSH", "{t}l", 1, 2, 3)
    assert raw.call("LTRIM", "{t}l", 0, -3) == Status("OK")
    assert lrange(raw, "{t}l") == [b"1"]


def test_lindex_against_non_list_and_missing_keys(raw):
    raw.call("SET", "{t}s", "x")
    assert raw.call("LINDEX", "{t}s", 0) == WRONGTYPE
    # The key is looked up before the index is parsed.
    assert raw.call("LINDEX", "{t}nx", "abc") is None
    raw.call("RPUSH", "{t}l", "a", "b")
    assert raw.call("LINDEX", "{t}l", "abc") == NOT_INT
    assert raw.call("LINDEX", "{t}l", -2) == b"a"
    assert raw.call("LINDEX", "{t}l", -3) is None


def test_lset(raw):
    raw.call("RPUSH", "{t}l", 99, 98, 97)
    assert raw.call("LSET", "{t}l", 1, "foo") == Status("OK")
    assert raw.call("LSET", "{t}l", -1, "bar") == Status("OK")
    assert lrange(raw, "{t}l") == [b"99", b"foo", b"bar"]


def test_lset_out_of_range_index(raw):
    raw.call("RPUSH", "{t}l", 1)
    assert raw.call("LSET", "{t}l", 10, "foo") == Err("ERR index out of range")
    assert raw.call("LSET", "{t}l", -2, "foo") == Err("ERR index out of range")


def test_lset_against_non_existing_key(raw):
    assert raw.call("LSET", "{t}nosuchkey", 10, "foo") == Err("ERR no such key")
    assert raw.call("LSET", "{t}nosuchkey", "abc", "foo") == Err("ERR no such key")


def test_lset_against_non_list_value(raw):
    raw.call("SET", "{t}nolist", "foobar")
    assert raw.call("LSET", "{t}nolist", 0, "foo") == WRONGTYPE


# -- LINSERT, LREM ------------------------------------------------------------


def test_linsert(raw):
    raw.call("RPUSH", "{t}xlist", "a", "b", "c", "d")
    assert raw.call("LINSERT", "{t}xlist", "BEFORE", "c", "zz") == 5
    assert lrange(raw, "{t}xlist") == [b"a", b"b", b"zz", b"c", b"d"]
    assert raw.call("LINSERT", "{t}xlist", "AFTER", "c", "yy") == 6
    assert lrange(raw, "{t}xlist") == [b"a", b"b", b"zz", b"c", b"yy", b"d"]
    assert raw.call("LINSERT", "{t}xlist", "AFTER", "d", "dd") == 7
    assert raw.call("LINSERT", "{t}xlist", "AFTER", "bad", "ddd") == -1
    assert raw.call("LINSERT", "{t}xlist", "BEFORE", "a", "aa") == 8
    assert raw.call("LINSERT", "{t}xlist", "BEFORE", "bad", "aaa") == -1
    assert lrange(raw, "{t}xlist") == [
        b"aa", b"a", b"b", b"zz", b"c", b"yy", b"d", b"dd",
    ]
    # Only the first match is the pivot.
    assert raw.call("LINSERT", "{t}xlist", "BEFORE", "aa", "42") == 9
    assert raw.call("LINDEX", "{t}xlist", 0) == b"42"


def test_linsert_against_non_list_value_error(raw):
    raw.call("SET", "{t}k1", "v1")
    assert raw.call("LINSERT", "{t}k1", "after", 0, 0) == WRONGTYPE


def test_linsert_against_non_existing_key(raw):
    assert raw.call("LINSERT", "{t}not-a-key", "before", 0, 0) == 0


def test_linsert_raise_error_on_bad_syntax(raw):
    raw.call("RPUSH", "{t}xlist", "a")
    assert raw.call("LINSERT", "{t}xlist", "aft3r", "aa", 42) == SYNTAX


def test_lrem_remove_all_the_occurrences(raw):
    raw.call("RPUSH", "{t}l", "foo", "bar", "foobar", "foobared", "zap", "bar", "test", "foo")
    assert raw.call("LREM", "{t}l", 0, "bar") == 2
    assert lrange(raw, "{t}l") == [b"foo", b"foobar", b"foobared", b"zap", b"test", b"foo"]


def test_lrem_remove_the_first_occurrence(raw):
    raw.call("RPUSH", "{t}l", "foo", "foobar", "foobared", "zap", "test", "foo")
    assert raw.call("LREM", "{t}l", 1, "foo") == 1
    assert lrange(raw, "{t}l") == [b"foobar", b"foobared", b"zap", b"test", b"foo"]


def test_lrem_remove_non_existing_element(raw):
    raw.call("RPUSH", "{t}l", "a")
    assert raw.call("LREM", "{t}l", 1, "nosuchelement") == 0
    assert raw.call("LREM", "{t}nx", 1, "a") == 0


def test_lrem_starting_from_tail_with_negative_count(raw):
    raw.call("RPUSH", "{t}l", "foo", "bar", "foobar", "foobared", "zap", "bar", "test", "foo", "foo")
    assert raw.call("LREM", "{t}l", -1, "bar") == 1
    assert lrange(raw, "{t}l") == [
        b"foo", b"bar", b"foobar", b"foobared", b"zap", b"test", b"foo", b"foo",
    ]
    assert raw.call("LREM", "{t}l", -2, "foo") == 2
    assert lrange(raw, "{t}l") == [b"foo", b"bar", b"foobar", b"foobared", b"zap", b"test"]


def test_lrem_deleting_objects_that_may_be_int_encoded(raw):
    raw.call("RPUSH", "{t}l", "a", 1, 2, 3, 1)
    assert raw.call("LREM", "{t}l", 0, 1) == 2
    assert lrange(raw, "{t}l") == [b"a", b"2", b"3"]
    assert raw.call("LREM", "{t}l", "x", 1) == NOT_INT
    assert raw.call("LREM", "{t}l", 0, "a") == 1
    assert raw.call("LREM", "{t}l", 0, "2") == 1
    assert raw.call("LREM", "{t}l", 0, "3") == 1
    assert raw.call("EXISTS", "{t}l") == 0


# -- LMOVE, RPOPLPUSH, LMPOP --------------------------------------------------


@pytest.mark.parametrize("wherefrom", ["LEFT", "RIGHT"])
@pytest.mark.parametrize("whereto", ["LEFT", "RIGHT"])
def test_lmove_base_case(raw, wherefrom, whereto):
    raw.call("RPUSH", "{t}src", "a", "b", "c", "d")
    moved = raw.call("LMOVE", "{t}src", "{t}dst", wherefrom, whereto)
    assert moved == (b"a" if wherefrom == "LEFT" else b"d")
    assert lrange(raw, "{t}dst") == [moved]
    raw.call("RPUSH", "{t}dst", "z")
    second = raw.call("LMOVE", "{t}src", "{t}dst", wherefrom, whereto)
    assert second == (b"b" if wherefrom == "LEFT" else b"c")
    expected = [second, moved, b"z"] if whereto == "LEFT" else [moved, b"z", second]
    assert lrange(raw, "{t}dst") == expected
    assert raw.call("LLEN", "{t}src") == 2


def test_lmove_with_the_same_list_as_src_and_dst(raw):
    raw.call("RPUSH", "{t}mylist", "a", "b", "c")
    assert raw.call("LMOVE", "{t}mylist", "{t}mylist", "RIGHT", "LEFT") == b"c"
    assert lrange(raw, "{t}mylist") == [b"c", b"a", b"b"]
    assert raw.call("LMOVE", "{t}mylist", "{t}mylist", "LEFT", "RIGHT") == b"c"
    assert lrange(raw, "{t}mylist") == [b"a", b"b", b"c"]


def test_rpoplpush_with_the_same_list_as_src_and_dst(raw):
    raw.call("RPUSH", "{t}mylist", "a", "b", "c")
    assert raw.call("RPOPLPUSH", "{t}mylist", "{t}mylist") == b"c"
    assert lrange(raw, "{t}mylist") == [b"c", b"a", b"b"]


def test_rpoplpush_against_non_existing_key(raw):
    assert raw.call("RPOPLPUSH", "{t}srclist", "{t}dstlist") is None
    assert raw.call("EXISTS", "{t}srclist") == 0
    assert raw.call("EXISTS", "{t}dstlist") == 0


def test_rpoplpush_against_non_list_src_key(raw):
    raw.call("SET", "{t}srclist", "x")
    assert raw.call("RPOPLPUSH", "{t}srclist", "{t}dstlist") == WRONGTYPE
    assert raw.call("TYPE", "{t}srclist") == Status("string")
    assert raw.call("EXISTS", "{t}dstlist") == 0


def test_rpoplpush_against_non_list_dst_key(raw):
    raw.call("RPUSH", "{t}srclist", "a", "b", "c", "d")
    raw.call("SET", "{t}dstlist", "x")
    assert raw.call("RPOPLPUSH", "{t}srclist", "{t}dstlist") == WRONGTYPE
    assert raw.call("TYPE", "{t}dstlist") == Status("string")
    assert lrange(raw, "{t}srclist") == [b"a", b"b", b"c", b"d"]
    # A missing source answers nil before the destination's type is looked at.
    assert raw.call("LMOVE", "{t}nx", "{t}dstlist", "LEFT", "LEFT") is None


def test_rpoplpush_against_non_existing_src_key(raw):
    raw.call("SET", "{t}dstlist", "x")
    assert raw.call("RPOPLPUSH", "{t}nx", "{t}dstlist") is None


def test_lmove_bad_direction(raw):
    raw.call("RPUSH", "{t}l", "a")
    assert raw.call("LMOVE", "{t}l", "{t}l", "foo", "LEFT") == SYNTAX
    assert raw.call("LMOVE", "{t}l", "{t}l", "LEFT", "up") == SYNTAX


def test_lmpop_with_illegal_argument(raw):
    assert raw.call("LMPOP") == Err("ERR wrong number of arguments for 'lmpop' command")
    assert raw.call("LMPOP", 1) == Err("ERR wrong number of arguments for 'lmpop' command")
    assert raw.call("LMPOP", 1, "{t}mylist") == Err(
        "ERR wrong number of arguments for 'lmpop' command"
    )
    for numkeys in (0, -1, "a"):
        assert raw.call("LMPOP", numkeys, "{t}mylist", "LEFT") == Err(
            "ERR numkeys should be greater than 0"
        )
    assert raw.call("LMPOP", 1, "{t}mylist", "bad_where") == SYNTAX
    assert raw.call("LMPOP", 1, "{t}mylist", "LEFT", "bar_arg") == SYNTAX
    assert raw.call("LMPOP", 1, "{t}mylist", "RIGHT", "LEFT") == SYNTAX
    assert raw.call("LMPOP", 1, "{t}mylist", "COUNT") == SYNTAX
    assert raw.call("LMPOP", 1, "{t}mylist", "LEFT", "COUNT", 1, "COUNT", 2) == SYNTAX
    assert raw.call("LMPOP", 3, "{t}mylist", "LEFT") == SYNTAX
    for count in (0, -1, "a"):
        assert raw.call("LMPOP", 1, "{t}mylist", "LEFT", "COUNT", count) == Err(
            "ERR count should be greater than 0"
        )


def test_lmpop_single_existing_list(raw):
    raw.call("RPUSH", "{t}l", "a", "b", "c", "d")
    assert raw.call("LMPOP", 1, "{t}l", "LEFT") == [b"{t}l", [b"a"]]
    assert raw.call("LMPOP", 1, "{t}l", "RIGHT", "COUNT", 2) == [b"{t}l", [b"d", b"c"]]
    assert raw.call("LMPOP", 1, "{t}l", "RIGHT", "COUNT", 10) == [b"{t}l", [b"b"]]
    assert raw.call("EXISTS", "{t}l") == 0


@pytest.mark.parametrize("resp", [2, 3])
def test_lmpop_multiple_existing_and_missing_lists(raw, resp):
    if resp == 3:
        assert isinstance(raw.call("HELLO", "3"), dict)
    assert line(raw, "LMPOP", 2, "{t}a", "{t}b", "LEFT") == (b"*-1" if resp == 2 else b"_")
    raw.call("RPUSH", "{t}b", "1", "2")
    raw.call("RPUSH", "{t}c", "3")
    assert raw.call("LMPOP", 3, "{t}a", "{t}b", "{t}c", "RIGHT", "COUNT", 5) == [
        b"{t}b", [b"2", b"1"],
    ]
    assert raw.call("LMPOP", 3, "{t}a", "{t}b", "{t}c", "LEFT") == [b"{t}c", [b"3"]]


def test_lmpop_against_non_list_value(raw):
    raw.call("SET", "{t}s", "x")
    raw.call("RPUSH", "{t}l", "a")
    assert raw.call("LMPOP", 2, "{t}s", "{t}l", "LEFT") == WRONGTYPE
    # The first non-empty list wins before a later key's type is looked at.
    assert raw.call("LMPOP", 2, "{t}l", "{t}s", "LEFT") == [b"{t}l", [b"a"]]


def test_lmpop_command_getkeys(raw):
    assert raw.call("COMMAND", "GETKEYS", "LMPOP", 2, "{t}a", "{t}b", "LEFT") == [
        b"{t}a", b"{t}b",
    ]


# -- types --------------------------------------------------------------------


def test_list_commands_against_non_list_values(raw):
    raw.call("SET", "{t}s", "x")
    for cmd in (
        ("LPUSH", "{t}s", "a"),
        ("RPUSH", "{t}s", "a"),
        ("LPUSHX", "{t}s", "a"),
        ("RPUSHX", "{t}s", "a"),
        ("LPOP", "{t}s"),
        ("RPOP", "{t}s", 1),
        ("LLEN", "{t}s"),
        ("LRANGE", "{t}s", 0, -1),
        ("LTRIM", "{t}s", 0, -1),
        ("LREM", "{t}s", 0, "a"),
        ("LMOVE", "{t}s", "{t}l", "LEFT", "LEFT"),
    ):
        assert raw.call(*cmd) == WRONGTYPE, cmd
    raw.call("RPUSH", "{t}l", "a")
    assert raw.call("GET", "{t}l") == WRONGTYPE
