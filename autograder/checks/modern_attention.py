"""Checks for notebook 09 (attention in today's LLMs): rotary position embedding (RoPE) and
attention with it, grouped-query attention, the sliding-window mask, RMSNorm, the SwiGLU
feed-forward network, and a Llama-style block built from them.

Each public function takes the learner's function or class, runs it on a worked example
(`hidden=False`, the visible test) or on inputs chosen to expose common mistakes
(`hidden=True`, the hidden test), and names the likely mistake when it fails.

Conventions (stated in the notebook): RoPE rotates the neighbouring pairs of features
(2i, 2i+1), as notebook 05's sinusoidal table pairs its columns, by the angle t * theta_i with
theta_i = base^(-2i/d); a pair (a, b) becomes (a cos - b sin, a sin + b cos). Query head j of
grouped-query attention reads key/value head j // (num_heads // num_kv_heads), as in
`F.scaled_dot_product_attention(..., enable_gqa=True)`. Modules are checked through their own
weights, and known mistakes are re-computed from the same weights.
"""

from __future__ import annotations

import contextlib
import io

import torch
import torch.nn.functional as F
from torch import nn

from .. import blocks
from ..blocks import MultiHeadAttention, attention, causal_mask, merge_heads, split_heads
from .cascade import RANDOM_HINT, diagnosis, earlier_mistake, gives_random_output
from .core import Case, ExerciseFailed, Mistake, build, check, generator, isolated, learner_facing, randn, require
from .forbidden import MULTIHEAD, RMS_NORM, SDPA, forbids

# The finished pieces this notebook builds on (imported by the notebook), which its answers may use.
_ATTENTION_BLOCKS = (blocks.split_heads, blocks.merge_heads, blocks.scaled_dot_product_attention, blocks.attention)

_sdpa = F.scaled_dot_product_attention  # bound before any learner code runs
_silu, _sigmoid, _relu, _gelu = F.silu, torch.sigmoid, torch.relu, F.gelu
_Tensor = torch.Tensor


