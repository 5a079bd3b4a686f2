"""The check machinery on its own (verdicts, named mistakes, robustness), and every notebook's
checks run in-process on the reference solutions and on catalogued wrong answers."""

import importlib
import inspect
import re
import sys
import warnings

import pytest
import support
import torch
from torch import nn

from autograder import blocks, course
from autograder.checks import forbidden
from autograder.checks import similarity as check_similarity
from autograder.checks.core import Case, ExerciseFailed, Mistake, build, check, problem_with, require_linear

CASES = [Case("a 2 x 3 matrix and a 4 x 3 matrix", (torch.arange(6.0).view(2, 3), torch.ones(4, 3)))]
REFERENCE = lambda a, b: a @ b.T  # noqa: E731
MISTAKES = [Mistake("forgot the transpose", lambda a, b: a @ b),
            Mistake("swapped the operands", lambda a, b: b @ a.T)]


def test_right_answer_passes_and_says_so(capsys):
    check("pairs", lambda a, b: torch.mm(a, b.t()), REFERENCE, CASES, MISTAKES)
    assert "✔ pairs" in capsys.readouterr().out


def test_wrong_numbers_name_the_mistake():
    with pytest.raises(ExerciseFailed, match="swapped the operands"):
        check("pairs", lambda a, b: b @ a.T, REFERENCE, CASES, MISTAKES)


def test_a_reproduced_error_names_the_mistake():
    with pytest.raises(ExerciseFailed, match="(?s)raised RuntimeError.*forgot the transpose"):
        check("pairs", lambda a, b: a.matmul(b), REFERENCE, CASES, MISTAKES)


def test_unknown_mistake_still_says_what_is_wrong():
    with pytest.raises(ExerciseFailed, match="values are wrong") as failure:
        check("pairs", lambda a, b: a @ b.T + 1, REFERENCE, CASES, MISTAKES)
    assert "Likely mistake" not in str(failure.value)


def test_generic_hints_catch_transposes_and_constant_factors():
    square = [Case("square", (torch.randn(3, 3), torch.randn(3, 3)))]
    with pytest.raises(ExerciseFailed, match="transpose of the right one"):
        check("pairs", lambda a, b: (a @ b.T).T, REFERENCE, square)
    with pytest.raises(ExerciseFailed, match="times 0.5"):
        check("pairs", lambda a, b: 0.5 * a @ b.T, REFERENCE, square)


def test_missing_return_and_nan_are_explained():
    with pytest.raises(ExerciseFailed, match="returned None"):
        check("pairs", lambda a, b: None, REFERENCE, CASES)
    with pytest.raises(ExerciseFailed, match="NaN"):
        check("pairs", lambda a, b: (a @ b.T) * float("nan"), REFERENCE, CASES)


def test_not_implemented_propagates_unchanged():
    def todo(a, b):
        raise NotImplementedError()
    with pytest.raises(NotImplementedError):
        check("pairs", todo, REFERENCE, CASES, MISTAKES)


def test_a_warning_in_learner_code_costs_nothing_and_reaches_no_stderr(capsys):
    def noisy(a, b):
        warnings.warn("harmless", UserWarning, stacklevel=2)
        print("to stderr", file=sys.stderr)
        return a @ b.T
    check("pairs", noisy, REFERENCE, CASES)
    assert capsys.readouterr().err == ""


def test_learner_cannot_corrupt_the_inputs_of_the_reference():
    def mutating(a, b):
        out = a @ b.T
        a.zero_()
        return out
    check("pairs", mutating, REFERENCE, CASES)
    assert CASES[0].args[0].sum() == 15


def test_patching_torch_allclose_does_not_change_a_verdict(monkeypatch):
    monkeypatch.setattr(torch, "allclose", lambda *a, **k: True)
    with pytest.raises(ExerciseFailed):
        check("pairs", lambda a, b: a @ b.T + 1, REFERENCE, CASES)


def test_problem_with_compares_shapes_dtypes_tuples_and_numbers():
    assert "shape" in problem_with(torch.ones(2, 3), torch.ones(3, 2))
    assert "dtype" in problem_with(torch.ones(2, dtype=torch.float64), torch.ones(2))
    assert "tuple of 2" in problem_with(torch.ones(2), (torch.ones(2), torch.ones(2)))
    assert "item 1" in problem_with((torch.ones(2), torch.zeros(2)), (torch.ones(2), torch.ones(2)))
    assert problem_with(torch.tensor(2.0), 2.0) is None
    assert "1.5" in problem_with(1.5, 2.0)


