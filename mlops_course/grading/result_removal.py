"""`mlops-course results --remove ASSIGNMENT STUDENT`: undo a result.

Removes what grading made of one submission: the grader's record
(``grading/results/``), the gradebook's submission (its scores, manual grades
included), ``autograded/`` and ``feedback/``. A student nbgrader created while grading
(no roster entry, no name, no email) who has no other submission leaves the gradebook
too, so a mistaken id is not counted by the report. The submission itself
(``submitted/``) is never touched: `grade` grades it again unless it is deleted."""

from __future__ import annotations

import shutil

from mlops_course.course import Course
from mlops_course.errors import ResultError
from mlops_course.grading.students import check_assignment, check_student, known_students, recorded_ids


def check_removal(course: Course, assignment: str, students: list[str]) -> None:
    """Every id known (the roster, submitted/, or a recorded result), before anything goes."""
    check_assignment(course, assignment)
    known = known_students(course) | recorded_ids(course, assignment)
    for student in students:
        check_student(course, student, known)


def remove_result(course: Course, assignment: str, student: str) -> list[str]:
    """Remove ``student``'s result of ``assignment``; returns what was removed."""
    check_removal(course, assignment, [student])
    removed = []
    record = course.result_file(assignment, student)
    if record.is_file():
        record.unlink()
        removed.append(str(record.relative_to(course.root)))
    removed += _remove_from_gradebook(course, assignment, student)
    for folder in (
        course.autograded / student / assignment,
        course.feedback / student / assignment,
    ):
        if folder.is_dir():
            shutil.rmtree(folder)
            removed.append(str(folder.relative_to(course.root)) + "/")
    if not removed:
        raise ResultError(f"{student} has no result of {assignment}: nothing to remove")
    return removed


def _remove_from_gradebook(course: Course, assignment: str, student: str) -> list[str]:
    from nbgrader.api import MissingEntry

    from mlops_course.reporting.store import RosterEntry, gradebook_exists, has_table, open_gradebook

    if not gradebook_exists(course.db_url):
        return []
    removed = []
    with open_gradebook(course) as gb:
        try:
            gb.remove_submission(assignment, student)
            removed.append(f"the gradebook's submission of {assignment} by {student}")
        except MissingEntry:
            pass
        try:
            found = gb.find_student(student)
        except MissingEntry:
            return removed
        on_roster = has_table(gb, RosterEntry) and gb.db.get(RosterEntry, student) is not None
        made_by_grading = not (found.first_name or found.last_name or found.email)
        if not on_roster and made_by_grading and not found.submissions:
            gb.remove_student(student)
            removed.append(f"student {student} from the gradebook (not on the roster, no other submission)")
    return removed
