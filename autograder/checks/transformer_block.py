"""Checks for notebook 06 (the transformer block): layer normalisation, an encoder block and a
causal decoder block that must agree with PyTorch's own layers, and the capstone's model.

Classes are checked through their own weights: the learner's module is built under a fixed
seed (without touching the notebook's global random state), its layer norms get random
gains and shifts (with the default gain 1 and shift 0, two norms would be indistinguishable),
and the reference is `torch.nn.TransformerEncoderLayer` / `TransformerDecoderLayer` holding
copies of exactly those weights. Known mistakes are re-computed from the same weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks import attention, causal_mask, merge_heads, sinusoidal_encoding, split_heads
from .core import (
    Case,
    ExerciseFailed,
    Mistake,
    build,
    check,
    generator,
    isolated,
    learner_facing,
    randn,
    require,
    require_linear,
)

_equal = torch.equal  # bound before any learner code runs


# ---------------------------------------------------------------- layer norm
def _layer_norm(x, gamma, beta, eps=1e-5):
    return F.layer_norm(x, (x.shape[-1],), gamma, beta, eps)


def _normalise_over(dims, unbiased=False):
    """A layer norm whose statistics are taken over the wrong axes (or with d - 1)."""

    def wrong(x, gamma, beta, eps=1e-5):
        mean = x.mean(dim=dims, keepdim=True)
        var = x.var(dim=dims, keepdim=True, unbiased=unbiased)
        return (x - mean) / torch.sqrt(var + eps) * gamma + beta

    return wrong


def _stats(x):
    return x.mean(-1, keepdim=True), x.var(-1, keepdim=True, unbiased=False)


def layer_norm(fn, hidden=False):
    tokens = torch.tensor([[1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]])  # (2, 4)
    ones, zeros = torch.ones(4), torch.zeros(4)
    cases = [
        Case("the tokens [1, 2, 3, 4] and [10, 20, 30, 40] with gamma = 1, beta = 0", (tokens, ones, zeros)),
        Case("the same tokens with gamma = [1, 2, 0.5, 1] and beta = [0, 0, 1, -1]",
             (tokens, torch.tensor([1.0, 2.0, 0.5, 1.0]), torch.tensor([0.0, 0.0, 1.0, -1.0]))),
        Case("a batch of 2 sequences x 3 tokens x 4 features (normalise each token on its own)",
             (randn(2, 3, 4, seed=600), ones, zeros)),
    ]
    if hidden:
        d = 6
        gamma, beta = 1 + 0.5 * randn(d, seed=601), 0.5 * randn(d, seed=602)
        flat = 1e-3 * randn(2, 3, 8, seed=603)  # spread ~1e-3: variance ~1e-6, below eps
        constant = torch.tensor([[2.0, 2.0, 2.0, 2.0, 2.0, 2.0], [1.0, -1.0, 2.0, 0.0, 3.0, 1.0]])
        cases = [
            Case("a batch of 2 sequences x 5 tokens x 6 features, random gamma and beta",
                 (2.0 + 3.0 * randn(2, 5, d, seed=604), gamma, beta)),
            Case("a single sequence of 4 tokens x 6 features (2-D input)",
                 (randn(4, d, seed=605), gamma, beta)),
            Case("a token whose features are all equal (variance 0) next to an ordinary one",
                 (constant, gamma, beta)),
            Case("tokens whose features differ by only ~0.001 (variance ~1e-6, smaller than eps)",
                 (flat, torch.ones(8), torch.zeros(8))),
            Case("eps = 0.1 passed explicitly", (randn(3, d, seed=606), gamma, beta), {"eps": 0.1}),
        ]

    def unbiased_std_eps_outside(x, gamma, beta, eps=1e-5):
        return (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + eps) * gamma + beta

    def eps_outside(x, gamma, beta, eps=1e-5):
        mean, var = _stats(x)
        return (x - mean) / (var.sqrt() + eps) * gamma + beta

    def no_eps(x, gamma, beta, eps=1e-5):
        mean, var = _stats(x)
        return (x - mean) / var.sqrt() * gamma + beta

    def by_variance(x, gamma, beta, eps=1e-5):
        mean, var = _stats(x)
        return (x - mean) / (var + eps) * gamma + beta

    def normalised(x, eps=1e-5):
        mean, var = _stats(x)
        return (x - mean) / torch.sqrt(var + eps)

    mistakes = [
        Mistake("you used the unbiased variance (dividing by d - 1, the default of torch.var and "
                "torch.std); layer norm divides by d: x.var(dim=-1, unbiased=False)",
                _normalise_over(-1, unbiased=True)),
        Mistake("you divided by x.std() + eps: torch.std is unbiased (divides by d - 1) and eps belongs "
                "inside the square root: sqrt(var + eps) with the biased variance",
                unbiased_std_eps_outside),
        Mistake("you put eps outside the square root (std + eps); it belongs inside: sqrt(var + eps). "
                "The two differ when the variance is tiny", eps_outside),
        Mistake("you left out eps: a token whose features are all equal has variance 0 and 0 / 0 = NaN; "
                "divide by sqrt(var + eps)", no_eps),
        Mistake("you divided by the variance; divide by the standard deviation sqrt(var + eps)", by_variance),
        Mistake("you forgot gamma and beta: after normalising, scale by gamma and shift by beta",
                lambda x, gamma, beta, eps=1e-5: normalised(x, eps)),
        Mistake("you forgot beta: the result must be shifted by beta after scaling by gamma",
                lambda x, gamma, beta, eps=1e-5: normalised(x, eps) * gamma),
        Mistake("you forgot gamma: the normalised values must be scaled by gamma before adding beta",
                lambda x, gamma, beta, eps=1e-5: normalised(x, eps) + beta),
        Mistake("you swapped gamma and beta: gamma scales (multiplies), beta shifts (adds)",
                lambda x, gamma, beta, eps=1e-5: normalised(x, eps) * beta + gamma),
        Mistake("you normalised over the token axis (dim=-2); layer norm normalises each token over "
                "its own features, the last axis (dim=-1)", _normalise_over(-2)),
        Mistake("you normalised over the batch axis (dim=0), like batch norm; layer norm normalises each "
                "token over its own features (dim=-1)", _normalise_over(0)),
        Mistake("you normalised each whole sequence (tokens and features together); layer norm takes the "
                "mean and variance of each token separately, over dim=-1 only", _normalise_over((-2, -1))),
        Mistake("you normalised over the whole tensor at once; layer norm takes the mean and variance of "
                "each token separately, over dim=-1",
                lambda x, gamma, beta, eps=1e-5: _normalise_over(tuple(range(x.dim())))(x, gamma, beta, eps)),
        Mistake("you ignored the `eps` argument and always used 1e-5",
                lambda x, gamma, beta, eps=1e-5: _layer_norm(x, gamma, beta, 1e-5)),
    ]
    check("layer_norm", fn, _layer_norm, cases, mistakes)


# ---------------------------------------------------------------- building learners' modules
@dataclass(frozen=True)
class _Spec:
    """The constructor arguments of one block."""

    d_model: int
    num_heads: int
    d_ff: int
    norm_first: bool = False
    dropout: float = 0.0

    def call(self, cls_name):
        return (f"{cls_name}(d_model={self.d_model}, num_heads={self.num_heads}, d_ff={self.d_ff}, "
                f"dropout={self.dropout}, norm_first={self.norm_first})")


def _randomise_norms(module, seed):
    """Give every LayerNorm a random gain and shift, so two different norms compute different things."""
    g = generator(seed)
    with torch.no_grad():
        for _, sub in sorted(module.named_modules(), key=lambda item: item[0]):
            if isinstance(sub, nn.LayerNorm) and sub.weight is not None:
                sub.weight.copy_(1 + 0.3 * torch.randn(sub.weight.shape, generator=g))
                sub.bias.copy_(0.3 * torch.randn(sub.bias.shape, generator=g))


def _check_parts(block, call, spec, attn_names, norm_names):
    for name in attn_names:
        for proj in ("w_q", "w_k", "w_v", "w_o"):
            require(block, call, f"{name}.{proj}", nn.Linear,
                    "a MultiHeadAttention (from autograder.blocks) with projections w_q, w_k, w_v, w_o")
    require_linear(block, call, "linear1", spec.d_model, spec.d_ff, how="nn.Linear(d_model, d_ff)")
    require_linear(block, call, "linear2", spec.d_ff, spec.d_model, how="nn.Linear(d_ff, d_model)")
    for name in norm_names:
        require(block, call, name, nn.LayerNorm, f"nn.LayerNorm({spec.d_model})")
    require(block, call, "dropout", nn.Dropout, f"nn.Dropout({spec.dropout})")


def _build_block(cls, name, spec, seed, attn_names, norm_names):
    call = spec.call(name)
    block = build(cls, name, (spec.d_model, spec.num_heads, spec.d_ff),
                  {"dropout": spec.dropout, "norm_first": spec.norm_first}, seed=seed, call=call)
    _check_parts(block, call, spec, attn_names, norm_names)
    _randomise_norms(block, seed + 1)
    return block


# ---------------------------------------------------------------- torch's layers with the learner's weights
def _bias(linear):
    return linear.bias if linear.bias is not None else torch.zeros(linear.out_features)


def _load_attention(torch_mha, mha):
    with torch.no_grad():
        torch_mha.in_proj_weight.copy_(torch.cat([mha.w_q.weight, mha.w_k.weight, mha.w_v.weight]))
        torch_mha.in_proj_bias.copy_(torch.cat([_bias(mha.w_q), _bias(mha.w_k), _bias(mha.w_v)]))
        torch_mha.out_proj.weight.copy_(mha.w_o.weight)
        torch_mha.out_proj.bias.copy_(_bias(mha.w_o))


def _load_common(layer, block, norm_names):
    with torch.no_grad():
        for name in ("linear1", "linear2", *norm_names):
            getattr(layer, name).weight.copy_(getattr(block, name).weight)
            getattr(layer, name).bias.copy_(getattr(block, name).bias)


def _padding(mask):
    """Our (b, 1, 1, m) 'may attend' mask -> torch's (b, m) key padding mask (True = ignore)."""
    return None if mask is None else ~mask[:, 0, 0, :]


