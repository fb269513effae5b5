"""How long each module's model answer takes to grade in FAST mode, and the course in all.

Grades the source notebook (the model answer) of every module, or of the modules named,
as one student of a temporary course through the real pipeline, in the grading sandbox
by default (m1_docker with the Docker engine handed in, as `--allow-docker-socket`
does). Prints per module the status, the auto-graded score, the seconds the notebook ran
and the wall time of its `grade` run (sandbox start included), then the total, each
against its target: a module's FAST run under 90 s on 2 cores, the whole course under
6 minutes. The exit code is 1 when a module missed full marks or a target. Run it on a
quiet machine: the figures are wall-clock times.

    .venv/bin/python benchmarks/course.py [MODULE ...] [--no-sandbox]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

from seeds import REPO, make_course, manual_cells

MODULE_TARGET_S = 90
COURSE_TARGET_S = 6 * 60


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modules = sorted(p.name for p in (REPO / "source").iterdir() if (p / f"{p.name}.ipynb").is_file())
    parser.add_argument("modules", nargs="*", default=modules, help="assignment ids (default: all)")
    parser.add_argument("--no-sandbox", action="store_true", help="run the notebooks on this machine")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.modules) - set(modules))
    if unknown:
        parser.error(f"no module {', '.join(unknown)} in {REPO / 'source'}")

    from mlops_course.grading.pipeline import Options, grade

    warnings.filterwarnings("ignore", message="Object of type <Submitted")
    where = "no sandbox" if args.no_sandbox else "sandbox"
    print(
        f"{'module':<15} {'status':>7} {'auto score':>11} {'notebook s':>11} {'grade s':>8}  ({where}, FAST)"
    )
    total_notebook = total_wall = 0.0
    ok = True
    for module in args.modules:
        root = Path(tempfile.mkdtemp(prefix=f"course-{module}-"))
        try:
            course = make_course(root, module, ["benchmark"])
            options = Options(
                sandbox=not args.no_sandbox, workers=1, progress=False, fast=True, docker_socket=True
            )
            started = time.perf_counter()
            (result,) = grade(course, module, ["benchmark"], options)
            wall = time.perf_counter() - started
        finally:
            shutil.rmtree(root, ignore_errors=True)
        auto = [v for cell, v in result.cells.items() if cell not in manual_cells(module)]
        score, top = sum(v["score"] for v in auto), sum(v["max_score"] for v in auto)
        full = result.status == "graded" and score == top and top > 0
        within = result.duration_s < MODULE_TARGET_S
        ok &= full and within
        total_notebook += result.duration_s
        total_wall += wall
        print(
            f"{module:<15} {result.status:>7} {score:>5g} of {top:<3g} {result.duration_s:>11.1f} {wall:>8.1f}"
            + ("" if full else "  not full marks")
            + ("" if within else f"  over {MODULE_TARGET_S} s")
            + (f"  ({result.reason})" if result.reason else "")
        )
    within = total_wall < COURSE_TARGET_S
    ok &= within
    print(
        f"{'course':<15} {'':>7} {'':>11} {total_notebook:>11.1f} {total_wall:>8.1f}  "
        f"target: each module < {MODULE_TARGET_S} s, the course < {COURSE_TARGET_S} s"
        + ("" if within else " (missed)")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
