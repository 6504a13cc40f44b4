"""Makes the PEFT-made fixtures of tests/Flora.Tests/Peft/Fixtures with PEFT itself (imported from .peft/src).

For each LoRA configuration: get_peft_model on the rule-made resnet18 (rule_resnet.py), adapter weights perturbed
deterministically (lora_B non-zero, DoRA magnitudes and saved modules moved), the model run in eval mode on the
rule-made input, save_pretrained into <out>/<name>/, plus expected_output.safetensors (input, output).

For each embedding configuration: the same on the rule-made token model of rule_tokens.py (nn.Embedding(50, 16,
padding_idx=0) mean-pooled, then a Linear head) and its rule-made ids; lora_embedding_A (zeros at PEFT's
initialisation) is perturbed so that the embedding's update is non-zero.

For each attention configuration: the same on the rule-made attention model of rule_attention.py (nn.Embedding,
nn.MultiheadAttention(16, 2) sequence first, mean over the sequence, Linear head): PEFT's lora.MultiheadAttention
on "attn" (lora_A/lora_B for in_proj_weight on the layer, and on its base_layer.out_proj), lora_B perturbed away from
zero.

For each AdaLoRA configuration: PEFT's own rank allocation (update_and_allocate) run over its whole schedule with a
fixed sequence of weights and gradients, which replay.safetensors keeps for the C# tests to replay (see
replay_adalora), then save_pretrained (PEFT's resized state dict and rank_pattern) and expected_output.safetensors.

For each multi-adapter configuration: get_peft_model with the first adapter ("default"), add_adapter for the others
(each perturbed while it is the active one: set_adapter freezes the others), save_pretrained (the default at the
root, every other adapter in <out>/<name>/<adapter>/), and expected_output.safetensors with input, output (the
default's) and output_<adapter> for every other adapter.

Each directory is reloaded with PeftModel.from_pretrained (and load_adapter for the others) onto a fresh base as a check.
Usage: python3 tools/peft/make_fixtures.py OUT [NAME ...] (only the fixtures named, when names are given)
"""
import os
import shutil
import sys
import warnings

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rule_attention  # noqa: E402
import rule_resnet  # noqa: E402
import rule_tokens  # noqa: E402

peft = rule_resnet.import_peft_from_sources()
from peft import AdaLoraConfig, LoraConfig, PeftModel, get_peft_model  # noqa: E402

CONFIGS = {
    # A regex string (full match) over three convolutions, the head saved whole.
    "lora_regex_save_fc": dict(
        r=4, lora_alpha=8, target_modules=r"layer1\.0\.conv1|layer2\.0\.downsample\.0|layer3\.1\.conv2", modules_to_save=["fc"]
    ),
    # DoRA; a list (names and dotted suffixes: "conv1" is the stem and every block's conv1), a regex exclude_modules,
    # rank_pattern / alpha_pattern by PEFT's get_pattern_key (first match, at the end of the name; "^conv1" is the stem only).
    "dora_patterns": dict(
        r=2,
        lora_alpha=4,
        use_dora=True,
        target_modules=["conv1", "downsample.0"],
        exclude_modules=r"layer4\..*",
        rank_pattern={"^conv1": 3, r"layer3\.\d\.conv1": 1},
        alpha_pattern={r"layer2\.\d\.conv1": 5.0, "downsample.0": 3},
    ),
    # rsLoRA on the head (Linear) and one convolution; modules_to_save "bn1" is a name suffix: the stem's bn1 and every block's.
    "rslora_fc_conv_save_bn1": dict(
        r=4, lora_alpha=6, use_rslora=True, target_modules=["fc", "layer2.1.conv2"], modules_to_save=["bn1"]
    ),
    # DoRA on a Linear (magnitude [out]) and a convolution (magnitude [1, out, 1, 1]).
    "dora_fc_conv": dict(r=3, lora_alpha=3, use_dora=True, target_modules=["fc", "layer1.1.conv2"]),
}

# LoRA on the token model: PEFT's lora.Embedding on "emb" (lora_embedding_A [r, 50], lora_embedding_B [16, r]) and a
# Linear head; DoRA on the embedding alone (DoraEmbeddingLayer: lora_magnitude_vector [16], the norm over the 50 ids).
EMBEDDING_CONFIGS = {
    "tokens_lora_embedding": dict(r=4, lora_alpha=8, target_modules=["emb", "head"]),
    "tokens_dora_embedding": dict(r=3, lora_alpha=6, use_dora=True, target_modules=["emb"]),
}

# LoRA on the attention model: PEFT's lora.MultiheadAttention on "attn" (one rank and alpha for in_proj and out_proj,
# resolved on the attention layer's name) and a Linear head; rsLoRA with the attention's rank and alpha by pattern.
ATTENTION_CONFIGS = {
    "attention_lora": dict(r=4, lora_alpha=8, target_modules=["attn", "head"]),
    "attention_rslora_patterns": dict(
        r=4, lora_alpha=8, use_rslora=True, target_modules=r"attn|head", rank_pattern={"attn": 2}, alpha_pattern={"attn": 3}
    ),
}

