"""Checks for notebook 04 (multi-head attention): splitting into heads, merging them back, the
full `MultiHeadAttention` module, and counting its FLOPs. `embed_dim` (the argument's name, as in
`nn.MultiheadAttention`) is d_model.

The module check compares the learner's output with references computed from that module's own
weights: `blocks.MultiHeadAttention`
loaded with them and, in the hidden test, `torch.nn.MultiheadAttention(batch_first=True)`
loaded with them too (its boolean masks mean the opposite: True = may NOT attend).
"""

import math

import torch
from torch import nn

from .. import blocks
from .cascade import RANDOM_HINT, earlier_mistake, gives_random_output
from .core import Case, ExerciseFailed, Mistake, build, check, learner_facing, randn, require, require_linear
from .forbidden import MULTIHEAD, forbids

# Bound once, before any learner code runs.
_linear = torch.nn.functional.linear
_softmax = torch.softmax
_TorchMHA = nn.MultiheadAttention

MASKED = float("-inf")


# ---------------------------------------------------------------- split_heads
def _split(x, num_heads):
    return blocks.split_heads(x, num_heads)


def _counting_input(b=1, n=3, d_model=8):
    """The visible tests' input: the numbers 0, 1, 2, ... laid out as (b, n, d_model)."""
    return torch.arange(b * n * d_model, dtype=torch.float32).reshape(b, n, d_model)


def split_heads(fn, hidden=False):
    cases = [Case("the numbers 0..23 as a (1, 3, 8) tensor, split into 2 heads", (_counting_input(), 2))]
    if hidden:
        cases = [
            Case("a random batch of shape (2, 5, 12) split into 3 heads", (randn(2, 5, 12, seed=40), 3)),
            Case("a random batch of shape (3, 4, 8) split into 4 heads (seq == heads, so a reshape "
                 "that skips the transpose gives the right shape)", (randn(3, 4, 8, seed=41), 4)),
            Case("a random batch of shape (2, 3, 6) split into 6 heads of one feature each",
                 (randn(2, 3, 6, seed=42), 6)),
        ]

    def dims(x, h):
        b, n, d_model = x.shape
        return b, n, h, d_model // h

    def no_transpose(x, h):
        b, n, h, d_head = dims(x, h)
        return x.reshape(b, n, h, d_head)

    def straight_reshape(x, h):
        b, n, h, d_head = dims(x, h)
        return x.reshape(b, h, n, d_head)

    def interleaved(x, h):
        b, n, h, d_head = dims(x, h)
        return x.reshape(b, n, d_head, h).permute(0, 3, 1, 2)

    def swapped_last(x, h):
        b, n, h, d_head = dims(x, h)
        return x.reshape(b, n, h, d_head).transpose(2, 3)

    def per_head_transposed(x, h):
        b, n, h, d_head = dims(x, h)
        return x.reshape(b, n, h, d_head).permute(0, 2, 3, 1)

    mistakes = [
        Mistake("you reshaped straight to (batch, heads, seq, d_head): right shape, scrambled values. "
                "A reshape never moves numbers between axes, so each 'head' got pieces of several "
                "tokens. View as (batch, seq, heads, d_head) first, then .transpose(1, 2)",
                straight_reshape),
        Mistake("you split the features but left the heads axis after seq: add .transpose(1, 2) to "
                "get (batch, heads, seq, d_head)", no_transpose),
        Mistake("you split the features as (d_head, heads), so head i got every num_heads-th "
                "feature; head i owns the consecutive block of features i*d_head .. (i+1)*d_head - 1: "
                "view as (batch, seq, heads, d_head)", interleaved),
        Mistake("you swapped the wrong pair of axes: after viewing as (batch, seq, heads, d_head), "
                "swap axes 1 and 2 (seq and heads), not 2 and 3", swapped_last),
        Mistake("your result is (batch, heads, d_head, seq): each head's matrix is transposed. "
                "Swap only seq and heads: .transpose(1, 2)", per_head_transposed),
    ]
    check("split_heads", fn, _split, cases, mistakes)


