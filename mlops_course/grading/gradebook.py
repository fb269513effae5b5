"""The grader's one door to nbgrader's gradebook.

A grading run reads the gradebook once, at its start: the assignment's notebooks, its
points and the source of every graded or locked cell (``read_assignment`` ->
``AssignmentBook``). Restoring a submission's test cells (``prepare``) works from that
copy. Each graded submission is then written once, by nbgrader autograde
(``score_submission``), which saves the auto grades and applies late penalties; its
scores are read back in the same visit. Only the grading process calls this module,
so the gradebook has one writer."""

from __future__ import annotations

import copy
import os
import shutil
from dataclasses import dataclass, field

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from mlops_course.course import Course
from mlops_course.errors import GradingSetupError, ScoringError
from mlops_course.grading import config as nbconfig

EXECUTED = "grading/executed"  # executed notebooks wait here to be scored
SCORING = "grading/scoring"  # nbgrader writes here; the finished folder then moves to autograded/


# -- the read at the start of a run --------------------------------------------------------


@dataclass(frozen=True)
class SourceCell:
    name: str
    cell_type: str
    locked: bool
    checksum: str | None
    source: str


@dataclass(frozen=True)
class GradedCell:
    name: str
    max_score: float


@dataclass(frozen=True)
class NotebookBook:
    """One notebook of the assignment as the gradebook knows it (the attributes nbgrader's
    own preprocessors read from a gradebook notebook)."""

    name: str
    kernelspec: str | None
    source_cells: tuple[SourceCell, ...]
    grade_cells: tuple[GradedCell, ...]
    task_cells: tuple[GradedCell, ...]
    solution_cells: tuple[SourceCell, ...]


@dataclass(frozen=True)
class AssignmentBook:
    """The assignment's part of the gradebook, read once per grading run. It answers the
    look-ups nbgrader's OverwriteCells makes (``find_notebook``, ``find_source_cell``,
    ``find_graded_cell``) without opening the database again."""

    name: str
    max_score: float
    notebooks: dict[str, NotebookBook] = field(default_factory=dict)

    def find_notebook(self, notebook: str, assignment: str) -> NotebookBook:
        try:
            return self.notebooks[notebook]
        except KeyError:
            raise MissingEntry() from None

    def find_source_cell(self, name: str, notebook: str, assignment: str) -> SourceCell:
        for cell in self.find_notebook(notebook, assignment).source_cells:
            if cell.name == name:
                return cell
        raise MissingEntry()

    def find_graded_cell(self, name: str, notebook: str, assignment: str) -> GradedCell:
        book = self.find_notebook(notebook, assignment)
        for cell in (*book.grade_cells, *book.task_cells):
            if cell.name == name:
                return cell
        raise MissingEntry()


def read_assignment(course: Course, assignment: str) -> AssignmentBook:
    """The assignment's notebooks, points and cells; GradingSetupError if it was never released."""
    try:
        with Gradebook(course.db_url, course.course_id) as gb:
            found = gb.find_assignment(assignment)
            notebooks = {}
            for nb in found.notebooks:
                source = tuple(
                    SourceCell(c.name, c.cell_type, bool(c.locked), c.checksum, c.source)
                    for c in nb.source_cells
                )
                by_name = {cell.name: cell for cell in source}
                notebooks[nb.name] = NotebookBook(
                    name=nb.name,
                    kernelspec=nb.kernelspec,
                    source_cells=source,
                    grade_cells=tuple(GradedCell(c.name, float(c.max_score)) for c in nb.grade_cells),
                    task_cells=tuple(GradedCell(c.name, float(c.max_score)) for c in nb.task_cells),
                    solution_cells=tuple(by_name[c.name] for c in nb.solution_cells if c.name in by_name),
                )
            return AssignmentBook(assignment, float(found.max_score), notebooks)
    except MissingEntry:
        raise GradingSetupError(
            f"assignment {assignment!r} is not in the gradebook: run `mlops-course release {assignment}` first"
        ) from None


