"""Wrong answers for notebook 05 (positional encoding), each a realistic learner attempt."""

from support import WrongAnswer

WRONG_ANSWERS = [
    # permute_tokens
    WrongAnswer("permute_tokens", "permuted the feature axis", '''
def permute_tokens(x, perm):
    return x[..., perm]
''', "permuted the feature axis"),
    WrongAnswer("permute_tokens", "inverse permutation by scattering", '''
def permute_tokens(x, perm):
    out = torch.empty_like(x)
    out[..., perm, :] = x
    return out
''', "inverse permutation"),
    WrongAnswer("permute_tokens", "transposed permutation matrix (inverse)", '''
def permute_tokens(x, perm):
    P = torch.eye(len(perm))[perm]  # one-hot rows
    return P.T @ x
''', "inverse permutation"),
    WrongAnswer("permute_tokens", "indexes the first axis (batch axis in a batch)", '''
def permute_tokens(x, perm):
    return x[perm]
''', "permuted the first axis"),
    WrongAnswer("permute_tokens", "x[:, perm] (features for 2-D input)", '''
def permute_tokens(x, perm):
    return x[:, perm]
''', "indexed axis 1 (x[:, perm])"),
    # sinusoidal_encoding
    WrongAnswer("sinusoidal_encoding", "column index in the exponent", '''
def sinusoidal_encoding(num_positions, dim):
    pos = torch.arange(num_positions).unsqueeze(1).float()
    j = torch.arange(dim).float()
    angles = pos / 10000 ** (j / dim)
    pe = torch.zeros(num_positions, dim)
    pe[:, 0::2] = torch.sin(angles[:, 0::2])
    pe[:, 1::2] = torch.cos(angles[:, 1::2])
    return pe
''', "column index j in the exponent"),
    WrongAnswer("sinusoidal_encoding", "exponent i/dim (factor 2 forgotten)", '''
def sinusoidal_encoding(num_positions, dim):
    pos = torch.arange(num_positions, dtype=torch.float32)[:, None]
    i = torch.arange(dim // 2, dtype=torch.float32)
    angles = pos / 10000 ** (i / dim)
    pe = torch.zeros(num_positions, dim)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe
''', "10000^(i/dim) with i the pair index"),
    WrongAnswer("sinusoidal_encoding", "sin and cos swapped", '''
def sinusoidal_encoding(num_positions, dim):
    pos = torch.arange(num_positions, dtype=torch.float32)[:, None]
    freq = 1.0 / 10000 ** (torch.arange(0, dim, 2).float() / dim)
    pe = torch.zeros(num_positions, dim)
    pe[:, 0::2] = torch.cos(pos * freq)
    pe[:, 1::2] = torch.sin(pos * freq)
    return pe
''', "swapped sin and cos"),
    WrongAnswer("sinusoidal_encoding", "all sines then all cosines", '''
def sinusoidal_encoding(num_positions, dim):
    pos = torch.arange(num_positions, dtype=torch.float32)[:, None]
    freq = 1.0 / 10000 ** (torch.arange(0, dim, 2).float() / dim)
    angles = pos * freq
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
''', "all the sines first"),
    WrongAnswer("sinusoidal_encoding", "integer division in the exponent", '''
def sinusoidal_encoding(num_positions, dim):
    pos = torch.arange(num_positions)[:, None]
    i = torch.arange(dim // 2)
    angles = pos / 10000 ** (2 * i // dim)
    pe = torch.zeros(num_positions, dim)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe
''', "integer division made the exponent 0"),
    WrongAnswer("sinusoidal_encoding", "integer table (new_zeros of int positions)", '''
def sinusoidal_encoding(num_positions, dim):
    pos = torch.arange(num_positions)[:, None]
    freq = 10000 ** (-torch.arange(0, dim, 2) / dim)
    pe = pos.new_zeros(num_positions, dim)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe
''', "the result has dtype torch.int64, but it should be torch.float32"),
    WrongAnswer("sinusoidal_encoding", "base 1000", '''
def sinusoidal_encoding(num_positions, dim):
    pos = torch.arange(num_positions, dtype=torch.float32)[:, None]
    freq = 1000.0 ** (-torch.arange(0, dim, 2).float() / dim)
    pe = torch.zeros(num_positions, dim)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe
''', "base 1000"),
    WrongAnswer("sinusoidal_encoding", "positions start at 1", '''
def sinusoidal_encoding(num_positions, dim):
    pos = torch.arange(1, num_positions + 1, dtype=torch.float32)[:, None]
    freq = 10000.0 ** (-torch.arange(0, dim, 2).float() / dim)
    pe = torch.zeros(num_positions, dim)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe
''', "positions start at 1"),
    WrongAnswer("sinusoidal_encoding", "multiplied by 10000^(2i/dim)", '''
def sinusoidal_encoding(num_positions, dim):
    pos = torch.arange(num_positions, dtype=torch.float32)[:, None]
    angles = pos * 10000.0 ** (torch.arange(0, dim, 2).float() / dim)
    pe = torch.zeros(num_positions, dim)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe
''', "multiplied by 10000^(2i/dim) instead of dividing"),
    # shift_matrix
    WrongAnswer("shift_matrix", "rotation in the wrong direction", '''
def shift_matrix(k, dim):
    blocks = []
    for i in range(dim // 2):
        theta = k / 10000 ** (2 * i / dim)
        c, s = math.cos(theta), math.sin(theta)
        blocks.append(torch.tensor([[c, s], [-s, c]]))
    return torch.block_diag(*blocks)
''', "rotate the wrong way"),
    WrongAnswer("shift_matrix", "frequency 10000^(i/dim)", '''
def shift_matrix(k, dim):
    blocks = []
    for i in range(dim // 2):
        theta = k / 10000 ** (i / dim)
        c, s = math.cos(theta), math.sin(theta)
        blocks.append(torch.tensor([[c, -s], [s, c]]))
    return torch.block_diag(*blocks)
''', "you used 10000^(i/dim)"),
    WrongAnswer("shift_matrix", "frequency 10000^(4i/dim) from doubling arange(0, dim, 2)", '''
def shift_matrix(k, dim):
    theta = k / 10000 ** (2 * torch.arange(0, dim, 2) / dim)
    M = torch.zeros(dim, dim)
    for i in range(dim // 2):
        M[2 * i, 2 * i] = torch.cos(theta[i])
        M[2 * i, 2 * i + 1] = -torch.sin(theta[i])
        M[2 * i + 1, 2 * i] = torch.sin(theta[i])
        M[2 * i + 1, 2 * i + 1] = torch.cos(theta[i])
    return M
''', "doubled the pair index twice"),
    WrongAnswer("shift_matrix", "same angle k for every block", '''
def shift_matrix(k, dim):
    c, s = math.cos(k), math.sin(k)
    return torch.block_diag(*[torch.tensor([[c, -s], [s, c]])] * (dim // 2))
''', "every block rotates by the same angle k"),
    WrongAnswer("shift_matrix", "layout for a [sines | cosines] table", '''
def shift_matrix(k, dim):
    theta = k * 10000.0 ** (-torch.arange(0, dim, 2).float() / dim)
    C, S = torch.diag(torch.cos(theta)), torch.diag(torch.sin(theta))
    return torch.cat([torch.cat([C, -S], dim=1), torch.cat([S, C], dim=1)], dim=0)
''', "[all sines | all cosines]"),
    # min_pairwise_distance
    WrongAnswer("min_pairwise_distance", "diagonal kept", '''
def min_pairwise_distance(table):
    return torch.cdist(table, table).min()
''', "you kept the diagonal"),
    WrongAnswer("min_pairwise_distance", "squared distances", '''
def min_pairwise_distance(table):
    diff = table[:, None, :] - table[None, :, :]
    dist = (diff ** 2).sum(dim=-1)
    dist.fill_diagonal_(float("inf"))
    return dist.min()
''', "squared distance"),
    WrongAnswer("min_pairwise_distance", "neighbours only", '''
def min_pairwise_distance(table):
    return (table[1:] - table[:-1]).norm(dim=-1).min().item()
''', "only neighbouring rows"),
    WrongAnswer("min_pairwise_distance", "zero distances dropped (cdist)", '''
def min_pairwise_distance(table):
    dist = torch.cdist(table, table)
    return dist[dist > 0].min()
''', "leave out the diagonal by position"),
    WrongAnswer("min_pairwise_distance", "zero distances dropped (exact differences)", '''
def min_pairwise_distance(table):
    dist = (table[:, None, :] - table[None, :, :]).norm(dim=-1)
    return dist[dist > 0].min().item()
''', "leave out the diagonal by position"),
    WrongAnswer("min_pairwise_distance", "L1 distance", '''
def min_pairwise_distance(table):
    dist = torch.cdist(table, table, p=1)
    dist.fill_diagonal_(float("inf"))
    return dist.min().item()
''', "L1 distance"),
]

