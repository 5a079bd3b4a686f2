"""Wrong answers for notebook 09 (attention in today's LLMs), each a realistic learner attempt."""

from support import WrongAnswer

# The right answers, with one line changed per wrong answer below.
_ROPE = '''
def rope(x, positions, base=10000.0):
    d = x.shape[-1]
    thetas = base ** (-torch.arange(0, d, 2, dtype=torch.float32) / d)
    angles = positions.float()[:, None] * thetas
    cos, sin = angles.cos(), angles.sin()
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1).flatten(-2)
'''

_ROPE_ATTENTION = '''
def rope_attention(x, w_q, w_k, w_v, mask=None):
    positions = torch.arange(x.shape[-2])
    q = rope(x @ w_q, positions)
    k = rope(x @ w_k, positions)
    v = x @ w_v
    return scaled_dot_product_attention(q, k, v, mask)
'''

_GQA = '''
class GroupedQueryAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, num_kv_heads):
        super().__init__()
        self.num_heads, self.num_kv_heads = num_heads, num_kv_heads
        d_head = embed_dim // num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim, bias=False)
        self.w_k = nn.Linear(embed_dim, num_kv_heads * d_head, bias=False)
        self.w_v = nn.Linear(embed_dim, num_kv_heads * d_head, bias=False)
        self.w_o = nn.Linear(embed_dim, embed_dim, bias=False)

    def forward(self, x, mask=None, positions=None):
        q = split_heads(self.w_q(x), self.num_heads)
        k = split_heads(self.w_k(x), self.num_kv_heads)
        v = split_heads(self.w_v(x), self.num_kv_heads)
        if positions is not None:
            q, k = rope(q, positions), rope(k, positions)
        group = self.num_heads // self.num_kv_heads
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        return self.w_o(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
'''

_BLOCK = '''
class LlamaBlock(nn.Module):
    def __init__(self, d_model, num_heads, num_kv_heads, d_ff, eps=1e-6):
        super().__init__()
        self.attn_norm = nn.RMSNorm(d_model, eps=eps)
        self.attn = GroupedQueryAttention(d_model, num_heads, num_kv_heads)
        self.ffn_norm = nn.RMSNorm(d_model, eps=eps)
        self.w_gate = nn.Linear(d_model, d_ff, bias=False)
        self.w_up = nn.Linear(d_model, d_ff, bias=False)
        self.w_down = nn.Linear(d_ff, d_model, bias=False)

    def forward(self, x, mask=None):
        n = x.shape[1]
        if mask is None:
            mask = causal_mask(n)
        x = x + self.attn(self.attn_norm(x), mask, torch.arange(n))
        h = self.ffn_norm(x)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))
'''


def _edit(template, old, new):
    assert old in template, old
    return template.replace(old, new)


