"""Killing the grader at any moment and starting it again grades exactly what is
missing: the result equals an uninterrupted run, nothing finished is graded again, and
autograded/ never holds a half-written notebook."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from helpers import REPO
from nbgrader.api import Gradebook

pytestmark = pytest.mark.slow
A = "m0_setup"
EXAMPLES = ["ada", "ben", "cleo"]


def make_course(root: Path, submissions: int) -> None:
    root.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copytree(REPO / "source" / A, root / "source" / A)
    for index in range(submissions):
        example = EXAMPLES[index % len(EXAMPLES)]
        shutil.copytree(
            REPO / "examples" / "submitted" / example / A, root / "submitted" / f"s{index}-{example}" / A
        )
    cli(root, "release", A)


def cli(root: Path, *args: str, **popen) -> subprocess.Popen | subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    command = [sys.executable, "-m", "mlops_course.cli", *args]
    if popen:
        return subprocess.Popen(command, cwd=root, env=env, **popen)
    return subprocess.run(command, cwd=root, env=env, check=True, capture_output=True, text=True, timeout=900)


GRADE = ("grade", A, "--no-sandbox", "--workers", "1", "--quiet")


def results(root: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (root / "grading" / "results" / A).glob("*.json")}


def gradebook(root: Path) -> dict:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "mlops-course") as gb:
        return {
            s.student.id: {g.name: g.score for nb in s.notebooks for g in nb.grades}
            for s in gb.assignment_submissions(A)
        }


def test_a_killed_and_resumed_run_equals_an_uninterrupted_one(tmp_path):
    interrupted, reference = tmp_path / "interrupted", tmp_path / "reference"
    make_course(interrupted, 4)
    make_course(reference, 4)
    cli(reference, "grade", A, "--no-sandbox", "--workers", "2", "--quiet")  # any worker count grades alike

    proc = cli(
        interrupted, *GRADE, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 600
    while len(results(interrupted)) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(1.5)  # land somewhere inside the next submission
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {student: r["graded_at"] for student, r in results(interrupted).items()}
    assert 2 <= len(before) < 4, "the kill should land in the middle of the run"

    for notebook in (interrupted / "autograded").rglob("*.ipynb"):
        nbformat.read(str(notebook), as_version=4)  # whole notebooks only, never half-written

    out = cli(interrupted, *GRADE)
    after = results(interrupted)
    assert set(after) == set(results(reference))
    for student, graded_at in before.items():
        assert after[student]["graded_at"] == graded_at, f"{student} was graded twice"
    keys = ("status", "score", "max_score", "seed", "cells", "reason")
    assert {s: {k: r[k] for k in keys} for s, r in after.items()} == {
        s: {k: r[k] for k in keys} for s, r in results(reference).items()
    }
    assert gradebook(interrupted) == gradebook(reference)
    assert "ada" in out.stdout
