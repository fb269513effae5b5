"""Grading speed: `mlops-course grade` vs plain serial `nbgrader autograde`.

Copies the example class of m0_setup up to N submissions (the gradable ones: complete,
partial, blank), into two identical temporary courses; grades one with
`mlops-course grade` and the other with `nbgrader autograde`; prints both wall times,
the ratio and whether the scores agree.

    .venv/bin/python benchmarks/grading.py [--submissions 20] [--workers 2]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "m0_setup"
GRADABLE = ["ada", "ben", "cleo"]


def make_course(root: Path, submissions: int) -> list[str]:
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    students = []
    for index in range(submissions):
        example = GRADABLE[index % len(GRADABLE)]
        student = f"s{index:03d}-{example}"
        shutil.copytree(REPO / "examples" / "submitted" / example / ASSIGNMENT,
                        root / "submitted" / student / ASSIGNMENT)
        students.append(student)
    return students


def run(command: list[str], cwd: Path) -> float:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def scores(root: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "mlops-course") as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        ours, plain = Path(tmp, "ours"), Path(tmp, "plain")
        ours.mkdir(), plain.mkdir()
        make_course(ours, args.submissions)
        make_course(plain, args.submissions)
        run([str(bin_dir / "mlops-course"), "release", ASSIGNMENT], ours)
        run([str(bin_dir / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"], plain)
        t_ours = run([str(bin_dir / "mlops-course"), "grade", ASSIGNMENT, "--workers", str(args.workers), "--quiet"], ours)
        t_plain = run([str(bin_dir / "nbgrader"), "autograde", ASSIGNMENT], plain)
        same = scores(ours) == scores(plain)
    print(f"submissions:                         {args.submissions} ({ASSIGNMENT}, {os.cpu_count()} cores)")
    print(f"mlops-course grade --workers {args.workers}:     {t_ours:7.1f} s  ({t_ours / args.submissions:.2f} s/submission)")
    print(f"nbgrader autograde (serial):         {t_plain:7.1f} s  ({t_plain / args.submissions:.2f} s/submission)")
    print(f"speed-up (nbgrader / mlops-course):  {t_plain / t_ours:7.2f}x")
    print(f"same scores in both gradebooks:      {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