def _torch_encoder(block, x, mask, spec):
    with isolated():  # torch's layer draws its own (soon overwritten) weights
        layer = nn.TransformerEncoderLayer(spec.d_model, spec.num_heads, spec.d_ff, dropout=0.0,
                                           activation="relu", batch_first=True, norm_first=spec.norm_first)
    _load_attention(layer.self_attn, block.self_attn)
    _load_common(layer, block, ("norm1", "norm2"))
    layer.eval()
    src_mask = ~mask if mask is not None and mask.dim() == 2 else None  # (n, n): True = blocked
    padding = _padding(mask) if mask is not None and mask.dim() == 4 else None
    return layer(x, src_mask=src_mask, src_key_padding_mask=padding)


def _torch_decoder(block, x, memory, memory_mask, spec):
    with isolated():  # torch's layer draws its own (soon overwritten) weights
        layer = nn.TransformerDecoderLayer(spec.d_model, spec.num_heads, spec.d_ff, dropout=0.0,
                                           activation="relu", batch_first=True, norm_first=spec.norm_first)
    _load_attention(layer.self_attn, block.self_attn)
    _load_attention(layer.multihead_attn, block.cross_attn)
    _load_common(layer, block, ("norm1", "norm2", "norm3"))
    layer.eval()
    future = ~causal_mask(x.shape[1])  # (n, n): True = blocked
    return layer(x, memory, tgt_mask=future, memory_key_padding_mask=_padding(memory_mask))


