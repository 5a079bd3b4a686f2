"""Wrong answers for notebook 01 (similarity), each a realistic learner attempt."""

from support import WrongAnswer

WRONG_ANSWERS = [
    # dot_product
    WrongAnswer("dot_product", "elementwise product, no sum", '''
def dot_product(a, b):
    return a * b
''', "did not add the products up"),
    WrongAnswer("dot_product", "product of sums", '''
def dot_product(a, b):
    return a.sum() * b.sum()
''', "added each vector up before multiplying"),
    WrongAnswer("dot_product", "outer product", '''
def dot_product(a, b):
    return torch.outer(a, b)
''', "outer product"),
    # cosine_similarity
    WrongAnswer("cosine_similarity", "no normalisation", '''
def cosine_similarity(a, b):
    return torch.dot(a, b)
''', "returned the plain dot product"),
    WrongAnswer("cosine_similarity", "one norm only", '''
def cosine_similarity(a, b):
    return torch.dot(a, b) / torch.linalg.norm(a)
''', "length of only one vector"),
    WrongAnswer("cosine_similarity", "squared norms", '''
def cosine_similarity(a, b):
    return (a @ b) / ((a @ a) * (b @ b))
''', "squared lengths"),
    WrongAnswer("cosine_similarity", "sum of norms", '''
def cosine_similarity(a, b):
    return (a @ b) / (a.norm() + b.norm())
''', "divided by |a| + |b|"),
    # scaled_dot_product
    WrongAnswer("scaled_dot_product", "divide by d", '''
def scaled_dot_product(a, b):
    return (a @ b) / a.shape[0]
''', "you divided by d"),
    WrongAnswer("scaled_dot_product", "no scaling", '''
def scaled_dot_product(a, b):
    return torch.dot(a, b)
''', "you did not scale"),
    WrongAnswer("scaled_dot_product", "multiply by sqrt(d)", '''
def scaled_dot_product(a, b):
    return (a * b).sum() * math.sqrt(len(a))
''', "multiplied by sqrt(d)"),
    # similarity_matrix
    WrongAnswer("similarity_matrix", "A @ B without transpose", '''
def similarity_matrix(A, B):
    return A @ B
''', "without transposing B"),
    WrongAnswer("similarity_matrix", "B @ A.T (transposed result)", '''
def similarity_matrix(A, B):
    return torch.mm(B, A.t())
''', "transpose of the answer"),
    WrongAnswer("similarity_matrix", "A.T @ B", '''
def similarity_matrix(A, B):
    return A.T @ B
''', "compares features with features"),
    # cosine_similarity_matrix
    WrongAnswer("cosine_similarity_matrix", "normalised columns", '''
def cosine_similarity_matrix(A, B):
    A = A / A.norm(dim=0, keepdim=True)
    B = B / B.norm(dim=0, keepdim=True)
    return A @ B.T
''', "normalised columns (dim=0)"),
    WrongAnswer("cosine_similarity_matrix", "only A normalised", '''
def cosine_similarity_matrix(A, B):
    return (A / A.norm(dim=1, keepdim=True)) @ B.T
''', "normalised only A"),
    WrongAnswer("cosine_similarity_matrix", "plain matrix product", '''
def cosine_similarity_matrix(A, B):
    return A @ B.T
''', "you did not normalise"),
    # stable_softmax
    WrongAnswer("stable_softmax", "naive exp overflows", '''
def stable_softmax(x, dim=-1):
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)
''', "exp overflowed"),
    WrongAnswer("stable_softmax", "one global max", '''
def stable_softmax(x, dim=-1):
    e = torch.exp(x - x.max())
    return e / e.sum(dim=dim, keepdim=True)
''', "one maximum for the whole tensor"),
    WrongAnswer("stable_softmax", "dim ignored", '''
def stable_softmax(x, dim=-1):
    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)
''', "ignored the `dim` argument"),
    WrongAnswer("stable_softmax", "normalised by the total", '''
def stable_softmax(x, dim=-1):
    e = (x - x.amax(dim=dim, keepdim=True)).exp()
    return e / e.sum()
''', "sum of the whole tensor"),
]

