"""The `mlops-course` command: a thin shell over the package's steps."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlops_course.course import Course
from mlops_course.errors import CourseError


def _course(args) -> Course:
    return Course.find(getattr(args, "course", None))


def cmd_release(args) -> int:
    from mlops_course.grading.release import release

    for assignment, path in release(_course(args), args.assignments or None).items():
        print(f"released {assignment} -> {path} (no solution or hidden test leaked)")
    return 0


def cmd_grade(args) -> int:
    from mlops_course.grading.execution.sandbox import Limits
    from mlops_course.grading.pipeline import Options, default_workers, grade
    from mlops_course.grading.summary import format_summary

    if args.no_sandbox:
        print(
            "WARNING: --no-sandbox runs student code directly on this machine, with your "
            "permissions, network and files. Use it only for submissions you trust.",
            file=sys.stderr,
        )
    if args.allow_docker_socket and not args.no_sandbox:
        print(
            "WARNING: --allow-docker-socket gives every graded notebook the Docker engine, "
            "which is as powerful as root on this machine (needed for m1_docker).",
            file=sys.stderr,
        )
    options = Options(
        fast=not args.full,
        workers=args.workers or default_workers(),
        cell_timeout=args.cell_timeout,
        wall_clock=args.wall_clock,
        progress=not args.quiet,
        scheduler=args.scheduler,
        sandbox=not args.no_sandbox,
        limits=Limits(memory=args.memory, cpus=args.cpus),
        docker_socket=args.allow_docker_socket,
        force=args.force,
    )
    results = grade(_course(args), args.assignment, args.student or None, options)
    print(format_summary(results))
    return 0


def cmd_feedback(args) -> int:
    from mlops_course.grading.feedback import generate_feedback

    course = _course(args)
    students = generate_feedback(course, args.assignment, args.student or None)
    print(f"feedback for {len(students)} student(s) in {course.feedback}")
    return 0


def cmd_export(args) -> int:
    from mlops_course.grading.export import export_csv

    path = export_csv(_course(args), Path(args.output) if args.output else None, args.assignment)
    print(f"grades written to {path}")
    return 0


def cmd_similarity(args) -> int:
    from mlops_course.grading.similarity import find_similar
    from mlops_course.grading.similarity_page import format_summary, write_outputs

    course = _course(args)
    result = find_similar(course, args.assignment, args.count_model_answer, args.details)
    paths = write_outputs(result, course.exports / "similarity")
    print(format_summary(result, paths))
    return 0


def cmd_check(args) -> int:
    from mlops_course.student.check import check_notebook, format_results

    results = check_notebook(args.notebook, timeout=args.timeout, fast=not args.full)
    print(format_results(results))
    return 0 if all(r.passed is not False for r in results) else 1


def cmd_doctor(args) -> int:
    from mlops_course.doctor import format_checks, run_checks

    checks = run_checks()
    print(format_checks(checks, verbose=args.verbose))
    return 0 if all(c.ok for c in checks if c.required) else 1


def cmd_demo(args) -> int:
    from mlops_course.demo import run_demo

    return run_demo(_course(args), workers=args.workers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlops-course", description=__doc__)
    parser.add_argument("--course", help="course folder (default: the one containing the current folder)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="generate student versions into release/ and check for leaks")
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all in source/)")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("grade", help="autograde the submissions of an assignment")
    p.add_argument("assignment", help="assignment id (its folder in source/)")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        help="notebooks executing at once (default: number of cores); "
        "in the sandbox, as many kernels boot ahead",
    )
    p.add_argument("--full", action="store_true", help="grade with FAST=False (slower, full-size work)")
    p.add_argument(
        "--cell-timeout", type=int, default=None, help="seconds per cell (default: nbgrader_config.py)"
    )
    p.add_argument("--wall-clock", type=int, default=900, help="seconds per whole notebook (default: 900)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--force",
        action="store_true",
        help="grade everything again (default: keep results whose submission and source did not change)",
    )
    p.add_argument(
        "--scheduler",
        nargs="?",
        const="local",
        help="execute on a Dask cluster: an address (tcp://host:8786) or a scheduler file; "
        "`--scheduler` alone (or `local`) starts a LocalCluster with --workers processes",
    )
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run student code directly on this machine (unsafe; trusted submissions only)",
    )
    p.add_argument("--memory", default="3g", help="sandbox memory limit per notebook (default 3g)")
    p.add_argument("--cpus", type=float, default=1.0, help="sandbox CPUs per notebook (default 1)")
    p.add_argument(
        "--allow-docker-socket",
        action="store_true",
        help="give sandboxed notebooks the Docker engine (m1_docker; root-equivalent)",
    )
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("feedback", help="HTML feedback per student (no hidden test code)")
    p.add_argument("assignment", help="assignment id (its folder in source/)")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("export", help="grades CSV (default: exports/grades.csv)")
    p.add_argument("--assignment", help="only this assignment (default: every graded one)")
    p.add_argument("--output", "-o", help="CSV file to write (default: exports/grades.csv)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "similarity",
        help="rank pairs of submissions by the similarity of their own code "
        "(exports/similarity/ASSIGNMENT.csv and .html)",
    )
    p.add_argument("assignment", help="assignment id (its folder in source/)")
    p.add_argument(
        "--count-model-answer",
        action="store_true",
        help="count code that is the lecturer's model answer (source/) too; by default it is "
        "left out like the code the release gives, and each student's share of it is shown",
    )
    p.add_argument(
        "--details",
        type=int,
        default=50,
        help="pairs shown with their shared fragments in the HTML page, from the top (default 50)",
    )
    p.set_defaults(func=cmd_similarity)

    p = sub.add_parser("check", help="self-check a notebook: visible tests, passed/failed with hints")
    p.add_argument("notebook", help="the notebook file to check")
    p.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    p.add_argument("--full", action="store_true", help="run with FAST=False")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("doctor", help="what is installed and reachable, and how to fix it")
    p.add_argument("--verbose", "-v", action="store_true", help="also list every pinned package that matches")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("demo", help="release all, grade the example class, feedback, CSV, summary")
    p.add_argument(
        "--workers", type=int, default=0, help="notebooks executing at once (default: number of cores)"
    )
    p.set_defaults(func=cmd_demo)

    for register in _plugins():
        register(sub)
    return parser


def _plugins():
    """Subcommands that live in their own modules (roster, schedule, report, resit, progress)."""
    from mlops_course.reporting import register as reporting

    return [reporting]


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.filterwarnings("ignore", message=".*not in session.*")  # nbgrader's SQLAlchemy noise
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CourseError as exc:
        print(f"mlops-course: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mlops-course: interrupted; finished results are kept, run again to continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
