"""Grading speed: `mlops-course grade` (sandboxed, parallel) vs plain serial
`nbgrader autograde`.

Copies the example class of m0_setup up to N submissions (the gradable ones: complete,
partial, blank), into identical temporary courses; grades one with
`mlops-course grade` and another with `nbgrader autograde` (its submissions given each
student's SEED as `grade` gives it, so both grade the same work); prints both wall times,
the ratio, whether the scores agree, the CPU each costs per submission (the whole
machine's, so the sandbox's containers count; run it on a quiet machine), the
per-submission overhead of the pipeline over executing the notebook alone, and a
sizing note for a whole class.

    .venv/bin/python benchmarks/grading.py [--submissions 20] [--workers 2] [--no-sandbox]
"""

from __future__ import annotations

import argparse
import json
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


def give_student_seeds(root: Path, students: list[str]) -> None:
    """Set each submission's SEED (and FAST) as `mlops-course grade` does, so plain
    nbgrader grades the same work: otherwise it runs every notebook with the source's
    SEED = 42, and an answer computed from SEED (or one typed by hand) scores
    differently for a reason that has nothing to do with either grader."""
    import nbformat

    from mlops_course.grading.prepare import has_parameters, inject_parameters
    from mlops_course.grading.seeds import student_seed

    for student in students:
        folder = root / "submitted" / student / ASSIGNMENT
        for path in folder.glob("*.ipynb"):
            nb = nbformat.read(str(path), as_version=4)
            if has_parameters(nb):
                nb = inject_parameters(nb, {"FAST": True, "SEED": student_seed(student, ASSIGNMENT)})
                nbformat.write(nb, str(path))


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy (containers and the engine included)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def run(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time and machine-wide busy CPU time of one command."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    started, cpu = time.perf_counter(), busy_cpu_seconds()
    subprocess.run(
        command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - started, busy_cpu_seconds() - cpu


def scores(root: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "mlops-course") as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}


def integrity_cost(root: Path, students: list[str]) -> tuple[float, float]:
    """Mean seconds per submission of the integrity defences: the kernel guard's checks
    (recorded in each result) and the static scan with the canaries' insertion (timed
    here, in-process, on the same notebooks)."""
    import random

    import nbformat

    from mlops_course.grading.integrity.canaries import add_canaries
    from mlops_course.grading.integrity.scan import scan_cells, student_cells

    guard = []
    for student in students:
        result = root / "grading" / "results" / ASSIGNMENT / f"{student}.json"
        if result.is_file():
            guard.append(json.loads(result.read_text()).get("guard_s", 0.0))
    started = time.perf_counter()
    for student in students:
        path = root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        if path.is_file():
            nb = nbformat.read(str(path), as_version=4)
            scan_cells(student_cells(nb))
            add_canaries(nb, random.Random(0))
    static = (time.perf_counter() - started) / len(students)
    return (sum(guard) / len(guard) if guard else 0.0), static


def execute_alone(root: Path, students: list[str]) -> tuple[float, float]:
    """Mean wall and busy CPU time to execute the class's notebooks with nbclient alone
    (kernel start included, no grading): each kind of example once, weighted by how
    often it is in the class."""
    import nbformat
    from nbclient import NotebookClient

    kinds = {}
    for student in students:
        kinds.setdefault(student.split("-", 1)[1], []).append(student)
    wall = cpu = 0.0
    for members in kinds.values():
        path = root / "submitted" / members[0] / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        for extra in (root / "source" / ASSIGNMENT).iterdir():  # the files the notebook reads
            if extra.is_file() and extra.suffix != ".ipynb" and not (path.parent / extra.name).exists():
                shutil.copy(extra, path.parent / extra.name)
        nb = nbformat.read(str(path), as_version=4)
        started, busy = time.perf_counter(), busy_cpu_seconds()
        NotebookClient(
            nb,
            timeout=300,
            allow_errors=True,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
        wall += (time.perf_counter() - started) * len(members)
        cpu += (busy_cpu_seconds() - busy) * len(members)
    return wall / len(students), cpu / len(students)


def main() -> int:
    global ASSIGNMENT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-sandbox", action="store_true", help="grade without the container sandbox")
    parser.add_argument("--cpus", default="1", help="sandbox CPUs per notebook (mlops-course grade --cpus)")
    parser.add_argument(
        "--assignment",
        default=ASSIGNMENT,
        help="module to grade (default m0_setup, the example class; others: copies of the model answer)",
    )
    args = parser.parse_args()
    ASSIGNMENT = args.assignment
    sandbox = ["--cpus", args.cpus] if not args.no_sandbox else ["--no-sandbox"]
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        ours, plain = Path(tmp, "ours"), Path(tmp, "plain")
        ours.mkdir(), plain.mkdir()
        students = make_course(ours, args.submissions)
        make_course(plain, args.submissions)
        give_student_seeds(plain, students)
        run([str(bin_dir / "mlops-course"), "release", ASSIGNMENT], ours)
        run([str(bin_dir / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"], plain)
        if not args.no_sandbox:  # build the grading image outside the timed run
            from mlops_course.grading.execution.sandbox import grader_image

            grader_image(log=lambda line: None)
        t_ours, cpu_ours = run(
            [
                str(bin_dir / "mlops-course"),
                "grade",
                ASSIGNMENT,
                "--workers",
                str(args.workers),
                "--quiet",
                *sandbox,
            ],
            ours,
        )
        t_plain, cpu_plain = run([str(bin_dir / "nbgrader"), "autograde", ASSIGNMENT], plain)
        ours_scores, plain_scores = scores(ours), scores(plain)
        same = ours_scores == plain_scores
        differ = {
            s: (ours_scores.get(s), plain_scores.get(s))
            for s in sorted(set(ours_scores) | set(plain_scores))
            if ours_scores.get(s) != plain_scores.get(s)
        }
        if differ:  # which ones, and why (the results ledger has the reason)
            for student, (mine, theirs) in differ.items():
                result = ours / "grading" / "results" / ASSIGNMENT / f"{student}.json"
                reason = json.loads(result.read_text()).get("reason") if result.is_file() else "no result"
                print(f"  {student}: mlops-course {mine}, nbgrader {theirs} ({reason})")
        alone, cpu_alone = execute_alone(ours, students)
        guard_s, static_s = integrity_cost(ours, students)
    n = args.submissions
    mode = "no sandbox" if args.no_sandbox else "sandboxed"
    print(f"submissions:                         {n} ({ASSIGNMENT}, {os.cpu_count()} cores)")
    print(
        f"mlops-course grade --workers {args.workers}:     {t_ours:7.1f} s  ({t_ours / n:.2f} s/submission, "
        f"{mode}; CPU {cpu_ours / n:.2f} s/submission)"
    )
    print(
        f"nbgrader autograde (serial):         {t_plain:7.1f} s  ({t_plain / n:.2f} s/submission; "
        f"CPU {cpu_plain / n:.2f} s/submission)"
    )
    print(f"speed-up (nbgrader / mlops-course):  {t_plain / t_ours:7.2f}x")
    print(f"same scores in both gradebooks:      {same}")
    print(
        f"executing the notebooks alone:       {alone:7.2f} s  per submission (nbclient, kernel start "
        f"included; CPU {cpu_alone:.2f} s)"
    )
    # CPU, not wall time: with kernels booting ahead, wall time hides the sandbox's cost
    print(
        f"pipeline overhead per submission:    {cpu_ours / n - cpu_alone:7.2f} s CPU  "
        f"(CPU per submission - CPU of executing alone = {cpu_ours / n:.2f} - {cpu_alone:.2f})"
    )
    print(
        f"integrity defences per submission:   {guard_s + static_s:7.3f} s  (kernel guard {guard_s:.3f} s + "
        f"scan and canaries {static_s:.3f} s; goal < 0.3 s)"
    )
    per_submission = t_ours * args.workers / n
    print("sizing, 300 students x 8 modules on a Dask cluster, per-notebook time t:")
    for t in (per_submission, 60.0, 90.0):
        for workers in (8, 32):
            hours = t * 300 * 8 / workers / 3600
            print(f"  t = {t:5.1f} s, {workers:2d} workers: {hours:5.2f} h")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
