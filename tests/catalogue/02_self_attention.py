"""Wrong answers for notebook 02 (self-attention), including the source pages' own bugs."""

from mutations import mutants
from support import WrongAnswer

mutant = mutants("02_self_attention")  # the reference answer with one edit

WRONG_ANSWERS = [
    # project_qkv
    WrongAnswer("project_qkv", "weights on the left (source 000)", '''
def project_qkv(x, w_q, w_k, w_v):
    return w_q @ x, w_k @ x, w_v @ x
''', "weights on the left"),
    WrongAnswer("project_qkv", "nn.Linear layout x @ w.T", '''
def project_qkv(x, w_q, w_k, w_v):
    return x @ w_q.T, x @ w_k.T, x @ w_v.T
''', "nn.Linear layout"),
    WrongAnswer("project_qkv", "k and q swapped", '''
def project_qkv(x, w_q, w_k, w_v):
    k = torch.matmul(x, w_q)
    q = torch.matmul(x, w_k)
    return q, k, x @ w_v
''', "wrong order"),
    # attention_scores
    WrongAnswer("attention_scores", "mm(q, k) without transpose (source 004)", '''
def attention_scores(q, k):
    return torch.matmul(q, k)
''', "without transposing k"),
    WrongAnswer("attention_scores", "keys @ queries (source 000)", '''
def attention_scores(q, k):
    return k @ q.transpose(-2, -1)
''', "scores are transposed"),
    WrongAnswer("attention_scores", "k.T on a batch", '''
def attention_scores(q, k):
    return q @ k.T
''', ".T reverses ALL dimensions"),
    WrongAnswer("attention_scores", "scaled too early", '''
def attention_scores(q, k):
    return q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5
''', "scaled the scores already"),
    # attention_weights
    WrongAnswer("attention_weights", "softmax over dim=0", '''
def attention_weights(scores):
    return torch.softmax(scores, dim=0)
''', "down the columns"),
    WrongAnswer("attention_weights", "softmax over dim=1 (breaks on batches)", '''
def attention_weights(scores):
    return F.softmax(scores, dim=1)
''', "over the query axis"),
    WrongAnswer("attention_weights", "normalised over the whole matrix (source 003)", '''
def attention_weights(scores):
    e = torch.exp(scores - scores.max())
    return e / e.sum()
''', "over the whole matrix"),
    WrongAnswer("attention_weights", "no exponential", '''
def attention_weights(scores):
    return scores / scores.sum(dim=-1, keepdim=True)
''', "without exponentiating"),
    # attention_output
    WrongAnswer("attention_output", "values @ weights (source 000)", '''
def attention_output(weights, v):
    return v @ weights
''', "v @ weights"),
    WrongAnswer("attention_output", "alpha^T V (source 003)", '''
def attention_output(weights, v):
    return weights.transpose(-2, -1) @ v
''', "transposed the weights"),
    WrongAnswer("attention_output", "elementwise product", '''
def attention_output(weights, v):
    return weights * v
''', "element by element"),
    # scaled_dot_product_attention
    WrongAnswer("scaled_dot_product_attention", "no scaling",
                mutant("scaled_dot_product_attention", (" / math.sqrt(q.shape[-1])", "")), "did not scale"),
    WrongAnswer("scaled_dot_product_attention", "scaled by d_k",
                mutant("scaled_dot_product_attention", ("math.sqrt(q.shape[-1])", "q.shape[-1]")),
                "you divided by d_k"),
    WrongAnswer("scaled_dot_product_attention", "scaled by sqrt(d_v)",
                mutant("scaled_dot_product_attention", ("q.shape[-1]", "v.shape[-1]")), "sqrt(d_v)"),
    WrongAnswer("scaled_dot_product_attention", "mask applied after softmax", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
    if mask is not None:
        weights = weights * mask
    return weights @ v
''', "after the softmax"),
    WrongAnswer("scaled_dot_product_attention", "masked with 0 instead of -inf",
                mutant("scaled_dot_product_attention", ('float("-inf")', "0.0")), "instead of -inf"),
    WrongAnswer("scaled_dot_product_attention", "fully masked row gives NaN", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(mask == 0, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
''', "fully masked row gives NaN"),
    WrongAnswer("scaled_dot_product_attention", "inverted mask",
                mutant("scaled_dot_product_attention", ("masked_fill(~mask,", "masked_fill(mask,")),
                "mask is inverted"),
    WrongAnswer("scaled_dot_product_attention", "returns the weights",
                mutant("scaled_dot_product_attention", ("return weights @ v", "return weights")),
                "returned the attention weights"),
    # SelfAttention
    WrongAnswer("self_attention_module", "module without scaling", '''
class SelfAttention(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.w_q, self.w_k, self.w_v = nn.Linear(d_in, d_out), nn.Linear(d_in, d_out), nn.Linear(d_in, d_out)

    def forward(self, x, mask=None):
        scores = self.w_q(x) @ self.w_k(x).transpose(-2, -1)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return torch.softmax(scores, dim=-1) @ self.w_v(x)
''', "did not scale by sqrt(d_k)"),
    WrongAnswer("self_attention_module", "scaled by sqrt(d_in)", '''
class SelfAttention(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.d_in = d_in
        self.w_q, self.w_k, self.w_v = nn.Linear(d_in, d_out), nn.Linear(d_in, d_out), nn.Linear(d_in, d_out)

    def forward(self, x, mask=None):
        scores = self.w_q(x) @ self.w_k(x).transpose(-2, -1) / math.sqrt(self.d_in)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return torch.softmax(scores, dim=-1) @ self.w_v(x)
''', "scaled by sqrt(d_in)"),
    WrongAnswer("self_attention_module", "one projection for everything",
                mutant("self_attention_module", ("self.w_k(x), self.w_v(x)", "self.w_q(x), self.w_q(x)")),
                "one projection for q, k and v"),
    WrongAnswer("self_attention_module", "mask ignored",
                mutant("self_attention_module", ("attention(q, k, v, mask)", "attention(q, k, v)")), "mask is ignored"),
    WrongAnswer("self_attention_module", "bare weight matrices instead of nn.Linear", '''
class SelfAttention(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.w_q = nn.Parameter(torch.randn(d_in, d_out))
        self.w_k = nn.Parameter(torch.randn(d_in, d_out))
        self.w_v = nn.Parameter(torch.randn(d_in, d_out))

    def forward(self, x, mask=None):
        return scaled_dot_product_attention(x @ self.w_q, x @ self.w_k, x @ self.w_v, mask)
''', "`self.w_q` should be nn.Linear"),
    # fixed_attention
    WrongAnswer("fixed_attention", "kept w @ x", '''
def fixed_attention(x, w_q, w_k, w_v):
    keys, queries, values = w_k @ x, w_q @ x, w_v @ x
    return torch.softmax(queries @ keys.T, dim=-1) @ values
''', "weights on the left"),
    WrongAnswer("fixed_attention", "kept keys @ queries", '''
def fixed_attention(x, w_q, w_k, w_v):
    keys, queries, values = x @ w_k, x @ w_q, x @ w_v
    return torch.softmax(keys @ queries, dim=-1) @ values
''', "still keys @ queries"),
    WrongAnswer("fixed_attention", "kept values @ weights", '''
def fixed_attention(x, w_q, w_k, w_v):
    keys, queries, values = x @ w_k, x @ w_q, x @ w_v
    return values @ torch.softmax(queries @ keys.T, dim=-1)
''', "still values @ weights"),
    WrongAnswer("fixed_attention", "added scaling", '''
def fixed_attention(x, w_q, w_k, w_v):
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    return torch.softmax(q @ k.T / math.sqrt(k.shape[-1]), dim=-1) @ v
''', "you added scaling"),
]