# ---------------------------------------------------------------- merge_heads
def _merge(x):
    return blocks.merge_heads(x)


def merge_heads(fn, hidden=False):
    cases = [Case("2 heads of shape (1, 2, 3, 4) holding the numbers 0..23 as split_heads(counting, 2) "
                  "arranges them, stored contiguously like an attention output",
                  (_split(_counting_input(), 2).contiguous(),))]
    if hidden:
        cases = [
            Case("a random attention output of shape (2, 4, 4, 3): 4 heads, 4 tokens, d_head = 3",
                 (randn(2, 4, 4, 3, seed=44),)),
            Case("3 heads of a random (2, 5, 12) batch, straight from split_heads (not contiguous)",
                 (_split(randn(2, 5, 12, seed=43), 3),)),
            Case("a single head of shape (2, 1, 5, 6)", (randn(2, 1, 5, 6, seed=45),)),
        ]

    def straight_reshape(x):
        b, h, n, d_head = x.shape
        return x.reshape(b, n, h * d_head)

    def straight_view(x):
        b, h, n, d_head = x.shape
        return x.view(b, n, h * d_head)

    def view_after_transpose(x):
        b, h, n, d_head = x.shape
        return x.transpose(1, 2).view(b, n, h * d_head)

    def swapped_last(x):
        b, h, n, d_head = x.shape
        return x.transpose(2, 3).reshape(b, n, h * d_head)

    def interleaved(x):
        b, h, n, d_head = x.shape
        return x.permute(0, 2, 3, 1).reshape(b, n, h * d_head)

    def not_merged(x):
        return x.transpose(1, 2)

    scrambled = ("you reshaped (batch, heads, seq, d_head) straight to (batch, seq, embed): right shape, "
                 "scrambled values (tokens get mixed up). Move the heads axis back first: "
                 ".transpose(1, 2), then reshape")
    view_hint = ("view() cannot merge the axes of a transposed (non-contiguous) tensor: use "
                 ".reshape(...) or call .contiguous() before .view(...)")
    mistakes = [
        Mistake(scrambled, straight_reshape),
        Mistake("you viewed (batch, heads, seq, d_head) straight as (batch, seq, embed) without moving the "
                "heads axis back: on a contiguous tensor that scrambles the tokens, and on a transposed one "
                "view() raises. Move the heads axis back first, .transpose(1, 2), then .reshape(...)",
                straight_view),
        Mistake(view_hint, view_after_transpose),
        Mistake("you swapped the wrong pair of axes: swap heads and seq (axes 1 and 2), not "
                "seq and d_head (axes 2 and 3)", swapped_last),
        Mistake("you interleaved the heads' features (feature j of every head side by side); "
                "concatenating heads puts all of head 0's d_head features first, then head 1's: "
                ".transpose(1, 2) before the reshape", interleaved),
        Mistake("you moved the heads axis back but did not merge it: reshape (batch, seq, heads, d_head) "
                "to (batch, seq, heads * d_head)", not_merged),
    ]
    check("merge_heads", fn, _merge, cases, mistakes)


# ---------------------------------------------------------------- MultiHeadAttention
def _project(layer, x):
    return _linear(x, layer.weight, layer.bias)


