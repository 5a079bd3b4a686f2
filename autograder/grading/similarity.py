"""Near-copies among answer cells: of the reference solution, or of a classmate's same cell.

For each answer cell (an nbgrader solution cell, matched by grade id) the code the learner wrote
is reduced to a list of tokens that survives cosmetic edits: the scaffold the learner notebook
already gave (the `def` line, the docstring, `raise NotImplementedError()`) is taken out, and so
are comments, docstrings, blank lines and indentation; every name the learner chose is replaced
by a placeholder numbered in order of first appearance, so `q = x @ w_q` and `query = inp @ wq`
read the same. Kept as they are: keywords, built-ins, the modules (`torch`, `F`, `nn`, `math`),
attribute names that are PyTorch's (`.transpose`, `.masked_fill`) and keyword arguments (`dim=`).
Two cells are compared by 2 * (longest common subsequence of the token lists) / (total length).

A cell is flagged when it has at least MIN_TOKENS tokens (an answer everyone writes the same
way, `return weights @ v` or notebook 01's three-line softmax, proves nothing) and its
similarity to the reference, or to another student's same cell, reaches THRESHOLD. The course's
independent correct answers in other styles (tests/catalogue, CORRECT_ANSWERS) reach at most
0.81; a renamed, recommented copy scores 1.0, and one with a small edit about 0.91-0.98
(tests/test_similarity.py). Reordering statements or rewriting the logic escapes it: a flag is a
reason to read two cells side by side, and it never changes a score.
"""

from __future__ import annotations

import builtins
import functools
import json
import keyword
import os
import re
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .. import course
from .plan import grade_id, read_submission
from .results import NotebookResult
from .submissions import Submission

THRESHOLD = 0.9  # similarity from which a cell is flagged (see tests/test_similarity.py)
MIN_TOKENS = 45  # normalised tokens an answer needs before it can be flagged
MAX_CHARS, MAX_TOKENS = 20_000, 3000  # what is read of one answer cell (the longest reference: ~320 tokens)
MAX_BYTES = 20 * 1024 * 1024  # a notebook file larger than this is not read for similarity
REFERENCE = "reference"
_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")
# Names that are PyTorch's or Python's, never the learner's choice; the modules as notebooks import them.
_ROOTS = {"torch", "nn", "F", "math", "np", "numpy", "functional", "self", "cls"}


@functools.cache
def _vocabulary() -> frozenset[str]:
    """The attribute names of torch, Tensor, nn, F and math (and of Python's built-ins)."""
    import math

    import torch
    import torch.nn
    import torch.nn.functional

    names = set(keyword.kwlist) | set(keyword.softkwlist) | set(dir(builtins))
    for space in (torch, torch.Tensor, torch.nn, torch.nn.Module, torch.nn.functional, torch.linalg,
                  torch.special, math):
        names.update(dir(space))
    return frozenset(names)


def _kept(name: str, after_dot: bool) -> bool:
    """Is `name` the language's or the library's (kept as it is) rather than the learner's? Only
    attribute names are looked up in PyTorch's vocabulary: a variable may well be called `mean`."""
    if after_dot:
        return name in _vocabulary()
    return keyword.iskeyword(name) or name in _ROOTS or name in builtins.__dict__


# Python's tokens, by one regular expression: the `tokenize` module is several times slower, and a
# cell that does not parse (a half-typed answer) must still be read. Strings come before names
# (for their prefixes), hexadecimal before decimal numbers. An unclosed string runs to the end of
# its line (or of the cell, for triple quotes), so no text makes the expression backtrack.
_TOKEN = re.compile(r"""[ \t\f\r]*(?:
    (?P<comment>\#[^\n]*)
  | (?P<string>[rRbBuUfF]{0,2}(?:\"\"\"(?:\\.|[^\\])*?(?:\"\"\"|\Z)|'''(?:\\.|[^\\])*?(?:'''|\Z)
                              |"(?:\\.|[^"\\\n])*(?:"|(?=\n)|\Z)|'(?:\\.|[^'\\\n])*(?:'|(?=\n)|\Z)))
  | (?P<number>0[xXoObB][0-9a-fA-F_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?[jJ]?)
  | (?P<name>[^\W\d]\w*)
  | (?P<newline>\\?\n)
  | (?P<op>\*\*=?|//=?|>>=?|<<=?|->|:=|\.\.\.|[-+*/%@&|^=<>!]=|[-+*/%@&|^~<>()\[\]{},:;.=!])
  | (?P<other>.))
""", re.VERBOSE | re.DOTALL)
_OPEN, _CLOSE = frozenset("([{"), frozenset(")]}")


