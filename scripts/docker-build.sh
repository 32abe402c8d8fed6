#!/usr/bin/env bash
# Builds the redraft image from scratch: the release binary plus the shared
# libraries `ldd` reports for it. Usage: scripts/docker-build.sh [TAG]
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-redraft:dev}
cargo build --release --bin redraft
root=docker/rootfs
rm -rf "$root"
mkdir -p "$root/usr/local/bin" "$root/data" "$root/tmp"
cp target/release/redraft "$root/usr/local/bin/redraft"
# Every library the binary loads, and the dynamic loader, at their paths.
ldd target/release/redraft | awk '/=>/ {print $3} /ld-linux/ && !/=>/ {print $1}' | while read -r lib; do
  [ -e "$lib" ] || continue
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
docker build -t "$tag" .
echo "built image $tag"
