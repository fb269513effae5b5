"""`mlops-course export`: the grades to hand in, one CSV row per student and assignment.

Scores come from the gradebook, manual grades included (the same reading as `report`
and the lecturer dashboard: ``reporting.collect.load_class``), so the three agree to
the point. The grader's record (``grading/results/``) adds its status, reason and seed.
Every student of the roster is listed, also without a submission (status
``not delivered``; ``lab_status`` says ``open`` before the deadline, ``absent`` after).

Nothing is replaced by an empty file: an unknown assignment, or one with nothing
graded yet, is an error and the previous CSV is left as it was."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from zoneinfo import ZoneInfo

from mlops_course.course import Course
from mlops_course.errors import ExportError
from mlops_course.grading.students import check_assignment
from mlops_course.infra.files import write_atomic

NOT_DELIVERED = "not delivered"

COLUMNS = [
    "student",
    "name",
    "assignment",
    "attempt",
    "status",
    "lab_status",
    "score",
    "max_score",
    "awaiting_manual_grading",
    "submitted_at",
    "deadline",
    "seed",
    "fast",
    "graded_at",
    "reason",
]


def export_rows(course: Course, assignment: str | None = None, as_of=None) -> list[dict]:
    """The CSV's rows (values as written), sorted by assignment and student."""
    from mlops_course.reporting.collect import course_modules, ledger_students, load_class, read_ledger
    from mlops_course.reporting.scores import points
    from mlops_course.reporting.store import open_gradebook

    if assignment is not None:
        check_assignment(course, assignment)
        modules = [assignment]
    else:
        with open_gradebook(course) as gb:
            modules = course_modules(course, gb)
    result = load_class(course, as_of=as_of, modules=modules)
    tz = ZoneInfo(result.rubric.timezone)
    graded_modules = {a.module for a in result.attempts} | {
        m for m in modules if ledger_students(course, [m])
    }
    attempts = {(a.student, a.module, a.attempt): a for a in result.attempts}
    rows = []
    for module in [m for m in modules if m in graded_modules]:
        for student_id, student in sorted(result.students.items()):
            row = student.modules.get(module)
            if row is None:
                continue
            attempt = attempts.get((student_id, module, row.attempt))
            record = (read_ledger(course, module, student_id) or {}) if attempt else {}
            if attempt is None:
                status = NOT_DELIVERED
            else:
                status = record.get("status") or "graded"  # graded by nbgrader itself: no record
            awaiting = [c.grade_id for c in attempt.cells.values() if c.needs_manual_grade] if attempt else []
            rows.append(
                {
                    "student": student_id,
                    "name": student.student.name,
                    "assignment": module,
                    "attempt": "resit" if row.attempt == 2 else "first",
                    "status": status,
                    "lab_status": row.status,
                    "score": "" if row.score is None else points(row.score),
                    "max_score": "" if row.max_score is None else points(row.max_score),
                    "awaiting_manual_grading": " ".join(awaiting),
                    "submitted_at": _local(row.submitted_at, tz),
                    "deadline": _local(row.deadline, tz),
                    "seed": record.get("seed", ""),
                    "fast": record.get("fast", ""),
                    "graded_at": record.get("graded_at", ""),
                    "reason": row.reason or record.get("reason") or "",
                }
            )
    return rows


def _local(moment, tz) -> str:
    return "" if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def export_csv(course: Course, path: Path | None = None, assignment: str | None = None, as_of=None) -> Path:
    """Write the grades CSV (default ``exports/grades.csv``) in one rename; ExportError
    (and the old file kept) when there is nothing graded to export."""
    path = Path(path) if path else course.exports / "grades.csv"
    rows = export_rows(course, assignment, as_of)
    if not rows:
        what = assignment or "any assignment"
        raise ExportError(
            f"nothing graded of {what} yet: {path} was left as it was (grade first: mlops-course grade ASSIGNMENT)"
        )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return write_atomic(path, buffer.getvalue())