# ---------------------------------------------------------------- the same blocks, written out, with mistakes
def _attend(mha, num_heads, query, key_value, mask):
    """Multi-head attention from the weights of a MultiHeadAttention module."""
    q = split_heads(mha.w_q(query), num_heads)  # (b, h, n, d_head)
    k = split_heads(mha.w_k(key_value), num_heads)  # (b, h, m, d_head)
    v = split_heads(mha.w_v(key_value), num_heads)  # (b, h, m, d_head)
    return mha.w_o(merge_heads(attention(q, k, v, mask)[0]))  # (b, n, d_model)


def _ffn(block, x, activation=torch.relu):
    return block.linear2(activation(block.linear1(x)))  # (b, n, d_model)


def _arrange(x, sublayer, norm, norm_first, style):
    """One residual sublayer in the right arrangement ('right') or a known wrong one."""
    if style == "swapped":
        norm_first, style = not norm_first, "right"
    if style == "right":
        return x + sublayer(norm(x)) if norm_first else norm(x + sublayer(x))
    if style == "no_residual":
        return sublayer(norm(x)) if norm_first else norm(sublayer(x))
    if style == "norm_on_branch":  # x + norm(sublayer(x))
        return x + norm(sublayer(x))
    if style == "residual_from_norm":  # pre-LN whose residual starts from the normalised x
        h = norm(x)
        return h + sublayer(h)
    raise ValueError(style)