def _variant(module, num_heads, query, key, value, mask=None, *, heads=None, keys_from="key",
             values_from="value", split=_split, merge=_merge, scale="d_head", mask_mode="fill",
             nan_safe=True, softmax_dim=-1, out_proj=True, keys_T=False):
    """Multi-head attention from `module`'s own weights, with one thing done right or wrong."""
    h = heads or num_heads
    inputs = {"query": query, "key": key, "value": value}
    q = split(_project(module.w_q, query), h)  # (b, h, n, d_head)
    k = split(_project(module.w_k, inputs[keys_from]), h)  # (b, h, m, d_head)
    v = split(_project(module.w_v, inputs[values_from]), h)  # (b, h, m, d_head)
    d_head, d_model = q.shape[-1], module.w_q.weight.shape[0]
    divisor = {"d_head": math.sqrt(d_head), "d_model": math.sqrt(d_model), "none": 1.0,
               "d_head_squared": d_head}[scale]
    if keys_T:  # k.T reverses every axis; permute does the same without .T's deprecation warning
        scores = q @ k.permute(*reversed(range(k.dim()))) / divisor
    else:
        scores = q @ k.transpose(-2, -1) / divisor  # (b, h, n, m)
    if mask is not None and mask_mode == "fill":
        scores = scores.masked_fill(~mask, MASKED)
    elif mask is not None and mask_mode == "inverted":
        scores = scores.masked_fill(mask, MASKED)
    elif mask is not None and mask_mode == "zero":
        scores = scores.masked_fill(~mask, 0.0)
    elif mask is not None and mask_mode == "finite":  # the Annotated Transformer's mask == 0 -> -1e9
        scores = scores.masked_fill(~mask, -1e9)
    weights = _softmax(scores, dim=softmax_dim)  # (b, h, n, m)
    if nan_safe:
        weights = weights.nan_to_num(0.0)
    if mask is not None and mask_mode == "after":
        weights = weights * mask
    out = merge(weights @ v)  # (b, n, d_model)
    return _project(module.w_o, out) if out_proj else out


def _reference(module, num_heads, query, key, value, mask=None):
    """blocks.MultiHeadAttention carrying a copy of the learner module's weights."""
    d_model = module.w_q.weight.shape[0]
    reference = blocks.MultiHeadAttention(d_model, num_heads, kdim=module.w_k.weight.shape[1],
                                          vdim=module.w_v.weight.shape[1])
    with torch.no_grad():
        for name in ("w_q", "w_k", "w_v", "w_o"):
            getattr(reference, name).weight.copy_(getattr(module, name).weight)
            getattr(reference, name).bias.copy_(getattr(module, name).bias)
        return reference(query, key, value, mask)


def _torch_attention_module(module, num_heads):
    """torch.nn.MultiheadAttention(batch_first=True) holding a copy of `module`'s weights."""
    d_model, kdim, vdim = module.w_q.weight.shape[0], module.w_k.weight.shape[1], module.w_v.weight.shape[1]
    theirs = _TorchMHA(d_model, num_heads, batch_first=True, kdim=kdim, vdim=vdim)
    with torch.no_grad():
        if theirs.in_proj_weight is not None:  # kdim == vdim == d_model: one stacked matrix
            theirs.in_proj_weight.copy_(torch.cat([module.w_q.weight, module.w_k.weight, module.w_v.weight]))
        else:
            theirs.q_proj_weight.copy_(module.w_q.weight)
            theirs.k_proj_weight.copy_(module.w_k.weight)
            theirs.v_proj_weight.copy_(module.w_v.weight)
        theirs.in_proj_bias.copy_(torch.cat([module.w_q.bias, module.w_k.bias, module.w_v.bias]))
        theirs.out_proj.weight.copy_(module.w_o.weight)
        theirs.out_proj.bias.copy_(module.w_o.bias)
    return theirs


def _torch_reference(module, num_heads, query, key, value, mask=None):
    """The same computation by torch.nn.MultiheadAttention; our mask (True = may attend) is
    inverted into torch's (True = may NOT attend), one (n, m) slice per batch item and head:
    attn_mask (b * h, n, m)."""
    theirs = _torch_attention_module(module, num_heads)
    attn_mask = None
    if mask is not None:
        b, n, m = query.shape[0], query.shape[1], key.shape[1]
        attn_mask = ~mask.expand(b, num_heads, n, m).reshape(b * num_heads, n, m)
    with torch.no_grad():
        return theirs(query, key, value, attn_mask=attn_mask, need_weights=False)[0]