# The numbers of source 000's worked example and source 004's batch (README, Credits), which the
# reference solution must reproduce in its notebook.
WORKED_EXAMPLES = {
    "K": [[0, 1, 1], [4, 4, 0], [2, 3, 1]],
    "Q": [[1, 0, 2], [2, 2, 2], [2, 1, 3]],
    "V": [[1, 2, 3], [2, 8, 0], [2, 6, 3]],
    "S": [[2, 4, 4], [4, 16, 12], [4, 12, 10]],
    "A": [[0.0634, 0.4683, 0.4683], [0.0000, 0.9820, 0.0180], [0.0003, 0.8805, 0.1192]],
    "out": [[1.9366, 6.6831, 1.5951], [2.0000, 7.9640, 0.0540], [1.9997, 7.7599, 0.3584]],
    "out_scaled": [[1.8639, 6.3194, 1.7042], [1.9991, 7.8141, 0.2735], [1.9926, 7.4796, 0.7359]],
    "Q4": [[20, 50, 26], [26, 64, 34], [0, 0, 0]],
    "K4": [[27, 22, 11], [38, 31, 15], [0, 0, 0]],
    "V4": [[0, 35, 11], [0, 44, 15], [0, 0, 0]],
    "out4": [[0, 44, 15], [0, 44, 15], [0, 26.3333, 8.6667]],
    "buggy4": [[0, 35, 11], [0, 35, 11], [0, 26.3333, 8.6667]],
    "scaled_dot_product_attention(Q4, K4, V4)": [[0, 44, 15], [0, 44, 15], [0, 26.3333, 8.6667]],
}

