"""Wrong answers for notebook 03 (additive attention), each a realistic learner attempt."""

from mutations import mutants
from support import WrongAnswer

mutant = mutants("03_additive_attention")  # the reference answer with one edit

WRONG_ANSWERS = [
    # nadaraya_watson
    WrongAnswer("nadaraya_watson", "kernel softmax over the queries (dim=0)", '''
def nadaraya_watson(x_query, x_keys, y_values, bandwidth):
    d = x_query.unsqueeze(1) - x_keys.unsqueeze(0)
    weights = torch.softmax(-d**2 / (2 * bandwidth**2), dim=0)
    return weights @ y_values, weights
''', "normalised over the queries (dim=0)"),
    WrongAnswer("nadaraya_watson", "distance not squared", '''
def nadaraya_watson(x_query, x_keys, y_values, bandwidth):
    d = x_query[:, None] - x_keys[None, :]
    weights = torch.softmax(-d / (2 * bandwidth**2), dim=-1)
    return weights @ y_values, weights
''', "without squaring it"),
    WrongAnswer("nadaraya_watson", "kernel values not normalised", '''
def nadaraya_watson(x_query, x_keys, y_values, bandwidth):
    d = x_query[:, None] - x_keys[None, :]
    weights = torch.exp(-d**2 / (2 * bandwidth**2))
    return weights @ y_values, weights
''', "not normalised"),
    WrongAnswer("nadaraya_watson", "no broadcasting: query i against key i", '''
def nadaraya_watson(x_query, x_keys, y_values, bandwidth):
    weights = torch.softmax(-(x_query - x_keys)**2 / (2 * bandwidth**2), dim=-1)
    return weights @ y_values, weights
''', "element by element"),
    WrongAnswer("nadaraya_watson", "bandwidth not squared", '''
def nadaraya_watson(x_query, x_keys, y_values, bandwidth):
    d = x_query[:, None] - x_keys[None, :]
    weights = torch.softmax(-d**2 / (2 * bandwidth), dim=1)
    return weights @ y_values, weights
''', "2 * bandwidth**2"),
    WrongAnswer("nadaraya_watson", "hand-written softmax underflows", '''
def nadaraya_watson(x_query, x_keys, y_values, bandwidth):
    d = x_query[:, None] - x_keys[None, :]
    k = torch.exp(-(d ** 2) / (2 * bandwidth ** 2))
    weights = k / k.sum(dim=1, keepdim=True)
    return weights @ y_values, weights
''', "exp underflowed"),
    # masked_softmax
    WrongAnswer("masked_softmax", "mask ignored", '''
def masked_softmax(scores, valid_lens=None):
    return torch.softmax(scores, dim=-1)
''', "ignored valid_lens"),
    WrongAnswer("masked_softmax", "off by one (<=)", '''
def masked_softmax(scores, valid_lens=None):
    if valid_lens is None:
        return torch.softmax(scores, dim=-1)
    b, n, m = scores.shape
    if valid_lens.dim() == 1:
        valid_lens = valid_lens.unsqueeze(1).repeat(1, n)
    keep = torch.arange(m)[None, None, :] <= valid_lens[:, :, None]
    weights = torch.softmax(scores.masked_fill(~keep, float("-inf")), dim=-1)
    return torch.where(keep, weights, torch.zeros_like(weights))
''', "off by one"),
    WrongAnswer("masked_softmax", "masked scores set to 0", '''
def masked_softmax(scores, valid_lens=None):
    if valid_lens is None:
        return torch.softmax(scores, dim=-1)
    b, n, m = scores.shape
    if valid_lens.dim() == 1:
        valid_lens = valid_lens[:, None].expand(b, n)
    keep = torch.arange(m) < valid_lens[:, :, None]
    return torch.softmax(scores * keep, dim=-1)
''', "set masked scores to 0"),
    WrongAnswer("masked_softmax", "fill with -1e6: empty rows uniform", '''
def masked_softmax(scores, valid_lens=None):
    if valid_lens is None:
        return torch.softmax(scores, dim=-1)
    shape = scores.shape
    if valid_lens.dim() == 1:
        valid_lens = torch.repeat_interleave(valid_lens, shape[1])
    else:
        valid_lens = valid_lens.reshape(-1)
    flat = scores.reshape(-1, shape[-1])
    mask = torch.arange(shape[-1])[None, :] < valid_lens[:, None]
    flat = flat.masked_fill(~mask, -1e6)
    return torch.softmax(flat.reshape(shape), dim=-1)
''', "came out uniform"),
    WrongAnswer("masked_softmax", "fill with -inf: empty rows NaN", '''
def masked_softmax(scores, valid_lens=None):
    if valid_lens is None:
        return torch.softmax(scores, dim=-1)
    b, n, m = scores.shape
    if valid_lens.dim() == 1:
        valid_lens = valid_lens[:, None].expand(b, n)
    mask = torch.arange(m) >= valid_lens[..., None]
    scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, dim=-1)
''', "gave NaN"),
    WrongAnswer("masked_softmax", "zeroed after the softmax, no renormalising", '''
def masked_softmax(scores, valid_lens=None):
    weights = torch.softmax(scores, dim=-1)
    if valid_lens is None:
        return weights
    b, n, m = scores.shape
    if valid_lens.dim() == 1:
        valid_lens = valid_lens[:, None].expand(b, n)
    keep = torch.arange(m) < valid_lens[:, :, None]
    return weights * keep
''', "without renormalising"),
    WrongAnswer("masked_softmax", "only (batch,) valid_lens handled", '''
def masked_softmax(scores, valid_lens=None):
    if valid_lens is None:
        return torch.softmax(scores, dim=-1)
    keep = torch.arange(scores.shape[-1])[None, None, :] < valid_lens[:, None, None]
    weights = torch.softmax(scores.masked_fill(~keep, float("-inf")), dim=-1)
    return torch.where(keep, weights, 0.0)
''', "one length per query"),
    # additive_attention
    WrongAnswer("additive_attention", "no unsqueeze before adding", '''
class AdditiveAttention(nn.Module):
    def __init__(self, query_size, key_size, num_hiddens):
        super().__init__()
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)

    def forward(self, queries, keys, values, valid_lens=None):
        features = torch.tanh(self.W_q(queries) + self.W_k(keys))
        scores = self.w_v(features).squeeze(-1)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return torch.bmm(self.attention_weights, values)
''', "without unsqueeze"),
    WrongAnswer("additive_attention", "additive: tanh missing",
                mutant("additive_attention", ("torch.tanh(q + k)", "q + k")), "left out the tanh"),
    WrongAnswer("additive_attention", "additive: softmax over the queries, mask dropped", '''
class AdditiveAttention(nn.Module):
    def __init__(self, query_size, key_size, num_hiddens):
        super().__init__()
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)

    def forward(self, queries, keys, values, valid_lens=None):
        features = torch.tanh(self.W_q(queries)[:, :, None, :] + self.W_k(keys)[:, None, :, :])
        scores = self.w_v(features).squeeze(-1)
        self.attention_weights = torch.softmax(scores, dim=1)
        return self.attention_weights @ values
''', "normalised over the queries (dim=1)"),
    WrongAnswer("additive_attention", "additive: mask ignored",
                mutant("additive_attention", ("masked_softmax(scores, valid_lens)", "torch.softmax(scores, dim=-1)")),
                "ignored valid_lens"),
    WrongAnswer("additive_attention", "additive: transposed weights (the source's alpha^T V)",
                mutant("additive_attention", ("return self.attention_weights @ values",
                                              "return torch.bmm(self.attention_weights.transpose(1, 2), values)")),
                "spot the bug: you computed alpha^T V"),
    WrongAnswer("additive_attention", "weights not stored",
                mutant("additive_attention", ("self.attention_weights = masked", "attention_weights = masked"),
                       ("return self.attention_weights", "return attention_weights")),
                "did not store its weights"),
    WrongAnswer("additive_attention", "scores stored instead of weights", '''
class AdditiveAttention(nn.Module):
    def __init__(self, query_size, key_size, num_hiddens):
        super().__init__()
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)

    def forward(self, queries, keys, values, valid_lens=None):
        features = torch.tanh(self.W_q(queries).unsqueeze(2) + self.W_k(keys).unsqueeze(1))
        self.attention_weights = self.w_v(features).squeeze(-1)
        return masked_softmax(self.attention_weights, valid_lens) @ values
''', "holds the scores"),
    WrongAnswer("additive_attention", "projections with bias",
                mutant("additive_attention", (", bias=False)", ")")), "has a bias"),
    WrongAnswer("additive_attention", "hidden features summed instead of w_v",
                mutant("additive_attention", ("self.w_v(features).squeeze(-1)", "features.sum(dim=-1)")),
                "summed the hidden features"),
    # tanh_attention
    WrongAnswer("tanh_attention", "tanh layer: transposed weights (the source's alpha^T V)", '''
class TanhAttention(nn.Module):
    def __init__(self, in_dim, att_dim):
        super().__init__()
        self.query = nn.Linear(in_dim, att_dim)
        self.key = nn.Linear(in_dim, att_dim)
        self.value = nn.Linear(in_dim, att_dim)
        for layer in (self.query, self.key, self.value):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        q, k, v = torch.tanh(self.query(x)), torch.tanh(self.key(x)), torch.tanh(self.value(x))
        alpha = torch.softmax(torch.bmm(q, k.permute(0, 2, 1)), dim=2)
        z = torch.bmm(alpha.permute(0, 2, 1), v)
        return z, z.sum(dim=1)
''', "spot the bug: you computed alpha^T V"),
    WrongAnswer("tanh_attention", "softmax normalised over the whole matrix", '''
class TanhAttention(nn.Module):
    def __init__(self, in_dim, att_dim):
        super().__init__()
        self.query = nn.Linear(in_dim, att_dim)
        self.key = nn.Linear(in_dim, att_dim)
        self.value = nn.Linear(in_dim, att_dim)
        for layer in (self.query, self.key, self.value):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        q, k, v = torch.tanh(self.query(x)), torch.tanh(self.key(x)), torch.tanh(self.value(x))
        e = torch.exp(q @ k.transpose(1, 2))
        alpha = e / e.sum(dim=(1, 2), keepdim=True)
        z = alpha @ v
        return z, z.sum(dim=1)
''', "normaliser sums over every entry"),
    WrongAnswer("tanh_attention", "scaled by sqrt(d) out of habit", '''
class TanhAttention(nn.Module):
    def __init__(self, in_dim, att_dim):
        super().__init__()
        self.query = nn.Linear(in_dim, att_dim)
        self.key = nn.Linear(in_dim, att_dim)
        self.value = nn.Linear(in_dim, att_dim)
        for layer in (self.query, self.key, self.value):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        q, k, v = torch.tanh(self.query(x)), torch.tanh(self.key(x)), torch.tanh(self.value(x))
        z = F.scaled_dot_product_attention(q, k, v)
        return z, z.sum(dim=1)
''', "no 1/sqrt(d) scaling"),
    WrongAnswer("tanh_attention", "tanh layer: tanh missing on q, k, v",
                mutant("tanh_attention", ("torch.tanh(self.query(x))", "self.query(x)"),
                       ("torch.tanh(self.key(x))", "self.key(x)"), ("torch.tanh(self.value(x))", "self.value(x)")),
                "left out the tanh"),
    WrongAnswer("tanh_attention", "global feature is a mean",
                mutant("tanh_attention", ("z.sum(dim=1)", "z.mean(dim=1)")), "global feature is a mean"),
    WrongAnswer("tanh_attention", "default init instead of Xavier",
                mutant("tanh_attention", ("            nn.init.xavier_uniform_(layer.weight)\n", "")),
                "does not look Xavier-uniform"),
    WrongAnswer("tanh_attention", "tanh layer: softmax over the queries", '''
class TanhAttention(nn.Module):
    def __init__(self, in_dim, att_dim):
        super().__init__()
        self.query = nn.Linear(in_dim, att_dim)
        self.key = nn.Linear(in_dim, att_dim)
        self.value = nn.Linear(in_dim, att_dim)
        for layer in (self.query, self.key, self.value):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        q, k, v = torch.tanh(self.query(x)), torch.tanh(self.key(x)), torch.tanh(self.value(x))
        z = torch.bmm(torch.softmax(torch.bmm(q, k.transpose(1, 2)), dim=1), v)
        return z, z.sum(dim=1)
''', "normalised over the queries (dim=1)"),
    WrongAnswer("tanh_attention", "global feature summed over features",
                mutant("tanh_attention", ("z.sum(dim=1)", "z.sum(dim=-1)")), "sums the wrong axis"),
]

