"""Checks for notebook 07 (efficient attention): fitting a log-log slope, the online softmax,
blockwise (FlashAttention-style) attention, and one decoding step with a key/value cache.

Besides comparing numbers with a reference, two checks look at *how* the answer is computed,
by watching the torch calls the learner's function makes (`_Recorder`): the online softmax
must not reduce whole rows at once, and blockwise attention must never build a tensor as large
as the full (n, m) score matrix.
"""

import math

import torch
from torch.overrides import TorchFunctionMode

from .. import blocks
from . import forbidden
from .core import Case, ExerciseFailed, Mistake, check, isolated, learner_facing, randn
from .forbidden import LOGSUMEXP, MULTIHEAD, SDPA, SOFTMAX, forbids
from .self_attention import _worked_example  # source 000

NEG_INF = float("-inf")
_Tensor = torch.Tensor


# ---------------------------------------------------------------- watching torch calls
@forbidden.trusted  # it runs inside the learner's code, recording what it calls
class _Recorder(TorchFunctionMode):
    """Records every torch call made while active: its name, its tensor inputs' shapes, and the
    shape of every *new* tensor it returns (views share memory and are skipped)."""

    def __init__(self):
        super().__init__()
        self.calls = []  # (name, input shapes, output shapes of new tensors, all output shapes)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        outputs = result if isinstance(result, (tuple, list)) else (result,)
        tensors = [t for t in outputs if isinstance(t, _Tensor)]
        inputs = [tuple(a.shape) for a in args if isinstance(a, _Tensor)]
        fresh = [tuple(t.shape) for t in tensors
                 if t._base is None and not any(t is a for a in args)]
        self.calls.append((getattr(func, "__name__", str(func)), inputs, fresh, [tuple(t.shape) for t in tensors]))
        return result


def _record(fn, *args, **kwargs):
    """Run fn `isolated` under a _Recorder; None if fn raised (the numerical check reports errors)."""
    args = tuple(a.clone() if isinstance(a, _Tensor) else a for a in args)
    recorder = _Recorder()
    with isolated():
        try:
            with recorder:
                forbidden.call(fn, args, kwargs)
        except (NotImplementedError, forbidden.Forbidden):
            raise
        except Exception:
            return None
    return recorder


# ---------------------------------------------------------------- loglog_slope
def _logs(values):
    return torch.tensor([float(v) for v in values], dtype=torch.float64).log()


def _fit(x, y):
    xc, yc = x - x.mean(), y - y.mean()
    return float((xc * yc).sum() / (xc * xc).sum())


def _slope(sizes, values):
    return _fit(_logs(sizes), _logs(values))


def loglog_slope(fn, hidden=False):
    cases = [Case("sizes [1, 2, 4, 8] and values [3, 12, 48, 192] (exactly 3 n^2: slope 2)",
                  ([1, 2, 4, 8], [3.0, 12.0, 48.0, 192.0]))]
    if hidden:
        noise = [1.3, 0.8, 1.1, 0.7, 1.25]  # a noisy measurement: the end points alone mislead
        sizes = [100, 300, 1000, 3000, 10000]
        cases = [
            Case("a pure power law 5 n^1.5 at sizes [100, 300, 1000, 3000, 10000]",
                 (sizes, [5 * s ** 1.5 for s in sizes])),
            Case("noisy timings: 2e-6 n^2 times factors [1.3, 0.8, 1.1, 0.7, 1.25] (least squares, not "
                 "the two end points)", (sizes, [2e-6 * s**2 * f for s, f in zip(sizes, noise)])),
            Case("a falling curve 7 / n (slope -1) at sizes [16, 64, 256]", ([16, 64, 256], [7 / 16, 7 / 64, 7 / 256])),
        ]

    def ends(sizes, values):
        x, y = _logs(sizes), _logs(values)
        return float((y[-1] - y[0]) / (x[-1] - x[0]))

    def raw(sizes, values):
        return _fit(torch.tensor(sizes, dtype=torch.float64), torch.tensor(values, dtype=torch.float64))

    def semilog(sizes, values):
        return _fit(torch.tensor(sizes, dtype=torch.float64), _logs(values))

    def through_origin(sizes, values):
        x, y = _logs(sizes), _logs(values)
        return float((x * y).sum() / (x * x).sum())

    mistakes = [
        Mistake("you fitted the raw numbers; a power law c * n^p is a straight line of slope p only "
                "on log axes: fit log(values) against log(sizes)", raw),
        Mistake("you took the log of the values only; take the log of the sizes too", semilog),
        Mistake("you swapped the axes: the slope is d log(value) / d log(size), so regress "
                "log(values) on log(sizes), not the other way round", lambda s, v: _fit(_logs(v), _logs(s))),
        Mistake("you used only the first and last points; fit a least-squares line through all of "
                "them (noisy timings make the end points unreliable)", ends),
        Mistake("you fitted a line through the origin (no intercept): subtract the means of log(sizes) "
                "and log(values) first, or use a fit with an intercept", through_origin),
    ]
    check("loglog_slope", fn, _slope, cases, mistakes, atol=1e-4, rtol=1e-4)