def _encoder(block, x, mask, spec, attn="right", ffn="right", norms=("norm1", "norm2"),
             activation=torch.relu, mask_mode="given"):
    mask = {"given": mask, "ignored": None,
            "inverted": None if mask is None else ~mask}[mask_mode]
    norm_a, norm_f = getattr(block, norms[0]), getattr(block, norms[1])
    self_attention = lambda h: _attend(block.self_attn, spec.num_heads, h, h, mask)  # noqa: E731
    x = _arrange(x, self_attention, norm_a, spec.norm_first, attn)  # (b, n, d_model)
    return _arrange(x, lambda h: _ffn(block, h, activation), norm_f, spec.norm_first, ffn)  # (b, n, d_model)


def _run_block(block, *inputs):
    """Call the learner's block on inputs whose last item may be a None mask."""
    if inputs[-1] is None:
        return block(*inputs[:-1])
    return block(*inputs)


def _encoder_mistakes():
    right = "norm(x + sublayer(x)) for post-LN, x + sublayer(norm(x)) for pre-LN"
    mistakes = [
        Mistake("you built the other arrangement: norm_first=False is post-LN, x = norm(x + sublayer(x)); "
                "norm_first=True is pre-LN, x = x + sublayer(norm(x))",
                lambda block, x, mask, spec: _encoder(block, x, mask, spec, "swapped", "swapped")),
        Mistake("you normalised the sublayer's output and then added the residual, x + norm(sublayer(x)); "
                "post-LN adds the residual first and normalises the sum: norm(x + sublayer(x))",
                lambda block, x, mask, spec: _encoder(block, x, mask, spec, "norm_on_branch", "norm_on_branch")),
        Mistake("you used norm1 for both sublayers; each sublayer has its own layer norm: norm1 around the "
                "attention, norm2 around the feed-forward network",
                lambda block, x, mask, spec: _encoder(block, x, mask, spec, norms=("norm1", "norm1"))),
        Mistake("you used norm2 for both sublayers; each sublayer has its own layer norm: norm1 around the "
                "attention, norm2 around the feed-forward network",
                lambda block, x, mask, spec: _encoder(block, x, mask, spec, norms=("norm2", "norm2"))),
        Mistake("you swapped the two layer norms: norm1 belongs to the attention sublayer, norm2 to the "
                "feed-forward sublayer",
                lambda block, x, mask, spec: _encoder(block, x, mask, spec, norms=("norm2", "norm1"))),
        Mistake("the feed-forward network has no activation: without ReLU between linear1 and linear2 the "
                "two layers collapse into one linear map",
                lambda block, x, mask, spec: _encoder(block, x, mask, spec, activation=lambda h: h)),
        Mistake("you used GELU in the feed-forward network; this block (like activation='relu' in "
                "nn.TransformerEncoderLayer) uses ReLU",
                lambda block, x, mask, spec: _encoder(block, x, mask, spec, activation=F.gelu)),
        Mistake("you did not pass the mask to the self-attention: self_attn(h, h, h, mask)",
                lambda block, x, mask, spec: _encoder(block, x, mask, spec, mask_mode="ignored")),
        Mistake("you inverted the mask: MultiHeadAttention's mask is True where a token MAY attend (the "
                "opposite of nn.TransformerEncoderLayer's src_key_padding_mask); pass it on unchanged",
                lambda block, x, mask, spec: _encoder(block, x, mask, spec, mask_mode="inverted")),
    ]
    for sublayer, styles in (("both sublayers", ("no_residual", "no_residual")),
                             ("the attention sublayer", ("no_residual", "right")),
                             ("the feed-forward sublayer", ("right", "no_residual"))):
        mistakes.append(Mistake(
            f"the residual connection around {sublayer} is missing: {right}",
            lambda block, x, mask, spec, s=styles: _encoder(block, x, mask, spec, *s)))
    for styles in (("residual_from_norm", "residual_from_norm"), ("residual_from_norm", "right"),
                   ("right", "residual_from_norm")):
        mistakes.append(Mistake(
            "your pre-LN residual starts from the normalised x (h = norm(x); x = h + sublayer(h)); "
            "the residual must carry the raw x: x = x + sublayer(norm(x))",
            lambda block, x, mask, spec, s=styles: _encoder(block, x, mask, spec, *s)))
    return mistakes


