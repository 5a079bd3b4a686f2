"""Finished versions of what the notebooks build, for two uses:

- the checks use them as references (a learner's code can never replace them), and
- later notebooks import them instead of repeating earlier solutions.

Conventions: rows are tokens, tensors are batch-first `(batch, seq, features)`, and a boolean
`mask` is True where a query MAY attend to a key (as in `F.scaled_dot_product_attention`).
Note that `nn.MultiheadAttention` uses the opposite convention for its boolean masks.
"""

import math

import torch
from torch import nn


def attention(q, k, v, mask=None):
    """Scaled dot-product attention returning (output, weights).

    q: (..., n, d_k), k: (..., m, d_k), v: (..., m, d_v), mask: bool, broadcastable to (..., n, m).
    Returns output (..., n, d_v) and weights (..., n, m). A query whose keys are all masked
    gets zero weights and a zero output (not NaN).
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., n, m)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))  # (..., n, m)
    weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)  # (..., n, m); all -inf rows -> 0
    return weights @ v, weights  # (..., n, d_v), (..., n, m)


def scaled_dot_product_attention(q, k, v, mask=None):
    """Output only of `attention`: (..., n, d_k), (..., m, d_k), (..., m, d_v) -> (..., n, d_v)."""
    return attention(q, k, v, mask)[0]


def causal_mask(n, device=None):
    """(n, n) bool mask, True on and below the diagonal: token i may attend to tokens 0..i."""
    return torch.ones(n, n, dtype=torch.bool, device=device).tril()


def split_heads(x, num_heads):
    """(batch, seq, embed) -> (batch, heads, seq, embed // heads)."""
    batch, seq, embed = x.shape
    return x.view(batch, seq, num_heads, embed // num_heads).transpose(1, 2)


def merge_heads(x):
    """(batch, heads, seq, d_head) -> (batch, seq, heads * d_head)."""
    batch, heads, seq, d_head = x.shape
    return x.transpose(1, 2).reshape(batch, seq, heads * d_head)


class MultiHeadAttention(nn.Module):
    """Multi-head attention with separate q/k/v projections and an output projection W_o.

    forward(query (b, n, embed), key (b, m, kdim), value (b, m, vdim), mask) -> (b, n, embed);
    `mask` is bool, broadcastable to (b, heads, n, m), True = may attend. The attention
    weights of the last call, (b, heads, n, m), are kept in `self.last_weights`.
    """

    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None, bias=True):
        super().__init__()
        assert embed_dim % num_heads == 0, "embed_dim must be divisible by num_heads"
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim, bias=bias)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim, bias=bias)
        self.w_o = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.last_weights = None

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)  # (b, h, n, d_head)
        k = split_heads(self.w_k(key), self.num_heads)  # (b, h, m, d_head)
        v = split_heads(self.w_v(value), self.num_heads)  # (b, h, m, d_head)
        out, self.last_weights = attention(q, k, v, mask)  # (b, h, n, d_head), (b, h, n, m)
        return self.w_o(merge_heads(out))  # (b, n, embed)


def sinusoidal_encoding(num_positions, dim, base=10000.0):
    """(num_positions, dim) table: PE[t, 2i] = sin(t / base^(2i/dim)), PE[t, 2i+1] = cos(...)."""
    positions = torch.arange(num_positions, dtype=torch.float32)[:, None]  # (T, 1)
    rates = base ** (-torch.arange(0, dim, 2, dtype=torch.float32) / dim)  # (dim/2,)
    angles = positions * rates  # (T, dim/2)
    table = torch.zeros(num_positions, dim)  # (T, dim)
    table[:, 0::2] = torch.sin(angles)
    table[:, 1::2] = torch.cos(angles[:, : dim // 2])
    return table
