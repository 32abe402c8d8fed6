"""Sorted sets, case by case after Redis 7.0's tests/unit/type/zset.tcl.

Each test is named after the zset.tcl case it follows and runs once against
redraft and once against a reference one-node Redis Cluster (fixtures of
test_cluster_client.py), asserting the same exact replies from both. The
DEBUG RELOAD / encoding-specific cases are skipped.
"""

from __future__ import annotations

import pytest

from resp import Err
from test_cluster_client import error_text, plain, raw, rc, server  # noqa: F401  (fixtures)

WRONGTYPE = Err("WRONGTYPE Operation against a key holding the wrong kind of value")
NOT_FLOAT = Err("ERR value is not a valid float")
SYNTAX = Err("ERR syntax error")


def test_check_encoding_zset_basics(raw):
    # "Check encoding" is DEBUG-specific; the basic add/card/score path.
    assert raw.call("ZADD", "ztmp", 10, "x") == 1
    assert raw.call("ZCARD", "ztmp") == 1
    assert raw.call("ZSCORE", "ztmp", "x") == b"10"
    assert raw.call("TYPE", "ztmp") == raw.call("TYPE", "ztmp")


def test_zset_basic_zadd_and_score_update(raw):
    assert raw.call("ZADD", "ztmp", 10, "x") == 1
    assert raw.call("ZADD", "ztmp", 20, "y") == 1
    assert raw.call("ZADD", "ztmp", 30, "z") == 1
    assert raw.call("ZRANGE", "ztmp", 0, -1) == [b"x", b"y", b"z"]
    assert raw.call("ZADD", "ztmp", 1, "y") == 0
    assert raw.call("ZRANGE", "ztmp", 0, -1) == [b"y", b"x", b"z"]


def test_zset_element_cant_be_set_to_nan_with_zadd(raw):
    assert raw.call("ZADD", "myzset", "nan", "abc") == NOT_FLOAT


def test_zset_element_cant_be_set_to_nan_with_zincrby(raw):
    assert raw.call("ZINCRBY", "myzset", "nan", "abc") == NOT_FLOAT


def test_zadd_with_options_syntax_error_with_incomplete_pair(raw):
    assert raw.call("ZADD", "ztmp", "xx", 10, "x", 20) == SYNTAX


def test_zadd_xx_option_without_key(raw):
    assert raw.call("ZADD", "ztmp", "xx", 10, "x") == 0
    assert raw.call("TYPE", "ztmp") == raw.call("TYPE", "nokey")
    assert raw.call("EXISTS", "ztmp") == 0


def test_zadd_xx_existing_key(raw):
    raw.call("ZADD", "ztmp", 10, "x")
    assert raw.call("ZADD", "ztmp", "xx", 20, "y") == 0
    assert raw.call("ZCARD", "ztmp") == 1


def test_zadd_xx_returns_the_number_of_elements_actually_added(raw):
    raw.call("ZADD", "ztmp", 10, "x")
    assert raw.call("ZADD", "ztmp", 10, "x", 20, "y", 30, "z") == 2


def test_zadd_xx_updates_existing_elements_score(raw):
    raw.call("ZADD", "ztmp", 10, "x", 20, "y", 30, "z")
    assert raw.call("ZADD", "ztmp", "xx", 5, "foo", 11, "x", 21, "y", 40, "zap") == 0
    assert raw.call("ZCARD", "ztmp") == 3
    assert raw.call("ZSCORE", "ztmp", "x") == b"11"
    assert raw.call("ZSCORE", "ztmp", "y") == b"21"


def test_zadd_gt_updates_existing_elements_when_new_scores_are_greater(raw):
    raw.call("ZADD", "ztmp", 10, "x", 20, "y", 30, "z")
    assert raw.call("ZADD", "ztmp", "gt", "ch", 5, "foo", 11, "x", 21, "y", 29, "z") == 3
    assert raw.call("ZCARD", "ztmp") == 4
    assert raw.call("ZSCORE", "ztmp", "x") == b"11"
    assert raw.call("ZSCORE", "ztmp", "z") == b"30"


def test_zadd_lt_updates_existing_elements_when_new_scores_are_lower(raw):
    raw.call("ZADD", "ztmp", 10, "x", 20, "y", 30, "z")
    assert raw.call("ZADD", "ztmp", "lt", "ch", 5, "foo", 11, "x", 21, "y", 29, "z") == 2
    assert raw.call("ZSCORE", "ztmp", "x") == b"10"
    assert raw.call("ZSCORE", "ztmp", "z") == b"29"


def test_zadd_gt_xx_and_lt_incr(raw):
    raw.call("ZADD", "ztmp", 10, "x")
    assert raw.call("ZADD", "ztmp", "gt", "xx", "ch", 20, "x", 1, "new") == 1
    assert raw.call("ZADD", "ztmp", "lt", "incr", 1, "x") is None
    assert raw.call("ZADD", "ztmp", "lt", "incr", -1, "x") == b"19"


def test_zadd_xx_and_nx_are_not_compatible(raw):
    assert raw.call("ZADD", "ztmp", "xx", "nx", 10, "x") == Err(
        "ERR XX and NX options at the same time are not compatible"
    )


