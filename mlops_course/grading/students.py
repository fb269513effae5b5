"""Who `grade`, `feedback`, `results` and `submit-time` work on: ids checked against
the course before anything is written, so that a typo never creates a phantom student
or grades an assignment that does not exist.

A known assignment is a folder of source/. A known student is on the roster (nbgrader's
students in the gradebook) or has a folder in submitted/. A known student without a
submission of the assignment is *not delivered*: never graded, never a grading error."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlops_course.course import Course
from mlops_course.errors import UnknownAssignment, UnknownStudent


def check_assignment(course: Course, assignment: str) -> None:
    """UnknownAssignment (with the nearest ids) unless ``assignment`` is in source/; an
    empty source/ says what it holds and what nbgrader expects there."""
    known = course.assignments()
    if assignment in known:
        return
    if not known:
        found = sorted(p.name + ("/" if p.is_dir() else "") for p in course.source.iterdir())
        raise UnknownAssignment(
            assignment,
            known,
            f"{course.source} holds no assignment: nbgrader expects source/<assignment>/<notebook>.ipynb "
            f"(found {', '.join(found[:10]) or 'nothing'})",
        )
    raise UnknownAssignment(assignment, known, "not a folder of source/ with a notebook")


def roster_ids(course: Course) -> list[str]:
    """The students in the gradebook ([] before the first roster import or release)."""
    from mlops_course.reporting.scores import read_roster
    from mlops_course.reporting.store import gradebook_exists, open_gradebook

    if not gradebook_exists(course.db_url):
        return []
    with open_gradebook(course) as gb:
        return [student.id for student in read_roster(gb)]


def submitted_ids(course: Course) -> list[str]:
    """Every folder of submitted/ (a student who submitted any assignment)."""
    if not course.submitted.is_dir():
        return []
    return sorted(p.name for p in course.submitted.iterdir() if p.is_dir())


def recorded_ids(course: Course, assignment: str) -> set[str]:
    """The students the grader recorded a result of ``assignment`` for."""
    return {path.stem for path in course.result_file(assignment, "*").parent.glob("*.json")}


def known_students(course: Course) -> set[str]:
    return set(roster_ids(course)) | set(submitted_ids(course))


def check_student(course: Course, student: str, known: set[str] | None = None) -> None:
    """UnknownStudent (with the nearest ids) unless ``student`` is on the roster or in submitted/."""
    known = known_students(course) if known is None else known
    if student not in known:
        raise UnknownStudent(student, known, "neither on the roster nor a folder of submitted/")


@dataclass(frozen=True)
class Selection:
    """The students of one `grade` run."""

    to_grade: list[str]  # with a submission of the assignment
    not_delivered: list[str] = field(default_factory=list)  # known, without a submission


def select_students(course: Course, assignment: str, requested: list[str] | None = None) -> Selection:
    """The students to grade: ``requested`` (each one checked) or every submission;
    known students without a submission are listed apart, never graded."""
    check_assignment(course, assignment)
    with_submission = set(course.students_with_submissions(assignment))
    roster = roster_ids(course)
    if not requested:
        return Selection(sorted(with_submission), sorted(set(roster) - with_submission))
    known = set(roster) | set(submitted_ids(course))
    to_grade, not_delivered = [], []
    for student in dict.fromkeys(requested):  # in the order given, once each
        check_student(course, student, known)
        (to_grade if student in with_submission else not_delivered).append(student)
    return Selection(to_grade, not_delivered)