# Source 003 gives formulas but no numbers; these are the notebook's own worked examples.
WORKED_EXAMPLES = {
    # query 1.0 scores keys [0, 1, 2, 3] as -2 * distance**2 = [-2, 0, -2, -8]; query 2.5 as
    # [-12.5, -4.5, -0.5, -0.5]; values are keys**2.
    "toy_weights": [[0.1064789, 0.7867783, 0.1064789, 0.0002639],
                    [0.0000030, 0.0090747, 0.4954611, 0.4954611]],
    "toy_predictions": [1.2150691, 6.4500694],
    "masked_softmax(equal_scores, torch.tensor([[1, 3], [2, 4]]))":
        [[[1.0, 0.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3, 0.0]],
         [[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]]],
    # ten identical keys: uniform weights over the valid ones, so plain averages of value rows
    "additive_out": [[[2.0, 3.0, 4.0, 5.0]], [[10.0, 11.0, 12.0, 13.0]]],
}

# A failure that an earlier exercise causes is named as such; and the idioms of well-known
# materials (Dive into Deep Learning's dropout inside AdditiveAttention, `.T` on batches).
WRONG_ANSWERS += [
    WrongAnswer("masked_softmax", "NaN on empty rows, seen from AdditiveAttention (exercise 3)", '''
def masked_softmax(scores, valid_lens=None):
    if valid_lens is None:
        return torch.softmax(scores, dim=-1)
    b, n, m = scores.shape
    if valid_lens.dim() == 1:
        valid_lens = valid_lens[:, None].expand(b, n)
    keep = torch.arange(m) < valid_lens[:, :, None]
    return torch.softmax(scores.masked_fill(~keep, float("-inf")), dim=-1)
''', "the cause is in exercise 2"),
    WrongAnswer("additive_attention", "dropout that ignores eval mode (F.dropout)", '''
class AdditiveAttention(nn.Module):
    def __init__(self, query_size, key_size, num_hiddens, dropout=0.1):
        super().__init__()
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)
        self.p = dropout

    def forward(self, queries, keys, values, valid_lens=None):
        features = torch.tanh(self.W_q(queries).unsqueeze(2) + self.W_k(keys).unsqueeze(1))
        scores = self.w_v(features).squeeze(-1)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return torch.bmm(F.dropout(self.attention_weights, self.p), values)
''', "something random runs"),
    WrongAnswer("tanh_attention", "k.T on a batch", '''
class TanhAttention(nn.Module):
    def __init__(self, in_dim, att_dim):
        super().__init__()
        self.query = nn.Linear(in_dim, att_dim)
        self.key = nn.Linear(in_dim, att_dim)
        self.value = nn.Linear(in_dim, att_dim)
        for layer in (self.query, self.key, self.value):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        q, k, v = torch.tanh(self.query(x)), torch.tanh(self.key(x)), torch.tanh(self.value(x))
        z = torch.softmax(q @ k.T, dim=-1) @ v
        return z, z.sum(dim=1)
''', ".T reverses ALL three axes"),
]

