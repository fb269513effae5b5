"""The assignment contract, proven for every folder in source/ (found automatically)."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest
from helpers import (
    ASSIGNMENTS,
    REPO,
    ensure_released,
    manual_grade_ids,
    notebook_requires,
    put_submission,
    require_parts,
)

from mlops_course.grading.pipeline import Options, grade

pytestmark = pytest.mark.slow
NBGRADER = [sys.executable, "-m", "nbgrader"]


@pytest.fixture(params=ASSIGNMENTS)
def assignment(request):
    require_parts(notebook_requires(REPO / "source" / request.param / f"{request.param}.ipynb"))
    return request.param


def test_source_scores_full_marks(assignment, graded_source):
    graded = graded_source(assignment)
    assert graded.result.status == "graded", graded.result.reason
    assert not graded.result.tampering, f"the model answer is flagged: {graded.result.tampering}"
    lost = {
        cell: (graded.scores[cell], graded.max_scores[cell])
        for cell in graded.scores
        if cell not in graded.manual and graded.scores[cell] < graded.max_scores[cell]
    }
    assert not lost, f"the source notebook loses points in {lost}: see {graded.executed}"
    assert graded.auto_max > 0


# No luck (issue 13): the sweep over 30+ seeds per module is benchmarks/seeds.py; here a
# sample of three more students of the modules that grade in seconds, in one run.
@pytest.mark.parametrize("module", ["m0_setup", "m4_kubernetes"])
def test_the_model_answer_scores_full_marks_for_other_seeds(module, course):
    ensure_released(course, module)
    nb = nbformat.read(str(course.source_notebook(module)), as_version=4)
    students = [f"seed-sample-{n}" for n in range(3)]
    for student in students:
        put_submission(course, module, student, nb)
    results = grade(course, module, students, Options(sandbox=False, workers=2, progress=False))
    manual = set(manual_grade_ids(course.source_notebook(module)))
    assert len({r.seed for r in results}) == len(students)
    for r in results:
        lost = [c for c, v in r.cells.items() if c not in manual and v["score"] < v["max_score"]]
        assert r.status == "graded" and not lost, (r.student, r.seed, r.reason, lost)


def test_every_cell_of_the_model_answer_runs_without_error(assignment, graded_source):
    """Given cells too: what nbval checks, read from the grader's execution."""
    executed = nbformat.read(str(graded_source(assignment).executed), as_version=4)
    failing = [
        (index + 1, output.get("ename"), output.get("evalue", "")[:200])
        for index, cell in enumerate(executed.cells)
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not failing, f"cells of the model answer fail when graded: {failing}"


def test_release_with_nothing_written_scores_zero_without_crashing(assignment, graded_release):
    """Every stub replaced by `pass`: no cell hands out points for given code."""
    graded = graded_release(assignment)
    assert graded.result.status == "graded", f"the grader failed on the blank release: {graded.result.reason}"
    earned = {cell: score for cell, score in graded.scores.items() if score > 0}
    assert not earned, (
        f"the release with nothing written earns points in {earned}: those tests pass without an answer"
    )


# nbgrader's own Validate (what a student presses) on one module: for every module the
# graded source (full marks) and the graded release (zero) prove the same at the grader,
# and executing each notebook a third and fourth time would double the suite's time.
VALIDATED = "m0_setup"


def test_nbgrader_validate_source():
    assignment = VALIDATED
    out = subprocess.run(
        NBGRADER + ["validate", f"source/{assignment}/{assignment}.ipynb"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert "Success! Your notebook passes all the tests." in out.stdout, (
        out.stdout[-3000:] + out.stderr[-2000:]
    )


def test_nbgrader_validate_invert_release():
    assignment = VALIDATED
    out = subprocess.run(
        NBGRADER + ["validate", "--invert", f"release/{assignment}/{assignment}.ipynb"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert "Success! The notebook does not pass any tests." in out.stdout, (
        out.stdout[-3000:] + out.stderr[-2000:]
    )


def test_release_is_in_sync_with_source(assignment, course):
    """The committed release/ equals what nbgrader generates from source/ now."""
    ensure_released(course, assignment)
    generated = course.release / assignment
    committed = REPO / "release" / assignment
    generated_files = sorted(p.relative_to(generated) for p in generated.rglob("*") if p.is_file())
    committed_files = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    assert generated_files == committed_files, (
        f"run `mlops-course release {assignment}` and commit release/{assignment}"
    )
    for rel in generated_files:
        assert (generated / rel).read_bytes() == (committed / rel).read_bytes(), (
            f"release/{assignment}/{rel} is out of date: run `mlops-course release {assignment}` and commit it"
        )
