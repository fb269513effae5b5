"""Shared fixtures: a throwaway copy of the course, grading of source/release/variants.

Tests never touch the repository's own gradebook, submitted/ or autograded/: every
session copies nbgrader_config.py and source/ into a temporary course and releases
all assignments there once."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbval_parts import missing_parts  # shared with the nbval run

from mlops_course.course import Course
from mlops_course.grading.pipeline import Options, grade
from mlops_course.grading.release import release
from mlops_course.settings import in_ci

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = Course(REPO).assignments()


def skip_unless_parts(parts: list[str]) -> None:
    """Call inside a test: skip (or, in CI, fail) when a system part is missing."""
    missing = missing_parts(parts)
    if missing:
        message = f"needs {', '.join(missing)} (see `mlops-course doctor`)"
        if in_ci():
            pytest.fail(f"CI must provide every system part: {message}")
        pytest.skip(message)


@pytest.fixture(scope="session")
def course(tmp_path_factory) -> Course:
    """A released copy of the course in a temporary folder, with its own gradebook."""
    os.environ.pop("MLOPS_COURSE_DB_URL", None)
    root = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(
        REPO / "source",
        root / "source",
        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc"),
    )
    return Course(root)


_released: dict = {}


def ensure_released(course: Course, assignment: str) -> None:
    """Release one assignment into the test course (once per session); a broken
    module fails its own tests only."""
    if assignment not in _released:
        try:
            release(course, [assignment])
            _released[assignment] = None
        except Exception as exc:  # remembered, so each test of the module reports it
            _released[assignment] = exc
    if _released[assignment] is not None:
        raise _released[assignment]


@dataclass
class GradedSubmission:
    result: object
    scores: dict
    max_scores: dict
    executed: Path

    @property
    def auto_score(self) -> float:
        return sum(s for cell, s in self.scores.items() if cell not in self.manual)

    @property
    def auto_max(self) -> float:
        return sum(m for cell, m in self.max_scores.items() if cell not in self.manual)

    manual: frozenset = frozenset()


def put_submission(
    course: Course, assignment: str, student: str, nb=None, name: str | None = None, text: str | None = None
) -> Path:
    """Place one submission in submitted/<student>/<assignment>/ (replacing an earlier
    one): a notebook, raw text (for broken files), or nothing (an empty folder)."""
    folder = course.submission_dir(student, assignment)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    name = name or f"{assignment}.ipynb"
    if nb is not None:
        nbformat.write(nb, str(folder / name))
    if text is not None:
        (folder / name).write_text(text)
    return folder


def submit_and_grade(course: Course, assignment: str, student: str, nb) -> GradedSubmission:
    ensure_released(course, assignment)
    put_submission(course, assignment, student, nb)
    result = grade(course, assignment, [student], Options(sandbox=False, workers=1, progress=False))[0]
    manual = frozenset(manual_grade_ids(course.source_notebook(assignment)))
    return GradedSubmission(
        result=result,
        scores={cell: value["score"] for cell, value in result.cells.items()},
        max_scores={cell: value["max_score"] for cell, value in result.cells.items()},
        executed=course.root / "grading" / "executed" / student / assignment / f"{assignment}.ipynb",
        manual=manual,
    )


def manual_grade_ids(notebook_path: Path) -> list[str]:
    nb = nbformat.read(str(notebook_path), as_version=4)
    ids = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and (meta.get("solution") or cell.cell_type == "markdown"):
            ids.append(meta["grade_id"])
    return ids


def replace_cells(nb, replacements: dict[str, str]):
    """A copy of ``nb`` with the source of the cells named by grade id replaced."""
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    found = set()
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in replacements:
            cell.source = replacements[grade_id]
            found.add(grade_id)
    missing = set(replacements) - found
    if missing:
        raise KeyError(f"no cell with grade id {sorted(missing)}")
    return nb


_cache: dict = {}


def _graded_once(course: Course, kind: str, notebook_path) -> callable:
    """A function that grades one version of an assignment's notebook as a submission,
    once per assignment and session."""

    def run(assignment: str) -> GradedSubmission:
        key = (kind, assignment)
        if key not in _cache:
            nb = nbformat.read(str(notebook_path(assignment)), as_version=4)
            _cache[key] = submit_and_grade(course, assignment, f"{kind}-{assignment}", nb)
        return _cache[key]

    return run


@pytest.fixture(scope="session")
def graded_source(course):
    """Grade the source notebook (solutions filled in) as a submission, once per assignment."""
    return _graded_once(course, "source", course.source_notebook)


@pytest.fixture(scope="session")
def graded_release(course):
    """Grade the blank release as a submission, once per assignment."""
    return _graded_once(course, "release", course.release_notebook)


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
