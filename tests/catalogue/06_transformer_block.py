"""Wrong answers for notebook 06 (the transformer block), each a realistic learner attempt."""

from support import WrongAnswer

# The right encoder block, with one line changed per wrong answer below.
_ENCODER = '''
class EncoderBlock(nn.Module):
    def __init__(self, d_model, num_heads, d_ff, dropout=0.0, norm_first=False):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask=None):
        if self.norm_first:
            h = self.norm1(x)
            x = x + self.dropout(self.self_attn(h, h, h, mask))
            x = x + self.dropout(self.linear2(self.dropout(torch.relu(self.linear1(self.norm2(x))))))
        else:
            x = self.norm1(x + self.dropout(self.self_attn(x, x, x, mask)))
            x = self.norm2(x + self.dropout(self.linear2(self.dropout(torch.relu(self.linear1(x))))))
        return x
'''

_DECODER = '''
class DecoderBlock(nn.Module):
    def __init__(self, d_model, num_heads, d_ff, dropout=0.0, norm_first=False):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.cross_attn = MultiHeadAttention(d_model, num_heads)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, memory, memory_mask=None):
        causal = causal_mask(x.shape[1])
        ffn = lambda h: self.linear2(self.dropout(torch.relu(self.linear1(h))))
        if self.norm_first:
            h = self.norm1(x)
            x = x + self.dropout(self.self_attn(h, h, h, causal))
            h = self.norm2(x)
            x = x + self.dropout(self.cross_attn(h, memory, memory, memory_mask))
            x = x + self.dropout(ffn(self.norm3(x)))
        else:
            x = self.norm1(x + self.dropout(self.self_attn(x, x, x, causal)))
            x = self.norm2(x + self.dropout(self.cross_attn(x, memory, memory, memory_mask)))
            x = self.norm3(x + self.dropout(ffn(x)))
        return x
'''

_MODEL = '''
class ReversalTransformer(nn.Module):
    def __init__(self, vocab_size, max_len, d_model, num_heads, d_ff, num_layers):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.register_buffer("positions", sinusoidal_encoding(max_len, d_model))
        self.blocks = nn.ModuleList([EncoderBlock(d_model, num_heads, d_ff) for _ in range(num_layers)])
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, tokens):
        x = self.embed(tokens) + self.positions[: tokens.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.head(x)
'''


def _edit(template, old, new):
    assert old in template, old
    return template.replace(old, new)


