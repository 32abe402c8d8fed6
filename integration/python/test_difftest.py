"""Differential test: random command sequences, redraft vs redis-server.

A bounded, seeded run of difftest.py (100 sequences x 100 commands, about
a third of them on RESP3); the CLI `scripts/difftest.sh --seconds N` runs
the same thing for longer with fresh seeds. The reference-vs-reference run
checks the generator itself: two redis-servers must never disagree, or a
comparison is unsound. The coverage test pins down that the bounded run
really sends every command of the string and generic-key families.
"""

from __future__ import annotations

import pytest

import difftest
import harness

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
}
REQUIRED_OPTIONS = {
    "SET": {"EX", "PX", "EXAT", "PXAT", "NX", "XX", "KEEPTTL", "GET"},
    "GETEX": {"EX", "PX", "EXAT", "PXAT", "PERSIST"},
    "EXPIRE": {"NX", "XX", "GT", "LT"},
    "PEXPIRE": {"NX", "XX", "GT", "LT"},
    "EXPIREAT": {"NX", "XX", "GT", "LT"},
    "PEXPIREAT": {"NX", "XX", "GT", "LT"},
    "LCS": {"LEN", "IDX", "MINMATCHLEN", "WITHMATCHLEN"},
    "SCAN": {"MATCH", "COUNT", "TYPE"},
    "COPY": {"REPLACE", "DB"},
}


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
