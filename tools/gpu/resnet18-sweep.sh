#!/usr/bin/env bash
# On the GPU machine: the budget sweep of docs/results/gpu-resnet18-sweep, ImageNet ResNet-18 → Fashion-MNIST, all data,
# 64×64, 3 epochs at batch 256. One `flora compare` process per method and budget, all at once on the one GPU (each
# process alone is host-bound), each first choosing its learning rate on a validation split and then running its seeds;
# one method a process also makes the process's GPU memory (NVML) that method's peak. Every process writes results.csv
# after each run and stops at the deadline, so a cut-short sweep keeps what it measured, and a later call continues it
# (--resume).
#
#   usage: tools/gpu/resnet18-sweep.sh trained|frozen SEEDS DEADLINE_S RUNS_DIR [close]
#   e.g.   tools/gpu/resnet18-sweep.sh trained 3 540 /tmp/sweep
#          tools/gpu/resnet18-sweep.sh trained 5 300 /tmp/sweep close   # then: seeds up to 5 for the budgets `flora report`
#              lists in needs_more_seeds.txt (within two standard deviations), and any other method still short of 3
# Needs: .devcarry (tools/gpu/pack.sh src/Flora.Cli/Flora.Cli.csproj), the ONNX unpacked (tools/gpu/unpack-onnx.sh) and
# the data in /tmp/flora-cache (tools/gpu/unpack-data.sh). Writes RUNS_DIR/<batchnorm>/<method>/ as `flora compare --out`.
set -uo pipefail
mode=${1:?trained|frozen}; seeds=${2:?seeds}; deadline=${3:?deadline in seconds}; runs=${4:?runs dir}; only=${5:-all}
here=$(cd "$(dirname "$0")/../.." && pwd)
flora() { bash "$here/.devcarry/run.sh" "$@"; }
budgets=(4:1 8:2 16:2 32:2 64:2 96:2)
source "$here/tools/gpu/lr-grids.sh"
common=(compare --model resnet18 --device cuda --full --epochs 3 --batch-size 256 --batchnorm "$mode"
        --search-per-class 800 --search-epochs 2 --data-dir /tmp/flora-cache)
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
close=()
if [ "$only" = close ]; then
  flora report "$runs/$mode"/*/results.csv --model resnet18 --out "$runs/$mode-report" > "$runs/$mode-report.log" 2>&1
  mapfile -t close < <(cat "$runs/$mode-report/needs_more_seeds.txt" 2>/dev/null)
  echo "$mode: budgets within two standard deviations: ${close[*]:-none}"
fi
is_close() { local b; for b in "${close[@]}"; do [ "$b" = "$1" ] && return 0; done; return 1; }
start() { # start NAME BUDGET-NAME BUDGET LABEL GRID...: the seeds this process should have; skipped when it has them
  local name=$1 budget_name=$2 budget=$3 label=$4; shift 4
  local out="$runs/$mode/$name" want=$seeds resume=()
  if [ "$only" = close ]; then want=3; is_close "$budget_name" && want=$seeds; fi
  [ -f "$out/comparison.txt" ] && resume=(--resume)
  local done=0; [ -f "$out/results.csv" ] && done=$(( $(grep -c . "$out/results.csv") - 1 ))
  [ "$done" -ge "$want" ] && return 0
  mkdir -p "$out"
  timeout --signal=TERM "$deadline" bash "$here/.devcarry/run.sh" "${common[@]}" --seeds "$want" --budgets $budget --methods "$label" --lr-grid "$@" \
    --out "$out" "${resume[@]}" >> "$out/log.txt" 2>&1 &
}
start full - 8:2 "Full fine-tuning" $full_grid
start bitfit - 8:2 "BitFit" $bitfit_grid
for b in "${budgets[@]}"; do
  r=${b%%:*}; k=${b##*:}; name="r$r R3=$k"
  for method in LoRA DoRA FLoRA; do start "${method,,}-r$r-k$k" "$name" "$b" "$method (budget $name)" $adapter_grid; done
  if [ "$mode" = trained ] && [ "$b" = 32:2 ]; then start flora-s0.4-r32-k2 "$name" 32:2:0.4 "FLoRA s=0.4 (budget r32 R3=2)" $adapter_grid; fi
done
wait
for d in "$runs/$mode"/*/; do printf '%s: %s\n' "$(basename "$d")" "$(tail -c 400 "$d/log.txt" | tr '\n' ' ' | tail -c 150)"; done
