#!/usr/bin/env bash
# Runs the whole test suite, on a fresh Debian machine as root or on a
# developer's machine. What it needs and lacks it installs first:
# redis-server and redis-tools from Debian (one `apt-get update`, only when
# something is missing), and the Python packages in
# integration/python/requirements.txt with pip.
#
# Stages, in order:
#   fmt      cargo fmt --all -- --check
#   clippy   cargo clippy --workspace --all-targets -- -D warnings
#   build    cargo build --release --workspace  (the binary the end-to-end tests run)
#   test     cargo nextest run --release --workspace (+ doc tests), or cargo test --release
#   python   pytest -q integration/python  with REDRAFT_BIN=target/release/redraft
#
# Usage: scripts/test.sh [--quick] [--python-only] [--keep-going] [--no-install] [-- PYTEST_ARGS...]
#   --quick        skip fmt and clippy
#   --python-only  only build (release) and run the Python tests
#   --keep-going   run the later stages after a failed fmt, clippy or test
#                  stage (a failed build still stops the run); exit 1 at the end
#   --no-install   do not install missing packages; fail instead
#   -- ARGS        extra arguments for pytest, e.g. -- -k protocol -x
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

QUICK=0
PYTHON_ONLY=0
KEEP_GOING=0
INSTALL=1
PYTEST_ARGS=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --python-only) PYTHON_ONLY=1 ;;
        --keep-going) KEEP_GOING=1 ;;
        --no-install) INSTALL=0 ;;
        --) shift; PYTEST_ARGS=("$@"); break ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "test.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

REQUIREMENTS=integration/python/requirements.txt
START=$SECONDS
RESULTS=()
FAILED=0

banner() {
    printf '\n==================== %s ====================\n' "$*"
}

# stage NAME FATAL CMD...: runs one stage with a banner and its time.
# A failure stops the run unless --keep-going and the stage is not FATAL.
stage() {
    local name=$1 fatal=$2
    shift 2
    banner "$name: $*"
    local t0=$SECONDS rc=0
    "$@" || rc=$?
    local took=$((SECONDS - t0))
    if [[ $rc -eq 0 ]]; then
        RESULTS+=("$(printf '%-8s ok      %4ds' "$name" "$took")")
        return 0
    fi
    RESULTS+=("$(printf '%-8s FAILED  %4ds  (exit %d)' "$name" "$took" "$rc")")
    FAILED=1
    echo "test.sh: stage '$name' failed (exit $rc)" >&2
    if [[ $KEEP_GOING -eq 0 || $fatal -eq 1 ]]; then
        summary
        exit 1
    fi
}

summary() {
    banner "summary ($((SECONDS - START))s)"
    printf '%s\n' "${RESULTS[@]}"
}

python_deps_ok() {
    python3 - <<'EOF' 2>/dev/null
import sys
import pytest, redis
major = lambda v: int(v.split(".")[0])
sys.exit(0 if major(redis.__version__) >= 5 and major(pytest.__version__) >= 8 else 1)
EOF
}

install_deps() {
    local apt=()
    command -v redis-server >/dev/null || apt+=(redis-server)
    { command -v redis-cli >/dev/null && command -v redis-benchmark >/dev/null; } || apt+=(redis-tools)
    command -v python3 >/dev/null || apt+=(python3)
    # The partition test's network namespaces and packet filter.
    command -v ip >/dev/null || apt+=(iproute2)
    { command -v nft >/dev/null || command -v iptables >/dev/null; } || apt+=(nftables)
    if ! python_deps_ok && ! python3 -m pip --version >/dev/null 2>&1; then
        apt+=(python3-pip)
    fi
    if [[ ${#apt[@]} -gt 0 ]]; then
        if [[ $INSTALL -eq 0 || $(id -u) -ne 0 ]]; then
            echo "test.sh: missing Debian packages: ${apt[*]} (apt-get install ${apt[*]})" >&2
            return 1
        fi
        echo "installing from Debian: ${apt[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${apt[@]}"
    else
        echo "Debian packages: present (redis-server, redis-cli, redis-benchmark, python3)"
    fi
    if python_deps_ok; then
        echo "Python packages: present (redis $(python3 -c 'import redis; print(redis.__version__)'), pytest $(python3 -c 'import pytest; print(pytest.__version__)'))"
        return 0
    fi
    if [[ $INSTALL -eq 0 ]]; then
        echo "test.sh: missing Python packages: python3 -m pip install -r $REQUIREMENTS" >&2
        return 1
    fi
    export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
    # Debian's own python3 refuses pip installs outside a venv (PEP 668).
    python3 -m pip install -q -r "$REQUIREMENTS" ||
        python3 -m pip install -q --break-system-packages -r "$REQUIREMENTS"
    python_deps_ok
}

run_rust_tests() {
    if command -v cargo-nextest >/dev/null; then
        cargo nextest run --release --workspace --no-tests=warn &&
            cargo test --release --workspace --doc
    else
        cargo test --release --workspace
    fi
}

run_python_tests() {
    REDRAFT_BIN="$PWD/target/release/redraft" python3 -m pytest -q integration/python \
        -p no:cacheprovider "${PYTEST_ARGS[@]}"
}

echo "redraft test suite: $(nproc) cores, $(cargo --version 2>/dev/null || echo 'cargo missing')"
stage deps 1 install_deps
if [[ $PYTHON_ONLY -eq 0 && $QUICK -eq 0 ]]; then
    stage fmt 0 cargo fmt --all -- --check
    stage clippy 0 cargo clippy --workspace --all-targets -- -D warnings
fi
stage build 1 cargo build --release --workspace
if [[ $PYTHON_ONLY -eq 0 ]]; then
    stage test 0 run_rust_tests
fi
stage python 0 run_python_tests
summary
if [[ $FAILED -ne 0 ]]; then
    echo "test.sh: FAILED"
    exit 1
fi
echo "test.sh: all stages passed"