# The notebook's word-vector example (no source gives numbers for notebook 01).
WORKED_EXAMPLES = {
    "dot_product(cat, dog)": 1.46,
    "scaled_dot_product(cat, dog)": 0.73,
    "stable_softmax(big)": [0.0900306, 0.2447285, 0.6652410],
}

# The idioms of well-known materials that the contract does not allow.
WRONG_ANSWERS += [
    WrongAnswer("cosine_similarity_matrix", "F.cosine_similarity row by row", '''
def cosine_similarity_matrix(A, B):
    return torch.nn.functional.cosine_similarity(A, B, dim=-1)
''', "cosine_similarity_matrix called F.cosine_similarity"),  # the forbidden call is named first
    WrongAnswer("stable_softmax", "max without keepdim", '''
def stable_softmax(x, dim=-1):
    e = torch.exp(x - x.max(dim=dim).values)
    return e / e.sum(dim=dim)
''', "without keepdim=True"),
]

# Right answers in other styles: each must get full marks.
from alternatives import CorrectAnswer  # noqa: E402

CORRECT_ANSWERS = [
    CorrectAnswer("dot_product", "torch.dot", '''
def dot_product(a, b):
    return torch.dot(a, b)
'''),
    CorrectAnswer("dot_product", "explicit loop", '''
def dot_product(a, b):
    total = torch.tensor(0.0)
    for i in range(a.shape[0]):
        total = total + a[i] * b[i]
    return total
'''),
    CorrectAnswer("dot_product", "einsum", '''
def dot_product(a, b):
    return torch.einsum("i,i->", a, b)
'''),
    CorrectAnswer("cosine_similarity", "unit vectors first", '''
def cosine_similarity(a, b):
    return (a / a.norm()) @ (b / b.norm())
'''),
    CorrectAnswer("cosine_similarity", "square roots of self dot products", '''
def cosine_similarity(a, b):
    return torch.dot(a, b) / torch.sqrt(torch.dot(a, a) * torch.dot(b, b))
'''),
    CorrectAnswer("scaled_dot_product", "len and ** 0.5", '''
def scaled_dot_product(a, b):
    return torch.dot(a, b) / len(a) ** 0.5
'''),
    CorrectAnswer("scaled_dot_product", "einsum and torch.sqrt", '''
def scaled_dot_product(a, b):
    return torch.einsum("i,i->", a, b) / torch.sqrt(torch.tensor(float(a.numel())))
'''),
    CorrectAnswer("similarity_matrix", "einsum", '''
def similarity_matrix(A, B):
    return torch.einsum("nd,md->nm", A, B)
'''),
    CorrectAnswer("similarity_matrix", "explicit loops", '''
def similarity_matrix(A, B):
    out = torch.empty(A.shape[0], B.shape[0])
    for i in range(A.shape[0]):
        for j in range(B.shape[0]):
            out[i, j] = (A[i] * B[j]).sum()
    return out
'''),
    CorrectAnswer("similarity_matrix", "broadcast and sum", '''
def similarity_matrix(A, B):
    return (A[:, None, :] * B[None, :, :]).sum(dim=-1)
'''),
    CorrectAnswer("cosine_similarity_matrix", "F.normalize and mm", '''
def cosine_similarity_matrix(A, B):
    F = torch.nn.functional
    return torch.mm(F.normalize(A, dim=1), F.normalize(B, dim=1).t())
'''),
    CorrectAnswer("cosine_similarity_matrix", "divide by the outer product of the norms", '''
def cosine_similarity_matrix(A, B):
    return (A @ B.T) / torch.outer(A.norm(dim=1), B.norm(dim=1))
'''),
    CorrectAnswer("stable_softmax", "logsumexp", '''
def stable_softmax(x, dim=-1):
    return torch.exp(x - torch.logsumexp(x, dim=dim, keepdim=True))
'''),
    CorrectAnswer("stable_softmax", "max(...).values and keepdim", '''
def stable_softmax(x, dim=-1):
    top = x.max(dim=dim, keepdim=True).values
    e = torch.exp(x - top)
    return e / torch.sum(e, dim=dim, keepdim=True)
'''),
    CorrectAnswer("stable_softmax", "move the axis last, loop over rows", '''
def stable_softmax(x, dim=-1):
    moved = x.movedim(dim, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    out = torch.empty_like(rows)
    for i, row in enumerate(rows):
        e = (row - row.max()).exp()
        out[i] = e / e.sum()
    return out.reshape(moved.shape).movedim(-1, dim)
'''),
]