def _dropout_behaviour(block, call, inputs):
    """A block with dropout must be random in training mode and deterministic in eval mode."""
    with isolated(0):
        block.train()
        first, second = _run_block(block, *inputs), _run_block(block, *inputs)
        block.eval()
        third, fourth = _run_block(block, *inputs), _run_block(block, *inputs)
    if _equal(first, second):
        raise ExerciseFailed(
            f"{call} in training mode gave the same output twice: dropout is never applied. Apply "
            "self.dropout to each sublayer's output before the residual addition, and after the ReLU "
            "inside the feed-forward network")
    if not _equal(third, fourth):
        raise ExerciseFailed(
            f"{call} in eval mode gave two different outputs: dropout must switch off after .eval(). "
            "Use the nn.Dropout module self.dropout, not F.dropout(..., training=True)")


def encoder_block(cls, hidden=False):
    name = "EncoderBlock"
    post = _Spec(d_model=8, num_heads=2, d_ff=16, norm_first=False)
    pre = _Spec(d_model=8, num_heads=2, d_ff=16, norm_first=True)
    specs = [(post, "a post-LN block (norm_first=False), d_model=8, 2 heads, d_ff=16, 2 sequences x 5 tokens"),
             (pre, "a pre-LN block (norm_first=True), d_model=8, 2 heads, d_ff=16, 2 sequences x 5 tokens")]
    inputs = [(randn(2, 5, 8, seed=611), None)] * 2
    if hidden:
        keep = torch.tensor([[True] * 6, [True] * 4 + [False] * 2, [True] * 2 + [False] * 4])  # (3, 6)
        padding = keep[:, None, None, :]  # (3, 1, 1, 6)
        specs = [
            (_Spec(12, 3, 20, False), "post-LN, d_model=12, 3 heads, d_ff=20, 3 sequences of lengths 6, 4, 2 "
                                      "padded to 6 tokens (mask of shape (3, 1, 1, 6))"),
            (_Spec(12, 3, 20, True), "pre-LN with the same padded batch"),
            (_Spec(8, 2, 32, True), "pre-LN with a causal (5, 5) mask, d_ff=32"),
            (_Spec(8, 2, 32, False), "post-LN with a causal (5, 5) mask, d_ff=32"),
            (_Spec(8, 4, 16, False, dropout=0.3), "post-LN built with dropout=0.3, in eval mode (dropout off)"),
        ]
        inputs = [(randn(3, 6, 12, seed=612), padding), (randn(3, 6, 12, seed=612), padding),
                  (randn(2, 5, 8, seed=613), causal_mask(5)), (randn(2, 5, 8, seed=613), causal_mask(5)),
                  (randn(2, 4, 8, seed=614), None)]
    cases = []
    for i, ((spec, label), (x, mask)) in enumerate(zip(specs, inputs)):
        block = _build_block(cls, name, spec, 620 + i, ["self_attn"], ["norm1", "norm2"])
        cases.append(Case(label, (block, x, mask, spec)))
    learner = lambda block, x, mask, spec: _run_block(block, x, mask)  # noqa: E731
    check(name, learner, _torch_encoder, cases, _encoder_mistakes())
    if hidden:
        spec = _Spec(8, 2, 16, False, dropout=0.5)
        block = _build_block(cls, name, spec, 630, ["self_attn"], ["norm1", "norm2"])
        _dropout_behaviour(block, spec.call(name), (randn(2, 5, 8, seed=615), None))
        print(f"✔ {name}: dropout is active in training mode and off in eval mode")