WRONG_ANSWERS = [
    # layer_norm
    WrongAnswer("layer_norm", "unbiased variance (torch.var's default)", '''
def layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * gamma + beta
''', "unbiased variance"),
    WrongAnswer("layer_norm", "eps outside the square root", '''
def layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    std = ((x - mean) ** 2).mean(-1, keepdim=True).sqrt()
    return gamma * (x - mean) / (std + eps) + beta
''', "eps outside the square root"),
    WrongAnswer("layer_norm", "x.std() + eps", '''
def layer_norm(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + eps) + beta
''', "unbiased"),
    WrongAnswer("layer_norm", "gamma and beta forgotten", '''
def layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps)
''', "forgot gamma and beta"),
    WrongAnswer("layer_norm", "normalised over the token axis", '''
def layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(dim=-2, keepdim=True)
    var = x.var(dim=-2, keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps) * gamma + beta
''', "over the token axis"),
    WrongAnswer("layer_norm", "normalised over the batch axis (batch norm)", '''
def layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(dim=0, keepdim=True)
    var = x.var(dim=0, keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps) * gamma + beta
''', "normalised over the batch axis"),
    WrongAnswer("layer_norm", "no eps", '''
def layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True, unbiased=False)
    return gamma * (x - mean) / var.sqrt() + beta
''', "you left out eps"),
    # EncoderBlock
    WrongAnswer("EncoderBlock", "norm_first ignored: always post-LN", '''
class EncoderBlock(nn.Module):
    def __init__(self, d_model, num_heads, d_ff, dropout=0.0, norm_first=False):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask=None):
        attended = self.self_attn(x, x, x, mask)
        x = self.norm1(x + self.dropout(attended))
        hidden = self.dropout(torch.relu(self.linear1(x)))
        x = self.norm2(x + self.dropout(self.linear2(hidden)))
        return x
''', "you built the other arrangement"),
    WrongAnswer("EncoderBlock", "post-LN with the norm on the branch: x + norm(sublayer(x))", _edit(_edit(
        _ENCODER,
        "x = self.norm1(x + self.dropout(self.self_attn(x, x, x, mask)))",
        "x = x + self.norm1(self.dropout(self.self_attn(x, x, x, mask)))"),
        "x = self.norm2(x + self.dropout(self.linear2(self.dropout(torch.relu(self.linear1(x))))))",
        "x = x + self.norm2(self.dropout(self.linear2(self.dropout(torch.relu(self.linear1(x))))))"),
        "normalised the sublayer's output and then added the residual"),
    WrongAnswer("EncoderBlock", "missing residual around the attention", _edit(
        _ENCODER, "x = self.norm1(x + self.dropout(self.self_attn(x, x, x, mask)))",
        "x = self.norm1(self.dropout(self.self_attn(x, x, x, mask)))"),
        "residual connection around the attention sublayer is missing"),
    WrongAnswer("EncoderBlock", "one layer norm shared by both sublayers", _edit(
        _ENCODER, "x = self.norm2(x + self.dropout(self.linear2(",
        "x = self.norm1(x + self.dropout(self.linear2("), "norm1 for both sublayers"),
    WrongAnswer("EncoderBlock", "feed-forward network without activation", _edit(_edit(
        _ENCODER, "self.linear2(self.dropout(torch.relu(self.linear1(self.norm2(x)))))",
        "self.linear2(self.dropout(self.linear1(self.norm2(x))))"),
        "self.linear2(self.dropout(torch.relu(self.linear1(x))))", "self.linear2(self.dropout(self.linear1(x)))"),
        "has no activation"),
    WrongAnswer("EncoderBlock", "pre-LN residual from the normalised input", _edit(_edit(
        _ENCODER, "x = x + self.dropout(self.self_attn(h, h, h, mask))",
        "x = h + self.dropout(self.self_attn(h, h, h, mask))"),
        "x = x + self.dropout(self.linear2(self.dropout(torch.relu(self.linear1(self.norm2(x))))))",
        "h = self.norm2(x)\n            x = h + self.dropout(self.linear2(self.dropout(torch.relu(self.linear1(h)))))"),
        "residual starts from the normalised x"),
    WrongAnswer("EncoderBlock", "mask in torch's convention (inverted)", _edit(_edit(
        _ENCODER, "self.self_attn(h, h, h, mask)", "self.self_attn(h, h, h, None if mask is None else ~mask)"),
        "self.self_attn(x, x, x, mask)", "self.self_attn(x, x, x, None if mask is None else ~mask)"),
        "you inverted the mask"),
    WrongAnswer("EncoderBlock", "dropout never applied", _ENCODER.replace("self.dropout(", "("),
                "dropout is never applied"),
    # DecoderBlock
    WrongAnswer("DecoderBlock", "no causal mask", _edit(
        _DECODER, "causal = causal_mask(x.shape[1])", "causal = None"), "has no causal mask"),
    WrongAnswer("DecoderBlock", "cross-attention over the decoder's own states", _edit(_edit(
        _DECODER, "self.cross_attn(h, memory, memory, memory_mask)", "self.cross_attn(h, h, h, memory_mask)"),
        "self.cross_attn(x, memory, memory, memory_mask)", "self.cross_attn(x, x, x, memory_mask)"),
        "takes its keys and values from the decoder states"),
    WrongAnswer("DecoderBlock", "upper-triangular (future) mask", _edit(
        _DECODER, "causal = causal_mask(x.shape[1])",
        "causal = torch.triu(torch.ones(x.shape[1], x.shape[1], dtype=torch.bool))"),
        "causal mask is transposed"),
    WrongAnswer("DecoderBlock", "self_attn reused for the cross-attention", _edit(_edit(
        _DECODER, "self.cross_attn(h, memory, memory, memory_mask)", "self.self_attn(h, memory, memory, memory_mask)"),
        "self.cross_attn(x, memory, memory, memory_mask)", "self.self_attn(x, memory, memory, memory_mask)"),
        "you used self_attn again for the cross-attention"),
    WrongAnswer("DecoderBlock", "memory_mask not passed", _edit(_edit(
        _DECODER, "self.cross_attn(h, memory, memory, memory_mask)", "self.cross_attn(h, memory, memory)"),
        "self.cross_attn(x, memory, memory, memory_mask)", "self.cross_attn(x, memory, memory)"),
        "did not pass memory_mask"),
    # ReversalTransformer
    WrongAnswer("ReversalTransformer", "no positional encoding", _edit(
        _MODEL, "x = self.embed(tokens) + self.positions[: tokens.shape[1]]", "x = self.embed(tokens)"),
        "you added no positional encoding"),
    WrongAnswer("ReversalTransformer", "softmax on the output", _edit(
        _MODEL, "return self.head(x)", "return torch.softmax(self.head(x), dim=-1)"), "applied a softmax"),
    WrongAnswer("ReversalTransformer", "blocks not chained", _edit(_edit(
        _MODEL, "x = block(x)", "out = block(x)"), "return self.head(x)", "return self.head(out)"),
        "every block read the embeddings"),
    WrongAnswer("ReversalTransformer", "blocks in a plain list", _edit(
        _MODEL, "nn.ModuleList([EncoderBlock(d_model, num_heads, d_ff) for _ in range(num_layers)])",
        "[EncoderBlock(d_model, num_heads, d_ff) for _ in range(num_layers)]"), "plain Python list"),
    WrongAnswer("ReversalTransformer", "whole position table added", _edit(
        _MODEL, "self.positions[: tokens.shape[1]]", "self.positions"), "slice it to the sequence length"),
]

