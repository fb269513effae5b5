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
    import time

    from mlops_course.grading.pipeline import Options, default_workers, grade
    from mlops_course.grading.students import select_students
    from mlops_course.grading.submission_time import missing_timestamps
    from mlops_course.grading.summary import format_summary, summary_rows

    course = _course(args)
    selection = select_students(course, args.assignment, args.student)  # ids checked before anything runs
    _warn_missing_timestamps(missing_timestamps(course, args.assignment, selection.to_grade), args.assignment)
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
        limits=_limits(args.memory, args.cpus),
        docker_socket=args.allow_docker_socket,
        force=args.force,
    )
    started = time.time_ns()
    results = grade(course, args.assignment, args.student or None, options)
    if results and not any(_recorded_since(course, r, started) for r in results):
        print(
            f"nothing to grade: the {len(results)} result(s) of {args.assignment} are kept "
            "(submission and source unchanged since they were graded; --force grades them again)"
        )
    elif not selection.to_grade:
        who = ", ".join(selection.not_delivered) if args.student else "anyone"
        print(f"nothing to grade: no submission of {args.assignment} by {who} in {course.submitted}")
    print(format_summary(summary_rows(course, args.assignment, results, args.student or None)))
    return 0


def _limits(memory: str | None, cpus: float | None):
    """The sandbox limits given on the command line; None keeps the sandbox's defaults
    (and spares a run with nothing to grade importing the sandbox)."""
    if memory is None and cpus is None:
        return None
    from mlops_course.grading.execution.sandbox import Limits

    given = {"memory": memory, "cpus": cpus}
    return Limits(**{name: value for name, value in given.items() if value is not None})


def _recorded_since(course, result, started_ns: int) -> bool:
    """Whether this run wrote the result (a kept one's file is older)."""
    path = course.result_file(result.assignment, result.student)
    return path.is_file() and path.stat().st_mtime_ns >= started_ns


def _warn_missing_timestamps(students: list[str], assignment: str) -> None:
    if not students:
        return
    print(
        f"WARNING: {len(students)} submission(s) of {assignment} have no timestamp.txt "
        f"(copied by hand?): {', '.join(students)}. Their submission time is unknown, so they "
        "count as on time and in no demo week. Record it with "
        f"`mlops-course submit-time {assignment} STUDENT 'YYYY-MM-DD HH:MM'` (Europe/Brussels), "
        "or collect with `nbgrader collect`, which keeps it.",
        file=sys.stderr,
    )


def cmd_feedback(args) -> int:
    from mlops_course.grading.feedback import generate_feedback, held_for_review
    from mlops_course.reporting.scores import points

    course = _course(args)
    written = generate_feedback(course, args.assignment, args.student or None)
    for item in written:
        note = (
            f"  (not graded by hand yet: {' '.join(item.awaiting_manual_grading)})"
            if item.awaiting_manual_grading
            else ""
        )
        print(f"{item.student:<16} {points(item.score)}/{points(item.max_score)}{note}")
    print(f"feedback for {len(written)} student(s) in {course.feedback}")
    asked = args.student or sorted(p.parent.name for p in course.autograded.glob(f"*/{args.assignment}"))
    for student in held_for_review(course, args.assignment, asked):
        print(f"held back: {student} (awaiting `mlops-course review {args.assignment} {student}`)")
    if any(item.awaiting_manual_grading for item in written):
        print(
            "Some open answers are not graded yet: grade them in formgrader, then run "
            f"`mlops-course feedback {args.assignment}` again before releasing the feedback.",
            file=sys.stderr,
        )
    return 0


def cmd_review(args) -> int:
    from mlops_course.grading import review

    course = _course(args)
    if args.accept or args.reject:
        decision = review.ACCEPT if args.accept else review.REJECT
        result = review.decide(course, args.assignment, args.student, decision, args.note or "")
    else:
        result = review.load_reviewable(course, args.assignment, args.student)
    print(review.describe(result))
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


def cmd_results(args) -> int:
    from mlops_course.errors import ResultError
    from mlops_course.grading.result_removal import check_removal, remove_result
    from mlops_course.grading.students import check_assignment
    from mlops_course.grading.summary import format_summary, summary_rows

    course = _course(args)
    if not args.remove:
        check_assignment(course, args.assignment)
        print(format_summary(summary_rows(course, args.assignment, students=args.students or None)))
        return 0
    if not args.students:
        raise ResultError("results --remove needs the id(s) of the student(s) whose result to remove")
    check_removal(course, args.assignment, args.students)  # one typo: nothing is removed
    for student in args.students:
        for item in remove_result(course, args.assignment, student):
            print(f"removed {item}")
        if course.submission_dir(student, args.assignment).is_dir():
            print(
                f"kept {course.submission_dir(student, args.assignment).relative_to(course.root)}: "
                f"`mlops-course grade {args.assignment}` grades it again (delete the folder if it "
                "does not belong to the class)"
            )
    return 0


