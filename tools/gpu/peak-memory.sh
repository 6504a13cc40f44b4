#!/usr/bin/env bash
# On the GPU machine: runs a command and prints the largest GPU memory nvidia-smi saw it use (MiB), polling every 50 ms.
# TorchSharp 0.107 exposes no allocator statistics, so peak memory is measured per process from outside; the figure
# includes the CUDA context and the caching allocator's reserve, so compare variants against the base run alike.
#   usage: peak-memory.sh COMMAND [ARG ...]
set -u
"$@" > /tmp/peak-memory.log 2>&1 &
pid=$!
peak=0
while kill -0 "$pid" 2>/dev/null; do
  used=$(nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits 2>/dev/null | awk -F', ' -v p="$pid" '$1 == p {print $2}')
  [ -n "$used" ] && [ "$used" -gt "$peak" ] && peak=$used
  sleep 0.05
done
wait "$pid"; status=$?
echo "$peak"
exit $status