WRONG_ANSWERS += [
    WrongAnswer("scaled_dot_product_attention", "finite -1e9 fill (Annotated Transformer idiom)", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, -1e9)
    return torch.softmax(scores, dim=-1) @ v
''', "large finite number (such as -1e9)"),
    WrongAnswer("scaled_dot_product_attention", "mask == 0 filled as if 0 meant 'may attend'", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, dim=-1).nan_to_num(0.0) @ v
''', "your mask is inverted"),
]

# Right answers in other styles: each must get full marks.
from alternatives import CorrectAnswer  # noqa: E402

CORRECT_ANSWERS = [
    CorrectAnswer("project_qkv", "torch.matmul", '''
def project_qkv(x, w_q, w_k, w_v):
    return torch.matmul(x, w_q), torch.matmul(x, w_k), torch.matmul(x, w_v)
'''),
    CorrectAnswer("project_qkv", "einsum", '''
def project_qkv(x, w_q, w_k, w_v):
    return tuple(torch.einsum("...nd,de->...ne", x, w) for w in (w_q, w_k, w_v))
'''),
    CorrectAnswer("attention_scores", "einsum", '''
def attention_scores(q, k):
    return torch.einsum("...nd,...md->...nm", q, k)
'''),
    CorrectAnswer("attention_scores", "mT", '''
def attention_scores(q, k):
    return torch.matmul(q, k.mT)
'''),
    CorrectAnswer("attention_weights", "manual exp / sum with max subtraction", '''
def attention_weights(scores):
    shifted = scores - scores.max(dim=-1, keepdim=True).values
    e = shifted.exp()
    return e / e.sum(dim=-1, keepdim=True)
'''),
    CorrectAnswer("attention_weights", "F.softmax with a negative dim", '''
def attention_weights(scores):
    return F.softmax(scores, dim=scores.dim() - 1)
'''),
    CorrectAnswer("attention_output", "einsum", '''
def attention_output(weights, v):
    return torch.einsum("...nm,...md->...nd", weights, v)
'''),
    CorrectAnswer("attention_output", "sum of weighted values", '''
def attention_output(weights, v):
    return (weights.unsqueeze(-1) * v.unsqueeze(-3)).sum(dim=-2)
'''),
    CorrectAnswer("scaled_dot_product_attention", "reusing the earlier functions, torch.where", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = attention_scores(q, k) / q.shape[-1] ** 0.5
    if mask is not None:
        scores = scores.masked_fill(mask == 0, float("-inf"))
    weights = attention_weights(scores)
    weights = torch.where(torch.isnan(weights), torch.zeros_like(weights), weights)
    return attention_output(weights, v)
'''),
    CorrectAnswer("scaled_dot_product_attention", "manual softmax that zeroes masked weights", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = torch.einsum("...nd,...md->...nm", q, k) / math.sqrt(q.shape[-1])
    if mask is None:
        mask = torch.ones_like(scores, dtype=torch.bool)
    mask = mask.expand_as(scores)
    top = scores.masked_fill(~mask, float("-inf")).amax(dim=-1, keepdim=True).nan_to_num(0.0, neginf=0.0)
    e = torch.where(mask, (scores - top).exp(), torch.zeros_like(scores))
    total = e.sum(dim=-1, keepdim=True)
    return (e / total.clamp_min(1e-30)) @ v
'''),
]

