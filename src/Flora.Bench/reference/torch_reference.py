#!/usr/bin/env python3
"""PyTorch reference for the GPU layer benchmark (docs/BENCHMARKS.md, issue 8).

The same ConvNeXt-style layer shapes as `Flora.Bench layers --shapes convnext`, timed the same way (one training step:
forward, sum() loss, backward; the base weight frozen, the input requiring grad; warm-up, then the median of N steps
between CUDA events) for plain-PyTorch implementations of:
  base          the frozen layer alone
  flora-mat     FLoRA as the authors' layer does it: rebuild ΔW = s·G ×1 U_out ×2 U_in ×3 U_kh ×4 U_kw every step and
                run a second full-size convolution with it (grouped convolutions: ΔW in the grouped layout [out, in/g, k, k])
  flora-fact    FLoRA factorised (1×1 → core conv → 1×1, per group), as Flora does it
  flora-fused   FLoRA fused, as Flora does it: one convolution (or product) with W0 + ΔW instead of the base layer's
  lora          PEFT's LoRA: A a conv in→r with the base kernel, B a 1×1 conv r→out (Linear: x·Aᵀ·Bᵀ)
  merged        the base layer with ΔW merged in (the same cost as base)
--channels-last stores the convolutions' inputs and weights channels-last (NHWC), which cuDNN prefers for bf16.
Run on the GPU machine: python3 torch_reference.py --dtype bf16 [--iterations 50] [--channels-last] > table.md
"""
import argparse
import math
import statistics

import torch
import torch.nn.functional as F


def kaiming(shape, device, dtype):
    t = torch.empty(shape, device=device, dtype=torch.float32)
    torch.nn.init.kaiming_normal_(t, a=math.sqrt(3))
    return t.to(dtype).requires_grad_()


