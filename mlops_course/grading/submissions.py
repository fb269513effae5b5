"""Find submissions and check that each one is a readable notebook with the right name."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from mlops_course.course import Course
from mlops_course.errors import SubmissionError


def read_submitted_notebook(
    course: Course, student: str, assignment: str, notebook: str, siblings: tuple[str, ...] = ()
) -> nbformat.NotebookNode:
    """The submitted ``notebook``; ``siblings`` are the assignment's other notebooks (a
    file with one of their names is no renamed copy of this one)."""
    folder = course.submission_dir(student, assignment)
    if not folder.is_dir():
        raise SubmissionError(f"no submission folder {folder.relative_to(course.root)}")
    path = folder / f"{notebook}.ipynb"
    if not path.is_file():
        others = sorted(p.name for p in folder.glob("*.ipynb") if p.stem not in siblings)
        if others:
            raise SubmissionError(
                f"wrong file name: found {', '.join(others)} but expected {notebook}.ipynb "
                "(the notebook was renamed; submit it under its original name)"
            )
        raise SubmissionError(f"no notebook submitted: {notebook}.ipynb is missing")
    return read_notebook_file(path)


def read_notebook_file(path: Path) -> nbformat.NotebookNode:
    """Read a notebook, turning every way it can be broken into a SubmissionError."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SubmissionError(f"{path.name} is not a text file (not UTF-8): it is not a notebook") from None
    if not text.strip():
        raise SubmissionError(f"{path.name} is empty (0 bytes of notebook JSON)")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(
            f"{path.name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "the file was damaged, e.g. truncated while saving or edited outside Jupyter"
        ) from None
    if not isinstance(raw, dict) or "cells" not in raw:
        raise SubmissionError(f"{path.name} is JSON but not a Jupyter notebook (no 'cells')")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several validation error types
        first = str(exc).splitlines()[0][:200]
        raise SubmissionError(f"{path.name} is not a valid notebook: {first}") from None
    return nb


def submission_timestamp(course: Course, student: str, assignment: str) -> str | None:
    """The collection time nbgrader recorded (timestamp.txt), if any."""
    stamp = course.submission_dir(student, assignment) / "timestamp.txt"
    if stamp.is_file():
        return stamp.read_text().strip() or None
    return None