# Two mistakes the text names (sections 2 and 5) and the checks recognise.
WRONG_ANSWERS += [
    WrongAnswer("additive_attention", "one denominator for the whole score matrix (source 003)", '''
class AdditiveAttention(nn.Module):
    def __init__(self, query_size, key_size, num_hiddens):
        super().__init__()
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)

    def forward(self, queries, keys, values, valid_lens=None):
        features = torch.tanh(self.W_q(queries).unsqueeze(2) + self.W_k(keys).unsqueeze(1))
        scores = self.w_v(features).squeeze(-1)
        if valid_lens is not None:
            b, n, m = scores.shape
            lens = valid_lens[:, None].expand(b, n) if valid_lens.dim() == 1 else valid_lens
            scores = scores.masked_fill(torch.arange(m) >= lens[:, :, None], float("-inf"))
        e = torch.exp(scores)
        self.attention_weights = e / e.sum(dim=(1, 2), keepdim=True)
        return self.attention_weights @ values
''', "normaliser sums over every query's scores at once"),
    WrongAnswer("tanh_attention", "xavier_normal_ instead of xavier_uniform_",
                mutant("tanh_attention", ("nn.init.xavier_uniform_(layer.weight)",
                                          "nn.init.xavier_normal_(layer.weight)")),
                "a normal draw, such as xavier_normal_, has no bound"),
]

