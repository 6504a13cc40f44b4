"""An attention model: an nn.Embedding (50 ids, dim 16) into an nn.MultiheadAttention (embed_dim 16, 2 heads,
sequence first: inputs [L, N, E], as TorchSharp's MultiheadAttention takes them), its output averaged over the
sequence, then a Linear head (16 -> 3), with the rule-made base weights that tests/Flora.Tests/Peft/RuleAttention.cs
recomputes in C#, and the rule-made input ids.

Over the state dict's keys sorted by code point (attn.in_proj_bias, attn.in_proj_weight, attn.out_proj.bias,
attn.out_proj.weight, emb.weight, head.bias, head.weight), tensor number k, flat element i, x = 0.37*i + k in float64:
0.3*sin(x) for the embedding, 0.2*sin(x) for everything else (large enough that the attention weights are far from
uniform), cast to float32. The input is (7*j + 3) % 50 over the flat index j of a [6, 2] int64 tensor (sequence, batch).
"""
import torch
from torch import nn

import rule_tokens

NUM_EMBEDDINGS, DIM, HEADS, CLASSES = 50, 16, 2, 3
INPUT_SHAPE = (6, 2)


class AttentionModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(NUM_EMBEDDINGS, DIM)
        self.attn = nn.MultiheadAttention(DIM, HEADS)
        self.head = nn.Linear(DIM, CLASSES)

    def forward(self, ids):
        h = self.emb(ids)
        attended, _ = self.attn(h, h, h, need_weights=False)
        return self.head(attended.mean(dim=0))


def rule_attention_model():
    torch.manual_seed(0)
    return rule_tokens.load_rule_weights(AttentionModel(), lambda key: 0.3 if key == "emb.weight" else 0.2)


def rule_ids():
    return rule_tokens.ids_of(INPUT_SHAPE, 3)
