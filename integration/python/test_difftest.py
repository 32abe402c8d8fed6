"""Differential test: random command sequences, redraft vs redis-server.

A bounded, seeded run of difftest.py (100 sequences x 100 commands, about
a third of them on RESP3); the CLI `scripts/difftest.sh --seconds N` runs
the same thing for longer with fresh seeds. The reference-vs-reference run
checks the generator itself: two redis-servers must never disagree, or a
comparison is unsound. The coverage test pins down that the bounded run
really sends every command of the string, generic-key, hash, set, list and
sorted-set families, DUMP/RESTORE, transactions and blocking pops; the
outcome test (against Redis) that collection commands meet keys of other
types (WRONGTYPE) and that transactions and blocking pops reach each of
their outcomes (EXEC aborted by WATCH, EXECABORT, timeouts, ...). The
timeout test sends every timeout of difftest's pools to every blocking pop
on both servers, so each parsing edge case is checked in every run.
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
    # transactions
    "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH",
    # blocking pops
    "BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "BLMPOP", "BZPOPMIN", "BZPOPMAX", "BZMPOP",
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
    "BLMOVE": {"LEFT", "RIGHT"},
    "BLMPOP": {"LEFT", "RIGHT", "COUNT"},
    "BZMPOP": {"MIN", "MAX", "COUNT"},
}
# The timeout pools: most of each pool's timeouts are sent by some blocking
# pop (every one of them: test_difftest_every_timeout_redraft_vs_redis).
TIMEOUT_POOLS = {"short": difftest.SHORT_TIMEOUTS, "refused": difftest.BAD_TIMEOUTS,
                 "long": difftest.LONG_TIMEOUTS}
# Commands on collections whose key, in the bounded run against Redis, must
# sometimes hold another type (at least this many WRONGTYPE replies, counted
# over the commands of each group, inside EXEC too).
WRONGTYPE_AT_LEAST = {
    ("HSET", "HMSET", "HSETNX", "HINCRBY", "HINCRBYFLOAT"): 6,
    ("SADD", "SREM"): 6,
    ("LPUSH", "RPUSH", "LPUSHX", "RPUSHX"): 6,
    ("HGETALL", "HGET", "HMGET", "HLEN"): 3,
    ("SMEMBERS", "SISMEMBER", "SCARD"): 3,
    ("LRANGE", "LINDEX", "LLEN"): 3,
    ("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"): 2,
    ("LMOVE", "RPOPLPUSH", "LMPOP"): 2,
    ("GET", "GETRANGE", "STRLEN", "GETDEL", "GETEX"): 6,
    ("INCR", "INCRBY", "DECR", "DECRBY"): 3,
    ("ZADD", "ZINCRBY"): 6,
    ("ZRANGE", "ZSCORE", "ZCARD", "ZRANK"): 3,
    tuple(difftest.BLOCKING_POPS): 3,
}
# Replies the transactions and blocking pops of that run must each meet at
# least once: (command, reply prefix). "pop in EXEC" is a blocking pop's
# reply inside an EXEC array.
OUTCOMES = [
    ("EXEC", b"*"),  # ran (an array, possibly empty)
    ("EXEC", b"*-1"),  # a watched key changed: aborted
    ("EXEC", b"-EXECABORT"),
    ("EXEC", b"-CROSSSLOT"),
    ("EXEC", b"-ERR EXEC without MULTI"),
    ("EXEC", b"-EXECABORT Transaction discarded because of: wrong number"),
    ("DISCARD", b"+OK"),
    ("DISCARD", b"-ERR DISCARD without MULTI"),
    ("MULTI", b"-ERR MULTI calls can not be nested"),
    ("WATCH", b"-ERR WATCH inside MULTI is not allowed"),
    ("WATCH", b"-CROSSSLOT"),
    ("UNWATCH", b"+OK"),
    ("pop", b"*-1"),  # timed out on empty keys
    ("pop", b"*2"),  # data (BLPOP & co.)
    ("pop", b"-ERR timeout is negative"),
    ("pop", b"-ERR timeout is not a float or out of range"),
    ("pop", b"-WRONGTYPE"),
    ("pop in EXEC", b"nil"),  # never blocks inside MULTI
    ("pop in EXEC", b"data"),
    ("pop in EXEC", b"-ERR timeout"),
]


def test_difftest_bounded_run_covers_every_command():
    seen: set[str] = set()
    options: dict[str, set[str]] = {}
    timeouts: set[bytes] = set()
    cross_slot = resp3 = arity_errors = 0
    for seed in SEEDS:
        resp3 += difftest.protocol_for(seed) == 3
        for step in difftest.Generator(seed).sequence(LENGTH):
            args = [a.decode("latin-1") for a in step.args]
            name = args[0].upper()
            if name == "OBJECT" and len(args) > 1:
                name += " " + args[1].upper()
            seen.add(name)
            options.setdefault(name, set()).update(a.upper() for a in args[1:])
            if name in difftest.BLOCKING_POPS and len(args) > 2:
                timeouts.add(step.args[1 if name in ("BLMPOP", "BZMPOP") else
                                       5 if name == "BLMOVE" else -1])
            keys = [a for a in args[1:] if a in {k.decode() for k in difftest.ALL_KEYS}]
            cross_slot += len({"{t}" in k for k in keys}) > 1 and name != "OBJECT ENCODING"
            arity_errors += len(args) == 1 and name not in {
                "PING", "DBSIZE", "RANDOMKEY", "MULTI", "EXEC", "DISCARD", "UNWATCH"}
    assert REQUIRED <= seen, f"never sent: {sorted(REQUIRED - seen)}"
    for name, opts in REQUIRED_OPTIONS.items():
        assert opts <= options[name], f"{name} never sent with {sorted(opts - options[name])}"
    for pool, values in TIMEOUT_POOLS.items():
        unsent = set(values) - timeouts
        assert len(unsent) <= len(values) // 4, f"{pool} timeouts never sent: {sorted(unsent)}"
    assert cross_slot > 20, "too few cross-slot multi-key commands"
    assert arity_errors > 20, "too few wrong-arity commands"
    assert SEQUENCES // 5 < resp3 < SEQUENCES // 2, f"{resp3} RESP3 sequences"


def test_difftest_commands_meet_other_types_and_every_outcome(redis_cluster):
    """Types collide in the shared keyspace: collection commands get WRONGTYPE
    sometimes, and mostly do not (their own paths run too). Transactions and
    blocking pops reach each of their outcomes (OUTCOMES)."""
    conn = difftest.CaptureConn(redis_cluster.host, redis_cluster.port)
    wrongtype: dict[str, int] = {}
    total: dict[str, int] = {}
    outcomes: set[tuple[str, bytes]] = set()

    def count(name: str, reply: bytes) -> None:
        total[name] = total.get(name, 0) + 1
        wrongtype[name] = wrongtype.get(name, 0) + reply.startswith(b"-WRONGTYPE")

    try:
        conn.call("CONFIG", "SET", "hz", "100")  # see difftest.run_many
        for seed in range(FIRST_SEED, FIRST_SEED + 30):
            assert conn.call("FLUSHALL") == "OK"
            queued: list[str] = []
            for step in difftest.Generator(seed).sequence(LENGTH):
                reply = difftest.execute(conn, step)
                name = step.args[0].decode("latin-1").upper()
                if reply.raw == b"+QUEUED\r\n":
                    queued.append(name)
                    continue
                count(name, reply.raw)
                kind = "pop" if name in difftest.BLOCKING_POPS else name
                outcomes |= {(kind, reply.raw[:n]) for n in range(1, len(reply.raw) + 1)}
                if name == "EXEC" and isinstance(reply.value, list):
                    for queued_name, value in zip(queued, reply.value):
                        raw = value.encode() if isinstance(value, Err) else b""
                        count(queued_name, b"-" + raw if raw else b"")
                        if queued_name in difftest.BLOCKING_POPS:
                            outcomes.add(("pop in EXEC", b"nil" if value is None else
                                          b"-" + raw[:11] if raw else b"data"))
                if name in ("EXEC", "DISCARD"):
                    queued = []
    finally:
        conn.close()
    for names, least in WRONGTYPE_AT_LEAST.items():
        n = sum(wrongtype.get(name, 0) for name in names)
        assert n >= least, f"{'/'.join(names)}: {n} WRONGTYPE"
    collection = [n for n in total if n[0] in "HSL" and n not in {"SET", "SETEX", "SETNX",
                                                                  "SETRANGE", "STRLEN", "SUBSTR"}]
    share = sum(wrongtype.get(n, 0) for n in collection) / sum(total[n] for n in collection)
    assert 0.05 < share < 0.4, f"WRONGTYPE share of collection commands: {share:.2f}"
    missing = [o for o in OUTCOMES if o not in outcomes]
    assert not missing, f"never reached: {missing}"


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


def test_difftest_every_timeout_redraft_vs_redis(redraft, redis_cluster):
    """Each timeout of the pools on each blocking pop (difftest.every_timeout_steps),
    replies compared exactly (but for the DELs between them); all differences
    are listed. A pop redraft leaves blocked counts as a difference (its
    connection is replaced)."""
    addrs = {"redraft": (redraft.host, redraft.port), "redis": (redis_cluster.host,
                                                               redis_cluster.port)}
    conns = {name: difftest.CaptureConn(*addr, timeout=2.0) for name, addr in addrs.items()}
    differences = []
    try:
        for conn in conns.values():
            assert conn.call("FLUSHALL") == "OK"
            conn.call("CONFIG", "SET", "hz", "100")  # see difftest.run_many
        for step in difftest.every_timeout_steps():
            replies = {}
            for name, conn in conns.items():
                try:
                    replies[name] = conn.call_raw(*step.args).raw
                except OSError as e:  # blocked past the deadline
                    replies[name] = repr(e).encode()
                    conn.close()
                    conns[name] = difftest.CaptureConn(*addrs[name], timeout=2.0)
            if replies["redraft"] != replies["redis"] and step.mode != "reset":
                differences.append(f"{step.show()}: redraft {replies['redraft']!r}, "
                                   f"redis {replies['redis']!r}")
    finally:
        for conn in conns.values():
            conn.close()
    assert not differences, f"{len(differences)} differences:\n" + "\n".join(differences)


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
