"""Wrong answers for notebook 04 (multi-head attention), each a realistic learner attempt."""

from support import WrongAnswer

WRONG_ANSWERS = [
    # split_heads
    WrongAnswer("split_heads", "reshape straight to (b, h, s, d)", '''
def split_heads(x, num_heads):
    batch, seq, embed = x.shape
    return x.reshape(batch, num_heads, seq, embed // num_heads)
''', "reshaped straight to (batch, heads, seq, d_head)"),
    WrongAnswer("split_heads", "view without the transpose", '''
def split_heads(x, num_heads):
    batch, seq, embed = x.shape
    return x.view(batch, seq, num_heads, embed // num_heads)
''', "left the heads axis after seq"),
    WrongAnswer("split_heads", "split: heads interleaved (d_head, heads)", '''
def split_heads(x, num_heads):
    batch, seq, embed = x.shape
    return x.view(batch, seq, embed // num_heads, num_heads).permute(0, 3, 1, 2)
''', "split the features as (d_head, heads)"),
    WrongAnswer("split_heads", "split: transpose of the wrong axes", '''
def split_heads(x, num_heads):
    batch, seq, embed = x.shape
    return x.view(batch, seq, num_heads, -1).transpose(2, 3)
''', "swapped the wrong pair of axes"),
    # merge_heads
    WrongAnswer("merge_heads", "reshape without the transpose", '''
def merge_heads(x):
    batch, heads, seq, d_head = x.shape
    return x.reshape(batch, seq, heads * d_head)
''', "straight to (batch, seq, embed)"),
    WrongAnswer("merge_heads", "view after transpose", '''
def merge_heads(x):
    batch, heads, seq, d_head = x.shape
    return x.transpose(1, 2).view(batch, seq, heads * d_head)
''', "view() cannot merge"),
    WrongAnswer("merge_heads", "merge: heads interleaved", '''
def merge_heads(x):
    batch, heads, seq, d_head = x.shape
    return x.permute(0, 2, 3, 1).reshape(batch, seq, -1)
''', "interleaved the heads' features"),
    WrongAnswer("merge_heads", "merge: transpose of the wrong axes", '''
def merge_heads(x):
    batch, heads, seq, d_head = x.shape
    return x.transpose(-1, -2).reshape(batch, seq, heads * d_head)
''', "swapped the wrong pair of axes"),
    # MultiHeadAttention
    WrongAnswer("MultiHeadAttention", "no 1/sqrt(d_head) scaling", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim)
        self.w_o = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)
        k = split_heads(self.w_k(key), self.num_heads)
        v = split_heads(self.w_v(value), self.num_heads)
        scores = q @ k.transpose(-2, -1)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        return self.w_o(merge_heads(weights @ v))
''', "did not scale the scores"),
    WrongAnswer("MultiHeadAttention", "scaled by sqrt(embed_dim)", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.embed_dim = embed_dim
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim)
        self.w_o = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)
        k = split_heads(self.w_k(key), self.num_heads)
        v = split_heads(self.w_v(value), self.num_heads)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.embed_dim)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return self.w_o(merge_heads(torch.softmax(scores, dim=-1) @ v))
''', "scaled by sqrt(embed_dim)"),
    WrongAnswer("MultiHeadAttention", "module: forgot W_o", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim)
        self.w_o = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)
        k = split_heads(self.w_k(key), self.num_heads)
        v = split_heads(self.w_v(value), self.num_heads)
        out, _ = attention(q, k, v, mask)
        return merge_heads(out)
''', "forgot the output projection"),
    WrongAnswer("MultiHeadAttention", "merged without the transpose", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim)
        self.w_o = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, mask=None):
        batch, n, embed = query.shape[0], query.shape[1], self.w_o.in_features
        q = split_heads(self.w_q(query), self.num_heads)
        k = split_heads(self.w_k(key), self.num_heads)
        v = split_heads(self.w_v(value), self.num_heads)
        out, _ = attention(q, k, v, mask)
        return self.w_o(out.reshape(batch, n, embed))
''', "merged the heads without transposing"),
    WrongAnswer("MultiHeadAttention", "mask ignored", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim)
        self.w_o = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)
        k = split_heads(self.w_k(key), self.num_heads)
        v = split_heads(self.w_v(value), self.num_heads)
        out, _ = attention(q, k, v)
        return self.w_o(merge_heads(out))
