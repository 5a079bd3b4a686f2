"""Checks for notebook 02 (single-head self-attention): projections, scores, weights, outputs,
scaled dot-product attention with masks, a small attention module, and fixing the sources' bugs.

The worked example is source 000 (n = 3 tokens of d_in = 4 features, d_k = d_v = 3); the hidden
inputs are non-square, batched and have d_k != d_v, the shapes that expose silent bugs.
"""

import math

import torch

from .. import blocks
from .core import Case, Mistake, build, check, learner_facing, randn, require_linear, upstream
from .forbidden import MULTIHEAD, SDPA, forbids

# Source 000's worked example (README, Credits), as notebook 02's first code cell writes it:
# 3 tokens of 4 features, x @ w maps them to 3 features.
X = [[1, 0, 1, 0], [0, 2, 0, 2], [1, 1, 1, 1]]
W_Q = [[1, 0, 1], [1, 0, 0], [0, 0, 1], [0, 1, 1]]
W_K = [[0, 0, 1], [1, 1, 0], [0, 1, 0], [1, 1, 0]]
W_V = [[0, 2, 0], [0, 3, 0], [1, 0, 3], [1, 1, 0]]


def _worked_example():
    """(x, w_q, w_k, w_v) of source 000 as float tensors: x (n, d_in) = (3, 4), each w (d_in, d_k) = (4, 3)."""
    return tuple(torch.tensor(m, dtype=torch.float32) for m in (X, W_Q, W_K, W_V))


def _example_qkv():
    x, w_q, w_k, w_v = _worked_example()
    return x @ w_q, x @ w_k, x @ w_v


def _transpose(t):
    return t.transpose(-2, -1)


# ---------------------------------------------------------------- projections
def project_qkv(fn, hidden=False):
    cases = [Case("the worked example of source 000 (x: 3 x 4, weights: 4 x 3)", _worked_example())]
    if hidden:
        cases = [
            Case("5 tokens of 6 features, d_k = 4, d_v = 2 (x: 5 x 6)",
                 (randn(5, 6, seed=1), randn(6, 4, seed=2), randn(6, 4, seed=3), randn(6, 2, seed=4))),
            Case("a batch of 2 sequences of 5 tokens (x: 2 x 5 x 6)",
                 (randn(2, 5, 6, seed=5), randn(6, 4, seed=6), randn(6, 4, seed=7), randn(6, 2, seed=8))),
        ]
    mistakes = [
        Mistake("you put the weights on the left (w @ x), as source 000 does; rows are tokens, so "
                "project with x @ w", lambda x, wq, wk, wv: (wq @ x, wk @ x, wv @ x)),
        Mistake("you used w.T (the nn.Linear layout); here weights are (d_in, d_out): x @ w",
                lambda x, wq, wk, wv: (x @ _transpose(wq), x @ _transpose(wk), x @ _transpose(wv))),
        Mistake("you returned q, k, v in the wrong order; return (q, k, v)",
                lambda x, wq, wk, wv: (x @ wk, x @ wq, x @ wv)),
        Mistake("you returned q, k, v in the wrong order; return (q, k, v)",
                lambda x, wq, wk, wv: (x @ wq, x @ wv, x @ wk)),
    ]
    check("project_qkv", fn, lambda x, wq, wk, wv: (x @ wq, x @ wk, x @ wv), cases, mistakes)


# ---------------------------------------------------------------- scores
def attention_scores(fn, hidden=False):
    q, k, _ = _example_qkv()
    cases = [Case("Q and K of the worked example (3 x 3 each)", (q, k))]
    if hidden:
        cases = [
            Case("5 queries against 7 keys, d_k = 4 (q: 5 x 4, k: 7 x 4)", (randn(5, 4, seed=9), randn(7, 4, seed=10))),
            Case("4 queries against 4 keys with d_k = 4 (square, so a missing transpose runs silently)",
                 (randn(4, 4, seed=11), randn(4, 4, seed=12))),
            Case("a batch of 2: q: 2 x 5 x 4, k: 2 x 7 x 4", (randn(2, 5, 4, seed=13), randn(2, 7, 4, seed=14))),
        ]
    mistakes = [
        Mistake("you multiplied q @ k without transposing k (source 004's torch.mm(query, key)); it only "
                "runs when the matrices are square. Pair queries with keys: q @ k.transpose(-2, -1)",
                lambda q, k: q @ k),
        Mistake("your scores are transposed (k @ q.T, as in source 000's keys @ querys): row i must "
                "belong to query i", lambda q, k: k @ _transpose(q)),
        Mistake("you used k.T on a batched tensor: .T reverses ALL dimensions. Use k.transpose(-2, -1)",
                lambda q, k: q @ k.permute(*reversed(range(k.dim())))),
        Mistake("you scaled the scores already; this exercise wants the raw scores q @ k^T "
                "(scaling comes in scaled_dot_product_attention)",
                lambda q, k: q @ _transpose(k) / math.sqrt(q.shape[-1])),
        Mistake("you computed q.T @ k, which compares features, not tokens",
                lambda q, k: _transpose(q) @ k),
    ]
    check("attention_scores", fn, lambda q, k: q @ _transpose(k), cases, mistakes)


