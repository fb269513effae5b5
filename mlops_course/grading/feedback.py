"""Feedback for students: visible test messages and hints, never hidden test code, and
a score that says what it is.

nbgrader's ClearHiddenTests removes the hidden asserts from the cells; a failing hidden
assert still leaves its source line in the traceback, so every error output of a grade
cell is reduced to ``ErrorName: message`` (the assert's hint), or to "not answered"
when the answer is missing. The course's template (``mlops_course/data/templates/
feedback``) labels every entry with its question or exercise title, says
"awaiting your lecturer" for an open answer not graded yet, and calls the total
provisional while any is. These preprocessors are set here, whatever the course's
nbgrader_config.py says, so `mlops-course feedback` never leaks. The totals on the page
are the gradebook's, manual grades included: give manual grades in formgrader first,
then write the feedback."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades, NbGraderPreprocessor

from mlops_course.authoring import grade_cell_titles, question_kind
from mlops_course.course import Course
from mlops_course.errors import FeedbackError, UnknownStudent
from mlops_course.grading import config as nbconfig
from mlops_course.grading import results as ledger
from mlops_course.grading.students import check_assignment, known_students
from mlops_course.settings import data_file

NOT_ANSWERED = "not answered"
NBGRADER_NO_RESPONSE = "No response."  # nbgrader's comment on an answer cell left as released
AWAITING = "awaiting your lecturer"
# Errors that mean the answer is missing: a name never set, a stub left in place, a
# theory question left unanswered (mlops_course.labs.quiz says "not answered yet: ...").
MISSING_ANSWER_ERRORS = {"NameError", "NotImplementedError"}


def _feedback_meta(cell) -> dict:
    return cell.metadata.setdefault("mlops_course", {}).setdefault("feedback", {})


def _unanswered(output) -> bool:
    ename, evalue = output.get("ename", ""), output.get("evalue", "")
    return ename in MISSING_ANSWER_ERRORS or (
        ename == "AnswerFormatError" and evalue.startswith("not answered")
    )


class GetGradesAndState(GetGrades):
    """nbgrader's GetGrades, plus what the template needs to tell the truth: whether an
    answer waits for the lecturer, and how many points do (``resources.nbgrader.pending``)."""

    def preprocess(self, nb, resources):
        resources["nbgrader"]["pending"] = 0.0
        nb, resources = super().preprocess(nb, resources)
        return nb, resources

    def _get_score(self, cell, resources):
        super()._get_score(cell, resources)
        grade = self.gradebook.find_grade(
            cell.metadata["nbgrader"]["grade_id"], self.notebook_id, self.assignment_id, self.student_id
        )
        if grade.needs_manual_grade:
            _feedback_meta(cell)["state"] = AWAITING
            resources["nbgrader"]["pending"] += float(grade.max_score or 0)


class LabelGradeCells(NbGraderPreprocessor):
    """Each grade cell's title (the test's docstring, the open question's lead), and
    "not answered" where the answer is missing. A theory question is answered in its
    widget (answers.json), not by editing its cell: nbgrader's automatic "No response."
    on its unchanged cell would be wrong, so it goes."""

    def preprocess(self, nb, resources):
        self.titles = grade_cell_titles(nb)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if question_kind(cell) and meta.get("solution") and meta.get("comment") == NBGRADER_NO_RESPONSE:
            meta["comment"] = None
        if not meta.get("grade"):
            return cell, resources
        feedback = _feedback_meta(cell)
        feedback["title"] = self.titles.get(meta["grade_id"], meta["grade_id"])
        if cell.cell_type == "markdown" or meta.get("solution"):
            if feedback.get("state") != AWAITING and (
                not cell.source.strip() or cell.source.strip() == "YOUR ANSWER HERE"
            ):
                feedback["state"] = NOT_ANSWERED
        elif any(o.get("output_type") == "error" and _unanswered(o) for o in cell.get("outputs", [])):
            feedback["state"] = NOT_ANSWERED
        return cell, resources


class ReduceTracebacks(NbGraderPreprocessor):
    """An error that means a missing answer becomes "not answered" in every cell; the
    traceback of any other error in a grade cell becomes its last line (the hint)."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        grade = cell.metadata.get("nbgrader", {}).get("grade")
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            if _unanswered(output):
                output["traceback"] = [NOT_ANSWERED]
            elif output.get("ename") == "AnswerFormatError":  # a theory question's own hint
                output["traceback"] = [output.get("evalue", "")]
            elif grade:
                output["traceback"] = [
                    f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".rstrip(": ")
                ]
        return cell, resources


FEEDBACK_PREPROCESSORS = [
    GetGradesAndState,
    LabelGradeCells,
    ClearHiddenTests,
    ReduceTracebacks,
    CSSHTMLHeaderPreprocessor,
]
# The page: nbgrader renders its template "feedback" (its API insists on that name);
# FEEDBACK_TEMPLATE_DIR holds a "feedback" folder too, searched first, whose file
# extends nbgrader's feedback/index.html.j2.
FEEDBACK_TEMPLATE_FILE = "course_feedback.html.j2"
FEEDBACK_TEMPLATE_DIR = data_file("templates")


def nbgrader_template_dir() -> str:
    """nbgrader's own templates (its "feedback" template lives there)."""
    return str(resources.files("nbgrader.server_extensions.formgrader") / "templates")


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
