"""The assignment contract of the course, read statically from every source notebook:
the same rules as the course design's contract checker, held by the project itself."""

from __future__ import annotations

import ast
import re

import nbformat
import pytest
from conftest import ASSIGNMENTS, REPO

from mlops_course.settings import LEARNING_GOALS


def load(assignment):
    return nbformat.read(str(REPO / "source" / assignment / f"{assignment}.ipynb"), as_version=4)


def grade_cells(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def is_manual(cell):
    meta = cell.metadata["nbgrader"]
    return cell.cell_type == "markdown" or bool(meta.get("solution"))


@pytest.fixture(params=ASSIGNMENTS)
def assignment(request):
    return request.param


def test_assignment_folder_matches_notebook(assignment):
    assert (REPO / "source" / assignment / f"{assignment}.ipynb").is_file()


def test_enough_auto_and_manual_grades(assignment):
    cells = grade_cells(load(assignment))
    tests = [c for c in cells if not is_manual(c)]
    manual = [c for c in cells if is_manual(c)]
    assert len(tests) >= 5, f"{assignment}: {len(tests)} auto-graded test cells, the contract asks for >= 5"
    assert len(manual) >= 1, f"{assignment}: no manually graded open question"


def test_every_assert_has_a_hint(assignment):
    for cell in grade_cells(load(assignment)):
        if is_manual(cell):
            continue
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        tree = ast.parse(source)
        bare = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert) and node.msg is None]
        assert not bare, (
            f"{assignment}/{cell.metadata.nbgrader.grade_id}: asserts without a hint on lines {bare}"
        )


def test_every_test_cell_starts_with_a_docstring(assignment):
    for cell in grade_cells(load(assignment)):
        if is_manual(cell):
            continue
        doc = ast.get_docstring(ast.parse(cell.source))
        assert doc and "\n" not in doc.strip(), (
            f"{assignment}/{cell.metadata.nbgrader.grade_id}: start the test with a one-line docstring"
        )


def test_every_test_cell_has_visible_and_hidden_tests(assignment):
    for cell in grade_cells(load(assignment)):
        if is_manual(cell):
            continue
        grade_id = cell.metadata.nbgrader.grade_id
        before_hidden = cell.source.split("### BEGIN HIDDEN TESTS")[0]
        assert "### BEGIN HIDDEN TESTS" in cell.source, f"{assignment}/{grade_id}: no hidden tests"
        assert "assert" in before_hidden, f"{assignment}/{grade_id}: no visible test before the hidden ones"


def test_every_grade_cell_names_a_learning_goal(assignment):
    for cell in grade_cells(load(assignment)):
        goal = cell.metadata.get("mlops_course", {}).get("learning_goal")
        assert goal in LEARNING_GOALS, (
            f"{assignment}/{cell.metadata.nbgrader.grade_id}: metadata.mlops_course.learning_goal must be one of LG1..LG5"
        )


def test_grade_ids_are_unique(assignment):
    ids = [c.metadata["nbgrader"]["grade_id"] for c in load(assignment).cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), f"{assignment}: duplicate grade ids"


def test_parameters_cell_sets_fast_and_seed(assignment):
    cells = [c for c in load(assignment).cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{assignment}: exactly one cell tagged `parameters`"
    names = {
        t.id
        for node in ast.walk(ast.parse(cells[0].source))
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    assert {"FAST", "SEED"} <= names, f"{assignment}: the parameters cell must set FAST and SEED"


def test_source_is_stored_clean(assignment):
    """Cleaning changes nothing: no outputs, no execution counts, python3 kernel."""
    nb = load(assignment)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{assignment}: cells {dirty} carry outputs; clear them before committing"
    assert nb.metadata.kernelspec.name == "python3"


def test_no_pip_install_or_star_import(assignment):
    for cell in load(assignment).cells:
        if cell.cell_type != "code":
            continue
        assert not re.search(r"^\s*[!%]\s*pip\s+install", cell.source, re.M), (
            f"{assignment}: pip install in a notebook"
        )
        assert not re.search(r"^\s*from\s+\S+\s+import\s+\*", cell.source, re.M), f"{assignment}: star import"


def test_learning_goals_each_assessed_in_two_modules():
    if len(ASSIGNMENTS) < 8:
        pytest.skip(f"only {len(ASSIGNMENTS)} of 8 modules exist yet")
    modules = {goal: set() for goal in LEARNING_GOALS}
    for assignment in ASSIGNMENTS:
        for cell in grade_cells(load(assignment)):
            goal = cell.metadata.get("mlops_course", {}).get("learning_goal")
            if goal:
                modules[goal].add(assignment)
    thin = {goal: sorted(mods) for goal, mods in modules.items() if len(mods) < 2}
    assert not thin, f"learning goals assessed in fewer than two modules: {thin}"
