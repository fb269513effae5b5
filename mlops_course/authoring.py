"""Building nbgrader notebooks from Python, for course authors.

The committed source notebook stays the source of truth (edit it in JupyterLab with
nbgrader's Create Assignment toolbar, or regenerate it with these helpers). Every cell
gets the metadata nbgrader's schema 3 expects, and every grade cell names the learning
goal it assesses under ``metadata.mlops_course.learning_goal`` (see docs/authoring.md).
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_course.settings import LEARNING_GOALS

if TYPE_CHECKING:
    import nbformat

# A theory question's answer cell and test cell both name the question's kind
# (mlops_course.labs.quiz.questions.QUESTION_KINDS) in ``metadata.mlops_course.question``:
# the release keeps the question's call and drops only its solution lines, and the
# self-check knows that the visible part of its test checks the format only.
QUESTION_KEY = "question"


def _source(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def _nbgrader(
    grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float | None = None
) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if grade:
        meta["points"] = points
    return meta


def _goal(goal: str, criterion: str | None) -> dict:
    if goal not in LEARNING_GOALS:
        raise ValueError(f"unknown learning goal {goal!r}; use one of {sorted(LEARNING_GOALS)}")
    meta = {"learning_goal": goal}
    if criterion:
        meta["criterion"] = criterion
    return meta


def _nbformat():
    import nbformat  # on first use: the CLI's help and roster commands read no notebook

    return nbformat


def markdown(text: str) -> nbformat.NotebookNode:
    """A plain markdown cell (lesson text)."""
    return _nbformat().v4.new_markdown_cell(_source(text))


def code(text: str, *, tags: list[str] | None = None) -> nbformat.NotebookNode:
    """A plain code cell that is neither an answer nor a test (imports, demos)."""
    cell = _nbformat().v4.new_code_cell(_source(text))
    if tags:
        cell.metadata["tags"] = tags
    return cell


def parameters(text: str) -> nbformat.NotebookNode:
    """The papermill `parameters` cell: FAST, SEED and paths; grading injects values."""
    return code(text, tags=["parameters"])


def readonly(grade_id: str, text: str, *, kind: str = "code") -> nbformat.NotebookNode:
    """A locked cell the student cannot change (nbgrader restores it when grading)."""
    cell = (_nbformat().v4.new_code_cell if kind == "code" else _nbformat().v4.new_markdown_cell)(
        _source(text)
    )
    cell.metadata["nbgrader"] = _nbgrader(grade_id, grade=False, solution=False, locked=True)
    cell.metadata["editable"] = False
    cell.metadata["deletable"] = False
    return cell


def answer(grade_id: str, text: str) -> nbformat.NotebookNode:
    """An auto-graded answer cell; code between BEGIN/END SOLUTION is stubbed in the release."""
    cell = _nbformat().v4.new_code_cell(_source(text))
    cell.metadata["nbgrader"] = _nbgrader(grade_id, grade=False, solution=True, locked=False)
    return cell


def question_kind(cell) -> str | None:
    """The kind of question a cell answers or tests (``metadata.mlops_course.question``),
    or None for any other cell."""
    return cell.get("metadata", {}).get("mlops_course", {}).get(QUESTION_KEY)


def question(grade_id: str, text: str, *, kind: str) -> nbformat.NotebookNode:
    """A theory question's answer cell: ``q_x = quiz.<kind>("q_x", ...)``, then the
    model answer between BEGIN/END SOLUTION. The release keeps the call (the widget the
    student answers with) and drops the solution lines without a stub."""
    cell = answer(grade_id, text)
    cell.metadata["mlops_course"] = {QUESTION_KEY: kind}
    return cell


def question_test(
    grade_id: str, text: str, *, points: float, goal: str, kind: str, criterion: str | None = None
) -> nbformat.NotebookNode:
    """A theory question's test: ``quiz.check(...)`` (the format, visible), then
    ``quiz.score(...)`` with the key between BEGIN/END HIDDEN TESTS. The self-check
    reports its visible part as "format OK", never as points earned."""
    cell = test(grade_id, text, points=points, goal=goal, criterion=criterion)
    cell.metadata["mlops_course"][QUESTION_KEY] = kind
    return cell


def test(
    grade_id: str, text: str, *, points: float, goal: str, criterion: str | None = None
) -> nbformat.NotebookNode:
    """A locked, auto-graded test cell. Start it with a one-line docstring (shown in
    feedback); put hidden asserts between ### BEGIN/END HIDDEN TESTS; every assert
    carries a hint message."""
    cell = _nbformat().v4.new_code_cell(_source(text))
    cell.metadata["nbgrader"] = _nbgrader(grade_id, grade=True, solution=False, locked=True, points=points)
    cell.metadata["mlops_course"] = _goal(goal, criterion)
    cell.metadata["editable"] = False
    cell.metadata["deletable"] = False
    return cell


def open_question(
    grade_id: str, text: str, *, points: float, goal: str, criterion: str | None = None
) -> nbformat.NotebookNode:
    """A manually graded markdown answer (graded in formgrader)."""
    cell = _nbformat().v4.new_markdown_cell(_source(text))
    cell.metadata["nbgrader"] = _nbgrader(grade_id, grade=True, solution=True, locked=False, points=points)
    cell.metadata["mlops_course"] = _goal(goal, criterion)
    return cell


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0].strip() if text.strip() else ""


def grade_cell_titles(nb) -> dict[str, str]:
    """What students call each grade cell, by grade id: a test's one-line docstring
    ("Q1: the small box in an ML system.", "Exercise 2: ..."), and for an open question
    the bold lead of the question's own markdown cell before it ("Q10 (open question,
    graded by your lecturer)."), else "open question"."""
    titles, previous_text = {}, ""
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        if meta.get("grade") and cell.cell_type == "code" and not meta.get("solution"):
            try:
                doc = ast.get_docstring(ast.parse(source)) or ""
            except SyntaxError:
                doc = ""
            titles[meta["grade_id"]] = _first_line(doc) or meta["grade_id"]
        elif meta.get("grade"):
            lead = re.search(r"\*\*(.+?)\*\*", previous_text, re.S)
            titles[meta["grade_id"]] = " ".join(lead.group(1).split()) if lead else "open question"
        if cell.cell_type == "markdown" and not meta:
            previous_text = source
    return titles


def notebook(cells: list, *, requires: list[str] | None = None) -> nbformat.NotebookNode:
    """A whole notebook with the python3 kernelspec nbgrader expects.

    ``requires`` names system parts the notebook needs to run end to end
    (e.g. ``["docker"]``); the test suite skips it on a machine without them,
    never in CI."""
    nb = _nbformat().v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    if requires:
        nb.metadata["mlops_course"] = {"requires": list(requires)}
    return nb


def write(nb: nbformat.NotebookNode, path: str | Path) -> Path:
    """Validate and write a notebook without outputs, with stable cell ids."""
    path = Path(path)
    for index, cell in enumerate(nb.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        cell["id"] = (grade_id or f"cell-{index:03d}").replace("_", "-")[:64]
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    _nbformat().validate(nb)
    path.parent.mkdir(parents=True, exist_ok=True)
    _nbformat().write(nb, str(path))
    return path
