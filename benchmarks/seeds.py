"""No luck: grade a module's model answer as N students, each with their own seed, and
print per seed the score and the cells that lost points.

    .venv/bin/python benchmarks/seeds.py MODULE [--seeds 30] [--workers 1] [--full] [--keep DIR]

The source notebook (the model answer) is submitted by students ``seed-000``,
``seed-001``, ... of a throwaway copy of the course and graded through the real
pipeline (release, prepare, execute, autograde: ``mlops_course.grading.pipeline.grade``
with ``Options(sandbox=False)``), FAST as grading runs it unless ``--full``. Each
student gets the seed the grader derives from their id (``grading.seeds.student_seed``),
so a seed that fails here is one a real student could draw. Every hidden threshold on a
random outcome must hold for all of them: the model answer must score full auto-graded
marks for every seed (exit code 0), else the failing cells are listed per seed.

A report, not a timed test; on 2 cores a module takes about its FAST time per seed
(``--workers 2`` runs two at once, each then slower). ``--keep DIR`` keeps the course
copy there, with the executed notebooks in ``grading/executed/<student>/``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_course(root: Path, module: str, students: list[str]):
    """A course folder with the module's source and its model answer submitted by every student."""
    from mlops_course.course import Course
    from mlops_course.grading.release import release

    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(
        REPO / "source" / module,
        root / "source" / module,
        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", ".mlops-course-work"),
    )
    course = Course(root)
    release(course, [module])
    answer = course.source_notebook(module)
    for student in students:
        folder = course.submission_dir(student, module)
        folder.mkdir(parents=True)
        shutil.copy(answer, folder / answer.name)
    return course


def lost_cells(result) -> dict[str, tuple[float, float]]:
    """Auto-graded cells below full marks: grade id -> (score, max)."""
    return {
        cell: (value["score"], value["max_score"])
        for cell, value in sorted(result.cells.items())
        if not value.get("needs_manual_grade") and value["score"] < value["max_score"]
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", help="an assignment id, e.g. m5_edge")
    parser.add_argument("--seeds", type=int, default=30, help="how many students (seeds); default 30")
    parser.add_argument("--workers", type=int, default=1, help="notebooks graded at once; default 1")
    parser.add_argument("--full", action="store_true", help="FAST=False (the students' own run)")
    parser.add_argument("--keep", type=Path, help="keep the course copy in this (new) folder")
    args = parser.parse_args(argv)

    from mlops_course.grading.pipeline import Options, grade

    if not (REPO / "source" / args.module / f"{args.module}.ipynb").is_file():
        parser.error(f"no source/{args.module}/{args.module}.ipynb")
    students = [f"seed-{index:03d}" for index in range(args.seeds)]
    root = args.keep or Path(tempfile.mkdtemp(prefix=f"seeds-{args.module}-"))
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        course = make_course(root, args.module, students)
        options = Options(fast=not args.full, workers=args.workers, sandbox=False, force=True)
        results = grade(course, args.module, students, options)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)

    print(f"\n{args.module}: the model answer as {len(results)} students, {'FULL' if args.full else 'FAST'}")
    print(f"{'student':10s} {'seed':>10s} {'status':7s} {'auto':>11s} {'seconds':>8s}  lost points")
    full_marks, durations = 0, []
    for result in results:
        lost = lost_cells(result)
        auto_max = sum(v["max_score"] for v in result.cells.values() if not v.get("needs_manual_grade"))
        auto = sum(v["score"] for v in result.cells.values() if not v.get("needs_manual_grade"))
        ok = result.status == "graded" and not lost and auto_max > 0
        full_marks += ok
        durations.append(result.duration_s)
        detail = ", ".join(f"{cell} {score:g}/{top:g}" for cell, (score, top) in lost.items())
        if result.reason:
            detail = f"{detail}; {result.reason}" if detail else result.reason
        print(
            f"{result.student:10s} {result.seed:>10d} {result.status:7s} {auto:>5g}/{auto_max:<5g} "
            f"{result.duration_s:>8.1f}  {detail or '-'}"
        )
    print(
        f"\nfull auto-graded marks: {full_marks} of {len(results)} seeds; per notebook "
        f"{min(durations):.0f} s min, {statistics.median(durations):.0f} s median, "
        f"{max(durations):.0f} s max; {time.perf_counter() - started:.0f} s in all"
        + (f"; course kept in {root}" if args.keep else "")
    )
    return 0 if full_marks == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
