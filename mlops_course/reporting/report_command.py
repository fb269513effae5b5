"""`mlops-course report`: the class report.

exports/class_report.csv     student x module (and attempt): score, max, status,
                             level per criterion, counted/proficient, pass
exports/students.csv         one row per student: result, grade, course-level levels
exports/item_analysis.csv    every test: pass rate, point-biserial, upper-lower 27%
exports/class_report.html    self-contained (plots as base64 PNG): score distribution
                             per module, levels per learning goal (heat map), item
                             analysis, resits beside the first attempt
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from mlops_course.errors import ExportError
from mlops_course.settings import TIMEZONE


def cmd_report(args) -> int:
    """Judge the class and write the report; prints the files and the verdict counts."""
    # Imported here: building the command line must not load pandas and matplotlib.
    from mlops_course.course import Course
    from mlops_course.reporting.assess import NO_TIME
    from mlops_course.reporting.collect import load_class
    from mlops_course.reporting.exports import write_report
    from mlops_course.reporting.rubric import load_rubric
    from mlops_course.reporting.tables import verdict_counts

    course = Course.find(getattr(args, "course", None))
    as_of = datetime.fromisoformat(args.as_of) if args.as_of else None
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=ZoneInfo(TIMEZONE))
    result = load_class(course, load_rubric(args.rubric, course=course), as_of=as_of)
    out = Path(args.out) if args.out else course.exports
    if not result.students and _has_rows(out / "students.csv"):
        raise ExportError(
            f"the gradebook has no students: the report in {out} was left as it was "
            "(is MLOPS_COURSE_ROOT or --course the right course?)"
        )
    paths = write_report(result, out)
    for kind, path in paths.items():
        print(f"{kind:>8}: {path}")
    counts = verdict_counts(result)
    print(
        f"{len(result.students)} students: {counts['pass']} pass, {counts['fail']} fail, "
        f"{counts['pending']} pending"
    )
    untimed = [f"{r.student}/{r.module}" for r in result.rows if r.reason.startswith(NO_TIME)]
    if untimed:
        print(
            f"WARNING: {len(untimed)} submission(s) have no submission time (no timestamp.txt when "
            f"graded): {', '.join(untimed)}. They are judged on time and in no demo week; record "
            "the time with `mlops-course submit-time ASSIGNMENT STUDENT 'YYYY-MM-DD HH:MM'`.",
            file=sys.stderr,
        )
    return 0


def _has_rows(csv_file: Path) -> bool:
    """Whether an earlier report wrote students into this file."""
    if not csv_file.is_file():
        return False
    with csv_file.open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip()) > 1


def register(subparsers) -> None:
    """`mlops-course report [--out DIR] [--as-of DATETIME] [--rubric FILE]`."""
    p = subparsers.add_parser(
        "report",
        help="class report: CSV + HTML with levels, statuses, item analysis",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default=None, help="output folder (default: exports/ of the course)")
    p.add_argument(
        "--as-of",
        default=None,
        help="judge deadlines at this moment (ISO; default now, Europe/Brussels when no offset is given)",
    )
    p.add_argument("--rubric", default=None, help="rubric file (default: rubric.yaml of the course)")
    p.set_defaults(func=cmd_report)