# ---------------------------------------------------------------- weights
def attention_weights(fn, hidden=False):
    q, k, _ = _example_qkv()
    cases = [Case("the scores of the worked example", (q @ _transpose(k),))]
    if hidden:
        cases = [
            Case("3 queries x 5 keys of scores with negative entries", (3 * randn(3, 5, seed=15),)),
            Case("a batch of 2 x 3 x 5 scores", (3 * randn(2, 3, 5, seed=16),)),
        ]
    mistakes = [
        Mistake("you normalised down the columns (softmax over dim=0): each ROW (one query's scores "
                "over all keys) must sum to 1, so use dim=-1", lambda s: torch.softmax(s, dim=0)),
        Mistake("you normalised over the query axis (dim=-2 or dim=1); use dim=-1, the key axis",
                lambda s: torch.softmax(s, dim=-2)),
        Mistake("you normalised over the whole matrix; the normaliser is per row (per query), as "
                "the softmax over dim=-1", lambda s: torch.softmax(s.flatten(), 0).view_as(s)),
        Mistake("you returned the scores unchanged: apply a softmax over the last axis", lambda s: s),
        Mistake("you divided by the row sums without exponentiating; softmax is exp(s) / sum(exp(s))",
                lambda s: s / s.sum(-1, keepdim=True)),
    ]
    check("attention_weights", fn, lambda s: torch.softmax(s, dim=-1), cases, mistakes)


# ---------------------------------------------------------------- outputs
def attention_output(fn, hidden=False):
    q, k, v = _example_qkv()
    cases = [Case("the weights and V of the worked example", (torch.softmax(q @ _transpose(k), -1), v))]
    if hidden:
        cases = [
            Case("3 queries, 5 keys, d_v = 2 (weights: 3 x 5, v: 5 x 2)",
                 (torch.softmax(randn(3, 5, seed=17), -1), randn(5, 2, seed=18))),
            Case("4 queries, 4 keys, d_v = 4 (square: order mistakes run silently)",
                 (torch.softmax(randn(4, 4, seed=19), -1), randn(4, 4, seed=20))),
            Case("a batch of 2: weights 2 x 3 x 5, v 2 x 5 x 2",
                 (torch.softmax(randn(2, 3, 5, seed=21), -1), randn(2, 5, 2, seed=22))),
        ]
    mistakes = [
        Mistake("you computed v @ weights (source 000's values @ softmax); each output row mixes the "
                "value rows: weights @ v", lambda w, v: v @ w),
        Mistake("you transposed the weights (source 003's alpha(Q,K)^T V); the weights are (n, m) and "
                "the output is weights @ v", lambda w, v: _transpose(w) @ v),
        Mistake("you multiplied element by element (weights * v); the weighted sum is a matrix product",
                lambda w, v: w * v),
    ]
    check("attention_output", fn, lambda w, v: w @ v, cases, mistakes)


# ---------------------------------------------------------------- scaled dot-product attention
def _masked(scores, mask, fill=float("-inf")):
    return scores if mask is None else scores.masked_fill(~mask, fill)