# A failure that an earlier exercise causes is named as such; and the idioms of well-known
# materials (the Annotated Transformer's `masked_fill(mask == 0, -1e9)`, dropout inside the
# attention function, `.T` on batches).
WRONG_ANSWERS += [
    WrongAnswer("scaled_dot_product_attention", "scaled by d_k, seen from SelfAttention (exercise 6)",
                mutant("scaled_dot_product_attention", ("math.sqrt(q.shape[-1])", "q.shape[-1]")),
                "the cause is in exercise 5"),
    WrongAnswer("scaled_dot_product_attention", "Annotated Transformer verbatim: mask == 0, -1e9", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    d_k = q.size(-1)
    scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(d_k)
    if mask is not None:
        scores = scores.masked_fill(mask == 0, -1e9)
    p_attn = scores.softmax(dim=-1)
    return torch.matmul(p_attn, v)
''', "large finite number (such as -1e9)"),
    WrongAnswer("scaled_dot_product_attention", "dropout on the weights (F.dropout)", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)
    return F.dropout(weights, p=0.1) @ v
''', "something random runs"),
    WrongAnswer("scaled_dot_product_attention", "k.T on a batch, in scaled_dot_product_attention", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.T / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1).nan_to_num(0.0) @ v
''', ".T reverses ALL dimensions"),
]

CORRECT_ANSWERS += [
    CorrectAnswer("fixed_attention", "einsum throughout", '''
def fixed_attention(x, w_q, w_k, w_v):
    q = torch.einsum("nd,de->ne", x, w_q)
    k = torch.einsum("nd,de->ne", x, w_k)
    v = torch.einsum("nd,de->ne", x, w_v)
    weights = torch.softmax(torch.einsum("ne,me->nm", q, k), dim=-1)
    return torch.einsum("nm,me->ne", weights, v)
'''),
    CorrectAnswer("fixed_attention", "transposes fixed the other way: (w.T @ x.T).T", '''
def fixed_attention(x, w_q, w_k, w_v):
    q, k, v = (w_q.T @ x.T).T, (w_k.T @ x.T).T, (w_v.T @ x.T).T
    scores = (k @ q.T).T
    return torch.softmax(scores, dim=1) @ v
'''),
    CorrectAnswer("self_attention_module", "einsum, a stored scale, torch.where for empty rows", '''
class SelfAttention(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.w_q = nn.Linear(d_in, d_out)
        self.w_k = nn.Linear(d_in, d_out)
        self.w_v = nn.Linear(d_in, d_out)
        self.scale = d_out ** -0.5

    def forward(self, x, mask=None):
        q, k, v = self.w_q(x), self.w_k(x), self.w_v(x)
        scores = torch.einsum("...nd,...md->...nm", q, k) * self.scale
        if mask is not None:
            scores = scores.masked_fill(mask.logical_not(), float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        weights = torch.where(torch.isnan(weights), 0.0, weights)
        return weights @ v
'''),
    CorrectAnswer("self_attention_module", "PyTorch's kernel, with dropout off in eval mode", '''
class SelfAttention(nn.Module):
    def __init__(self, d_in, d_out, dropout=0.1):
        super().__init__()
        self.w_q = nn.Linear(d_in, d_out)
        self.w_k = nn.Linear(d_in, d_out)
        self.w_v = nn.Linear(d_in, d_out)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask=None):
        q, k, v = self.w_q(x), self.w_k(x), self.w_v(x)
        scores = q @ k.transpose(-2, -1) / math.sqrt(k.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = self.dropout(torch.softmax(scores, dim=-1).nan_to_num(0.0))
        return weights @ v
'''),
]

# Forbidden calls (issue 16): the course's own code, and the built-ins an exercise asks the learner to
# rebuild, lose the exercise's marks with a message naming the call.
WRONG_ANSWERS += [
    WrongAnswer("scaled_dot_product_attention", "scaled_dot_product_attention: imports the finished block", '''
from autograder.blocks import scaled_dot_product_attention
''', "scaled_dot_product_attention called autograder.blocks.scaled_dot_product_attention, the course's own code"),
    WrongAnswer("scaled_dot_product_attention", "scaled_dot_product_attention: calls F.sdpa", '''
def scaled_dot_product_attention(q, k, v, mask=None):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask).nan_to_num(0.0)
''', "called F.scaled_dot_product_attention, which this exercise asks you to build yourself"),
    WrongAnswer("self_attention_module", "self_attention_module: forward calls F.scaled_dot_product_attention", '''
class SelfAttention(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.w_q = nn.Linear(d_in, d_out)
        self.w_k = nn.Linear(d_in, d_out)
        self.w_v = nn.Linear(d_in, d_out)

    def forward(self, x, mask=None):
        out = F.scaled_dot_product_attention(self.w_q(x), self.w_k(x), self.w_v(x), attn_mask=mask)
        return out.nan_to_num(0.0)
''', "SelfAttention called F.scaled_dot_product_attention, which this exercise asks you to build yourself"),
    WrongAnswer("self_attention_module", "self_attention_module: forward calls blocks.attention", '''
from autograder.blocks import attention


class SelfAttention(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.w_q = nn.Linear(d_in, d_out)
        self.w_k = nn.Linear(d_in, d_out)
        self.w_v = nn.Linear(d_in, d_out)

    def forward(self, x, mask=None):
        return attention(self.w_q(x), self.w_k(x), self.w_v(x), mask)[0]
''', "SelfAttention called autograder.blocks.attention, the course's own code"),
    WrongAnswer("fixed_attention", "fixed_attention: F.scaled_dot_product_attention with scale=1", '''
def fixed_attention(x, w_q, w_k, w_v):
    return F.scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v, scale=1.0)
''', "fixed_attention called F.scaled_dot_product_attention, which this exercise asks you to build yourself"),
]