# ---------------------------------------------------------------- online_softmax
def _softmax(x):
    """Softmax over the last axis; a row with no finite entry (all -inf) gives zeros."""
    return torch.softmax(x, dim=-1).nan_to_num(0.0)


def _online(x, *, rescale=True, guard=True, init=NEG_INF, wrong_sign=False, recompute=True,
            finish="where"):
    """The streaming softmax, with switches that reproduce the classic mistakes."""
    lead = x.shape[:-1]
    running_max = torch.full(lead, init, dtype=x.dtype)
    running_sum = torch.zeros(lead, dtype=x.dtype)
    kept = []
    for j in range(x.shape[-1]):
        entry = x[..., j]
        new_max = torch.maximum(running_max, entry)
        shift = new_max.masked_fill(new_max == NEG_INF, 0.0) if guard else new_max
        factor = torch.exp(shift - running_max) if wrong_sign else torch.exp(running_max - shift)
        running_sum = (running_sum * factor if rescale else running_sum) + torch.exp(entry - shift)
        kept.append(torch.exp(entry - shift))
        running_max = new_max
    shift = running_max.masked_fill(running_max == NEG_INF, 0.0) if guard else running_max
    numerators = torch.exp(x - shift[..., None]) if recompute else torch.stack(kept, dim=-1)
    if finish == "where":
        return numerators / torch.where(running_sum > 0, running_sum, 1.0)[..., None]
    out = numerators / running_sum[..., None]
    return out.nan_to_num(0.0) if finish == "nan_to_num" else out


def _streaming_problem(fn):
    """Why fn is not a one-pass softmax (it reduces whole rows at once), or None."""
    x = randn(3, 16, seed=70)
    recorder = _record(fn, x)
    if recorder is None:
        return None
    full, rows = tuple(x.shape), {(), (3,), (3, 1)}
    for name, inputs, _, outputs in recorder.calls:
        if name in ("softmax", "log_softmax", "_softmax", "logsumexp"):
            return (f"it calls {name}: build the softmax yourself from a running maximum and a running "
                    "sum, updated one entry (or one chunk) at a time")
        if inputs and inputs[0] == full and outputs and outputs[0] in rows:
            if name in ("max", "amax", "logsumexp"):
                return ("it takes the maximum of whole rows at once (like x.amax(-1)): keep a running "
                        "maximum instead, updated one entry (or one chunk) at a time")
            if name in ("sum", "nansum"):
                return ("it sums whole rows of exponentials at the end: keep a running sum during the "
                        "pass, rescaled by exp(old max - new max) whenever the maximum grows")
    return None