# Right answers in other styles: each must get full marks.
from alternatives import CorrectAnswer  # noqa: E402

CORRECT_ANSWERS = [
    CorrectAnswer("nadaraya_watson", "loop over the queries", '''
def nadaraya_watson(x_query, x_keys, y_values, bandwidth):
    rows = []
    for xq in x_query:
        rows.append(torch.softmax(-((xq - x_keys) ** 2) / (2 * bandwidth**2), dim=0))
    weights = torch.stack(rows)
    return weights @ y_values, weights
'''),
    CorrectAnswer("nadaraya_watson", "expanded square, manual softmax with max subtraction", '''
def nadaraya_watson(x_query, x_keys, y_values, bandwidth):
    scores = (2 * torch.outer(x_query, x_keys) - x_keys[None, :] ** 2 - x_query[:, None] ** 2) / (2 * bandwidth**2)
    e = torch.exp(scores - scores.max(dim=1, keepdim=True).values)
    weights = e / e.sum(dim=1, keepdim=True)
    return (weights * y_values[None, :]).sum(dim=1), weights
'''),
    CorrectAnswer("masked_softmax", "manual exp with a zero for masked keys", '''
def masked_softmax(scores, valid_lens=None):
    b, n, m = scores.shape
    if valid_lens is None:
        valid_lens = torch.full((b, n), m)
    elif valid_lens.dim() == 1:
        valid_lens = valid_lens.repeat_interleave(n).reshape(b, n)
    keep = torch.arange(m).view(1, 1, m) < valid_lens.unsqueeze(-1)
    top = scores.masked_fill(~keep, float("-inf")).amax(dim=-1, keepdim=True)
    top = torch.where(torch.isinf(top), torch.zeros_like(top), top)
    e = torch.exp(scores - top) * keep
    total = e.sum(dim=-1, keepdim=True)
    return e / torch.where(total == 0, torch.ones_like(total), total)
'''),
    CorrectAnswer("masked_softmax", "loop over the rows", '''
def masked_softmax(scores, valid_lens=None):
    if valid_lens is None:
        return torch.softmax(scores, dim=-1)
    b, n, m = scores.shape
    out = torch.zeros_like(scores)
    for i in range(b):
        for j in range(n):
            length = int(valid_lens[i] if valid_lens.dim() == 1 else valid_lens[i, j])
            if length > 0:
                out[i, j, :length] = torch.softmax(scores[i, j, :length], dim=0)
    return out
'''),
    CorrectAnswer("additive_attention", "Dive into Deep Learning's layout: nn.Dropout, bmm", '''
class AdditiveAttention(nn.Module):
    def __init__(self, query_size, key_size, num_hiddens, dropout=0.1):
        super().__init__()
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, queries, keys, values, valid_lens=None):
        queries, keys = self.W_q(queries), self.W_k(keys)
        features = torch.tanh(queries.unsqueeze(2) + keys.unsqueeze(1))
        scores = self.w_v(features).squeeze(-1)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return torch.bmm(self.dropout(self.attention_weights), values)
'''),
    CorrectAnswer("additive_attention", "einsum over the hidden axis", '''
class AdditiveAttention(nn.Module):
    def __init__(self, query_size, key_size, num_hiddens):
        super().__init__()
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)

    def forward(self, queries, keys, values, valid_lens=None):
        features = torch.tanh(self.W_q(queries)[:, :, None, :] + self.W_k(keys)[:, None, :, :])
        scores = torch.einsum("bnmh,h->bnm", features, self.w_v.weight[0])
        self.attention_weights = masked_softmax(scores, valid_lens)
        return torch.einsum("bnm,bmd->bnd", self.attention_weights, values)
'''),
    CorrectAnswer("tanh_attention", "bmm and permute, as the source's code", '''
class TanhAttention(nn.Module):
    def __init__(self, in_dim, att_dim):
        super().__init__()
        self.query = nn.Linear(in_dim, att_dim)
        self.key = nn.Linear(in_dim, att_dim)
        self.value = nn.Linear(in_dim, att_dim)
        for layer in [self.query, self.key, self.value]:
            nn.init.xavier_uniform_(layer.weight, gain=1.0)
            layer.bias.data.zero_()

    def forward(self, x):
        q = torch.tanh(self.query(x))
        k = torch.tanh(self.key(x))
        v = torch.tanh(self.value(x))
        z = torch.bmm(F.softmax(torch.bmm(q, k.permute(0, 2, 1)), dim=2), v)
        return z, torch.sum(z, dim=1)
'''),
    CorrectAnswer("tanh_attention", "PyTorch's kernel with scale=1", '''
class TanhAttention(nn.Module):
    def __init__(self, in_dim, att_dim):
        super().__init__()
        self.query = nn.Linear(in_dim, att_dim)
        self.key = nn.Linear(in_dim, att_dim)
        self.value = nn.Linear(in_dim, att_dim)
        for layer in (self.query, self.key, self.value):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.constant_(layer.bias, 0.0)

    def forward(self, x):
        q, k, v = (torch.tanh(layer(x)) for layer in (self.query, self.key, self.value))
        z = F.scaled_dot_product_attention(q, k, v, scale=1.0)
        return z, z.sum(1)
'''),
]

