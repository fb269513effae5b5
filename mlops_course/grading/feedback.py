"""Feedback for students: visible test messages and hints, never hidden test code.

nbgrader's ClearHiddenTests removes the hidden asserts from the cells; a failing hidden
assert still leaves its source line in the traceback, so every error output of a grade
cell is reduced to ``ErrorName: message`` (the assert's hint). These preprocessors are
set here, whatever the course's nbgrader_config.py says, so `mlops-course feedback`
never leaks. The totals on the page are the gradebook's (nbgrader's GetGrades), manual
grades included: give manual grades in formgrader first, then write the feedback."""

from __future__ import annotations

from dataclasses import dataclass

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades, NbGraderPreprocessor

from mlops_course.course import Course
from mlops_course.errors import FeedbackError, UnknownStudent
from mlops_course.grading import config as nbconfig
from mlops_course.grading import results as ledger
from mlops_course.grading.students import check_assignment, known_students


class ReduceTracebacks(NbGraderPreprocessor):
    """Replace the traceback of every error in a grade cell by its last line."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    message = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".rstrip(": ")
                    output["traceback"] = [message]
        return cell, resources


FEEDBACK_PREPROCESSORS = [GetGrades, ClearHiddenTests, ReduceTracebacks, CSSHTMLHeaderPreprocessor]


def held_for_review(course: Course, assignment: str, students: list[str]) -> list[str]:
    """Students whose submission awaits an integrity review: no feedback until then."""
    held = []
    for student in students:
        result = ledger.load(course, assignment, student)
        if result is not None and result.status == ledger.TAMPERED:
            held.append(student)
    return held


@dataclass(frozen=True)
class Feedback:
    student: str
    score: float | None  # the gradebook's total, as the page shows it
    max_score: float | None
    awaiting_manual_grading: list[str]  # shown as not graded yet on the page


def generate_feedback(course: Course, assignment: str, students: list[str] | None = None) -> list[Feedback]:
    """HTML feedback into feedback/<student>/<assignment>/ for every graded student
    (or ``students``, each of whom must have a graded submission), except submissions
    awaiting an integrity review (``mlops-course review``)."""
    from mlops_course.reporting.scores import read_submissions
    from mlops_course.reporting.store import open_gradebook

    check_assignment(course, assignment)
    graded = sorted(p.parent.name for p in course.autograded.glob(f"*/{assignment}") if p.is_dir())
    if not graded:
        raise FeedbackError(
            f"no graded submission of {assignment} yet: run `mlops-course grade {assignment}` first"
        )
    for student in students or []:
        if student in graded:
            continue
        if student in known_students(course):
            raise FeedbackError(
                f"{student} has no graded submission of {assignment}: no feedback to write "
                f"(see `mlops-course results {assignment}`)"
            )
        raise UnknownStudent(student, graded, f"no graded submission of {assignment}")
    config = nbconfig.load_config(course)
    config.GenerateFeedback.preprocessors = FEEDBACK_PREPROCESSORS
    api = nbconfig.api(config)
    written = []
    held = set(held_for_review(course, assignment, students or graded))
    for student in (s for s in students or graded if s not in held):
        outcome = api.generate_feedback(assignment, student, force=True)
        if not outcome.get("success"):
            raise FeedbackError(f"feedback for {student} failed: {nbconfig.failure_reason(outcome)}")
        written.append(student)
    with open_gradebook(course) as gb:
        scores = read_submissions(gb, [assignment])
    out = []
    for student in written:
        found = scores.get((student, assignment))
        out.append(
            Feedback(
                student,
                found.score if found else None,
                found.max_score if found else None,
                found.awaiting_manual_grading if found else [],
            )
        )
    return out