def test_build_reports_what_is_wrong_with_a_class():
    with pytest.raises(ExerciseFailed, match="should be a class"):
        build(lambda: None, "Net", seed=0)
    with pytest.raises(ExerciseFailed, match=r"should subclass nn.Module: class Net\(nn.Module\)"):
        build(int, "Net", seed=0)

    class Broken(nn.Module):
        def __init__(self, width):
            super().__init__()
            raise ValueError("no")
    with pytest.raises(ExerciseFailed, match=r"Net\(3\) could not be built: it raised ValueError: no"):
        build(Broken, "Net", (3,), seed=0)


def test_build_is_reproducible_and_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = build(nn.Linear, "Linear", (3, 2), seed=7)
    second = build(nn.Linear, "Linear", (3, 2), {"bias": False}, seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(first.weight, second.weight)
    assert not first.training


def test_require_linear_names_the_attribute_and_what_it_should_be():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(4, 3)
            self.raw = nn.Parameter(torch.zeros(4, 3))
    net = Net()
    assert require_linear(net, "Net()", "proj", 4, 3, bias=True) is net.proj
    with pytest.raises(ExerciseFailed, match=r"`self.raw` should be nn.Linear\(4, 3\), but it is a Parameter"):
        require_linear(net, "Net()", "raw", 4, 3)
    with pytest.raises(ExerciseFailed, match="`self.missing` should be .*but it is nothing"):
        require_linear(net, "Net()", "missing", 4, 3)
    with pytest.raises(ExerciseFailed, match="maps 4 -> 3 features, but it should map 3 -> 4"):
        require_linear(net, "Net()", "proj", 3, 4)
    with pytest.raises(ExerciseFailed, match="has a bias, but it should have none"):
        require_linear(net, "Net()", "proj", 4, 3, bias=False)


# ---------------------------------------------------------------- forbidden calls
SOFTMAX_RULE = forbidden.Rule(families=(forbidden.SOFTMAX,))
SCORES = [Case("a 2 x 3 matrix of scores", (torch.tensor([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]]),))]


def _by_hand(x):
    e = (x - x.amax(-1, keepdim=True)).exp()
    return e / e.sum(-1, keepdim=True)


def _watch_state():
    """Everything the watch turns on while it runs the learner's code."""
    return sys.getprofile(), torch._C._len_torch_function_stack(), list(forbidden._ACTIVE)


def _softmax_check(fn, mistakes=()):
    """check() under a rule forbidding softmax; the reference itself calls torch.softmax."""
    with forbidden.exercise(SOFTMAX_RULE, "soft", fn):
        check("soft", fn, lambda x: torch.softmax(x, dim=-1), SCORES, mistakes)


@pytest.mark.parametrize("learner,message", [
    (lambda x: torch.softmax(x, -1), "soft called torch.softmax, which this exercise asks you to build yourself"),
    (lambda x: x.softmax(-1), "soft called Tensor.softmax"),
    (lambda x: torch.special.softmax(x, -1), "soft called torch.special.softmax"),
    (lambda x: torch.nn.functional.softmax(x, -1), "soft called F.softmax"),
    (lambda x: torch.nn.Softmax(-1)(x), "soft called nn.Softmax"),
    (lambda x: list(map(torch.softmax, [x], [-1]))[0], "soft called torch.softmax"),  # C calls C: the mode sees it
    (lambda x: blocks.attention(x, x, x)[1] * 0 + _by_hand(x), "soft called autograder.blocks.attention"),
    (lambda x: check_similarity._softmax(x), "soft called autograder.checks.similarity._softmax"),
    (lambda x: (x.log_softmax(-1)).exp() if sys.setprofile(None) is None else x, "soft called Tensor.log_softmax"),
])
def test_a_forbidden_call_fails_the_exercise_naming_the_call_and_leaves_no_watch_behind(learner, message):
    before = _watch_state()
    with pytest.raises(forbidden.Forbidden, match=re.escape(message)):
        _softmax_check(learner)
    assert _watch_state() == before


