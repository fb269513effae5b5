"""One JSON record per graded submission: status, reason, score, seed, per-cell scores.

Written atomically, so an interrupted run never leaves a half-written record."""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..course import Course

GRADED = "graded"
ERROR = "error"


@dataclass
class GradeResult:
    student: str
    assignment: str
    status: str
    seed: int
    score: float = 0.0
    max_score: float = 0.0
    reason: str | None = None
    cells: dict = field(default_factory=dict)
    submitted_at: str | None = None
    graded_at: str = ""
    duration_s: float = 0.0
    fast: bool = True

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def save(course: Course, result: GradeResult) -> Path:
    path = course.result_file(result.assignment, result.student)
    write_atomic(path, result.to_json())
    return path


def load(course: Course, assignment: str, student: str) -> GradeResult | None:
    path = course.result_file(assignment, student)
    if not path.is_file():
        return None
    return GradeResult(**json.loads(path.read_text()))


def load_all(course: Course, assignment: str | None = None) -> list[GradeResult]:
    root = course.grading / "results"
    folders = [root / assignment] if assignment else sorted(p for p in root.glob("*") if p.is_dir())
    found = []
    for folder in folders:
        for path in sorted(folder.glob("*.json")):
            found.append(GradeResult(**json.loads(path.read_text())))
    return found
