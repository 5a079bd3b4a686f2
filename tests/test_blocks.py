"""The learner library (`autograder.blocks`) against PyTorch's own layers, over the shape regimes
the notebooks use: unbatched, batched, multi-head, n != m, d_k != d_v, boolean and causal masks.
The checks use these blocks as references, so a bug here would pass wrong answers."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.blocks import (
    GPTBlock,
    MultiHeadAttention,
    attention,
    causal_mask,
    merge_heads,
    scaled_dot_product_attention,
    sinusoidal_encoding,
    split_heads,
)

TOLERANCE = {"atol": 1e-5, "rtol": 1e-4}  # float32, different summation orders


def randn(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def random_mask(*shape, seed):
    """A boolean mask, True = may attend, with at least one key allowed in every row."""
    mask = torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) < 0.6
    mask[..., 0] = True
    return mask


# ---------------------------------------------------------------- attention
# (q shape, k shape, v shape): the leading axes are whatever the notebooks put in front of (n, d).
SHAPES = {
    "unbatched, n = m, d_k = d_v": ((5, 4), (5, 4), (5, 4)),
    "unbatched, n != m, d_k != d_v": ((3, 8), (7, 8), (7, 2)),
    "batched (b, n, d_k)": ((2, 5, 4), (2, 6, 4), (2, 6, 3)),
    "multi-head (b, h, n, d_head)": ((2, 3, 4, 6), (2, 3, 9, 6), (2, 3, 9, 6)),
    "multi-head, one query (decoding)": ((2, 4, 1, 8), (2, 4, 7, 8), (2, 4, 7, 5)),
}


@pytest.mark.parametrize("label", SHAPES)
def test_attention_matches_pytorch_without_a_mask(label):
    q_shape, k_shape, v_shape = SHAPES[label]
    q, k, v = randn(*q_shape, seed=1), randn(*k_shape, seed=2), randn(*v_shape, seed=3)
    out, weights = attention(q, k, v)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v), **TOLERANCE)
    exact = torch.softmax(q.double() @ k.double().transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
    torch.testing.assert_close(weights, exact.float(), **TOLERANCE)
    assert out.shape == (*q_shape[:-1], v_shape[-1]) and weights.shape == (*q_shape[:-1], k_shape[-2])
    torch.testing.assert_close(scaled_dot_product_attention(q, k, v), out, atol=0, rtol=0)


@pytest.mark.parametrize("label", SHAPES)
def test_attention_matches_pytorch_with_a_boolean_mask(label):
    q_shape, k_shape, v_shape = SHAPES[label]
    q, k, v = randn(*q_shape, seed=4), randn(*k_shape, seed=5), randn(*v_shape, seed=6)
    mask = random_mask(*q_shape[:-1], k_shape[-2], seed=7)  # (..., n, m)
    out, weights = attention(q, k, v, mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), **TOLERANCE)
    assert bool((weights[~mask] == 0).all())
    torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1]), **TOLERANCE)


def test_a_padding_mask_broadcasts_over_heads_and_queries():
    q, k, v = randn(2, 3, 4, 6, seed=8), randn(2, 3, 5, 6, seed=9), randn(2, 3, 5, 2, seed=10)
    padding = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])[:, None, None, :]  # (b, 1, 1, m)
    out, weights = attention(q, k, v, padding)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=padding), **TOLERANCE)
    assert bool((weights[1, :, :, 3:] == 0).all())


@pytest.mark.parametrize("shape", [(6, 4), (2, 6, 4), (2, 3, 6, 4)])
def test_a_causal_mask_gives_pytorchs_is_causal(shape):
    q, k, v = randn(*shape, seed=11), randn(*shape, seed=12), randn(*shape, seed=13)
    n = shape[-2]
    out, weights = attention(q, k, v, causal_mask(n))
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True), **TOLERANCE)
    assert bool((weights.triu(1) == 0).all())  # nothing above the diagonal: no token sees the future


def test_a_fully_masked_row_gives_zeros_not_nan():
    q, k, v = randn(2, 4, 3, seed=14), randn(2, 5, 3, seed=15), randn(2, 5, 2, seed=16)
    mask = random_mask(2, 4, 5, seed=17)
    mask[0, 2] = False  # query 2 of the first sequence may attend to no key
    out, weights = attention(q, k, v, mask)
    assert not bool(out.isnan().any()) and not bool(weights.isnan().any())
    assert bool((out[0, 2] == 0).all()) and bool((weights[0, 2] == 0).all())
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    keep = torch.ones(2, 4, dtype=torch.bool)
    keep[0, 2] = False
    torch.testing.assert_close(out[keep], theirs[keep], **TOLERANCE)  # every other row as PyTorch


# ---------------------------------------------------------------- causal_mask
@pytest.mark.parametrize("n", [1, 2, 5])
def test_causal_mask_lets_token_i_see_tokens_0_to_i(n):
    mask = causal_mask(n)
    assert mask.dtype == torch.bool and mask.shape == (n, n)
    for i in range(n):
        for j in range(n):
            assert bool(mask[i, j]) == (j <= i)


# ---------------------------------------------------------------- split_heads / merge_heads
@pytest.mark.parametrize("b, n, d_model, h", [(1, 3, 8, 2), (2, 5, 12, 3), (3, 4, 8, 4), (2, 3, 6, 6), (2, 4, 6, 1)])
def test_split_heads_gives_head_i_its_own_block_of_features_and_merge_heads_undoes_it(b, n, d_model, h):
    x = randn(b, n, d_model, seed=18)
    heads = split_heads(x, h)
    d_head = d_model // h
    assert heads.shape == (b, h, n, d_head)
    for i in range(h):
        assert torch.equal(heads[:, i], x[..., i * d_head:(i + 1) * d_head])
    assert torch.equal(merge_heads(heads), x)
    assert torch.equal(merge_heads(heads.contiguous()), x)
    y = randn(b, h, n, d_head, seed=19)
    assert torch.equal(split_heads(merge_heads(y), h), y)


# ---------------------------------------------------------------- MultiHeadAttention
def torch_copy(ours):
    """nn.MultiheadAttention(batch_first=True) holding our module's weights."""
    d_model, kdim, vdim = ours.w_q.out_features, ours.w_k.in_features, ours.w_v.in_features
    theirs = nn.MultiheadAttention(d_model, ours.num_heads, batch_first=True, kdim=kdim, vdim=vdim)
    with torch.no_grad():
        if theirs.in_proj_weight is not None:  # kdim == vdim == d_model: one stacked matrix
            theirs.in_proj_weight.copy_(torch.cat([ours.w_q.weight, ours.w_k.weight, ours.w_v.weight]))
        else:
            theirs.q_proj_weight.copy_(ours.w_q.weight)
            theirs.k_proj_weight.copy_(ours.w_k.weight)
            theirs.v_proj_weight.copy_(ours.w_v.weight)
        theirs.in_proj_bias.copy_(torch.cat([ours.w_q.bias, ours.w_k.bias, ours.w_v.bias]))
        theirs.out_proj.weight.copy_(ours.w_o.weight)
        theirs.out_proj.bias.copy_(ours.w_o.bias)
    return theirs.eval()


