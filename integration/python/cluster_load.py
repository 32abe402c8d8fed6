"""A bounded write load through redis-py's RedisCluster, for the Rust
membership tests (integration/tests/membership.rs): it writes while nodes
join and leave, then reads back what was acknowledged.

    python3 cluster_load.py --seed HOST:PORT --stop-file PATH [--seconds N]

Writes `py:<n>` = n (each key once), one command in flight, until the stop
file exists or N seconds passed (or 200,000 writes). Then reads every
acknowledged key back and prints one JSON line:
{"acked": N, "failed": {"<error kind>": count}, "lost": ["<key>: ...", ...]}
"""

import argparse
import json
import os
import sys
import time

from redis.backoff import ExponentialBackoff
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException
from redis.retry import Retry

MAX_WRITES = 200_000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", required=True, help="HOST:PORT of a cluster node")
    ap.add_argument("--stop-file", required=True)
    ap.add_argument("--seconds", type=float, default=120.0)
    args = ap.parse_args()
    host, port = args.seed.rsplit(":", 1)
    # After each membership change leaders move to balance, and a leader
    # handing over answers TRYAGAIN until the next one takes the shard.
    # redis-py follows redirects and retries TRYAGAIN up to its request TTL
    # (16 tries, sleeping 50 ms only in the second half: about 0.4 s); on a
    # two-core machine running several clusters a hand-over can take
    # longer. A client configured to wait a little longer:
    RedisCluster.RedisClusterRequestTTL = 64
    # The first slot map can miss a shard whose leader is being elected
    # ("All slots are not covered", CI): an application retries its
    # connection, bounded.
    connect_deadline = time.monotonic() + 30
    while True:
        try:
            client = RedisCluster(
                host=host,
                port=int(port),
                decode_responses=True,
                protocol=2,
                # Redirects (MOVED, ASK) and retries of TRYAGAIN/CLUSTERDOWN
                # are the client's own; only what surfaces counts.
                retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 10),
                socket_timeout=10,
            )
            break
        except RedisClusterException:
            if time.monotonic() >= connect_deadline:
                raise
            time.sleep(0.2)
    acked = []
    failed: dict = {}
    deadline = time.monotonic() + args.seconds
    n = 0
    while (
        not os.path.exists(args.stop_file)
        and time.monotonic() < deadline
        and n < MAX_WRITES
    ):
        key = f"py:{n}"
        try:
            if client.set(key, n):
                acked.append(n)
            else:
                failed["not OK"] = failed.get("not OK", 0) + 1
        except Exception as e:  # noqa: BLE001 - every failure is reported
            kind = type(e).__name__ + ": " + str(e).split(" ")[0]
            failed[kind] = failed.get(kind, 0) + 1
            time.sleep(0.02)
        n += 1
    lost = []
    for i in acked:
        try:
            v = client.get(f"py:{i}")
        except Exception as e:  # noqa: BLE001
            lost.append(f"py:{i}: read failed: {type(e).__name__}: {e}")
            continue
        if v != str(i):
            lost.append(f"py:{i}: {v!r}, acknowledged {i}")
    try:
        client.close()
    except Exception:  # noqa: BLE001 - the report matters more
        pass
    print(json.dumps({"acked": len(acked), "failed": failed, "lost": lost[:20]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
