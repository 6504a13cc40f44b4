#!/usr/bin/env bash
# Runs both PEFT scripts on the GPU machine (its image has PyTorch, torchvision, transformers, accelerate, safetensors),
# in the repository root, with .peft/ copied there (PEFT's sources in .peft/src/peft, Flora's exports in .peft/exports).
# Writes into $OUT: Fixtures/<name>/ (made by PEFT; copy into tests/Flora.Tests/Peft/Fixtures/), check_exports.md, log.txt.
set -euo pipefail
OUT="${OUT:?set OUT to the folder for the results}"
PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  if [ -x /opt/torch/.venv/bin/python3 ]; then PYTHON=/opt/torch/.venv/bin/python3; else PYTHON=python3; fi
fi
cd "$(dirname "$0")/../.."
export CUDA_VISIBLE_DEVICES=""   # CPU float32: the fixtures do not depend on GPU kernels
mkdir -p "$OUT"
{
  status=0
  "$PYTHON" tools/peft/make_fixtures.py "$OUT/Fixtures" || status=1
  "$PYTHON" tools/peft/check_exports.py .peft/exports "$OUT/check_exports.md" || status=1
  exit "$status"
} 2>&1 | tee "$OUT/log.txt"