# Forbidden calls (issue 16): the course's own code, and the built-ins an exercise asks the learner to
# rebuild, lose the exercise's marks with a message naming the call.
WRONG_ANSWERS += [
    WrongAnswer("nadaraya_watson", "nadaraya_watson: calls the check's reference", '''
def nadaraya_watson(x_query, x_keys, y_values, bandwidth):
    return check._nadaraya_watson(x_query, x_keys, y_values, bandwidth)
''', "nadaraya_watson called autograder.checks.additive_attention._nadaraya_watson, the course's own code"),
    WrongAnswer("masked_softmax", "masked_softmax: the check's reference assigned", '''
masked_softmax = check._masked_softmax
''', "masked_softmax called autograder.checks.additive_attention._masked_softmax, the course's own code"),
    WrongAnswer("additive_attention", "additive_attention: forward calls the check's reference", '''
class AdditiveAttention(nn.Module):
    def __init__(self, query_size, key_size, num_hiddens):
        super().__init__()
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)

    def forward(self, queries, keys, values, valid_lens=None):
        out, self.attention_weights = check._additive(self, queries, keys, values, valid_lens)
        return out
''', "called autograder.checks.additive_attention._additive, the course's own code"),
    WrongAnswer("tanh_attention", "tanh_attention: forward calls the check's reference", '''
class TanhAttention(nn.Module):
    def __init__(self, in_dim, att_dim):
        super().__init__()
        self.query = nn.Linear(in_dim, att_dim)
        self.key = nn.Linear(in_dim, att_dim)
        self.value = nn.Linear(in_dim, att_dim)
        for layer in (self.query, self.key, self.value):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        return check._tanh_attention(self, x)
''', "called autograder.checks.additive_attention._tanh_attention, the course's own code"),
]