def _sdpa_mistakes():
    def variant(scale=lambda q, v: math.sqrt(q.shape[-1]), fill=float("-inf"), dim=-1,
                after=False, invert=False, nan_rows=False, give_weights=False, dot_t=False):
        def run(q, k, v, mask=None):
            m = None if mask is None else (~mask if invert else mask)
            k_t = k.permute(*reversed(range(k.dim()))) if dot_t else _transpose(k)  # k.T reverses all axes
            s = q @ k_t / scale(q, v)
            w = torch.softmax(s if after else _masked(s, m, fill), dim=dim)
            if after and m is not None:
                w = w * m
            if not nan_rows:
                w = w.nan_to_num(0.0)
            return w if give_weights else w @ v
        return run

    return [
        Mistake("you did not scale the scores: divide q @ k^T by sqrt(d_k)", variant(scale=lambda q, v: 1.0)),
        Mistake("you divided by d_k; the scaling is sqrt(d_k)", variant(scale=lambda q, v: q.shape[-1])),
        Mistake("you scaled by sqrt(d_v); the scaling uses the query/key size d_k = q.shape[-1]",
                variant(scale=lambda q, v: math.sqrt(v.shape[-1]))),
        Mistake("a fully masked row gives NaN (softmax of all -inf is 0/0): give such rows zero weights, "
                "e.g. weights.nan_to_num(0.0)", variant(nan_rows=True)),
        Mistake("you applied the mask after the softmax: the remaining weights no longer sum to 1. "
                "Fill masked scores with -inf BEFORE the softmax",
                variant(after=True)),
        Mistake("you filled masked scores with a large finite number (such as -1e9) instead of -inf: "
                "that works while a query has a key to attend to, but a fully masked row then gives "
                "every key the same weight (a uniform average of v) instead of zero weights and a zero "
                "output. Fill with float('-inf') and turn the NaN rows into zeros (nan_to_num)",
                variant(fill=-1e9)),
        Mistake("you filled masked scores with 0 instead of -inf: exp(0) = 1, so masked keys still get weight",
                variant(fill=0.0)),
        Mistake("your mask is inverted: True means 'may attend' (as in F.scaled_dot_product_attention)",
                variant(invert=True)),
        Mistake("you returned the attention weights; return the output weights @ v", variant(give_weights=True)),
        Mistake("you took the softmax over the query axis; use dim=-1 (over keys)", variant(dim=-2)),
        Mistake("you used k.T on a batched tensor: .T reverses ALL dimensions, (b, m, d_k) -> (d_k, m, b). "
                "Swap only the last two: k.transpose(-2, -1) (or k.mT)", variant(dot_t=True)),
    ]


@forbids(SDPA, MULTIHEAD)
def scaled_dot_product_attention(fn, hidden=False):
    q, k, v = _example_qkv()
    causal = blocks.causal_mask(3)
    cases = [
        Case("Q, K, V of the worked example, no mask", (q, k, v)),
        Case("the worked example with a causal mask (token i sees tokens 0..i)", (q, k, v), {"mask": causal}),
    ]
    if hidden:
        padding = torch.ones(2, 1, 7, dtype=torch.bool)
        padding[1, :, 4:] = False  # second sequence: only 4 real keys
        rows = torch.ones(2, 5, 7, dtype=torch.bool)
        rows[0, 2] = False  # one query may attend to nothing
        cases = [
            Case("batched, 5 queries, 7 keys, d_k = 4, d_v = 3 (no mask)",
                 (randn(2, 5, 4, seed=23), randn(2, 7, 4, seed=24), randn(2, 7, 3, seed=25))),
            Case("batched with a padding mask of shape (2, 1, 7): the second sequence has 4 real keys",
                 (randn(2, 5, 4, seed=26), randn(2, 7, 4, seed=27), randn(2, 7, 3, seed=28)), {"mask": padding}),
            Case("a 6 x 6 causal mask, d_k = 8, d_v = 2",
                 (randn(6, 8, seed=29), randn(6, 8, seed=30), randn(6, 2, seed=31)), {"mask": blocks.causal_mask(6)}),
            Case("a mask where query 2 of the first sequence may attend to no key at all (output must be 0)",
                 (randn(2, 5, 4, seed=32), randn(2, 7, 4, seed=33), randn(2, 7, 3, seed=34)), {"mask": rows}),
        ]
    check("scaled_dot_product_attention", fn, blocks.scaled_dot_product_attention, cases, _sdpa_mistakes())


# ---------------------------------------------------------------- the module
def _module_reference(module, x, mask=None):
    q, k, v = module.w_q(x), module.w_k(x), module.w_v(x)  # (..., n, d_k), d_k = d_v = d_out
    return blocks.scaled_dot_product_attention(q, k, v, mask)


def _module_mistakes():
    def sdpa(q, k, v, mask=None, scale=None):
        s = q @ _transpose(k) / (scale or math.sqrt(q.shape[-1]))
        return (torch.softmax(_masked(s, mask), -1).nan_to_num(0.0)) @ v

    return [
        Mistake("you did not scale by sqrt(d_k)",
                lambda m, x, mask=None: sdpa(m.w_q(x), m.w_k(x), m.w_v(x), mask, scale=1.0)),
        Mistake("you scaled by sqrt(d_in); d_k is the projected size, d_out",
                lambda m, x, mask=None: sdpa(m.w_q(x), m.w_k(x), m.w_v(x), mask, scale=math.sqrt(x.shape[-1]))),
        Mistake("queries and keys are swapped (q from w_k, k from w_q): the scores come out transposed",
                lambda m, x, mask=None: sdpa(m.w_k(x), m.w_q(x), m.w_v(x), mask)),
        Mistake("you used one projection for q, k and v; each needs its own nn.Linear",
                lambda m, x, mask=None: sdpa(m.w_q(x), m.w_q(x), m.w_q(x), mask)),
        Mistake("the mask is ignored: pass it on to the attention", lambda m, x, mask=None: sdpa(
            m.w_q(x), m.w_k(x), m.w_v(x))),
    ]