''', "the mask is ignored"),
    WrongAnswer("MultiHeadAttention", "mask inverted (torch's convention)", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim)
        self.w_o = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)
        k = split_heads(self.w_k(key), self.num_heads)
        v = split_heads(self.w_v(value), self.num_heads)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(mask, float("-inf"))
        return self.w_o(merge_heads(torch.softmax(scores, dim=-1) @ v))
''', "the mask is inverted"),
    WrongAnswer("MultiHeadAttention", "mask inverted, NaN-safe attention", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim)
        self.w_o = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)
        k = split_heads(self.w_k(key), self.num_heads)
        v = split_heads(self.w_v(value), self.num_heads)
        out, _ = attention(q, k, v, None if mask is None else ~mask)
        return self.w_o(merge_heads(out))
''', "the mask is inverted"),
    WrongAnswer("MultiHeadAttention", "softmax over the queries", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim)
        self.w_o = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)
        k = split_heads(self.w_k(key), self.num_heads)
        v = split_heads(self.w_v(value), self.num_heads)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=2)
        return self.w_o(merge_heads(weights @ v))
''', "softmax over the wrong axis"),
    WrongAnswer("MultiHeadAttention", "softmax over the heads axis", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim)
        self.w_o = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)
        k = split_heads(self.w_k(key), self.num_heads)
        v = split_heads(self.w_v(value), self.num_heads)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return self.w_o(merge_heads(torch.softmax(scores, dim=1) @ v))
''', "dim=1 is the heads axis"),
    WrongAnswer("MultiHeadAttention", "self-attention only: keys and values from the query", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim)
        self.w_o = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, mask=None):
        x = query
        q = split_heads(self.w_q(x), self.num_heads)
        k = split_heads(self.w_k(x), self.num_heads)
        v = split_heads(self.w_v(x), self.num_heads)
        out, _ = attention(q, k, v, mask)
        return self.w_o(merge_heads(out))
''', "computed the keys and values from the query"),
    WrongAnswer("MultiHeadAttention", "kdim and vdim ignored", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(embed_dim, embed_dim)
        self.w_v = nn.Linear(embed_dim, embed_dim)
        self.w_o = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)
        k = split_heads(self.w_k(key), self.num_heads)
        v = split_heads(self.w_v(value), self.num_heads)
        out, _ = attention(q, k, v, mask)
        return self.w_o(merge_heads(out))
''', "kdim was ignored"),
    WrongAnswer("MultiHeadAttention", "projections without bias", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim, bias=False)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim, bias=False)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim, bias=False)
        self.w_o = nn.Linear(embed_dim, embed_dim, bias=False)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)
        k = split_heads(self.w_k(key), self.num_heads)
        v = split_heads(self.w_v(value), self.num_heads)
        out, _ = attention(q, k, v, mask)
        return self.w_o(merge_heads(out))
''', "has no bias"),
    # the idioms of well-known implementations that this course's contract does not allow
    WrongAnswer("merge_heads", "merge: view without the transpose", '''
def merge_heads(x):
    batch, heads, seq, d_head = x.shape
    return x.view(batch, seq, heads * d_head)
''', "without moving the heads axis back"),
    WrongAnswer("MultiHeadAttention", "F.dropout on the weights (Annotated Transformer)", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim)
        self.w_o = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)
        k = split_heads(self.w_k(key), self.num_heads)
        v = split_heads(self.w_v(value), self.num_heads)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)
        weights = torch.nn.functional.dropout(weights, p=0.1)
        return self.w_o(merge_heads(weights @ v))
''', "dropout most likely"),
    WrongAnswer("MultiHeadAttention", "masked_fill(mask == 0, -1e9) (Annotated Transformer)", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim)
        self.w_o = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)
        k = split_heads(self.w_k(key), self.num_heads)
        v = split_heads(self.w_v(value), self.num_heads)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(mask == 0, -1e9)
        return self.w_o(merge_heads(torch.softmax(scores, dim=-1) @ v))
''', "filled masked scores with a finite number"),
    WrongAnswer("MultiHeadAttention", "-inf fill without a guard for fully masked rows", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim)
        self.w_o = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)
        k = split_heads(self.w_k(key), self.num_heads)
        v = split_heads(self.w_v(value), self.num_heads)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return self.w_o(merge_heads(torch.softmax(scores, dim=-1) @ v))