def _built_module(cls, embed_dim, num_heads, kdim=None, vdim=None, seed=0):
    """The learner's MultiHeadAttention, built under a fixed seed, with its four projections checked."""
    __tracebackhide__ = True
    widths = {"kdim": kdim, "vdim": vdim} if kdim or vdim else {}
    module = build(cls, "MultiHeadAttention", (embed_dim, num_heads), widths, seed=seed)
    call = f"MultiHeadAttention({embed_dim}, {num_heads}" + "".join(f", {k}={v}" for k, v in widths.items()) + ")"
    sizes = {"w_q": embed_dim, "w_k": kdim or embed_dim, "w_v": vdim or embed_dim, "w_o": embed_dim}
    inputs = {"w_k": ("kdim", "keys"), "w_v": ("vdim", "values")}
    for name, in_features in sizes.items():
        wanted = f"nn.Linear({in_features}, {embed_dim})"
        layer = require(module, call, name, nn.Linear, wanted)
        if name in inputs and in_features != embed_dim and layer.in_features == embed_dim:
            which, role = inputs[name]
            raise ExerciseFailed(f"{call}: `self.{name}` maps {embed_dim} -> {layer.out_features} features, but it "
                                 f"should be {wanted} ({which} was ignored: the {role} have {which} features, "
                                 "not embed_dim)")
        require_linear(module, call, name, in_features, embed_dim, bias=True, how=wanted)
    return module


def _run_module(module, num_heads, query, key, value, mask=None):
    return module(query, key, value) if mask is None else module(query, key, value, mask)


def _padding_mask(lengths, m):
    """(b, 1, 1, m) bool mask, True for the first lengths[i] keys of sequence i."""
    return (torch.arange(m)[None, :] < torch.tensor(lengths)[:, None])[:, None, None, :]