def test_zadd_nx_with_non_existing_key(raw):
    assert raw.call("ZADD", "ztmp", "nx", 10, "x", 20, "y", 30, "z") == 3
    assert raw.call("ZCARD", "ztmp") == 3


def test_zadd_nx_only_add_new_elements_without_updating_old_ones(raw):
    raw.call("ZADD", "ztmp", 10, "x", 20, "y", 30, "z")
    assert raw.call("ZADD", "ztmp", "nx", 11, "x", 21, "y", 100, "a", 200, "b") == 2
    assert raw.call("ZSCORE", "ztmp", "x") == b"10"
    assert raw.call("ZSCORE", "ztmp", "a") == b"100"


def test_zadd_gt_and_nx_are_not_compatible(raw):
    e = Err("ERR GT, LT, and/or NX options at the same time are not compatible")
    assert raw.call("ZADD", "ztmp", "gt", "nx", 10, "x") == e
    assert raw.call("ZADD", "ztmp", "lt", "nx", 10, "x") == e
    assert raw.call("ZADD", "ztmp", "lt", "gt", 10, "x") == e


def test_zadd_incr_works_like_zincrby(raw):
    raw.call("ZADD", "ztmp", 10, "x", 20, "y", 30, "z")
    assert raw.call("ZADD", "ztmp", "INCR", 15, "x") == b"25"
    assert raw.call("ZSCORE", "ztmp", "x") == b"25"


def test_zadd_incr_works_with_a_single_score_elemenet_pair(raw):
    assert raw.call("ZADD", "ztmp", "INCR", 15, "x", 10, "y") == Err(
        "ERR INCR option supports a single increment-element pair"
    )


def test_zadd_ch_option_changes_return_value_to_all_changed_elements(raw):
    raw.call("ZADD", "ztmp", 10, "x", 20, "y", 30, "z")
    assert raw.call("ZADD", "ztmp", 11, "x", 21, "y", 30, "z") == 0
    assert raw.call("ZADD", "ztmp", "ch", 12, "x", 22, "y", 30, "z") == 2


def test_zincrby_calls_leading_to_nan_result_in_error(raw):
    raw.call("ZINCRBY", "myzset", "+inf", "abc")
    assert raw.call("ZINCRBY", "myzset", "-inf", "abc") == Err(
        "ERR resulting score is not a number (NaN)"
    )


def test_zadd_zincrby_can_also_add_and_update_scores_and_format(raw):
    assert raw.call("ZINCRBY", "z", 1.1, "a") == b"1.1000000000000001"
    assert raw.call("ZADD", "z", "-0", "b", "-inf", "c", "1e300", "d") == 3
    assert raw.call("ZRANGE", "z", 0, -1, "WITHSCORES") == [
        b"c", b"-inf", b"b", b"0", b"a", b"1.1000000000000001", b"d", b"1.0000000000000001e+300",
    ]


def test_zadd_zincrby_against_wrong_type(raw):
    raw.call("SET", "s", "v")
    for cmd in (
        ["ZADD", "s", 1, "a"],
        ["ZINCRBY", "s", 1, "a"],
        ["ZSCORE", "s", "a"],
        ["ZRANGE", "s", 0, -1],
        ["ZCARD", "s"],
        ["ZREM", "s", "a"],
        ["ZRANK", "s", "a"],
        ["ZPOPMIN", "s"],
    ):
        assert raw.call(*cmd) == WRONGTYPE, cmd


def test_zcard_basics_and_zrem(raw):
    raw.call("ZADD", "ztmp", 10, "a", 20, "b", 30, "c")
    assert raw.call("ZCARD", "ztmp") == 3
    assert raw.call("ZCARD", "zdoesntexist") == 0
    assert raw.call("ZREM", "ztmp", "a", "a", "nope") == 1
    assert raw.call("ZREM", "ztmp", "b", "c") == 2
    assert raw.call("EXISTS", "ztmp") == 0


def test_zrange_basics(raw):
    raw.call("ZADD", "ztmp", 1, "a", 2, "b", 3, "c", 4, "d")
    for args, want in [
        ((0, -1), [b"a", b"b", b"c", b"d"]),
        ((0, -2), [b"a", b"b", b"c"]),
        ((1, -1), [b"b", b"c", b"d"]),
        ((-3, -1), [b"b", b"c", b"d"]),
        ((5, -1), []),
        ((2, 1), []),
        ((0, 5), [b"a", b"b", b"c", b"d"]),
        ((-10, 1), [b"a", b"b"]),
        ((-1, -2), []),
    ]:
        assert raw.call("ZRANGE", "ztmp", *args) == want, args
    assert raw.call("ZREVRANGE", "ztmp", 0, 1, "WITHSCORES") == [b"d", b"4", b"c", b"3"]
    assert raw.call("ZRANGE", "ztmp", 0, 1, "REV") == [b"d", b"c"]
    assert raw.call("ZRANGE", "ztmp", 0, 1, "LIMIT", 0, 1) == Err(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    )
    assert raw.call("ZRANGE", "ztmp", "a", 1) == Err("ERR value is not an integer or out of range")
    assert raw.call("ZRANGE", "ztmp", 0, 1, "bogus") == SYNTAX