''', "the softmax of a row of -inf is 0 / 0"),
    WrongAnswer("MultiHeadAttention", ".T on the batched keys", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim)
        self.w_o = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)
        k = split_heads(self.w_k(key), self.num_heads)
        v = split_heads(self.w_v(value), self.num_heads)
        scores = q @ k.T / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        return self.w_o(merge_heads(torch.softmax(scores, dim=-1).nan_to_num(0.0) @ v))
''', "reverses all four axes"),
    # count_attention_flops
    WrongAnswer("count_attention_flops", "multiply-adds instead of FLOPs", '''
def count_attention_flops(n, m, embed_dim, num_heads):
    d_head = embed_dim // num_heads
    projections = 2 * n * embed_dim**2 + 2 * m * embed_dim**2
    scores = num_heads * n * m * d_head
    weighted_sum = num_heads * n * m * d_head
    return projections, scores, weighted_sum
''', "counted multiply-adds"),
    WrongAnswer("count_attention_flops", "every head as wide as embed_dim", '''
def count_attention_flops(n, m, embed_dim, num_heads):
    projections = 4 * n * embed_dim**2 + 4 * m * embed_dim**2
    scores = num_heads * 2 * n * m * embed_dim
    weighted_sum = num_heads * 2 * n * m * embed_dim
    return projections, scores, weighted_sum
''', "gave every head all embed_dim features"),
    WrongAnswer("count_attention_flops", "FLOPs: forgot W_o", '''
def count_attention_flops(n, m, embed_dim, num_heads):
    d_head = embed_dim // num_heads
    projections = 2 * n * embed_dim**2 + 2 * 2 * m * embed_dim**2
    scores = num_heads * 2 * n * m * d_head
    weighted_sum = num_heads * 2 * n * m * d_head
    return projections, scores, weighted_sum
''', "forgot the output projection"),
    WrongAnswer("count_attention_flops", "n used for the keys", '''
def count_attention_flops(n, m, embed_dim, num_heads):
    projections = 4 * 2 * n * embed_dim * embed_dim
    scores = 2 * n * n * embed_dim
    weighted_sum = 2 * n * n * embed_dim
    return projections, scores, weighted_sum
''', "used n for the keys"),
]

# No source gives numbers for multi-head attention; these are the notebook's own examples
# (10 tokens of 512 features, the sizes of source 001's single-head module).
WORKED_EXAMPLES = {
    "split_heads(counting, 2)[0, 1, 2]": [20.0, 21.0, 22.0, 23.0],
    "merge_heads(split_heads(counting, 2))[0, 1]": [8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0],
    "count_attention_flops(10, 10, 512, 8)[0]": 20971520,
    "count_attention_flops(10, 10, 512, 8)[1]": 102400,
    "count_attention_flops(10, 10, 512, 8)[2]": 102400,
    "param_counts[1]": 1050624,
    "param_counts[8]": 1050624,
}

# Forbidden calls (issue 16): the course's own code, and the built-ins an exercise asks the learner to
# rebuild, lose the exercise's marks with a message naming the call.
WRONG_ANSWERS += [
    WrongAnswer("split_heads", "split_heads: imports the finished block", '''
from autograder.blocks import split_heads
''', "split_heads called autograder.blocks.split_heads, the course's own code"),
    WrongAnswer("split_heads", "split_heads: assigns the finished block", '''
from autograder import blocks

split_heads = blocks.split_heads
''', "split_heads called autograder.blocks.split_heads, the course's own code"),
    WrongAnswer("merge_heads", "merge_heads: imports the finished block", '''
from autograder.blocks import merge_heads
''', "merge_heads called autograder.blocks.merge_heads, the course's own code"),
    WrongAnswer("MultiHeadAttention", "MultiHeadAttention: imports the finished block", '''
from autograder.blocks import MultiHeadAttention
''', "MultiHeadAttention(8, 2) called autograder.blocks.MultiHeadAttention.__init__, the course's own code"),
    WrongAnswer("MultiHeadAttention", "MultiHeadAttention: subclasses the finished block", '''
from autograder import blocks


class MultiHeadAttention(blocks.MultiHeadAttention):
    pass
''', "MultiHeadAttention(8, 2) called autograder.blocks.MultiHeadAttention.__init__, the course's own code"),
    WrongAnswer("count_attention_flops", "count_attention_flops: the check's reference assigned", '''
count_attention_flops = check._flops
''', "count_attention_flops called autograder.checks.multi_head_attention._flops, the course's own code"),
]