# ---------------------------------------------------------------- decoder block
def _decoder(block, x, memory, memory_mask, spec, style="right", norms=("norm1", "norm2", "norm3"),
             self_mask="causal", cross_kv="memory", cross_module="cross_attn", memory_mask_used=True,
             activation=torch.relu):
    n = x.shape[1]
    mask = {"causal": causal_mask(n), "none": None, "future": causal_mask(n).T}[self_mask]
    m_mask = memory_mask if memory_mask_used else None
    cross = getattr(block, cross_module)
    norm_s, norm_c, norm_f = (getattr(block, name) for name in norms)
    x = _arrange(x, lambda h: _attend(block.self_attn, spec.num_heads, h, h, mask), norm_s,
                 spec.norm_first, style)  # (b, n, d_model)
    x = _arrange(x, lambda h: _attend(cross, spec.num_heads, h, memory if cross_kv == "memory" else h, m_mask),
                 norm_c, spec.norm_first, style)  # (b, n, d_model)
    return _arrange(x, lambda h: _ffn(block, h, activation), norm_f, spec.norm_first, style)  # (b, n, d_model)


def _decoder_mistakes():
    def wrong(**variant):
        return lambda block, x, memory, memory_mask, spec: _decoder(block, x, memory, memory_mask, spec, **variant)

    return [
        Mistake("the self-attention has no causal mask, so each position sees the tokens after it; pass "
                "causal_mask(n) (True on and below the diagonal) to self_attn", wrong(self_mask="none")),
        Mistake("your causal mask is transposed: it lets each position attend to itself and the FUTURE; "
                "use causal_mask(n) (lower triangle, torch.tril), not its transpose", wrong(self_mask="future")),
        Mistake("the cross-attention takes its keys and values from the decoder states; they must come from "
                "the encoder's output: cross_attn(h, memory, memory, memory_mask)", wrong(cross_kv="self")),
        Mistake("you used self_attn again for the cross-attention; the cross-attention has its own weights: "
                "self.cross_attn", wrong(cross_module="self_attn")),
        Mistake("you did not pass memory_mask to the cross-attention, so padded encoder positions are read",
                wrong(memory_mask_used=False)),
        Mistake("you built the other arrangement: norm_first=False is post-LN, x = norm(x + sublayer(x)); "
                "norm_first=True is pre-LN, x = x + sublayer(norm(x))", wrong(style="swapped")),
        Mistake("you normalised each sublayer's output and then added the residual, x + norm(sublayer(x)); "
                "post-LN normalises the sum: norm(x + sublayer(x))", wrong(style="norm_on_branch")),
        Mistake("a residual connection is missing: every sublayer adds its input back", wrong(style="no_residual")),
        Mistake("you reused norm1 for every sublayer; the decoder block has three: norm1 (self-attention), "
                "norm2 (cross-attention), norm3 (feed-forward)", wrong(norms=("norm1", "norm1", "norm1"))),
        Mistake("the feed-forward network has no ReLU between linear1 and linear2",
                wrong(activation=lambda h: h)),
    ]


