"""Checks for notebook 03 (additive attention): Nadaraya–Watson attention pooling, the masked
softmax by valid lengths, additive attention, and the tanh attention layer of source 003.

For the two `nn.Module` exercises the check compares the learner's output with a reference
computed from that module's own weights. Beyond the shared vocabulary, shapes name the sizes the
notebook names: `num_hiddens` (additive attention's hidden size) and `att_dim` (TanhAttention's).
"""

import math

import torch

from .core import Case, ExerciseFailed, Mistake, build, check, learner_facing, randn, require_linear

# Bound once, before any learner code runs.
_softmax = torch.softmax
_tanh = torch.tanh
_exp = torch.exp
_arange = torch.arange
_where = torch.where
_linear = torch.nn.functional.linear
NEG_INF = float("-inf")


# ---------------------------------------------------------------- references
def _nw_weights(x_query, x_keys, bandwidth):
    diff = x_query[:, None] - x_keys[None, :]  # (n, m)
    return _softmax(-(diff**2) / (2 * bandwidth**2), dim=-1)  # (n, m)


def _nadaraya_watson(x_query, x_keys, y_values, bandwidth):
    weights = _nw_weights(x_query, x_keys, bandwidth)  # (n, m)
    return weights @ y_values, weights  # (n,), (n, m)


def _keep_mask(scores, valid_lens):
    """(b, n, m) bool, True where key j < valid length of that row."""
    b, n, m = scores.shape
    if valid_lens.dim() == 1:
        valid_lens = valid_lens[:, None].expand(b, n)  # (b, n)
    return _arange(m, device=scores.device) < valid_lens[:, :, None]  # (b, n, m)


def _masked_softmax(scores, valid_lens=None):
    if valid_lens is None:
        return _softmax(scores, dim=-1)
    keep = _keep_mask(scores, valid_lens)  # (b, n, m)
    weights = _softmax(scores.masked_fill(~keep, NEG_INF), dim=-1)  # (b, n, m); NaN on empty rows
    return _where(keep, weights, 0.0)  # (b, n, m)


def _additive_scores(module, queries, keys, tanh=True):
    q = _linear(queries, module.W_q.weight)  # (b, n, num_hiddens)
    k = _linear(keys, module.W_k.weight)  # (b, m, num_hiddens)
    features = q[:, :, None, :] + k[:, None, :, :]  # (b, n, m, num_hiddens)
    if tanh:
        features = _tanh(features)
    return _linear(features, module.w_v.weight).squeeze(-1)  # (b, n, m)


def _additive(module, queries, keys, values, valid_lens=None):
    weights = _masked_softmax(_additive_scores(module, queries, keys), valid_lens)  # (b, n, m)
    return weights @ values, weights  # (b, n, d_v), (b, n, m)


def _tanh_qkv(module, x, tanh=True):
    act = _tanh if tanh else (lambda t: t)
    q = act(_linear(x, module.query.weight, module.query.bias))  # (b, n, att_dim)
    k = act(_linear(x, module.key.weight, module.key.bias))  # (b, n, att_dim)
    v = act(_linear(x, module.value.weight, module.value.bias))  # (b, n, att_dim)
    return q, k, v


def _tanh_attention(module, x):
    q, k, v = _tanh_qkv(module, x)
    weights = _softmax(q @ k.transpose(-2, -1), dim=-1)  # (b, n, n)
    z = weights @ v  # (b, n, att_dim)
    return z, z.sum(dim=1)  # (b, n, att_dim), (b, att_dim)


