#!/usr/bin/env python3
"""Reads a Flora adapter file with Python's safetensors (the format's reference implementation) and prints what it finds."""
import json
import sys

from safetensors import safe_open
from safetensors.torch import load_file

path = sys.argv[1]
tensors = load_file(path)
with safe_open(path, framework="pt") as f:
    metadata = f.metadata()
config = json.loads(metadata["flora"])
print(f"safetensors.torch.load_file read {len(tensors)} tensors, {sum(t.numel() for t in tensors.values())} parameters")
print(f"__metadata__['flora']: method={config['method']}, format={config['format']}, targets={len(config['targets'])}")
for key in sorted(tensors)[:6]:
    print(f"  {key}: {tuple(tensors[key].shape)} {tensors[key].dtype}")
