"""Wrong answers for notebook 07 (efficient attention), each a realistic learner attempt."""

from support import WrongAnswer

WRONG_ANSWERS = [
    # loglog_slope
    WrongAnswer("loglog_slope", "slope through the two end points", '''
def loglog_slope(sizes, values):
    rise = math.log(values[-1]) - math.log(values[0])
    run = math.log(sizes[-1]) - math.log(sizes[0])
    return rise / run
''', "used only the first and last points"),
    WrongAnswer("loglog_slope", "least squares on the raw numbers", '''
def loglog_slope(sizes, values):
    x = torch.tensor(sizes, dtype=torch.float64)
    y = torch.tensor(values, dtype=torch.float64)
    dx, dy = x - x.mean(), y - y.mean()
    return ((dx * dy).sum() / (dx * dx).sum()).item()
''', "you fitted the raw numbers"),
    WrongAnswer("loglog_slope", "polyfit with the axes swapped", '''
def loglog_slope(sizes, values):
    import numpy as np
    return float(np.polyfit(np.log(values), np.log(sizes), 1)[0])
''', "you swapped the axes"),
    WrongAnswer("loglog_slope", "no intercept", '''
def loglog_slope(sizes, values):
    x = torch.tensor(sizes, dtype=torch.float64).log()
    y = torch.tensor(values, dtype=torch.float64).log()
    return ((x * y).sum() / (x * x).sum()).item()
''', "line through the origin"),
    WrongAnswer("loglog_slope", "log of the values only", '''
def loglog_slope(sizes, values):
    x = torch.tensor(sizes, dtype=torch.float64)
    y = torch.tensor(values, dtype=torch.float64).log()
    dx, dy = x - x.mean(), y - y.mean()
    return ((dx * dy).sum() / (dx * dx).sum()).item()
''', "log of the values only"),
    # online_softmax
    WrongAnswer("online_softmax", "running sum not rescaled when the max grows", '''
def online_softmax(x):
    m = torch.full(x.shape[:-1], float("-inf"))
    l = torch.zeros(x.shape[:-1])
    for j in range(x.shape[-1]):
        m_new = torch.maximum(m, x[..., j])
        shift = m_new.masked_fill(m_new == float("-inf"), 0.0)
        l = l + torch.exp(x[..., j] - shift)
        m = m_new
    shift = m.masked_fill(m == float("-inf"), 0.0)
    return (torch.exp(x - shift[..., None]) / l[..., None]).nan_to_num(0.0)
''', "forgot to rescale the running sum"),
    WrongAnswer("online_softmax", "rescaling factor upside down", '''
def online_softmax(x):
    m = torch.full(x.shape[:-1], float("-inf"))
    l = torch.zeros(x.shape[:-1])
    for j in range(x.shape[-1]):
        m_new = torch.maximum(m, x[..., j])
        shift = m_new.masked_fill(m_new == float("-inf"), 0.0)
        l = l * torch.exp(shift - m) + torch.exp(x[..., j] - shift)
        m = m_new
    shift = m.masked_fill(m == float("-inf"), 0.0)
    return torch.exp(x - shift[..., None]) / torch.where(l > 0, l, 1.0)[..., None]
''', "rescaling factor is upside down"),
    WrongAnswer("online_softmax", "exponentials kept from the pass", '''
def online_softmax(x):
    m = torch.full(x.shape[:-1], float("-inf"))
    l = torch.zeros(x.shape[:-1])
    exps = []
    for j in range(x.shape[-1]):
        m_new = torch.maximum(m, x[..., j])
        shift = m_new.masked_fill(m_new == float("-inf"), 0.0)
        l = l * torch.exp(m - shift) + torch.exp(x[..., j] - shift)
        exps.append(torch.exp(x[..., j] - shift))
        m = m_new
    l = torch.where(l > 0, l, torch.ones_like(l))
    return torch.stack(exps, dim=-1) / l[..., None]
''', "compute exp(x - final max) after the pass"),
    WrongAnswer("online_softmax", "no guard for a running max of -inf", '''
def online_softmax(x):
    m = torch.full(x.shape[:-1], float("-inf"))
    l = torch.zeros(x.shape[:-1])
    for j in range(x.shape[-1]):
        m_new = torch.maximum(m, x[..., j])
        l = l * torch.exp(m - m_new) + torch.exp(x[..., j] - m_new)
        m = m_new
    return (torch.exp(x - m[..., None]) / l[..., None]).nan_to_num(0.0)
''', "exp(-inf - (-inf)) is NaN"),
    WrongAnswer("online_softmax", "fully masked row gives NaN", '''
def online_softmax(x):
    m = torch.full(x.shape[:-1], float("-inf"))
    l = torch.zeros(x.shape[:-1])
    for j in range(x.shape[-1]):
        m_new = torch.maximum(m, x[..., j])
        shift = m_new.masked_fill(m_new == float("-inf"), 0.0)
        l = l * torch.exp(m - shift) + torch.exp(x[..., j] - shift)
        m = m_new
    shift = m.masked_fill(m == float("-inf"), 0.0)
    return torch.exp(x - shift[..., None]) / l[..., None]
''', "a row that is all -inf gives NaN"),
    WrongAnswer("online_softmax", "running max starts at 0", '''
def online_softmax(x):
    m = torch.zeros(x.shape[:-1])
    l = torch.zeros(x.shape[:-1])
    for j in range(x.shape[-1]):
        m_new = torch.maximum(m, x[..., j])
        l = l * torch.exp(m - m_new) + torch.exp(x[..., j] - m_new)
        m = m_new
    return (torch.exp(x - m[..., None]) / l[..., None]).nan_to_num(0.0)
''', "started at 0 instead of -inf"),
    WrongAnswer("online_softmax", "calls torch.softmax", '''
def online_softmax(x):
    return torch.softmax(x, dim=-1).nan_to_num(0.0)
''', "online_softmax called torch.softmax, which this exercise asks you to build yourself"),
    WrongAnswer("online_softmax", "three passes with amax and sum", '''
def online_softmax(x):
    m = x.amax(dim=-1, keepdim=True)
    m = m.masked_fill(m == float("-inf"), 0.0)
    e = torch.exp(x - m)
    return e / e.sum(dim=-1, keepdim=True).clamp(min=1e-30)
''', "maximum of whole rows at once"),
    # blockwise_attention
    WrongAnswer("blockwise_attention", "accumulator not rescaled", '''
def blockwise_attention(q, k, v, block_size, causal=False):
    n, m = q.shape[-2], k.shape[-2]
    row_max = torch.full(q.shape[:-1], float("-inf"))
    row_sum = torch.zeros(q.shape[:-1])
    acc = torch.zeros(*q.shape[:-1], v.shape[-1])
    for start in range(0, m, block_size):
        kb, vb = k[..., start:start + block_size, :], v[..., start:start + block_size, :]
        s = q @ kb.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if causal:
            key_pos = start + torch.arange(kb.shape[-2])
            s = s.masked_fill(key_pos[None, :] > torch.arange(n)[:, None], float("-inf"))
        new_max = torch.maximum(row_max, s.amax(dim=-1))
        p = torch.exp(s - new_max[..., None])
        row_sum = torch.exp(row_max - new_max) * row_sum + p.sum(dim=-1)
        acc = acc + p @ vb
        row_max = new_max
    return acc / row_sum[..., None]
''', "forgot to rescale the output accumulator"),
    WrongAnswer("blockwise_attention", "running sum not rescaled", '''
def blockwise_attention(q, k, v, block_size, causal=False):
    n, m = q.shape[-2], k.shape[-2]
    row_max = torch.full(q.shape[:-1], float("-inf"))
    row_sum = torch.zeros(q.shape[:-1])
    acc = torch.zeros(*q.shape[:-1], v.shape[-1])
    for start in range(0, m, block_size):
        kb, vb = k[..., start:start + block_size, :], v[..., start:start + block_size, :]
        s = q @ kb.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if causal:
            key_pos = start + torch.arange(kb.shape[-2])
            s = s.masked_fill(key_pos[None, :] > torch.arange(n)[:, None], float("-inf"))
        new_max = torch.maximum(row_max, s.amax(dim=-1))
        p = torch.exp(s - new_max[..., None])
        c = torch.exp(row_max - new_max)
        row_sum = row_sum + p.sum(dim=-1)
        acc = c[..., None] * acc + p @ vb
        row_max = new_max
    return acc / row_sum[..., None]
''', "forgot to rescale the running sum"),
    WrongAnswer("blockwise_attention", "divides by the running sum in every block", '''
def blockwise_attention(q, k, v, block_size, causal=False):
    n, m = q.shape[-2], k.shape[-2]
    row_max = torch.full(q.shape[:-1], float("-inf"))
    row_sum = torch.zeros(q.shape[:-1])
    out = torch.zeros(*q.shape[:-1], v.shape[-1])
    for start in range(0, m, block_size):
        kb, vb = k[..., start:start + block_size, :], v[..., start:start + block_size, :]
        s = q @ kb.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if causal:
            key_pos = start + torch.arange(kb.shape[-2])
            s = s.masked_fill(key_pos[None, :] > torch.arange(n)[:, None], float("-inf"))
        new_max = torch.maximum(row_max, s.amax(dim=-1))
        p = torch.exp(s - new_max[..., None])
        c = torch.exp(row_max - new_max)
        row_sum = c * row_sum + p.sum(dim=-1)
        out = (c[..., None] * out + p @ vb) / row_sum[..., None]
        row_max = new_max
    return out
''', "divided by the denominator inside the loop"),
    WrongAnswer("blockwise_attention", "one softmax per block", '''
def blockwise_attention(q, k, v, block_size, causal=False):
    n, m = q.shape[-2], k.shape[-2]
    out = torch.zeros(*q.shape[:-1], v.shape[-1])
    for start in range(0, m, block_size):
        kb, vb = k[..., start:start + block_size, :], v[..., start:start + block_size, :]
        s = q @ kb.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if causal:
            key_pos = start + torch.arange(kb.shape[-2])
            s = s.masked_fill(key_pos[None, :] > torch.arange(n)[:, None], float("-inf"))
        out = out + torch.softmax(s, dim=-1) @ vb
    return out
''', "separate softmax over each block"),
    WrongAnswer("blockwise_attention", "causal mask with < (a token cannot see itself)", '''
def blockwise_attention(q, k, v, block_size, causal=False):
    n, m = q.shape[-2], k.shape[-2]
    row_max = torch.full(q.shape[:-1], float("-inf"))
    row_sum = torch.zeros(q.shape[:-1])
    acc = torch.zeros(*q.shape[:-1], v.shape[-1])
    for start in range(0, m, block_size):
        kb, vb = k[..., start:start + block_size, :], v[..., start:start + block_size, :]
        s = q @ kb.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if causal:
            key_pos = start + torch.arange(kb.shape[-2])
            visible = key_pos[None, :] < torch.arange(n)[:, None]
            s = s.masked_fill(~visible, float("-inf"))
        new_max = torch.maximum(row_max, s.amax(dim=-1))
        p = torch.exp(s - new_max[..., None])
        c = torch.exp(row_max - new_max)
        row_sum = c * row_sum + p.sum(dim=-1)
        acc = c[..., None] * acc + p @ vb
        row_max = new_max
    return acc / row_sum[..., None]
''', "off by one in the causal mask"),
    WrongAnswer("blockwise_attention", "causal mask without the block offset", '''
def blockwise_attention(q, k, v, block_size, causal=False):
    n, m = q.shape[-2], k.shape[-2]
    row_max = torch.full(q.shape[:-1], float("-inf"))
    row_sum = torch.zeros(q.shape[:-1])
    acc = torch.zeros(*q.shape[:-1], v.shape[-1])
    for start in range(0, m, block_size):
        kb, vb = k[..., start:start + block_size, :], v[..., start:start + block_size, :]
        s = q @ kb.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if causal:
            key_pos = torch.arange(kb.shape[-2])
            s = s.masked_fill(key_pos[None, :] > torch.arange(n)[:, None], float("-inf"))
        new_max = torch.maximum(row_max, s.amax(dim=-1))
        p = torch.exp(s - new_max[..., None])
        c = torch.exp(row_max - new_max)
        row_sum = c * row_sum + p.sum(dim=-1)
        acc = c[..., None] * acc + p @ vb
        row_max = new_max
    return acc / row_sum[..., None]
''', "ignores the block's offset"),
    WrongAnswer("blockwise_attention", "last partial block skipped", '''
def blockwise_attention(q, k, v, block_size, causal=False):
    n, m = q.shape[-2], k.shape[-2]
    row_max = torch.full(q.shape[:-1], float("-inf"))
    row_sum = torch.zeros(q.shape[:-1])
    acc = torch.zeros(*q.shape[:-1], v.shape[-1])
    for b in range(m // block_size):
        start = b * block_size
        kb, vb = k[..., start:start + block_size, :], v[..., start:start + block_size, :]
        s = q @ kb.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if causal:
            key_pos = start + torch.arange(kb.shape[-2])
            s = s.masked_fill(key_pos[None, :] > torch.arange(n)[:, None], float("-inf"))
        new_max = torch.maximum(row_max, s.amax(dim=-1))
        p = torch.exp(s - new_max[..., None])
        c = torch.exp(row_max - new_max)
        row_sum = c * row_sum + p.sum(dim=-1)
        acc = c[..., None] * acc + p @ vb
        row_max = new_max
    return acc / row_sum[..., None]
''', "the last, shorter block is skipped"),
    WrongAnswer("blockwise_attention", "blockwise running max starts at 0", '''
def blockwise_attention(q, k, v, block_size, causal=False):
    n, m = q.shape[-2], k.shape[-2]
    row_max = torch.zeros(q.shape[:-1])
    row_sum = torch.zeros(q.shape[:-1])
    acc = torch.zeros(*q.shape[:-1], v.shape[-1])
    for start in range(0, m, block_size):
        kb, vb = k[..., start:start + block_size, :], v[..., start:start + block_size, :]
        s = q @ kb.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if causal:
            key_pos = start + torch.arange(kb.shape[-2])
            s = s.masked_fill(key_pos[None, :] > torch.arange(n)[:, None], float("-inf"))
        new_max = torch.maximum(row_max, s.amax(dim=-1))
        p = torch.exp(s - new_max[..., None])
        c = torch.exp(row_max - new_max)
        row_sum = c * row_sum + p.sum(dim=-1)
        acc = c[..., None] * acc + p @ vb
        row_max = new_max
    return acc / row_sum[..., None]
''', "started at 0 instead of -inf"),
    WrongAnswer("blockwise_attention", "full score matrix computed first", '''
def blockwise_attention(q, k, v, block_size, causal=False):
    n, m = q.shape[-2], k.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        scores = scores.masked_fill(~torch.ones(n, m, dtype=torch.bool).tril(), float("-inf"))
    row_max = torch.full(q.shape[:-1], float("-inf"))
    row_sum = torch.zeros(q.shape[:-1])
    acc = torch.zeros(*q.shape[:-1], v.shape[-1])
    for start in range(0, m, block_size):
        s = scores[..., start:start + block_size]
        new_max = torch.maximum(row_max, s.amax(dim=-1))
        p = torch.exp(s - new_max[..., None])
        c = torch.exp(row_max - new_max)
        row_sum = c * row_sum + p.sum(dim=-1)
        acc = c[..., None] * acc + p @ v[..., start:start + block_size, :]
        row_max = new_max
    return acc / row_sum[..., None]
''', "as large as the whole (n, m) score matrix"),
    WrongAnswer("blockwise_attention", "full causal mask built up front", '''
def blockwise_attention(q, k, v, block_size, causal=False):
    n, m = q.shape[-2], k.shape[-2]
    allowed = torch.ones(n, m, dtype=torch.bool).tril()
    row_max = torch.full(q.shape[:-1], float("-inf"))
    row_sum = torch.zeros(q.shape[:-1])
    acc = torch.zeros(*q.shape[:-1], v.shape[-1])
    for start in range(0, m, block_size):
        kb, vb = k[..., start:start + block_size, :], v[..., start:start + block_size, :]
        s = q @ kb.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if causal:
            s = s.masked_fill(~allowed[:, start:start + block_size], float("-inf"))
        new_max = torch.maximum(row_max, s.amax(dim=-1))
        p = torch.exp(s - new_max[..., None])
        c = torch.exp(row_max - new_max)
        row_sum = c * row_sum + p.sum(dim=-1)
        acc = c[..., None] * acc + p @ vb
        row_max = new_max
    return acc / row_sum[..., None]
''', "as large as the whole (n, m) score matrix"),
    # decode_step
    WrongAnswer("decode_step", "cache grown on the batch axis", '''
def decode_step(x_t, k_cache, v_cache, w_q, w_k, w_v):
    q = x_t @ w_q
    k_cache = torch.cat([k_cache, x_t @ w_k], dim=0)
    v_cache = torch.cat([v_cache, x_t @ w_v], dim=0)
    return scaled_dot_product_attention(q, k_cache, v_cache), k_cache, v_cache
''', "the cache grew on the wrong axis"),
    WrongAnswer("decode_step", "cache grown on the feature axis", '''
def decode_step(x_t, k_cache, v_cache, w_q, w_k, w_v):
    q = x_t @ w_q
    k_cache = torch.cat([k_cache, x_t @ w_k], dim=2)
    v_cache = torch.cat([v_cache, x_t @ w_v], dim=2)
    return scaled_dot_product_attention(q, k_cache, v_cache), k_cache, v_cache
''', "the cache grew on the wrong axis"),
    WrongAnswer("decode_step", "attends before appending", '''
def decode_step(x_t, k_cache, v_cache, w_q, w_k, w_v):
    out = scaled_dot_product_attention(x_t @ w_q, k_cache, v_cache)
    k_cache = torch.cat([k_cache, x_t @ w_k], dim=1)
    v_cache = torch.cat([v_cache, x_t @ w_v], dim=1)
    return out, k_cache, v_cache
''', "you attended before appending"),
    WrongAnswer("decode_step", "old caches returned", '''
def decode_step(x_t, k_cache, v_cache, w_q, w_k, w_v):
    keys = torch.cat([k_cache, x_t @ w_k], dim=1)
    values = torch.cat([v_cache, x_t @ w_v], dim=1)
    return scaled_dot_product_attention(x_t @ w_q, keys, values), k_cache, v_cache
''', "you returned the old caches"),
    WrongAnswer("decode_step", "inputs cached instead of keys and values", '''
def decode_step(x_t, k_cache, v_cache, w_q, w_k, w_v):
    k_cache = torch.cat([k_cache, x_t], dim=1)
    v_cache = torch.cat([v_cache, x_t], dim=1)
    out = scaled_dot_product_attention(x_t @ w_q, k_cache @ w_k, v_cache @ w_v)
    return out, k_cache, v_cache
''', "you stored the token's input x_t in the caches"),
    WrongAnswer("decode_step", ".T on the batched cache", '''
def decode_step(x_t, k_cache, v_cache, w_q, w_k, w_v):
    q_t = x_t @ w_q
    k_cache = torch.cat([k_cache, x_t @ w_k], dim=1)
    v_cache = torch.cat([v_cache, x_t @ w_v], dim=1)
    weights = torch.softmax(q_t @ k_cache.T / math.sqrt(q_t.shape[-1]), dim=-1)
    return weights @ v_cache, k_cache, v_cache
''', "reverses all three axes"),
    WrongAnswer("decode_step", "full causal mask on one query", '''
def decode_step(x_t, k_cache, v_cache, w_q, w_k, w_v):
    k_cache = torch.cat([k_cache, x_t @ w_k], dim=1)
    v_cache = torch.cat([v_cache, x_t @ w_v], dim=1)
    mask = causal_mask(k_cache.shape[1])
    return scaled_dot_product_attention(x_t @ w_q, k_cache, v_cache, mask), k_cache, v_cache
''', "causal mask to a single query"),
]

