#!/usr/bin/env bash
# Here (not on the GPU machine): puts the authors' FLoRA code and PEFT's sources into .refsrc/ (ignored by git, never
# committed) from the bare mirrors the fetch tool made, so that bench-resnet.sh can run them on the GPU machine.
#   usage: bash tools/gpu/refsrc.sh [MIRROR_ROOT]   (default /work/.mirror)
set -euo pipefail
mirror=${1:-/work/.mirror}
root=$(git rev-parse --show-toplevel)
rm -rf "$root/.refsrc"; mkdir -p "$root/.refsrc/flora-authors" "$root/.refsrc/peft"
git --git-dir "$mirror/SJTU-DeepVisionLab+FLoRA/repo" archive HEAD flora | tar -x -C "$root/.refsrc/flora-authors"
git --git-dir "$mirror/huggingface+peft/repo" archive HEAD src/peft | tar -x -C "$root/.refsrc/peft"
du -sh "$root/.refsrc" | awk '{print "reference sources: " $1 " in .refsrc/"}'
