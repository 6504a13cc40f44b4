"""Makes the PEFT-made fixtures of tests/Flora.Tests/Peft/Fixtures with PEFT itself (imported from .peft/src).

For each configuration: get_peft_model on the rule-made resnet18 (rule_resnet.py), adapter weights perturbed
deterministically (lora_B non-zero, DoRA magnitudes and saved modules moved), the model run in eval mode on the
rule-made input, save_pretrained into <out>/<name>/, plus expected_output.safetensors (input, output). Each directory is
reloaded with PeftModel.from_pretrained onto a fresh base as a check. Usage: python3 tools/peft/make_fixtures.py OUT
"""
import os
import shutil
import sys
import warnings

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rule_resnet  # noqa: E402

peft = rule_resnet.import_peft_from_sources()
from peft import LoraConfig, PeftModel, get_peft_model  # noqa: E402

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


def perturb(model, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not p.requires_grad:
                continue
            noise = torch.randn(p.shape, generator=generator)
            if "lora_B" in name:
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
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    x = rule_resnet.rule_input()
    for index, (name, settings) in enumerate(CONFIGS.items()):
        model = get_peft_model(rule_resnet.rule_resnet18(), LoraConfig(**settings))
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

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reloaded = PeftModel.from_pretrained(rule_resnet.rule_resnet18(), directory).eval()
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


if __name__ == "__main__":
    main()