# -- the write for each graded submission -------------------------------------------------


@dataclass(frozen=True)
class Scores:
    score: float
    max_score: float
    cells: dict  # cell key -> {"score", "max_score", "needs_manual_grade"}
    notebooks: dict = field(default_factory=dict)  # notebook -> {"score", "max_score"}


def cell_key(notebook: str, grade_id: str, notebooks: int) -> str:
    """A grade cell's key in a result: its grade id, or ``notebook/grade_id`` in an
    assignment of several notebooks (nbgrader allows one grade id in two notebooks)."""
    return grade_id if notebooks == 1 else f"{notebook}/{grade_id}"


def scoring_config(base):
    """nbgrader's sanitise/execute steps already ran (prepare, execution), so autograde
    only copies the executed notebook, saves the auto grades and applies late penalties."""
    config = copy.deepcopy(base)
    config.CourseDirectory.submitted_directory = EXECUTED
    config.CourseDirectory.autograded_directory = SCORING
    config.Autograde.sanitize_preprocessors = [CheckCellMetadata]
    config.Autograde.autograde_preprocessors = [
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    return config


def score_submission(course: Course, config, student: str, assignment: str) -> Scores:
    """Autograde the executed notebooks of ``grading/executed/<student>/<assignment>/``
    into the gradebook, publish them in autograded/, and return the scores."""
    result = nbconfig.api(scoring_config(config)).autograde(assignment, student, force=True, create=True)
    if not result.get("success"):
        raise ScoringError("nbgrader autograde failed: " + nbconfig.failure_reason(result))
    _publish(course, student, assignment)
    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            raise ScoringError(
                f"no graded submission of {student} for {assignment} in the gradebook"
            ) from None
        count = len(submission.notebooks)
        cells = {
            cell_key(notebook.name, grade.name, count): {
                "score": float(grade.score or 0.0),
                "max_score": float(grade.max_score),
                "needs_manual_grade": bool(grade.needs_manual_grade),
            }
            for notebook in submission.notebooks
            for grade in notebook.grades
        }
        notebooks = {
            notebook.name: {"score": float(notebook.score), "max_score": float(notebook.max_score)}
            for notebook in submission.notebooks
        }
        return Scores(float(submission.score), float(submission.max_score), cells, notebooks)


def _publish(course: Course, student: str, assignment: str) -> None:
    """Move the finished autograded folder into autograded/ in one rename, so a killed
    run never leaves a half-written notebook there."""
    staged = course.root / SCORING / student / assignment
    final = course.autograded / student / assignment
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        old = final.with_name(f".{assignment}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
        os.replace(staged, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staged, final)


# -- holding the auto grades of a tampered submission --------------------------------------


def hold_auto_grades(course: Course, assignment: str, student: str) -> dict[str, float]:
    """Set every auto-graded cell's score to 0 as a lecturer's grade (nbgrader counts a
    manual score before the auto score), so exports and reports count no auto points
    until the review; returns the auto scores held back. Open answers are not touched."""
    held = {}
    with Gradebook(course.db_url, course.course_id) as gb:
        notebooks = gb.find_submission(assignment, student).notebooks
        for notebook in notebooks:
            for grade in notebook.grades:
                if grade.auto_score is not None:
                    held[cell_key(notebook.name, grade.name, len(notebooks))] = float(grade.auto_score)
                    grade.manual_score = 0.0
        gb.db.commit()
    return held


def release_auto_grades(course: Course, assignment: str, student: str, cells: list[str]) -> None:
    """Undo :func:`hold_auto_grades` for ``cells``: their auto scores count again."""
    with Gradebook(course.db_url, course.course_id) as gb:
        notebooks = gb.find_submission(assignment, student).notebooks
        for notebook in notebooks:
            for grade in notebook.grades:
                if cell_key(notebook.name, grade.name, len(notebooks)) in cells:
                    grade.manual_score = None
        gb.db.commit()