def _built_module(cls, d_in, d_out, seed):
    """The learner's SelfAttention(d_in, d_out), with its three projections checked."""
    __tracebackhide__ = True
    module = build(cls, "SelfAttention", (d_in, d_out), seed=seed)
    for name in ("w_q", "w_k", "w_v"):
        require_linear(module, f"SelfAttention({d_in}, {d_out})", name, d_in, d_out,
                       how=f"nn.Linear(d_in, d_out) = nn.Linear({d_in}, {d_out})")
    return module


@forbids(SDPA, MULTIHEAD)
def self_attention(cls, hidden=False):
    """`cls` is the learner's SelfAttention class; it is built with fixed seeds and checked
    against attention computed from its own weights."""
    __tracebackhide__ = True
    if not hidden:
        module = _built_module(cls, 512, 256, seed=0)
        cases = [Case("source 001's sizes: 10 tokens, 512 -> 256 (x: 10 x 512)", (module, randn(10, 512, seed=35)))]
    else:
        module = _built_module(cls, 12, 5, seed=1)
        mask = torch.ones(2, 1, 7, dtype=torch.bool)
        mask[0, :, 5:] = False
        cases = [
            Case("a batch of 2 sequences of 7 tokens, 12 -> 5 features", (module, randn(2, 7, 12, seed=36))),
            Case("the same batch with a padding mask (2, 1, 7)", (module, randn(2, 7, 12, seed=37)),
                 {"mask": mask}),
        ]
    # A module that calls the learner's scaled_dot_product_attention inherits its mistakes: name
    # exercise 5 as the cause; a module that inlines the same mistake gets exercise 5's hint.
    earlier = upstream(cls, "scaled_dot_product_attention", scaled_dot_product_attention, "exercise 5",
                       lambda fn: lambda m, x, mask=None: fn(m.w_q(x), m.w_k(x), m.w_v(x), mask))
    inlined = [Mistake(m.hint, lambda mod, x, mask=None, f=m.compute: f(mod.w_q(x), mod.w_k(x), mod.w_v(x), mask))
               for m in _sdpa_mistakes()]
    check("SelfAttention", lambda m, x, **kw: m(x, **kw), _module_reference, cases,
          [*earlier, *_module_mistakes(), *inlined])


# ---------------------------------------------------------------- spot the bug
@forbids(SDPA, MULTIHEAD)
def fixed_attention(fn, hidden=False):
    cases = [Case("the worked example of source 000", _worked_example())]
    if hidden:
        cases = [
            Case("5 tokens of 6 features, d_k = 4, d_v = 2",
                 (randn(5, 6, seed=38), randn(6, 4, seed=39), randn(6, 4, seed=40), randn(6, 2, seed=41))),
            Case("4 tokens of 4 features, 4-dim heads (square everywhere: every bug runs silently)",
                 (randn(4, 4, seed=42), randn(4, 4, seed=43), randn(4, 4, seed=44), randn(4, 4, seed=45))),
        ]

    def right(x, wq, wk, wv):
        q, k, v = x @ wq, x @ wk, x @ wv
        return torch.softmax(q @ _transpose(k), -1) @ v

    def keep(left=False, kq=False, vw=False, scale=False):
        def run(x, wq, wk, wv):
            q, k, v = (wq @ x, wk @ x, wv @ x) if left else (x @ wq, x @ wk, x @ wv)
            s = k @ q if kq else q @ _transpose(k)
            w = torch.softmax(s / (math.sqrt(q.shape[-1]) if scale else 1.0), -1)
            return v @ w if vw else w @ v
        return run

    mistakes = [
        Mistake("the projections still put the weights on the left (w @ x): use x @ w", keep(left=True)),
        Mistake("the projections still put the weights on the left (w @ x): use x @ w",
                keep(left=True, kq=True, vw=True)),
        Mistake("the scores are still keys @ queries: use q @ k.T (one row per query)", keep(kq=True)),
        Mistake("the scores are still keys @ queries: use q @ k.T (one row per query)", keep(kq=True, vw=True)),
        Mistake("the output is still values @ weights: use weights @ v", keep(vw=True)),
        Mistake("you added scaling; source 000 computes unscaled attention, keep it unscaled here",
                keep(scale=True)),
    ]
    check("fixed_attention", fn, right, cases, mistakes)


learner_facing(globals())