# Forbidden calls (issue 16): the course's own code, and the built-ins an exercise asks the learner to
# rebuild, lose the exercise's marks with a message naming the call.
WRONG_ANSWERS += [
    WrongAnswer("dot_product", "dot_product: calls the check's reference", '''
def dot_product(a, b):
    return check._dot(a, b)
''', "dot_product called autograder.checks.similarity._dot, the course's own code"),
    WrongAnswer("cosine_similarity", "cosine_similarity: calls the check's reference", '''
def cosine_similarity(a, b):
    return check._cosine(a, b)
''', "cosine_similarity called autograder.checks.similarity._cosine, the course's own code"),
    WrongAnswer("cosine_similarity", "cosine_similarity: calls F.cosine_similarity", '''
def cosine_similarity(a, b):
    return torch.nn.functional.cosine_similarity(a, b, dim=0)
''', "cosine_similarity called F.cosine_similarity, which this exercise asks you to build yourself"),
    WrongAnswer("scaled_dot_product", "scaled_dot_product: calls the check's reference", '''
def scaled_dot_product(a, b):
    return check._scaled(a, b)
''', "scaled_dot_product called autograder.checks.similarity._scaled, the course's own code"),
    WrongAnswer("similarity_matrix", "similarity_matrix: calls the check's reference", '''
def similarity_matrix(A, B):
    return check._matrix(A, B)
''', "similarity_matrix called autograder.checks.similarity._matrix, the course's own code"),
    WrongAnswer("cosine_similarity_matrix", "cosine_similarity_matrix: calls the check's reference", '''
def cosine_similarity_matrix(A, B):
    return check._cosine_matrix(A, B)
''', "cosine_similarity_matrix called autograder.checks.similarity._cosine_matrix, the course's own code"),
    WrongAnswer("cosine_similarity_matrix", "cosine_similarity_matrix: broadcast F.cosine_similarity", '''
def cosine_similarity_matrix(A, B):
    return torch.nn.functional.cosine_similarity(A[:, None, :], B[None, :, :], dim=-1)
''', "cosine_similarity_matrix called F.cosine_similarity, which this exercise asks you to build yourself"),
    WrongAnswer("stable_softmax", "stable_softmax: the check's reference assigned", '''
stable_softmax = check._softmax
''', "stable_softmax called autograder.checks.similarity._softmax, the course's own code"),
    WrongAnswer("stable_softmax", "stable_softmax: torch.softmax assigned", '''
import functools

stable_softmax = functools.partial(torch.softmax, dim=-1)
''', "stable_softmax called torch.softmax, which this exercise asks you to build yourself"),
    WrongAnswer("stable_softmax", "stable_softmax: Tensor.softmax", '''
def stable_softmax(x, dim=-1):
    return x.softmax(dim=dim)
''', "stable_softmax called Tensor.softmax, which this exercise asks you to build yourself"),
    WrongAnswer("stable_softmax", "stable_softmax: torch.special.softmax", '''
def stable_softmax(x, dim=-1):
    return torch.special.softmax(x, dim)
''', "stable_softmax called torch.special.softmax, which this exercise asks you to build yourself"),
    WrongAnswer("stable_softmax", "stable_softmax: exp of log_softmax", '''
def stable_softmax(x, dim=-1):
    return torch.log_softmax(x, dim=dim).exp()
''', "stable_softmax called torch.log_softmax, which this exercise asks you to build yourself"),
]
