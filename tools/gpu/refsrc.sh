#!/usr/bin/env bash
# Here (not on the GPU machine): puts the authors' FLoRA code and PEFT's sources into .refsrc/ (ignored by git, never
# committed) from bare git clones of SJTU-DeepVisionLab/FLoRA and huggingface/peft, so that bench-resnet.sh can run
# them on the GPU machine. MIRROR_ROOT holds them as SJTU-DeepVisionLab+FLoRA/repo and huggingface+peft/repo
# (e.g. git clone --bare https://github.com/huggingface/peft MIRROR_ROOT/huggingface+peft/repo).
#   usage: bash tools/gpu/refsrc.sh [MIRROR_ROOT]   (default /work/.mirror, where our machine kept them)
set -euo pipefail
mirror=${1:-/work/.mirror}
root=$(git rev-parse --show-toplevel)
rm -rf "$root/.refsrc"; mkdir -p "$root/.refsrc/flora-authors" "$root/.refsrc/peft"
git --git-dir "$mirror/SJTU-DeepVisionLab+FLoRA/repo" archive HEAD flora | tar -x -C "$root/.refsrc/flora-authors"
git --git-dir "$mirror/huggingface+peft/repo" archive HEAD src/peft | tar -x -C "$root/.refsrc/peft"
du -sh "$root/.refsrc" | awk '{print "reference sources: " $1 " in .refsrc/"}'
