"""Grading speed: `mlops-course grade` (sandboxed, parallel) vs plain serial
`nbgrader autograde`.

Copies the example class of m0_setup up to N submissions (the gradable ones: complete,
partial, blank), into identical temporary courses; grades one with
`mlops-course grade` and another with `nbgrader autograde`; prints both wall times,
the ratio, whether the scores agree, the per-submission overhead of the pipeline over
executing the notebook alone, and a sizing note for a whole class.

    .venv/bin/python benchmarks/grading.py [--submissions 20] [--workers 2] [--no-sandbox]
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
    """The example class (m0_setup), or for another module copies of its model answer."""
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    students = []
    for index in range(submissions):
        example = GRADABLE[index % len(GRADABLE)]
        student = f"s{index:03d}-{example}"
        folder = root / "submitted" / student / ASSIGNMENT
        if (REPO / "examples" / "submitted" / example / ASSIGNMENT).is_dir():
            shutil.copytree(REPO / "examples" / "submitted" / example / ASSIGNMENT, folder)
        else:
            folder.mkdir(parents=True)
            shutil.copy(REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", folder)
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


def execute_alone(root: Path, repeats: int = 3) -> float:
    """Median time to execute the complete example notebook with nbclient alone."""
    import statistics

    import nbformat
    from nbclient import NotebookClient

    path = root / "submitted" / "s000-ada" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    for extra in (root / "source" / ASSIGNMENT).iterdir():  # the files the notebook reads
        if extra.is_file() and extra.suffix != ".ipynb" and not (path.parent / extra.name).exists():
            shutil.copy(extra, path.parent / extra.name)
    times = []
    for _ in range(repeats):
        nb = nbformat.read(str(path), as_version=4)
        started = time.perf_counter()
        NotebookClient(nb, timeout=300, allow_errors=True, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    global ASSIGNMENT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-sandbox", action="store_true", help="grade without the container sandbox")
    parser.add_argument("--cpus", default="1", help="sandbox CPUs per notebook (mlops-course grade --cpus)")
    parser.add_argument("--assignment", default=ASSIGNMENT,
                        help="module to grade (default m0_setup, the example class; others: copies of the model answer)")
    args = parser.parse_args()
    ASSIGNMENT = args.assignment
    sandbox = ["--cpus", args.cpus] if not args.no_sandbox else ["--no-sandbox"]
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        ours, plain = Path(tmp, "ours"), Path(tmp, "plain")
        ours.mkdir(), plain.mkdir()
        make_course(ours, args.submissions)
        make_course(plain, args.submissions)
        run([str(bin_dir / "mlops-course"), "release", ASSIGNMENT], ours)
        run([str(bin_dir / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"], plain)
        if not args.no_sandbox:  # build the grading image outside the timed run
            from mlops_course.grading.sandbox import grader_image
            grader_image(log=lambda line: None)
        t_ours = run([str(bin_dir / "mlops-course"), "grade", ASSIGNMENT, "--workers", str(args.workers),
                      "--quiet", *sandbox], ours)
        t_plain = run([str(bin_dir / "nbgrader"), "autograde", ASSIGNMENT], plain)
        same = scores(ours) == scores(plain)
        alone = execute_alone(ours)
    print(f"submissions:                         {args.submissions} ({ASSIGNMENT}, {os.cpu_count()} cores)")
    print(f"mlops-course grade --workers {args.workers}:     {t_ours:7.1f} s  ({t_ours / args.submissions:.2f} s/submission)")
    print(f"nbgrader autograde (serial):         {t_plain:7.1f} s  ({t_plain / args.submissions:.2f} s/submission)")
    print(f"speed-up (nbgrader / mlops-course):  {t_plain / t_ours:7.2f}x")
    print(f"same scores in both gradebooks:      {same}")
    per_submission = t_ours * args.workers / args.submissions
    print(f"executing the notebook alone:        {alone:7.2f} s  (nbclient, kernel start included)")
    print(f"pipeline overhead per submission:    {per_submission - alone:7.2f} s  "
          f"(wall x workers / submissions - alone = {per_submission:.2f} - {alone:.2f})")
    print("sizing, 300 students x 8 modules on a Dask cluster, per-notebook time t:")
    for t in (per_submission, 60.0, 90.0):
        for workers in (8, 32):
            hours = t * 300 * 8 / workers / 3600
            print(f"  t = {t:5.1f} s, {workers:2d} workers: {hours:5.2f} h")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
