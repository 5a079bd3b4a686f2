"""Finished versions of what the notebooks build, for two uses:

- the checks use them as references (a learner's code can never replace them), and
- later notebooks import them instead of repeating earlier solutions.

Each docstring says where the learner built the piece.

Shape vocabulary, used in every docstring and shape comment of the course's code:

    b        batch
    n        queries, or the sequence length (self-attention: n = m)
    m        keys (and values)
    h        heads
    d_k      query/key size      d_v     value size
    d_head   size of one head (d_model / h)
    d_model  model width (`embed_dim` in MultiHeadAttention and nn.MultiheadAttention)
    V        vocabulary size

Conventions: rows are tokens, tensors are batch-first `(b, n, d_model)`, and a boolean `mask`
is True where a query MAY attend to a key (as in `F.scaled_dot_product_attention`).
Note that `nn.MultiheadAttention` uses the opposite convention for its boolean masks.
"""

import math

import torch
from torch import nn


def attention(q, k, v, mask=None):
    """Scaled dot-product attention returning (output, weights); built in notebook 02,
    exercise 5: `scaled_dot_product_attention`, which returns the output only.

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
    """Built in notebook 02, exercise 5: `scaled_dot_product_attention`.

    (..., n, d_k), (..., m, d_k), (..., m, d_v), mask (..., n, m) -> output (..., n, d_v).
    """
    return attention(q, k, v, mask)[0]  # (..., n, d_v)


def causal_mask(n, device=None):
    """(n, n) bool mask, True on and below the diagonal: token i may attend to tokens 0..i.
    Met in notebook 02, section 5, as `torch.ones(n, n, dtype=torch.bool).tril()` (not an exercise)."""
    return torch.ones(n, n, dtype=torch.bool, device=device).tril()  # (n, n)


def split_heads(x, num_heads):
    """Built in notebook 04, exercise 1: `split_heads`.

    (b, n, d_model) -> (b, h, n, d_head) with h = num_heads, d_head = d_model // h; head i gets
    features i * d_head .. (i + 1) * d_head - 1 of every token.
    """
    b, n, d_model = x.shape
    return x.view(b, n, num_heads, d_model // num_heads).transpose(1, 2)  # (b, h, n, d_head)


def merge_heads(x):
    """Built in notebook 04, exercise 2: `merge_heads`, the inverse of `split_heads`.

    (b, h, n, d_head) -> (b, n, h * d_head).
    """
    b, h, n, d_head = x.shape
    return x.transpose(1, 2).reshape(b, n, h * d_head)  # (b, n, d_model)


class MultiHeadAttention(nn.Module):
    """Built in notebook 04, exercise 3: `MultiHeadAttention`.

    Multi-head attention with separate q/k/v projections and an output projection w_o.
    `embed_dim` is d_model (named as in nn.MultiheadAttention); `kdim` and `vdim` are the widths
    of the keys and values (default d_model); `bias=False` gives bias-free projections, as the
    Llama-style models of notebook 09 use.

    forward(query (b, n, d_model), key (b, m, kdim), value (b, m, vdim), mask) -> (b, n, d_model);
    `mask` is bool, broadcastable to (b, h, n, m), True = may attend. The attention weights of
    the last call, (b, h, n, m), are kept in `self.last_weights`.
    """

    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None, bias=True):
        super().__init__()
        assert embed_dim % num_heads == 0, "embed_dim must be divisible by num_heads"
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim, bias=bias)  # d_model -> d_model
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim, bias=bias)  # kdim -> d_model
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim, bias=bias)  # vdim -> d_model
        self.w_o = nn.Linear(embed_dim, embed_dim, bias=bias)  # d_model -> d_model
        self.last_weights = None

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)  # (b, h, n, d_head)
        k = split_heads(self.w_k(key), self.num_heads)  # (b, h, m, d_head)
        v = split_heads(self.w_v(value), self.num_heads)  # (b, h, m, d_head)
        out, self.last_weights = attention(q, k, v, mask)  # (b, h, n, d_head), (b, h, n, m)
        return self.w_o(merge_heads(out))  # (b, n, d_model)


def sinusoidal_encoding(num_positions, dim):
    """Built in notebook 05, exercise 2: `sinusoidal_encoding`.

    The (n, d_model) position table for n = num_positions and d_model = dim (even):
    PE[t, 2i] = sin(t / 10000^(2i / d_model)), PE[t, 2i + 1] = cos(t / 10000^(2i / d_model)).
    """
    positions = torch.arange(num_positions, dtype=torch.float32)[:, None]  # (n, 1)
    rates = 10000.0 ** (-torch.arange(0, dim, 2, dtype=torch.float32) / dim)  # (d_model / 2,)
    angles = positions * rates  # (n, d_model / 2)
    table = torch.zeros(num_positions, dim)  # (n, d_model)
    table[:, 0::2] = torch.sin(angles)  # (n, d_model / 2)
    table[:, 1::2] = torch.cos(angles[:, : dim // 2])  # (n, d_model / 2)
    return table


class GPTBlock(nn.Module):
    """Notebook 06's pre-LN encoder block (exercise 2, `norm_first=True`, no dropout), used with
    a causal mask: the block of a decoder-only (GPT-style) model, as notebook 08 stacks it.

    x = x + self_attn(norm1(x)), then x = x + linear2(relu(linear1(norm2(x)))).
    forward(x (b, n, d_model), mask bool broadcastable to (b, h, n, n), True = may attend)
    -> (b, n, d_model). `self_attn` is a MultiHeadAttention, so `self_attn.last_weights` holds the
    attention weights (b, h, n, n) of the last call.
    """

    def __init__(self, d_model, num_heads, d_ff):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.norm2 = nn.LayerNorm(d_model)
        self.linear1 = nn.Linear(d_model, d_ff)  # d_model -> d_ff
        self.linear2 = nn.Linear(d_ff, d_model)  # d_ff -> d_model

    def feed_forward(self, x):
        """The position-wise network: (..., d_model) -> (..., d_model)."""
        return self.linear2(torch.relu(self.linear1(x)))  # (..., d_model)

    def forward(self, x, mask=None):
        h = self.norm1(x)  # (b, n, d_model)
        x = x + self.self_attn(h, h, h, mask)  # (b, n, d_model)
        return x + self.feed_forward(self.norm2(x))  # (b, n, d_model)