def torch_mask(mask, b, h, n, m):
    """Our mask (True = may attend, broadcastable to (b, h, n, m)) in nn.MultiheadAttention's
    convention: boolean, True = may NOT attend, shape (b * h, n, m)."""
    return ~mask.expand(b, h, n, m).reshape(b * h, n, m)


# label: (d_model, h, kdim, vdim, n, m, cross)
MHA_CASES = {
    "self-attention, d_model=8, 2 heads": (8, 2, None, None, 4, 4, False),
    "cross-attention, 3 queries, 5 keys, 4 heads": (8, 4, None, None, 3, 5, True),
    "cross-attention with kdim=6, vdim=10": (12, 3, 6, 10, 4, 5, True),
    "one head": (6, 1, None, None, 4, 6, True),
    "heads of one feature": (4, 4, None, None, 3, 5, True),
}


def mha_inputs(d_model, kdim, vdim, n, m, cross, seed):
    query = randn(2, n, d_model, seed=seed)  # (b, n, d_model)
    key = randn(2, m, kdim or d_model, seed=seed + 1) if cross else query  # (b, m, kdim)
    value = randn(2, m, vdim or d_model, seed=seed + 2) if cross else query  # (b, m, vdim)
    return query, key, value


@pytest.mark.parametrize("label", MHA_CASES)
def test_multi_head_attention_matches_torch_nn_multiheadattention(label):
    d_model, h, kdim, vdim, n, m, cross = MHA_CASES[label]
    torch.manual_seed(20)
    ours = MultiHeadAttention(d_model, h, kdim=kdim, vdim=vdim)
    theirs = torch_copy(ours)
    query, key, value = mha_inputs(d_model, kdim, vdim, n, m, cross, seed=21)
    with torch.no_grad():
        got = ours(query, key, value)  # (b, n, d_model)
        expected, their_weights = theirs(query, key, value, average_attn_weights=False)
    torch.testing.assert_close(got, expected, **TOLERANCE)
    torch.testing.assert_close(ours.last_weights, their_weights, **TOLERANCE)  # (b, h, n, m)


