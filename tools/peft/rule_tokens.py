"""A token classifier with an nn.Embedding (50 ids, dim 16, padding_idx 0) mean-pooled over the tokens, then a Linear
head (16 -> 3), with the rule-made base weights that tests/Flora.Tests/Peft/RuleTokens.cs recomputes in C#, and the
rule-made input ids.

Over the state dict's keys sorted by code point (emb.weight, head.bias, head.weight), tensor number k, flat element i,
x = 0.37*i + k in float64: 0.05*sin(x), cast to float32 (the padding row too: padding_idx only stops its gradient).
The input is (7*j) % 50 over the flat index j of a [2, 6] int64 tensor (id 0, the padding id, at j = 0).
"""
import numpy as np
import torch
from torch import nn

NUM_EMBEDDINGS, DIM, CLASSES = 50, 16, 3
INPUT_SHAPE = (2, 6)


class TokenModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(NUM_EMBEDDINGS, DIM, padding_idx=0)
        self.head = nn.Linear(DIM, CLASSES)

    def forward(self, ids):
        return self.head(self.emb(ids).mean(dim=1))


def load_rule_weights(model, amplitude):
    """The rule's base weights (amplitude(key) * sin(0.37*i + k), see above) loaded into model, in eval mode."""
    state = model.state_dict()
    values = {}
    for k, key in enumerate(sorted(state)):
        tensor = state[key]
        x = 0.37 * np.arange(tensor.numel(), dtype=np.float64) + k
        values[key] = torch.from_numpy((amplitude(key) * np.sin(x)).astype(np.float32)).reshape(tensor.shape)
    model.load_state_dict(values, strict=True)
    return model.eval()


def ids_of(shape, offset):
    """(7*j + offset) % 50 over the flat index j of an int64 tensor of shape."""
    j = np.arange(int(np.prod(shape)), dtype=np.int64)
    return torch.from_numpy((7 * j + offset) % NUM_EMBEDDINGS).reshape(shape)


def rule_token_model():
    torch.manual_seed(0)
    return load_rule_weights(TokenModel(), lambda key: 0.05)


def rule_ids():
    return ids_of(INPUT_SHAPE, 0)