@forbids(MULTIHEAD, allow=(blocks.attention,))
def multi_head_attention(cls, hidden=False):
    __tracebackhide__ = True

    def case(label, d_model, h, n, m, mask=None, kdim=None, vdim=None, cross=True, seed=0):
        module = _built_module(cls, d_model, h, kdim, vdim, seed=seed)
        query = randn(2, n, d_model, seed=50 + seed)  # (b, n, d_model)
        key = randn(2, m, kdim or d_model, seed=60 + seed) if cross else query  # (b, m, kdim)
        value = randn(2, m, vdim or d_model, seed=70 + seed) if cross else query  # (b, m, vdim)
        return Case(label, (module, h, query, key, value, mask))

    cases = [
        case("self-attention on a batch of 2 sequences of 4 tokens, embed_dim=8, 2 heads, no mask",
             8, 2, 4, 4, cross=False),
        case("the same with a causal mask (4, 4)", 8, 2, 4, 4, mask=blocks.causal_mask(4), cross=False),
    ]
    if hidden:
        cases = [
            case("cross-attention: 3 queries attend to 5 keys, key and value different tensors, "
                 "embed_dim=8, 4 heads, no mask", 8, 4, 3, 5, seed=1),
            case("cross-attention with a key padding mask of shape (2, 1, 1, 5): the two sequences "
                 "have 3 and 4 real keys", 8, 2, 3, 5, mask=_padding_mask([3, 4], 5), seed=2),
            case("kdim=6 and vdim=10 different from embed_dim=12, 3 heads, 4 queries, 5 keys, "
                 "padding mask (2, 1, 1, 5)", 12, 3, 4, 5, mask=_padding_mask([2, 5], 5),
                 kdim=6, vdim=10, seed=3),
            case("self-attention with a causal mask combined with padding, mask shape (2, 1, 5, 5)",
                 12, 4, 5, 5, mask=blocks.causal_mask(5) & _padding_mask([3, 5], 5), cross=False, seed=4),
            case("one head (num_heads=1), cross-attention with a causal-shaped (4, 6) mask",
                 6, 1, 4, 6, mask=torch.ones(4, 6, dtype=torch.bool).tril(2), seed=5),
            case("heads of one feature each (embed_dim=num_heads=4)", 4, 4, 3, 5, seed=6),
            case("cross-attention where the first sequence has no real key at all (padding mask of shape "
                 "(2, 1, 1, 5), lengths 0 and 4): a query that may attend nowhere gets zero weights, so its "
                 "output is w_o's bias", 8, 2, 3, 5, mask=_padding_mask([0, 4], 5), seed=7),
        ]

    def variant(**how):
        return lambda *args: _variant(*args, **how)

    inverted = ("the mask is inverted: in this course True means MAY attend, so fill the scores where "
                "the mask is False (~mask) with -inf (torch.nn.MultiheadAttention's boolean masks mean "
                "the opposite)")
    mistakes = [
        *earlier_mistake(cls, "split_heads", split_heads, "exercise 1", lambda fn: variant(split=fn)),
        *earlier_mistake(cls, "merge_heads", merge_heads, "exercise 2", lambda fn: variant(merge=fn)),
        Mistake("you did not scale the scores: divide q @ k^T by sqrt(d_head)", variant(scale="none")),
        Mistake("you scaled by sqrt(embed_dim); each head's dot products have only d_head = "
                "embed_dim / num_heads terms, so divide by sqrt(d_head)", variant(scale="d_model")),
        Mistake("you divided the scores by d_head; divide by sqrt(d_head)", variant(scale="d_head_squared")),
        Mistake("you forgot the output projection: return self.w_o(merged heads)", variant(out_proj=False)),
        Mistake("you merged the heads without transposing: (batch, heads, seq, d_head) needs "
                ".transpose(1, 2) before the reshape to (batch, seq, embed_dim)",
                variant(merge=lambda x: x.reshape(x.shape[0], x.shape[2], -1))),
        Mistake("you split into heads without transposing: reshaping straight to (batch, heads, seq, "
                "d_head) scrambles the tokens; view as (batch, seq, heads, d_head), then .transpose(1, 2)",
                variant(split=lambda x, h: x.reshape(x.shape[0], h, x.shape[1], -1))),
        Mistake("you attended with one head of width embed_dim: split the projections into num_heads "
                "heads of d_head features each", variant(heads=1)),
        Mistake("the mask is ignored: fill the scores where the mask is False with -inf before the softmax",
                variant(mask_mode="ignored")),
        Mistake(inverted, variant(mask_mode="inverted")),
        Mistake(inverted, variant(mask_mode="inverted", nan_safe=False)),
        Mistake("you filled masked scores with a finite number (-1e9, the Annotated Transformer's "
                "masked_fill(mask == 0, -1e9)); a query whose keys are all masked then spreads uniform "
                "weights over them instead of getting zero weights. Fill with float('-inf') and give such "
                "rows zero weights, as the imported attention does", variant(mask_mode="finite")),
        Mistake("a query whose keys are all masked gets NaN: the softmax of a row of -inf is 0 / 0. Give such "
                "rows zero weights (weights.nan_to_num(0.0)), as the imported attention does",
                variant(nan_safe=False)),
        Mistake("you transposed the keys with .T: on a (batch, heads, m, d_head) tensor .T reverses all "
                "four axes; swap only the last two: k.transpose(-2, -1)", variant(keys_T=True)),
        Mistake("you filled masked scores with 0, but a score of 0 still gets weight exp(0) after the "
                "softmax: fill them with float('-inf')", variant(mask_mode="zero")),
        Mistake("you zeroed the masked weights after the softmax, so the rest no longer sum to 1: "
                "mask the scores with -inf before the softmax", variant(mask_mode="after")),
        Mistake("softmax over the wrong axis: dim=-2 normalises over the queries; each query's weights "
                "over the keys (dim=-1) must sum to 1", variant(softmax_dim=-2)),
        Mistake("softmax over the wrong axis: dim=1 is the heads axis in (batch, heads, n, m); each "
                "query's weights over the keys (dim=-1) must sum to 1", variant(softmax_dim=1)),
        Mistake("you computed the keys and values from the query (self-attention only): use "
                "self.w_k(key) and self.w_v(value), so that cross-attention with other keys works",
                variant(keys_from="query", values_from="query")),
        Mistake("you computed the keys from the query: use self.w_k(key)", variant(keys_from="query")),
        Mistake("you computed the values from the key: use self.w_v(value)", variant(values_from="key")),
        Mistake("you computed the values from the query: use self.w_v(value)", variant(values_from="query")),
    ]
    try:
        check("MultiHeadAttention", _run_module, _reference, cases, mistakes)
    except ExerciseFailed:  # only a failing answer pays for the randomness probe
        if gives_random_output(_run_module, *cases[0].args):
            raise ExerciseFailed(f"MultiHeadAttention is not right on the input: {cases[0].label}.\n"
                                 f"  Likely mistake: {RANDOM_HINT}") from None
        raise
    if hidden:  # the last case (a query with no key at all) is the course's convention, not torch's
        check("MultiHeadAttention (compared with torch.nn.MultiheadAttention, batch_first=True)",
              _run_module, _torch_reference, cases[:-1])


