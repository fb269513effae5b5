"""Grading integrity, end to end on m0_setup: cheats earn nothing or are marked
`tampered`; honest notebooks are never flagged; the lecturer's review decides."""

from __future__ import annotations

import nbformat
import pytest
from helpers import ensure_released, nothing_written, put_submission, replace_cells

from mlops_course import cli
from mlops_course.grading import results as ledger
from mlops_course.grading.integrity.scan import scan_cells
from mlops_course.grading.pipeline import Options, grade

pytestmark = pytest.mark.slow
A = "m0_setup"
FIRST_ANSWER = "q_small_box"

# Each is one answer cell of a notebook with nothing else written: a student who wants
# points without the work. The reason must name the trick (second item).
CHEATS = {
    "input-transformer": (
        "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])",
        "input_transformers_cleanup",
    ),
    "replaced-run-cell": (
        "ip = get_ipython()\n_run = ip.run_cell\nip.run_cell = lambda raw_cell, *a, **k: _run('pass', *a, **k)",
        "run_cell",
    ),
    "ast-no-asserts": (
        "import ast\nclass NoAsserts(ast.NodeTransformer):\n    def visit_Assert(self, node):\n"
        "        return ast.Pass()\nget_ipython().ast_transformers.append(NoAsserts())",
        "ast_transformers",
    ),
    "custom-exception-handler": (
        "get_ipython().set_custom_exc((Exception,), lambda shell, etype, evalue, tb, tb_offset=None: None)",
        "set_custom_exc",
    ),
    "pre-run-cell-hook": (
        "def hook(info):\n    get_ipython().user_ns['__builtins__'].__dict__['AssertionError'] = Warning\n"
        "get_ipython().events.register('pre_run_cell', hook)",
        "event",
    ),
    "trace-jumps-asserts": (
        "import sys\ndef tracer(frame, event, arg):\n    if event == 'line':\n"
        "        try:\n            frame.f_lineno = frame.f_lineno + 1\n        except ValueError:\n            pass\n"
        "    return tracer\nsys.settrace(tracer)",
        "settrace",
    ),
    "hidden-traceback": (
        "import sys\nsys.excepthook = lambda *a: None\nget_ipython().showtraceback = lambda *a, **k: None",
        "showtraceback",
    ),
    "built-string-exec": (
        "name = 'input_transformers' + '_cleanup'\n"
        "exec('get_ipython().' + name + '.append(lambda lines: [\"pass\\\\n\"])')",
        "exec",
    ),
    "kernel-do-execute": (
        "k = get_ipython().kernel\n_orig = k.do_execute\n"
        "async def fake(code, silent, *a, **kw):\n    return await _orig('pass', silent, *a, **kw)\nk.do_execute = fake",
        "do_execute",
    ),
    "replaced-import": (
        "import builtins\n_imp = builtins.__import__\nbuiltins.__import__ = lambda name, *a, **k: _imp(name, *a, **k)",
        "__import__",
    ),
    "library-function": ("import numpy as np\nnp.array_equal = lambda *a, **k: True", "numpy.array_equal"),
}

HONEST_EXTRAS = """%matplotlib inline
import logging
import warnings

import matplotlib.pyplot as plt
from IPython.display import display
from tqdm.auto import tqdm

warnings.filterwarnings("ignore", category=DeprecationWarning)
logging.basicConfig(level=logging.INFO)
for _ in tqdm(range(3), disable=True):
    pass
display("ready")
plt.plot([1, 2, 3])
plt.close("all")
"""


def _with_cheat(nb, cheat: str):
    source = next(
        c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == FIRST_ANSWER
    )
    return replace_cells(nb, {FIRST_ANSWER: source + "\n" + cheat})


@pytest.fixture(scope="module")
def graded(course):
    """One grading run: the release with nothing written, each cheat on it, the model
    answer with honest extras, and the model answer with a harmless flagged line."""
    ensure_released(course, A)
    blank = nothing_written(nbformat.read(str(course.release_notebook(A)), as_version=4))
    model = nbformat.read(str(course.source_notebook(A)), as_version=4)
    submissions = {"cheat-" + name: _with_cheat(blank, cheat) for name, (cheat, _) in CHEATS.items()}
    submissions["blank"] = blank
    honest = nbformat.reads(nbformat.writes(model), as_version=4)
    honest.cells.insert(2, nbformat.v4.new_code_cell(HONEST_EXTRAS))
    submissions["honest-extras"] = _with_cheat(honest, "%time x = sum(range(10))")
    submissions["flagged-model-a"] = _with_cheat(model, "import ctypes")
    submissions["flagged-model-b"] = _with_cheat(model, "import ctypes")
    for student, nb in submissions.items():
        put_submission(course, A, student, nb)
    results = grade(
        course, A, list(submissions), Options(sandbox=False, workers=2, cell_timeout=30, progress=False)
    )
    return {r.student: r for r in results}