@forbids(SOFTMAX, LOGSUMEXP)
def online_softmax(fn, hidden=False):
    __tracebackhide__ = True
    if not callable(fn):
        raise ExerciseFailed(f"online_softmax should be a function, but it is a {type(fn).__name__}")
    problem = _streaming_problem(fn)
    if problem:
        raise ExerciseFailed(f"online_softmax is not a one-pass softmax: {problem}")
    masked = torch.tensor([[0.5, NEG_INF, 2.0, 1.0], [4.0, 1.0, -3.0, NEG_INF]])
    cases = [
        Case("the scores [1, 2, 3] (the maximum grows at every step)", (torch.tensor([1.0, 2.0, 3.0]),)),
        Case("huge scores [1000, 1001, 1002] (exp overflows unless you shift)",
             (torch.tensor([1000.0, 1001.0, 1002.0]),)),
        Case("two rows with a masked (-inf) entry each, [[0.5, -inf, 2, 1], [4, 1, -3, -inf]]", (masked,)),
    ]
    if hidden:
        leading = torch.tensor([[NEG_INF, NEG_INF, 1.0, 2.0], [NEG_INF, 0.0, NEG_INF, -1.0]])
        all_masked = torch.tensor([[NEG_INF] * 5, [1.0, 3.0, 2.0, 5.0, 4.0], [NEG_INF, NEG_INF, 0.0, NEG_INF, NEG_INF]])
        cases = [
            Case("a 4 x 9 matrix of random scores (the maximum changes at irregular places)",
                 (5 * randn(4, 9, seed=71),)),
            Case("a batch of 2 x 3 rows of 7 huge scores (around 10^4)", (1e4 + 30 * randn(2, 3, 7, seed=72),)),
            Case("a rising row [0, 100, 200, ..., 1900] (the maximum jumps by 100 at every step)",
                 (torch.arange(0.0, 2000.0, 100.0),)),
            Case("rows of very negative scores [[-1000, -1001, -999.5], [-500, -800, -900]]",
                 (torch.tensor([[-1000.0, -1001.0, -999.5], [-500.0, -800.0, -900.0]]),)),
            Case("rows whose first entries are masked, [[-inf, -inf, 1, 2], [-inf, 0, -inf, -1]] "
                 "(exp(-inf - (-inf)) is NaN)", (leading,)),
            Case("a fully masked row (all -inf, must give zeros) among normal rows", (all_masked,)),
            Case("a single score [5.0]", (torch.tensor([5.0]),)),
        ]
    nan_row = ("a row that is all -inf gives NaN (0 / 0): the course's convention is zeros for a fully "
               "masked row, so divide by 1 where the running sum is 0 (or replace the NaN by 0)")
    no_guard = ("exp(-inf - (-inf)) is NaN: while the running maximum is still -inf (masked entries "
                "so far), shift by 0 instead, e.g. m.masked_fill(m == float('-inf'), 0.0)")
    mistakes = [
        Mistake("you forgot to rescale the running sum when the maximum changes: multiply it by "
                "exp(old max - new max) before adding the new term", lambda x: _online(x, rescale=False)),
        Mistake("you forgot to rescale the running sum when the maximum changes: multiply it by "
                "exp(old max - new max) before adding the new term",
                lambda x: _online(x, rescale=False, finish="nan_to_num")),
        Mistake("the rescaling factor is upside down: when the maximum grows from m_old to m_new, the "
                "old sum shrinks by exp(m_old - m_new), a number <= 1", lambda x: _online(x, wrong_sign=True)),
        Mistake("you kept each exp(x_j - running max) from the pass, but the maximum may still grow "
                "after entry j: compute exp(x - final max) after the pass", lambda x: _online(x, recompute=False)),
        Mistake("you kept each exp(x_j - running max) from the pass, but the maximum may still grow "
                "after entry j: compute exp(x - final max) after the pass",
                lambda x: _online(x, recompute=False, finish="nan_to_num")),
        Mistake(no_guard, lambda x: _online(x, guard=False)),
        Mistake(no_guard, lambda x: _online(x, guard=False, finish="nan_to_num")),
        Mistake(no_guard, lambda x: _online(x, guard=False, finish="plain")),
        Mistake(nan_row, lambda x: _online(x, finish="plain")),
        Mistake("the running maximum started at 0 instead of -inf: for a row of very negative scores "
                "every exp(x - 0) underflows to 0. Start it at float('-inf')", lambda x: _online(x, init=0.0)),
        Mistake("the running maximum started at 0 instead of -inf: for a row of very negative scores "
                "every exp(x - 0) underflows to 0. Start it at float('-inf')",
                lambda x: _online(x, init=0.0, finish="plain")),
        Mistake("the running maximum started at 0 instead of -inf: for a row of very negative scores "
                "every exp(x - 0) underflows to 0. Start it at float('-inf')",
                lambda x: _online(x, init=0.0, finish="nan_to_num")),
        Mistake("you did not subtract any maximum, so exp overflows on large scores",
                lambda x: x.exp() / x.exp().sum(-1, keepdim=True)),
    ]
    check("online_softmax", fn, _softmax, cases, mistakes)


# ---------------------------------------------------------------- blockwise_attention
def _attention(q, k, v, block_size=None, causal=False):
    """The reference: ordinary attention with the whole score matrix (block_size is ignored)."""
    mask = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril() if causal else None
    return blocks.scaled_dot_product_attention(q, k, v, mask)


