"""Differential test: random command sequences, redraft vs redis-server.

A bounded, seeded run of difftest.py (30 sequences x 100 commands); the
CLI `scripts/difftest.sh --seconds N` runs the same thing for longer with
fresh seeds. The reference-vs-reference run checks the generator itself:
two redis-servers must never disagree, or a comparison is unsound.
"""

from __future__ import annotations

import pytest

import difftest
import harness

SEQUENCES = 30
LENGTH = 100
FIRST_SEED = 1


def test_difftest_generator_is_deterministic_against_redis(redis_cluster):
    other = harness.start_redis(cluster=True)
    try:
        summary = difftest.run_many(
            range(FIRST_SEED, FIRST_SEED + SEQUENCES),
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
        range(FIRST_SEED, FIRST_SEED + SEQUENCES),
        LENGTH,
        (redraft.host, redraft.port),
        (redis_cluster.host, redis_cluster.port),
    )
    print(summary.text())
    assert summary.sequences == SEQUENCES
    if summary.mismatches:
        pytest.fail(summary.text(detail=2), pytrace=False)