# ---------------------------------------------------------------- checks
def nadaraya_watson(fn, hidden=False):
    keys = torch.tensor([0.0, 1.0, 2.0, 3.0])  # (4,)
    cases = [Case("keys x = [0, 1, 2, 3] with values y = x**2, queries [1.0, 2.5], bandwidth 0.5",
                  (torch.tensor([1.0, 2.5]), keys, keys**2, 0.5))]
    if hidden:
        cases = [
            Case("7 queries, 12 random keys, bandwidth 0.8",
                 (torch.linspace(-2, 2, 7), 2 * randn(12, seed=30), randn(12, seed=31), 0.8)),
            Case("5 queries, 5 keys (square, so a swapped axis raises no error), bandwidth 2",
                 (randn(5, seed=32), randn(5, seed=33), randn(5, seed=34), 2.0)),
            Case("bandwidth 0.1 and a query at x = 10, far from every key in [0, 3] "
                 "(exp underflows to 0 unless you use a stable softmax)",
                 (torch.tensor([0.5, 10.0]), torch.linspace(0, 3, 6), randn(6, seed=35), 0.1)),
        ]

    def score(xq, xk, h):
        return -((xq[:, None] - xk[None, :]) ** 2) / (2 * h**2)  # (n, m)

    def pooled(weights, y):
        return weights @ y, weights

    mistakes = [
        Mistake("you subtracted x_keys from x_query element by element; every query must meet "
                "every key: x_query[:, None] - x_keys[None, :] has shape (n, m)",
                lambda xq, xk, y, h: pooled(_softmax(-((xq - xk) ** 2) / (2 * h**2), dim=-1), y)),
        Mistake("you normalised over the queries (dim=0); each query's weights over the keys must "
                "sum to 1: softmax(..., dim=-1)",
                lambda xq, xk, y, h: pooled(_softmax(score(xq, xk, h), dim=0), y)),
        Mistake("the weights are not normalised: exp(...) alone does not sum to 1 over the keys; "
                "take the softmax over the keys",
                lambda xq, xk, y, h: pooled(_exp(score(xq, xk, h)), y)),
        Mistake("you used the distance x_q - x_k without squaring it; the Gaussian kernel uses the "
                "squared distance (x_q - x_k)**2",
                lambda xq, xk, y, h: pooled(_softmax(-(xq[:, None] - xk[None, :]) / (2 * h**2), -1), y)),
        Mistake("you used |x_q - x_k|; the Gaussian kernel uses the squared distance (x_q - x_k)**2",
                lambda xq, xk, y, h: pooled(
                    _softmax(-(xq[:, None] - xk[None, :]).abs() / (2 * h**2), -1), y)),
        Mistake("you divided by 2 * bandwidth; the Gaussian kernel divides by 2 * bandwidth**2",
                lambda xq, xk, y, h: pooled(
                    _softmax(-((xq[:, None] - xk[None, :]) ** 2) / (2 * h), -1), y)),
        Mistake("you dropped the minus sign, so the farthest keys get the most weight: "
                "the score is -(x_q - x_k)**2 / (2 * bandwidth**2)",
                lambda xq, xk, y, h: pooled(_softmax(-score(xq, xk, h), -1), y)),
        Mistake("exp underflowed to 0 for a query far from every key, giving 0 / 0 = NaN: "
                "use torch.softmax (it subtracts the row maximum) instead of exp(...) / sum",
                lambda xq, xk, y, h: pooled(_exp(score(xq, xk, h))
                                            / _exp(score(xq, xk, h)).sum(-1, keepdim=True), y)),
    ]
    check("nadaraya_watson", fn, _nadaraya_watson, cases, mistakes)