def _flash(q, k, v, block_size, causal=False, *, rescale_acc=True, rescale_sum=True, divide="end",
           strict=False, offsets=True, init=NEG_INF, scaled=True, drop_tail=False, use_causal=True):
    """The FlashAttention forward recurrence over blocks of keys, with switches that reproduce
    the classic mistakes."""
    n, m = q.shape[-2], k.shape[-2]
    scale = 1 / math.sqrt(q.shape[-1]) if scaled else 1.0
    lead = q.shape[:-1]
    row_max = torch.full(lead, init, dtype=q.dtype)
    row_sum = torch.zeros(lead, dtype=q.dtype)
    acc = torch.zeros(*lead, v.shape[-1], dtype=q.dtype)
    stop = (m // block_size) * block_size if drop_tail else m
    for start in range(0, stop, block_size):
        k_block, v_block = k[..., start:start + block_size, :], v[..., start:start + block_size, :]
        scores = (q @ k_block.transpose(-2, -1)) * scale
        if causal and use_causal:
            query_pos = torch.arange(n)[:, None]
            key_pos = torch.arange(k_block.shape[-2])[None, :] + (start if offsets else 0)
            visible = key_pos < query_pos if strict else key_pos <= query_pos
            scores = scores.masked_fill(~visible, NEG_INF)
        if divide == "softmax_each":
            acc = acc + torch.softmax(scores, dim=-1) @ v_block
            continue
        new_max = torch.maximum(row_max, scores.amax(dim=-1))
        p = torch.exp(scores - new_max[..., None])
        alpha = torch.exp(row_max - new_max)
        row_sum = (alpha * row_sum if rescale_sum else row_sum) + p.sum(dim=-1)
        if divide == "new_only":
            acc = (alpha[..., None] * acc if rescale_acc else acc) + (p @ v_block) / row_sum[..., None]
        else:
            acc = (alpha[..., None] * acc if rescale_acc else acc) + p @ v_block
            if divide == "each":
                acc = acc / row_sum[..., None]
        row_max = new_max
    return acc / row_sum[..., None] if divide == "end" else acc


def _materialised(fn):
    """A sentence if fn builds a tensor as large as the whole (n, m) score matrix, else None."""
    n, m, block = 40, 56, 8
    recorder = _record(fn, randn(2, n, 4, seed=80), randn(2, m, 4, seed=81), randn(2, m, 3, seed=82),
                       block, causal=True)
    if recorder is None:
        return None
    for name, _, fresh, _ in recorder.calls:
        for shape in fresh:
            if math.prod(shape) >= n * m:
                return (f"with n = {n} queries, m = {m} keys and block_size = {block}, it built a tensor of "
                        f"shape {shape} (in {name}), as large as the whole (n, m) score matrix. Compute "
                        "the scores, and the causal mask, one block of keys at a time: the largest "
                        "tensor should be (..., n, block_size)")
    return None


@forbids(SDPA, MULTIHEAD)
def blockwise_attention(fn, hidden=False):
    __tracebackhide__ = True
    if not callable(fn):
        raise ExerciseFailed(f"blockwise_attention should be a function, but it is a {type(fn).__name__}")
    problem = _materialised(fn)
    if problem:
        raise ExerciseFailed(f"blockwise_attention is not blockwise: {problem}")
    q, k, v = randn(6, 4, seed=83), randn(6, 4, seed=84), randn(6, 4, seed=85)
    cases = [
        Case("6 queries, 6 keys, d = 4, blocks of 2 keys", (q, k, v, 2)),
        Case("the same with causal=True (query i sees keys 0..i)", (q, k, v, 2), {"causal": True}),
    ]
    if hidden:
        big = torch.ones(4)
        cases = [
            Case("5 queries, 11 keys, d_k = 4, d_v = 3, blocks of 3 (the last block holds only 2 keys)",
                 (randn(5, 4, seed=86), randn(11, 4, seed=87), randn(11, 3, seed=88), 3)),
            Case("batched (2, 3, 10, 4) queries, keys and values, blocks of 4 (10 is not a multiple of 4)",
                 (randn(2, 3, 10, 4, seed=89), randn(2, 3, 10, 4, seed=90), randn(2, 3, 10, 4, seed=91), 4)),
            Case("blocks of 1 key (the maximum may change at every key)",
                 (randn(4, 4, seed=92), 3 * randn(7, 4, seed=93), randn(7, 2, seed=94), 1)),
            Case("a block larger than the sequence (block_size = 16 > 7 keys)",
                 (randn(3, 4, seed=95), randn(7, 4, seed=96), randn(7, 2, seed=97), 16)),
            Case("causal, 9 tokens, blocks of 4 (block offsets matter: the second block starts at key 4)",
                 (randn(9, 4, seed=98), randn(9, 4, seed=99), randn(9, 3, seed=100), 4), {"causal": True}),
            Case("causal, batched (2, 7, 8) with d_v = 5, blocks of 3",
                 (randn(2, 7, 8, seed=101), randn(2, 7, 8, seed=102), randn(2, 7, 5, seed=103), 3), {"causal": True}),
            Case("causal with blocks of 1 key",
                 (randn(5, 4, seed=104), randn(5, 4, seed=105), randn(5, 3, seed=106), 1),
                 {"causal": True}),
            Case("very negative scores (around -800 for every key), blocks of 2",
                 (randn(3, 4, seed=107) - 20 * big, randn(6, 4, seed=108) + 20 * big, randn(6, 3, seed=109), 2)),
        ]

    def variant(**how):
        return lambda q, k, v, block_size, causal=False: _flash(q, k, v, block_size, causal, **how)

    per_block = ("you divided by the denominator inside the loop: the running sum is not final until the "
                 "last block. Keep an unnormalised accumulator (rescaled by exp(m_old - m_new)) and divide "
                 "by the running sum once, after the loop")
    mistakes = [
        Mistake("you forgot to rescale the output accumulator when the maximum changes: multiply it by "
                "exp(m_old - m_new) before adding the new block's p @ v", variant(rescale_acc=False)),
        Mistake("you forgot to rescale the running sum when the maximum changes: multiply it by "
                "exp(m_old - m_new) before adding the new block's row sums", variant(rescale_sum=False)),
        Mistake("you forgot to rescale both the running sum and the accumulator when the maximum changes: "
                "multiply both by exp(m_old - m_new)", variant(rescale_sum=False, rescale_acc=False)),
        Mistake(per_block, variant(divide="each")),
        Mistake(per_block, variant(divide="new_only")),
        Mistake("you took a separate softmax over each block and added the results: the weights of all "
                "blocks must share one denominator (the running sum) and one maximum",
                variant(divide="softmax_each")),
        Mistake("off by one in the causal mask: key j is visible to query i when j <= i (a token sees "
                "itself); with j < i query 0 sees nothing", variant(strict=True)),
        Mistake("the causal mask ignores the block's offset: key j of a block starting at `start` is key "
                "start + j of the sequence; compare start + j with the query position",
                variant(offsets=False)),
        Mistake("causal=True is ignored: mask the keys after each query (key position > query position) "
                "with -inf", variant(use_causal=False)),
        Mistake("the last, shorter block is skipped: loop over range(0, m, block_size) so keys that do "
                "not fill a whole block are included", variant(drop_tail=True)),
        Mistake("you did not scale the scores by 1 / sqrt(d_k)", variant(scaled=False)),
        Mistake("the running maximum started at 0 instead of -inf: when every score is far below 0, "
                "every exp(s - 0) underflows and the output is 0 / 0. Start it at float('-inf')",
                variant(init=0.0)),
    ]
    check("blockwise_attention", fn, _attention, cases, mistakes)


# ---------------------------------------------------------------- decode_step
def _step(x_t, k_cache, v_cache, w_q, w_k, w_v, *, axis=-2, attend_first=False, update=True,
          cache_inputs=False, full_mask=False, scaled=True, swap=False, keys_T=False):
    """One cached decoding step, with switches that reproduce the classic mistakes."""
    q, k, v = x_t @ w_q, x_t @ w_k, x_t @ w_v
    new_k = torch.cat([k_cache, x_t if cache_inputs else k], dim=axis)
    new_v = torch.cat([v_cache, x_t if cache_inputs else v], dim=axis)
    keys, values = (k_cache, v_cache) if attend_first else (new_k, new_v)
    if full_mask:
        out = blocks.scaled_dot_product_attention(q, keys, values, blocks.causal_mask(keys.shape[-2]))
    elif keys_T:  # keys.T reverses every axis (permute does it without .T's deprecation warning)
        scores = q @ keys.permute(*reversed(range(keys.dim()))) / q.shape[-1] ** 0.5
        out = torch.softmax(scores, dim=-1) @ values
    elif scaled:
        out = blocks.scaled_dot_product_attention(q, keys, values)
    else:
        out = torch.softmax(q @ keys.transpose(-2, -1), dim=-1) @ values
    if not update:
        return out, k_cache, v_cache
    return (out, new_v, new_k) if swap else (out, new_k, new_v)


def _decode_all(step, x, w_q, w_k, w_v):
    """Decode a whole sequence x (b, n, d_model) token by token from an empty cache."""
    k_cache = x.new_zeros(x.shape[0], 0, w_k.shape[1])  # (b, 0, d_k)
    v_cache = x.new_zeros(x.shape[0], 0, w_v.shape[1])  # (b, 0, d_v)
    outputs = []
    for t in range(x.shape[1]):
        out, k_cache, v_cache = step(x[:, t:t + 1], k_cache, v_cache, w_q, w_k, w_v)
        outputs.append(out)
    return torch.cat(outputs, dim=1)  # (b, n, d_v)


def _causal_reference(x, w_q, w_k, w_v):
    return blocks.scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v, blocks.causal_mask(x.shape[-2]))