# ---------------------------------------------------------------- count_attention_flops
def _flops(n, m, embed_dim, num_heads):
    d_head = embed_dim // num_heads
    projections = 2 * n * embed_dim * embed_dim * 2 + 2 * m * embed_dim * embed_dim * 2  # W_q, W_o; W_k, W_v
    scores = num_heads * 2 * n * m * d_head  # Q_i @ K_i^T for every head
    weighted_sum = num_heads * 2 * n * m * d_head  # A_i @ V_i for every head
    return (projections, scores, weighted_sum)


def count_attention_flops(fn, hidden=False):
    cases = [Case("n = m = 10 tokens, embed_dim = 512, 8 heads", (10, 10, 512, 8))]
    if hidden:
        cases = [
            Case("cross-attention: n = 3 queries, m = 7 keys, embed_dim = 12, 3 heads", (3, 7, 12, 3)),
            Case("one head: n = m = 5, embed_dim = 64", (5, 5, 64, 1)),
            Case("n = 4 queries, m = 9 keys, embed_dim = 32, 8 heads", (4, 9, 32, 8)),
        ]

    def half(n, m, e, h):
        return tuple(x // 2 for x in _flops(n, m, e, h))

    def full_width_heads(n, m, e, h):
        p, s, w = _flops(n, m, e, h)
        return (p, s * h, w * h)

    def no_output_projection(n, m, e, h):
        p, s, w = _flops(n, m, e, h)
        return (p - 2 * n * e * e, s, w)

    def projections_per_head(n, m, e, h):
        p, s, w = _flops(n, m, e, h)
        return (p * h, s, w)

    def self_attention_only(n, m, e, h):
        return _flops(n, n, e, h)

    def one_head_only(n, m, e, h):
        p, s, w = _flops(n, m, e, h)
        return (p, s // h, w // h)

    mistakes = [
        Mistake("you counted multiply-adds; count a multiply and an add as 2 FLOPs: an (a x b) @ (b x c) "
                "product costs 2*a*b*c", half),
        Mistake("you gave every head all embed_dim features; a head's dot products have only d_head = "
                "embed_dim / num_heads terms, so all heads together cost 2*n*m*embed_dim", full_width_heads),
        Mistake("you forgot the output projection W_o (2*n*embed_dim^2 FLOPs)", no_output_projection),
        Mistake("you counted a full embed_dim x embed_dim projection per head; the heads share one: "
                "each head only gets d_head of its output features", projections_per_head),
        Mistake("you used n for the keys and values; they have m tokens (cross-attention)", self_attention_only),
        Mistake("you counted the scores and weighted sum of one head only; multiply by num_heads",
                one_head_only),
    ]
    check("count_attention_flops", fn, _flops, cases, mistakes)


learner_facing(globals())