def test_zrank_zrevrank_basics(raw):
    raw.call("ZADD", "zranktmp", 10, "x", 20, "y", 30, "z")
    assert [raw.call("ZRANK", "zranktmp", m) for m in ("x", "y", "z")] == [0, 1, 2]
    assert [raw.call("ZREVRANK", "zranktmp", m) for m in ("x", "y", "z")] == [2, 1, 0]
    assert raw.call("ZRANK", "zranktmp", "foo") is None
    assert raw.call("ZRANK", "nokey", "foo") is None


def test_zrangebyscore_zrevrangebyscore_zcount_basics(raw):
    raw.call("ZADD", "zset", "-inf", "a", 1, "b", 2, "c", 3, "d", 4, "e", 5, "f", "+inf", "g")
    assert raw.call("ZRANGEBYSCORE", "zset", "-inf", 2) == [b"a", b"b", b"c"]
    assert raw.call("ZRANGEBYSCORE", "zset", 0, 3) == [b"b", b"c", b"d"]
    assert raw.call("ZRANGEBYSCORE", "zset", 3, 6) == [b"d", b"e", b"f"]
    assert raw.call("ZRANGEBYSCORE", "zset", 4, "+inf") == [b"e", b"f", b"g"]
    assert raw.call("ZREVRANGEBYSCORE", "zset", 2, "-inf") == [b"c", b"b", b"a"]
    assert raw.call("ZREVRANGEBYSCORE", "zset", 3, 0) == [b"d", b"c", b"b"]
    assert raw.call("ZCOUNT", "zset", 0, 3) == 3
    assert raw.call("ZRANGEBYSCORE", "zset", "(-inf", "(2") == [b"b"]
    assert raw.call("ZRANGEBYSCORE", "zset", "(0", "(3") == [b"b", b"c"]
    assert raw.call("ZREVRANGEBYSCORE", "zset", "(6", "(3") == [b"f", b"e"]
    assert raw.call("ZCOUNT", "zset", "(0", "(3") == 2
    assert raw.call("ZRANGEBYSCORE", "zset", 3, 2) == []
    assert raw.call("ZRANGEBYSCORE", "zset", "(3", 3) == []
    assert raw.call("ZRANGE", "zset", 5, 2, "BYSCORE", "REV", "WITHSCORES") == [
        b"f", b"5", b"e", b"4", b"d", b"3", b"c", b"2",
    ]
    assert raw.call("ZRANGEBYSCORE", "zset", 0, 3, "WITHSCORES") == [
        b"b", b"1", b"c", b"2", b"d", b"3",
    ]


def test_zrangebyscore_with_limit(raw):
    raw.call("ZADD", "zset", 1, "a", 2, "b", 3, "c", 4, "d", 5, "e")
    assert raw.call("ZRANGEBYSCORE", "zset", 0, 10, "LIMIT", 0, 2) == [b"a", b"b"]
    assert raw.call("ZRANGEBYSCORE", "zset", 0, 10, "LIMIT", 2, 3) == [b"c", b"d", b"e"]
    assert raw.call("ZRANGEBYSCORE", "zset", 0, 10, "LIMIT", 2, 10) == [b"c", b"d", b"e"]
    assert raw.call("ZRANGEBYSCORE", "zset", 0, 10, "LIMIT", 20, 10) == []
    assert raw.call("ZRANGEBYSCORE", "zset", 0, 10, "LIMIT", 2, -1) == [b"c", b"d", b"e"]
    assert raw.call("ZRANGEBYSCORE", "zset", 0, 10, "LIMIT", -1, 2) == []
    assert raw.call("ZRANGEBYSCORE", "zset", 0, 10, "LIMIT", 2, 0) == []
    assert raw.call("ZREVRANGEBYSCORE", "zset", 10, 0, "LIMIT", 0, 2) == [b"e", b"d"]
    assert raw.call("ZREVRANGEBYSCORE", "zset", 10, 0, "LIMIT", 2, 3) == [b"c", b"b", b"a"]
    assert raw.call("ZRANGEBYSCORE", "zset", 0, 10, "LIMIT", 0) == SYNTAX


def test_zrangebyscore_with_non_value_min_or_max(raw):
    e = Err("ERR min or max is not a float")
    assert raw.call("ZRANGEBYSCORE", "fooz", "str", 1) == e
    assert raw.call("ZRANGEBYSCORE", "fooz", 1, "str") == e
    assert raw.call("ZRANGEBYSCORE", "fooz", 1, "NaN") == e