def masked_softmax(fn, hidden=False):
    cases = [
        Case("scores of shape (2, 2, 4) with valid_lens [2, 3] (one length per batch item)",
             (randn(2, 2, 4, seed=40), torch.tensor([2, 3]))),
        Case("scores of shape (2, 2, 4) with valid_lens [[1, 3], [2, 4]] (one length per query)",
             (randn(2, 2, 4, seed=41), torch.tensor([[1, 3], [2, 4]]))),
    ]
    if hidden:
        cases = [
            Case("large scores (3, 2, 5) with valid_lens [5, 1, 3]",
                 (8 * randn(3, 2, 5, seed=42), torch.tensor([5, 1, 3]))),
            Case("scores (3, 2, 5) with valid_lens [4, 0, 2]: the second item has no valid key, so "
                 "its weights must be all 0 (not NaN, not uniform)",
                 (randn(3, 2, 5, seed=43), torch.tensor([4, 0, 2]))),
            Case("scores (2, 3, 4) with per-query valid_lens [[0, 2, 4], [1, 1, 3]]",
                 (randn(2, 3, 4, seed=44), torch.tensor([[0, 2, 4], [1, 1, 3]]))),
            Case("scores (2, 3, 3) with valid_lens None (no mask: a plain softmax over keys)",
                 (randn(2, 3, 3, seed=45), None)),
        ]

    def keep_of(s, vl):
        return _keep_mask(s, vl)

    def keep_le(s, vl):
        b, n, m = s.shape
        vl = vl[:, None].expand(b, n) if vl.dim() == 1 else vl
        return _arange(m) <= vl[:, :, None]

    def masked(fill, keep_fn=keep_of, dim=-1):
        def compute(s, vl=None):
            if vl is None:
                return _softmax(s, dim=dim)
            return _softmax(s.masked_fill(~keep_fn(s, vl), fill), dim=dim)
        return compute

    def zero_after(s, vl=None):
        if vl is None:
            return _softmax(s, -1)
        return _softmax(s, -1) * keep_of(s, vl)

    def lens_1d_only(s, vl=None):
        if vl is None:
            return _softmax(s, -1)
        keep = _arange(s.shape[-1])[None, None, :] < vl[:, None, None]  # breaks for (batch, n)
        return _where(keep, _softmax(s.masked_fill(~keep, NEG_INF), -1), 0.0)

    mistakes = [
        Mistake("you ignored valid_lens: keys at or past the valid length must get weight 0",
                lambda s, vl=None: _softmax(s, -1)),
        Mistake("off by one: the key at position valid_len must be masked too; keep positions "
                "j < valid_len (use <, not <=)",
                lambda s, vl=None: _where(keep_le(s, vl), masked(NEG_INF, keep_le)(s, vl), 0.0)
                if vl is not None else _softmax(s, -1)),
        Mistake("you set masked scores to 0 before the softmax, but exp(0) = 1 still gives them "
                "weight: fill them with -inf", masked(0.0)),
        Mistake("you zeroed the masked weights after the softmax without renormalising: the kept "
                "weights must still sum to 1, so mask the scores before the softmax", zero_after),
        Mistake("a row with valid length 0 came out uniform (1/m each): filling with a huge "
                "negative number leaves every key equal. A row with no valid key must get all-zero "
                "weights: zero the masked positions after the softmax", masked(-1e6)),
        Mistake("a row with valid length 0 gave NaN (a softmax over all -inf is 0 / 0): zero the "
                "masked positions after the softmax, e.g. torch.where(keep, weights, 0.0)",
                masked(NEG_INF)),
        Mistake("you normalised over the queries (dim=1); each query's weights over the keys must "
                "sum to 1: the softmax runs over the last axis", masked(-1e6, dim=1)),
        Mistake("valid_lens of shape (batch, n) gives one length per query: compare with "
                "valid_lens[:, :, None] (and expand a (batch,) valid_lens to (batch, n) first)",
                lens_1d_only),
    ]
    check("masked_softmax", fn, _masked_softmax, cases, mistakes)


