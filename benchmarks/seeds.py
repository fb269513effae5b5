"""Does a module's model answer score full marks for every student seed?

Grades the source notebook of MODULE (its model answer) as N students of a temporary
course through the real pipeline (`Options(sandbox=False)`): each student gets the seed
`mlops-course grade` derives from the student's id, so N students are N different
seeds. Prints per seed the auto-graded score, the seconds the notebook took and the
failing test cells with the first line of their error; then how many seeds scored full
marks and which cells failed how often. The exit code is 1 when a seed lost a point or
could not be graded, so CI can run it on a sample of seeds.

    .venv/bin/python benchmarks/seeds.py MODULE [--seeds 30] [--first 0] [--workers 1]
        [--full] [--grep REGEX] [--keep]

`--grep` prints, per seed, the output lines of the executed notebook that match (e.g. a
module's own figures, to see how far a result is from its threshold)."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_course(root: Path, module: str, students: list[str]):
    """A course holding only MODULE, released, with its source folder submitted by every
    student."""
    from mlops_course.course import Course
    from mlops_course.grading.release import release

    os.environ.pop("MLOPS_COURSE_DB_URL", None)  # the temporary course's own SQLite gradebook
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc")
    shutil.copytree(REPO / "source" / module, root / "source" / module, ignore=ignore)
    course = Course(root)
    release(course, [module])
    for student in students:
        shutil.copytree(course.source / module, course.submission_dir(student, module), ignore=ignore)
    return course


def manual_cells(module: str) -> set[str]:
    """The grade ids a lecturer grades by hand (answer and grade in one cell): the model
    answer's text earns their points only from the lecturer."""
    import nbformat

    nb = nbformat.read(str(REPO / "source" / module / f"{module}.ipynb"), as_version=4)
    marks = [cell.metadata.get("nbgrader", {}) for cell in nb.cells]
    return {m["grade_id"] for m in marks if m.get("grade") and m.get("solution")}


def cell_errors(executed: Path) -> dict[str, str]:
    """The first line of each failing grade cell's error in an executed notebook."""
    import nbformat

    if not executed.is_file():
        return {}
    errors = {}
    for cell in nbformat.read(str(executed), as_version=4).cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        for output in cell.get("outputs", []):
            if grade_id and output.get("output_type") == "error":
                message = (output.get("evalue") or "").strip().splitlines()
                errors[grade_id] = f"{output.get('ename')}: {message[0] if message else ''}"
    return errors


def output_lines(executed: Path, pattern: re.Pattern) -> list[str]:
    """The printed lines of an executed notebook that match ``pattern``."""
    import nbformat

    if not executed.is_file():
        return []
    lines = []
    for cell in nbformat.read(str(executed), as_version=4).cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            lines += [line for line in text.splitlines() if pattern.search(line)]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", help="an assignment id, e.g. m6_tuning")
    parser.add_argument("--seeds", type=int, default=30, help="number of students (seeds)")
    parser.add_argument("--first", type=int, default=0, help="number of the first student")
    parser.add_argument("--workers", type=int, default=1, help="notebooks graded at once")
    parser.add_argument("--full", action="store_true", help="grade with FAST=False")
    parser.add_argument("--grep", help="print the output lines that match this regular expression")
    parser.add_argument("--keep", action="store_true", help="keep the temporary course")
    args = parser.parse_args(argv)
    if not (REPO / "source" / args.module).is_dir():
        parser.error(f"no module {args.module!r} in {REPO / 'source'}")

    from mlops_course.grading.gradebook import EXECUTED
    from mlops_course.grading.pipeline import Options, grade

    # nbgrader's own SQLAlchemy warnings say nothing about the seeds
    warnings.filterwarnings("ignore", message="Object of type <Submitted")
    students = [f"seed-{n:03d}" for n in range(args.first, args.first + args.seeds)]
    root = Path(tempfile.mkdtemp(prefix=f"seeds-{args.module}-"))
    pattern = re.compile(args.grep) if args.grep else None
    started = time.perf_counter()
    try:
        course = make_course(root, args.module, students)
        options = Options(sandbox=False, workers=args.workers, progress=False, fast=not args.full)
        print(
            f"{args.module}: the model answer graded as {len(students)} students "
            f"({'FAST' if options.fast else 'full'} mode, {args.workers} worker(s), no sandbox)",
            flush=True,
        )
        results = grade(course, args.module, students, options)
        manual = manual_cells(args.module)
        print(f"{'student':>8} {'seed':>10} {'status':>7} {'auto score':>11} {'seconds':>8}  failing cells")
        failed: Counter = Counter()
        full_marks = 0
        for result in results:
            auto = {c: v for c, v in result.cells.items() if c not in manual}
            score = sum(v["score"] for v in auto.values())
            top = sum(v["max_score"] for v in auto.values())
            losing = sorted(c for c, v in auto.items() if v["score"] < v["max_score"])
            executed = course.root / EXECUTED / result.student / args.module
            errors = cell_errors(executed / f"{args.module}.ipynb")
            full_marks += result.status == "graded" and not losing and top > 0
            failed.update(losing)
            print(
                f"{result.student:>8} {result.seed:>10} {result.status:>7} {score:>5g} of {top:<3g} "
                f"{result.duration_s:>8.1f}  {', '.join(losing) or '-'}"
                + (f"  ({result.reason})" if result.reason else "")
            )
            for cell in losing:
                print(f"{'':>30}{cell}: {errors.get(cell, 'no error output')[:200]}")
            if pattern:
                for line in output_lines(executed / f"{args.module}.ipynb", pattern):
                    print(f"{'':>30}| {line}")
        seconds = [r.duration_s for r in results]
        print(
            f"full marks for {full_marks} of {len(results)} seeds; notebook seconds min "
            f"{min(seconds):.1f}, median {statistics.median(seconds):.1f}, max {max(seconds):.1f}; "
            f"{time.perf_counter() - started:.0f} s in all"
        )
        for cell, count in failed.most_common():
            print(f"  {cell}: failed for {count} seed(s)")
        return 0 if full_marks == len(results) else 1
    finally:
        if args.keep:
            print(f"the course is kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