# Source 002 states the two properties (offset-only dot products, unique positions) without
# numbers; these are the notebook's own examples.
WORKED_EXAMPLES = {
    "permute_tokens(torch.arange(12.0).view(4, 3), torch.tensor([2, 0, 3, 1]))":
        [[6.0, 7.0, 8.0], [0.0, 1.0, 2.0], [9.0, 10.0, 11.0], [3.0, 4.0, 5.0]],
    # row t = 1 of a 4-dim table: sin(1), cos(1), sin(1/100), cos(1/100)
    "sinusoidal_encoding(3, 4)[1]": [0.8414710, 0.5403023, 0.0099998, 0.9999500],
    # PE(t) . PE(t+1) = sum_i cos(omega_i) for dim 64, the same for t = 10 and t = 200
    "float(pe[10] @ pe[11])": 30.916832,
    "float(pe[200] @ pe[201])": 30.916832,
    "shift_matrix(1, 2)": [[0.5403023, -0.8414710], [0.8414710, 0.5403023]],
    "min_pairwise_distance(corners)": 2.0,
    # dim 8, 1000 positions: the closest pair is 63 steps apart
    "small_gap": 0.645291,
}

# Right answers in other styles. The three sinusoidal tables are the printed formula written
# literally in float32; they differ from the reference by float32 rounding of angles near 200 rad.
from alternatives import CorrectAnswer  # noqa: E402