def additive_attention(cls, hidden=False):
    """Check an AdditiveAttention(query_size, key_size, num_hiddens) class."""
    __tracebackhide__ = True
    name = "AdditiveAttention"
    # (query_size, key_size, num_hiddens), b, n, m, d_v, valid_lens, label
    specs = [
        ((6, 4, 8), 2, 3, 5, 2, None,
         "queries (2, 3, 6), keys (2, 5, 4), values (2, 5, 2), no mask"),
        ((20, 2, 8), 2, 1, 10, 4, torch.tensor([2, 6]),
         "queries (2, 1, 20), keys (2, 10, 2), values (2, 10, 4), valid_lens [2, 6]"),
    ]
    if hidden:
        specs = [
            ((5, 3, 7), 3, 4, 6, 2, torch.tensor([6, 2, 0]),
             "queries (3, 4, 5), keys (3, 6, 3), values (3, 6, 2), valid_lens [6, 2, 0] "
             "(the last item has no valid key: zero weights, zero output)"),
            ((4, 4, 6), 2, 5, 5, 3, torch.tensor([[5, 4, 3, 2, 1], [1, 2, 3, 4, 5]]),
             "n = m = 5 (square, so a missing unsqueeze or a transposed product raises no error), "
             "per-query valid_lens"),
            ((3, 5, 4), 1, 2, 7, 6, None,
             "one sequence: queries (1, 2, 3), keys (1, 7, 5), values (1, 7, 6), no mask"),
        ]
    cases = []
    for i, (sizes, b, n, m, d_v, lens, label) in enumerate(specs):
        module = build(cls, name, sizes, seed=50 + i)
        q_size, k_size, hiddens = sizes
        call = f"{name}{sizes}"
        require_linear(module, call, "W_q", q_size, hiddens, bias=False,
                       how="nn.Linear(query_size, num_hiddens, bias=False)")
        require_linear(module, call, "W_k", k_size, hiddens, bias=False,
                       how="nn.Linear(key_size, num_hiddens, bias=False)")
        require_linear(module, call, "w_v", hiddens, 1, bias=False, how="nn.Linear(num_hiddens, 1, bias=False)")
        args = (module, 2 * randn(b, n, q_size, seed=60 + i), 2 * randn(b, m, k_size, seed=70 + i),
                randn(b, m, d_v, seed=80 + i), lens)
        cases.append(Case(label, args))

    def forward(module, q, k, v, lens):
        return module(q, k, v, lens)

    def stored(module, q, k, v, lens):
        module.attention_weights = None
        module(q, k, v, lens)
        if module.attention_weights is None:
            raise AttributeError("forward did not store its weights: set self.attention_weights = "
                                 "weights, shape (batch, n, m), before returning")
        return module.attention_weights

    def no_unsqueeze(keys_first):
        def compute(module, q, k, v, lens):
            qh = _linear(q, module.W_q.weight)  # (b, n, num_hiddens)
            kh = _linear(k, module.W_k.weight)  # (b, m, num_hiddens)
            features = _tanh(kh + qh if keys_first else qh + kh)  # wrong unless n == m
            scores = _linear(features, module.w_v.weight)  # (b, n, 1)
            return _masked_softmax(scores, lens) @ v
        return compute

    def out(weights_fn):
        return lambda module, q, k, v, lens: weights_fn(module, q, k, lens) @ v

    def transposed(use_bmm):
        def compute(module, q, k, v, lens):
            weights = _masked_softmax(_additive_scores(module, q, k), lens)  # (b, n, m)
            flipped = weights.transpose(1, 2)  # (b, m, n)
            return torch.bmm(flipped, v) if use_bmm else flipped @ v
        return compute

    def one_denominator(module, q, k, lens):  # one sum over the whole (n, m) matrix of each item
        scores = _additive_scores(module, q, k)  # (b, n, m)
        e = _exp(scores.masked_fill(~_keep_mask(scores, lens), NEG_INF) if lens is not None else scores)
        return e / e.sum(dim=(1, 2), keepdim=True)  # (b, n, m)

    unsqueeze_hint = ("you added W_q q (batch, n, h) and W_k k (batch, m, h) without unsqueeze, which "
                      "pairs query i with key i; every query must meet every key: "
                      "W_q(queries).unsqueeze(2) + W_k(keys).unsqueeze(1) has shape (batch, n, m, h)")
    transpose_hint = ("spot the bug: you computed alpha^T V; the output is alpha(Q, K) V, with the weights "
                      "(batch, n, m) on the left: weights @ values")
    mistakes = [
        Mistake(unsqueeze_hint, no_unsqueeze(False)),
        Mistake(unsqueeze_hint, no_unsqueeze(True)),
        Mistake("you left out the tanh: a(q, k) = w_v^T tanh(W_q q + W_k k)",
                out(lambda mod, q, k, lens: _masked_softmax(_additive_scores(mod, q, k, tanh=False), lens))),
        Mistake("you normalised over the queries (dim=1); each query's weights over the keys must "
                "sum to 1 (the last axis)",
                out(lambda mod, q, k, lens: _softmax(_additive_scores(mod, q, k), dim=1))),
        Mistake("you ignored valid_lens: pass them to masked_softmax so padded keys get weight 0",
                out(lambda mod, q, k, lens: _softmax(_additive_scores(mod, q, k), dim=-1))),
        Mistake("you summed the hidden features instead of scoring them with self.w_v: "
                "a(q, k) = w_v^T tanh(...)",
                out(lambda mod, q, k, lens: _masked_softmax(_tanh(
                    _linear(q, mod.W_q.weight)[:, :, None] + _linear(k, mod.W_k.weight)[:, None]).sum(-1),
                    lens))),
        Mistake(transpose_hint, transposed(False)),
        Mistake(transpose_hint, transposed(True)),
        Mistake("spot the bug: your softmax normaliser sums over every query's scores at once; the "
                "softmax is per row, so each query's weights over the keys sum to 1 on their own: "
                "masked_softmax(scores, valid_lens) over the last axis", out(one_denominator)),
    ]
    check(name, forward, lambda *a: _additive(*a)[0], cases, mistakes)
    weight_mistakes = [
        Mistake("self.attention_weights holds the scores; store the weights after the masked softmax",
                lambda module, q, k, v, lens: _additive_scores(module, q, k)),
    ]
    check(f"{name}.attention_weights", stored, lambda *a: _additive(*a)[1], cases, weight_mistakes)