# ---------------------------------------------------------------- RoPE
def _thetas(d, base=10000.0, exponent="2i/d"):
    """Per-pair angular frequencies, float64, shape (d/2,)."""
    i = torch.arange(d // 2, dtype=torch.float64)
    power = {"2i/d": 2 * i / d, "i/d": i / d, "4i/d": 4 * i / d, "zero": 0 * i}[exponent]
    return base ** (-power)


def _rope(x, positions, base=10000.0, *, pairing="interleaved", exponent="2i/d", direction=1,
          multiply=False, per_column=False):
    """Rotate the feature pairs of x (..., n, d) by positions (n,) * theta; switches reproduce
    the classic mistakes. Computed in float64, returned in x's dtype."""
    d = x.shape[-1]
    thetas = _thetas(d, base, exponent)  # (d/2,)
    if multiply:
        thetas = 1 / thetas
    t = torch.as_tensor(positions).to(torch.float64)[:, None]  # (n, 1)
    if per_column:  # every column j its own frequency base^(-j/d)
        angles = t * base ** (-torch.arange(d, dtype=torch.float64) / d)  # (n, d)
        first, second = angles[:, 0::2], angles[:, 1::2]
    else:
        first = second = t * thetas  # (n, d/2)
    xd = x.to(torch.float64)
    if pairing == "interleaved":
        a, b = xd[..., 0::2], xd[..., 1::2]  # (..., n, d/2)
    else:
        a, b = xd[..., : d // 2], xd[..., d // 2:]
    s = direction
    ra = a * first.cos() - s * b * first.sin()
    rb = a * (s * second.sin()) + b * second.cos()
    if pairing == "interleaved":
        out = torch.stack([ra, rb], dim=-1).flatten(-2)  # (..., n, d)
    else:
        out = torch.cat([ra, rb], dim=-1)
    return out.to(x.dtype)


def rope(fn, hidden=False):
    ones = torch.tensor([[1.0, 0.0, 1.0, 0.0]] * 3)  # (3, 4)
    cases = [
        Case("x = [1, 0, 1, 0] at positions 0, 1, 2 (d = 4, so theta = [1, 0.01])",
             (ones, torch.arange(3))),
        Case("5 random tokens of 8 features at positions 0..4", (randn(5, 8, seed=900), torch.arange(5))),
    ]
    if hidden:
        cases = [
            Case("heads: x of shape (batch=2, heads=3, n=6, d_head=8), positions 0..5",
                 (randn(2, 3, 6, 8, seed=901), torch.arange(6))),
            Case("positions that do not start at 0: [7, 8, 9, 10] (a continued sequence), d = 6",
                 (randn(4, 6, seed=902), torch.tensor([7, 8, 9, 10]))),
            Case("d = 2: a single pair, positions [0, 3, 1]", (randn(3, 2, seed=903), torch.tensor([0, 3, 1]))),
            Case("base = 500 passed explicitly, d = 8, positions 0..3",
                 (randn(4, 8, seed=904), torch.arange(4)), {"base": 500.0}),
            Case("d = 16, positions 0..9, large angles for the fast pairs",
                 (randn(10, 16, seed=905), torch.arange(10) * 3)),
        ]

    def variant(**how):
        return lambda x, positions, base=10000.0: _rope(x, positions, base, **how)

    mistakes = [
        Mistake("you paired feature i with feature i + d/2 (the 'rotate_half' layout of GPT-NeoX and "
                "Hugging Face's Llama); this notebook pairs neighbours, features 2i and 2i+1 "
                "(x[..., 0::2] with x[..., 1::2]), as notebook 05's table does", variant(pairing="halves")),
        Mistake("theta has the wrong exponent: you used base^(-i/d) with i the pair index; it is "
                "theta_i = base^(-2i/d), so the slowest pair turns at about 1/base per position",
                variant(exponent="i/d")),
        Mistake("theta has the wrong exponent: you doubled the pair index twice "
                "(2 * torch.arange(0, d, 2) / d is 4i/d); theta_i = base^(-2i/d)", variant(exponent="4i/d")),
        Mistake("you gave every column j its own frequency base^(-j/d); both features of pair i turn "
                "together by one angle, t * base^(-2i/d)", variant(per_column=True)),
        Mistake("every pair turned by the same angle t: theta_i = base^(-2i/d) differs from pair to "
                "pair (did an integer division make the exponent 0?)", variant(exponent="zero")),
        Mistake("you multiplied by base^(2i/d) instead of dividing: theta_i = base^(-2i/d) shrinks "
                "along the pairs", variant(multiply=True)),
        Mistake("you rotated the wrong way: the pair (a, b) becomes (a cos - b sin, a sin + b cos)",
                variant(direction=-1)),
        Mistake("you ignored `positions` and used 0, 1, ..., n-1; rotate token j by positions[j]",
                lambda x, positions, base=10000.0: _rope(x, torch.arange(x.shape[-2]), base)),
        Mistake("you ignored the `base` argument and always used 10000",
                lambda x, positions, base=10000.0: _rope(x, positions)),
    ]
    check("rope", fn, _rope, cases, mistakes)


# ---------------------------------------------------------------- attention with RoPE
def _rope_attention(x, w_q, w_k, w_v, mask=None, *, where="qk", before=False, scaled=True, pairing="interleaved",
                    rotate=None, keys_T=False):
    """One head of self-attention with RoPE on the queries and keys (positions 0..n-1); `rotate`
    replaces the reference rope (the learner's own, to name a failure caused by exercise 1)."""
    positions = torch.arange(x.shape[-2])
    if rotate is None:
        rot = lambda t: _rope(t, positions, pairing=pairing)  # noqa: E731
    else:
        rot = lambda t: rotate(t, positions)  # noqa: E731
    if before:
        xr = rot(x)
        q, k, v = xr @ w_q, xr @ w_k, x @ w_v
        if where == "qkv_before":
            v = xr @ w_v
    else:
        q, k, v = x @ w_q, x @ w_k, x @ w_v  # (..., n, d_head)
        if "q" in where:
            q = rot(q)
        if "k" in where:
            k = rot(k)
        if "v" in where:
            v = rot(v)
    if not scaled:
        q = q * q.shape[-1] ** 0.5  # undoes attention's 1 / sqrt(d_k)
    if keys_T:  # k.T reverses every axis (permute does it without .T's deprecation warning)
        scores = q @ k.permute(*reversed(range(k.dim()))) / q.shape[-1] ** 0.5
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return torch.softmax(scores, dim=-1) @ v
    return attention(q, k, v, mask)[0]


@forbids(allow=_ATTENTION_BLOCKS[2:])
def rope_attention(fn, hidden=False):
    w = (randn(6, 4, seed=910), randn(6, 4, seed=911), randn(6, 4, seed=912))
    cases = [Case("2 sequences of 5 tokens, d_model = 6, d_k = d_v = 4, no mask", (randn(2, 5, 6, seed=913), *w))]
    if hidden:
        w2 = (randn(8, 6, seed=914), randn(8, 6, seed=915), randn(8, 4, seed=916))
        cases = [
            Case("causal mask, 7 tokens, d_model = 8, d_k = 6, d_v = 4",
                 (randn(2, 7, 8, seed=917), *w2), {"mask": causal_mask(7)}),
            Case("a single sequence (2-D x: 6 tokens x 8 features), no mask", (randn(6, 8, seed=918), *w2)),
            Case("3 sequences of 4 tokens, d_model = 6, d_k = d_v = 4", (randn(3, 4, 6, seed=919), *w)),
        ]

    def variant(**how):
        return lambda x, w_q, w_k, w_v, mask=None: _rope_attention(x, w_q, w_k, w_v, mask, **how)

    mistakes = [
        *earlier_mistake(fn, "rope", rope, "exercise 1", lambda r: variant(rotate=r)),
        Mistake("you rotated the values too: RoPE rotates only the queries and the keys, whose dot "
                "product is the score; the values carry content and stay as they are", variant(where="qkv")),
        Mistake("you rotated x before the projections (rope(x) @ w_q); rotate after them: "
                "q = rope(x @ w_q, positions), k = rope(x @ w_k, positions). A projection between the "
                "rotations destroys the relative-position property", variant(before=True)),
        Mistake("you rotated x before all three projections (rope(x) @ w_q, rope(x) @ w_k, rope(x) @ w_v); "
                "rotate the queries and keys after their projections, and leave the values alone",
                variant(before=True, where="qkv_before")),
        Mistake("you rotated only the queries: rotate the keys as well, so that the score depends on "
                "the difference of their positions", variant(where="q")),
        Mistake("you rotated only the keys: rotate the queries as well", variant(where="k")),
        Mistake("you did not rotate anything: apply rope to q and k", variant(where="")),
        Mistake("you did not scale the scores by 1 / sqrt(d_k)", variant(scaled=False)),
        Mistake("you transposed the keys with .T: on a batch (batch, n, d_k) .T reverses all three axes; "
                "swap only the last two, k.transpose(-2, -1)", variant(keys_T=True)),
        Mistake("you ignored the mask: pass it on to the attention", lambda x, w_q, w_k, w_v, mask=None:
                _rope_attention(x, w_q, w_k, w_v, None)),
    ]
    check("rope_attention", fn, _rope_attention, cases, mistakes)


# ---------------------------------------------------------------- grouped-query attention
def _gqa(module, x, mask, positions, *, num_heads, num_kv_heads, mapping="interleave", rot="heads",
         use_mask=True, rotate=_rope, scale="d_head"):
    """Grouped-query attention computed from the weights of a module; switches reproduce mistakes
    (`rotate`: the learner's own rope, to name a failure caused by exercise 1)."""
    q = split_heads(module.w_q(x), num_heads)  # (b, h, n, d_head)
    k = split_heads(module.w_k(x), num_kv_heads)  # (b, kv, n, d_head)
    v = split_heads(module.w_v(x), num_kv_heads)  # (b, kv, n, d_head)
    if positions is not None:
        if rot == "heads":
            q, k = rotate(q, positions), rotate(k, positions)
        elif rot == "values":
            q, k, v = _rope(q, positions), _rope(k, positions), _rope(v, positions)
        elif rot == "whole":  # rotated the (b, n, embed) projections before splitting heads
            q = split_heads(_rope(module.w_q(x), positions), num_heads)
            k = split_heads(_rope(module.w_k(x), positions), num_kv_heads)
        elif rot == "input":
            xr = _rope(x, positions)
            q, k = split_heads(module.w_q(xr), num_heads), split_heads(module.w_k(xr), num_kv_heads)
    group = num_heads // num_kv_heads
    if mapping == "interleave":
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)  # (b, h, n, d_head)
    else:  # tiled: query head j reads kv head j % num_kv_heads
        k, v = k.repeat(1, group, 1, 1), v.repeat(1, group, 1, 1)
    if scale == "d_model":  # scores divided by sqrt(embed_dim) instead of sqrt(d_head)
        q = q * (q.shape[-1] / x.shape[-1]) ** 0.5
    out = attention(q, k, v, mask if use_mask else None)[0]  # (b, h, n, d_head)
    return module.w_o(merge_heads(out))  # (b, n, embed)


def _gqa_reference(module, x, mask, positions, num_heads, num_kv_heads):
    """PyTorch's own grouped-query attention (or notebook 04's MultiHeadAttention when every
    query head has its own key/value head), fed with the module's weights."""
    if num_kv_heads == num_heads and positions is None:
        embed = x.shape[-1]
        with torch.random.fork_rng(devices=[]):
            mha = MultiHeadAttention(embed, num_heads, bias=module.w_q.bias is not None)
        with torch.no_grad():
            for name in ("w_q", "w_k", "w_v", "w_o"):
                getattr(mha, name).load_state_dict(getattr(module, name).state_dict())
        return mha(x, x, x, mask)
    q = split_heads(module.w_q(x), num_heads)  # (b, h, n, d_head)
    k = split_heads(module.w_k(x), num_kv_heads)  # (b, kv, n, d_head)
    v = split_heads(module.w_v(x), num_kv_heads)  # (b, kv, n, d_head)
    if positions is not None:
        q, k = _rope(q, positions), _rope(k, positions)
    out = _sdpa(q, k, v, attn_mask=mask, enable_gqa=True)  # (b, h, n, d_head)
    return module.w_o(merge_heads(out))


def _build_gqa(cls, embed, heads, kv, seed):
    call = f"GroupedQueryAttention(embed_dim={embed}, num_heads={heads}, num_kv_heads={kv})"
    module = build(cls, "GroupedQueryAttention", (embed, heads, kv), {}, seed=seed, call=call)
    _check_gqa_parts(module, call, embed, heads, kv)
    return module.eval()


def _check_gqa_parts(module, call, embed, heads, kv):
    d_head = embed // heads
    layers = {name: require(module, call, name, nn.Linear, "an nn.Linear") for name in ("w_q", "w_k", "w_v", "w_o")}
    out = {name: layer.out_features for name, layer in layers.items()}
    if kv < heads and out["w_q"] == kv * d_head and out["w_k"] == embed:
        raise ExerciseFailed(
            f"{call}: you shared the queries instead of the keys and values: w_q maps to {out['w_q']} "
            f"features and w_k to {out['w_k']}. Every query head keeps its own queries (w_q: {embed} -> "
            f"{embed}); it is the keys and values that are shared, w_k and w_v: {embed} -> "
            f"num_kv_heads * d_head = {kv * d_head}")
    for name in ("w_k", "w_v"):
        if kv < heads and out[name] == embed:
            raise ExerciseFailed(
                f"{call}: the projection {name} still has full width ({embed} -> {embed}); with "
                f"{kv} key/value heads of width d_head = {d_head} it must map {embed} -> "
                f"num_kv_heads * d_head = {kv * d_head}. The narrow projection is the whole saving: "
                "it is what goes into the KV cache")
    for name, layer in layers.items():
        if layer.bias is not None:
            raise ExerciseFailed(f"{call}: {name} has a bias; the projections are bias-free, as in Llama: "
                                 f"nn.Linear(..., bias=False)")
    expected = {"w_q": embed, "w_k": kv * d_head, "w_v": kv * d_head, "w_o": embed}
    for name, width in expected.items():
        if out[name] != width or layers[name].in_features != embed:
            raise ExerciseFailed(f"{call}: {name} should be nn.Linear({embed}, {width}), but it maps "
                                 f"{layers[name].in_features} -> {out[name]}")


@forbids(SDPA, MULTIHEAD, allow=_ATTENTION_BLOCKS)
def grouped_query_attention(cls, hidden=False):
    name = "GroupedQueryAttention"
    specs = [
        ((16, 4, 2), (randn(2, 5, 16, seed=930), None, None),
         "embed_dim=16, 4 query heads sharing 2 key/value heads, 2 sequences of 5 tokens"),
        ((16, 4, 4), (randn(2, 5, 16, seed=931), None, None),
         "num_kv_heads = num_heads = 4: must equal notebook 04's MultiHeadAttention with the same weights"),
    ]
    if hidden:
        specs = [
            ((24, 6, 3), (randn(2, 7, 24, seed=932), causal_mask(7), None),
             "embed_dim=24, 6 query heads in 3 groups of 2, causal mask, 7 tokens"),
            ((16, 4, 1), (randn(3, 4, 16, seed=933), None, None),
             "multi-query attention: 4 query heads and a single key/value head"),
            ((32, 8, 2), (randn(1, 6, 32, seed=934), causal_mask(6), torch.arange(6)),
             "8 query heads, 2 key/value heads, causal, with RoPE at positions 0..5"),
            ((16, 4, 2), (randn(2, 5, 16, seed=935), None, torch.tensor([3, 4, 5, 6, 7])),
             "RoPE at positions 3..7 (a continued sequence), no mask"),
            ((12, 3, 3), (randn(2, 4, 12, seed=936), causal_mask(4), None),
             "num_kv_heads = num_heads = 3 with a causal mask: equals MultiHeadAttention"),
        ]
    cases = []
    for i, ((embed, heads, kv), (x, mask, positions), label) in enumerate(specs):
        module = _build_gqa(cls, embed, heads, kv, 940 + i)
        cases.append(Case(label, (module, x, mask, positions, heads, kv)))

    def learner(module, x, mask, positions, num_heads, num_kv_heads):
        if positions is None:
            return module(x, mask) if mask is not None else module(x)
        return module(x, mask, positions)

    def variant(**how):
        return lambda module, x, mask, positions, num_heads, num_kv_heads: _gqa(
            module, x, mask, positions, num_heads=num_heads, num_kv_heads=num_kv_heads, **how)

    mistakes = [
        *earlier_mistake(cls, "rope", rope, "exercise 1", lambda r: variant(rotate=r)),
        Mistake("your query heads read the wrong key/value heads: k.repeat(1, group, 1, 1) tiles the "
                "heads (query head j reads kv head j % num_kv_heads); the groups are consecutive, query "
                "head j reads kv head j // group: k.repeat_interleave(group, dim=1)", variant(mapping="tile")),
        Mistake("you rotated the values too: RoPE rotates only queries and keys", variant(rot="values")),
        Mistake("you rotated the whole (batch, n, embed_dim) projection before splitting it into heads: "
                "the frequencies then use d = embed_dim. Split first, then rotate each head's "
                "(batch, heads, n, d_head) queries and keys, with d = d_head", variant(rot="whole")),
        Mistake("you rotated x before the projections; rotate the projected queries and keys",
                variant(rot="input")),
        Mistake("you ignored `positions`: when it is given, rotate each head's queries and keys with "
                "rope(q, positions) and rope(k, positions)", variant(rot="none")),
        Mistake("you ignored the mask: pass it on to the attention", variant(use_mask=False)),
        Mistake("you scaled the scores by sqrt(embed_dim); each head's dot products have d_head = "
                "embed_dim / num_heads terms, so divide by sqrt(d_head)", variant(scale="d_model")),
    ]
    try:
        check(name, learner, _gqa_reference, cases, mistakes)
    except ExerciseFailed:  # only a failing answer pays for the randomness probe
        if gives_random_output(learner, *cases[0].args):
            raise ExerciseFailed(f"{name} is not right on the input: {cases[0].label}.\n"
                                 f"  Likely mistake: {RANDOM_HINT}") from None
        raise


# ---------------------------------------------------------------- sliding window
def _window(n, window, *, kind="right"):
    i = torch.arange(n)[:, None]  # (n, 1) query positions
    j = torch.arange(n)[None, :]  # (1, n) key positions
    if kind == "right":
        return (j <= i) & (i - j < window)
    if kind == "one_more":
        return (j <= i) & (i - j <= window)
    if kind == "one_less":
        return (j <= i) & (i - j < window - 1)
    if kind == "no_causal":
        return i - j < window
    if kind == "symmetric":
        return (i - j).abs() < window
    if kind == "symmetric_wide":
        return (i - j).abs() <= window
    if kind == "future":
        return (j >= i) & (j - i < window)
    if kind == "causal_only":
        return j <= i
    if kind == "band_only":
        return (i - j).abs() < window
    raise ValueError(kind)


def sliding_window_mask(fn, hidden=False):
    __tracebackhide__ = True
    if not callable(fn):
        raise ExerciseFailed(f"sliding_window_mask should be a function, but it is a {type(fn).__name__}")
    cases = [Case("n = 6 tokens, window = 3", (6, 3))]
    if hidden:
        cases = [
            Case("n = 10, window = 4", (10, 4)),
            Case("window = 1: each token sees only itself", (5, 1)),
            Case("a window longer than the sequence (n = 4, window = 9): plain causal attention", (4, 9)),
            Case("n = 12, window = 5", (12, 5)),
        ]
    for case in cases:
        try:
            with isolated(0):
                got = fn(*case.args)
        except NotImplementedError:
            raise
        except Exception:
            continue  # check() reports the error
        if isinstance(got, _Tensor) and got.dtype != torch.bool:
            raise ExerciseFailed(
                f"sliding_window_mask({', '.join(map(str, case.args))}) returned a tensor of dtype {got.dtype}; "
                "a mask is a bool tensor, True where a query may attend")

    def as_numbers(mask):  # the comparison reports wrong entries of numbers, not of bools
        return mask.float() if isinstance(mask, _Tensor) and mask.dtype == torch.bool else mask

    def variant(kind):
        return lambda n, window: as_numbers(_window(n, window, kind=kind))

    mistakes = [
        Mistake("off by one: a query sees `window` keys, itself included (keys i - window + 1 .. i); "
                "yours sees window + 1. Use i - j < window, not i - j <= window", variant("one_more")),
        Mistake("off by one: a query sees `window` keys, itself included (keys i - window + 1 .. i); "
                "yours sees window - 1", variant("one_less")),
        Mistake("your window is not combined with causality: a query also sees every later key. "
                "Require j <= i as well as i - j < window", variant("no_causal")),
        Mistake("your window is symmetric (|i - j| < window): it lets a query see the next tokens too. "
                "A causal sliding window looks back only: j <= i and i - j < window", variant("symmetric")),
        Mistake("your window is symmetric and one too wide (|i - j| <= window); look back only: "
                "j <= i and i - j < window", variant("symmetric_wide")),
        Mistake("your window looks forward (keys i .. i + window - 1); it looks back: keys "
                "i - window + 1 .. i (the mask is lower-triangular, like causal_mask)", variant("future")),
        Mistake("you returned the plain causal mask: also drop the keys more than window - 1 "
                "positions back (i - j < window)", variant("causal_only")),
    ]
    check("sliding_window_mask", lambda n, window: as_numbers(fn(n, window)),
          lambda n, window: as_numbers(_window(n, window)), cases, mistakes)


# ---------------------------------------------------------------- RMSNorm
def _rms_norm(x, weight, eps=1e-6):
    return F.rms_norm(x, (x.shape[-1],), weight, eps)


@forbids(RMS_NORM)
def rms_norm(fn, hidden=False):
    tokens = torch.tensor([[3.0, 4.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0]])  # (2, 4)
    cases = [
        Case("the tokens [3, 4, 0, 0] (rms = 2.5) and [1, 2, 3, 4], weight = 1", (tokens, torch.ones(4))),
        Case("a batch (2, 3, 4) with weight = [1, 2, 0.5, -1]",
             (randn(2, 3, 4, seed=950), torch.tensor([1.0, 2.0, 0.5, -1.0]))),
    ]
    if hidden:
        w6 = 1 + 0.5 * randn(6, seed=951)
        cases = [
            Case("a batch of 2 sequences x 5 tokens x 6 features, shifted by +3 (the mean is far from 0)",
                 (3.0 + randn(2, 5, 6, seed=952), w6)),
            Case("tiny features (~0.001: mean square ~1e-6, as small as eps)", (1e-3 * randn(3, 6, seed=953), w6)),
            Case("eps = 0.1 passed explicitly", (randn(4, 6, seed=954), w6), {"eps": 0.1}),
            Case("a token of zeros next to an ordinary one", (torch.stack([torch.zeros(6), randn(6, seed=955)]), w6)),
            Case("4-D input (batch, heads, n, d)", (randn(2, 2, 3, 6, seed=956), w6)),
        ]

    def ms(x):
        return (x * x).mean(-1, keepdim=True)

    mistakes = [
        Mistake("you subtracted the mean: that is layer norm. RMSNorm does not centre the features; it "
                "only divides by their root mean square, sqrt(mean(x^2) + eps)",
                lambda x, w, eps=1e-6: F.layer_norm(x, (x.shape[-1],), w, None, eps)),
        Mistake("you put eps outside the square root (sqrt(mean(x^2)) + eps); it belongs inside: "
                "sqrt(mean(x^2) + eps). The two differ when the features are tiny",
                lambda x, w, eps=1e-6: x / (ms(x).sqrt() + eps) * w),
        Mistake("you summed the squares instead of averaging them (that is the L2 norm, x.norm()); "
                "RMS is sqrt(mean(x^2) + eps), the L2 norm divided by sqrt(d)",
                lambda x, w, eps=1e-6: x / torch.sqrt((x * x).sum(-1, keepdim=True) + eps) * w),
        Mistake("you summed the squares instead of averaging them (that is the L2 norm, x.norm()); "
                "RMS is sqrt(mean(x^2) + eps), the L2 norm divided by sqrt(d)",
                lambda x, w, eps=1e-6: x / (x.norm(dim=-1, keepdim=True) + eps) * w),
        Mistake("you divided by the standard deviation (x.std()); RMSNorm uses the root mean square "
                "sqrt(mean(x^2) + eps), with no mean subtracted anywhere",
                lambda x, w, eps=1e-6: x / (x.std(-1, keepdim=True) + eps) * w),
        Mistake("you normalised over the wrong axis: the mean of the squares is taken over each token's "
                "features, the last axis: mean(x * x, dim=-1, keepdim=True)",
                lambda x, w, eps=1e-6: x / torch.sqrt((x * x).mean(0, keepdim=True) + eps) * w),
        Mistake("you normalised over the wrong axis: the mean of the squares is taken over each token's "
                "features, the last axis: mean(x * x, dim=-1, keepdim=True)",
                lambda x, w, eps=1e-6: x / torch.sqrt((x * x).mean(-2, keepdim=True) + eps) * w),
        Mistake("you normalised over the wrong axis: the mean of the squares is taken over each token's "
                "features, the last axis: mean(x * x, dim=-1, keepdim=True)",
                lambda x, w, eps=1e-6: x / torch.sqrt((x * x).mean() + eps) * w),
        Mistake("you divided by the mean square; take its square root: x / sqrt(mean(x^2) + eps)",
                lambda x, w, eps=1e-6: x / (ms(x) + eps) * w),
        Mistake("you forgot the weight: multiply the normalised x by weight",
                lambda x, w, eps=1e-6: x / torch.sqrt(ms(x) + eps)),
        Mistake("you averaged over the token axis (dim=-2); RMSNorm normalises each token over its own "
                "features, dim=-1", lambda x, w, eps=1e-6: x / torch.sqrt((x * x).mean(-2, keepdim=True) + eps) * w),
        Mistake("you left out eps: a token of zeros gives 0 / 0 = NaN",
                lambda x, w, eps=1e-6: x / ms(x).sqrt() * w),
        Mistake("you ignored the `eps` argument and always used 1e-6",
                lambda x, w, eps=1e-6: _rms_norm(x, w, 1e-6)),
    ]
    check("rms_norm", fn, _rms_norm, cases, mistakes)


# ---------------------------------------------------------------- SwiGLU
def _swiglu(x, w_gate, w_up, w_down, *, act=_silu, branch="gate", combine="mul"):
    gate, up = x @ w_gate, x @ w_up  # (..., d_ff) each
    if branch == "up":
        gate, up = up, gate
    if branch == "both":
        return (act(gate) * act(up)) @ w_down
    if combine == "after":
        return act(gate * up) @ w_down
    if combine == "add":
        return (act(gate) + up) @ w_down
    return (act(gate) * up) @ w_down  # (..., d_model)


def swiglu(fn, hidden=False):
    w = (randn(4, 6, seed=960), randn(4, 6, seed=961), randn(6, 4, seed=962))
    cases = [Case("2 sequences of 3 tokens, d_model = 4, d_ff = 6", (randn(2, 3, 4, seed=963), *w))]
    if hidden:
        w2 = (randn(8, 12, seed=964), randn(8, 12, seed=965), randn(12, 8, seed=966))
        cases = [
            Case("a single token (1, 8), d_ff = 12, inputs spread over [-6, 6] (where SiLU, GELU and ReLU differ)",
                 (6 * torch.tanh(randn(1, 8, seed=967)), *w2)),
            Case("a batch (2, 5, 8), d_ff = 12", (randn(2, 5, 8, seed=968), *w2)),
            Case("d_ff = d_model = 4", (randn(3, 4, seed=969), randn(4, 4, seed=970), randn(4, 4, seed=971),
                                        randn(4, 4, seed=972))),
        ]

    def variant(**how):
        return lambda x, w_gate, w_up, w_down: _swiglu(x, w_gate, w_up, w_down, **how)

    mistakes = [
        Mistake("the gate is on the wrong branch: SiLU goes on x @ w_gate, and multiplies x @ w_up: "
                "(silu(x @ w_gate) * (x @ w_up)) @ w_down", variant(branch="up")),
        Mistake("SiLU is missing: without it the gate is just a product of two linear maps (a "
                "'bilinear' layer); use F.silu(x @ w_gate) * (x @ w_up)", variant(act=lambda h: h)),
        Mistake("you used the sigmoid as the gate (that is the original GLU); SwiGLU uses "
                "SiLU(z) = z * sigmoid(z): F.silu", variant(act=_sigmoid)),
        Mistake("you used ReLU (that is ReGLU); SwiGLU uses SiLU(z) = z * sigmoid(z): F.silu", variant(act=_relu)),
        Mistake("you used GELU (that is GeGLU); SwiGLU uses SiLU(z) = z * sigmoid(z): F.silu", variant(act=_gelu)),
        Mistake("you applied SiLU to the product; apply it to the gate branch only: "
                "silu(x @ w_gate) * (x @ w_up)", variant(combine="after")),
        Mistake("you applied SiLU to both branches; only the gate branch x @ w_gate gets it",
                variant(branch="both")),
        Mistake("you added the two branches; the gate multiplies: silu(x @ w_gate) * (x @ w_up)",
                variant(combine="add")),
    ]
    check("swiglu", fn, _swiglu, cases, mistakes)


# ---------------------------------------------------------------- Llama-style block
def _block(block, x, mask, *, num_heads, num_kv_heads, arrangement="pre", norms=("attn_norm", "ffn_norm"),
           positions="right", causal=True, act=_silu, gate_branch="gate"):
    n = x.shape[-2]
    if mask is None and causal:
        mask = causal_mask(n)
    pos = torch.arange(n) if positions == "right" else None
    norm_a, norm_f = getattr(block, norms[0]), getattr(block, norms[1])
    attend = lambda h: _gqa(block.attn, h, mask, pos, num_heads=num_heads, num_kv_heads=num_kv_heads)  # noqa: E731

    def ffn(h):
        gate, up = block.w_gate(h), block.w_up(h)
        if gate_branch == "up":
            gate, up = up, gate
        return block.w_down(act(gate) * up)

    def norm(module, h):
        return _rms_norm(h, module.weight, module.eps)

    if arrangement == "pre":
        x = x + attend(norm(norm_a, x))
        return x + ffn(norm(norm_f, x))
    if arrangement == "post":
        x = norm(norm_a, x + attend(x))
        return norm(norm_f, x + ffn(x))
    if arrangement == "from_norm":
        h = norm(norm_a, x)
        x = h + attend(h)
        h = norm(norm_f, x)
        return h + ffn(h)
    if arrangement == "no_residual":
        x = attend(norm(norm_a, x))
        return ffn(norm(norm_f, x))
    raise ValueError(arrangement)


def _build_block(cls, d_model, heads, kv, d_ff, seed, eps=1e-6):
    call = f"LlamaBlock(d_model={d_model}, num_heads={heads}, num_kv_heads={kv}, d_ff={d_ff}, eps={eps})"
    block = build(cls, "LlamaBlock", (d_model, heads, kv, d_ff), {"eps": eps}, seed=seed, call=call)
    for name in ("attn_norm", "ffn_norm"):
        norm = require(block, call, name, nn.RMSNorm, f"nn.RMSNorm({d_model}, eps={eps})")
        if norm.weight is None or tuple(norm.weight.shape) != (d_model,):
            raise ExerciseFailed(f"{call}: self.{name} should be nn.RMSNorm({d_model}, eps={eps})")
        if norm.eps != eps:
            raise ExerciseFailed(f"{call}: self.{name} has eps = {norm.eps}; pass the block's eps on: "
                                 f"nn.RMSNorm(d_model, eps=eps)")
    attn = require(block, call, "attn", nn.Module, "your GroupedQueryAttention(d_model, num_heads, num_kv_heads)")
    _check_gqa_parts(attn, call + ".attn", d_model, heads, kv)
    for name, shape in (("w_gate", (d_ff, d_model)), ("w_up", (d_ff, d_model)), ("w_down", (d_model, d_ff))):
        layer = require(block, call, name, nn.Linear, f"nn.Linear with weight of shape {shape}")
        if tuple(layer.weight.shape) != shape:
            raise ExerciseFailed(f"{call}: self.{name}.weight has shape {tuple(layer.weight.shape)}, expected {shape}")
    g = generator(seed + 1)
    with torch.no_grad():
        for name in ("attn_norm", "ffn_norm"):
            getattr(block, name).weight.copy_(1 + 0.3 * torch.randn(d_model, generator=g))
    block.eval()
    # The block runs your GroupedQueryAttention: it must be right first.
    probe = randn(1, 5, d_model, seed=seed + 2)
    with isolated(0):
        try:
            got = attn(probe, causal_mask(5), torch.arange(5))
            want = _gqa_reference(attn, probe, causal_mask(5), torch.arange(5), heads, kv)
            right = isinstance(got, _Tensor) and got.shape == want.shape and torch.allclose(got, want, atol=1e-5)
        except NotImplementedError:
            raise
        except Exception:
            right = False
    if not right:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                grouped_query_attention(type(attn), hidden=True)
            said = ""
        except ExerciseFailed as failure:
            said = f" (its own test says: {diagnosis(failure)})"
        raise ExerciseFailed(f"{call}: self.attn (your GroupedQueryAttention) does not compute grouped-query "
                             f"attention with RoPE correctly; fix the GroupedQueryAttention exercise first{said}")
    return block


@forbids(SDPA, MULTIHEAD, allow=_ATTENTION_BLOCKS)
def llama_block(cls, hidden=False):
    name = "LlamaBlock"
    specs = [((16, 4, 2, 24), (randn(2, 6, 16, seed=980), None),
              "d_model=16, 4 heads sharing 2 key/value heads, d_ff=24, 2 sequences of 6 tokens (causal by default)")]
    if hidden:
        keep = _window(7, 3)  # (7, 7)
        specs = [
            ((24, 6, 2, 40), (randn(2, 7, 24, seed=981), None), "d_model=24, 6 heads, 2 key/value heads, d_ff=40"),
            ((16, 4, 1, 32), (randn(1, 5, 16, seed=982), None), "multi-query: 4 heads, 1 key/value head"),
            ((16, 2, 2, 16), (3.0 + 2.0 * randn(2, 7, 16, seed=983), keep),
             "an explicit sliding-window mask (window 3), inputs with a large mean"),
        ]
    cases = []
    for i, ((d, h, kv, d_ff), (x, mask), label) in enumerate(specs):
        block = _build_block(cls, d, h, kv, d_ff, 990 + 3 * i)
        cases.append(Case(label, (block, x, mask, h, kv)))

    def learner(block, x, mask, num_heads, num_kv_heads):
        return block(x) if mask is None else block(x, mask)

    def variant(**how):
        return lambda block, x, mask, num_heads, num_kv_heads: _block(
            block, x, mask, num_heads=num_heads, num_kv_heads=num_kv_heads, **how)

    mistakes = [
        Mistake("you normalised after the residual addition (post-norm); a Llama block is pre-norm: "
                "x = x + attn(attn_norm(x)), then x = x + ffn(ffn_norm(x))", variant(arrangement="post")),
        Mistake("your residual starts from the normalised x (h = norm(x); x = h + sublayer(h)); it must "
                "carry the raw x: x = x + sublayer(norm(x))", variant(arrangement="from_norm")),
        Mistake("the residual connections are missing: x = x + attn(attn_norm(x)), then "
                "x = x + ffn(ffn_norm(x))", variant(arrangement="no_residual")),
        Mistake("you swapped the two norms: attn_norm goes before the attention, ffn_norm before the "
                "feed-forward network", variant(norms=("ffn_norm", "attn_norm"))),
        Mistake("you used attn_norm for both sublayers; the feed-forward network has its own ffn_norm",
                variant(norms=("attn_norm", "attn_norm"))),
        Mistake("no RoPE: pass the positions 0..n-1 to the attention, self.attn(h, mask, torch.arange(n))",
                variant(positions="none")),
        Mistake("no causal mask: when mask is None the block must use causal_mask(n)", variant(causal=False)),
        Mistake("the feed-forward network uses ReLU; a Llama block uses SwiGLU: "
                "w_down(silu(w_gate(h)) * w_up(h))", variant(act=_relu)),
        Mistake("the gate is on the wrong branch: w_down(silu(w_gate(h)) * w_up(h))", variant(gate_branch="up")),
        Mistake("SiLU is missing from the feed-forward network: w_down(silu(w_gate(h)) * w_up(h))",
                variant(act=lambda h: h)),
    ]
    check(name, learner, lambda block, x, mask, num_heads, num_kv_heads: _block(
        block, x, mask, num_heads=num_heads, num_kv_heads=num_kv_heads), cases, mistakes)


learner_facing(globals())
