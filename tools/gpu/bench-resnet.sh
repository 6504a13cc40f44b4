#!/usr/bin/env bash
# On the GPU machine: the ResNet-18 step of `Flora.Bench resnet` (ours: floor, full, FLoRA, LoRA, DoRA; fp32 and bf16,
# batch 32/128/512, input 112x112) and the PyTorch reference (PEFT LoRA/DoRA, the authors' FLoRA), tables into $OUT.
#   here:  bash tools/gpu/refsrc.sh && bash tools/gpu/pack.sh src/Flora.Bench/Flora.Bench.csproj
#   there: bash tools/gpu/bench-resnet.sh [ITERATIONS]     (with .devcarry/ and .refsrc/ copied there)
set -uo pipefail
iterations=${1:-30}
out=${OUT:-/tmp/bench-out}; mkdir -p "$out"
log="$out/run.log"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$log"
for dtype in float32 bfloat16; do
  bash .devcarry/run.sh resnet --device cuda --dtype "$dtype" --batch 32,128,512 --iterations "$iterations" \
    --markdown "$out/resnet-$dtype.md" >> "$log" 2>&1 || echo "resnet $dtype failed" >> "$log"
done
# The paths one by one at batch 128 (fp32), to see what the cost model's choice costs.
for path in factorised fused; do
  bash .devcarry/run.sh resnet --device cuda --batch 128 --methods floor,flora,lora,dora --path "$path" --iterations "$iterations" \
    --markdown "$out/resnet-float32-$path.md" >> "$log" 2>&1 || echo "resnet path $path failed" >> "$log"
done
for dtype in fp32 bf16; do
  python3 src/Flora.Bench/reference/resnet_reference.py --dtype "$dtype" --iters "$iterations" > "$out/torch-resnet-$dtype.md" 2>> "$log"
done
tail -n 40 "$out"/*.md