def auto(result) -> float:
    cells = {**result.cells, **{k: {"score": v} for k, v in result.withheld.items()}}
    return sum(c["score"] for name, c in cells.items() if not name.startswith("open_"))


def test_the_release_with_nothing_written_scores_zero(graded):
    assert graded["blank"].status == "graded" and auto(graded["blank"]) == 0


@pytest.mark.parametrize("name", sorted(CHEATS))
def test_a_cheat_earns_nothing_and_is_named(graded, name):
    result = graded["cheat-" + name]
    assert result.score == 0, f"{name} earned {result.score} points"
    assert result.status == ledger.TAMPERED, f"{name} was not caught: {result.status} {result.reason}"
    assert any(CHEATS[name][1] in finding for finding in result.tampering), result.tampering


def test_honest_work_is_never_flagged(graded):
    """Plots, %time, display, tqdm, warnings filters and logging are what students use."""
    result = graded["honest-extras"]
    assert result.status == "graded" and not result.tampering, result.tampering
    assert result.score == sum(c["max_score"] for n, c in result.cells.items() if not n.startswith("open_"))


def test_a_flagged_submission_holds_its_points_until_the_review(course, graded, capsys):
    held = graded["flagged-model-a"]
    auto_points = sum(c["max_score"] for n, c in held.cells.items() if not n.startswith("open_"))
    assert held.status == ledger.TAMPERED and held.score == 0 and sum(held.withheld.values()) == auto_points
    assert "ctypes" in held.reason
    assert cli.main(["--course", str(course.root), "feedback", A, "--student", "flagged-model-a"]) == 0
    assert "held back: flagged-model-a" in capsys.readouterr().out
    assert not (course.feedback / "flagged-model-a" / A).exists()

    assert cli.main(["--course", str(course.root), "review", A, "flagged-model-a"]) == 0
    assert "ctypes" in capsys.readouterr().out
    assert (
        cli.main(["--course", str(course.root), "review", A, "flagged-model-a", "--accept", "--note", "m5"])
        == 0
    )
    assert cli.main(["--course", str(course.root), "review", A, "flagged-model-b", "--reject"]) == 0

    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb:
        accepted = gb.find_submission(A, "flagged-model-a").score
        rejected = gb.find_submission(A, "flagged-model-b").score
    assert (accepted, rejected) == (auto_points, 0)
    assert ledger.load(course, A, "flagged-model-a").status == "graded"
    assert ledger.load(course, A, "flagged-model-b").status == ledger.REJECTED
    assert cli.main(["--course", str(course.root), "review", A, "blank"]) == 2  # nothing to review


def test_the_scan_reports_cell_and_line():
    found = scan_cells([("q_one", "x = 1\nimport sys\nsys.settrace(None)")])
    assert [str(f) for f in found] == ["q_one, line 3: uses sys.settrace"]


def test_canaries_catch_a_kernel_that_skips_cells_even_without_the_guard(tmp_path):
    """The canaries are a layer of their own: with the guard off, a notebook whose first
    cell makes every later cell `pass` lets its canaries pass, and that is reported."""
    import random

    from mlops_course.grading.execution.jobs import ExecutionJob
    from mlops_course.grading.execution.run_notebook import execute
    from mlops_course.grading.integrity.canaries import add_canaries

    def cell(source, grade_id, **meta):
        made = nbformat.v4.new_code_cell(source)
        made.metadata["nbgrader"] = {"grade_id": grade_id, "locked": False, **meta}
        return made

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        cell(
            "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])", "x", solution=True
        ),
        cell('"""x is one."""\nassert x == 1, "set x"', "test_x", grade=True, points=1),
        cell("y = 2", "y", solution=True),
        cell('"""y is two."""\nassert y == 2, "set y"', "test_y", grade=True, points=1),
    ]
    path = tmp_path / "in.ipynb"
    nbformat.write(add_canaries(nb, random.Random(0), count=2), str(path))
    for guard in (False, True):
        job = ExecutionJob("k", path, tmp_path / f"out-{guard}.ipynb", tmp_path, 30, 120, guard=guard)
        outcome = execute(job)
        executed = nbformat.read(str(job.output), as_version=4)
        assert len(executed.cells) == 4, "the canaries are removed before scoring"
        canary_findings = [f for f in outcome.tampering if "a check that must fail passed" in f]
        if guard:  # the guard restores the kernel first: the canaries fail as they must
            assert canary_findings == [] and any("input_transformers_cleanup" in f for f in outcome.tampering)
        else:
            assert len(canary_findings) == 2, outcome.tampering
