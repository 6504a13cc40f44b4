#!/usr/bin/env bash
# On the GPU machine: unpacks .devdata/flora-data.tar.xz into /tmp/flora-cache (see pack-data.sh).
set -euo pipefail
mkdir -p /tmp/flora-cache
[ -f /tmp/flora-cache/.unpacked ] || { tar -C /tmp/flora-cache -xJf .devdata/flora-data.tar.xz && touch /tmp/flora-cache/.unpacked; }