# Right answers in other styles: each must get full marks under both graders.
from alternatives import CorrectAnswer  # noqa: E402

CORRECT_ANSWERS = [
    CorrectAnswer("split_heads", "unflatten then permute", '''
def split_heads(x, num_heads):
    return x.unflatten(-1, (num_heads, -1)).permute(0, 2, 1, 3)
'''),
    CorrectAnswer("split_heads", "torch.stack of per-head slices", '''
def split_heads(x, num_heads):
    d_head = x.shape[-1] // num_heads
    return torch.stack([x[..., i * d_head:(i + 1) * d_head] for i in range(num_heads)], dim=1)
'''),
    CorrectAnswer("merge_heads", "torch.cat of the heads", '''
def merge_heads(x):
    return torch.cat([x[:, i] for i in range(x.shape[1])], dim=-1)
'''),
    CorrectAnswer("merge_heads", "permute, contiguous, view (nanoGPT)", '''
def merge_heads(x):
    b, h, n, d = x.shape
    return x.permute(0, 2, 1, 3).contiguous().view(b, n, h * d)
'''),
    CorrectAnswer("MultiHeadAttention", "einsum scores, manual softmax with max subtraction", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim)
        self.w_o = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)
        k = split_heads(self.w_k(key), self.num_heads)
        v = split_heads(self.w_v(value), self.num_heads)
        scores = torch.einsum("bhnd,bhmd->bhnm", q, k) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        top = scores.amax(dim=-1, keepdim=True).clamp(min=-1e30)
        e = torch.exp(scores - top)
        total = e.sum(dim=-1, keepdim=True)
        weights = e / torch.where(total > 0, total, torch.ones_like(total))
        return self.w_o(merge_heads(torch.einsum("bhnm,bhmd->bhnd", weights, v)))
'''),
    CorrectAnswer("MultiHeadAttention", "nn.Dropout attribute (eval switches it off), F.scaled_dot_product_attention",
                  '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim)
        self.w_o = nn.Linear(embed_dim, embed_dim)
        self.dropout = nn.Dropout(0.1)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)
        k = split_heads(self.w_k(key), self.num_heads)
        v = split_heads(self.w_v(value), self.num_heads)
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.w_o(merge_heads(self.dropout(out.nan_to_num(0.0))))
'''),
    CorrectAnswer("MultiHeadAttention", "explicit loop over the heads", '''
class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads, kdim=None, vdim=None):
        super().__init__()
        self.num_heads = num_heads
        self.w_q = nn.Linear(embed_dim, embed_dim)
        self.w_k = nn.Linear(kdim or embed_dim, embed_dim)
        self.w_v = nn.Linear(vdim or embed_dim, embed_dim)
        self.w_o = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.num_heads)
        k = split_heads(self.w_k(key), self.num_heads)
        v = split_heads(self.w_v(value), self.num_heads)
        heads = []
        for i in range(self.num_heads):
            head_mask = mask
            if mask is not None and mask.dim() == 4:
                head_mask = mask[:, i] if mask.shape[1] > 1 else mask[:, 0]
            heads.append(attention(q[:, i], k[:, i], v[:, i], head_mask)[0])
        return self.w_o(merge_heads(torch.stack(heads, dim=1)))
'''),
    CorrectAnswer("count_attention_flops", "one matrix product at a time", '''
def count_attention_flops(n, m, embed_dim, num_heads):
    def matmul(a, b, c):
        return 2 * a * b * c
    d_head = embed_dim // num_heads
    projections = matmul(n, embed_dim, embed_dim) * 2 + matmul(m, embed_dim, embed_dim) * 2
    scores = sum(matmul(n, d_head, m) for _ in range(num_heads))
    weighted_sum = sum(matmul(n, m, d_head) for _ in range(num_heads))
    return projections, scores, weighted_sum
'''),
    CorrectAnswer("count_attention_flops", "closed form 4E(n + m)E and 2nmE", '''
def count_attention_flops(n, m, embed_dim, num_heads):
    return 4 * (n + m) * embed_dim**2, 2 * n * m * embed_dim, 2 * n * m * embed_dim
'''),
]