CORRECT_ANSWERS = [
    CorrectAnswer("sinusoidal_encoding", "t / 10000 ** (2i / d), literally in float32", '''
def sinusoidal_encoding(num_positions, dim):
    t = torch.arange(num_positions).float()[:, None]  # (T, 1)
    two_i = torch.arange(0, dim, 2).float()  # (dim/2,)
    angles = t / 10000 ** (two_i / dim)  # (T, dim/2)
    pe = torch.zeros(num_positions, dim)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe
'''),
    CorrectAnswer("sinusoidal_encoding", "torch.pow, pair index i", '''
def sinusoidal_encoding(num_positions, dim):
    t = torch.arange(num_positions, dtype=torch.float32).unsqueeze(1)  # (T, 1)
    i = torch.arange(dim // 2, dtype=torch.float32)  # (dim/2,)
    angles = t / torch.pow(torch.tensor(10000.0), 2 * i / dim)  # (T, dim/2)
    return torch.stack([angles.sin(), angles.cos()], dim=-1).reshape(num_positions, dim)
'''),
    CorrectAnswer("sinusoidal_encoding", "exp(-2i ln(10000) / d), as in the Annotated Transformer", '''
def sinusoidal_encoding(num_positions, dim):
    position = torch.arange(0, num_positions).unsqueeze(1).float()  # (T, 1)
    div_term = torch.exp(torch.arange(0, dim, 2).float() * -(math.log(10000.0) / dim))  # (dim/2,)
    pe = torch.zeros(num_positions, dim)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe
'''),
    CorrectAnswer("sinusoidal_encoding", "explicit loops", '''
def sinusoidal_encoding(num_positions, dim):
    pe = torch.zeros(num_positions, dim)
    for t in range(num_positions):
        for i in range(dim // 2):
            angle = t / 10000 ** (2 * i / dim)
            pe[t, 2 * i] = math.sin(angle)
            pe[t, 2 * i + 1] = math.cos(angle)
    return pe
'''),
    CorrectAnswer("permute_tokens", "index_select on axis -2", '''
def permute_tokens(x, perm):
    return x.index_select(-2, perm)
'''),
    CorrectAnswer("permute_tokens", "one-hot permutation matrix", '''
def permute_tokens(x, perm):
    P = torch.eye(len(perm), dtype=x.dtype)[perm]  # (seq, seq), row i picks token perm[i]
    return P @ x
'''),
    CorrectAnswer("shift_matrix", "loop over 2 x 2 blocks", '''
def shift_matrix(k, dim):
    M = torch.zeros(dim, dim)
    for i in range(dim // 2):
        w = k / 10000 ** (2 * i / dim)
        c, s = math.cos(w), math.sin(w)
        M[2 * i, 2 * i], M[2 * i, 2 * i + 1] = c, -s
        M[2 * i + 1, 2 * i], M[2 * i + 1, 2 * i + 1] = s, c
    return M
'''),
    CorrectAnswer("shift_matrix", "torch.block_diag of rotation blocks", '''
def shift_matrix(k, dim):
    angles = k * torch.exp(-torch.arange(0, dim, 2, dtype=torch.float64) * math.log(10000.0) / dim)
    blocks = [torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) for a in angles.tolist()]
    return torch.block_diag(*blocks).float()
'''),
    CorrectAnswer("min_pairwise_distance", "explicit double loop", '''
def min_pairwise_distance(table):
    best = float("inf")
    for i in range(len(table)):
        for j in range(i + 1, len(table)):
            best = min(best, (table[i] - table[j]).norm().item())
    return best
''', slow=True),  # ~50 s of Python loops over the hidden test's table
    CorrectAnswer("min_pairwise_distance", "broadcast differences", '''
def min_pairwise_distance(table):
    diff = table[:, None, :] - table[None, :, :]  # (T, T, dim)
    dist = diff.pow(2).sum(-1).sqrt()  # (T, T)
    dist = dist + torch.diag(torch.full((len(table),), float("inf")))
    return float(dist.min())
'''),
]

# Forbidden calls (issue 16): the course's own code, and the built-ins an exercise asks the learner to
# rebuild, lose the exercise's marks with a message naming the call.
WRONG_ANSWERS += [
    WrongAnswer("permute_tokens", "permute_tokens: the check's reference assigned", '''
permute_tokens = check._permute
''', "permute_tokens called autograder.checks.positional_encoding._permute, the course's own code"),
    WrongAnswer("sinusoidal_encoding", "sinusoidal_encoding: imports the finished block", '''
from autograder.blocks import sinusoidal_encoding
''', "sinusoidal_encoding called autograder.blocks.sinusoidal_encoding, the course's own code"),
    WrongAnswer("shift_matrix", "shift_matrix: the check's reference assigned", '''
shift_matrix = check._shift
''', "shift_matrix called autograder.checks.positional_encoding._shift, the course's own code"),
    WrongAnswer("min_pairwise_distance", "min_pairwise_distance: the check's reference assigned", '''
min_pairwise_distance = check._min_distance
''', "min_pairwise_distance called autograder.checks.positional_encoding._min_distance, the course's own code"),
]