class Conv:
    def __init__(self, cin, cout, k, groups, rank, r3, scale, device, dtype, channels_last=False):
        self.groups, self.k, self.scale = groups, k, scale
        self.padding = k // 2
        self.weight = torch.randn(cout, cin // groups, k, k, device=device, dtype=dtype) * 0.02
        if channels_last:
            self.weight = self.weight.contiguous(memory_format=torch.channels_last)
        r_out, r_in, r_k = min(rank, cout), min(rank, cin // groups), min(r3, k)
        self.core = torch.randn(r_out, r_in, r_k, r_k, device=device, dtype=dtype).requires_grad_()
        self.u_out, self.u_in = kaiming((cout, r_out), device, dtype), kaiming((cin // groups, r_in), device, dtype)
        self.u_kh, self.u_kw = kaiming((k, r_k), device, dtype), kaiming((k, r_k), device, dtype)
        lora_r = max(1, rank)
        self.lora_a = kaiming((lora_r, cin // groups, k, k), device, dtype)
        self.lora_b = torch.zeros(cout, lora_r, 1, 1, device=device, dtype=dtype).requires_grad_()

    def base(self, x):
        return F.conv2d(x, self.weight, padding=self.padding, groups=self.groups)

    def delta(self):
        return self.scale * torch.einsum("abcd,oa,ib,hc,wd->oihw", self.core, self.u_out, self.u_in, self.u_kh, self.u_kw)

    def flora_mat(self, x):
        return self.base(x) + F.conv2d(x, self.delta(), padding=self.padding, groups=self.groups)

    def flora_fused(self, x):
        return F.conv2d(x, self.weight + self.delta(), padding=self.padding, groups=self.groups)

    def flora_fact(self, x):
        g = self.groups
        inner = self.u_in.t().repeat(g, 1)[:, :, None, None]
        kernel = self.scale * torch.einsum("abcd,hc,wd->abhw", self.core, self.u_kh, self.u_kw)
        z = F.conv2d(x, inner, groups=g)
        z = F.conv2d(z, kernel.repeat(g, 1, 1, 1), padding=self.padding, groups=g)
        return self.base(x) + F.conv2d(z, self.u_out[:, :, None, None], groups=g)

    def lora(self, x):
        if self.groups == 1:
            return self.base(x) + F.conv2d(F.conv2d(x, self.lora_a, padding=self.padding), self.lora_b)
        delta = (self.lora_b.flatten(1) @ self.lora_a.flatten(1)).view_as(self.weight)
        return self.base(x) + F.conv2d(x, delta, padding=self.padding, groups=self.groups)

    def merged(self):
        w = (self.weight + self.delta()).detach()
        return lambda x: F.conv2d(x, w, padding=self.padding, groups=self.groups)


class Lin:
    def __init__(self, cin, cout, rank, scale, device, dtype):
        self.scale = scale
        self.weight = torch.randn(cout, cin, device=device, dtype=dtype) * 0.02
        r = min(rank, cin, cout)
        self.core = torch.randn(r, r, device=device, dtype=dtype).requires_grad_()
        self.u_out, self.u_in = kaiming((cout, r), device, dtype), kaiming((cin, r), device, dtype)
        self.lora_a, self.lora_b = kaiming((r, cin), device, dtype), torch.zeros(cout, r, device=device, dtype=dtype).requires_grad_()

    def base(self, x):
        return F.linear(x, self.weight)

    def delta(self):
        return self.scale * self.u_out @ self.core @ self.u_in.t()

    def flora_mat(self, x):
        return self.base(x) + F.linear(x, self.delta())

    def flora_fused(self, x):
        return F.linear(x, self.weight + self.delta())

    def flora_fact(self, x):
        return self.base(x) + ((x @ self.u_in) @ (self.scale * self.core).t()) @ self.u_out.t()

    def lora(self, x):
        return self.base(x) + (x @ self.lora_a.t()) @ self.lora_b.t()

    def merged(self):
        w = (self.weight + self.delta()).detach()
        return lambda x: F.linear(x, w)


def step_ms(fn, x, warmup, iterations):
    for _ in range(warmup):
        fn(x).sum().backward()
    torch.cuda.synchronize()
    times = []
    for _ in range(iterations):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn(x).sum().backward()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dtype", choices=["fp32", "bf16"], default="bf16")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--r3", type=int, default=2)
    parser.add_argument("--channels-last", action="store_true")
    args = parser.parse_args()
    device, dtype = "cuda", torch.bfloat16 if args.dtype == "bf16" else torch.float32
    torch.backends.cudnn.benchmark = True
    n = args.batch
    print(f"PyTorch {torch.__version__}, {torch.cuda.get_device_name()}, {args.dtype}, batch {n}, rank {args.rank}, R3 {args.r3}, "
          f"median of {args.iterations} steps after {args.warmup}" + (", convolutions channels-last" if args.channels_last else "") + "\n")
    print("| layer | base ms | flora-fact × | flora-mat × | flora-fused × | lora × | merged × |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    cl = args.channels_last
    for h, c in [(56, 128), (28, 256), (14, 512)]:
        layers = [
            (f"conv3x3 {c}→{c} @{h}²", Conv(c, c, 3, 1, args.rank, args.r3, 0.4, device, dtype, cl), (n, c, h, h)),
            (f"dwconv7x7 {c} @{h}²", Conv(c, c, 7, c, args.rank, args.r3, 0.4, device, dtype, cl), (n, c, h, h)),
            (f"pw {c}→{4 * c} @{h}²", Lin(c, 4 * c, args.rank, 0.4, device, dtype), (n, h, h, c)),
            (f"pw {4 * c}→{c} @{h}²", Lin(4 * c, c, args.rank, 0.4, device, dtype), (n, h, h, 4 * c)),
        ]
        for name, layer, shape in layers:
            x = torch.randn(shape, device=device, dtype=dtype)
            if cl and isinstance(layer, Conv):
                x = x.contiguous(memory_format=torch.channels_last)
            x.requires_grad_()
            base = step_ms(layer.base, x, args.warmup, args.iterations)
            ratios = [step_ms(f, x, args.warmup, args.iterations) / base for f in (layer.flora_fact, layer.flora_mat, layer.flora_fused, layer.lora, layer.merged())]
            print(f"| {name} | {base:.3f} | " + " | ".join(f"{r:.2f}" for r in ratios) + " |")


if __name__ == "__main__":
    main()
