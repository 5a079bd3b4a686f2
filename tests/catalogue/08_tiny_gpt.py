"""Wrong answers for notebook 08 (a tiny GPT), each a realistic learner attempt."""

from support import WrongAnswer

# The right answers, with one line changed per wrong answer below.
_LOSS = '''
def next_token_loss(logits, tokens):
    vocab = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, vocab), tokens[:, 1:].reshape(-1))
'''

_GPT = '''
class TinyGPT(nn.Module):
    def __init__(self, vocab_size, max_len, d_model, num_heads, d_ff, num_layers):
        super().__init__()
        self.token_embed = nn.Embedding(vocab_size, d_model)
        self.register_buffer("position_table", sinusoidal_encoding(max_len, d_model))
        self.blocks = nn.ModuleList([GPTBlock(d_model, num_heads, d_ff) for _ in range(num_layers)])
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, tokens):
        n = tokens.shape[1]
        x = self.token_embed(tokens) + self.position_table[:n]
        mask = causal_mask(n)
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.norm(x))
'''

_SAMPLE = '''
def sample_next(logits, temperature=1.0, top_k=None, generator=None):
    logits = logits / temperature
    if top_k is not None:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
'''

_STEP = '''
def cached_step(model, new_token, caches):
    t = caches[0][0].shape[-2]
    x = model.token_embed(new_token) + model.position_table[t:t + 1]
    grown = []
    for block, (k_cache, v_cache) in zip(model.blocks, caches):
        attn = block.self_attn
        h = block.norm1(x)
        q = split_heads(attn.w_q(h), attn.num_heads)
        k_cache = torch.cat([k_cache, split_heads(attn.w_k(h), attn.num_heads)], dim=-2)
        v_cache = torch.cat([v_cache, split_heads(attn.w_v(h), attn.num_heads)], dim=-2)
        out = scaled_dot_product_attention(q, k_cache, v_cache)
        x = x + attn.w_o(merge_heads(out))
        x = x + block.feed_forward(block.norm2(x))
        grown.append((k_cache, v_cache))
    return model.head(model.norm(x)), grown
'''


def _edit(template, old, new):
    assert old in template, old
    return template.replace(old, new)