def test_zrangebylex_zrevrangebylex_zlexcount_basics(raw):
    raw.call("ZADD", "zset", 0, "alpha", 0, "bar", 0, "cool", 0, "down", 0, "elephant",
             0, "foo", 0, "great", 0, "hill", 0, "omega")
    assert raw.call("ZRANGEBYLEX", "zset", "-", "[cool") == [b"alpha", b"bar", b"cool"]
    assert raw.call("ZRANGEBYLEX", "zset", "[bar", "[down") == [b"bar", b"cool", b"down"]
    assert raw.call("ZRANGEBYLEX", "zset", "[g", "+") == [b"great", b"hill", b"omega"]
    assert raw.call("ZREVRANGEBYLEX", "zset", "[cool", "-") == [b"cool", b"bar", b"alpha"]
    assert raw.call("ZREVRANGEBYLEX", "zset", "+", "(hill") == [b"omega"]
    assert raw.call("ZLEXCOUNT", "zset", "(bar", "(foo") == 3
    assert raw.call("ZRANGEBYLEX", "zset", "-", "+", "LIMIT", 1, 2) == [b"bar", b"cool"]
    assert raw.call("ZRANGE", "zset", "[d", "(g", "BYLEX") == [b"down", b"elephant", b"foo"]
    assert raw.call("ZRANGEBYLEX", "zset", "a", "+") == Err(
        "ERR min or max not valid string range item"
    )
    assert raw.call("ZRANGE", "zset", "-", "+", "BYLEX", "WITHSCORES") == Err(
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
    )


def test_zmscore_basic(raw):
    raw.call("ZADD", "zmscoretest", 10, "x", 20, "y")
    assert raw.call("ZMSCORE", "zmscoretest", "x", "y", "z") == [b"10", b"20", None]
    assert raw.call("ZMSCORE", "nokey", "x") == [None]


def test_zpopmin_zpopmax_basics(raw):
    raw.call("ZADD", "zset", -1, "a", 1, "b", 2, "c", 3, "d", 4, "e")
    assert raw.call("ZPOPMIN", "zset") == [b"a", b"-1"]
    assert raw.call("ZPOPMIN", "zset", 2) == [b"b", b"1", b"c", b"2"]
    assert raw.call("ZPOPMAX", "zset", 0) == []
    assert raw.call("ZPOPMAX", "zset", 10) == [b"e", b"4", b"d", b"3"]
    assert raw.call("EXISTS", "zset") == 0
    assert raw.call("ZPOPMIN", "zset") == []
    assert raw.call("ZPOPMIN", "zset", -1) == Err("ERR value is out of range, must be positive")


def test_zremrangebyscore_rank_lex_basics(raw):
    raw.call("ZADD", "zset", 1, "a", 2, "b", 3, "c", 4, "d", 5, "e")
    assert raw.call("ZREMRANGEBYSCORE", "zset", 2, 4) == 3
    assert raw.call("ZRANGE", "zset", 0, -1) == [b"a", b"e"]
    assert raw.call("ZREMRANGEBYSCORE", "zset", "str", 4) == Err("ERR min or max is not a float")
    raw.call("ZADD", "zset", 1, "a", 2, "b", 3, "c", 4, "d", 5, "e")
    assert raw.call("ZREMRANGEBYRANK", "zset", 1, 3) == 3
    assert raw.call("ZRANGE", "zset", 0, -1) == [b"a", b"e"]
    assert raw.call("ZREMRANGEBYRANK", "zset", 0, -1) == 2
    assert raw.call("EXISTS", "zset") == 0
    raw.call("ZADD", "zset", 0, "a", 0, "b", 0, "c")
    assert raw.call("ZREMRANGEBYLEX", "zset", "(a", "+") == 2
    assert raw.call("ZRANGE", "zset", 0, -1) == [b"a"]


def test_zset_sorting_stresser_ties_by_member(raw):
    members = [b"m%03d" % i for i in range(60)]
    args = []
    for i, m in enumerate(members):
        args += [i % 3, m]
    raw.call("ZADD", "zs", *args)
    want = sorted(members, key=lambda m: (int(m[1:]) % 3, m))
    assert raw.call("ZRANGE", "zs", 0, -1) == want
    assert raw.call("ZRANGE", "zs", 0, -1, "REV") == want[::-1]
    assert raw.call("ZRANK", "zs", want[37]) == 37


def test_zset_resp3_replies_are_doubles_and_nested_pairs(raw):
    # RESP3 variants of the "ZSCORE" / "ZRANGE ... WITHSCORES" cases.
    raw.call("HELLO", "3")
    raw.call("ZADD", "z", 1.5, "a", 2, "b")
    assert raw.call("ZSCORE", "z", "a") == 1.5
    assert raw.call("ZMSCORE", "z", "a", "q") == [1.5, None]
    assert raw.call("ZINCRBY", "z", 1, "b") == 3.0
    assert raw.call("ZRANGE", "z", 0, -1, "WITHSCORES") == [[b"a", 1.5], [b"b", 3.0]]
    assert raw.call("ZRANGEBYSCORE", "z", 0, 2, "WITHSCORES") == [[b"a", 1.5]]
    assert raw.call("ZPOPMIN", "z") == [b"a", 1.5]


def zrangestore_src(raw):
    raw.call("ZADD", "{t}z1", 1, "a", 2, "b", 3, "c", 4, "d")


def test_zrangestore_basic(raw):
    zrangestore_src(raw)
    assert raw.call("ZRANGESTORE", "{t}z2", "{t}z1", 0, -1) == 4
    assert raw.call("ZRANGE", "{t}z2", 0, -1, "WITHSCORES") == [
        b"a", b"1", b"b", b"2", b"c", b"3", b"d", b"4",
    ]


def test_zrangestore_range(raw):
    zrangestore_src(raw)
    assert raw.call("ZRANGESTORE", "{t}z2", "{t}z1", 1, 2) == 2
    assert raw.call("ZRANGE", "{t}z2", 0, -1) == [b"b", b"c"]