def _raw_tokens(code: str) -> list[tuple[str, str, int, int]]:
    """(kind, text, line number, bracket depth) of every token of `code` but comments and spaces;
    kind "newline" is the end of a statement (a line break outside brackets)."""
    found, row, depth = [], 1, 0
    for match in _TOKEN.finditer(code):
        kind, text = match.lastgroup, match.group(match.lastgroup)
        if kind == "op":
            if text in _OPEN:
                depth += 1
            elif text in _CLOSE:
                depth = max(depth - 1, 0)
        if kind == "newline":
            if depth == 0 and text == "\n":
                found.append(("newline", "\n", row, depth))
            row += 1
        elif kind == "string":
            found.append((kind, text, row, depth))
            row += text.count("\n")
        elif kind != "comment":
            found.append((kind, text, row, depth))
    return found


_TRAILING_COMMENT = re.compile(r"\s+#[^'\"]*$")


def _bare(line: str) -> str:
    """A line without its indentation and its trailing comment (a copier may reword it)."""
    return _TRAILING_COMMENT.sub("", line).strip()


def _lines(code: str) -> list[str]:
    return [_bare(line) for line in code.splitlines() if _bare(line)]


def _string(text: str) -> str:
    """A string literal with uniform quotes: 'x' and "x" are one token."""
    if text[:1] in ("'", '"') and text[:3] not in ("'''", '"""') and len(text) > 1 and text[-1] == text[0]:
        return '"' + text[1:-1] + '"'
    return text


def normalise(code: str, scaffold: str = "") -> tuple[str, ...]:
    """The tokens of `code` that the learner wrote, with names replaced by placeholders: lines
    equal to a line of `scaffold` (the learner notebook's own cell), comments, docstrings and
    layout are left out."""
    given = Counter(_lines(scaffold))
    skipped = set()
    for row, line in enumerate(code.splitlines(), start=1):
        if given[_bare(line)] > 0:
            given[_bare(line)] -= 1
            skipped.add(row)
    raw = _raw_tokens(code)
    names: dict[str, str] = {}
    out = []
    for i, (kind, text, row, depth) in enumerate(raw):
        if row in skipped:
            continue
        if kind == "string":
            before = raw[i - 1][0] if i else "newline"
            after = raw[i + 1][0] if i + 1 < len(raw) else "newline"
            if before == "newline" and after == "newline":
                continue  # a docstring, or a bare string used as a comment
            out.append(_string(text))
        elif kind == "name":
            after_dot = bool(i) and raw[i - 1][1] == "."
            keyword_argument = depth > 0 and i + 1 < len(raw) and raw[i + 1][1] == "="
            if keyword_argument or _kept(text, after_dot):
                out.append(text)
            else:
                out.append(names.setdefault(text, f"\x00{len(names)}"))
        elif kind == "newline":
            if out and out[-1] != "\n":
                out.append("\n")
        else:
            out.append(text)
    while out and out[-1] == "\n":
        out.pop()
    return tuple(out)


def _masks(b: tuple[str, ...]) -> dict[str, int]:
    """For each token of `b`, the bit mask of the positions where it occurs."""
    masks: dict[str, int] = {}
    for position, token in enumerate(b):
        masks[token] = masks.get(token, 0) | (1 << position)
    return masks


def _lcs(a: tuple[str, ...], b: tuple[str, ...], masks: dict[str, int] | None = None) -> int:
    """Length of the longest common subsequence of `a` and `b`, bit-parallel (Hyyro 2004): one
    pass over `a` with integer operations on len(b)-bit numbers."""
    masks = _masks(b) if masks is None else masks
    full = (1 << len(b)) - 1
    v = full
    get = masks.get
    for token in a:
        u = v & get(token, 0)
        v = ((v + u) | (v - u)) & full
    return len(b) - v.bit_count()


def similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """2 * (longest common subsequence) / (len a + len b): 1.0 for the same token list, and a
    statement added, dropped or changed costs about its own length."""
    if not a or not b:
        return 0.0
    return 2 * _lcs(a, b) / (len(a) + len(b))


@dataclass(frozen=True)
class Pair:
    """One flagged answer cell: `student`'s `cell` of `assignment` is a near-copy of `other`
    (REFERENCE, or a classmate's student id)."""

    assignment: str
    cell: str
    student: str
    other: str
    similarity: float
    path: str = ""  # the flagged submission's notebook

    def to_dict(self) -> dict:
        return {"cell": self.cell, "similar_to": self.other, "similarity": round(self.similarity, 3)}


class _Assignment:
    """One assignment's reference answers and learner scaffolds, normalised, by grade id."""

    def __init__(self, assignment: str):
        self.scaffold = _solution_cells(course.learner_notebook(assignment))
        source = _solution_cells(course.source_notebook(assignment))
        self.cells = list(source)
        self.reference = {}
        for gid, text in source.items():
            text = "\n".join(line for line in text.splitlines() if not _MARKER.match(line))
            self.reference[gid] = normalise(text, self.scaffold.get(gid, ""))
        self._cache: dict[tuple[str, str], tuple[str, ...]] = {}

    def answer(self, gid: str, text: str) -> tuple[str, ...]:
        key = (gid, text)
        if key not in self._cache:
            self._cache[key] = normalise(text[:MAX_CHARS], self.scaffold.get(gid, ""))[:MAX_TOKENS]
        return self._cache[key]