def test_the_watch_is_off_outside_the_learner_call_and_restored_on_pass_and_failure(capsys):
    before = _watch_state()
    seen = []

    def by_hand(x):  # the watch is on exactly while the learner's code runs
        seen.append((sys.getprofile() is not None, torch._C._len_torch_function_stack(), len(forbidden._ACTIVE)))
        return _by_hand(x)
    _softmax_check(by_hand, [Mistake("softmax over the wrong axis", lambda x: torch.softmax(x, dim=0))])
    assert "✔ soft" in capsys.readouterr().out
    assert seen == [(True, before[1] + 1, 1)]
    assert _watch_state() == before
    # a wrong answer: the reference and the mistakes call torch.softmax unwatched, the hint is named
    with pytest.raises(ExerciseFailed, match="wrong axis") as failure:
        _softmax_check(lambda x: _by_hand(x.T).T, [Mistake("wrong axis", lambda x: torch.softmax(x, dim=0))])
    assert not isinstance(failure.value, forbidden.Forbidden)
    assert _watch_state() == before
    # an answer that raises: its error is reported as before, and nothing is left behind
    with pytest.raises(ExerciseFailed, match="raised ZeroDivisionError"):
        _softmax_check(lambda x: 1 / 0)
    assert _watch_state() == before
    torch.softmax(torch.ones(3), -1)  # outside a learner call nothing is watched
    assert _watch_state() == before


def test_an_answer_that_switches_the_watch_off_or_reads_the_solutions_fails():
    with pytest.raises(forbidden.Forbidden, match="changed sys.setprofile"):
        _softmax_check(lambda x: sys.setprofile(None) or _by_hand(x))
    solution = course.source_notebook("01_similarity")
    with pytest.raises(forbidden.Forbidden, match="opened .*01_similarity.ipynb: an answer may not read"):
        _softmax_check(lambda x: solution.read_text() and _by_hand(x))
    assert _watch_state()[1:] == (torch._C._len_torch_function_stack(), [])


def test_a_later_notebook_may_use_an_allowed_block_and_only_the_exercise_under_test_is_restricted(capsys):
    x = torch.arange(24.0).view(1, 3, 8)
    uses_block = lambda x, h: blocks.split_heads(x, h) * 1  # noqa: E731
    cases = [Case("(1, 3, 8) into 2 heads", (x, 2))]
    with forbidden.exercise(forbidden.Rule(allow=(blocks.split_heads,)), "later", uses_block):
        check("later", uses_block, blocks.split_heads, cases)  # a later exercise building on split_heads
    with pytest.raises(forbidden.Forbidden, match="later called autograder.blocks.split_heads"):
        with forbidden.exercise(forbidden.Rule(), "later", uses_block):
            check("later", uses_block, blocks.split_heads, cases)
    # the finished piece itself, handed in as the answer, is never allowed, even where it may be used
    with pytest.raises(forbidden.Forbidden, match="called autograder.blocks.split_heads"):
        with forbidden.exercise(forbidden.Rule(allow=(blocks.split_heads,)), "split", blocks.split_heads):
            check("split", blocks.split_heads, blocks.split_heads, cases)
    # what an allowed block calls is the course's business: blocks.attention calls torch.softmax
    attend = lambda q: blocks.scaled_dot_product_attention(q, q, q)  # noqa: E731
    with forbidden.exercise(forbidden.Rule(families=(forbidden.SOFTMAX,),
                                           allow=(blocks.scaled_dot_product_attention, blocks.attention)),
                            "later", attend):
        check("later", attend, lambda q: blocks.attention(q, q, q)[0], [Case("q", (x,))])
    assert "✔ later" in capsys.readouterr().out


# ---------------------------------------------------------------- every notebook's checks, in-process
CHECK_CALL = re.compile(r"^check\.(\w+)\((\w+)\)$", re.M)
CHECK_MODULE = re.compile(r"^from autograder\.checks import (\w+) as check$", re.M)
DEFINED = re.compile(r"^(?:def|class) (\w+)", re.M)


def _notebook(assignment):
    """(checks module, {check name: (solution grade id, learner object name)}, code cells in order)."""
    cells = [c for c in support.read(course.source_notebook(assignment)).cells if c.cell_type == "code"]
    module_name = next(m.group(1) for c in cells for m in [CHECK_MODULE.search(c.source)] if m)
    defined_in = {name: support.grade_id(c) for c in cells if c.metadata.get("nbgrader", {}).get("solution")
                  for name in DEFINED.findall(c.source)}
    calls = {name: (defined_in[obj], obj) for c in cells for name, obj in CHECK_CALL.findall(c.source)}
    return importlib.import_module(f"autograder.checks.{module_name}"), calls, cells


def _public_functions(module):
    return {name for name, fn in vars(module).items()
            if inspect.isfunction(fn) and not name.startswith("_") and fn.__module__ == module.__name__}


@pytest.mark.parametrize("assignment", course.assignments())
def test_every_public_function_of_a_checks_module_is_a_check_its_notebook_calls(assignment):
    module, calls, _ = _notebook(assignment)
    assert _public_functions(module) == set(calls)


