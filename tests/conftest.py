"""Fixtures shared by every test: a throwaway copy of the course, and grading of its
source, release and variants (helpers that tests import are in tests/helpers.py).

Tests never touch the repository's own gradebook, submitted/ or autograded/: every
session copies nbgrader_config.py and source/ into a temporary course and releases
the assignments there as tests ask for them."""

from __future__ import annotations

import os
import shutil

import nbformat
import pytest
from helpers import REPO, GradedSubmission, ensure_released, nothing_written, replace_cells, submit_and_grade

from mlops_course.course import Course


def pytest_collection_modifyitems(items):
    """With `pytest -n N --dist loadgroup` (the Makefile's): a file's tests run in one
    worker, so a module fixture (a graded class, a Dask cluster) is made once, not once
    per worker; test_assignments.py is spread by assignment, so each module's model answer
    and blank release are graded once."""
    for item in items:
        params = getattr(item, "callspec", None)
        if item.path.name == "test_assignments.py" and params and "assignment" in params.params:
            group = params.params["assignment"]
        else:
            group = item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def course(tmp_path_factory) -> Course:
    """A copy of the course in a temporary folder, with its own gradebook."""
    os.environ.pop("MLOPS_COURSE_DB_URL", None)
    root = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(
        REPO / "source",
        root / "source",
        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc"),
    )
    return Course(root)


_cache: dict = {}


def _graded_once(course: Course, kind: str, notebook_path, change=lambda nb: nb) -> callable:
    """A function that grades one version of an assignment's notebook (``change``d) as
    a submission, once per assignment and session."""

    def run(assignment: str) -> GradedSubmission:
        key = (kind, assignment)
        if key not in _cache:
            ensure_released(course, assignment)  # the release notebook is made here
            nb = change(nbformat.read(str(notebook_path(assignment)), as_version=4))
            _cache[key] = submit_and_grade(course, assignment, f"{kind}-{assignment}", nb)
        return _cache[key]

    return run


@pytest.fixture(scope="session")
def graded_source(course):
    """Grade the source notebook (solutions filled in) as a submission, once per assignment."""
    return _graded_once(course, "source", course.source_notebook)


@pytest.fixture(scope="session")
def graded_release(course):
    """Grade the release with nothing written (every stub a `pass`) as a submission,
    once per assignment: it must score 0."""
    return _graded_once(course, "release", course.release_notebook, nothing_written)


@pytest.fixture
def grade_variant(course, request):
    """Grade the source notebook with some answer cells replaced: typical mistakes.

    grade_variant("m1_docker", {"dockerfile": "...wrong..."}) -> GradedSubmission
    (.scores / .max_scores by grade cell id)."""
    counter = {"n": 0}

    def run(assignment: str, replacements: dict[str, str], base: str = "source") -> GradedSubmission:
        counter["n"] += 1
        path = course.source_notebook(assignment) if base == "source" else course.release_notebook(assignment)
        nb = replace_cells(nbformat.read(str(path), as_version=4), replacements)
        student = f"variant-{request.node.name}-{counter['n']}"
        student = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in student)[:60]
        return submit_and_grade(course, assignment, student, nb)

    return run
