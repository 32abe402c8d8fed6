"""Differential test: random command sequences, redraft vs redis-server.

A bounded, seeded run of difftest.py (100 sequences x 100 commands, about
a third of them on RESP3); the CLI `scripts/difftest.sh --seconds N` runs
the same thing for longer with fresh seeds. The reference-vs-reference run
checks the generator itself: two redis-servers must never disagree, or a
comparison is unsound. The coverage test pins down that the bounded run
really sends every command of the string, generic-key, hash, set, list and
sorted-set families and DUMP/RESTORE, and that collection commands meet keys of other types (WRONGTYPE).
The comparison test checks that each loose comparison mode (sorted
multisets, random replies) still rejects replies that really differ.
"""

from __future__ import annotations

import pytest

import difftest
import harness
from resp import Err

SEQUENCES = 100
LENGTH = 100
FIRST_SEED = 1
SEEDS = range(FIRST_SEED, FIRST_SEED + SEQUENCES)

# Every command (and option) the differential test is meant to exercise.
REQUIRED = {
    "GET", "SET", "SETNX", "SETEX", "PSETEX", "MGET", "MSET", "MSETNX", "GETSET", "GETDEL",
    "GETEX", "APPEND", "STRLEN", "INCR", "INCRBY", "DECR", "DECRBY", "INCRBYFLOAT", "GETRANGE",
    "SETRANGE", "SUBSTR", "LCS", "DEL", "UNLINK", "EXISTS", "TYPE", "EXPIRE", "PEXPIRE",
    "EXPIREAT", "PEXPIREAT", "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "PERSIST", "RENAME",
    "RENAMENX", "COPY", "TOUCH", "KEYS", "SCAN", "RANDOMKEY", "DBSIZE", "ECHO", "PING",
    "OBJECT ENCODING", "OBJECT REFCOUNT",
    # hashes
    "HSET", "HGET", "HMSET", "HMGET", "HGETALL", "HDEL", "HLEN", "HEXISTS", "HINCRBY",
    "HINCRBYFLOAT", "HKEYS", "HVALS", "HSETNX", "HSTRLEN", "HSCAN", "HRANDFIELD",
    # sets
    "SADD", "SREM", "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SPOP", "SRANDMEMBER",
    "SMOVE", "SINTER", "SUNION", "SDIFF", "SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE",
    "SINTERCARD", "SSCAN",
    # lists
    "LPUSH", "RPUSH", "LPUSHX", "RPUSHX", "LPOP", "RPOP", "LLEN", "LRANGE", "LINDEX", "LSET",
    "LINSERT", "LREM", "LTRIM", "LPOS", "LMOVE", "RPOPLPUSH", "LMPOP",
    # sorted sets
    "ZADD", "ZINCRBY", "ZSCORE", "ZMSCORE", "ZCARD", "ZREM", "ZCOUNT", "ZLEXCOUNT", "ZRANGE",
    "ZRANGEBYSCORE", "ZREVRANGEBYSCORE", "ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZREVRANGE", "ZRANK",
    "ZREVRANK", "ZPOPMIN", "ZPOPMAX", "ZREMRANGEBYSCORE", "ZREMRANGEBYRANK", "ZREMRANGEBYLEX",
    "ZRANGESTORE", "ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE",
    "ZINTERCARD", "ZMPOP", "ZRANDMEMBER", "ZSCAN",
    # serialization
    "DUMP", "RESTORE",
}
REQUIRED_OPTIONS = {
    "SET": {"EX", "PX", "EXAT", "PXAT", "NX", "XX", "KEEPTTL", "GET"},
    "GETEX": {"EX", "PX", "EXAT", "PXAT", "PERSIST"},
    "EXPIRE": {"NX", "XX", "GT", "LT"},
    "PEXPIRE": {"NX", "XX", "GT", "LT"},
    "EXPIREAT": {"NX", "XX", "GT", "LT"},
    "PEXPIREAT": {"NX", "XX", "GT", "LT"},
    "LCS": {"LEN", "IDX", "MINMATCHLEN", "WITHMATCHLEN"},
    "SCAN": {"MATCH", "COUNT", "TYPE", "HASH", "SET", "LIST", "STRING"},
    "COPY": {"REPLACE", "DB"},
    "HSCAN": {"MATCH", "COUNT"},
    "SSCAN": {"MATCH", "COUNT"},
    "HRANDFIELD": {"WITHVALUES"},
    "SINTERCARD": {"LIMIT"},
    "LPOS": {"RANK", "COUNT", "MAXLEN"},
    "LINSERT": {"BEFORE", "AFTER"},
    "LMOVE": {"LEFT", "RIGHT"},
    "LMPOP": {"LEFT", "RIGHT", "COUNT"},
    "ZADD": {"NX", "XX", "GT", "LT", "CH", "INCR", "INF", "-INF", "+INF"},
    "ZRANGE": {"BYSCORE", "BYLEX", "REV", "LIMIT", "WITHSCORES", "-", "+", "-INF", "+INF"},
    "ZUNION": {"WEIGHTS", "AGGREGATE", "SUM", "MIN", "MAX", "WITHSCORES"},
    "ZINTER": {"WEIGHTS", "AGGREGATE", "WITHSCORES"},
    "ZMPOP": {"MIN", "MAX", "COUNT"},
    "ZRANDMEMBER": {"WITHSCORES"},
    "RESTORE": {"REPLACE", "ABSTTL", "IDLETIME", "FREQ"},
}
# Commands on collections whose key, in the bounded run against Redis, must
# sometimes hold another type (at least this many WRONGTYPE replies).
WRONGTYPE_AT_LEAST = {"HSET": 5, "SADD": 5, "LPUSH": 5, "HGETALL": 2, "SMEMBERS": 2,
                      "LRANGE": 2, "SINTERSTORE": 1, "LMOVE": 2, "GET": 5, "INCR": 2,
                      "ZADD": 5, "ZRANGE": 2, "ZSCORE": 1}