@pytest.mark.parametrize("label", MHA_CASES)
def test_multi_head_attention_masks_mean_the_opposite_of_torchs(label):
    d_model, h, kdim, vdim, n, m, cross = MHA_CASES[label]
    torch.manual_seed(22)
    ours = MultiHeadAttention(d_model, h, kdim=kdim, vdim=vdim)
    theirs = torch_copy(ours)
    query, key, value = mha_inputs(d_model, kdim, vdim, n, m, cross, seed=23)
    padding = torch.tensor([[True] * m, [True] * (m - 2) + [False] * 2])[:, None, None, :]  # (b, 1, 1, m)
    masks = {"padding (b, 1, 1, m)": padding,
             "one (n, m) mask for everyone": random_mask(n, m, seed=24),
             "per item and head (b, h, n, m)": random_mask(2, h, n, m, seed=25)}
    if n == m:
        masks["causal & padding (b, 1, n, n)"] = causal_mask(n) & padding
    for name, mask in masks.items():
        with torch.no_grad():
            got = ours(query, key, value, mask)
            expected = theirs(query, key, value, attn_mask=torch_mask(mask, 2, h, n, m), need_weights=False)[0]
            unconverted = theirs(query, key, value, attn_mask=torch_mask(~mask, 2, h, n, m), need_weights=False)[0]
        torch.testing.assert_close(got, expected, **TOLERANCE, msg=name)
        assert not torch.allclose(got, unconverted, **TOLERANCE), name  # passing it unconverted is wrong


def test_multi_head_attention_key_padding_agrees_with_torchs_key_padding_mask():
    torch.manual_seed(26)
    ours = MultiHeadAttention(8, 2)
    theirs = torch_copy(ours)
    query, key, value = mha_inputs(8, None, None, 3, 5, True, seed=27)
    real = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])  # (b, m), True = a real key
    with torch.no_grad():
        got = ours(query, key, value, real[:, None, None, :])
        expected = theirs(query, key, value, key_padding_mask=~real, need_weights=False)[0]
    torch.testing.assert_close(got, expected, **TOLERANCE)


def test_multi_head_attention_with_a_fully_masked_query_gives_w_o_bias_not_nan():
    torch.manual_seed(28)
    ours = MultiHeadAttention(8, 2)
    query, key, value = mha_inputs(8, None, None, 3, 5, True, seed=29)
    mask = torch.ones(2, 1, 3, 5, dtype=torch.bool)
    mask[1, :, 0] = False  # query 0 of the second sequence attends to nothing
    with torch.no_grad():
        out = ours(query, key, value, mask)
    assert not bool(out.isnan().any())
    torch.testing.assert_close(out[1, 0], ours.w_o.bias.detach(), **TOLERANCE)  # zero heads, then w_o


# ---------------------------------------------------------------- sinusoidal_encoding
def formula(n, d_model):
    """PE[t, 2i] = sin(t / 10000^(2i/d_model)), PE[t, 2i+1] = cos(t / 10000^(2i/d_model)), in float64."""
    table = torch.empty(n, d_model, dtype=torch.float64)
    for t in range(n):
        for i in range(d_model // 2):
            angle = t / 10000.0 ** (2 * i / d_model)
            table[t, 2 * i], table[t, 2 * i + 1] = math.sin(angle), math.cos(angle)
    return table


@pytest.mark.parametrize("n, d_model", [(1, 2), (4, 4), (7, 6), (50, 16), (200, 64), (400, 64)])
def test_sinusoidal_encoding_matches_the_formula(n, d_model):
    table = sinusoidal_encoding(n, d_model)
    assert table.dtype == torch.float32 and table.shape == (n, d_model)
    # float32 angles up to ~400 rad carry an absolute error of ~1e-5, so do the sines and cosines
    torch.testing.assert_close(table.double(), formula(n, d_model), atol=1e-4, rtol=0)


# ---------------------------------------------------------------- decoder block (notebook 08)
def test_gpt_block_is_a_pre_ln_encoder_layer_with_a_causal_mask():
    torch.manual_seed(0)
    block = GPTBlock(16, 4, 40).eval()
    layer = nn.TransformerEncoderLayer(16, 4, dim_feedforward=40, dropout=0.0, norm_first=True,
                                       batch_first=True).eval()
    with torch.no_grad():
        attn = block.self_attn
        layer.self_attn.in_proj_weight.copy_(torch.cat([attn.w_q.weight, attn.w_k.weight, attn.w_v.weight]))
        layer.self_attn.in_proj_bias.copy_(torch.cat([attn.w_q.bias, attn.w_k.bias, attn.w_v.bias]))
        layer.self_attn.out_proj.load_state_dict(attn.w_o.state_dict())
        for name in ("norm1", "norm2", "linear1", "linear2"):
            getattr(layer, name).load_state_dict(getattr(block, name).state_dict())
        x = randn(2, 7, 16, seed=80)
        ours = block(x, causal_mask(7))
        theirs = layer(x, src_mask=~causal_mask(7))  # PyTorch: True = may NOT attend
    assert torch.allclose(ours, theirs, **TOLERANCE)
    assert block.self_attn.last_weights.shape == (2, 4, 7, 7)
    assert torch.all(block.self_attn.last_weights[..., 0, 1:] == 0)