WRONG_ANSWERS = [
    # next_token_loss
    WrongAnswer("next_token_loss", "targets not shifted", _edit(
        _LOSS, "logits[:, :-1].reshape(-1, vocab), tokens[:, 1:].reshape(-1)",
        "logits.reshape(-1, vocab), tokens.reshape(-1)"), "the targets are not shifted"),
    WrongAnswer("next_token_loss", "shifted the wrong way", _edit(
        _LOSS, "logits[:, :-1].reshape(-1, vocab), tokens[:, 1:].reshape(-1)",
        "logits[:, 1:].reshape(-1, vocab), tokens[:, :-1].reshape(-1)"), "you shifted the wrong way"),
    WrongAnswer("next_token_loss", "cross-entropy of probabilities", _edit(
        _LOSS, "F.cross_entropy(logits[:, :-1].reshape(-1, vocab)",
        "F.cross_entropy(torch.softmax(logits[:, :-1], dim=-1).reshape(-1, vocab)"),
        "cross-entropy of probabilities"),
    WrongAnswer("next_token_loss", "summed instead of averaged", _edit(
        _LOSS, "tokens[:, 1:].reshape(-1))", "tokens[:, 1:].reshape(-1), reduction='sum')"),
        "you summed the losses"),
    WrongAnswer("next_token_loss", "classes not on axis 1", '''
def next_token_loss(logits, tokens):
    return F.cross_entropy(logits[:, :-1], tokens[:, 1:])
''', "F.cross_entropy wants the classes on axis 1"),
    WrongAnswer("next_token_loss", "log of softmax", '''
def next_token_loss(logits, tokens):
    probs = torch.softmax(logits[:, :-1], dim=-1)
    picked = probs.gather(-1, tokens[:, 1:, None])
    return -torch.log(picked).mean()
''', "underflows to log(0)"),
    # TinyGPT
    WrongAnswer("TinyGPT", "no causal mask", _edit(_GPT, "x = block(x, mask)", "x = block(x)"), "no mask"),
    WrongAnswer("TinyGPT", "mask inverted (triu)", _edit(
        _GPT, "mask = causal_mask(n)", "mask = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)"),
        "your mask is inverted"),
    WrongAnswer("TinyGPT", "no positions", _edit(
        _GPT, "x = self.token_embed(tokens) + self.position_table[:n]", "x = self.token_embed(tokens)"),
        "no positions"),
    WrongAnswer("TinyGPT", "final norm missing", _edit(
        _GPT, "return self.head(self.norm(x))", "return self.head(x)"), "the final layer norm is missing"),
    WrongAnswer("TinyGPT", "softmax on the output", _edit(
        _GPT, "return self.head(self.norm(x))", "return torch.softmax(self.head(self.norm(x)), dim=-1)"),
        "you returned probabilities"),
    WrongAnswer("TinyGPT", "blocks not chained", _edit(
        _GPT, "            x = block(x, mask)\n        return self.head(self.norm(x))",
        "            out = block(x, mask)\n        return self.head(self.norm(out))"),
        "every block got the embeddings"),
    # sample_next
    WrongAnswer("sample_next", "temperature after the softmax", '''
def sample_next(logits, temperature=1.0, top_k=None, generator=None):
    if top_k is not None:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1) / temperature
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
''', "your samples ignore the temperature"),
    WrongAnswer("sample_next", "top-k keeps k - 1", _edit(
        _SAMPLE, "logits.masked_fill(logits < kth", "logits.masked_fill(logits <= kth"), "keeps k - 1 tokens"),
    WrongAnswer("sample_next", "top-k ignores ties", _edit(
        _SAMPLE, '''        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))''',
        '''        keep = torch.topk(logits, top_k, dim=-1).indices
        logits = torch.full_like(logits, float("-inf")).scatter(-1, keep, logits.gather(-1, keep))'''),
        "your top-k ignores ties"),
    WrongAnswer("sample_next", "top-k fills 0 instead of -inf", _edit(
        _SAMPLE, 'logits.masked_fill(logits < kth, float("-inf"))', "logits.masked_fill(logits < kth, 0.0)"),
        "to 0; they must be -inf"),
    WrongAnswer("sample_next", "generator ignored", _edit(
        _SAMPLE, "torch.multinomial(probs, 1, generator=generator)", "torch.multinomial(probs, 1)"),
        "do not use the `generator` argument"),
    WrongAnswer("sample_next", "returns shape (b, 1)", _edit(_SAMPLE, ".squeeze(-1)", ""), "returned shape (b, 1)"),
    WrongAnswer("sample_next", "greedy argmax", '''
def sample_next(logits, temperature=1.0, top_k=None, generator=None):
    return logits.argmax(dim=-1)
''', "greedy decoding"),
    # cached_step
    WrongAnswer("cached_step", "position restarts at 0", _edit(
        _STEP, "model.position_table[t:t + 1]", "model.position_table[:1]"), "restarts at 0"),
    WrongAnswer("cached_step", "cache grown along the heads axis", _edit(_edit(
        _STEP, "attn.num_heads)], dim=-2)\n        v_cache", "attn.num_heads)], dim=1)\n        v_cache"),
        "split_heads(attn.w_v(h), attn.num_heads)], dim=-2)", "split_heads(attn.w_v(h), attn.num_heads)], dim=1)"),
        "not concatenated along the sequence axis"),
    WrongAnswer("cached_step", "attended before appending", '''
def cached_step(model, new_token, caches):
    t = caches[0][0].shape[-2]
    x = model.token_embed(new_token) + model.position_table[t:t + 1]
    grown = []
    for block, (k_cache, v_cache) in zip(model.blocks, caches):
        attn = block.self_attn
        h = block.norm1(x)
        q = split_heads(attn.w_q(h), attn.num_heads)
        out = scaled_dot_product_attention(q, k_cache, v_cache)
        k_cache = torch.cat([k_cache, split_heads(attn.w_k(h), attn.num_heads)], dim=-2)
        v_cache = torch.cat([v_cache, split_heads(attn.w_v(h), attn.num_heads)], dim=-2)
        x = x + attn.w_o(merge_heads(out))
        x = x + block.feed_forward(block.norm2(x))
        grown.append((k_cache, v_cache))
    return model.head(model.norm(x)), grown
''', "attended before appending"),
    WrongAnswer("cached_step", "old caches returned", _edit(
        _STEP, "    return model.head(model.norm(x)), grown", "    return model.head(model.norm(x)), caches"),
        "you returned the caches you were given"),
    WrongAnswer("cached_step", "cached step without the final norm", _edit(
        _STEP, "return model.head(model.norm(x)), grown", "return model.head(x), grown"),
        "the final layer norm is missing"),
]

# The notebook's own worked example: three guesses with logit 2 on the right token of 3.
WORKED_EXAMPLES = {
    "float(next_token_loss(example_logits, example_tokens))": 0.2395447,
}

from alternatives import CorrectAnswer  # noqa: E402

