#!/usr/bin/env bash
# On the GPU machine: peak GPU memory of one variant of one layer per process (TorchSharp 0.107 has no allocator
# statistics, so tools/gpu/peak-memory.sh polls nvidia-smi). Writes a markdown table to $OUT/memory-DTYPE.md.
#   usage: bash tools/gpu/bench-memory.sh [DTYPE] [LAYER ...]   (after bash tools/gpu/pack.sh src/Flora.Bench/Flora.Bench.csproj)
set -euo pipefail
dtype=${1:-bfloat16}; shift || true
layers=("$@"); [ ${#layers[@]} -gt 0 ] || layers=("conv3x3 128" "dwconv7x7 128" "pw 128→512")
variants=(base flora-fact flora-mat flora-fused lora dora merged)
out=${OUT:-/tmp/bench-out}; mkdir -p "$out"
table="$out/memory-$dtype.md"
{ printf '| Layer (%s, batch 64) |' "$dtype"; printf ' %s MiB |' "${variants[@]}"; echo
  printf '|---|'; printf -- '--:|%.0s' "${variants[@]}"; echo; } > "$table"
for layer in "${layers[@]}"; do
  row="| $layer |"
  for variant in "${variants[@]}"; do
    mib=$(bash tools/gpu/peak-memory.sh bash .devcarry/run.sh layers --device cuda --shapes convnext --dtype "$dtype" \
          --layers "$layer" --variants "$variant" --iterations 5 --warmup 2) || mib="failed"
    row="$row $mib |"
  done
  echo "$row" >> "$table"
done
cat "$table"
