#!/usr/bin/env bash
# On the GPU machine: keeps the ONNX parts (tools/gpu/pack.sh, .devonnx/onnx.tar.part-NN) carried by this call in
# /tmp/flora-onnx-parts, and once every part has arrived (the last is under 32 MiB) joins them into /tmp/flora-onnx,
# where .devcarry/run.sh finds the pretrained network. Carry the parts over consecutive calls while the machine is warm.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
parts=/tmp/flora-onnx-parts
mkdir -p "$parts"
cp "$here"/.devonnx/onnx.tar.part-* "$parts/" 2>/dev/null || true
last=$(ls "$parts"/onnx.tar.part-* 2>/dev/null | tail -1)
if [ -n "$last" ] && [ "$(stat -c %s "$last")" -lt $((32 * 1024 * 1024)) ]; then
  mkdir -p /tmp/flora-onnx && cat "$parts"/onnx.tar.part-* | tar -C /tmp/flora-onnx -xf -
  echo "pretrained network ready: $(ls /tmp/flora-onnx/FloraPretrained)"
else
  echo "ONNX parts so far: $(ls "$parts" | tr '\n' ' ')"
fi