def tanh_attention(cls, hidden=False):
    """Check a TanhAttention(in_dim, att_dim) class: forward(x) -> (z, global_feature)."""
    __tracebackhide__ = True
    name = "TanhAttention"
    how = "nn.Linear(in_dim, att_dim) with Xavier-uniform weights and zero bias"
    # Initialisation, on a layer big enough to measure the spread of its weights.
    probe = build(cls, name, (48, 16), seed=90)
    for attr in ("query", "key", "value"):
        layer = require_linear(probe, f"{name}(48, 16)", attr, 48, 16, bias=True, how=how)
        weight, bias = layer.weight.detach(), layer.bias.detach()
        if bool(bias.abs().max() > 0):
            raise ExerciseFailed(f"{name}: self.{attr}.bias is not zero: the source initialises every bias "
                                 f"to 0 (nn.init.zeros_)")
        bound = math.sqrt(6.0 / (48 + 16))  # xavier_uniform_ draws from U(-bound, bound)
        spread = float(weight.std())
        largest = float(weight.abs().max())
        if largest > bound * 1.0001:
            raise ExerciseFailed(
                f"{name}: self.{attr}.weight does not look Xavier-uniform: for in_dim=48, att_dim=16 "
                f"xavier_uniform_ draws every entry from [-{bound:.3f}, {bound:.3f}], but an entry is "
                f"{largest:.3f} (a normal draw, such as xavier_normal_, has no bound). "
                f"Use nn.init.xavier_uniform_(self.{attr}.weight)")
        if abs(spread / (bound / math.sqrt(3)) - 1) > 0.1:
            raise ExerciseFailed(
                f"{name}: self.{attr}.weight does not look Xavier-uniform: for in_dim=48, att_dim=16 its entries "
                f"should lie in [-{bound:.3f}, {bound:.3f}] with std {bound / math.sqrt(3):.3f}, but their "
                f"std is {spread:.3f}. Use nn.init.xavier_uniform_(self.{attr}.weight)")

    # (in_dim, att_dim), b, n, label
    specs = [((6, 4), 2, 5, "x of shape (2, 5, 6): 2 agents, 5 targets, 6 features; att_dim = 4")]
    if hidden:
        specs = [
            ((5, 8), 3, 7, "x of shape (3, 7, 5), att_dim = 8"),
            ((3, 3), 2, 3, "x of shape (2, 3, 3), att_dim = 3 (seq = att_dim, so summing the wrong "
                           "axis raises no error)"),
            ((4, 6), 1, 1, "a single token: x of shape (1, 1, 4)"),
        ]
    cases = []
    for i, ((in_dim, att_dim), b, n, label) in enumerate(specs):
        module = build(cls, name, (in_dim, att_dim), seed=91 + i)
        for attr in ("query", "key", "value"):
            require_linear(module, f"{name}({in_dim}, {att_dim})", attr, in_dim, att_dim, bias=True, how=how)
        with torch.no_grad():  # non-zero biases, so a forgotten bias cannot hide
            for attr in ("query", "key", "value"):
                getattr(module, attr).bias.copy_(0.3 * randn(att_dim, seed=100 + i))
        cases.append(Case(label, (module, 1.5 * randn(b, n, in_dim, seed=110 + i))))

    def variant(tanh=True, scale=False, dim=-1, transpose=False, global_norm=False, pool="sum"):
        def compute(module, x):
            q, k, v = _tanh_qkv(module, x, tanh)
            scores = q @ k.transpose(-2, -1)  # (b, n, n)
            if scale:
                scores = scores / math.sqrt(q.shape[-1])
            if global_norm:
                e = _exp(scores)
                weights = e / (e.sum() if global_norm == "all" else e.sum(dim=(1, 2), keepdim=True))
            else:
                weights = _softmax(scores, dim=dim)
            if transpose:
                weights = weights.transpose(1, 2)
            z = weights @ v  # (b, n, att_dim)
            pooled = {"sum": lambda: z.sum(dim=1), "mean": lambda: z.mean(dim=1),
                      "last": lambda: z.sum(dim=-1)}[pool]()
            return z, pooled
        return compute

    normaliser_hint = ("spot the bug: your softmax normaliser sums over every entry of the score "
                       "matrix; the softmax is per row, so each query's weights over the keys sum to 1 "
                       "on their own: softmax(scores, dim=-1)")
    mistakes = [
        Mistake("you left out the tanh: q, k and v are each tanh(Linear(x))", variant(tanh=False)),
        Mistake("you divided the scores by sqrt(d); this layer has no 1/sqrt(d) scaling (tanh already "
                "bounds each score to [-d, d])", variant(scale=True)),
        Mistake("you normalised over the queries (dim=1); each query's weights over the keys must "
                "sum to 1: softmax(scores, dim=-1)", variant(dim=1)),
        Mistake("spot the bug: you computed alpha^T V (the source's transposed formula); the output is "
                "alpha(Q, K) V, with row i of the weights mixing the values for token i",
                variant(transpose=True)),
        Mistake(normaliser_hint, variant(global_norm=True)),
        Mistake(normaliser_hint, variant(global_norm="all")),
        Mistake("the global feature is a mean; the source sums the outputs over the sequence: "
                "z.sum(dim=1)", variant(pool="mean")),
        Mistake("the global feature sums the wrong axis; sum over the sequence axis (dim=1) to get one "
                "(att_dim,) vector per batch item", variant(pool="last")),
    ]
    check(name, lambda module, x: module(x), _tanh_attention, cases, mistakes)


learner_facing(globals())
