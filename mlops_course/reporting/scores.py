"""The class's grades as nbgrader's gradebook holds them: the one source of scores for
`grade`'s summary, `export`, `report`, the lecturer dashboard and `feedback`.

A score is what formgrader shows: per grade cell the manual score when a lecturer gave
one, else the auto score (plus extra credit); a submission's score is their sum minus
nbgrader's late penalty (0 unless a late-submission plugin is configured). The
results ledger (``grading/results/``) keeps the grader's own record (status, reason,
seed, timings), never the score a lecturer hands in.

Everything is read in a few queries, whatever the size of the class (the ORM's lazy
loading costs one query per submission and cell)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class CellGrade:
    grade_id: str
    score: float
    max_score: float
    needs_manual_grade: bool = False


@dataclass
class SubmissionGrades:
    """One student's submission of one assignment in the gradebook."""

    student: str
    assignment: str
    submitted_at: datetime | None  # aware UTC; None when nbgrader had no timestamp.txt
    extension: timedelta | None = None
    late_penalty: float = 0.0
    cells: dict[str, CellGrade] = field(default_factory=dict)

    @property
    def raw_score(self) -> float:
        return sum(c.score for c in self.cells.values())

    @property
    def score(self) -> float:
        return max(0.0, self.raw_score - self.late_penalty)

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.cells.values())

    @property
    def awaiting_manual_grading(self) -> list[str]:
        """The grade ids of the cells a lecturer still has to grade in formgrader."""
        return [c.grade_id for c in self.cells.values() if c.needs_manual_grade]


@dataclass(frozen=True)
class RosterStudent:
    id: str
    name: str = ""
    email: str = ""


def _aware(moment: datetime | None) -> datetime | None:
    """nbgrader stores naive UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def read_submissions(gb, assignments: list[str]) -> dict[tuple[str, str], SubmissionGrades]:
    """(student, assignment) -> its grades, for every submission of ``assignments``."""
    from nbgrader.api import Assignment, Grade, GradeCell, SubmittedAssignment, SubmittedNotebook
    from sqlalchemy import func

    if not assignments:
        return {}
    found: dict[tuple[str, str], SubmissionGrades] = {}
    penalty = (
        gb.db.query(
            SubmittedNotebook.assignment_id,
            func.coalesce(func.sum(SubmittedNotebook.late_submission_penalty), 0.0).label("penalty"),
        )
        .group_by(SubmittedNotebook.assignment_id)
        .subquery()
    )
    rows = (
        gb.db.query(
            SubmittedAssignment.student_id,
            Assignment.name,
            SubmittedAssignment.timestamp,
            SubmittedAssignment.extension,
            penalty.c.penalty,
        )
        .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
        .outerjoin(penalty, penalty.c.assignment_id == SubmittedAssignment.id)
        .filter(Assignment.name.in_(assignments))
    )
    for student, assignment, timestamp, extension, late_penalty in rows:
        found[(student, assignment)] = SubmissionGrades(
            student, assignment, _aware(timestamp), extension, float(late_penalty or 0.0)
        )
    grades = (
        gb.db.query(
            SubmittedAssignment.student_id,
            Assignment.name,
            GradeCell.name,
            Grade.score,
            GradeCell.max_score,
            Grade.needs_manual_grade,
        )
        .select_from(Grade)
        .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
        .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
        .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
        .join(GradeCell, Grade.cell_id == GradeCell.id)  # grade cells only: the course has no task cells
        .filter(Assignment.name.in_(assignments))
    )
    for student, assignment, name, score, max_score, manual in grades:
        submission = found.get((student, assignment))
        if submission is not None:
            submission.cells[name] = CellGrade(
                name, float(score or 0.0), float(max_score or 0.0), bool(manual)
            )
    return found


def read_roster(gb) -> list[RosterStudent]:
    """nbgrader's students (the imported roster, and anyone nbgrader graded), by id."""
    from nbgrader.api import Student

    rows = gb.db.query(Student.id, Student.first_name, Student.last_name, Student.email).order_by(Student.id)
    return [
        RosterStudent(sid, " ".join(x for x in (first, last) if x), email or "")
        for sid, first, last, email in rows
    ]


def points(value: float | None) -> str:
    """The one number format of scores and grades, in every table the course prints:
    at most two decimals, no trailing zeros (20, 2.5, 0.67); '-' for no value."""
    if value is None or value != value:  # None or NaN
        return "-"
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
