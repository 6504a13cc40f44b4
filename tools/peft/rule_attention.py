"""An attention model: an nn.Embedding (50 ids, dim 16) into an nn.MultiheadAttention (embed_dim 16, 2 heads,
sequence first: inputs [L, N, E], as TorchSharp's MultiheadAttention takes them), its output averaged over the
sequence, then a Linear head (16 -> 3), with the rule-made base weights that tests/Flora.Tests/Peft/RuleAttention.cs
recomputes in C#, and the rule-made input ids.

Over the state dict's keys sorted by code point (attn.in_proj_bias, attn.in_proj_weight, attn.out_proj.bias,
attn.out_proj.weight, emb.weight, head.bias, head.weight), tensor number k, flat element i, x = 0.37*i + k in float64:
0.3*sin(x) for the embedding, 0.2*sin(x) for everything else (large enough that the attention weights are far from
uniform), cast to float32. The input is (7*j + 3) % 50 over the flat index j of a [6, 2] int64 tensor (sequence, batch).
"""
import numpy as np
import torch
from torch import nn

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
    model = AttentionModel()
    state = model.state_dict()
    values = {}
    for k, key in enumerate(sorted(state)):
        tensor = state[key]
        x = 0.37 * np.arange(tensor.numel(), dtype=np.float64) + k
        amplitude = 0.3 if key == "emb.weight" else 0.2
        values[key] = torch.from_numpy((amplitude * np.sin(x)).astype(np.float32)).reshape(tensor.shape)
    model.load_state_dict(values, strict=True)
    return model.eval()


def rule_ids():
    j = np.arange(int(np.prod(INPUT_SHAPE)), dtype=np.int64)
    return torch.from_numpy((7 * j + 3) % NUM_EMBEDDINGS).reshape(INPUT_SHAPE)
