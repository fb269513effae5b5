"""No answer key ships with the package: a function or class that an answer cell defines
is not importable from any module of ``mlops_course`` (students install all of it).

The check is by name: every top-level ``def``/``class`` of every answer cell of every
source notebook, looked up on every imported module. A few course helpers share a
generic name with an answer but do something else; each is listed below, by the module
that defines it, with what it does."""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import types

import nbformat
import pytest
from helpers import ASSIGNMENTS, REPO

import mlops_course

UNRELATED = {
    "evaluate": {
        "mlops_course.labs.cicd.expressions": "evaluates a GitHub Actions expression",
        "mlops_course.labs.edge.tflite_eval": "measures a .tflite file (m3's evaluate scores a fitted model)",
        "mlops_course.reporting.assess": "applies the rubric to a class",
    },
    "register": {
        module: "adds a subcommand to the command line"
        for module in (
            "mlops_course.reporting",
            "mlops_course.reporting.report_command",
            "mlops_course.reporting.resit",
            "mlops_course.reporting.roster",
            "mlops_course.reporting.schedule",
            "mlops_course.student.progress",
        )
    },
}
"""Helpers whose name is also an answer's, by name and defining module: not answers."""


def answer_definitions(assignment: str) -> dict[str, str]:
    """Top-level function and class names of the assignment's answer cells -> grade id."""
    path = REPO / "source" / assignment / f"{assignment}.ipynb"
    names = {}
    for cell in nbformat.read(str(path), as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        code = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        for node in ast.parse(code).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names[node.name] = meta["grade_id"]
    return names


def course_modules() -> list[types.ModuleType]:
    """Every module of the installed package, imported (``__main__`` entry points run on
    import and define nothing). Some set environment variables when imported (e.g.
    TensorFlow's log level): the test process gets its own back."""
    environment = dict(os.environ)
    try:
        return [
            importlib.import_module(info.name)
            for info in pkgutil.walk_packages(mlops_course.__path__, "mlops_course.")
            if not info.name.endswith(".__main__")
        ]
    finally:
        os.environ.clear()
        os.environ.update(environment)


def importable_answers(names: dict[str, str]) -> list[str]:
    """``module.name (grade id)`` for every answer name a course module offers."""
    found = []
    for module in [mlops_course, *course_modules()]:
        for name, grade_id in names.items():
            value = getattr(module, name, None)
            if value is None or isinstance(value, types.ModuleType):  # e.g. the stdlib `select`
                continue
            defined_in = getattr(value, "__module__", module.__name__)
            if defined_in in UNRELATED.get(name, {}):
                continue
            found.append(f"{module.__name__}.{name} (answer cell {grade_id})")
    return found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_answer_is_importable_from_the_package(assignment):
    names = answer_definitions(assignment)
    found = importable_answers(names)
    assert not found, (
        f"{assignment}: answers importable from mlops_course: {found}; move the reference "
        "into the hidden tests (a table of cases), or add the helper to UNRELATED with what "
        "it does if it only shares the name"
    )


def test_the_check_finds_an_answer_a_module_offers(monkeypatch):
    """The lookup is not blind: a helper named like an answer is reported."""
    from mlops_course.labs.k8s import checks

    monkeypatch.setattr(checks, "rollout_bounds", lambda *args: (0, 0), raising=False)
    assert answer_definitions("m4_kubernetes")["rollout_bounds"] == "rollout"
    found = importable_answers({"rollout_bounds": "rollout", "select": "selector"})
    assert found == ["mlops_course.labs.k8s.checks.rollout_bounds (answer cell rollout)"]


def test_every_unrelated_helper_is_named_like_an_answer():
    """The list of exceptions holds only names that some answer really uses."""
    answers = {name for assignment in ASSIGNMENTS for name in answer_definitions(assignment)}
    assert set(UNRELATED) <= answers
