"""When a submission was handed in: nbgrader's ``timestamp.txt``.

`nbgrader collect` (and the JupyterHub exchange) keep the time a student submitted in
``submitted/<student>/<assignment>/timestamp.txt``; lateness and the one-demo-a-week
rule are judged on it. A submission copied into submitted/ by hand has none: `grade`
warns, and `mlops-course submit-time ASSIGNMENT STUDENT TIME` records it (in the
file, in the gradebook and in the grader's result, without grading again)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from mlops_course.course import Course
from mlops_course.errors import SubmissionTimeError
from mlops_course.grading import results as ledger
from mlops_course.grading.students import check_assignment, check_student
from mlops_course.infra.files import write_atomic
from mlops_course.settings import TIMEZONE

STAMP = "timestamp.txt"


def missing_timestamps(course: Course, assignment: str, students: list[str]) -> list[str]:
    """The students whose submission has no timestamp.txt (its lateness is unknown)."""
    return [s for s in students if not (course.submission_dir(s, assignment) / STAMP).is_file()]


def parse_time(text: str) -> datetime:
    """``YYYY-MM-DD HH:MM[:SS]`` in Europe/Brussels, or ISO 8601 with an offset."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise SubmissionTimeError(
            f"not a time: {text!r}; write it as YYYY-MM-DD HH:MM ({TIMEZONE}) or ISO 8601 with an offset"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(TIMEZONE))


def stamp_text(moment: datetime) -> str:
    """nbgrader's format (what the exchange writes): UTC with microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def set_submission_time(
    course: Course, assignment: str, student: str, moment: datetime, replace: bool = False
) -> list[str]:
    """Record ``moment`` as the time ``student`` submitted ``assignment``; returns what
    was updated. A time already recorded is replaced only with ``replace``."""
    check_assignment(course, assignment)
    check_student(course, student)
    folder = course.submission_dir(student, assignment)
    if not folder.is_dir():
        raise SubmissionTimeError(
            f"{student} has no submission of {assignment} (no folder {folder.relative_to(course.root)})"
        )
    stamp = folder / STAMP
    if stamp.is_file() and not replace:
        raise SubmissionTimeError(
            f"{stamp.relative_to(course.root)} already records {stamp.read_text().strip()!r}; "
            "add --replace to change it"
        )
    before = ledger.folder_sha(folder)
    text = stamp_text(moment)
    write_atomic(stamp, text)
    updated = [str(stamp.relative_to(course.root))]
    graded_copy = course.autograded / student / assignment / STAMP
    if graded_copy.parent.is_dir():
        write_atomic(graded_copy, text)
        updated.append(str(graded_copy.relative_to(course.root)))
    if _update_gradebook(course, assignment, student, moment):
        updated.append("the gradebook")
    result = ledger.load(course, assignment, student)
    if result is not None:
        result.submitted_at = text
        if result.submission_sha == before:  # only the time changed: the result stays valid
            result.submission_sha = ledger.folder_sha(folder)
        ledger.save(course, result)
        updated.append(str(course.result_file(assignment, student).relative_to(course.root)))
    return updated


def _update_gradebook(course: Course, assignment: str, student: str, moment: datetime) -> bool:
    from nbgrader.api import MissingEntry

    from mlops_course.reporting.store import gradebook_exists, open_gradebook

    if not gradebook_exists(course.db_url):
        return False
    with open_gradebook(course) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return False
        submission.timestamp = moment.astimezone(UTC).replace(tzinfo=None)  # nbgrader: naive UTC
        gb.db.commit()
    return True
