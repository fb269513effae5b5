"""The class table `grade` prints after a run, and `results ASSIGNMENT` at any time:
every student of the roster (submitted or not), the score the gradebook holds (manual
grades included), the grader's status as it recorded it (any status, shown as is),
the cells still to be graded by hand in formgrader, and the reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from mlops_course.course import Course
from mlops_course.grading import results as ledger
from mlops_course.grading.students import recorded_ids

GRADED = ledger.GRADED
NOT_DELIVERED = "not delivered"
NOT_GRADED_YET = "not graded yet"


@dataclass(frozen=True)
class SummaryRow:
    student: str
    score: float | None  # None: no grade to hand in (not delivered, not graded, an error, ...)
    max_score: float | None
    status: str
    manual: list[str] = field(default_factory=list)  # grade ids awaiting manual grading
    reason: str = ""


def summary_rows(
    course: Course,
    assignment: str,
    results: list[ledger.GradeResult] | None = None,
    students: list[str] | None = None,
    now: datetime | None = None,
) -> list[SummaryRow]:
    """One row per student: ``students`` when given, else the roster, every submission
    and every recorded result. ``results`` are this run's (the ledger's otherwise)."""
    from mlops_course.reporting.scores import read_roster, read_submissions
    from mlops_course.reporting.store import gradebook_exists, open_gradebook

    given = {r.student: r for r in results or []}
    roster, graded, due, max_score = [], {}, None, None
    if gradebook_exists(course.db_url):
        with open_gradebook(course) as gb:
            roster = [s.id for s in read_roster(gb)]
            graded = read_submissions(gb, [assignment])
            due, max_score = _assignment(gb, assignment)
    recorded = recorded_ids(course, assignment)
    if students is None:
        students = sorted(
            set(roster) | set(course.students_with_submissions(assignment)) | recorded | set(given)
        )
    now = now or datetime.now(UTC)
    rows = []
    for student in students:
        result = given.get(student) or ledger.load(course, assignment, student)
        book = graded.get((student, assignment))
        if result is not None and result.status != GRADED:
            rows.append(
                SummaryRow(
                    student, None, max_score or result.max_score, result.status, [], result.reason or ""
                )
            )
        elif result is not None or book is not None:
            reason = result.reason if result is not None else "graded outside mlops-course (no result record)"
            if book is None:  # a graded record the gradebook lost: say so rather than invent a score
                rows.append(
                    SummaryRow(student, None, max_score, GRADED, [], "not in the gradebook: grade again")
                )
            else:
                rows.append(
                    SummaryRow(
                        student,
                        book.score,
                        book.max_score,
                        result.status if result else GRADED,
                        book.awaiting_manual_grading,
                        reason or "",
                    )
                )
        elif course.submission_dir(student, assignment).is_dir():
            rows.append(
                SummaryRow(
                    student, None, max_score, NOT_GRADED_YET, [], "submitted: run `mlops-course grade`"
                )
            )
        else:
            rows.append(SummaryRow(student, None, max_score, NOT_DELIVERED, [], _absence(due, now)))
    return rows


def _assignment(gb, assignment: str):
    """(due date as aware UTC or None, max score or None) of the assignment."""
    from nbgrader.api import MissingEntry

    try:
        found = gb.find_assignment(assignment)
    except MissingEntry:
        return None, None
    due = found.duedate.replace(tzinfo=UTC) if found.duedate else None
    return due, float(found.max_score)


def _absence(due: datetime | None, now: datetime) -> str:
    from zoneinfo import ZoneInfo

    from mlops_course.settings import TIMEZONE

    if due is None:
        return "no submission"
    local = due.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M %Z")
    if now > due:
        return f"absent: no submission, and the deadline ({local}) has passed"
    return f"no submission yet (deadline {local})"


def format_summary(rows: list[SummaryRow]) -> str:
    """The table, then what still needs the lecturer (manual grading, errors)."""
    from mlops_course.reporting.scores import points

    table = [("student", "score", "max", "status", "to grade by hand", "reason")]
    for r in rows:
        table.append(
            (r.student, points(r.score), points(r.max_score), r.status, " ".join(r.manual), r.reason)
        )
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    lines = []
    for index, row in enumerate(table):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5])
        if index == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 6)
    waiting = [r.student for r in rows if r.manual]
    if waiting:
        lines.append(
            f"\n{len(waiting)} submission(s) need manual grading in formgrader: {', '.join(waiting)} "
            "(their score is the auto-graded part until then)"
        )
    return "\n".join(line.rstrip() for line in lines)