WRONG_ANSWERS = [
    # rope
    WrongAnswer("rope", "halves pairing (rotate_half)", '''
def rope(x, positions, base=10000.0):
    d = x.shape[-1]
    thetas = base ** (-torch.arange(0, d, 2, dtype=torch.float32) / d)
    angles = positions.float()[:, None] * thetas
    cos, sin = angles.cos(), angles.sin()
    a, b = x[..., : d // 2], x[..., d // 2:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)
''', "pairs neighbours"),
    WrongAnswer("rope", "theta exponent i/d", _edit(
        _ROPE, "thetas = base ** (-torch.arange(0, d, 2, dtype=torch.float32) / d)",
        "thetas = base ** (-torch.arange(d // 2, dtype=torch.float32) / d)"), "theta has the wrong exponent"),
    WrongAnswer("rope", "theta exponent doubled twice", _edit(
        _ROPE, "thetas = base ** (-torch.arange(0, d, 2, dtype=torch.float32) / d)",
        "thetas = base ** (-2 * torch.arange(0, d, 2, dtype=torch.float32) / d)"), "doubled the pair index twice"),
    WrongAnswer("rope", "rotated the wrong way", _edit(
        _ROPE, "[a * cos - b * sin, a * sin + b * cos]", "[a * cos + b * sin, -a * sin + b * cos]"),
        "rotated the wrong way"),
    WrongAnswer("rope", "positions ignored", _edit(
        _ROPE, "angles = positions.float()[:, None] * thetas",
        "angles = torch.arange(x.shape[-2]).float()[:, None] * thetas"), "you ignored `positions`"),
    WrongAnswer("rope", "multiplied by base^(2i/d)", _edit(
        _ROPE, "thetas = base ** (-torch.arange(0, d, 2, dtype=torch.float32) / d)",
        "thetas = base ** (torch.arange(0, d, 2, dtype=torch.float32) / d)"), "multiplied by base^(2i/d)"),
    # rope_attention
    WrongAnswer("rope_attention", "values rotated", _edit(
        _ROPE_ATTENTION, "v = x @ w_v", "v = rope(x @ w_v, positions)"), "you rotated the values too"),
    WrongAnswer("rope_attention", "rotated before the projection", '''
def rope_attention(x, w_q, w_k, w_v, mask=None):
    rotated = rope(x, torch.arange(x.shape[-2]))
    return scaled_dot_product_attention(rotated @ w_q, rotated @ w_k, x @ w_v, mask)
''', "you rotated x before the projections"),
    WrongAnswer("rope_attention", "only the queries rotated", _edit(
        _ROPE_ATTENTION, "k = rope(x @ w_k, positions)", "k = x @ w_k"), "you rotated only the queries"),
    WrongAnswer("rope_attention", "mask dropped", _edit(
        _ROPE_ATTENTION, "scaled_dot_product_attention(q, k, v, mask)", "scaled_dot_product_attention(q, k, v)"),
        "you ignored the mask"),
    WrongAnswer("rope_attention", ".T on the batched keys", '''
def rope_attention(x, w_q, w_k, w_v, mask=None):
    positions = torch.arange(x.shape[-2])
    q = rope(x @ w_q, positions)
    k = rope(x @ w_k, positions)
    scores = q @ k.T / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ (x @ w_v)
''', "reverses all three axes"),
    # GroupedQueryAttention
    WrongAnswer("GroupedQueryAttention", "repeat instead of repeat_interleave", _edit(_edit(
        _GQA, "k = k.repeat_interleave(group, dim=1)", "k = k.repeat(1, group, 1, 1)"),
        "v = v.repeat_interleave(group, dim=1)", "v = v.repeat(1, group, 1, 1)"),
        "k.repeat_interleave(group, dim=1)"),
    WrongAnswer("GroupedQueryAttention", "queries shared instead of keys and values", '''
class GroupedQueryAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, num_kv_heads):
        super().__init__()
        self.num_heads, self.num_kv_heads = num_heads, num_kv_heads
        d_head = embed_dim // num_heads
        self.w_q = nn.Linear(embed_dim, num_kv_heads * d_head, bias=False)
        self.w_k = nn.Linear(embed_dim, embed_dim, bias=False)
        self.w_v = nn.Linear(embed_dim, embed_dim, bias=False)
        self.w_o = nn.Linear(embed_dim, embed_dim, bias=False)

    def forward(self, x, mask=None, positions=None):
        q = split_heads(self.w_q(x), self.num_kv_heads)
        k = split_heads(self.w_k(x), self.num_heads)
        v = split_heads(self.w_v(x), self.num_heads)
        if positions is not None:
            q, k = rope(q, positions), rope(k, positions)
        q = q.repeat_interleave(self.num_heads // self.num_kv_heads, dim=1)
        return self.w_o(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''', "you shared the queries instead of the keys and values"),
    WrongAnswer("GroupedQueryAttention", "k/v projections of full width", '''
class GroupedQueryAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, num_kv_heads):
        super().__init__()
        self.num_heads, self.num_kv_heads = num_heads, num_kv_heads
        self.w_q = nn.Linear(embed_dim, embed_dim, bias=False)
        self.w_k = nn.Linear(embed_dim, embed_dim, bias=False)
        self.w_v = nn.Linear(embed_dim, embed_dim, bias=False)
        self.w_o = nn.Linear(embed_dim, embed_dim, bias=False)

    def forward(self, x, mask=None, positions=None):
        q = split_heads(self.w_q(x), self.num_heads)
        group = self.num_heads // self.num_kv_heads
        k = split_heads(self.w_k(x), self.num_heads)[:, ::group].repeat_interleave(group, dim=1)
        v = split_heads(self.w_v(x), self.num_heads)[:, ::group].repeat_interleave(group, dim=1)
        if positions is not None:
            q, k = rope(q, positions), rope(k, positions)
        return self.w_o(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''', "still has full width"),
    WrongAnswer("GroupedQueryAttention", "rotated before splitting heads", _edit(_edit(_edit(
        _GQA, "q = split_heads(self.w_q(x), self.num_heads)",
        "q = self.w_q(x)\n        k = self.w_k(x)\n        if positions is not None:\n"
        "            q, k = rope(q, positions), rope(k, positions)\n        q = split_heads(q, self.num_heads)"),
        "k = split_heads(self.w_k(x), self.num_kv_heads)", "k = split_heads(k, self.num_kv_heads)"),
        "        if positions is not None:\n            q, k = rope(q, positions), rope(k, positions)\n        group",
        "        group"), "before splitting it into heads"),
    WrongAnswer("GroupedQueryAttention", "RoPE positions ignored by the attention", _edit(
        _GQA, "if positions is not None:", "if False:"), "you ignored `positions`"),
    WrongAnswer("GroupedQueryAttention", "scaled by sqrt(embed_dim)", '''
class GroupedQueryAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, num_kv_heads):
        super().__init__()
        self.num_heads, self.num_kv_heads = num_heads, num_kv_heads
        d_head = embed_dim // num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim, bias=False)
        self.w_k = nn.Linear(embed_dim, num_kv_heads * d_head, bias=False)
        self.w_v = nn.Linear(embed_dim, num_kv_heads * d_head, bias=False)
        self.w_o = nn.Linear(embed_dim, embed_dim, bias=False)

    def forward(self, x, mask=None, positions=None):
        q = split_heads(self.w_q(x), self.num_heads)
        k = split_heads(self.w_k(x), self.num_kv_heads)
        v = split_heads(self.w_v(x), self.num_kv_heads)
        if positions is not None:
            q, k = rope(q, positions), rope(k, positions)
        group = self.num_heads // self.num_kv_heads
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        scores = q @ k.transpose(-2, -1) / math.sqrt(x.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return self.w_o(merge_heads(torch.softmax(scores, dim=-1) @ v))
''', "you scaled the scores by sqrt(embed_dim)"),
    WrongAnswer("GroupedQueryAttention", "F.dropout on the output (always on)", _edit(
        _GQA, "return self.w_o(merge_heads(scaled_dot_product_attention(q, k, v, mask)))",
        "return F.dropout(self.w_o(merge_heads(scaled_dot_product_attention(q, k, v, mask))), p=0.1)"),
        "dropout most likely"),
    # sliding_window_mask
    WrongAnswer("sliding_window_mask", "off by one (window + 1 keys)", '''
def sliding_window_mask(n, window):
    i = torch.arange(n)[:, None]
    j = torch.arange(n)[None, :]
    return (j <= i) & (i - j <= window)
''', "off by one"),
    WrongAnswer("sliding_window_mask", "not combined with causality", '''
def sliding_window_mask(n, window):
    i = torch.arange(n)[:, None]
    j = torch.arange(n)[None, :]
    return i - j < window
''', "not combined with causality"),
    WrongAnswer("sliding_window_mask", "symmetric window", '''
def sliding_window_mask(n, window):
    i = torch.arange(n)[:, None]
    j = torch.arange(n)[None, :]
    return (i - j).abs() < window
''', "your window is symmetric"),
    WrongAnswer("sliding_window_mask", "band built with triu/tril, off by one", '''
def sliding_window_mask(n, window):
    ones = torch.ones(n, n, dtype=torch.bool)
    return ones.tril() & ones.triu(-window)
''', "off by one"),
    WrongAnswer("sliding_window_mask", "float mask", '''
def sliding_window_mask(n, window):
    i = torch.arange(n)[:, None]
    j = torch.arange(n)[None, :]
    return ((j <= i) & (i - j < window)).float()
''', "a mask is a bool tensor"),
    # rms_norm
    WrongAnswer("rms_norm", "mean subtracted (layer norm)", '''
def rms_norm(x, weight, eps=1e-6):
    x = x - x.mean(dim=-1, keepdim=True)
    return x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps) * weight
''', "that is layer norm"),
    WrongAnswer("rms_norm", "eps outside the square root", '''
def rms_norm(x, weight, eps=1e-6):
    return weight * x / (x.pow(2).mean(-1, keepdim=True).sqrt() + eps)
''', "eps outside the square root"),
    WrongAnswer("rms_norm", "sum of squares instead of mean", '''
def rms_norm(x, weight, eps=1e-6):
    return x / torch.sqrt((x ** 2).sum(-1, keepdim=True) + eps) * weight
''', "summed the squares"),
    WrongAnswer("rms_norm", "no square root", '''
def rms_norm(x, weight, eps=1e-6):
    return x / ((x ** 2).mean(-1, keepdim=True) + eps) * weight
''', "divided by the mean square"),
    WrongAnswer("rms_norm", "mean over the wrong axis (dim=0)", '''
def rms_norm(x, weight, eps=1e-6):
    return x / torch.sqrt((x * x).mean(dim=0, keepdim=True) + eps) * weight
''', "you normalised over the wrong axis"),
    # swiglu
    WrongAnswer("swiglu", "gate on the wrong branch", '''
def swiglu(x, w_gate, w_up, w_down):
    return ((x @ w_gate) * F.silu(x @ w_up)) @ w_down
''', "the gate is on the wrong branch"),
    WrongAnswer("swiglu", "SiLU missing", '''
def swiglu(x, w_gate, w_up, w_down):
    return ((x @ w_gate) * (x @ w_up)) @ w_down
''', "SiLU is missing"),
    WrongAnswer("swiglu", "sigmoid gate (GLU)", '''
def swiglu(x, w_gate, w_up, w_down):
    return (torch.sigmoid(x @ w_gate) * (x @ w_up)) @ w_down
''', "that is the original GLU"),
    WrongAnswer("swiglu", "SiLU on the product", '''
def swiglu(x, w_gate, w_up, w_down):
    return F.silu((x @ w_gate) * (x @ w_up)) @ w_down
''', "applied SiLU to the product"),
    # LlamaBlock
    WrongAnswer("LlamaBlock", "post-norm", _edit(_edit(_edit(
        _BLOCK, "x = x + self.attn(self.attn_norm(x), mask, torch.arange(n))",
        "x = self.attn_norm(x + self.attn(x, mask, torch.arange(n)))"),
        "        h = self.ffn_norm(x)\n", ""),
        "return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))",
        "return self.ffn_norm(x + self.w_down(F.silu(self.w_gate(x)) * self.w_up(x)))"), "(post-norm)"),
    WrongAnswer("LlamaBlock", "no RoPE positions", _edit(
        _BLOCK, "self.attn(self.attn_norm(x), mask, torch.arange(n))", "self.attn(self.attn_norm(x), mask)"),
        "no RoPE"),
    WrongAnswer("LlamaBlock", "not causal by default", _edit(
        _BLOCK, "        if mask is None:\n            mask = causal_mask(n)\n", ""), "no causal mask"),
    WrongAnswer("LlamaBlock", "ReLU feed-forward", _edit(
        _BLOCK, "self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))",
        "self.w_down(torch.relu(self.w_gate(h)) * self.w_up(h))"),
        "uses ReLU"),
    WrongAnswer("LlamaBlock", "norm eps not passed on", _edit(_edit(
        _BLOCK, "self.attn_norm = nn.RMSNorm(d_model, eps=eps)", "self.attn_norm = nn.RMSNorm(d_model)"),
        "self.ffn_norm = nn.RMSNorm(d_model, eps=eps)", "self.ffn_norm = nn.RMSNorm(d_model)"),
        "pass the block's eps on"),
]

