"""Checks for notebook 01 (similarity): dot product, cosine, scaled dot product, the matrix
forms, and a numerically stable softmax. The worked example is three word vectors (`WORDS`);
vectors are 1-D of size d, matrices are (n, d) against (m, d).
"""

import math

import torch

from .core import Case, Mistake, check, learner_facing, randn
from .forbidden import COSINE, SOFTMAX, forbids

# ---------------------------------------------------------------- references
# Small word-vector-like embeddings used in the notebook's worked example.
WORDS = {
    "cat": [0.9, 0.8, 0.1, 0.0],
    "dog": [0.8, 0.9, 0.2, 0.1],
    "car": [0.1, 0.0, 0.9, 0.8],
}


def _dot(a, b):
    return (a * b).sum(-1)


def _cosine(a, b):
    return _dot(a, b) / (a.norm(dim=-1) * b.norm(dim=-1))


def _scaled(a, b):
    return _dot(a, b) / math.sqrt(a.shape[-1])


def _matrix(A, B):
    return A @ B.transpose(-2, -1)


def _cosine_matrix(A, B):
    return _matrix(A / A.norm(dim=-1, keepdim=True), B / B.norm(dim=-1, keepdim=True))


def _softmax(x, dim=-1):
    shifted = x - x.amax(dim=dim, keepdim=True)
    e = shifted.exp()
    return e / e.sum(dim=dim, keepdim=True)


def _words(*names):
    return tuple(torch.tensor(WORDS[n]) for n in names)


# ---------------------------------------------------------------- checks
def dot_product(fn, hidden=False):
    cases = [Case("the vectors for 'cat' and 'dog'", _words("cat", "dog"))]
    if hidden:
        cases = [
            Case("two random 7-dim vectors with negative entries", (randn(7, seed=1), randn(7, seed=2))),
            Case("a vector with itself (its squared length)", (randn(5, seed=3),) * 2),
        ]
    mistakes = [
        Mistake("you multiplied element by element but did not add the products up (a * b).sum()",
                lambda a, b: a * b),
        Mistake("you added each vector up before multiplying; a dot product sums the products of "
                "matching entries", lambda a, b: a.sum() * b.sum()),
        Mistake("you took the outer product; the dot product pairs entry i of a with entry i of b only",
                lambda a, b: torch.outer(a, b)),
    ]
    check("dot_product", fn, _dot, cases, mistakes)


@forbids(COSINE)
def cosine_similarity(fn, hidden=False):
    cases = [Case("the vectors for 'cat' and 'car'", _words("cat", "car"))]
    if hidden:
        a, b = randn(6, seed=4), 3.0 * randn(6, seed=5)
        cases = [
            Case("two 6-dim vectors of very different lengths", (a, b)),
            Case("a vector and a longer copy of itself (cosine must be exactly 1)", (a, 5.0 * a)),
        ]
    mistakes = [
        Mistake("you returned the plain dot product; divide it by the product of the two lengths",
                _dot),
        Mistake("you divided by the length of only one vector; divide by |a| * |b|",
                lambda a, b: _dot(a, b) / a.norm()),
        Mistake("you divided by the length of only one vector; divide by |a| * |b|",
                lambda a, b: _dot(a, b) / b.norm()),
        Mistake("you divided by squared lengths (a @ a) * (b @ b); use the lengths, their square roots",
                lambda a, b: _dot(a, b) / (_dot(a, a) * _dot(b, b))),
        Mistake("you divided by |a| + |b|; the cosine divides by the product |a| * |b|",
                lambda a, b: _dot(a, b) / (a.norm() + b.norm())),
    ]
    check("cosine_similarity", fn, _cosine, cases, mistakes)


def scaled_dot_product(fn, hidden=False):
    cases = [Case("the vectors for 'cat' and 'dog' (d = 4)", _words("cat", "dog"))]
    if hidden:
        cases = [Case("two random 9-dim vectors (d = 9)", (randn(9, seed=6), randn(9, seed=7)))]
    d = lambda a: a.shape[-1]  # noqa: E731
    mistakes = [
        Mistake("you did not scale; divide the dot product by sqrt(d)", _dot),
        Mistake("you divided by d; attention divides by sqrt(d), the typical size of a dot product "
                "of random d-dim vectors", lambda a, b: _dot(a, b) / d(a)),
        Mistake("you multiplied by sqrt(d) instead of dividing by it",
                lambda a, b: _dot(a, b) * math.sqrt(d(a))),
        Mistake("you divided by the cosine's lengths |a| * |b|; this exercise divides by sqrt(d)",
                _cosine),
    ]
    check("scaled_dot_product", fn, _scaled, cases, mistakes)


def similarity_matrix(fn, hidden=False):
    stack = torch.tensor([WORDS["cat"], WORDS["dog"], WORDS["car"]])
    cases = [Case("all three words against each other (3 x 4 and 3 x 4)", (stack, stack))]
    if hidden:
        cases = [
            Case("3 queries against 5 keys in 4 dimensions (A: 3 x 4, B: 5 x 4)",
                 (randn(3, 4, seed=8), randn(5, 4, seed=9))),
            Case("4 queries against 4 keys, A and B different (square, so a missing transpose "
                 "does not raise an error)", (randn(4, 4, seed=10), randn(4, 4, seed=11))),
        ]
    mistakes = [
        Mistake("you computed A @ B without transposing B; rows of A must meet rows of B: A @ B.T",
                lambda A, B: A @ B),
        Mistake("you computed B @ A.T, which is the transpose of the answer: row i should belong "
                "to A[i]", lambda A, B: B @ A.transpose(-2, -1)),
        Mistake("you computed A.T @ B, which compares features with features, not rows with rows",
                lambda A, B: A.transpose(-2, -1) @ B),
        Mistake("you multiplied element by element (A * B); the matrix form is a matrix product A @ B.T",
                lambda A, B: A * B),
    ]
    check("similarity_matrix", fn, _matrix, cases, mistakes)