def test_zrangestore_bylex(raw):
    zrangestore_src(raw)
    assert raw.call("ZRANGESTORE", "{t}z2", "{t}z1", "[b", "[c", "BYLEX") == 2
    assert raw.call("ZRANGE", "{t}z2", 0, -1) == [b"b", b"c"]


def test_zrangestore_byscore_rev_limit(raw):
    zrangestore_src(raw)
    assert raw.call("ZRANGESTORE", "{t}z2", "{t}z1", 1, 3, "BYSCORE", "LIMIT", 0, 2) == 2
    assert raw.call("ZRANGE", "{t}z2", 0, -1) == [b"a", b"b"]
    assert raw.call("ZRANGESTORE", "{t}z2", "{t}z1", 4, 1, "BYSCORE", "REV", "LIMIT", 0, 2) == 2
    assert raw.call("ZRANGE", "{t}z2", 0, -1, "WITHSCORES") == [b"c", b"3", b"d", b"4"]


def test_zrangestore_src_key_missing_and_wrong_type_and_empty_range(raw):
    raw.call("SET", "{t}z2", "x")
    assert raw.call("ZRANGESTORE", "{t}z2", "{t}missing", 0, -1) == 0
    assert raw.call("EXISTS", "{t}z2") == 0
    raw.call("SET", "{t}s", "x")
    assert raw.call("ZRANGESTORE", "{t}z2", "{t}s", 0, -1) == WRONGTYPE
    zrangestore_src(raw)
    raw.call("ZADD", "{t}z2", 9, "zz")
    assert raw.call("ZRANGESTORE", "{t}z2", "{t}z1", 5, -1) == 0
    assert raw.call("EXISTS", "{t}z2") == 0


def test_zrangestore_invalid_syntax(raw):
    zrangestore_src(raw)
    assert raw.call("ZRANGESTORE", "{t}z2", "{t}z1", 0, -1, "LIMIT", 1, 2) == Err(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    )
    assert raw.call("ZRANGESTORE", "{t}z2", "{t}z1", 0, -1, "WITHSCORES") == SYNTAX


def setops_src(raw):
    raw.call("ZADD", "{t}zseta", 1, "a", 2, "b", 3, "c")
    raw.call("ZADD", "{t}zsetb", 1, "b", 2, "c", 3, "d")


def test_zunionstore_against_non_existing_key_doesnt_set_destination(raw):
    raw.call("DEL", "{t}zseta")
    assert raw.call("ZUNIONSTORE", "{t}dst_key", 1, "{t}zseta") == 0
    assert raw.call("EXISTS", "{t}dst_key") == 0


def test_zunion_zinter_zinterstore_zdiff_against_non_existing_key(raw):
    assert raw.call("ZUNION", 1, "{t}zseta") == []
    assert raw.call("ZINTER", 1, "{t}zseta") == []
    assert raw.call("ZINTERSTORE", "{t}dst_key", 1, "{t}zseta") == 0
    assert raw.call("ZDIFF", 1, "{t}zseta") == []


def test_zunionstore_with_empty_set(raw):
    raw.call("ZADD", "{t}zseta", 1, "a", 2, "b")
    assert raw.call("ZUNIONSTORE", "{t}zsetc", 2, "{t}zseta", "{t}zsetb") == 2
    assert raw.call("ZRANGE", "{t}zsetc", 0, -1, "WITHSCORES") == [b"a", b"1", b"b", b"2"]


def test_zunionstore_basics(raw):
    setops_src(raw)
    assert raw.call("ZUNIONSTORE", "{t}zsetc", 2, "{t}zseta", "{t}zsetb") == 4
    assert raw.call("ZRANGE", "{t}zsetc", 0, -1, "WITHSCORES") == [
        b"a", b"1", b"b", b"3", b"d", b"3", b"c", b"5",
    ]
    assert raw.call("ZUNION", 2, "{t}zseta", "{t}zsetb", "WITHSCORES") == [
        b"a", b"1", b"b", b"3", b"d", b"3", b"c", b"5",
    ]


def test_zunionstore_with_weights_and_aggregate(raw):
    setops_src(raw)
    assert raw.call("ZUNIONSTORE", "{t}zsetc", 2, "{t}zseta", "{t}zsetb", "WEIGHTS", 2, 3) == 4
    assert raw.call("ZRANGE", "{t}zsetc", 0, -1, "WITHSCORES") == [
        b"a", b"2", b"b", b"7", b"d", b"9", b"c", b"12",
    ]
    assert raw.call("ZUNION", 2, "{t}zseta", "{t}zsetb", "AGGREGATE", "MIN", "WITHSCORES") == [
        b"a", b"1", b"b", b"1", b"c", b"2", b"d", b"3",
    ]
    assert raw.call("ZUNION", 2, "{t}zseta", "{t}zsetb", "AGGREGATE", "MAX") == [
        b"a", b"b", b"c", b"d",
    ]