def decoder_block(cls, hidden=False):
    name = "DecoderBlock"
    specs = [(_Spec(8, 2, 16, False), "post-LN, d_model=8, 2 heads, d_ff=16: 2 sequences of 4 target tokens "
                                      "reading 6 encoder positions"),
             (_Spec(8, 2, 16, True), "pre-LN with the same shapes")]
    inputs = [(randn(2, 4, 8, seed=641), randn(2, 6, 8, seed=642), None)] * 2
    if hidden:
        keep = torch.tensor([[True] * 3, [True, True, False], [True, False, False]])  # (3, 3)
        memory_mask = keep[:, None, None, :]  # (3, 1, 1, 3)
        specs = [
            (_Spec(12, 4, 24, False), "post-LN, d_model=12, 4 heads: 3 sequences of 5 target tokens reading 3 "
                                      "encoder positions, some padded (memory_mask of shape (3, 1, 1, 3))"),
            (_Spec(12, 4, 24, True), "pre-LN with the same padded memory"),
            (_Spec(8, 2, 16, False, dropout=0.2), "post-LN built with dropout=0.2, in eval mode, 7 target tokens "
                                                  "and 2 encoder positions"),
        ]
        x, memory = randn(3, 5, 12, seed=643), randn(3, 3, 12, seed=644)
        inputs = [(x, memory, memory_mask), (x, memory, memory_mask),
                  (randn(1, 7, 8, seed=645), randn(1, 2, 8, seed=646), None)]
    cases = []
    for i, ((spec, label), (x, memory, memory_mask)) in enumerate(zip(specs, inputs)):
        block = _build_block(cls, name, spec, 650 + i, ["self_attn", "cross_attn"], ["norm1", "norm2", "norm3"])
        cases.append(Case(label, (block, x, memory, memory_mask, spec)))
    learner = lambda block, x, memory, memory_mask, spec: _run_block(block, x, memory, memory_mask)  # noqa: E731
    check(name, learner, _torch_decoder, cases, _decoder_mistakes())
    if hidden:
        spec = _Spec(8, 2, 16, False, dropout=0.5)
        block = _build_block(cls, name, spec, 660, ["self_attn", "cross_attn"], ["norm1", "norm2", "norm3"])
        _dropout_behaviour(block, spec.call(name), (randn(2, 4, 8, seed=647), randn(2, 3, 8, seed=648), None))
        print(f"✔ {name}: dropout is active in training mode and off in eval mode")


# ---------------------------------------------------------------- the capstone's model
@dataclass(frozen=True)
class _ModelSpec:
    vocab_size: int
    max_len: int
    d_model: int
    num_heads: int
    d_ff: int
    num_layers: int

    def call(self, cls_name):
        return (f"{cls_name}(vocab_size={self.vocab_size}, max_len={self.max_len}, d_model={self.d_model}, "
                f"num_heads={self.num_heads}, d_ff={self.d_ff}, num_layers={self.num_layers})")


def _model(model, tokens, spec, positions="start", blocks="chained", softmax=False, scale=1.0):
    n = tokens.shape[1]
    table = sinusoidal_encoding(spec.max_len, spec.d_model)  # (max_len, d_model)
    x = model.embed(tokens) * scale  # (b, n, d_model)
    if positions == "start":
        x = x + table[:n]
    elif positions == "unsliced":
        x = x + table
    h = x
    for block in (model.blocks if blocks != "first" else model.blocks[:1]):
        h = block(h if blocks != "unchained" else x)  # (b, n, d_model)
    if positions == "end":
        h = h + table[:n]
    logits = model.head(h)  # (b, n, V)
    return logits.softmax(-1) if softmax else logits


