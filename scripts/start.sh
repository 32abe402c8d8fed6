#!/usr/bin/env bash
# Starts the local redraft cluster (today one node on 127.0.0.1:7001).
# The same as `scripts/cluster.sh start`; stop it with `scripts/cluster.sh stop`.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/cluster.sh" start "$@"