# Source 000's worked example (3 tokens) decoded one token at a time: the last token sees all three,
# so its output is the last row of the source's scaled attention; the first token sees only itself.
WORKED_EXAMPLES = {
    "online_softmax(torch.tensor([1.0, 2.0, 3.0]))": [0.0900306, 0.2447285, 0.6652410],
    "loglog_slope([1, 2, 4, 8], [3, 12, 48, 192])": 2.0,
    "decoded_example[0, 2]": [1.9926, 7.4796, 0.7359],
    "decoded_example[0, 0]": [1.0, 2.0, 3.0],
    "memory_slope_naive": 2.0,
    "memory_slope_sdpa": 1.0,
    "memory_slope_blockwise": 1.0,
    "kv_cache_bytes": 2147483648,
}

# Forbidden calls (issue 16): the course's own code, and the built-ins an exercise asks the learner to
# rebuild, lose the exercise's marks with a message naming the call.
WRONG_ANSWERS += [
    WrongAnswer("loglog_slope", "loglog_slope: the check's reference assigned", '''
loglog_slope = check._slope
''', "loglog_slope called autograder.checks.efficient_attention._slope, the course's own code"),
    WrongAnswer("online_softmax", "online_softmax: torch.special.softmax", '''
def online_softmax(x):
    return torch.special.softmax(x, dim=-1).nan_to_num(0.0)
''', "online_softmax called torch.special.softmax, which this exercise asks you to build yourself"),
    WrongAnswer("online_softmax", "online_softmax: the check's reference assigned", '''
online_softmax = check._softmax
''', "online_softmax called autograder.checks.efficient_attention._softmax, the course's own code"),
    WrongAnswer("blockwise_attention", "blockwise_attention: calls F.scaled_dot_product_attention", '''
def blockwise_attention(q, k, v, block_size, causal=False):
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
''', "blockwise_attention called F.scaled_dot_product_attention, which this exercise asks you to build yourself"),
    WrongAnswer("blockwise_attention", "blockwise_attention: calls the imported attention", '''
def blockwise_attention(q, k, v, block_size, causal=False):
    mask = causal_mask(q.shape[-2]) if causal else None
    return attention(q, k, v, mask)[0]
''', "blockwise_attention called autograder.blocks.attention, the course's own code"),
    WrongAnswer("decode_step", "decode_step: calls the check's reference", '''
def decode_step(x_t, k_cache, v_cache, w_q, w_k, w_v):
    return check._step(x_t, k_cache, v_cache, w_q, w_k, w_v)
''', "decode_step called autograder.checks.efficient_attention._step, the course's own code"),
]

