"""TorchVision's resnet18(num_classes=10) with the rule-made base weights that tests/Flora.Tests/Peft/RuleResNet.cs
recomputes in C#, and the rule-made input.

Over the state dict's keys sorted by code point (num_batches_tracked left at 0), tensor number k, flat element i,
x = 0.37*i + k in float64: running_var 1 + 0.1*cos(x), one-dimensional weights (BatchNorm) 1 + 0.1*sin(x), everything
else 0.05*sin(x), then cast to float32. The input is sin(0.11*j) over the flat index j of a [2, 3, 32, 32] tensor.
"""
import os
import sys

import numpy as np
import torch
import torchvision

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INPUT_SHAPE = (2, 3, 32, 32)


def import_peft_from_sources():
    """Imports PEFT from .peft/src (huggingface/peft's src/peft, extracted by tools/peft/README.md), never an installed copy."""
    source = os.path.join(REPO, ".peft", "src")
    if not os.path.isdir(os.path.join(source, "peft")):
        sys.exit(f"{source}/peft is missing: extract huggingface/peft's src/peft there (tools/peft/README.md).")
    sys.path.insert(0, source)
    for name in [m for m in sys.modules if m == "peft" or m.startswith("peft.")]:
        del sys.modules[name]
    import peft

    if not os.path.abspath(peft.__file__).startswith(os.path.abspath(source)):
        sys.exit(f"imported peft from {peft.__file__}, not from {source}")
    commit_file = os.path.join(REPO, ".peft", "COMMIT")
    commit = open(commit_file).read().strip() if os.path.exists(commit_file) else "unknown commit"
    print(f"PEFT {peft.__version__} from {source} ({commit})", flush=True)
    return peft


def rule_resnet18():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10)
    state = model.state_dict()
    keys = sorted(k for k in state if not k.endswith("num_batches_tracked"))
    values = {}
    for k, key in enumerate(keys):
        tensor = state[key]
        x = 0.37 * np.arange(tensor.numel(), dtype=np.float64) + k
        if key.endswith("running_var"):
            v = 1 + 0.1 * np.cos(x)
        elif tensor.dim() == 1 and key.endswith(".weight"):
            v = 1 + 0.1 * np.sin(x)
        else:
            v = 0.05 * np.sin(x)
        values[key] = torch.from_numpy(v.astype(np.float32)).reshape(tensor.shape)
    missing, unexpected = model.load_state_dict(values, strict=False)
    assert all(m.endswith("num_batches_tracked") for m in missing) and not unexpected
    return model.eval()


def rule_input():
    j = np.arange(int(np.prod(INPUT_SHAPE)), dtype=np.float64)
    return torch.from_numpy(np.sin(0.11 * j).astype(np.float32)).reshape(INPUT_SHAPE)


def relative_error(actual, expected):
    return ((actual - expected).abs().max() / expected.abs().max()).item()
