"""Checks for notebook 08 (a tiny GPT): the next-token loss, the causal model's forward pass,
sampling with temperature and top-k, and one decoding step with a key/value cache.

Each public function takes the learner's function or class, runs it on a worked example
(`hidden=False`, the visible test) or on inputs chosen to expose common mistakes
(`hidden=True`, the hidden test), and names the likely mistake when it fails.

Conventions (stated in the notebook): the model's logits at position t are its guess for token
t + 1; the loss is the mean cross-entropy in nats. Top-k keeps every token whose logit is at least
the k-th largest (ties at the boundary are all kept, as nanoGPT does). The KV cache holds one
(keys, values) pair per block, each (b, h, t, d_head), grown along the sequence axis (-2), and the
new token sits at position t. Sampling is checked statistically: thousands of draws from a private
generator, whose frequencies must match the right probabilities.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks import (
    GPTBlock,
    MultiHeadAttention,
    causal_mask,
    merge_heads,
    scaled_dot_product_attention,
    sinusoidal_encoding,
    split_heads,
)
from .core import Case, ExerciseFailed, Mistake, build, check, generator, isolated, learner_facing, randn, require
from .forbidden import forbids

_Tensor = torch.Tensor
_cross_entropy, _softmax, _log_softmax = F.cross_entropy, torch.softmax, torch.log_softmax
_multinomial, _bincount, _topk = torch.multinomial, torch.bincount, torch.topk


def _tokens(*shape, vocab, seed):
    return torch.randint(vocab, shape, generator=generator(seed))


# ---------------------------------------------------------------- the next-token loss
def _loss(logits, tokens, *, shift="right", kind="logits", reduction="mean", unit=1.0):
    """Mean cross-entropy of logits[:, t] against tokens[:, t + 1]; switches reproduce mistakes."""
    if shift == "right":
        guesses, targets = logits[:, :-1], tokens[:, 1:]
    elif shift == "none":
        guesses, targets = logits, tokens
    elif shift == "wrong_way":
        guesses, targets = logits[:, 1:], tokens[:, :-1]
    elif shift == "trim_only":
        guesses, targets = logits[:, :-1], tokens[:, :-1]
    elif shift == "unflattened":
        return _cross_entropy(logits[:, :-1], tokens[:, 1:])
    vocab = logits.shape[-1]
    guesses, targets = guesses.reshape(-1, vocab), targets.reshape(-1)  # (b * (n-1), V), (b * (n-1),)
    if reduction == "per_sequence":
        return _cross_entropy(guesses, targets, reduction="sum") / logits.shape[0]
    if kind == "probabilities":
        loss = _cross_entropy(_softmax(guesses, -1), targets, reduction=reduction)
    elif kind == "nll_of_probabilities":
        loss = F.nll_loss(_softmax(guesses, -1), targets, reduction=reduction)
    elif kind == "log_of_softmax":
        loss = F.nll_loss(torch.log(_softmax(guesses, -1)), targets, reduction=reduction)
    else:
        loss = _cross_entropy(guesses, targets, reduction=reduction)
    return loss * unit


def _confidently_wrong():
    """Logits of +-60 where the first guess gives the right token -60 and another +60: its softmax
    probability, e^-120, is 0 in float32."""
    tokens = _tokens(2, 5, vocab=7, seed=807)  # (b, n)
    logits = 60 * torch.tanh(randn(2, 5, 7, seed=806))  # (b, n, V)
    right = int(tokens[0, 1])
    logits[0, 0, right], logits[0, 0, (right + 1) % 7] = -60.0, 60.0
    return logits, tokens


def next_token_loss(fn, hidden=False):
    example_tokens = torch.tensor([[0, 1, 2, 1]])  # (1, 4)
    example_logits = torch.tensor([[[0.0, 2.0, 0.0], [0.0, 0.0, 2.0], [0.0, 2.0, 0.0], [0.0, 0.0, 5.0]]])
    cases = [
        Case("the worked example: tokens [0, 1, 2, 1], each guess puts logit 2 on the next token "
             "(loss ln(1 + 2 e^-2) = 0.2395)", (example_logits, example_tokens)),
        Case("2 sequences of 6 tokens, a vocabulary of 5, random logits",
             (randn(2, 6, 5, seed=800), _tokens(2, 6, vocab=5, seed=801))),
    ]
    if hidden:
        cases = [
            Case("3 sequences of 7 tokens, a vocabulary of 6",
                 (randn(3, 7, 6, seed=802), _tokens(3, 7, vocab=6, seed=803))),
            Case("sequences of 2 tokens: a single target each",
                 (randn(4, 2, 5, seed=804), _tokens(4, 2, vocab=5, seed=805))),
            Case("large logits (up to +-60): a confident model, confidently wrong at the first position",
                 _confidently_wrong()),
            Case("a vocabulary of 40 and sequences of 9",
                 (randn(2, 9, 40, seed=808), _tokens(2, 9, vocab=40, seed=809))),
        ]

    def variant(**how):
        return lambda logits, tokens: _loss(logits, tokens, **how)

    mistakes = [
        Mistake("the targets are not shifted: you compared the logits at position t with token t itself. "
                "The guess at position t is for the NEXT token: logits[:, :-1] against tokens[:, 1:]",
                variant(shift="none")),
        Mistake("you shifted the wrong way: logits[:, 1:] against tokens[:, :-1] asks each position to "
                "guess the token before it. Use logits[:, :-1] against tokens[:, 1:]", variant(shift="wrong_way")),
        Mistake("you dropped the last position of the logits but kept the targets unshifted "
                "(tokens[:, :-1]); the targets are the next tokens, tokens[:, 1:]", variant(shift="trim_only")),
        Mistake("you took the cross-entropy of probabilities: F.cross_entropy applies log_softmax itself, "
                "so pass it the raw logits, not torch.softmax(logits)", variant(kind="probabilities")),
        Mistake("you passed probabilities to F.nll_loss, which expects log-probabilities: use "
                "F.cross_entropy on the raw logits (or F.nll_loss(F.log_softmax(...)))",
                variant(kind="nll_of_probabilities")),
        Mistake("you summed the losses (reduction='sum'); the loss is the mean over every predicted "
                "position of every sequence", variant(reduction="sum")),
        Mistake("you summed over the positions and averaged over the batch only; average over every "
                "predicted position", variant(reduction="per_sequence")),
        Mistake("you converted to bits (divided by ln 2); the loss is in nats, F.cross_entropy's unit "
                "(the notebook converts to bits per character separately)", variant(unit=1 / math.log(2))),
        Mistake("torch.log(torch.softmax(...)) underflows to log(0) = -inf for confident logits; "
                "F.cross_entropy (or log_softmax) computes the same thing stably", variant(kind="log_of_softmax")),
        Mistake("F.cross_entropy wants the classes on axis 1: flatten the logits to (b * (n - 1), V) and "
                "the targets to (b * (n - 1),), or pass logits.transpose(1, 2)", variant(shift="unflattened")),
    ]
    check("next_token_loss", fn, _loss, cases, mistakes)


# ---------------------------------------------------------------- the model
class _TinyGPT(nn.Module):
    """The notebook's TinyGPT, for the KV-cache check (independent of the learner's class)."""

    def __init__(self, vocab_size, max_len, d_model, num_heads, d_ff, num_layers):
        super().__init__()
        self.token_embed = nn.Embedding(vocab_size, d_model)
        self.register_buffer("position_table", sinusoidal_encoding(max_len, d_model))
        self.blocks = nn.ModuleList([GPTBlock(d_model, num_heads, d_ff) for _ in range(num_layers)])
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, tokens):
        return _forward(self, tokens)


def _forward(model, tokens, *, mask="causal", positions="table", final_norm=True, output="logits",
             scale=False, chain=True):
    """TinyGPT's forward pass computed from a model's weights; switches reproduce mistakes."""
    n = tokens.shape[-1]
    x = model.token_embed(tokens)  # (b, n, d_model)
    if scale:
        x = x * math.sqrt(x.shape[-1])
    if positions == "table":
        x = x + model.position_table[:n]
    elif positions == "whole_table":
        x = x + model.position_table
    masks = {"causal": causal_mask(n), "none": None, "inverted": ~causal_mask(n), "transposed": causal_mask(n).T}
    embedded, out = x, x
    for block in model.blocks:
        out = block(out if chain else embedded, masks[mask])  # (b, n, d_model)
    if final_norm:
        out = model.norm(out)
    logits = model.head(out)  # (b, n, V)
    return _softmax(logits, -1) if output == "probabilities" else logits


def _build_gpt(cls, vocab, max_len, d_model, heads, d_ff, layers, seed):
    call = (f"TinyGPT(vocab_size={vocab}, max_len={max_len}, d_model={d_model}, num_heads={heads}, "
            f"d_ff={d_ff}, num_layers={layers})")
    model = build(cls, "TinyGPT", (vocab, max_len, d_model, heads, d_ff, layers), seed=seed, call=call)
    require(model, call, "token_embed", nn.Embedding, f"nn.Embedding({vocab}, {d_model})")
    require(model, call, "blocks", nn.ModuleList, f"an nn.ModuleList of {layers} GPTBlocks")
    require(model, call, "norm", nn.LayerNorm, f"nn.LayerNorm({d_model})")
    require(model, call, "head", nn.Linear, f"nn.Linear({d_model}, {vocab})")
    require(model, call, "position_table", _Tensor, f"the ({max_len}, {d_model}) sinusoidal table (a buffer)")
    g = generator(seed + 1)
    with torch.no_grad():  # a final norm that is not the identity, so leaving it out shows
        model.norm.weight.copy_(1 + 0.5 * torch.randn(d_model, generator=g))
        model.norm.bias.copy_(0.5 * torch.randn(d_model, generator=g))
    return model.eval()


@forbids(allow=(GPTBlock, MultiHeadAttention, sinusoidal_encoding, causal_mask))
def tiny_gpt(cls, hidden=False):
    specs = [((11, 12, 16, 2, 32, 2), 8, 5, "a batch of 2 sequences of 8 tokens")]
    if hidden:
        specs = [((7, 20, 24, 4, 48, 3), 20, 19, "3 layers, 4 heads, 3 sequences as long as max_len (20 tokens)"),
                 ((13, 10, 8, 1, 16, 1), 1, None, "1 layer, 1 head, sequences of a single token"),
                 ((9, 16, 16, 4, 16, 2), 6, 2, "2 layers, 4 heads, 6 tokens")]
    cases = []
    for i, ((vocab, max_len, d_model, heads, d_ff, layers), n, cut, label) in enumerate(specs):
        model = _build_gpt(cls, vocab, max_len, d_model, heads, d_ff, layers, seed=820 + 3 * i)
        batch = 2 if not hidden else 3
        tokens = _tokens(batch, n, vocab=vocab, seed=830 + i)  # (b, n)
        cases.append(Case(f"{label}: the logits", (model, tokens, None, None)))
        if cut is not None:
            changed = tokens.clone()
            changed[:, cut:] = (tokens[:, cut:] + 1 + _tokens(batch, n - cut, vocab=vocab - 1, seed=840 + i)) % vocab
            cases.append(Case(f"{label}: the tokens from position {cut} on replaced by others; the logits at "
                              f"positions 0..{cut - 1} must not change (a future token must not change an "
                              "earlier position's logits), so their change must be 0",
                              (model, tokens, changed, cut)))

    def through(forward):
        def run(model, tokens, changed, cut):
            with torch.no_grad():
                logits = forward(model, tokens)
                if changed is None or not isinstance(logits, _Tensor):
                    return logits
                other = forward(model, changed)
                if not isinstance(other, _Tensor) or other.shape != logits.shape:
                    return other
                return other[:, :cut] - logits[:, :cut]  # (b, cut, V): must be 0
        return run

    def variant(**how):
        return through(lambda model, tokens: _forward(model, tokens, **how))

    mistakes = [
        Mistake("no mask: every position attends to the tokens after it, so the model sees the answer it "
                "is asked to guess. Pass causal_mask(n) to every block", variant(mask="none")),
        Mistake("your mask is inverted (~causal_mask(n), or torch.triu(..., diagonal=1)): in this course "
                "True means MAY attend, so a position must see itself and the tokens before it: "
                "causal_mask(n). (nn.MultiheadAttention's boolean masks mean the opposite.)",
                variant(mask="inverted")),
        Mistake("your mask is transposed (upper-triangular): a position sees itself and the FUTURE. Use "
                "causal_mask(n), True on and below the diagonal", variant(mask="transposed")),
        Mistake("no positions: add self.position_table[:n] to the token embeddings. Without it the model "
                "cannot tell 'ab' from 'ba' except through the mask", variant(positions="none")),
        Mistake("you added the whole position table; add only its first n rows, self.position_table[:n]",
                variant(positions="whole_table")),
        Mistake("the final layer norm is missing: logits = self.head(self.norm(x))", variant(final_norm=False)),
        Mistake("you returned probabilities (a softmax): return the logits; F.cross_entropy and the sampler "
                "apply the softmax themselves", variant(output="probabilities")),
        Mistake("you scaled the embeddings by sqrt(d_model); this model adds the table to the unscaled "
                "embeddings", variant(scale=True)),
        Mistake("every block got the embeddings instead of the previous block's output: "
                "x = block(x, mask), one after the other", variant(chain=False)),
    ]
    check("TinyGPT", through(lambda model, tokens: model(tokens)), variant(), cases, mistakes)


# ---------------------------------------------------------------- sampling
def _probabilities(logits, temperature=1.0, top_k=None, *, where="logits", top="ties", fill=-math.inf,
                   dim=-1):
    """The distribution each row of logits (R, V) is sampled from, (R, V); switches reproduce mistakes."""
    logits = (logits / temperature if where == "logits" else logits).to(torch.float64)
    if where == "multiplied":
        logits = logits * temperature
    if top_k is not None and top != "ignored":
        kth = torch.sort(logits, dim=-1, descending=True).values  # (R, V)
        if top == "ties":
            keep = logits >= kth[:, top_k - 1:top_k]
        elif top == "one_less":
            keep = logits > kth[:, top_k - 1:top_k]
        elif top == "one_more":
            keep = logits >= kth[:, min(top_k, logits.shape[-1] - 1):][:, :1]
        elif top == "exactly_k":
            chosen = _topk(logits.to(torch.float32), top_k, dim=-1).indices  # as the learner's float32 topk picks
            keep = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, chosen, True)
        logits = logits.masked_fill(~keep, fill)
    if dim == 0:  # a softmax over the batch axis (every row's copies), then multinomial renormalises
        weights = torch.exp(logits - logits.max())  # (R, V)
        weights = weights / weights.sum(0, keepdim=True)
        return weights / weights.sum(-1, keepdim=True)
    if where == "greedy":
        return F.one_hot(logits.argmax(-1), logits.shape[-1]).to(torch.float64)
    return _softmax(logits, -1)  # (R, V)


_DRAWS = 5000


def _frequencies(fn, logits, temperature, top_k, seed):
    """How often the sampler `fn` drew each token: (R, V), from _DRAWS draws per row of logits."""
    rows, vocab = logits.shape
    ids = fn(logits.repeat_interleave(_DRAWS, dim=0), temperature=temperature, top_k=top_k,
             generator=generator(seed))  # (R * _DRAWS,)
    ids = torch.as_tensor(ids).reshape(rows, _DRAWS).long()
    return torch.stack([_bincount(row, minlength=vocab)[:vocab] for row in ids]).to(torch.float64) / _DRAWS


def _sane_sampler(fn):
    """Fail with a plain message unless fn returns (b,) integer ids in range that follow `generator`."""
    logits = randn(200, 5, seed=860)  # (b, V)
    with isolated():
        try:
            first = fn(logits.clone(), temperature=1.0, top_k=None, generator=generator(861))
            again = fn(logits.clone(), temperature=1.0, top_k=None, generator=generator(861))
        except NotImplementedError:
            raise
        except Exception:
            return  # the cases below report the error and diagnose it
    if first is None:
        raise ExerciseFailed("sample_next returned None: is a `return` statement missing?")
    if not isinstance(first, _Tensor):
        raise ExerciseFailed(f"sample_next returned a {type(first).__name__}; a tensor of token ids was expected")
    if first.shape == (200, 1):
        raise ExerciseFailed("sample_next returned shape (b, 1): torch.multinomial gives one column per draw; "
                             "return ids of shape (b,), e.g. torch.multinomial(...).squeeze(-1)")
    if first.shape != (200,):
        raise ExerciseFailed(f"sample_next returned shape {tuple(first.shape)} for logits of shape (200, 5); "
                             "it should return one token id per row, shape (b,) = (200,)")
    if first.is_floating_point() or first.dtype == torch.bool:
        raise ExerciseFailed(f"sample_next returned {first.dtype} values; token ids are integers (torch.long)")
    if bool((first < 0).any()) or bool((first >= 5).any()):
        raise ExerciseFailed("sample_next returned ids outside 0 .. V-1")
    if not torch.equal(first, again):
        raise ExerciseFailed("two calls with generators seeded alike gave different tokens: your draws do not "
                             "use the `generator` argument. Pass it on: torch.multinomial(probs, 1, "
                             "generator=generator)")


def sample_next(fn, hidden=False):
    __tracebackhide__ = True
    if not callable(fn):
        raise ExerciseFailed(f"sample_next should be a function, but it is a {type(fn).__name__}")
    _sane_sampler(fn)
    row = torch.tensor([[2.0, 1.0, 0.0, -1.0]])  # (1, V)
    cases = [
        Case("logits [2, 1, 0, -1], temperature 1: probabilities [0.644, 0.237, 0.087, 0.032]", (row, 1.0, None, 870)),
        Case("logits [2, 1, 0, -1], temperature 0.5: probabilities [0.867, 0.117, 0.016, 0.002]",
             (row, 0.5, None, 871)),
        Case("logits [2, 1, 0, -1], top_k = 2: probabilities [0.731, 0.269, 0, 0]", (row, 1.0, 2, 872)),
    ]
    if hidden:
        batch = torch.tensor([[0.5, 2.0, -1.0, 0.0, 1.0, -0.5], [3.0, 0.0, 0.0, 1.0, -2.0, 0.5],
                              [-1.0, -1.0, 1.5, 0.5, 0.0, 2.5]])  # (3, V)
        distinct = torch.tensor([[1.5, 0.5, 2.5, -0.5, 0.0, 1.0]])
        ties = torch.tensor([[3.0, 1.0, 1.0, 1.0, 0.0, -2.0]])
        cases = [
            Case("3 different rows of logits in one batch, temperature 1", (batch, 1.0, None, 873)),
            Case("3 rows, temperature 2 (flatter)", (batch, 2.0, None, 874)),
            Case("distinct logits [1.5, 0.5, 2.5, -0.5, 0, 1], top_k = 3, temperature 1", (distinct, 1.0, 3, 875)),
            Case("logits [3, 1, 1, 1, 0, -2], top_k = 2: the 2nd largest logit (1) is tied three times, and "
                 "every tied token is kept", (ties, 1.0, 2, 876)),
            Case("3 rows, top_k = 1: always the largest logit", (batch, 1.0, 1, 877)),
            Case("3 rows, temperature 0.7 and top_k = 4", (batch, 0.7, 4, 878)),
        ]

    def learner(logits, temperature, top_k, seed):
        return _frequencies(fn, logits, temperature, top_k, seed)

    def reference(logits, temperature, top_k, seed):
        return _probabilities(logits, temperature, top_k)

    def variant(**how):
        return lambda logits, temperature, top_k, seed: _probabilities(logits, temperature, top_k, **how)

    def raw_logits(logits, temperature, top_k, seed):  # torch.multinomial on logits: its error
        return _multinomial(logits.repeat_interleave(_DRAWS, dim=0) / temperature, 1, generator=generator(seed))

    mistakes = [
        Mistake("your samples ignore the temperature. Divide the LOGITS by it, before the softmax: "
                "dividing the probabilities afterwards changes nothing, because torch.multinomial "
                "renormalises them", variant(where="after")),
        Mistake("you multiplied the logits by the temperature; divide them: a temperature below 1 "
                "sharpens the distribution, above 1 flattens it", variant(where="multiplied")),
        Mistake("you ignored top_k: keep only the tokens whose logit is at least the k-th largest "
                "(set the others to -inf before the softmax)", variant(top="ignored")),
        Mistake("your top-k keeps k - 1 tokens: keep every logit >= the k-th largest (torch.topk(logits, k)"
                ".values[:, -1:] is the k-th largest), not > it", variant(top="one_less")),
        Mistake("your top-k keeps k + 1 tokens: the k-th largest logit is torch.topk(logits, k).values[:, -1:] "
                "(index k - 1 of the sorted logits, not k)", variant(top="one_more")),
        Mistake("your top-k ignores ties: it keeps exactly k tokens (scattering torch.topk's indices), but "
                "every token whose logit equals the k-th largest must be kept, as `logits < kth` masking "
                "does", variant(top="exactly_k")),
        Mistake("you set the logits outside the top k to 0; they must be -inf, so their probability is "
                "exactly 0 (a logit of 0 still has probability e^0 / sum)", variant(fill=0.0)),
        Mistake("you always picked the largest logit (argmax): that is greedy decoding; sample from the "
                "probabilities with torch.multinomial", variant(where="greedy")),
        Mistake("your softmax runs over the batch axis (dim=0); each row is its own distribution over the "
                "vocabulary: softmax(..., dim=-1)", variant(dim=0)),
        Mistake("torch.multinomial needs probabilities (non-negative weights), not raw logits: apply "
                "torch.softmax(logits / temperature, dim=-1) first", raw_logits),
    ]
    check("sample_next", learner, reference, cases, mistakes, atol=0.035, rtol=0.0)


# ---------------------------------------------------------------- one decoding step with a KV cache
def _step(model, new_token, caches, *, position="t", cat_dim=-2, append="before", keep_old=False, final_norm=True):
    """One cached decoding step of TinyGPT, from its weights; switches reproduce mistakes."""
    t = caches[0][0].shape[-2]
    where = {"t": t, "zero": 0, "t_plus_1": t + 1}[position]
    x = model.token_embed(new_token) + model.position_table[where:where + 1]  # (b, 1, d_model)
    grown = []
    for block, (k_cache, v_cache) in zip(model.blocks, caches):
        attn = block.self_attn
        h = block.norm1(x)  # (b, 1, d_model)
        q = split_heads(attn.w_q(h), attn.num_heads)  # (b, h, 1, d_head)
        k_new, v_new = split_heads(attn.w_k(h), attn.num_heads), split_heads(attn.w_v(h), attn.num_heads)
        if append == "after":
            out = scaled_dot_product_attention(q, k_cache, v_cache)  # only the past: the token misses itself
        k_grown = torch.cat([k_cache, k_new], dim=cat_dim)  # (b, h, t + 1, d_head)
        v_grown = torch.cat([v_cache, v_new], dim=cat_dim)
        if append == "before":
            out = scaled_dot_product_attention(q, k_grown, v_grown)  # (b, h, 1, d_head)
        x = x + attn.w_o(merge_heads(out))  # (b, 1, d_model)
        x = x + block.feed_forward(block.norm2(x))
        grown.append((k_cache, v_cache) if keep_old else (k_grown, v_grown))
    return model.head(model.norm(x) if final_norm else x), grown


def _empty(model, batch):
    attn = model.blocks[0].self_attn
    d_head = attn.w_q.out_features // attn.num_heads
    return [(torch.zeros(batch, attn.num_heads, 0, d_head), torch.zeros(batch, attn.num_heads, 0, d_head))
            for _ in model.blocks]


def _unpack(result, layers):
    """(logits, caches) from a cached step, or a ValueError that says what is wrong with it."""
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise ValueError("cached_step should return a pair (logits, caches)")
    logits, caches = result
    if not isinstance(caches, (tuple, list)) or len(caches) != layers or not all(
            isinstance(c, (tuple, list)) and len(c) == 2 for c in caches):
        raise ValueError(f"the caches should be a list of {layers} (keys, values) pairs, one per block")
    return logits, caches


@forbids(allow=(GPTBlock, MultiHeadAttention, split_heads, merge_heads, scaled_dot_product_attention,
                sinusoidal_encoding, causal_mask))
def cached_step(fn, hidden=False):
    __tracebackhide__ = True
    if not callable(fn):
        raise ExerciseFailed(f"cached_step should be a function, but it is a {type(fn).__name__}")

    def model_of(vocab, max_len, d_model, heads, layers, seed):
        with isolated(seed):
            model = _TinyGPT(vocab, max_len, d_model, heads, 2 * d_model, layers).eval()
        g = generator(seed + 1)
        with torch.no_grad():
            model.norm.weight.copy_(1 + 0.5 * torch.randn(d_model, generator=g))
        return model

    small = model_of(9, 16, 16, 2, 2, 880)
    cases = [
        Case("the first step (empty caches), a batch of 2, 2 blocks of 2 heads: the logits and the caches "
             "of the first block", (small, _tokens(2, 1, vocab=9, seed=881), None)),
        Case("7 tokens fed one at a time from empty caches: every step's logits must equal model(tokens)",
             (small, _tokens(2, 7, vocab=9, seed=882), "run")),
    ]
    if hidden:
        deep = model_of(11, 9, 24, 4, 3, 883)
        short = model_of(6, 8, 8, 1, 1, 884)
        cases = [
            Case("caches that already hold 5 tokens, a batch of 3, 3 blocks of 4 heads: the logits and the "
                 "caches", (deep, _tokens(3, 6, vocab=11, seed=885), "prefilled")),
            Case("9 tokens (max_len) fed one at a time, 3 blocks of 4 heads",
                 (deep, _tokens(1, 9, vocab=11, seed=886), "run")),
            Case("1 block of 1 head: the last position of the table (7 cached tokens, max_len 8)",
                 (short, _tokens(2, 8, vocab=6, seed=887), "prefilled")),
        ]

    def drive(step):
        def run(model, tokens, mode):
            layers = len(model.blocks)
            with torch.no_grad():
                if mode is None:  # one step from empty caches
                    logits, caches = _unpack(step(model, tokens, _empty(model, tokens.shape[0])), layers)
                    return logits, caches[0][0], caches[0][1]
                if mode == "prefilled":
                    caches = _empty(model, tokens.shape[0])
                    for t in range(tokens.shape[1] - 1):
                        caches = _step(model, tokens[:, t:t + 1], caches)[1]  # the right caches of the prefix
                    logits, caches = _unpack(step(model, tokens[:, -1:], caches), layers)
                    return logits, caches[-1][0], caches[-1][1]
                caches, outputs = _empty(model, tokens.shape[0]), []
                for t in range(tokens.shape[1]):
                    logits, caches = _unpack(step(model, tokens[:, t:t + 1], caches), layers)
                    outputs.append(logits)
                return torch.cat(outputs, dim=1)  # (b, n, V)
        return run

    def reference(model, tokens, mode):
        if mode == "run":
            with torch.no_grad():
                return model(tokens)  # (b, n, V): the model on the whole sequence
        return drive(_step)(model, tokens, mode)

    def variant(**how):
        return drive(lambda model, new_token, caches: _step(model, new_token, caches, **how))

    mistakes = [
        Mistake("the new token's position restarts at 0 at every step: it sits at position t, the number of "
                "tokens already cached (caches[0][0].shape[-2]): add model.position_table[t:t + 1]",
                variant(position="zero")),
        Mistake("the position is off by one: the new token sits at position t = the number of tokens already "
                "cached (the first token at 0), so add model.position_table[t:t + 1]", variant(position="t_plus_1")),
        Mistake("the cache is not concatenated along the sequence axis: keys and values are (b, h, t, d_head), "
                "so the new token goes on at dim=-2 (dim=1 is the heads axis here, unlike notebook 07's "
                "(b, t, d) cache)", variant(cat_dim=1)),
        Mistake("the cache is concatenated along the batch axis (dim=0); the new token goes on along the "
                "sequence axis, dim=-2", variant(cat_dim=0)),
        Mistake("the cache is concatenated along the feature axis (dim=-1); the new token goes on along the "
                "sequence axis, dim=-2", variant(cat_dim=-1)),
        Mistake("you attended before appending the new key and value: the token must see itself too. "
                "Concatenate first, then attend over the grown cache", variant(append="after")),
        Mistake("you returned the caches you were given: return the grown ones, or the next step forgets "
                "this token", variant(keep_old=True)),
        Mistake("the final layer norm is missing: logits = model.head(model.norm(x))", variant(final_norm=False)),
    ]
    check("cached_step", drive(fn), reference, cases, mistakes)


learner_facing(globals())