# The notebook's own layer-norm example (no source gives numbers for notebook 06).
# Models that cannot learn to reverse (no positions, probabilities fed to the cross-entropy,
# blocks whose weights the optimizer never sees): the graded training run must fail each of them
# (test_training scores 0), however short it is.
CANNOT_LEARN = ["no positional encoding", "softmax on the output", "blocks in a plain list"]

WORKED_EXAMPLES = {
    "layer_norm(pair, torch.ones(4), torch.zeros(4))": [[-1.3416, -0.4472, 0.4472, 1.3416],
                                                        [-1.3416, -0.4472, 0.4472, 1.3416]],
}

# Forbidden calls (issue 16): the course's own code, and the built-ins an exercise asks the learner to
# rebuild, lose the exercise's marks with a message naming the call.
WRONG_ANSWERS += [
    WrongAnswer("layer_norm", "layer_norm: calls F.layer_norm", '''
def layer_norm(x, gamma, beta, eps=1e-5):
    return F.layer_norm(x, x.shape[-1:], gamma, beta, eps)
''', "layer_norm called F.layer_norm, which this exercise asks you to build yourself"),
    WrongAnswer("layer_norm", "layer_norm: calls torch.layer_norm", '''
def layer_norm(x, gamma, beta, eps=1e-5):
    return torch.layer_norm(x, x.shape[-1:], gamma, beta, eps)
''', "layer_norm called torch.layer_norm, which this exercise asks you to build yourself"),
    WrongAnswer("layer_norm", "layer_norm: the check's reference assigned", '''
layer_norm = check._layer_norm
''', "layer_norm called autograder.checks.transformer_block._layer_norm, the course's own code"),
    WrongAnswer("EncoderBlock", "EncoderBlock: runs nn.TransformerEncoderLayer", '''
class EncoderBlock(nn.Module):
    def __init__(self, d_model, num_heads, d_ff, dropout=0.0, norm_first=False):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.layer = nn.TransformerEncoderLayer(d_model, num_heads, d_ff, dropout, batch_first=True,
                                                norm_first=norm_first)

    def forward(self, x, mask=None):
        return self.layer(x, src_key_padding_mask=None if mask is None else ~mask.reshape(x.shape[0], -1))
''', "called nn.TransformerEncoderLayer, which this exercise asks you to build yourself"),
]

# Right answers in other styles: each must get full marks under both graders.
from alternatives import CorrectAnswer  # noqa: E402

