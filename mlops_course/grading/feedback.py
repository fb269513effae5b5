"""Feedback for students: visible test messages and hints, never hidden test code.

nbgrader's ClearHiddenTests removes the hidden asserts from the cells; a failing hidden
assert still leaves its source line in the traceback, so every error output of a grade
cell is reduced to ``ErrorName: message`` (the assert's hint)."""

from __future__ import annotations

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades, NbGraderPreprocessor

from mlops_course.course import Course
from mlops_course.errors import FeedbackError
from mlops_course.grading import config as nbconfig
from mlops_course.grading import results as ledger


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


def generate_feedback(course: Course, assignment: str, students: list[str] | None = None) -> list[str]:
    """HTML feedback into feedback/<student>/<assignment>/ for every autograded student,
    except submissions awaiting an integrity review (``mlops-course review``)."""
    api = nbconfig.api(nbconfig.load_config(course))
    students = students or sorted(p.parent.name for p in course.autograded.glob(f"*/{assignment}"))
    held = set(held_for_review(course, assignment, students))
    written = []
    for student in (s for s in students if s not in held):
        outcome = api.generate_feedback(assignment, student, force=True)
        if not outcome.get("success"):
            raise FeedbackError(f"feedback for {student} failed: {nbconfig.failure_reason(outcome)}")
        written.append(student)
    return written