def test_zinterstore_basics_and_weights(raw):
    setops_src(raw)
    assert raw.call("ZINTERSTORE", "{t}zsetc", 2, "{t}zseta", "{t}zsetb") == 2
    assert raw.call("ZRANGE", "{t}zsetc", 0, -1, "WITHSCORES") == [b"b", b"3", b"c", b"5"]
    assert raw.call("ZINTER", 2, "{t}zseta", "{t}zsetb", "WEIGHTS", 2, 3, "WITHSCORES") == [
        b"b", b"7", b"c", b"12",
    ]


def test_zdiffstore_basics(raw):
    setops_src(raw)
    assert raw.call("ZDIFFSTORE", "{t}zsetc", 2, "{t}zseta", "{t}zsetb") == 1
    assert raw.call("ZRANGE", "{t}zsetc", 0, -1, "WITHSCORES") == [b"a", b"1"]
    assert raw.call("ZDIFF", 2, "{t}zseta", "{t}zsetb", "WEIGHTS", 1, 1) == SYNTAX


def test_zunionstore_regression_should_not_create_nan_in_scores(raw):
    raw.call("ZADD", "{t}z", "-inf", "neginf")
    assert raw.call("ZUNIONSTORE", "{t}out", 1, "{t}z", "WEIGHTS", 0) == 1
    assert raw.call("ZRANGE", "{t}out", 0, -1, "WITHSCORES") == [b"neginf", b"0"]


def test_zunionstore_with_a_regular_set_and_weights(raw):
    raw.call("SADD", "{t}seta", "a", "b", "c")
    raw.call("ZADD", "{t}zsetb", 1, "b", 2, "c", 3, "d")
    assert raw.call("ZUNIONSTORE", "{t}zsetc", 2, "{t}seta", "{t}zsetb", "WEIGHTS", 2, 3) == 4
    assert raw.call("ZRANGE", "{t}zsetc", 0, -1, "WITHSCORES") == [
        b"a", b"2", b"b", b"5", b"c", b"8", b"d", b"9",
    ]


def test_zinterstore_with_inf_and_plus_inf_sum_is_zero_and_errors(raw):
    raw.call("ZADD", "{t}zsetinf1", "+inf", "key")
    raw.call("ZADD", "{t}zsetinf2", "-inf", "key")
    assert raw.call("ZINTERSTORE", "{t}zsetinf3", 2, "{t}zsetinf1", "{t}zsetinf2") == 1
    assert raw.call("ZSCORE", "{t}zsetinf3", "key") == b"0"
    assert raw.call("ZUNIONSTORE", "{t}d", 0, "{t}a") == Err(
        "ERR at least 1 input key is needed for 'zunionstore' command"
    )
    assert raw.call("ZUNION", 3, "{t}a", "{t}b") == SYNTAX
    assert raw.call("ZUNION", "x", "{t}a") == Err("ERR value is not an integer or out of range")
    assert raw.call("ZUNION", 1, "{t}zsetinf1", "WEIGHTS", "abc") == Err(
        "ERR weight value is not a float"
    )
    assert raw.call("ZUNION", 1, "{t}zsetinf1", "AGGREGATE", "avg") == SYNTAX
    assert raw.call("ZUNIONSTORE", "{t}d", 1, "{t}zsetinf1", "WITHSCORES") == SYNTAX
    raw.call("SET", "{t}str", "x")
    assert raw.call("ZUNION", 2, "{t}zsetinf1", "{t}str", "bogus") == WRONGTYPE


def test_zintercard_with_illegal_arguments_and_basics(raw):
    setops_src(raw)
    assert raw.call("ZINTERCARD", 2, "{t}zseta", "{t}zsetb") == 2
    assert raw.call("ZINTERCARD", 2, "{t}zseta", "{t}zsetb", "LIMIT", 1) == 1
    assert raw.call("ZINTERCARD", 2, "{t}zseta", "{t}zsetb", "LIMIT", 0) == 2
    assert raw.call("ZINTERCARD", 0, "{t}zseta") == Err(
        "ERR at least 1 input key is needed for 'zintercard' command"
    )
    assert raw.call("ZINTERCARD", 2, "{t}zseta") == SYNTAX
    assert raw.call("ZINTERCARD", 1, "{t}zseta", "LIMIT", -1) == Err("ERR LIMIT can't be negative")
    assert raw.call("ZINTERCARD", 1, "{t}zseta", "LIMIT", "x") == Err("ERR LIMIT can't be negative")
    assert raw.call("ZINTERCARD", 1, "{t}zseta", "LIMIT") == SYNTAX
    assert raw.call("ZINTERCARD", 1, "{t}zseta", "WEIGHTS", 1) == SYNTAX


def test_zscan_basic(raw):
    raw.call("ZADD", "zz", 1.1, "a", 2, "b", 0, "c", "inf", "ab")
    cur, items = raw.call("ZSCAN", "zz", 0)
    assert cur == b"0"
    got = dict(zip(items[0::2], items[1::2]))
    assert got == {b"a": b"1.1000000000000001", b"b": b"2", b"c": b"0", b"ab": b"inf"}
    cur, items = raw.call("ZSCAN", "zz", 0, "MATCH", "a*", "COUNT", 100)
    assert dict(zip(items[0::2], items[1::2])) == {b"a": b"1.1000000000000001", b"ab": b"inf"}
    assert raw.call("ZSCAN", "zz", "x") == Err("ERR invalid cursor")
    assert raw.call("ZSCAN", "zz", 0, "COUNT", 0) == SYNTAX
    assert raw.call("ZSCAN", "nokey", 0) == [b"0", []]