CORRECT_ANSWERS = [
    CorrectAnswer("layer_norm", "torch.var_mean, unbiased=False", '''
def layer_norm(x, gamma, beta, eps=1e-5):
    var, mean = torch.var_mean(x, dim=-1, keepdim=True, unbiased=False)
    return (x - mean) * torch.rsqrt(var + eps) * gamma + beta
'''),
    CorrectAnswer("layer_norm", "E[x^2] - E[x]^2 with einsum sums", '''
def layer_norm(x, gamma, beta, eps=1e-5):
    d = x.shape[-1]
    mean = torch.einsum("...d->...", x)[..., None] / d
    centred = x - mean
    var = torch.einsum("...d,...d->...", centred, centred)[..., None] / d
    return centred / (var + eps).sqrt() * gamma + beta
'''),
    CorrectAnswer("EncoderBlock", "if/else written out, ReLU as a module", '''
class EncoderBlock(nn.Module):
    def __init__(self, d_model, num_heads, d_ff, dropout=0.0, norm_first=False):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.relu = nn.ReLU()

    def forward(self, x, mask=None):
        if self.norm_first:
            h = self.norm1(x)
            x = x + self.dropout(self.self_attn(h, h, h, mask))
            h = self.norm2(x)
            x = x + self.dropout(self.linear2(self.dropout(self.relu(self.linear1(h)))))
        else:
            x = self.norm1(x + self.dropout(self.self_attn(x, x, x, mask)))
            x = self.norm2(x + self.dropout(self.linear2(self.dropout(self.relu(self.linear1(x))))))
        return x
'''),
    CorrectAnswer("EncoderBlock", "F.dropout with training=self.training", '''
class EncoderBlock(nn.Module):
    def __init__(self, d_model, num_heads, d_ff, dropout=0.0, norm_first=False):
        super().__init__()
        self.norm_first, self.p = norm_first, dropout
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def drop(self, h):
        return F.dropout(h, self.p, training=self.training)

    def forward(self, x, mask=None):
        attend = lambda h: self.drop(self.self_attn(h, h, h, mask))  # noqa: E731
        ffn = lambda h: self.drop(self.linear2(self.drop(F.relu(self.linear1(h)))))  # noqa: E731
        for sublayer, norm in ((attend, self.norm1), (ffn, self.norm2)):
            x = x + sublayer(norm(x)) if self.norm_first else norm(x + sublayer(x))
        return x
'''),
    CorrectAnswer("DecoderBlock", "three sublayers written out, mask from torch.tril", '''
class DecoderBlock(nn.Module):
    def __init__(self, d_model, num_heads, d_ff, dropout=0.0, norm_first=False):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.cross_attn = MultiHeadAttention(d_model, num_heads)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, memory, memory_mask=None):
        n = x.shape[1]
        causal = torch.tril(torch.ones(n, n)) == 1
        if self.norm_first:
            h = self.norm1(x)
            x = x + self.dropout(self.self_attn(h, h, h, causal))
            h = self.norm2(x)
            x = x + self.dropout(self.cross_attn(h, memory, memory, memory_mask))
            h = self.norm3(x)
            x = x + self.dropout(self.linear2(self.dropout(torch.relu(self.linear1(h)))))
        else:
            x = self.norm1(x + self.dropout(self.self_attn(x, x, x, causal)))
            x = self.norm2(x + self.dropout(self.cross_attn(x, memory, memory, memory_mask)))
            x = self.norm3(x + self.dropout(self.linear2(self.dropout(torch.relu(self.linear1(x))))))
        return x
'''),
    CorrectAnswer("DecoderBlock", "a helper for one residual sublayer, causal mask from arange", '''
class DecoderBlock(nn.Module):
    def __init__(self, d_model, num_heads, d_ff, dropout=0.0, norm_first=False):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.cross_attn = MultiHeadAttention(d_model, num_heads)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def residual(self, x, norm, sublayer):
        if self.norm_first:
            return x + self.dropout(sublayer(norm(x)))
        return norm(x + self.dropout(sublayer(x)))

    def forward(self, x, memory, memory_mask=None):
        positions = torch.arange(x.shape[1])
        causal = positions[None, :] <= positions[:, None]
        x = self.residual(x, self.norm1, lambda h: self.self_attn(h, h, h, causal))
        x = self.residual(x, self.norm2, lambda h: self.cross_attn(h, memory, memory, memory_mask))
        return self.residual(x, self.norm3, lambda h: self.linear2(self.dropout(F.relu(self.linear1(h)))))
'''),
    CorrectAnswer("ReversalTransformer", "positions as a slice of a buffer, nn.Sequential-free loop", '''
class ReversalTransformer(nn.Module):
    def __init__(self, vocab_size, max_len, d_model, num_heads, d_ff, num_layers):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.register_buffer("pe", sinusoidal_encoding(max_len, d_model)[None], persistent=False)
        self.blocks = nn.ModuleList()
        for _ in range(num_layers):
            self.blocks.append(EncoderBlock(d_model, num_heads, d_ff))
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, tokens):
        x = self.embed(tokens) + self.pe[:, : tokens.shape[-1]]
        for i in range(len(self.blocks)):
            x = self.blocks[i](x)
        return self.head(x)
'''),
    CorrectAnswer("ReversalTransformer", "positions computed in forward, functools.reduce over the blocks", '''
class ReversalTransformer(nn.Module):
    def __init__(self, vocab_size, max_len, d_model, num_heads, d_ff, num_layers):
        super().__init__()
        self.d_model, self.max_len = d_model, max_len
        self.embed = nn.Embedding(vocab_size, d_model)
        self.blocks = nn.ModuleList([EncoderBlock(d_model, num_heads, d_ff) for _ in range(num_layers)])
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, tokens):
        import functools
        n = tokens.shape[1]
        x = self.embed(tokens) + sinusoidal_encoding(self.max_len, self.d_model)[:n]
        return self.head(functools.reduce(lambda h, block: block(h), self.blocks, x))
'''),
]
