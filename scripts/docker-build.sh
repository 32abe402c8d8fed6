#!/usr/bin/env bash
# Builds the redraft image from scratch, so that no base image (and no
# registry) is needed: the release binary, its debug info stripped, plus
# the shared libraries `ldd` reports for it and the dynamic loader, at
# their paths. Usage: scripts/docker-build.sh [TAG]   (default redraft:dev)
#
#   REDRAFT_BIN=PATH  put this binary in the image instead of running
#                     `cargo build --release --bin redraft` (which uses
#                     CARGO_TARGET_DIR when set, else target/)
#
# The files are gathered in a temporary build context beside the top-level
# Dockerfile and .dockerignore (as docker/rootfs/), which is removed
# afterwards, so builds side by side do not meet.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tag=${1:-redraft:dev}
if [[ -n ${REDRAFT_BIN:-} ]]; then
    bin=$REDRAFT_BIN
else
    cargo build --release --bin redraft
    bin=${CARGO_TARGET_DIR:-target}/release/redraft
fi
if [[ ! -x $bin ]]; then
    echo "docker-build.sh: $bin is not an executable" >&2
    exit 1
fi

ctx=$(mktemp -d "${TMPDIR:-/tmp}/redraft-docker.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
root=$ctx/docker/rootfs
mkdir -p "$root/usr/local/bin" "$root/data" "$root/tmp"
chmod 1777 "$root/tmp"
cp "$bin" "$root/usr/local/bin/redraft"
if command -v strip >/dev/null; then
    strip --strip-debug "$root/usr/local/bin/redraft"
fi

# Every library the binary loads, and the dynamic loader. A static binary
# needs none (ldd then says so and fails).
if ldd "$bin" >"$ctx/ldd.txt" 2>&1; then
    awk '/=>/ && $3 ~ /^\// {print $3} /^[ \t]*\// {print $1}' "$ctx/ldd.txt" | sort -u |
        while read -r lib; do
            mkdir -p "$root$(dirname "$lib")"
            cp -L "$lib" "$root$lib"
        done
elif ! grep -Eq 'not a dynamic executable|statically linked' "$ctx/ldd.txt"; then
    echo "docker-build.sh: ldd $bin failed:" >&2
    cat "$ctx/ldd.txt" >&2
    exit 1
fi
rm -f "$ctx/ldd.txt"

cp Dockerfile .dockerignore "$ctx/"
docker build -t "$tag" "$ctx"
echo "built image $tag"
