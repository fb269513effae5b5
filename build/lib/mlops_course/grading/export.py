"""`mlops-course export`: one CSV row per graded (or failed) submission."""

from __future__ import annotations

import csv
from pathlib import Path

from mlops_course.course import Course
from mlops_course.grading import results as ledger

COLUMNS = [
    "student",
    "assignment",
    "status",
    "score",
    "max_score",
    "seed",
    "fast",
    "submitted_at",
    "graded_at",
    "reason",
]


def export_csv(course: Course, path: Path | None = None, assignment: str | None = None) -> Path:
    path = path or course.exports / "grades.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = ledger.load_all(course, assignment)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for result in sorted(rows, key=lambda r: (r.assignment, r.student)):
            writer.writerow({column: getattr(result, column) for column in COLUMNS})
    return path