def _solution_cells(path: Path) -> dict[str, str]:
    """grade id -> source of every solution cell of the notebook at `path`."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    found = {}
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id"):
            source = cell["source"]
            found[meta["grade_id"]] = "".join(source) if isinstance(source, list) else source
    return found


def answers(sub: Submission, known: list[str]) -> dict[str, str]:
    """The submission's answer cells (first code cell of each known grade id), or {} when the
    notebook cannot be read, is not a plain file (a symlink, a FIFO) or is huge: grading gives that
    one its verdict, and the similarity pass never waits on a file."""
    try:
        info = os.lstat(sub.path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
            return {}
        cells = read_submission(sub.path)
    except (OSError, ValueError):
        return {}
    found = {}
    for cell in cells:
        gid = grade_id(cell)
        if gid in known and gid not in found and cell.get("cell_type") == "code":
            found[gid] = cell["source"]
    return found


def _name(sub: Submission) -> str:
    """How the report names a submission: its student id (a student whose folder is called
    "reference" is named by the notebook's path, so as never to pass for the reference)."""
    return sub.student if sub.student and sub.student != REFERENCE else str(sub.path)


def scan(submissions: list[Submission], threshold: float = THRESHOLD,
         min_tokens: int = MIN_TOKENS) -> list[Pair]:
    """Every flagged answer cell of the batch, most similar first. A cell is compared with the
    reference, and with the same cell of every other student of the same assignment; two students
    who both copied the reference are reported once each, as copies of the reference."""
    by_assignment: dict[str, list[Submission]] = {}
    known = set(course.assignments())
    for sub in submissions:
        if sub.assignment in known:
            by_assignment.setdefault(sub.assignment, []).append(sub)
    pairs = []
    for assignment, subs in by_assignment.items():
        meta = _Assignment(assignment)
        tokens = [{gid: meta.answer(gid, text) for gid, text in answers(sub, meta.cells).items()} for sub in subs]
        for gid in meta.cells:
            pairs.extend(_cell_pairs(assignment, gid, meta.reference.get(gid, ()), subs, tokens,
                                     threshold, min_tokens))
    return sorted(pairs, key=lambda p: (-p.similarity, p.assignment, p.cell, p.student, p.other))


def _cell_pairs(assignment, gid, reference, subs, tokens, threshold, min_tokens) -> list[Pair]:
    """The flagged pairs of one answer cell across a batch."""
    names, paths = [_name(sub) for sub in subs], [str(sub.path) for sub in subs]
    entries = [(i, tokens[i].get(gid, ())) for i in range(len(subs))]
    entries = [(i, t) for i, t in entries if len(t) >= min_tokens]
    masks: dict[tuple, dict] = {}
    ratios: dict[tuple, float] = {}

    def ratio(a, b):  # identical answers are common: each distinct pair is measured once
        if a == b:
            return 1.0
        key = (a, b) if len(a) < len(b) or (len(a) == len(b) and a < b) else (b, a)
        if key not in ratios:
            short, long = key
            if long not in masks:
                masks[long] = _masks(long)
            ratios[key] = 2 * _lcs(short, long, masks[long]) / (len(short) + len(long))
        return ratios[key]

    bags: dict[tuple, frozenset] = {}

    def bag(t):  # the multiset of tokens as a set: the k-th occurrence of a token is (token, k)
        if t not in bags:
            seen: Counter = Counter()
            for token in t:
                seen[token] += 1
            bags[t] = frozenset((token, k) for token, n in seen.items() for k in range(n))
        return bags[t]

    pairs, copies = [], set()
    for i, t in entries:
        score = ratio(t, reference) if reference else 0.0
        if score >= threshold:
            copies.add(i)
            pairs.append(Pair(assignment, gid, names[i], REFERENCE, score, paths[i]))
    for x, (i, a) in enumerate(entries):
        for j, b in entries[x + 1:]:
            if (i in copies and j in copies) or names[i] == names[j]:
                continue
            # An upper bound from the lengths alone (difflib's real_quick_ratio): many pairs stop here.
            if 2 * min(len(a), len(b)) < threshold * (len(a) + len(b)):
                continue
            # An upper bound from the tokens shared, order aside (difflib's quick_ratio), in C.
            if 2 * len(bag(a) & bag(b)) < threshold * (len(a) + len(b)):
                continue
            score = ratio(a, b)
            if score >= threshold:
                pairs.append(Pair(assignment, gid, names[i], names[j], score, paths[i]))
                pairs.append(Pair(assignment, gid, names[j], names[i], score, paths[j]))
    return pairs


def attach(results: list[NotebookResult], submissions: list[Submission], pairs: list[Pair]) -> None:
    """Put each flagged cell on its submission's result (`similar_to`); scores are not touched."""
    by_path: dict[str, list[Pair]] = {}
    for pair in pairs:
        by_path.setdefault(pair.path, []).append(pair)
    for result, sub in zip(results, submissions):
        flagged = by_path.get(str(sub.path), [])  # most similar first, as scan sorts them
        result.similar_to = [p.to_dict() for p in flagged]


def _shown(pairs: list[Pair]) -> list[Pair]:
    """Each pair once (a pair of classmates is flagged on both sides), most similar first."""
    shown, seen = [], set()
    for p in pairs:
        key = (p.assignment, p.cell, *sorted((p.student, p.other)))
        if key not in seen:
            seen.add(key)
            shown.append(p)
    return shown


def report(pairs: list[Pair]) -> str:
    """The instructor's report, in Markdown: one line per flagged pair, most similar first."""
    shown = _shown(pairs)
    lines = ["# Similarity report", "",
             "Answer cells that are near-copies of the reference solution or of a classmate's same cell: "
             f"{len(shown)} pair(s) with similarity >= {THRESHOLD:g} once names, comments, docstrings and "
             f"layout are normalised; answers under {MIN_TOKENS} tokens are never flagged. A flag is a reason "
             "to read two cells side by side, not a verdict: no score was changed.", ""]
    if not shown:
        return "\n".join(lines + ["Nothing is flagged."]) + "\n"
    lines += ["| similarity | assignment | cell | student | similar to |", "|---|---|---|---|---|"]
    for p in shown:
        lines.append(f"| {p.similarity:.2f} | {p.assignment} | {p.cell} | {_md(p.student)} | {_md(p.other)} |")
    return "\n".join(lines) + "\n"


def summary(pairs: list[Pair], limit: int = 10) -> str:
    """A few lines for the terminal after grading: the most similar pairs."""
    shown = _shown(pairs)
    if not shown:
        return "similarity: no answer cell is a near-copy of the reference or of a classmate's"
    lines = [f"similarity: {len(shown)} near-copied answer cell(s) flagged (scores unchanged):"]
    lines += [f"  {p.similarity:.2f}  {p.assignment} {p.cell}: {p.student} ~ {p.other}" for p in shown[:limit]]
    if len(shown) > limit:
        lines.append(f"  ... {len(shown) - limit} more: write them all with --similarity FILE")
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