@forbids(COSINE)
def cosine_similarity_matrix(fn, hidden=False):
    stack = torch.tensor([WORDS["cat"], WORDS["dog"], WORDS["car"]])
    cases = [Case("all three words against each other", (stack, stack))]
    if hidden:
        cases = [
            Case("3 rows against 5 rows of different lengths (A: 3 x 4, B: 5 x 4)",
                 (randn(3, 4, seed=12), 4.0 * randn(5, 4, seed=13))),
        ]
    unit_cols = lambda M: M / M.norm(dim=0, keepdim=True)  # noqa: E731
    unit_rows = lambda M: M / M.norm(dim=-1, keepdim=True)  # noqa: E731
    mistakes = [
        Mistake("you did not normalise; divide every row by its length first",
                _matrix),
        Mistake("you normalised columns (dim=0) instead of rows; each row is one vector: "
                "norm(dim=-1, keepdim=True)", lambda A, B: _matrix(unit_cols(A), unit_cols(B))),
        Mistake("you normalised only A; B's rows need unit length too",
                lambda A, B: _matrix(unit_rows(A), B)),
        Mistake("you normalised only B; A's rows need unit length too",
                lambda A, B: _matrix(A, unit_rows(B))),
        Mistake("you divided by the norm of the whole matrix instead of each row's length",
                lambda A, B: _matrix(A / A.norm(), B / B.norm())),
        Mistake("F.cosine_similarity(A, B) pairs row i of A with row i of B only (one number per row); "
                "every row of A must meet every row of B: normalise the rows, then A_unit @ B_unit.T "
                "(or F.cosine_similarity(A[:, None], B[None], dim=-1))",
                lambda A, B: torch.nn.functional.cosine_similarity(A, B, dim=-1)),
    ]
    check("cosine_similarity_matrix", fn, _cosine_matrix, cases, mistakes)


@forbids(SOFTMAX)
def stable_softmax(fn, hidden=False):
    cases = [
        Case("the scores [1, 2, 3]", (torch.tensor([1.0, 2.0, 3.0]),)),
        Case("huge scores [1000, 1001, 1002] (exp overflows unless you shift)",
             (torch.tensor([1000.0, 1001.0, 1002.0]),)),
    ]
    if hidden:
        cases = [
            Case("two rows on very different scales, [[1, 2, 3], [-1000, -1001, -1002]]",
                 (torch.tensor([[1.0, 2.0, 3.0], [-1000.0, -1001.0, -1002.0]]),)),
            Case("a 3 x 5 matrix of large scores, softmax over rows (dim=-1)",
                 (100 * randn(3, 5, seed=14),)),
            Case("a 4 x 3 matrix, softmax down the columns (dim=0)",
                 (randn(4, 3, seed=15),), {"dim": 0}),
            Case("a batch of 2 x 3 x 4 scores with -inf entries (masked positions)",
                 (randn(2, 3, 4, seed=16).masked_fill(torch.eye(3, 4, dtype=torch.bool), float("-inf")),)),
        ]

    def naive(x, dim=-1):
        e = x.exp()
        return e / e.sum(dim=dim, keepdim=True)

    def global_shift(x, dim=-1):
        e = (x - x.max()).exp()
        return e / e.sum(dim=dim, keepdim=True)

    mistakes = [
        Mistake("exp overflowed: subtract the maximum before exponentiating, "
                "x - x.amax(dim, keepdim=True)", naive),
        Mistake("you subtracted one maximum for the whole tensor; a row far below it underflows to "
                "0 / 0 = NaN. Subtract each row's own maximum: x.amax(dim, keepdim=True)", global_shift),
        Mistake("you ignored the `dim` argument and always normalised the last axis",
                lambda x, dim=-1: _softmax(x, -1)),
        Mistake("you normalised along the wrong axis: each slice along `dim` must sum to 1",
                lambda x, dim=-1: _softmax(x, 0 if dim in (-1, x.dim() - 1) else -1)),
        Mistake("you divided by the sum of the whole tensor; each slice along `dim` must sum to 1",
                lambda x, dim=-1: (x - x.amax(dim, keepdim=True)).exp()
                / (x - x.amax(dim, keepdim=True)).exp().sum()),
        Mistake("you forgot the exponential: softmax is exp(x) / sum(exp(x))",
                lambda x, dim=-1: x / x.sum(dim=dim, keepdim=True)),
        Mistake("you took the maximum (or the sum) without keepdim=True: x.amax(dim) drops the axis, "
                "so on a matrix it no longer lines up with x. Keep it: x.amax(dim=dim, keepdim=True)",
                lambda x, dim=-1: (x - x.amax(dim=dim)).exp() / (x - x.amax(dim=dim)).exp().sum(dim=dim)),
    ]
    check("stable_softmax", fn, _softmax, cases, mistakes)


learner_facing(globals())
