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

from redis.cluster import RedisCluster
from redis.exceptions import RedisError

MAX_WRITES = 200_000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", required=True, help="HOST:PORT of a cluster node")
    ap.add_argument("--stop-file", required=True)
    ap.add_argument("--seconds", type=float, default=120.0)
    args = ap.parse_args()
    host, port = args.seed.rsplit(":", 1)
    client = RedisCluster(
        host=host,
        port=int(port),
        decode_responses=True,
        protocol=2,
        # Redirects (MOVED, ASK) and retries of TRYAGAIN/CLUSTERDOWN are the
        # client's own; only what surfaces to the application counts.
        cluster_error_retry_attempts=10,
    )
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
        except RedisError as e:
            kind = type(e).__name__ + ": " + str(e).split(" ")[0]
            failed[kind] = failed.get(kind, 0) + 1
            time.sleep(0.02)
        n += 1
    lost = []
    for i in acked:
        try:
            v = client.get(f"py:{i}")
        except RedisError as e:
            lost.append(f"py:{i}: read failed: {e}")
            continue
        if v != str(i):
            lost.append(f"py:{i}: {v!r}, acknowledged {i}")
    client.close()
    print(json.dumps({"acked": len(acked), "failed": failed, "lost": lost[:20]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
