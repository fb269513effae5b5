"""Messy notebooks grade like clean ones: what an honest student's editing does to the
model answer of m0_setup never costs a point, and the grader says what it resolved."""

from __future__ import annotations

import copy
import json

import nbformat
import pytest
from helpers import ensure_released, put_submission

from mlops_course.grading.pipeline import Options, grade

pytestmark = pytest.mark.slow
A = "m0_setup"


def _at(nb, grade_id: str) -> int:
    return next(
        i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    )


def _copy(model, change):
    nb = copy.deepcopy(model)
    change(nb)
    return nb


def _duplicate(nb, grade_id, before=False, source=None):
    index = _at(nb, grade_id)
    cell = copy.deepcopy(nb.cells[index])
    if source is not None:
        cell.source = source
    nb.cells.insert(index if before else index + 1, cell)


def _move_test_above_answer(nb):
    test = nb.cells.pop(_at(nb, "test_q_cace"))
    nb.cells.insert(_at(nb, "q_cace"), test)


def _drop_ids(nb):
    for cell in nb.cells:
        cell.pop("id", None)
    nb.nbformat_minor = 4


def _add_cells(nb):
    nb.cells.insert(3, nbformat.v4.new_markdown_cell("my notes"))
    nb.cells.insert(5, nbformat.v4.new_code_cell("scratch = [1, 2, 3]"))


def _big_outputs(nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 2_000_000)]


def _copies(nb):
    _duplicate(nb, "q_cace", before=True, source="q_cace = 'z'  # my first try")
    _duplicate(nb, "test_q_pinning")
    _duplicate(nb, "open_technical_debt")


def _edits(nb):
    _move_test_above_answer(nb)
    _add_cells(nb)
    index = _at(nb, "q_pinning")
    nb.cells[index].source += "\n# Ünï — 名前 ✓"
    nb.metadata["kernelspec"] = {"name": "conda-mlops", "display_name": "mlops", "language": "python"}


def _old_jupyter(nb):
    _drop_ids(nb)
    _big_outputs(nb)


# Three students, each with several accidents at once; the notes each must carry.
VARIANTS = {
    "copied-cells": (
        _copies,
        [
            "answer cell q_cace appeared 2 times",
            "test cell test_q_pinning appeared 2 times",
            "open answer cell open_technical_debt appeared 2 times",
        ],
    ),
    "edited-notebook": (_edits, ["test cell test_q_cace was above its answer q_cace"]),
    "old-jupyter-large-outputs": (_old_jupyter, []),
}


@pytest.fixture(scope="module")
def graded(course):
    ensure_released(course, A)
    model = nbformat.read(str(course.source_notebook(A)), as_version=4)
    for student, (change, _) in VARIANTS.items():
        nb = _copy(model, change)
        folder = put_submission(course, A, student)
        text = (
            json.dumps(nb) if student == "no-cell-ids" else nbformat.writes(nb)
        )  # as an older Jupyter saves it
        (folder / f"{A}.ipynb").write_text(text, encoding="utf-8")
    put_submission(course, A, "model", model)
    results = grade(course, A, ["model", *VARIANTS], Options(sandbox=False, workers=2, progress=False))
    return {r.student: r for r in results}


@pytest.mark.parametrize("student", sorted(VARIANTS))
def test_a_messy_notebook_scores_what_the_model_answer_scores(graded, student):
    result, model = graded[student], graded["model"]
    assert result.status == "graded", result.reason
    assert result.score == model.score > 0
    expected = VARIANTS[student][1]
    assert len(result.notes) == len(expected), result.notes
    for words in expected:
        assert any(words in note for note in result.notes), result.notes