def _namespace(assignment, cells, replace=None):
    """The notebook's imports and every reference answer (or the answer `replace` gives for that
    cell), executed in order, in one namespace."""
    answers = {**support.solution_code(assignment), **(replace or {})}
    namespace = {"__name__": f"notebook_{assignment}"}
    imports = next(c for c in cells if "from autograder.checks import" in c.source)
    for cell in [imports] + [c for c in cells if support.grade_id(c) in answers]:
        exec(answers.get(support.grade_id(cell), cell.source), namespace)
    return namespace


def _drawing(obj):
    """The learner object, drawing from torch's global generator whenever it runs: a check must
    not let it disturb the notebook's random state."""
    if inspect.isclass(obj):
        def forward(self, *args, **kwargs):
            torch.rand(1)
            return obj.forward(self, *args, **kwargs)
        return type(obj.__name__, (obj,), {"forward": forward})

    def learner(*args, **kwargs):
        torch.rand(1)
        return obj(*args, **kwargs)
    return learner


def _failures(check_fn, obj):
    """What the visible and the hidden check say about obj: the messages of their failures."""
    failures = []
    for hidden in (False, True):
        try:
            check_fn(obj, hidden=hidden)
        except ExerciseFailed as failure:
            failures.append(str(failure))
    return failures


@pytest.mark.parametrize("assignment", course.assignments())
def test_checks_pass_the_reference_without_moving_the_global_seed(assignment, capsys):
    module, calls, cells = _notebook(assignment)
    namespace = _namespace(assignment, cells)
    for name, (_, obj) in calls.items():
        torch.manual_seed(2024)
        state = torch.get_rng_state()
        assert _failures(getattr(module, name), _drawing(namespace[obj])) == [], name
        assert torch.equal(torch.get_rng_state(), state), f"{name} moved the global seed on a pass"
    capsys.readouterr()


@pytest.mark.parametrize("assignment", course.assignments())
def test_checks_name_every_catalogued_wrong_answer_without_moving_the_global_seed(assignment, capsys):
    """The in-process twin of test_grading's catalogue test (which runs real nbgrader): fast
    enough to run on every edit of a check."""
    module, calls, cells = _notebook(assignment)
    checks_of = {cell: (name, obj) for name, (cell, obj) in calls.items()}
    for wrong in support.catalogue(assignment).wrong_answers:
        name, obj = checks_of[wrong.cell]
        wrong_namespace = _namespace(assignment, cells, {wrong.cell: wrong.code})
        torch.manual_seed(2024)
        state = torch.get_rng_state()
        failures = _failures(getattr(module, name), wrong_namespace[obj])
        if not any(wrong.hint in failure for failure in failures):  # a hint a later exercise gives
            for later, (_, later_obj) in calls.items():
                if later != name:
                    failures += _failures(getattr(module, later), wrong_namespace[later_obj])
        assert any(wrong.hint in failure for failure in failures), (wrong.name, failures)
        assert torch.equal(torch.get_rng_state(), state), f"{name} moved the global seed on '{wrong.name}'"
    capsys.readouterr()


def test_upstream_names_the_earlier_exercise_only_when_it_is_wrong():
    from autograder.checks import similarity
    from autograder.checks.core import upstream

    def make(dot_product):
        namespace = {"dot_product": dot_product}
        exec("def scaled(a, b):\n    return dot_product(a, b) / len(a) ** 0.5", namespace)
        return namespace["scaled"]

    adapt = lambda fn: lambda a, b: fn(a, b) / len(a) ** 0.5  # noqa: E731
    assert upstream(make(lambda a, b: (a * b).sum()), "dot_product", similarity.dot_product,
                    "exercise 1", adapt) == []
    wrong = upstream(make(lambda a, b: a.sum() * b.sum()), "dot_product", similarity.dot_product,
                     "exercise 1", adapt)
    assert len(wrong) == 1 and wrong[0].hint.startswith("the cause is in exercise 1")
    assert "added each vector up before multiplying" in wrong[0].hint
    assert upstream(lambda a, b: a, "dot_product", similarity.dot_product, "exercise 1", adapt) == []


def test_a_random_answer_is_told_so():
    def noisy(x):
        return x + torch.nn.functional.dropout(torch.ones_like(x), 0.5)

    with pytest.raises(ExerciseFailed, match="something random runs"):
        check("noisy", noisy, lambda x: x + 1, [Case("ones", (torch.ones(50),))])
