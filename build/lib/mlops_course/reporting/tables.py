"""The class report's tables: one row per student, module and attempt
(`class_report.csv`), one row per student (`students.csv`), the filter the lecturer
dashboard applies to the rows, and the pass/fail/pending counts."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

from mlops_course.reporting.assess import ClassResult

VERDICTS = ("pass", "fail", "pending")


def _local(moment: datetime | None, tz: str) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S %z")


def rows_frame(result: ClassResult) -> pd.DataFrame:
    """The CSV: one row per student, module and attempt (1 = first, 2 = resit)."""
    tz = result.rubric.timezone
    records = []
    for r in result.rows:
        student = result.students[r.student]
        rec = {
            "student": r.student,
            "name": student.student.name,
            "tiao": student.student.tiao,
            "module": r.module,
            "attempt": "resit" if r.attempt == 2 else "first",
            "effective": r.effective,
            "status": r.status,
            "counted": r.counted,
            "score": r.score,
            "max_score": r.max_score,
            "submitted_at": _local(r.submitted_at, tz),
            "deadline": _local(r.deadline, tz),
            "demo_week": r.demo_week or "",
            "second_demo_in_week": r.second_demo_in_week,
            "needs_manual_grade": r.needs_manual_grade,
            "proficient": r.proficient,
        }
        for criterion in result.criteria:
            rec[f"level_{criterion}"] = r.levels.get(criterion) or ""
        rec.update(
            {
                "student_result": student.result,
                "student_pass": student.passed,
                "grade": student.grade,
                "reason": r.reason,
            }
        )
        records.append(rec)
    return pd.DataFrame.from_records(records, columns=None if records else ["student", "module"])


def students_frame(result: ClassResult) -> pd.DataFrame:
    """One row per student: result, grade, course-level level per criterion, failing
    and open modules."""
    records = []
    for sid, s in result.students.items():
        rec = {
            "student": sid,
            "name": s.student.name,
            "email": s.student.email,
            "tiao": s.student.tiao,
            "result": s.result,
            "pass": s.passed,
            "grade": s.grade,
            "technical_ok": s.technical_ok,
        }
        for criterion in result.criteria:
            rec[f"level_{criterion}"] = s.course_levels.get(criterion) or ""
        rec["failing_modules"] = " ".join(s.failing_modules)
        rec["open_modules"] = " ".join(s.open_modules)
        records.append(rec)
    return pd.DataFrame.from_records(records, columns=None if records else ["student", "result"])


def verdict_counts(result: ClassResult) -> dict[str, int]:
    """How many students pass, fail and are still pending."""
    return {k: sum(1 for s in result.students.values() if s.result == k) for k in VERDICTS}


def filter_rows(
    rows: pd.DataFrame,
    module: str | None = None,
    student: str | None = None,
    level: str | None = None,
    criterion: str | None = None,
) -> pd.DataFrame:
    """The class report's rows for a module, a student and/or a level (on one criterion,
    or on any criterion); None or "(all)"/"(any)" means no filter."""

    def given(value):
        return value not in (None, "", "(all)", "(any)")

    out = rows
    if given(module):
        out = out[out["module"] == module]
    if given(student):
        out = out[out["student"] == student]
    if given(level):
        columns = (
            [f"level_{criterion}"] if given(criterion) else [c for c in out.columns if c.startswith("level_")]
        )
        columns = [c for c in columns if c in out.columns]
        mask = pd.Series(False, index=out.index)
        for column in columns:
            mask |= out[column] == level
        out = out[mask]
    return out