# The notebook's own worked examples (RoPE of [1, 0, 1, 0] at position 1; RMSNorm of [3, 4, 0, 0];
# the KV cache of a Llama-2-70B-shaped model with 64 and with 8 key/value heads).
WORKED_EXAMPLES = {
    "rope(torch.tensor([[1.0, 0.0, 1.0, 0.0]] * 3), torch.arange(3))[1]": [0.5403023, 0.8414710, 0.99995, 0.00999983],
    "rms_norm(torch.tensor([[3.0, 4.0, 0.0, 0.0]]), torch.ones(4))": [[1.2, 1.6, 0.0, 0.0]],
    "kv_bytes_mha": 2621440,
    "kv_bytes_gqa": 327680,
    "sliding_window_mask(6, 3).sum()": 15,
}

# Forbidden calls (issue 16): the course's own code, and the built-ins an exercise asks the learner to
# rebuild, lose the exercise's marks with a message naming the call.
WRONG_ANSWERS += [
    WrongAnswer("rope", "rope: the check's reference assigned", '''
rope = check._rope
''', "rope called autograder.checks.modern_attention._rope, the course's own code"),
    WrongAnswer("rope_attention", "rope_attention: calls the check's reference", '''
def rope_attention(x, w_q, w_k, w_v, mask=None):
    return check._rope_attention(x, w_q, w_k, w_v, mask)
''', "rope_attention called autograder.checks.modern_attention._rope_attention, the course's own code"),
    WrongAnswer("sliding_window_mask", "sliding_window_mask: calls the check's reference", '''
def sliding_window_mask(n, window):
    return check._window(n, window)
''', "sliding_window_mask called autograder.checks.modern_attention._window, the course's own code"),
    WrongAnswer("rms_norm", "rms_norm: calls F.rms_norm", '''
def rms_norm(x, weight, eps=1e-6):
    return F.rms_norm(x, x.shape[-1:], weight, eps)
''', "rms_norm called F.rms_norm, which this exercise asks you to build yourself"),
    WrongAnswer("rms_norm", "rms_norm: calls torch.rms_norm", '''
def rms_norm(x, weight, eps=1e-6):
    return torch.rms_norm(x, x.shape[-1:], weight, eps)
''', "rms_norm called torch.rms_norm, which this exercise asks you to build yourself"),
    WrongAnswer("swiglu", "swiglu: the check's reference assigned", '''
swiglu = check._swiglu
''', "swiglu called autograder.checks.modern_attention._swiglu, the course's own code"),
    WrongAnswer("GroupedQueryAttention", "GroupedQueryAttention: F.scaled_dot_product_attention(enable_gqa=True)", '''
class GroupedQueryAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, num_kv_heads):
        super().__init__()
        self.num_heads, self.num_kv_heads = num_heads, num_kv_heads
        d_head = embed_dim // num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim, bias=False)
        self.w_k = nn.Linear(embed_dim, num_kv_heads * d_head, bias=False)
        self.w_v = nn.Linear(embed_dim, num_kv_heads * d_head, bias=False)
        self.w_o = nn.Linear(embed_dim, embed_dim, bias=False)

    def forward(self, x, mask=None, positions=None):
        q = split_heads(self.w_q(x), self.num_heads)
        k = split_heads(self.w_k(x), self.num_kv_heads)
        v = split_heads(self.w_v(x), self.num_kv_heads)
        if positions is not None:
            q, k = rope(q, positions), rope(k, positions)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True).nan_to_num(0.0)
        return self.w_o(merge_heads(out))
''', "called F.scaled_dot_product_attention, which this exercise asks you to build yourself"),
]