def reversal_transformer(cls, hidden=False):
    name = "ReversalTransformer"
    specs = [(_ModelSpec(10, 8, 16, 2, 32, 2), (3, 8))]
    if hidden:
        specs = [(_ModelSpec(7, 12, 24, 4, 48, 3), (2, 9)), (_ModelSpec(7, 12, 24, 4, 48, 3), (1, 12)),
                 (_ModelSpec(5, 6, 8, 2, 8, 1), (4, 6))]
    cases = []
    for i, (spec, (batch, n)) in enumerate(specs):
        call = spec.call(name)
        model = build(cls, name, (spec.vocab_size, spec.max_len, spec.d_model, spec.num_heads, spec.d_ff,
                                  spec.num_layers), seed=670 + i, call=call)
        require(model, call, "embed", nn.Embedding, f"nn.Embedding({spec.vocab_size}, {spec.d_model})")
        require_linear(model, call, "head", spec.d_model, spec.vocab_size, how="nn.Linear(d_model, vocab_size)")
        blocks = getattr(model, "blocks", None)
        if isinstance(blocks, (list, tuple)):
            raise ExerciseFailed(f"{call}: `self.blocks` is a plain Python {type(blocks).__name__}; wrap it in "
                                 "nn.ModuleList so that the blocks' weights are registered (and trained)")
        blocks = require(model, call, "blocks", nn.ModuleList, "an nn.ModuleList of EncoderBlocks")
        if len(blocks) != spec.num_layers:
            raise ExerciseFailed(f"{call}: `self.blocks` holds {len(blocks)} blocks, but num_layers={spec.num_layers}")
        tokens = torch.randint(0, spec.vocab_size, (batch, n), generator=generator(680 + i))  # (b, n)
        with isolated(0):  # the reference runs the learner's own blocks: they must work first
            try:
                blocks[0](torch.zeros(1, n, spec.d_model))
            except NotImplementedError:
                raise
            except Exception as err:
                raise ExerciseFailed(f"{call}: your EncoderBlock raised {type(err).__name__}: {err}. "
                                     "Fix the EncoderBlock exercise first") from None
        label = (f"{call} on a batch of {batch} sequences of {n} tokens"
                 + (f" (shorter than max_len={spec.max_len})" if n < spec.max_len else ""))
        cases.append(Case(label, (model, tokens, spec)))

    def wrong(**variant):
        return lambda model, tokens, spec: _model(model, tokens, spec, **variant)

    mistakes = [
        Mistake("you added no positional encoding: without it self-attention cannot tell positions apart, so "
                "no model can learn to reverse; add sinusoidal_encoding(max_len, d_model)[:n] to the "
                "embeddings", wrong(positions="none")),
        Mistake("you added the positional encoding after the blocks; it must be added to the token "
                "embeddings before the first block", wrong(positions="end")),
        Mistake("you added the whole table of max_len positions; slice it to the sequence length: "
                "positions[:n]", wrong(positions="unsliced")),
        Mistake("you applied a softmax at the end; return the logits (F.cross_entropy applies the softmax "
                "itself)", wrong(softmax=True)),
        Mistake("you scaled the embeddings by sqrt(d_model); this model adds the positional encoding to the "
                "unscaled embeddings",
                lambda model, tokens, spec: _model(model, tokens, spec, scale=spec.d_model ** 0.5)),
        Mistake("you used only the first block; the blocks run one after the other, each on the previous "
                "block's output", wrong(blocks="first")),
        Mistake("every block read the embeddings instead of the previous block's output; chain them: "
                "x = block(x)", wrong(blocks="unchained")),
    ]
    check(name, lambda model, tokens, spec: model(tokens), _model, cases, mistakes)


learner_facing(globals())
