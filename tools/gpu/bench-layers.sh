#!/usr/bin/env bash
# On the GPU machine: the layer and whole-model benchmarks of docs/BENCHMARKS.md and the PyTorch reference, one
# process each, tables into $OUT.
#   usage: bash tools/gpu/bench-layers.sh [ITERATIONS]   (after bash tools/gpu/pack.sh src/Flora.Bench/Flora.Bench.csproj)
set -euo pipefail
iterations=${1:-30}
out=${OUT:-/tmp/bench-out}; mkdir -p "$out"
log="$out/run.log"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$log"
for dtype in bfloat16 float32; do
  bash .devcarry/run.sh layers --device cuda --shapes convnext --dtype "$dtype" --iterations "$iterations" \
    --markdown "$out/layers-$dtype.md" >> "$log" 2>&1
done
for dtype in float32 bfloat16; do
  bash .devcarry/run.sh model --device cuda --width 128 --batch 256 --dtype "$dtype" --iterations 20 \
    --markdown "$out/model-$dtype.md" >> "$log" 2>&1
done
for args in "--dtype bf16" "--dtype fp32" "--dtype bf16 --channels-last"; do
  name=$(echo "$args" | tr -d ' -' )
  python3 src/Flora.Bench/reference/torch_reference.py $args > "$out/torch-$name.md" 2>> "$log"
done
