#!/usr/bin/env python3
"""PyTorch reference for `Flora.Bench resnet`: the same step on torchvision's ResNet-18 (adapters on the 16 convs of
layer1-layer4), with PEFT's LoRA and DoRA and the authors' FLoRA layer (flora/layers.py, from .refsrc/), plus the floor
(base frozen, input requires grad) and full fine-tuning. One SGD step: forward, cross-entropy, backward, p -= lr*grad.
Prints a markdown table (median ms per step).

usage: python3 resnet_reference.py [--dtype fp32|bf16] [--batch 32,128,512] [--size 112] [--iters 30] [--warmup 10]
"""
import argparse, math, os, re, statistics, sys, time

import torch
import torch.nn as nn
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
REFSRC = os.path.join(HERE, "..", "..", "..", ".refsrc")
TARGET = re.compile(r"layer[1-4]\.[0-9]+\.conv[12]$")


def targets(model):
    return [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d) and TARGET.match(n)]


def set_child(model, name, module):
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, module)


def flora_count(conv, r=8, r3=2):
    dims = [conv.out_channels, conv.in_channels // conv.groups] + list(conv.kernel_size)
    ranks = [min(r, dims[0]), min(r, dims[1])] + [min(r3, k) for k in conv.kernel_size]
    return math.prod(ranks) + sum(d * q for d, q in zip(dims, ranks))


def matched_lora_rank(conv, dora):
    """The LoRA rank whose count is closest to the FLoRA count (Flora's budget matching)."""
    target = flora_count(conv)
    k = conv.kernel_size[0] * conv.kernel_size[1]
    per_rank = conv.out_channels + conv.in_channels // conv.groups * k
    extra = conv.out_channels if dora else 0
    return max(1, round((target - extra) / per_rank))


def build(method, device, dtype):
    torch.manual_seed(1234)
    model = torchvision.models.resnet18(num_classes=1000).to(device=device, dtype=dtype)
    if method == "full":
        return model, list(model.parameters()), False
    model.requires_grad_(False)
    if method == "floor":
        return model, [], True
    names = targets(model)
    assert len(names) == 16, names
    if method == "flora-authors":
        sys.path.insert(0, os.path.join(REFSRC, "flora-authors"))
        from flora import layers  # the authors' code, never committed
        for n in names:
            conv = model.get_submodule(n)
            cfg = {"N": 4, "r": [8, 8, 2, 2], "scale": 0.4, "drop_rate": 0.0}
            set_child(model, n, layers.Conv2D(conv, cfg).to(device=device, dtype=dtype))
        params = [p for n, p in model.named_parameters() if "flora_layer" in n]
        for p in params:
            p.requires_grad_(True)
        return model, params, False
    try:
        import peft
    except ImportError:
        sys.path.insert(0, os.path.join(REFSRC, "peft", "src"))
        import peft
    dora = method == "peft-dora"
    ranks = {n: matched_lora_rank(model.get_submodule(n), dora) for n in names}
    config = peft.LoraConfig(target_modules=names, r=8, lora_alpha=8, use_dora=dora,
                             rank_pattern={n: ranks[n] for n in names}, alpha_pattern={n: ranks[n] for n in names})
    model = peft.inject_adapter_in_model(config, model)
    params = [p for p in model.parameters() if p.requires_grad]
    return model, params, False


def time_method(method, args, device, dtype, batch):
    model, params, input_grad = build(method, device, dtype)
    model.train()
    torch.manual_seed(4321)
    x = torch.randn(batch, 3, args.size, args.size, device=device, dtype=dtype)
    y = torch.randint(0, 1000, (batch,), device=device)
    samples = []
    for i in range(args.warmup + args.iters):
        for p in params:
            p.grad = None
        torch.cuda.synchronize()
        start = time.perf_counter()
        inp = x.detach().requires_grad_(True) if input_grad else x
        loss = nn.functional.cross_entropy(model(inp), y)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-1e-3)
        torch.cuda.synchronize()
        if i >= args.warmup:
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), sum(p.numel() for p in params)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--batch", default="32,128,512")
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--methods", default="floor,full,flora-authors,peft-lora,peft-dora")
    args = ap.parse_args()
    device = torch.device("cuda")
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    print(f"PyTorch {torch.__version__}, {torch.cuda.get_device_name()}, {args.dtype}, input {args.size}x{args.size}, median of {args.iters}\n")
    print("| batch | method | trainable | step (ms) | x floor |")
    print("|---:|---|---:|---:|---:|")
    for batch in [int(b) for b in args.batch.split(",")]:
        floor = None
        for method in args.methods.split(","):
            try:
                ms, n = time_method(method, args, device, dtype, batch)
            except Exception as e:  # a reference that cannot run here is reported, not fatal
                print(f"| {batch} | {method} | | failed: {type(e).__name__}: {e} | |")
                continue
            floor = ms if method == "floor" else floor
            ratio = f"{ms / floor:.2f}" if floor else ""
            print(f"| {batch} | {method} | {n:,} | {ms:.2f} | {ratio} |", flush=True)
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
