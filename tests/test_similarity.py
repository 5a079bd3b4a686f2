"""The similarity pass of `python -m autograder grade` (autograder/grading/similarity.py): it flags
answer cells that are near-copies of the reference or of a classmate's same cell, once names,
comments, docstrings and layout are normalised, and it never changes a score.

The threshold and the minimum length are justified here against the course's own material: the
independent correct answers of tests/catalogue (CORRECT_ANSWERS, written in other styles) stay
below THRESHOLD, with a margin, against the reference and against each other, while renamed and
recommented copies, also with a small edit, reach it."""

import builtins
import csv
import importlib.util
import io
import json
import keyword
import subprocess
import sys
import tokenize

import nbformat
import pytest
import support

from autograder import course
from autograder.grading import Submission, similarity

WITH_ALTERNATIVES = ["02_self_attention", "05_positional_encoding"]
MARGIN = 0.05  # the most similar independent answer stays this far under THRESHOLD


def correct_answers(assignment):
    path = support.CATALOGUE / f"{assignment}.py"
    spec = importlib.util.spec_from_file_location(f"similarity_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.CORRECT_ANSWERS)


def stubs(assignment):
    """The learner notebook's solution cells (the scaffold and `raise NotImplementedError()`)."""
    learner = support.read(course.learner_notebook(assignment))
    return {support.grade_id(c): c.source for c in learner.cells if c.metadata.get("nbgrader", {}).get("solution")}


def tokens(assignment, cell, code):
    return similarity.normalise(code, stubs(assignment)[cell])


def renamed(code, keep=(), comment="# my own words"):
    """`code` as a copier hands it in: every name the learner chose (not a keyword, a built-in,
    an attribute, a keyword argument, a module or a name in `keep`; a method it defines is renamed
    where it is called too) renamed consistently and
    every comment reworded, the rest of each line as it was. Written with Python's own tokenize,
    independently of the grader's tokenizer."""
    lines = code.splitlines(keepends=True)
    toks = list(tokenize.generate_tokens(io.StringIO(code).readline))
    fixed = {"torch", "F", "nn", "math", "self", *keep}
    methods = {toks[i + 1].string for i, t in enumerate(toks[:-1]) if t.string == "def"} - fixed
    names, edits, depth = {}, [], 0
    for i, tok in enumerate(toks):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        if tok.type == tokenize.NAME:
            after_dot = i and toks[i - 1].string == "."
            kwarg = depth > 0 and i + 1 < len(toks) and toks[i + 1].string == "="
            text = tok.string
            if text in methods or not (keyword.iskeyword(text) or text in dir(builtins) or text in fixed
                                       or after_dot or kwarg):
                edits.append((tok.start, tok.end, names.setdefault(text, f"renamed_{len(names)}_{text[::-1]}")))
        elif tok.type == tokenize.COMMENT:
            edits.append((tok.start, tok.end, comment))
    for (row, start), (_, end), text in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + text + line[end:]
    return "".join(lines)


def scaffold_names(assignment, cell):
    """Names the learner notebook gives (function, parameters): a copier keeps them, or the tests fail."""
    return {t.string for t in tokenize.generate_tokens(io.StringIO(stubs(assignment)[cell]).readline)
            if t.type == tokenize.NAME}


def long_reference_cells():
    for assignment in course.assignments():
        for cell, code in support.solution_code(assignment).items():
            if len(tokens(assignment, cell, code)) >= similarity.MIN_TOKENS:
                yield assignment, cell, code


# ---------------------------------------------------------------- normalising
def test_renaming_recommenting_and_layout_leave_the_tokens_unchanged_and_a_real_edit_does_not():
    ref = support.solution_code("02_self_attention")["scaled_dot_product_attention"]
    copy = '''def scaled_dot_product_attention(q, k, v, mask=None):
    """q: (..., n, d_k), k: (..., m, d_k), v: (..., m, d_v), mask: bool broadcastable to (..., n, m),
    True = may attend. Returns (..., n, d_v); a query that may attend to nothing gets zeros."""
    # first the raw scores, scaled
    logits = q @ k.transpose(
        -2, -1) / math.sqrt(q.shape[-1])

    if mask is not None:
        logits = logits.masked_fill(~mask, float('-inf'))   # hide what may not be seen
    probs = torch.softmax(logits, dim=-1).nan_to_num(0.0)
    return probs @ v
'''
    cell = "scaled_dot_product_attention"
    assert tokens("02_self_attention", cell, copy) == tokens("02_self_attention", cell, ref)
    edited = copy.replace("~mask", "mask")
    assert tokens("02_self_attention", cell, edited) != tokens("02_self_attention", cell, ref)
    assert similarity.THRESHOLD <= similarity.similarity(tokens("02_self_attention", cell, edited),
                                                         tokens("02_self_attention", cell, ref)) < 1


def test_the_similarity_is_the_longest_common_subsequence_ratio():
    a, b = tuple("abcbdab"), tuple("bdcaba")  # the textbook pair: LCS 4
    assert similarity.similarity(a, b) == pytest.approx(2 * 4 / 13)
    assert similarity.similarity(a, a) == 1.0 and similarity.similarity(a, ()) == 0.0


@pytest.mark.parametrize("assignment", course.assignments())
def test_untouched_answer_cells_have_no_tokens(assignment):
    for cell, stub in stubs(assignment).items():
        assert "NotImplementedError" in stub
        assert similarity.normalise(stub, stub) == (), cell


def test_one_line_answers_are_too_short_to_flag():
    one_liners = [(a.cell, a.code) for a in correct_answers("02_self_attention") + correct_answers(
        "05_positional_encoding") if len(a.code.strip().splitlines()) == 2]
    assert len(one_liners) >= 6
    for assignment in WITH_ALTERNATIVES:
        for cell, code in one_liners:
            if cell in stubs(assignment):
                assert len(tokens(assignment, cell, code)) < similarity.MIN_TOKENS, code
    # Every reference answer of notebook 01 (dot products, a softmax in three lines) is what
    # everyone writes: none of them can be flagged.
    for cell, code in support.solution_code("01_similarity").items():
        assert len(tokens("01_similarity", cell, code)) < similarity.MIN_TOKENS, cell


# ---------------------------------------------------------------- the threshold
@pytest.mark.parametrize("assignment", WITH_ALTERNATIVES)
def test_independent_correct_answers_are_not_near_copies(assignment):
    reference = support.solution_code(assignment)
    alternatives = correct_answers(assignment)
    closest = 0.0
    for i, alt in enumerate(alternatives):
        mine = tokens(assignment, alt.cell, alt.code)
        ref = tokens(assignment, alt.cell, reference[alt.cell])
        closest = max(closest, similarity.similarity(mine, ref))
        for other in alternatives[i + 1:]:
            if other.cell == alt.cell:
                closest = max(closest, similarity.similarity(mine, tokens(assignment, other.cell, other.code)))
    assert 0.5 < closest <= similarity.THRESHOLD - MARGIN  # a real spread, and a margin under the threshold


def test_renamed_recommented_copies_of_every_long_reference_answer_are_identical_after_normalising():
    cells = list(long_reference_cells())
    assert len(cells) >= 20
    for assignment, cell, code in cells:
        copy = renamed(code, keep=scaffold_names(assignment, cell))
        assert copy != code
        assert tokens(assignment, cell, copy) == tokens(assignment, cell, code), (assignment, cell)


def test_a_copy_with_one_small_edit_still_reaches_the_threshold():
    ref = support.solution_code("05_positional_encoding")["sinusoidal_encoding"]
    copy = renamed(ref, keep=scaffold_names("05_positional_encoding", "sinusoidal_encoding"))
    copy = copy.replace("torch.sin(", "torch.sin(1.0 * ")  # one harmless change
    score = similarity.similarity(tokens("05_positional_encoding", "sinusoidal_encoding", copy),
                                  tokens("05_positional_encoding", "sinusoidal_encoding", ref))
    assert similarity.THRESHOLD <= score < 1


# ---------------------------------------------------------------- a batch
def write(folder, student, assignment, answers):
    learner = support.read(course.learner_notebook(assignment))
    nb = support.submission(learner, answers) if answers is not None else learner
    target = folder / student / assignment / f"{assignment}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return Submission(target, assignment, student)


A = "05_positional_encoding"
CELL = "sinusoidal_encoding"


def batch(folder):
    """A class of one notebook (05). copier, ann and ben take the reference for every other cell;
    cleo and dan answer in styles of their own (the catalogue's alternatives; the slow loops left
    out), cleo with the independent answer closest to the reference."""
    ref = support.solution_code(A)
    alts = {(a.cell, a.name): a.code for a in correct_answers(A)}
    keep = scaffold_names(A, CELL)
    shared = renamed(alts[CELL, "exp(-2i ln(10000) / d), as in the Annotated Transformer"], keep=keep)
    cleo = {CELL: alts[CELL, "t / 10000 ** (2i / d), literally in float32"],
            "permute_tokens": alts["permute_tokens", "index_select on axis -2"],
            "shift_matrix": alts["shift_matrix", "loop over 2 x 2 blocks"],
            "min_pairwise_distance": alts["min_pairwise_distance", "broadcast differences"]}
    dan = {CELL: alts[CELL, "torch.pow, pair index i"],
           "permute_tokens": alts["permute_tokens", "one-hot permutation matrix"],
           "shift_matrix": alts["shift_matrix", "torch.block_diag of rotation blocks"]}
    return [
        write(folder, "copier", A, {**ref, CELL: renamed(ref[CELL], keep=keep, comment="# (T, dim) table")}),
        write(folder, "ann", A, {**ref, CELL: shared}),  # ann and ben share one renamed copy
        write(folder, "ben", A, {**ref, CELL: renamed(shared, keep=keep, comment="# ben's note")}),
        write(folder, "cleo", A, {**ref, **cleo}),
        write(folder, "dan", A, {**ref, **dan}),
        write(folder, "eve", A, None),  # untouched
    ]


def test_a_batch_flags_the_copies_and_nothing_else(tmp_path):
    subs = batch(tmp_path)
    pairs = [p for p in similarity.scan(subs) if p.cell == CELL]
    found = {(p.student, p.other) for p in pairs}
    assert found == {("copier", "reference"), ("ann", "ben"), ("ben", "ann")}
    assert all(p.similarity >= similarity.THRESHOLD for p in pairs)
    assert not {p.student for p in similarity.scan(subs)} & {"cleo", "dan", "eve"}


def test_students_who_both_copied_the_reference_are_reported_as_copies_of_it(tmp_path):
    ref = support.solution_code(A)
    subs = [write(tmp_path, name, A, {**ref, CELL: renamed(ref[CELL], keep=scaffold_names(A, CELL))})
            for name in ("ann", "ben")]
    found = {(p.student, p.other) for p in similarity.scan(subs) if p.cell == CELL}
    assert found == {("ann", "reference"), ("ben", "reference")}


def grade_command(folder, *options):
    return subprocess.run([sys.executable, "-m", "autograder", "grade", str(folder), "--jobs", "2", *options],
                          capture_output=True, text=True, timeout=600)


def test_grade_flags_near_copies_in_the_csv_json_and_report_and_never_changes_a_score(tmp_path):
    folder = tmp_path / "submitted"
    batch(folder)
    out, report = tmp_path / "grades.csv", tmp_path / "similarity.md"
    run = grade_command(folder, "--csv", str(out), "--similarity", str(report), "--json")
    assert run.returncode == 0, run.stderr
    rows = {r["student_id"]: r for r in csv.DictReader(out.open())}
    assert f"{CELL}: reference 1.00" in rows["copier"]["similar_to"].split("; ")
    assert f"{CELL}: ben" in rows["ann"]["similar_to"] and f"{CELL}: ann" in rows["ben"]["similar_to"]
    assert not any(rows[s]["similar_to"] for s in ("cleo", "dan", "eve"))
    text = report.read_text()
    assert f"| 1.00 | {A} | {CELL} | copier | reference |" in text
    assert any(f"| {CELL} | ann | ben |" in line or f"| {CELL} | ben | ann |" in line for line in text.splitlines())
    rows_of_report = [line for line in text.splitlines() if line.startswith("| ")]
    assert not [line for line in rows_of_report for name in ("cleo", "dan", "eve") if f"| {name} |" in line]
    assert "near-copied answer cell(s) flagged" in run.stderr  # the short report (stdout has the JSON)
    flagged = {r["student"]: r["similar_to"] for r in json.loads(run.stdout)}
    assert {"cell": CELL, "similar_to": "reference", "similarity": 1.0} in flagged["copier"]
    assert flagged["cleo"] == [] and flagged["eve"] == []

    plain = grade_command(folder, "--csv", str(tmp_path / "plain.csv"), "--no-similarity", "--quiet")
    assert plain.returncode == 0, plain.stderr
    without = {r["student_id"]: r for r in csv.DictReader((tmp_path / "plain.csv").open())}
    graded = ["raw_score", "score", "max_score", "verdict", "message", "exercises"]
    def scores(table):
        return {student: [row[c] for c in graded] for student, row in table.items()}

    assert scores(rows) == scores(without) and len(rows) == 6
    assert float(rows["copier"]["score"]) == float(rows["copier"]["max_score"]) > 0  # flagged, not zeroed
    assert float(rows["eve"]["score"]) == 0
    assert not any(r["similar_to"] for r in without.values())


def test_a_broken_or_hostile_file_is_skipped_without_waiting(tmp_path):
    import os

    ref = support.solution_code(A)
    subs = [write(tmp_path, "copier", A, {**ref, CELL: renamed(ref[CELL], keep=scaffold_names(A, CELL))})]
    fifo = tmp_path / "fifo" / A / f"{A}.ipynb"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)  # reading it would block for ever
    garbage = tmp_path / "garbage" / A / f"{A}.ipynb"
    garbage.parent.mkdir(parents=True)
    garbage.write_text('{"nbformat": 4, "cells": [{"cell_type": "code", "metadata": null, "source": 1}, 7]}')
    unclosed = support.submission(support.read(course.learner_notebook(A)), {CELL: '"""' + "'''(" * 3000})
    nbformat.write(unclosed, str(tmp_path / "unclosed.ipynb"))
    subs += [Submission(fifo, A, "fifo"), Submission(garbage, A, "garbage"),
             Submission(tmp_path / "unclosed.ipynb", A, "unclosed"), Submission(tmp_path / "gone.ipynb", A, "gone")]
    assert {(p.student, p.other) for p in similarity.scan(subs) if p.cell == CELL} == {("copier", "reference")}


def test_the_report_lists_each_pair_once_most_similar_first_and_the_summary_stays_short(tmp_path):
    ref = support.solution_code(A)
    keep = scaffold_names(A, CELL)
    shared = renamed(next(a.code for a in correct_answers(A) if a.name.startswith("exp(-2i")), keep=keep)
    subs = [write(tmp_path, f"s{i}", A, {CELL: renamed(shared, keep=keep, comment=f"# {i}")}) for i in range(4)]
    subs.append(write(tmp_path, "reference", A, {CELL: renamed(ref[CELL], keep=keep)}))  # a folder named so
    pairs = similarity.scan(subs)
    table = [line for line in similarity.report(pairs).splitlines() if line.startswith("| 1.00")]
    assert len(table) == 6 + 1  # the 4 x 3 / 2 pairs of classmates, once each, and the copy of the reference
    assert any(line.endswith(f"{A}.ipynb | reference |") for line in table)
    assert [p.similarity for p in pairs] == sorted((p.similarity for p in pairs), reverse=True)
    short = similarity.summary(pairs, limit=3).splitlines()
    assert len(short) == 1 + 3 + 1 and "4 more" in short[-1]
