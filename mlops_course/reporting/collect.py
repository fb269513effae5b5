"""Read a class from the gradebook (scores, timestamps, due dates), the roster flags,
the resit records and the results ledger (status/reason of every graded submission)
into the plain data that :func:`.assess.evaluate` judges."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from mlops_course.reporting.assess import Attempt, CellScore, ClassResult, Resit, StudentInfo, evaluate
from mlops_course.reporting.rubric import Rubric, course_goals, load_rubric
from mlops_course.reporting.schedule import deadlines_from_gradebook
from mlops_course.reporting.scores import read_roster, read_submissions
from mlops_course.reporting.store import open_gradebook, resits, tiao_flags, to_aware_utc
from mlops_course.settings import MODULES


def course_modules(course, gb=None) -> list[str]:
    """Modules in course order: the study guide's, then any other source assignment."""
    names = set(course.assignments())
    if gb is not None:
        names |= {a.name for a in gb.assignments}
    return [m for m in MODULES if m in names] + sorted(names - set(MODULES))


def read_ledger(course, module: str, student: str) -> dict | None:
    path = Path(course.result_file(module, student))
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def ledger_students(course, modules: list[str]) -> set[str]:
    root = Path(course.grading) / "results"
    return {path.stem for module in modules for path in (root / module).glob("*.json")}


def bulk_submissions(gb, modules: list[str]) -> dict[tuple[str, str], Attempt]:
    """(student, module) -> Attempt for every submission in the gradebook (manual
    grades included: :mod:`.scores`, the one reader of scores)."""
    return {
        key: Attempt(
            graded.student,
            graded.assignment,
            graded.submitted_at,
            {
                name: CellScore(name, cell.score, cell.max_score, cell.needs_manual_grade)
                for name, cell in graded.cells.items()
            },
            extension=graded.extension,
            late_penalty=graded.late_penalty,
        )
        for key, graded in read_submissions(gb, modules).items()
    }


def attempt_to_json(attempt: Attempt) -> str:
    return json.dumps(
        {
            "student": attempt.student,
            "module": attempt.module,
            "submitted_at": attempt.submitted_at.isoformat() if attempt.submitted_at else None,
            "grading_status": attempt.grading_status,
            "reason": attempt.reason,
            "late_penalty": attempt.late_penalty,
            "cells": {k: [c.score, c.max_score, c.needs_manual_grade] for k, c in attempt.cells.items()},
        },
        sort_keys=True,
    )


def attempt_from_json(text: str | None) -> Attempt | None:
    if not text:
        return None
    data = json.loads(text)
    return Attempt(
        data["student"],
        data["module"],
        datetime.fromisoformat(data["submitted_at"]) if data.get("submitted_at") else None,
        {k: CellScore(k, v[0], v[1], bool(v[2])) for k, v in data["cells"].items()},
        grading_status=data.get("grading_status", "graded"),
        reason=data.get("reason"),
        late_penalty=float(data.get("late_penalty") or 0.0),
    )


def read_gradebook(gb, course, modules: list[str]):
    """students, attempts, deadlines, resits from an open gradebook."""
    flags = tiao_flags(gb)
    students = [StudentInfo(s.id, s.name, s.email, flags.get(s.id, False)) for s in read_roster(gb)]
    # A submission the grader could not score never reaches the gradebook: its student
    # is known from the results ledger only.
    known = {s.id for s in students}
    for student in sorted(ledger_students(course, modules) - known):
        students.append(StudentInfo(student, tiao=flags.get(student, False)))
    resit_rows = {(r.student_id, r.assignment): r for r in resits(gb)}
    submissions = bulk_submissions(gb, modules)
    attempts: list[Attempt] = []
    for student in students:
        for module in modules:
            attempt = submissions.get((student.id, module))
            ledger = read_ledger(course, module, student.id)
            status = (ledger or {}).get("status")
            if status == "rejected":  # reviewed tampering: graded, its auto points held at 0
                status = "graded"
            if attempt is None and status == "graded":
                # Scores come from the gradebook only: a result it does not hold is not a grade.
                attempt = Attempt(student.id, module, _iso(ledger.get("submitted_at")))
                attempt.grading_status = "error"
                attempt.reason = (
                    "graded (grading/results/) but the gradebook holds no scores for it: grade it again "
                    f"(mlops-course grade {module} --student {student.id} --force)"
                )
            elif status and status != "graded":
                # The grader did not grade it (any status it records): the ledger explains;
                # the gradebook may hold an older score.
                attempt = attempt or Attempt(student.id, module, _iso(ledger.get("submitted_at")))
                reason = ledger.get("reason") or "grading failed"
                attempt.grading_status = status
                attempt.reason = reason if status == "error" else f"{status}: {reason}"
            if attempt is None:
                continue
            resit = resit_rows.get((student.id, module))
            if resit is not None:
                prepared = to_aware_utc(resit.prepared_at)
                if attempt.submitted_at is not None and attempt.submitted_at > prepared:
                    attempt.attempt = 2
                    attempts.append(attempt)
                first = attempt_from_json(resit.first_attempt)
                if first is not None:
                    attempts.append(first)
                continue
            attempts.append(attempt)
    resit_list = [
        Resit(
            r.student_id,
            r.assignment,
            to_aware_utc(r.prepared_at),
            to_aware_utc(r.deadline),
            attempt_from_json(r.first_attempt),
            r.reasons or "",
        )
        for r in resit_rows.values()
    ]
    return students, attempts, deadlines_from_gradebook(gb), resit_list


def _iso(text):
    """A ledger timestamp (ISO-8601, or nbgrader's "2026-10-01 10:00:00.000000 UTC")."""
    if not text:
        return None
    from nbgrader.utils import parse_utc

    try:
        return to_aware_utc(parse_utc(text))
    except (ValueError, OverflowError):
        return None


def load_class(
    course, rubric: Rubric | None = None, as_of: datetime | None = None, modules: list[str] | None = None
) -> ClassResult:
    """The whole class judged by the rubric (reads the gradebook, never creates it)."""
    rubric = rubric or load_rubric(course=course)
    with open_gradebook(course) as gb:
        modules = modules or course_modules(course, gb)
        goals = course_goals(course, modules)
        students, attempts, deadlines, resit_list = read_gradebook(gb, course, modules)
    return evaluate(students, modules, attempts, goals, rubric, deadlines, as_of, resit_list)