CORRECT_ANSWERS = [
    CorrectAnswer("next_token_loss", "classes on axis 1 by transposing", '''
def next_token_loss(logits, tokens):
    return F.cross_entropy(logits[:, :-1].transpose(1, 2), tokens[:, 1:])
'''),
    CorrectAnswer("next_token_loss", "log_softmax and gather", '''
def next_token_loss(logits, tokens):
    log_probs = F.log_softmax(logits[:, :-1], dim=-1)  # (b, n - 1, V)
    picked = log_probs.gather(-1, tokens[:, 1:].unsqueeze(-1)).squeeze(-1)  # (b, n - 1)
    return -picked.mean()
'''),
    CorrectAnswer("TinyGPT", "tril mask and indexed positions", '''
class TinyGPT(nn.Module):
    def __init__(self, vocab_size, max_len, d_model, num_heads, d_ff, num_layers):
        super().__init__()
        self.token_embed = nn.Embedding(vocab_size, d_model)
        self.register_buffer("position_table", sinusoidal_encoding(max_len, d_model))
        self.blocks = nn.ModuleList([GPTBlock(d_model, num_heads, d_ff) for _ in range(num_layers)])
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, tokens):
        b, n = tokens.shape
        positions = torch.arange(n)
        h = self.token_embed(tokens) + self.position_table[positions].unsqueeze(0)
        allowed = torch.tril(torch.ones(n, n)).bool()
        for i in range(len(self.blocks)):
            h = self.blocks[i](h, allowed)
        return self.head(self.norm(h))
'''),
    CorrectAnswer("TinyGPT", "mask as the negation of triu(1), functools.reduce over the blocks", '''
import functools


class TinyGPT(nn.Module):
    def __init__(self, vocab_size, max_len, d_model, num_heads, d_ff, num_layers):
        super().__init__()
        self.token_embed = nn.Embedding(vocab_size, d_model)
        self.register_buffer("position_table", sinusoidal_encoding(max_len, d_model))
        self.blocks = nn.ModuleList([GPTBlock(d_model, num_heads, d_ff) for _ in range(num_layers)])
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, tokens):
        n = tokens.size(-1)
        future = torch.ones(n, n, dtype=torch.bool).triu(diagonal=1)
        x = self.token_embed(tokens) + self.position_table[:n]
        x = functools.reduce(lambda h, block: block(h, ~future), self.blocks, x)
        return self.head(self.norm(x))
'''),
    CorrectAnswer("sample_next", "sorted threshold and torch.where", '''
def sample_next(logits, temperature=1.0, top_k=None, generator=None):
    scaled = logits / temperature
    if top_k:
        threshold = scaled.sort(dim=-1, descending=True).values[:, top_k - 1].unsqueeze(-1)
        scaled = torch.where(scaled >= threshold, scaled, torch.tensor(float("-inf")))
    probs = F.softmax(scaled, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator)[:, 0]
'''),
    CorrectAnswer("sample_next", "unnormalised weights, top-k on the raw logits", '''
def sample_next(logits, temperature=1.0, top_k=None, generator=None):
    if top_k is not None:
        kth = logits.topk(top_k).values.min(dim=-1, keepdim=True).values
        logits = logits.clone()
        logits[logits < kth] = -math.inf
    scaled = logits / temperature
    weights = torch.exp(scaled - scaled.max(dim=-1, keepdim=True).values)  # multinomial normalises
    return torch.multinomial(weights, 1, generator=generator).view(-1)
'''),
    CorrectAnswer("cached_step", "heads by view and transpose, cat on dim 2", '''
def cached_step(model, new_token, caches):
    b = new_token.shape[0]
    position = caches[0][0].size(2)
    x = model.token_embed(new_token) + model.position_table[position]
    new_caches = []
    for i, block in enumerate(model.blocks):
        attn = block.self_attn
        heads = attn.num_heads
        h = block.norm1(x)
        q = attn.w_q(h).view(b, 1, heads, -1).transpose(1, 2)
        k = attn.w_k(h).view(b, 1, heads, -1).transpose(1, 2)
        v = attn.w_v(h).view(b, 1, heads, -1).transpose(1, 2)
        k_all = torch.cat((caches[i][0], k), dim=2)
        v_all = torch.cat((caches[i][1], v), dim=2)
        weights = torch.softmax(q @ k_all.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
        out = (weights @ v_all).transpose(1, 2).reshape(b, 1, -1)
        x = x + attn.w_o(out)
        x = x + block.linear2(torch.relu(block.linear1(block.norm2(x))))
        new_caches.append((k_all, v_all))
    return model.head(model.norm(x)), new_caches
'''),
    CorrectAnswer("cached_step", "F.scaled_dot_product_attention, caches updated in a list", '''
def cached_step(model, new_token, caches):
    caches = list(caches)
    t = caches[-1][1].shape[-2]
    x = model.token_embed(new_token) + model.position_table[t:t + 1]
    for i, block in enumerate(model.blocks):
        mha = block.self_attn
        h = block.norm1(x)
        k_old, v_old = caches[i]
        q = split_heads(mha.w_q(h), mha.num_heads)
        k = torch.cat([k_old, split_heads(mha.w_k(h), mha.num_heads)], dim=-2)
        v = torch.cat([v_old, split_heads(mha.w_v(h), mha.num_heads)], dim=-2)
        caches[i] = (k, v)
        x = x + mha.w_o(merge_heads(F.scaled_dot_product_attention(q, k, v)))
        x = x + block.feed_forward(block.norm2(x))
    return model.head(model.norm(x)), caches
'''),
]