def test_difftest_bounded_run_covers_every_command():
    seen: set[str] = set()
    options: dict[str, set[str]] = {}
    cross_slot = resp3 = arity_errors = 0
    for seed in SEEDS:
        resp3 += difftest.protocol_for(seed) == 3
        gen = difftest.Generator(seed)
        for _ in range(LENGTH):
            args = [a.decode("latin-1") for a in gen.step().args]
            name = args[0].upper()
            if name == "OBJECT" and len(args) > 1:
                name += " " + args[1].upper()
            seen.add(name)
            options.setdefault(name, set()).update(a.upper() for a in args[1:])
            keys = [a for a in args[1:] if a in {k.decode() for k in difftest.ALL_KEYS}]
            cross_slot += len({"{t}" in k for k in keys}) > 1 and name != "OBJECT ENCODING"
            arity_errors += len(args) == 1 and name not in {"PING", "DBSIZE", "RANDOMKEY"}
    assert REQUIRED <= seen, f"never sent: {sorted(REQUIRED - seen)}"
    for name, opts in REQUIRED_OPTIONS.items():
        assert opts <= options[name], f"{name} never sent with {sorted(opts - options[name])}"
    assert cross_slot > 20, "too few cross-slot multi-key commands"
    assert arity_errors > 20, "too few wrong-arity commands"
    assert SEQUENCES // 5 < resp3 < SEQUENCES // 2, f"{resp3} RESP3 sequences"


def test_difftest_collection_commands_meet_other_types(redis_cluster):
    """Types collide in the shared keyspace: collection commands get WRONGTYPE
    sometimes, and mostly do not (their own paths run too)."""
    conn = difftest.CaptureConn(redis_cluster.host, redis_cluster.port)
    wrongtype: dict[str, int] = {}
    total: dict[str, int] = {}
    try:
        for seed in range(FIRST_SEED, FIRST_SEED + 30):
            assert conn.call("FLUSHALL") == "OK"
            gen = difftest.Generator(seed)
            for _ in range(LENGTH):
                step = gen.step()
                reply = difftest.execute(conn, step)
                name = step.args[0].decode("latin-1").upper()
                total[name] = total.get(name, 0) + 1
                wrongtype[name] = wrongtype.get(name, 0) + reply.raw.startswith(b"-WRONGTYPE")
    finally:
        conn.close()
    for name, least in WRONGTYPE_AT_LEAST.items():
        assert wrongtype.get(name, 0) >= least, f"{name}: {wrongtype.get(name, 0)} WRONGTYPE"
    collection = [n for n in total if n[0] in "HSL" and n not in {"SET", "SETEX", "SETNX",
                                                                  "SETRANGE", "STRLEN", "SUBSTR"}]
    share = sum(wrongtype.get(n, 0) for n in collection) / sum(total[n] for n in collection)
    assert 0.05 < share < 0.4, f"WRONGTYPE share of collection commands: {share:.2f}"


