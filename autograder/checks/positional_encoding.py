"""Checks for notebook 05 (positional encoding): permuting tokens, the sinusoidal table, the
rotation that shifts it by k positions, and the smallest distance between two positions.
A table has n positions and d_model columns (`dim`, as the learner's functions name it).
"""

import math

import torch

from ..blocks import sinusoidal_encoding as _sinusoidal
from .core import Case, Mistake, check, learner_facing, randn

# ---------------------------------------------------------------- references
# Permutations used by the checks. None of them is its own inverse, so applying the inverse
# permutation by mistake always gives a different answer.
PERM_4 = [2, 0, 3, 1]
PERM_5 = [3, 0, 4, 1, 2]


def _permute(x, perm):
    return x[..., perm, :]


def _inverse(perm):
    return torch.argsort(perm)


def _frequencies(dim, base=10000.0, exponent=None):
    """Angular frequency of each (sin, cos) pair: base^(-2i/dim), shape (d_model / 2,)."""
    pair = torch.arange(dim // 2, dtype=torch.float64)
    if exponent is None:
        exponent = 2 * pair / dim
    return base ** (-exponent)


def _table(num_positions, dim, frequencies, first=0, interleave=True, sin_first=True):
    """An encoding table with the given per-pair frequencies, built in float64, returned float32."""
    t = torch.arange(first, first + num_positions, dtype=torch.float64)[:, None]  # (n, 1)
    angles = t * frequencies  # (n, d_model / 2)
    even, odd = (angles.sin(), angles.cos()) if sin_first else (angles.cos(), angles.sin())
    if not interleave:
        return torch.cat([even, odd], dim=-1).float()
    table = torch.empty(num_positions, dim, dtype=torch.float64)
    table[:, 0::2], table[:, 1::2] = even, odd
    return table.float()


def _column_index_table(num_positions, dim):
    """PE[t, j] = sin or cos of t / 10000^(j/dim): the column index j used in place of 2i."""
    t = torch.arange(num_positions, dtype=torch.float64)[:, None]  # (n, 1)
    angles = t * 10000.0 ** (-torch.arange(dim, dtype=torch.float64) / dim)  # (n, d_model)
    table = angles.sin()
    table[:, 1::2] = angles[:, 1::2].cos()
    return table.float()


def _shift(k, dim, frequencies=None, direction=1):
    """Block-diagonal (d_model, d_model) matrix M_k with PE(t + k) = PE(t) @ M_k (row vectors)."""
    if frequencies is None:
        frequencies = _frequencies(dim)
    angles = k * frequencies  # (d_model / 2,)
    cos, sin = angles.cos(), direction * angles.sin()
    blocks = [torch.stack([torch.stack([c, -s]), torch.stack([s, c])]) for c, s in zip(cos, sin)]
    return torch.block_diag(*blocks).float()


def _shift_halves(k, dim):
    """The rotation written for a table laid out as [all sines | all cosines]."""
    angles = k * _frequencies(dim)
    cos, sin = torch.diag(angles.cos()), torch.diag(angles.sin())
    return torch.cat([torch.cat([cos, -sin], dim=1), torch.cat([sin, cos], dim=1)], dim=0).float()


def _distances(pe):
    pe = pe.double()
    return (pe[:, None, :] - pe[None, :, :]).norm(dim=-1)  # (n, n)


def _min_distance(pe):
    dist = _distances(pe)
    dist.fill_diagonal_(math.inf)
    return dist.min().item()


# ---------------------------------------------------------------- checks
def permute_tokens(fn, hidden=False):
    tokens = torch.arange(12.0).view(4, 3)  # 4 tokens with 3 features
    cases = [Case("4 tokens x 3 features, perm = [2, 0, 3, 1]", (tokens, torch.tensor(PERM_4)))]
    if hidden:
        cases = [
            Case("a batch: x of shape (batch=2, seq=5, d=3), perm = [3, 0, 4, 1, 2]",
                 (randn(2, 5, 3, seed=50), torch.tensor(PERM_5))),
            Case("a square input, 4 tokens x 4 features (permuting features does not raise an error)",
                 (randn(4, 4, seed=51), torch.tensor(PERM_4))),
            Case("heads: x of shape (batch=2, heads=3, seq=5, d_head=2), perm = [3, 0, 4, 1, 2]",
                 (randn(2, 3, 5, 2, seed=52), torch.tensor(PERM_5))),
        ]
    mistakes = [
        Mistake("you permuted the feature axis (the last one); tokens are rows, axis -2: "
                "x[..., perm, :]", lambda x, perm: x[..., perm]),
        Mistake("you applied the inverse permutation: the result's row i must be x's row perm[i] "
                "(y[i] = x[perm[i]]), not the row of x that perm sends to i",
                lambda x, perm: _permute(x, _inverse(perm))),
        Mistake("you permuted the first axis (x[perm]); with a batch in front, that is the batch "
                "axis. Tokens are always axis -2: x[..., perm, :]", lambda x, perm: x[perm]),
        Mistake("you indexed axis 1 (x[:, perm]), the token axis only for 3-D input; "
                "x[..., perm, :] works for any number of leading axes", lambda x, perm: x[:, perm]),
        Mistake("you sorted the tokens instead of reordering them with perm",
                lambda x, perm: x.sort(dim=-2).values),
    ]
    check("permute_tokens", fn, _permute, cases, mistakes)


def sinusoidal_encoding(fn, hidden=False):
    cases = [
        Case("4 positions, dim 4", (4, 4)),
        Case("50 positions, dim 16", (50, 16)),
    ]
    if hidden:
        cases = [
            Case("200 positions, dim 64 (the size used in the notebook)", (200, 64)),
            Case("7 positions, dim 6 (dim/2 = 3 frequencies, not a power of 2)", (7, 6)),
            Case("a single position (t = 0), dim 2", (1, 2)),
        ]

    def multiplied(num_positions, dim):  # in float32, like the learner: the angles are huge
        t = torch.arange(num_positions, dtype=torch.float32)[:, None]  # (n, 1)
        angles = t * 10000.0 ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)  # (n, d_model / 2)
        table = torch.zeros(num_positions, dim)  # (n, d_model)
        table[:, 0::2], table[:, 1::2] = angles.sin(), angles.cos()
        return table

    mistakes = [
        Mistake("you swapped sin and cos: even columns 2i hold sin, odd columns 2i+1 hold cos",
                lambda T, d: _table(T, d, _frequencies(d), sin_first=False)),
        Mistake("you put all the sines first and all the cosines after; the columns interleave: "
                "PE[:, 0::2] = sin, PE[:, 1::2] = cos",
                lambda T, d: _table(T, d, _frequencies(d), interleave=False)),
        Mistake("you used the column index j in the exponent (10000^(j/dim)); both columns of a "
                "pair share one frequency, 10000^(2i/dim) with i the pair index (i = j // 2)",
                _column_index_table),
        Mistake("you used 10000^(i/dim) with i the pair index; the exponent is 2i/dim, so the "
                "frequencies reach down to 1/10000",
                lambda T, d: _table(T, d, _frequencies(d, exponent=torch.arange(d // 2).double() / d))),
        Mistake("an integer division made the exponent 0 (2 * i // dim, or int tensors divided "
                "with //): every column got frequency 1. Use true division in floating point",
                lambda T, d: _table(T, d, torch.ones(d // 2, dtype=torch.float64))),
        Mistake("you multiplied by 10000^(2i/dim) instead of dividing: the angle is "
                "t / 10000^(2i/dim), the frequencies shrink along the columns",
                multiplied),
        Mistake("you used base 1000; the original transformer uses 10000",
                lambda T, d: _table(T, d, _frequencies(d, base=1000.0))),
        Mistake("your positions start at 1; the first position is t = 0 (torch.arange(num_positions))",
                lambda T, d: _table(T, d, _frequencies(d), first=1)),
    ]
    # An integer table needs no entry here: the comparison itself reports the wrong dtype, and a
    # Mistake returning integers would "reproduce" any answer once the answer is cast to int.
    # float32 cannot do better: at angle t * w ~ 200 rad one rounding step of the angle is ~1.5e-5,
    # and t / 10000 ** (2i / d), torch.pow or exp(-2i ln(10000) / d) each round the frequency
    # differently. 1e-4 absolute accepts all of them and still tells every catalogued mistake apart.
    check("sinusoidal_encoding", fn, _sinusoidal, cases, mistakes, atol=1e-4)


def shift_matrix(fn, hidden=False):
    cases = [Case("k = 1, dim = 4", (1, 4))]
    if hidden:
        cases = [
            Case("k = 3, dim = 8", (3, 8)),
            Case("a step backwards, k = -2, dim = 6", (-2, 6)),
            Case("k = 0, dim = 4 (must be the identity)", (0, 4)),
            Case("k = 5, dim = 2 (a single 2 x 2 block)", (5, 2)),
        ]
    mistakes = [
        Mistake("your blocks rotate the wrong way (you built M_(-k), which moves k steps back): "
                "with row vectors, [sin, cos] @ [[cos wk, -sin wk], [sin wk, cos wk]] = "
                "[sin w(t+k), cos w(t+k)]", lambda k, d: _shift(k, d, direction=-1)),
        Mistake("you doubled the pair index twice (2 * torch.arange(0, dim, 2) / dim is 4i/dim); "
                "block i (rows and columns 2i, 2i+1) rotates by the angle k / 10000^(2i/dim)",
                lambda k, d: _shift(k, d, 10000.0 ** (-torch.arange(0, d, 2).double() / (d / 2)))),
        Mistake("you used 10000^(i/dim); block i rotates by k / 10000^(2i/dim)",
                lambda k, d: _shift(k, d, _frequencies(d, exponent=torch.arange(d // 2).double() / d))),
        Mistake("every block rotates by the same angle k; block i must rotate by k times its own "
                "frequency 1 / 10000^(2i/dim)", lambda k, d: _shift(k, d, torch.ones(d // 2).double())),
        Mistake("you multiplied by 10000^(2i/dim) instead of dividing by it",
                lambda k, d: _shift(k, d, 1 / _frequencies(d))),
        Mistake("you wrote the rotation for a table laid out as [all sines | all cosines]; the "
                "table interleaves them, so each 2 x 2 block sits on the diagonal at rows and "
                "columns 2i, 2i+1", _shift_halves),
        Mistake("your matrix has the cosines on the diagonal but no sines: each 2 x 2 block is "
                "[[cos, -sin], [sin, cos]]",
                lambda k, d: torch.diag(torch.repeat_interleave((k * _frequencies(d)).cos(), 2)).float()),
    ]
    check("shift_matrix", fn, _shift, cases, mistakes)


def min_pairwise_distance(fn, hidden=False):
    corners = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 2.0], [6.0, 8.0]])
    cases = [
        Case("4 points in 2-D, [[0, 0], [3, 4], [0, 2], [6, 8]] (closest pair: rows 0 and 2)", (corners,)),
        Case("the sinusoidal table for 64 positions, dim 8", (_sinusoidal(64, 8),)),
    ]
    if hidden:
        twins = randn(8, 4, seed=57)
        twins[6] = twins[1]
        cases = [
            Case("12 random rows of 6 features (the closest pair is not two neighbours)",
                 (randn(12, 6, seed=54),)),
            Case("8 rows where rows 1 and 6 are identical (the answer is 0)", (twins,)),
            Case("just two rows", (randn(2, 5, seed=55),)),
            Case("the sinusoidal table for 1000 positions, dim 8 (closest pair: 63 steps apart)",
                 (_sinusoidal(1000, 8)[800:950],)),
        ]

    def kept_diagonal(pe):
        return _distances(pe).min().item()

    def squared(pe):
        return _min_distance(pe) ** 2

    def neighbours(pe):
        return (pe[1:] - pe[:-1]).double().norm(dim=-1).min().item()

    def dropped_zeros(pe):
        dist = _distances(pe)
        return dist[dist > 0].min().item()

    def dropped_zeros_cdist(pe):  # torch.cdist's fast path leaves small non-zeros on the diagonal
        dist = torch.cdist(pe, pe)
        return dist[dist > 0].min().item()

    def manhattan(pe):
        pe = pe.double()
        dist = (pe[:, None, :] - pe[None, :, :]).abs().sum(-1)
        dist.fill_diagonal_(math.inf)
        return dist.min().item()

    mistakes = [
        Mistake("you kept the diagonal: every row is at distance 0 from itself. Leave out the "
                "pairs i == j, e.g. dist.fill_diagonal_(float('inf')) before .min()", kept_diagonal),
        Mistake("you returned a squared distance; take the square root (or use torch.cdist)", squared),
        Mistake("you compared only neighbouring rows t and t+1; the closest pair can be any two rows",
                neighbours),
        Mistake("you dropped every zero distance (dist[dist > 0]), which also hides two identical "
                "rows; leave out the diagonal by position, not by value", dropped_zeros),
        Mistake("you dropped the zero distances (dist[dist > 0]), but torch.cdist's fast method "
                "leaves tiny non-zero values on the diagonal, so a row was paired with itself; "
                "leave out the diagonal by position, not by value", dropped_zeros_cdist),
        Mistake("you summed absolute differences (an L1 distance); use the Euclidean length "
                "sqrt(sum of squares)", manhattan),
    ]
    check("min_pairwise_distance", fn, _min_distance, cases, mistakes, atol=1e-4, rtol=1e-3)


learner_facing(globals())