# AdaLoRA: SVDConv2d on the stem (7x7, stride 2, padding 3) and a 1x1 stride-2 downsample, SVDLinear on the head;
# 3 layers of init_r 6 triplets allocated down to 3 * target_r = 12. The schedule: warm-up to step 2 (tinit), the
# budget falling at steps 3-7, the final allocation at step 8 (total_step - tfinal), the final mask re-applied at 9, 10.
ADALORA_CONFIGS = {
    "adalora_fc_convs": dict(
        init_r=6,
        target_r=4,
        total_step=10,
        tinit=2,
        tfinal=2,
        deltaT=1,
        lora_alpha=8,
        target_modules=r"conv1|layer2\.0\.downsample\.0|fc",
    ),
}


def short(name):
    """'base_model.model.fc.lora_E.default' (a PeftModel parameter) or 'fc.lora_E.default' (a rank_pattern key) -> 'fc.lora_E'."""
    return name.removeprefix("base_model.model.").removesuffix(".default")


def replay_adalora(model, total_step, seed):
    """Runs PEFT's update_and_allocate for steps 1..total_step on a fixed sequence and returns what C# replays.

    Before step t every lora_A, lora_B and lora_E (in the order of their sorted names) moves by 0.02 * randn (standing
    in for an optimizer step), then every one gets the gradient randn, both drawn from one generator seeded with
    `seed`; then model.base_model.update_and_allocate(t). The returned tensors (replay.safetensors), for each step t
    and module m ("conv1", "layer2.0.downsample.0", "fc"):
      step{t}.{m}.lora_A / .lora_B / .lora_E                 the weights update_and_allocate(t) saw
      step{t}.{m}.lora_A.grad / .lora_B.grad / .lora_E.grad  their gradients
      step{t}.{m}.lora_E.after                               lora_E after the call (masked triplets zeroed)
      step{t}.{m}.rank_pattern                               BOOL [init_r]: the configuration's rank_pattern after
                                                             the call, once an allocation has set one
      step{t}.schedule                                       INT64 [budget, mask]: PEFT's budget_schedule(t)
    """
    lora = sorted((n, p) for n, p in model.named_parameters() if "lora_" in n)
    generator = torch.Generator().manual_seed(seed)
    allocator = model.base_model.rankallocator
    replay = {}
    for step in range(1, total_step + 1):
        with torch.no_grad():
            for _, p in lora:
                p.add_(0.02 * torch.randn(p.shape, generator=generator))
        for n, p in lora:
            p.grad = torch.randn(p.shape, generator=generator)
            replay[f"step{step}.{short(n)}"] = p.detach().clone()
            replay[f"step{step}.{short(n)}.grad"] = p.grad.detach().clone()
        budget, mask = allocator.budget_schedule(step)
        replay[f"step{step}.schedule"] = torch.tensor([budget, int(mask)], dtype=torch.int64)
        model.base_model.update_and_allocate(step)
        for n, p in lora:
            if ".lora_E." in n:
                replay[f"step{step}.{short(n)}.after"] = p.detach().clone()
        for key, kept in (model.peft_config["default"].rank_pattern or {}).items():
            module = short(key).removesuffix(".lora_E")
            replay[f"step{step}.{module}.rank_pattern"] = torch.tensor(kept, dtype=torch.bool)
        for _, p in lora:
            p.grad = None
    return replay


# Several named adapters on one base (PEFT's multi-adapter save_pretrained layout): LoRA "default" on two convolutions
# with the head saved whole, and "task_b" (DoRA, another rank) on one of them with its own copy of the head.
MULTI_CONFIGS = {
    "multi_lora_dora": {
        "default": dict(r=4, lora_alpha=8, target_modules=["layer1.0.conv1", "layer2.0.conv1"], modules_to_save=["fc"]),
        "task_b": dict(r=2, lora_alpha=4, use_dora=True, target_modules=["layer1.0.conv1"], modules_to_save=["fc"]),
    },
}


def make_multi(out, name, adapters, seed):
    make_base, x = rule_resnet.rule_resnet18, rule_resnet.rule_input()
    names = list(adapters)
    model = get_peft_model(make_base(), LoraConfig(**adapters[names[0]]))
    for adapter in names[1:]:
        model.add_adapter(adapter, LoraConfig(**adapters[adapter]))
    outputs = {}
    for index, adapter in enumerate(names):
        model.set_adapter(adapter)
        perturb(model, seed=seed + index)
    model.eval()
    with torch.no_grad():
        for adapter in names:
            model.set_adapter(adapter)
            outputs["output" if adapter == "default" else "output_" + adapter] = model(x).contiguous()
    directory = os.path.join(out, name)
    shutil.rmtree(directory, ignore_errors=True)
    model.save_pretrained(directory)
    for root, _, files in os.walk(directory):
        if "README.md" in files:
            os.remove(os.path.join(root, "README.md"))
    save_file({"input": x.contiguous(), **outputs}, os.path.join(directory, "expected_output.safetensors"))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reloaded = PeftModel.from_pretrained(make_base(), directory).eval()
        for adapter in names[1:]:
            reloaded.load_adapter(os.path.join(directory, adapter), adapter_name=adapter)
    problems = [str(w.message) for w in caught if "missing" in str(w.message).lower() or "unexpected" in str(w.message).lower()]
    errors = {}
    with torch.no_grad():
        for adapter in names:
            reloaded.set_adapter(adapter)
            errors[adapter] = rule_resnet.relative_error(reloaded(x), outputs["output" if adapter == "default" else "output_" + adapter])
    layout = sorted(os.path.relpath(os.path.join(r, f), directory) for r, _, fs in os.walk(directory) for f in fs)
    print(f"{name:28s} reload errors {errors}  {layout}" + (f"  WARNINGS: {problems}" if problems else ""), flush=True)
    assert max(errors.values()) < 1e-6 and not problems


