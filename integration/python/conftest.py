"""Fixtures: real redraft and redis-server processes on free loopback ports.

- `redraft`: one redraft per test module (fresh temp --dir), for tests that
  do not depend on the whole keyspace being empty.
- `fresh_redraft`: one redraft per test.
- `redis_server`: a standalone reference redis-server
  (`--save '' --appendonly no`), per module.
- `redis_cluster`: a reference redis-server in cluster mode owning all
  16384 slots, per module: the reference for cluster replies and errors.

Each is stopped and its folder removed at teardown, also when a test fails.
The binary is $REDRAFT_BIN, else target/release/redraft, else
target/debug/redraft. Reference tests are skipped when redis-server is
not installed (scripts/test.sh installs it).
"""

from __future__ import annotations

import pytest

import harness


def pytest_report_header(config):
    try:
        binary = harness.redraft_bin()
    except FileNotFoundError as e:
        binary = f"MISSING ({e})"
    return [
        f"redraft binary: {binary}",
        f"redis-server: {harness.redis_server_bin() or 'not installed'}",
    ]


def _redraft():
    try:
        srv = harness.start_redraft()
    except FileNotFoundError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        yield srv
    finally:
        srv.stop()


def _redis(cluster: bool):
    if harness.redis_server_bin() is None:
        pytest.skip("redis-server is not installed")
    srv = harness.start_redis(cluster=cluster)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def redraft():
    yield from _redraft()


@pytest.fixture
def fresh_redraft():
    yield from _redraft()


@pytest.fixture(scope="module")
def redis_server():
    yield from _redis(cluster=False)


@pytest.fixture(scope="module")
def redis_cluster():
    yield from _redis(cluster=True)