# Right answers in other styles: each must get full marks under both graders.
from alternatives import CorrectAnswer  # noqa: E402

CORRECT_ANSWERS = [
    CorrectAnswer("rope", "complex numbers (torch.polar), as in Llama's reference code", '''
def rope(x, positions, base=10000.0):
    d = x.shape[-1]
    thetas = 1.0 / base ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    angles = positions.to(torch.float64)[:, None] * thetas
    turn = torch.polar(torch.ones_like(angles), angles)
    pairs = torch.view_as_complex(x.to(torch.float64).reshape(*x.shape[:-1], d // 2, 2).contiguous())
    return torch.view_as_real(pairs * turn).flatten(-2).to(x.dtype)
'''),
    CorrectAnswer("rope", "rotate-every-two with repeat_interleave'd cos and sin", '''
def rope(x, positions, base=10000.0):
    d = x.shape[-1]
    i = torch.arange(d // 2, dtype=torch.float32)
    angles = positions.float()[:, None] / base ** (2 * i / d)
    cos = angles.cos().repeat_interleave(2, dim=-1)
    sin = angles.sin().repeat_interleave(2, dim=-1)
    partner = torch.stack([-x[..., 1::2], x[..., 0::2]], dim=-1).flatten(-2)
    return x * cos + partner * sin
'''),
    CorrectAnswer("rope_attention", "einsum and a manual softmax", '''
def rope_attention(x, w_q, w_k, w_v, mask=None):
    positions = torch.arange(x.shape[-2])
    q = rope(torch.einsum("...nd,dk->...nk", x, w_q), positions)
    k = rope(torch.einsum("...nd,dk->...nk", x, w_k), positions)
    v = torch.einsum("...nd,dv->...nv", x, w_v)
    scores = torch.einsum("...nk,...mk->...nm", q, k) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    e = torch.exp(scores - scores.amax(dim=-1, keepdim=True))
    return (e / e.sum(dim=-1, keepdim=True)) @ v
'''),
    CorrectAnswer("rope_attention", "F.scaled_dot_product_attention", '''
def rope_attention(x, w_q, w_k, w_v, mask=None):
    positions = torch.arange(x.shape[-2])
    q, k = rope(x @ w_q, positions), rope(x @ w_k, positions)
    return F.scaled_dot_product_attention(q, k, x @ w_v, attn_mask=mask)
'''),
    CorrectAnswer("GroupedQueryAttention", "groups as an axis of their own (einsum, no repeat)", '''
class GroupedQueryAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, num_kv_heads):
        super().__init__()
        self.num_heads, self.num_kv_heads = num_heads, num_kv_heads
        d_head = embed_dim // num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim, bias=False)
        self.w_k = nn.Linear(embed_dim, num_kv_heads * d_head, bias=False)
        self.w_v = nn.Linear(embed_dim, num_kv_heads * d_head, bias=False)
        self.w_o = nn.Linear(embed_dim, embed_dim, bias=False)

    def forward(self, x, mask=None, positions=None):
        b, n, _ = x.shape
        kv, group = self.num_kv_heads, self.num_heads // self.num_kv_heads
        q = split_heads(self.w_q(x), self.num_heads)
        k = split_heads(self.w_k(x), kv)
        v = split_heads(self.w_v(x), kv)
        if positions is not None:
            q, k = rope(q, positions), rope(k, positions)
        q = q.reshape(b, kv, group, n, -1)
        scores = torch.einsum("bkgnd,bkmd->bkgnm", q, k) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(~mask.reshape(*mask.shape[:-3], -1, 1, n, n)
                                        if mask.dim() == 4 else ~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        out = torch.einsum("bkgnm,bkmd->bkgnd", weights, v).reshape(b, self.num_heads, n, -1)
        return self.w_o(merge_heads(out))
'''),
    CorrectAnswer("sliding_window_mask", "tril minus a shifted tril", '''
def sliding_window_mask(n, window):
    ones = torch.ones(n, n, dtype=torch.bool)
    return torch.tril(ones) & ~torch.tril(ones, diagonal=-window)
'''),
    CorrectAnswer("sliding_window_mask", "explicit double loop", '''
def sliding_window_mask(n, window):
    mask = torch.zeros(n, n, dtype=torch.bool)
    for i in range(n):
        for j in range(max(0, i - window + 1), i + 1):
            mask[i, j] = True
    return mask
'''),
    CorrectAnswer("rms_norm", "rsqrt of pow(2).mean", '''
def rms_norm(x, weight, eps=1e-6):
    return weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
'''),
    CorrectAnswer("rms_norm", "the L2 norm over sqrt(d)", '''
def rms_norm(x, weight, eps=1e-6):
    d = x.shape[-1]
    return x / torch.sqrt(x.norm(dim=-1, keepdim=True) ** 2 / d + eps) * weight
'''),
    CorrectAnswer("swiglu", "x * sigmoid(x) written out", '''
def swiglu(x, w_gate, w_up, w_down):
    g = x @ w_gate
    return (g * torch.sigmoid(g) * (x @ w_up)) @ w_down
'''),
    CorrectAnswer("swiglu", "einsum", '''
def swiglu(x, w_gate, w_up, w_down):
    gate = F.silu(torch.einsum("...d,df->...f", x, w_gate))
    return torch.einsum("...f,fd->...d", gate * torch.einsum("...d,df->...f", x, w_up), w_down)
'''),
    CorrectAnswer("LlamaBlock", "a helper for the feed-forward network, causal mask from triu", '''
class LlamaBlock(nn.Module):
    def __init__(self, d_model, num_heads, num_kv_heads, d_ff, eps=1e-6):
        super().__init__()
        self.attn_norm = nn.RMSNorm(d_model, eps=eps)
        self.attn = GroupedQueryAttention(d_model, num_heads, num_kv_heads)
        self.ffn_norm = nn.RMSNorm(d_model, eps=eps)
        self.w_gate = nn.Linear(d_model, d_ff, bias=False)
        self.w_up = nn.Linear(d_model, d_ff, bias=False)
        self.w_down = nn.Linear(d_ff, d_model, bias=False)

    def ffn(self, h):
        return self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))

    def forward(self, x, mask=None):
        n = x.shape[-2]
        if mask is None:
            mask = ~torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
        h = x + self.attn(self.attn_norm(x), mask, torch.arange(n))
        return h + self.ffn(self.ffn_norm(h))
'''),
    CorrectAnswer("LlamaBlock", "swiglu of exercise 6 on the weight matrices", '''
class LlamaBlock(nn.Module):
    def __init__(self, d_model, num_heads, num_kv_heads, d_ff, eps=1e-6):
        super().__init__()
        self.attn_norm = nn.RMSNorm(d_model, eps=eps)
        self.attn = GroupedQueryAttention(d_model, num_heads, num_kv_heads)
        self.ffn_norm = nn.RMSNorm(d_model, eps=eps)
        self.w_gate = nn.Linear(d_model, d_ff, bias=False)
        self.w_up = nn.Linear(d_model, d_ff, bias=False)
        self.w_down = nn.Linear(d_ff, d_model, bias=False)

    def forward(self, x, mask=None):
        n = x.shape[1]
        mask = causal_mask(n) if mask is None else mask
        x = x + self.attn(self.attn_norm(x), mask=mask, positions=torch.arange(n))
        return x + swiglu(self.ffn_norm(x), self.w_gate.weight.T, self.w_up.weight.T, self.w_down.weight.T)
'''),
]