def test_zrandmember_count_of_0_is_handled_correctly_and_basics(raw):
    assert raw.call("ZRANDMEMBER", "nokey") is None
    assert raw.call("ZRANDMEMBER", "nokey", 5) == []
    raw.call("ZADD", "myzset", 1, "a", 2, "b", 3, "c")
    assert raw.call("ZRANDMEMBER", "myzset", 0) == []
    assert raw.call("ZRANDMEMBER", "myzset") in (b"a", b"b", b"c")
    assert sorted(raw.call("ZRANDMEMBER", "myzset", 10)) == [b"a", b"b", b"c"]
    two = raw.call("ZRANDMEMBER", "myzset", 2)
    assert len(two) == 2 and len(set(two)) == 2 and set(two) <= {b"a", b"b", b"c"}
    many = raw.call("ZRANDMEMBER", "myzset", -50, "WITHSCORES")
    assert len(many) == 100
    pairs = set(zip(many[0::2], many[1::2]))
    assert pairs <= {(b"a", b"1"), (b"b", b"2"), (b"c", b"3")}
    assert raw.call("ZRANDMEMBER", "myzset", 1, "bogus") == SYNTAX
    assert raw.call("ZRANDMEMBER", "myzset", "x") == Err("ERR value is not an integer or out of range")
    assert raw.call("ZRANDMEMBER", "myzset", -9223372036854775808) == Err(
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    )
    assert raw.call("ZRANDMEMBER", "myzset", -9223372036854775807, "WITHSCORES") == Err(
        "ERR value is out of range"
    )


def test_zmpop_with_illegal_argument(raw):
    raw.call("ZADD", "{t}z1", 1, "a", 2, "b", 3, "c")
    assert raw.call("ZMPOP", 0, "{t}z1", "MIN") == Err("ERR numkeys should be greater than 0")
    assert raw.call("ZMPOP", "x", "{t}z1", "MIN") == Err("ERR numkeys should be greater than 0")
    assert raw.call("ZMPOP", 3, "{t}z1", "MIN") == SYNTAX
    # numkeys swallowing MIN names it as a key: CROSSSLOT in a cluster.
    assert raw.call("ZMPOP", 2, "{t}z1", "MIN") == Err(
        "CROSSSLOT Keys in request don't hash to the same slot"
    )
    assert raw.call("ZMPOP", 1, "{t}z1", "foo") == SYNTAX
    assert raw.call("ZMPOP", 1, "{t}z1", "MIN", "COUNT", 0) == Err("ERR count should be greater than 0")
    assert raw.call("ZMPOP", 1, "{t}z1", "MIN", "COUNT", "x") == Err("ERR count should be greater than 0")
    assert raw.call("ZMPOP", 1, "{t}z1", "MIN", "COUNT", 1, "COUNT", 2) == SYNTAX
    assert raw.call("ZMPOP", 1, "{t}z1", "MIN", "COUNT") == SYNTAX


def test_zmpop_basic_and_multiple_keys(raw):
    raw.call("ZADD", "{t}z2", 1, "a", 2, "b", 3, "c")
    assert raw.call("ZMPOP", 1, "{t}none", "MIN") is None
    assert raw.call("ZMPOP", 2, "{t}none", "{t}z2", "MAX", "COUNT", 2) == [
        b"{t}z2", [[b"c", b"3"], [b"b", b"2"]],
    ]
    assert raw.call("ZMPOP", 1, "{t}z2", "MIN", "COUNT", 10) == [b"{t}z2", [[b"a", b"1"]]]
    assert raw.call("EXISTS", "{t}z2") == 0
    raw.call("SET", "{t}s", "x")
    assert raw.call("ZMPOP", 1, "{t}s", "MIN") == WRONGTYPE


def test_command_getkeys_for_sorted_set_commands(raw):
    # The movable-key rows find the same keys as Redis (what a cluster
    # client routes by).
    for cmd, want in [
        (["ZUNIONSTORE", "{t}d", 2, "{t}a", "{t}b", "WEIGHTS", 1, 2], [b"{t}d", b"{t}a", b"{t}b"]),
        (["ZINTERSTORE", "{t}d", 1, "{t}a"], [b"{t}d", b"{t}a"]),
        (["ZDIFFSTORE", "{t}d", 2, "{t}a", "{t}b"], [b"{t}d", b"{t}a", b"{t}b"]),
        (["ZUNION", 2, "{t}a", "{t}b", "WITHSCORES"], [b"{t}a", b"{t}b"]),
        (["ZINTERCARD", 2, "{t}a", "{t}b", "LIMIT", 1], [b"{t}a", b"{t}b"]),
        (["ZMPOP", 2, "{t}a", "{t}b", "MIN"], [b"{t}a", b"{t}b"]),
        (["ZRANGESTORE", "{t}d", "{t}s", 0, -1], [b"{t}d", b"{t}s"]),
        (["ZADD", "k", 1, "m"], [b"k"]),
    ]:
        assert raw.call("COMMAND", "GETKEYS", *cmd) == want, cmd