def test_difftest_loose_modes_still_reject_differences():
    """Each loose comparison still tells really different replies apart."""
    R = difftest.Reply

    def cmp(mode, args, got, want):
        return difftest.compare(difftest.Step(args, mode), got, want, None, None)

    # Sorted multisets: order is ignored, content and reply type are not.
    assert cmp("sorted", [b"SMEMBERS", b"k"], R([b"b", b"a"], b"*2"), R([b"a", b"b"], b"*2")) \
        is None
    assert cmp("sorted", [b"SMEMBERS", b"k"], R([b"a"], b"*1"), R([b"a", b"b"], b"*2"))
    assert cmp("sorted", [b"SMEMBERS", b"k"], R([b"a", b"a"], b"*2"), R([b"a", b"b"], b"*2"))
    assert cmp("sorted", [b"SMEMBERS", b"k"], R([b"a"], b"*1"), R([b"a"], b"~1"))
    # Field-value pairs: a value may not move to another field.
    assert cmp("hash_pairs", [b"HGETALL", b"k"], R([b"f2", b"2", b"f1", b"1"], b"*4"),
               R([b"f1", b"1", b"f2", b"2"], b"*4")) is None
    assert cmp("hash_pairs", [b"HGETALL", b"k"], R([b"f1", b"2", b"f2", b"1"], b"*4"),
               R([b"f1", b"1", b"f2", b"2"], b"*4"))
    assert cmp("hash_pairs", [b"HGETALL", b"k"], R({b"f1": b"1"}, b"%1"),
               R({b"f1": b"2"}, b"%1"))
    # Collection scans.
    assert cmp("sscan", [b"SSCAN", b"k", b"0"], R([b"a"], b"*"), R([b"a", b"b"], b"*"))
    # Random replies: shape (nil, length, nesting) must agree.
    assert cmp("random_set", [b"SRANDMEMBER", b"k"], R(None, b"$-1\r\n"), R(b"a", b"$1\r\na\r\n"))
    assert cmp("random_set", [b"SRANDMEMBER", b"k", b"2"], R([b"a"], b"*1"),
               R([b"a", b"b"], b"*2"))
    assert cmp("random_hash", [b"HRANDFIELD", b"k", b"1", b"WITHVALUES"], R([[b"f", b"v"]], b"*1"),
               R([b"f", b"v"], b"*2"))
    # Errors are always exact.
    err = Err("WRONGTYPE Operation against a key holding the wrong kind of value")
    assert cmp("random_set", [b"SRANDMEMBER", b"k"], R(err, b"-WRONGTYPE x\r\n"),
               R(err, b"-WRONGTYPE y\r\n"))


def test_difftest_generator_is_deterministic_against_redis(redis_cluster):
    other = harness.start_redis(cluster=True)
    try:
        summary = difftest.run_many(
            SEEDS,
            LENGTH,
            (other.host, other.port),
            (redis_cluster.host, redis_cluster.port),
        )
    finally:
        other.stop()
    print(summary.text())
    assert summary.sequences == SEQUENCES
    if summary.mismatches:
        pytest.fail("the generator is unsound:\n" + summary.text(), pytrace=False)


def test_difftest_redraft_vs_redis(redraft, redis_cluster):
    summary = difftest.run_many(
        SEEDS,
        LENGTH,
        (redraft.host, redraft.port),
        (redis_cluster.host, redis_cluster.port),
    )
    print(summary.text())
    assert summary.sequences == SEQUENCES
    assert summary.commands == SEQUENCES * LENGTH
    if summary.mismatches:
        pytest.fail(summary.text(detail=2), pytrace=False)