def _step_case(label, x, w_q, w_k, w_v, t):
    """Decode token t of x (b, n, d_model) with the keys and values of tokens 0..t-1 cached."""
    prefix = x[:, :t]
    return Case(label, (x[:, t:t + 1], prefix @ w_k, prefix @ w_v, w_q, w_k, w_v))


@forbids(allow=(blocks.scaled_dot_product_attention, blocks.attention))
def decode_step(fn, hidden=False):
    __tracebackhide__ = True
    if not callable(fn):
        raise ExerciseFailed(f"decode_step should be a function, but it is a {type(fn).__name__}")
    x, w_q, w_k, w_v = _worked_example()
    x = x[None]  # (b, n, d_model) = (1, 3, 4)
    cases = [
        _step_case("the first token of source 000, with an empty cache (1, 0, 3)", x, w_q, w_k, w_v, 0),
        _step_case("the third token of source 000, with the first two tokens' keys and values cached",
                   x, w_q, w_k, w_v, 2),
    ]
    sequence = [Case("source 000's 3 tokens decoded one at a time (x: 1 x 3 x 4)", (x, w_q, w_k, w_v))]
    if hidden:
        w = (randn(6, 4, seed=110), randn(6, 4, seed=111), randn(6, 3, seed=112))
        x2 = randn(2, 7, 6, seed=113)
        cases = [
            _step_case("a batch of 2, d_model = 6, d_k = 4, d_v = 3, 5 tokens cached", x2, *w, 5),
            _step_case("a batch of 2 with an empty cache (2, 0, 4)", x2, *w, 0),
            _step_case("a batch of 2 with 1 token cached", x2, *w, 1),
            _step_case("a batch of 3 with 2 tokens cached, d_model = d_k = d_v = 4",
                       randn(3, 4, 4, seed=114), randn(4, 4, seed=115), randn(4, 4, seed=116),
                       randn(4, 4, seed=117), 2),
        ]
        sequence = [
            Case("a batch of 2 sequences of 7 tokens decoded one at a time (d_model = 6, d_k = 4, d_v = 3)",
                 (x2, *w)),
        ]

    def variant(**how):
        return lambda *args: _step(*args, **how)

    wrong_axis = ("the cache grew on the wrong axis: the caches are (batch, t, d) and the new token's key "
                  "is (batch, 1, d), so append along the sequence axis, torch.cat([cache, k], dim=1) "
                  "(or dim=-2)")
    mistakes = [
        Mistake(wrong_axis, variant(axis=0)),
        Mistake(wrong_axis, variant(axis=-1)),
        Mistake("you attended before appending: the new token must see itself too, so append its key "
                "and value to the caches first, then attend over the updated caches",
                variant(attend_first=True)),
        Mistake("you returned the old caches: return the caches with the new token's key and value "
                "appended, so the next step can use them", variant(update=False)),
        Mistake("you stored the token's input x_t in the caches; store its key x_t @ w_k and its value "
                "x_t @ w_v", variant(cache_inputs=True)),
        Mistake("you applied a (t + 1) x (t + 1) causal mask to a single query: the new token is the "
                "last position, so it may see every cached token and needs no mask",
                variant(full_mask=True)),
        Mistake("you did not scale the scores by 1 / sqrt(d_k)", variant(scaled=False)),
        Mistake("you transposed the cached keys with .T: on a batch (batch, t, d_k) .T reverses all three "
                "axes; swap only the last two, k_cache.transpose(-2, -1)", variant(keys_T=True)),
        Mistake("you returned the caches in the wrong order: return (output, k_cache, v_cache)",
                variant(swap=True)),
    ]
    check("decode_step", fn, _step, cases, mistakes)
    check("decode_step (a whole sequence, compared with causal attention over all of it)",
          lambda *args: _decode_all(fn, *args), _causal_reference, sequence,
          [Mistake(m.hint, lambda *args, f=m.compute: _decode_all(f, *args)) for m in mistakes])


learner_facing(globals())