def cmd_submit_time(args) -> int:
    from mlops_course.grading.submission_time import parse_time, set_submission_time

    course = _course(args)
    moment = parse_time(args.time)
    for item in set_submission_time(course, args.assignment, args.student, moment, replace=args.replace):
        print(f"updated {item}")
    print(f"{args.student} submitted {args.assignment} at {moment.isoformat(timespec='seconds')}")
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
    p.add_argument(
        "--student",
        action="append",
        help="grade only this student (repeatable): an id of the roster or a folder of submitted/; "
        "a student without a submission is listed as not delivered",
    )
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
    p.add_argument("--memory", default=None, help="sandbox memory limit per notebook (default 3g)")
    p.add_argument("--cpus", type=float, default=None, help="sandbox CPUs per notebook (default 1)")
    p.add_argument(
        "--allow-docker-socket",
        action="store_true",
        help="give sandboxed notebooks the Docker engine (m1_docker; root-equivalent)",
    )
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("feedback", help="HTML feedback per student (no hidden test code)")
    p.add_argument("assignment", help="assignment id (its folder in source/)")
    p.add_argument(
        "--student", action="append", help="only this student (repeatable; one with a graded submission)"
    )
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser(
        "review", help="review a submission the integrity checks flagged: show it, --accept or --reject"
    )
    p.add_argument("assignment", help="assignment id")
    p.add_argument("student", help="student id")
    decision = p.add_mutually_exclusive_group()
    decision.add_argument(
        "--accept", action="store_true", help="a false alarm: the held auto-graded points count"
    )
    decision.add_argument(
        "--reject", action="store_true", help="tampering upheld: the auto-graded points stay 0"
    )
    p.add_argument("--note", help="why (kept with the decision)")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser(
        "export",
        help="grades CSV from the gradebook, manual grades included (default: exports/grades.csv)",
        description="One row per student and assignment: every student of the roster, the "
        "gradebook's score (manual grades included, as in `report`), the grader's status and "
        "reason, the lab status (on_time, late, absent, open, ...). An unknown assignment or "
        "nothing graded is an error, and the previous CSV is kept.",
    )
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
        help="pairs shown with their shared fragments in the HTML page, from the top (default: 50)",
    )
    p.set_defaults(func=cmd_similarity)

    p = sub.add_parser(
        "results",
        help="the class table of an assignment (as after `grade`), or --remove a result",
        description="Without --remove: every student of the roster with the gradebook's score, "
        "the grader's status, the cells awaiting manual grading and the reason. With --remove: "
        "undo the results of STUDENT(s) (the grader's record, the gradebook's submission with "
        "its manual grades, autograded/ and feedback/); submitted/ is kept, so `grade` grades "
        "it again unless you delete it.",
    )
    p.add_argument("assignment", help="assignment id (its folder in source/)")
    p.add_argument(
        "students", nargs="*", metavar="STUDENT", help="only these students (with --remove: required)"
    )
    p.add_argument("--remove", action="store_true", help="remove the results of the STUDENT(s) given")
    p.set_defaults(func=cmd_results)

    p = sub.add_parser(
        "submit-time",
        help="record when a submission copied into submitted/ was handed in (its timestamp.txt)",
        description="Lateness and the one-demo-a-week rule are judged on the submission time "
        "nbgrader keeps in submitted/STUDENT/ASSIGNMENT/timestamp.txt. A submission copied by hand "
        "has none (`grade` warns): this records it in the file, the gradebook and the grader's "
        "result, without grading again.",
    )
    p.add_argument("assignment", help="assignment id (its folder in source/)")
    p.add_argument("student", help="student id (a folder of submitted/)")
    p.add_argument("time", help="YYYY-MM-DD HH:MM in Europe/Brussels, or ISO 8601 with an offset")
    p.add_argument("--replace", action="store_true", help="replace a time already recorded")
    p.set_defaults(func=cmd_submit_time)

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

    from mlops_course.infra.lean_imports import lean_startup

    lean_startup()  # before anything imports nbformat or nbgrader: seconds per command
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