def perturb(model, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not p.requires_grad:
                continue
            noise = torch.randn(p.shape, generator=generator)
            if "lora_embedding_A" in name:  # zeros at PEFT's initialisation
                p.copy_(0.1 * noise)
            elif "lora_embedding_B" in name:  # normal_ at PEFT's initialisation
                p.add_(0.1 * noise)
            elif "lora_B" in name:
                p.copy_(0.1 * noise)
            elif "lora_magnitude_vector" in name:
                p.mul_(1 + 0.1 * noise)
            elif "lora_A" in name:
                p.add_(0.1 * noise * p.abs().mean())
            else:  # a module to save's copy
                p.add_(0.05 * noise)
        for name, b in model.named_buffers():
            if "modules_to_save" in name and name.endswith("running_mean"):
                b.add_(0.1 * torch.randn(b.shape, generator=generator))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out, only = sys.argv[1], set(sys.argv[2:])
    os.makedirs(out, exist_ok=True)
    resnet = (rule_resnet.rule_resnet18, rule_resnet.rule_input())
    tokens = (rule_tokens.rule_token_model, rule_tokens.rule_ids())
    runs = [(name, settings, False, resnet) for name, settings in CONFIGS.items()]
    runs += [(name, settings, True, resnet) for name, settings in ADALORA_CONFIGS.items()]
    runs += [(name, settings, False, tokens) for name, settings in EMBEDDING_CONFIGS.items()]
    attention = (rule_attention.rule_attention_model, rule_attention.rule_ids())
    runs += [(name, settings, False, attention) for name, settings in ATTENTION_CONFIGS.items()]
    unknown = only - {run[0] for run in runs} - set(MULTI_CONFIGS)
    if unknown:
        sys.exit(f"no fixture named {sorted(unknown)}")
    for index, (name, settings, adalora, (make_base, x)) in enumerate(runs):
        if only and name not in only:
            continue
        replay = None
        if adalora:
            model = get_peft_model(make_base(), AdaLoraConfig(**settings))
            replay = replay_adalora(model, settings["total_step"], seed=2000 + index)
        else:
            model = get_peft_model(make_base(), LoraConfig(**settings))
            perturb(model, seed=1000 + index)
        model.eval()
        with torch.no_grad():
            output = model(x)
            with model.disable_adapter():
                base = model(x)
        directory = os.path.join(out, name)
        shutil.rmtree(directory, ignore_errors=True)
        model.save_pretrained(directory)
        readme = os.path.join(directory, "README.md")  # PEFT's model card: not part of the adapter
        if os.path.exists(readme):
            os.remove(readme)
        save_file({"input": x.contiguous(), "output": output.contiguous()}, os.path.join(directory, "expected_output.safetensors"))
        if replay is not None:
            save_file(replay, os.path.join(directory, "replay.safetensors"), metadata={"steps": str(settings["total_step"])})

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reloaded = PeftModel.from_pretrained(make_base(), directory).eval()
        with torch.no_grad():
            again = reloaded(x)
        problems = [str(w.message) for w in caught if "missing" in str(w.message).lower() or "unexpected" in str(w.message).lower()]
        size = sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory))
        print(
            f"{name:28s} adapter effect {rule_resnet.relative_error(output, base):.3e}  reload error {rule_resnet.relative_error(again, output):.1e}"
            f"  {size / 1024:.0f} KiB  {sorted(os.listdir(directory))}" + (f"  WARNINGS: {problems}" if problems else ""),
            flush=True,
        )
        assert rule_resnet.relative_error(again, output) < 1e-6 and not problems
        if adalora:  # from_pretrained resized every layer to the triplets rank_pattern keeps
            pattern = reloaded.peft_config["default"].rank_pattern
            kept = {k.removesuffix(".lora_E"): sum(v) for k, v in pattern.items()}
            ranks = {short(n).removesuffix(".lora_E"): p.shape[0] for n, p in reloaded.named_parameters() if ".lora_E." in n}
            print(f"{'':28s} kept triplets {kept}, reloaded ranks {ranks}", flush=True)
            assert kept == ranks and sum(kept.values()) == settings["target_r"] * len(kept)
    for index, (name, adapters) in enumerate(MULTI_CONFIGS.items()):
        if only and name not in only:
            continue
        make_multi(out, name, adapters, seed=3000 + 10 * index)


if __name__ == "__main__":
    main()