def test_check_encoding_listpack_then_skiplist(raw):
    # zset.tcl's "Check encoding" with Redis 7.0's defaults
    # (zset-max-listpack-entries 128, zset-max-listpack-value 64).
    raw.call("ZADD", "zenc", 1, "a")
    assert raw.call("OBJECT", "ENCODING", "zenc") == b"listpack"
    raw.call("ZADD", "zenc", *[x for i in range(127) for x in (i, "m%d" % i)])
    assert raw.call("ZCARD", "zenc") == 128
    assert raw.call("OBJECT", "ENCODING", "zenc") == b"listpack"
    raw.call("ZADD", "zenc", 1000, "one-more")
    assert raw.call("OBJECT", "ENCODING", "zenc") == b"skiplist"
    # Never converts back.
    raw.call("ZREMRANGEBYRANK", "zenc", 0, -3)
    assert raw.call("OBJECT", "ENCODING", "zenc") == b"skiplist"
    # A member over 64 bytes converts at once; updating a score does not.
    raw.call("ZADD", "zlong", 1, "x" * 64)
    assert raw.call("OBJECT", "ENCODING", "zlong") == b"listpack"
    raw.call("ZADD", "zlong", 1, "x" * 65)
    assert raw.call("OBJECT", "ENCODING", "zlong") == b"skiplist"
    # A stored result is a listpack when small enough, whatever its sources.
    assert raw.call("ZRANGESTORE", "{t}dst", "{t}src", 0, -1) == 0
    raw.call("ZADD", "{t}src", *[x for i in range(200) for x in (i, "m%d" % i)])
    assert raw.call("ZRANGESTORE", "{t}dst", "{t}src", 0, 9) == 10
    assert raw.call("OBJECT", "ENCODING", "{t}dst") == b"listpack"
    assert raw.call("ZUNIONSTORE", "{t}dst", 1, "{t}src") == 200
    assert raw.call("OBJECT", "ENCODING", "{t}dst") == b"skiplist"


def raw_reply(raw, *args) -> bytes:
    from resp import encode_command
    raw.send_raw(encode_command(*args))
    return raw.read_raw()


@pytest.mark.parametrize("protocol", [2, 3])
def test_zpop_with_count_and_withscores_replies_byte_for_byte(raw, protocol):
    # ZPOPMIN/ZPOPMAX with a count nest [member, score] pairs in RESP3 and are
    # flat in RESP2; without a count the pair is flat in both. ZMPOP nests in
    # both. The expected bytes are redis-server 7.0.15's.
    raw.call("HELLO", protocol)
    raw.call("ZADD", "{t}z", 1, "a", 2, "b", 3, "c", 4, "d", 5, "e")
    s = (lambda v: b"$1\r\n" + v + b"\r\n") if protocol == 2 else (lambda v: b"," + v + b"\r\n")
    m = lambda v: b"$1\r\n" + v + b"\r\n"  # noqa: E731
    pair = (lambda a, b: m(a) + s(b)) if protocol == 2 else \
        (lambda a, b: b"*2\r\n" + m(a) + s(b))
    n = (lambda k: b"*%d\r\n" % (2 * k)) if protocol == 2 else (lambda k: b"*%d\r\n" % k)
    assert raw_reply(raw, "ZPOPMIN", "{t}z", 1) == n(1) + pair(b"a", b"1")
    assert raw_reply(raw, "ZPOPMIN", "{t}z") == b"*2\r\n" + m(b"b") + s(b"2")
    assert raw_reply(raw, "ZPOPMAX", "{t}z", 2) == n(2) + pair(b"e", b"5") + pair(b"d", b"4")
    assert raw_reply(raw, "ZPOPMIN", "{t}z", 0) == b"*0\r\n"
    assert raw_reply(raw, "ZPOPMIN", "{t}none", 2) == b"*0\r\n"
    assert raw_reply(raw, "ZRANGE", "{t}z", 0, -1, "WITHSCORES") == n(1) + pair(b"c", b"3")
    assert raw_reply(raw, "ZRANDMEMBER", "{t}z", 1, "WITHSCORES") == n(1) + pair(b"c", b"3")
    raw.call("ZADD", "{t}y", 3, "c")
    assert raw_reply(raw, "ZUNION", 2, "{t}z", "{t}y", "WITHSCORES") == n(1) + pair(b"c", b"6")
    assert raw_reply(raw, "ZINTER", 2, "{t}z", "{t}y", "WITHSCORES") == n(1) + pair(b"c", b"6")
    assert raw_reply(raw, "ZDIFF", 1, "{t}z", "WITHSCORES") == n(1) + pair(b"c", b"3")
    nested = b"*2\r\n" + m(b"c") + s(b"3")
    assert raw_reply(raw, "ZMPOP", 1, "{t}z", "MIN", "COUNT", 5) == \
        b"*2\r\n" + b"$4\r\n{t}z\r\n" + b"*1\r\n" + nested
    assert raw_reply(raw, "ZMPOP", 1, "{t}z", "MIN") == (b"*-1\r\n" if protocol == 2
                                                         else b"_\r\n")
