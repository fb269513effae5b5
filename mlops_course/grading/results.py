"""One JSON record per graded submission: status, reason, score, seed, per-cell scores.

Written atomically, so an interrupted run never leaves a half-written record."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from mlops_course.course import Course

GRADED = "graded"
ERROR = "error"
TAMPERED = "tampered"  # the integrity checks found something: no auto points until reviewed
REJECTED = "rejected"  # the lecturer reviewed the tampering and upheld it: no auto points


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
    submission_sha: str = ""  # what was graded: resuming skips results whose inputs did not change
    source_sha: str = ""
    final: bool = True  # False for failures of the grader itself: a resumed run tries again
    tampering: list = field(default_factory=list)  # what the integrity checks found
    withheld: dict = field(default_factory=dict)  # grade id -> auto score held back until review
    review: dict = field(default_factory=dict)  # the lecturer's decision: decision, note, at
    notes: list = field(default_factory=list)  # what the grader resolved in a messy notebook
    guard_s: float = 0.0  # seconds the kernel guard took (its cost, for the benchmark)
    notebooks: dict = field(default_factory=dict)  # notebook -> status, reason, score, max_score

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)


def folder_sha(folder: Path) -> str:
    """A digest of every file (name and bytes) in a folder; '' when it does not exist."""
    import hashlib

    if not folder.is_dir():
        return ""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def files_sha(paths: list[Path]) -> str:
    """A digest of several files (names and bytes), e.g. an assignment's source notebooks."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b""))
    return digest.hexdigest()


def file_sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


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
    try:
        return GradeResult(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None  # unreadable: grade again


def load_all(course: Course, assignment: str | None = None) -> list[GradeResult]:
    root = course.grading / "results"
    folders = [root / assignment] if assignment else sorted(p for p in root.glob("*") if p.is_dir())
    found = []
    for folder in folders:
        for path in sorted(folder.glob("*.json")):
            found.append(GradeResult(**json.loads(path.read_text())))
    return found
