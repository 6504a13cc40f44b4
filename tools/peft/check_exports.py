"""Loads directories written by Flora's SavePeft with PEFT itself (PeftModel.from_pretrained, PEFT from .peft/src)
onto the rule-made model it was made on (rule_base: the resnet18 of rule_resnet.py, the token model with an
nn.Embedding of rule_tokens.py, or the attention model with an nn.MultiheadAttention of rule_attention.py) and
compares with the output Flora computed (flora_output.safetensors beside each).

An export with sub-directories holding adapter_config.json (several named adapters, PEFT's multi-adapter layout) also
loads each of them with load_adapter and compares with flora_output.safetensors' output_<name>.

Usage: python3 tools/peft/check_exports.py EXPORTS_DIR [RESULTS_FILE]. Exits 1 when any export is off by more than 1e-4
relative or PEFT reported missing or unexpected keys, or when the check would be vacuous: an adapted layer whose
adapter does not change the output (switched off alone, with PEFT's enable_adapters(False), the output moves by less
than 1e-6 relative) cannot be checked by comparing outputs, so it fails too and is named. (The LoRA of a
MultiheadAttention's out_proj is switched with its attention layer's: PEFT merges both in the attention's forward.)
"""
import json
import os
import sys
import warnings

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rule_attention  # noqa: E402
import rule_resnet  # noqa: E402
import rule_tokens  # noqa: E402

peft = rule_resnet.import_peft_from_sources()
from peft import PeftModel  # noqa: E402

TOLERANCE = 1e-4
EFFECT = 1e-6


def rule_base(directory, ids):
    """The rule-made base model whose module names hold every adapter of the export: the resnet18 for an image input;
    for integer ids the token model or the attention model (a key <attn>.base_layer.out_proj.lora_* names the
    attention layer <attn>)."""
    if not ids:
        return rule_resnet.rule_resnet18(), "resnet18"
    keys = load_file(os.path.join(directory, "adapter_model.safetensors")).keys()
    modules = {k.removeprefix("base_model.model.").split(".lora_")[0].removesuffix(".base_layer.out_proj") for k in keys}
    for make, kind in ((rule_tokens.rule_token_model, "tokens"), (rule_attention.rule_attention_model, "attention")):
        model = make()
        if modules <= {name for name, _ in model.named_modules()}:
            return model, kind
    sys.exit(f"{directory}: no rule-made model has the modules {sorted(modules)}")


def inert_layers(model, ids_input, output):
    """The adapted layers whose adapter, switched off alone, leaves the output unchanged (a vacuous check for them),
    and the smallest effect of any adapted layer."""
    from peft.tuners.lora import LoraLayer
    from peft.tuners.lora.layer import MultiheadAttention as LoraMultiheadAttention
    attention_out_projections = {f"{name}.base_layer.out_proj" for name, m in model.named_modules() if isinstance(m, LoraMultiheadAttention)}
    inert, smallest = [], float("inf")
    for name, module in model.named_modules():
        if not isinstance(module, LoraLayer) or name in attention_out_projections:
            continue
        module.enable_adapters(False)
        try:
            with torch.no_grad():
                effect = rule_resnet.relative_error(model(ids_input), output)
        finally:
            module.enable_adapters(True)
        smallest = min(smallest, effect)
        if effect < EFFECT:
            inert.append(name)
    return inert, smallest


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    root = sys.argv[1]
    names = sorted(d for d in os.listdir(root) if os.path.exists(os.path.join(root, d, "adapter_config.json")))
    if not names:
        sys.exit(f"no exports under {root}")
    rows, failed = [], False
    for name in names:
        directory = os.path.join(root, name)
        flora = load_file(os.path.join(directory, "flora_output.safetensors"))
        config = json.load(open(os.path.join(directory, "adapter_config.json")))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ids = flora["input"].dtype == torch.int64  # an embedding or attention export
            base, base_kind = rule_base(directory, ids)
            model = PeftModel.from_pretrained(base, directory).eval()
        problems = [str(w.message) for w in caught if "missing" in str(w.message).lower() or "unexpected" in str(w.message).lower()]
        with torch.no_grad():
            output = model(flora["input"])
        error = rule_resnet.relative_error(output, flora["output"])
        inert, smallest = inert_layers(model, flora["input"], output)
        problems += [f"adapter of {layer} does not change the output" for layer in inert]
        ok = error <= TOLERANCE and not problems
        failed |= not ok
        if config.get("peft_type") == "ADALORA":
            kind = "AdaLoRA" + (" (resized by rank_pattern)" if config.get("rank_pattern") else "")
        else:
            kind = "DoRA" if config.get("use_dora") else ("rsLoRA" if config.get("use_rslora") else "LoRA")
            if base_kind != "resnet18":
                kind += " (embedding)" if base_kind == "tokens" else " (MultiheadAttention)"
        saved = len(config.get("modules_to_save") or [])
        rows.append((name, kind, saved, error, smallest, "ok" if ok else "FAIL " + "; ".join(problems)))
        # PEFT's multi-adapter layout: every other named adapter in a sub-directory, loaded with load_adapter.
        for sub in sorted(d for d in os.listdir(directory) if os.path.exists(os.path.join(directory, d, "adapter_config.json"))):
            sub_config = json.load(open(os.path.join(directory, sub, "adapter_config.json")))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.load_adapter(os.path.join(directory, sub), adapter_name=sub)
            problems = [str(w.message) for w in caught if "missing" in str(w.message).lower() or "unexpected" in str(w.message).lower()]
            model.set_adapter(sub)
            with torch.no_grad():
                sub_output = model(flora["input"])
            error = rule_resnet.relative_error(sub_output, flora["output_" + sub])
            inert, smallest = inert_layers(model, flora["input"], sub_output)
            problems += [f"adapter of {layer} does not change the output" for layer in inert]
            ok = error <= TOLERANCE and not problems
            failed |= not ok
            kind = "DoRA" if sub_config.get("use_dora") else ("rsLoRA" if sub_config.get("use_rslora") else "LoRA")
            rows.append((f"{name}/{sub}", kind, len(sub_config.get("modules_to_save") or []), error, smallest, "ok" if ok else "FAIL " + "; ".join(problems)))
    lines = ["| export | PEFT type | modules to save | max relative error | smallest effect of one layer's adapter | result |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {n} | {k} | {s} | {e:.2e} | {m:.2e} | {r} |" for n, k, s, e, m, r in rows]
    text = "\n".join(lines)
    print(text)
    if len(sys.argv) == 3:
        with open(sys.argv[2], "w") as f:
            f.write(text + "\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