# Right answers in other styles: each must get full marks under both graders.
from alternatives import CorrectAnswer  # noqa: E402

CORRECT_ANSWERS = [
    CorrectAnswer("loglog_slope", "numpy.polyfit on the logs", '''
def loglog_slope(sizes, values):
    import numpy as np
    return float(np.polyfit(np.log(sizes), np.log(values), 1)[0])
'''),
    CorrectAnswer("loglog_slope", "plain Python sums, log base 2", '''
def loglog_slope(sizes, values):
    xs = [math.log2(s) for s in sizes]
    ys = [math.log2(v) for v in values]
    k = len(xs)
    x_bar, y_bar = sum(xs) / k, sum(ys) / k
    num = sum((x - x_bar) * (y - y_bar) for x, y in zip(xs, ys))
    return num / sum((x - x_bar) ** 2 for x in xs)
'''),
    CorrectAnswer("online_softmax", "torch.where guards, logaddexp-free", '''
def online_softmax(x):
    m = torch.full(x.shape[:-1], float("-inf"), dtype=x.dtype)
    s = torch.zeros(x.shape[:-1], dtype=x.dtype)
    for j in range(x.shape[-1]):
        xj = x[..., j]
        m_new = torch.maximum(m, xj)
        safe = torch.where(torch.isinf(m_new) & (m_new < 0), torch.zeros_like(m_new), m_new)
        s = s * torch.exp(m - safe) + torch.exp(xj - safe)
        m = m_new
    safe = torch.where(torch.isinf(m) & (m < 0), torch.zeros_like(m), m)
    return torch.exp(x - safe.unsqueeze(-1)) / torch.where(s == 0, torch.ones_like(s), s).unsqueeze(-1)
'''),
    CorrectAnswer("online_softmax", "rows flattened, one Python loop per entry", '''
def online_softmax(x):
    rows = x.reshape(-1, x.shape[-1])
    m = torch.full((rows.shape[0],), float("-inf"), dtype=x.dtype)
    s = torch.zeros(rows.shape[0], dtype=x.dtype)
    for j in range(rows.shape[1]):
        col = rows[:, j]
        m_new = torch.maximum(m, col)
        shift = m_new.nan_to_num(neginf=0.0)
        s = s * (m - shift).exp() + (col - shift).exp()
        m = m_new
    out = (rows - m.nan_to_num(neginf=0.0)[:, None]).exp() / s.clamp_min(1e-38)[:, None]
    out = torch.where(s[:, None] > 0, out, torch.zeros_like(out))
    return out.reshape(x.shape)
'''),
    CorrectAnswer("blockwise_attention", "einsum, causal blocks masked with torch.where", '''
def blockwise_attention(q, k, v, block_size, causal=False):
    n, m = q.shape[-2], k.shape[-2]
    scale = q.shape[-1] ** -0.5
    m_i = q.new_full(q.shape[:-1], float("-inf"))
    l_i = q.new_zeros(q.shape[:-1])
    acc = q.new_zeros(*q.shape[:-1], v.shape[-1])
    rows = torch.arange(n)[:, None]
    for start in range(0, m, block_size):
        kb, vb = k[..., start:start + block_size, :], v[..., start:start + block_size, :]
        s = torch.einsum("...nd,...bd->...nb", q, kb) * scale
        if causal:
            cols = torch.arange(start, start + kb.shape[-2])[None, :]
            s = torch.where(cols <= rows, s, torch.full_like(s, float("-inf")))
        m_new = torch.maximum(m_i, s.amax(-1))
        p = torch.exp(s - m_new[..., None])
        c = torch.exp(m_i - m_new)
        l_i = l_i * c + p.sum(-1)
        acc = acc * c[..., None] + torch.einsum("...nb,...bd->...nd", p, vb)
        m_i = m_new
    return acc / l_i[..., None]
'''),
    CorrectAnswer("blockwise_attention", "k.split into blocks, running log-sum-exp", '''
def blockwise_attention(q, k, v, block_size, causal=False):
    n = q.shape[-2]
    lse = torch.full(q.shape[:-1], float("-inf"), dtype=q.dtype)
    out = torch.zeros(*q.shape[:-1], v.shape[-1], dtype=q.dtype)
    start = 0
    for kb, vb in zip(k.split(block_size, dim=-2), v.split(block_size, dim=-2)):
        s = q @ kb.transpose(-2, -1) / math.sqrt(q.shape[-1])
        if causal:
            keys = start + torch.arange(kb.shape[-2])
            s = s.masked_fill(keys[None, :] > torch.arange(n)[:, None], float("-inf"))
        block_lse = torch.logsumexp(s, dim=-1)
        new_lse = torch.logaddexp(lse, block_lse)
        out = out * torch.exp(lse - new_lse)[..., None] + torch.exp(s - new_lse[..., None]) @ vb
        lse = new_lse
        start += kb.shape[-2]
    return out
'''),
    CorrectAnswer("decode_step", "dim=-2 and F.scaled_dot_product_attention", '''
def decode_step(x_t, k_cache, v_cache, w_q, w_k, w_v):
    k_cache = torch.cat((k_cache, x_t @ w_k), dim=-2)
    v_cache = torch.cat((v_cache, x_t @ w_v), dim=-2)
    return F.scaled_dot_product_attention(x_t @ w_q, k_cache, v_cache), k_cache, v_cache
'''),
    CorrectAnswer("decode_step", "einsum and a manual softmax", '''
def decode_step(x_t, k_cache, v_cache, w_q, w_k, w_v):
    q = torch.einsum("bnd,dk->bnk", x_t, w_q)
    k_cache = torch.cat([k_cache, torch.einsum("bnd,dk->bnk", x_t, w_k)], dim=1)
    v_cache = torch.cat([v_cache, torch.einsum("bnd,dv->bnv", x_t, w_v)], dim=1)
    scores = torch.einsum("bqk,btk->bqt", q, k_cache) / math.sqrt(q.shape[-1])
    weights = torch.exp(scores - scores.amax(-1, keepdim=True))
    weights = weights / weights.sum(-1, keepdim=True)
    return torch.einsum("bqt,btv->bqv", weights, v_cache), k_cache, v_cache
'''),
]
