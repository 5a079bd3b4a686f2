"""Near-copies among answer cells: of the reference solution, or of a classmate's same cell.

For each answer cell (an nbgrader solution cell, matched by grade id) the code the learner wrote
is reduced to a list of tokens that survives cosmetic edits: the scaffold the learner notebook
already gave (the `def` line, the docstring, `raise NotImplementedError()`) is taken out, and so
are comments, docstrings, blank lines and indentation; every name the learner chose is replaced
by a placeholder numbered in order of first appearance, so `q = x @ w_q` and `query = inp @ wq`
read the same. Keywords, built-ins and PyTorch's own vocabulary (`torch`, `softmax`, `.transpose`,
`dim`, ...) are kept. Two cells are compared with difflib's ratio on those token lists.

A cell is flagged when it has at least MIN_TOKENS tokens (an answer everyone writes the same
way, `return weights @ v`, proves nothing) and its similarity to the reference, or to another
student's same cell, reaches THRESHOLD. tests/test_similarity.py measures both values against
the course's own catalogue of independent correct answers. Flags are information for the
instructor: they never change a score.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import functools
import io
import json
import keyword
import re
import tokenize
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .. import course
from .plan import grade_id, read_submission
from .results import NotebookResult
from .submissions import Submission

THRESHOLD = 0.9  # similarity from which a cell is flagged (see tests/test_similarity.py)
MIN_TOKENS = 45  # normalised tokens an answer needs before it can be flagged
REFERENCE = "reference"
_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")
# Names that are PyTorch's or Python's, never the learner's choice; the modules as notebooks import them.
_ROOTS = {"torch", "nn", "F", "math", "np", "numpy", "functional", "self", "cls"}
_DROPPED = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING,
            tokenize.ENDMARKER}


@functools.cache
def _vocabulary() -> frozenset[str]:
    """Python's keywords and built-ins, and the attribute names of torch, Tensor, nn, F and math."""
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
    """Is `name` part of the language or the library (kept as it is) rather than the learner's?"""
    if keyword.iskeyword(name) or name in _ROOTS or (not after_dot and name in builtins.__dict__):
        return True
    # torch.e, Tensor.T, torch.t: short library names are also everyone's favourite variable names.
    return name in _vocabulary() and (after_dot or len(name) > 2)


def _raw_tokens(code: str) -> list[tokenize.TokenInfo]:
    """Python's tokens of `code`, as far as it tokenises (a cell with a syntax error still counts)."""
    found = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            found.append(tok)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return found


def _lines(code: str) -> list[str]:
    return [line.strip() for line in code.splitlines() if line.strip()]


def normalise(code: str, scaffold: str = "") -> tuple[str, ...]:
    """The tokens of `code` that the learner wrote, with names replaced by placeholders: lines
    equal to a line of `scaffold` (the learner notebook's own cell), comments, docstrings and
    layout are left out."""
    given = Counter(_lines(scaffold))
    skipped = set()
    for row, line in enumerate(code.splitlines(), start=1):
        if given[line.strip()] > 0:
            given[line.strip()] -= 1
            skipped.add(row)
    raw = [t for t in _raw_tokens(code) if t.type not in _DROPPED]
    names: dict[str, str] = {}
    out, depth = [], 0
    for i, tok in enumerate(raw):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth = max(depth - 1, 0)
        if tok.start[0] in skipped:
            continue
        if tok.type == tokenize.STRING:
            before = raw[i - 1].type if i else tokenize.NEWLINE
            after = raw[i + 1].type if i + 1 < len(raw) else tokenize.NEWLINE
            if before == tokenize.NEWLINE and after == tokenize.NEWLINE:
                continue  # a docstring, or a bare string used as a comment
            try:
                out.append(repr(ast.literal_eval(tok.string)))
            except (ValueError, SyntaxError):
                out.append(tok.string)
        elif tok.type == tokenize.NAME:
            after_dot = bool(i) and raw[i - 1].string == "."
            keyword_argument = depth > 0 and i + 1 < len(raw) and raw[i + 1].string == "="
            if keyword_argument or _kept(tok.string, after_dot):
                out.append(tok.string)
            else:
                out.append(names.setdefault(tok.string, f"\x00{len(names)}"))
        elif tok.type == tokenize.NEWLINE:
            if out and out[-1] != "\n":
                out.append("\n")
        else:
            out.append(tok.string)
    while out and out[-1] == "\n":
        out.pop()
    return tuple(out)


def similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """difflib's ratio of two token lists: 1.0 for the same, 2 * matched / (len a + len b)."""
    if not a or not b:
        return 0.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


@dataclass(frozen=True)
class Pair:
    """One flagged answer cell: `student`'s `cell` of `assignment` is a near-copy of `other`
    (REFERENCE, or a classmate's student id)."""

    assignment: str
    cell: str
    student: str
    other: str
    similarity: float

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
            self._cache[key] = normalise(text, self.scaffold.get(gid, ""))
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
    notebook cannot be read: grading gives that one its verdict."""
    try:
        cells = read_submission(sub.path)
    except ValueError:
        return {}
    found = {}
    for cell in cells:
        gid = grade_id(cell)
        if gid in known and gid not in found and cell.get("cell_type") == "code":
            found[gid] = cell["source"]
    return found


def _name(sub: Submission) -> str:
    return sub.student or str(sub.path)


def scan(submissions: list[Submission], threshold: float = THRESHOLD,
         min_tokens: int = MIN_TOKENS) -> list[Pair]:
    """Every flagged answer cell of the batch, most similar first. A cell is compared with the
    reference, and with the same cell of every other student of the same assignment; two students
    who both copied the reference are reported once each, as copies of the reference."""
    by_assignment: dict[str, list[Submission]] = {}
    for sub in submissions:
        if sub.assignment in course.assignments():
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
    entries = [(i, tokens[i].get(gid, ())) for i in range(len(subs))]
    entries = [(i, t) for i, t in entries if len(t) >= min_tokens]
    ratios: dict[tuple, float] = {}

    def ratio(a, b):  # identical answers are common: each distinct pair is measured once
        key = (a, b) if a <= b else (b, a)
        if key not in ratios:
            ratios[key] = 1.0 if a == b else similarity(a, b)
        return ratios[key]

    pairs, copies = [], set()
    for i, t in entries:
        score = ratio(t, reference) if reference else 0.0
        if score >= threshold:
            copies.add(i)
            pairs.append(Pair(assignment, gid, _name(subs[i]), REFERENCE, score))
    for x, (i, a) in enumerate(entries):
        for j, b in entries[x + 1:]:
            if (i in copies and j in copies) or _name(subs[i]) == _name(subs[j]):
                continue
            # real_quick_ratio is an upper bound from the lengths alone: most pairs stop here.
            if 2 * min(len(a), len(b)) / (len(a) + len(b)) < threshold:
                continue
            score = ratio(a, b)
            if score >= threshold:
                pairs.append(Pair(assignment, gid, _name(subs[i]), _name(subs[j]), score))
                pairs.append(Pair(assignment, gid, _name(subs[j]), _name(subs[i]), score))
    return pairs


def attach(results: list[NotebookResult], submissions: list[Submission], pairs: list[Pair]) -> None:
    """Put each flagged cell on its submission's result (`similar_to`); scores are not touched."""
    by_key: dict[tuple, list[Pair]] = {}
    for pair in pairs:
        by_key.setdefault((pair.assignment, pair.student), []).append(pair)
    for result, sub in zip(results, submissions):
        flagged = by_key.get((sub.assignment, _name(sub)), [])
        result.similar_to = [p.to_dict() for p in sorted(flagged, key=lambda p: (p.cell, -p.similarity))]


def column(result: NotebookResult) -> str:
    """The CSV's `similar_to` cell: `cell: other 0.97` per flag, most similar first per cell."""
    return "; ".join(f"{f['cell']}: {f['similar_to']} {f['similarity']:.2f}" for f in result.similar_to)


def report(pairs: list[Pair]) -> str:
    """A short Markdown report for the instructor: one line per flagged pair, most similar first."""
    if not pairs:
        return "# Similarity report\n\nNo answer cell is a near-copy of the reference or of a classmate's.\n"
    shown, seen = [], set()
    for p in pairs:  # a pair of classmates is listed once
        key = (p.assignment, p.cell, *sorted((p.student, p.other)))
        if key not in seen:
            seen.add(key)
            shown.append(p)
    lines = ["# Similarity report", "",
             f"{len(shown)} near-copies (similarity >= {THRESHOLD:g} after renaming, comments and layout are "
             "normalised). Flags only: no score was changed. Read each pair before acting on it.", "",
             "| similarity | assignment | cell | student | similar to |", "|---|---|---|---|---|"]
    for p in shown:
        lines.append(f"| {p.similarity:.2f} | {p.assignment} | {p.cell} | {_md(p.student)} | {_md(p.other)} |")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
