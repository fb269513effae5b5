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
from datetime import datetime
from zoneinfo import ZoneInfo

from mlops_course.settings import TIMEZONE


def cmd_report(args) -> int:
    """Judge the class and write the report; prints the files and the verdict counts."""
    # Imported here: building the command line must not load pandas and matplotlib.
    from mlops_course.course import Course
    from mlops_course.reporting.collect import load_class
    from mlops_course.reporting.exports import write_report
    from mlops_course.reporting.rubric import load_rubric
    from mlops_course.reporting.tables import verdict_counts

    course = Course.find(getattr(args, "course", None))
    as_of = datetime.fromisoformat(args.as_of) if args.as_of else None
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=ZoneInfo(TIMEZONE))
    result = load_class(course, load_rubric(args.rubric, course=course), as_of=as_of)
    paths = write_report(result, args.out or course.exports)
    for kind, path in paths.items():
        print(f"{kind:>8}: {path}")
    counts = verdict_counts(result)
    print(
        f"{len(result.students)} students: {counts['pass']} pass, {counts['fail']} fail, "
        f"{counts['pending']} pending"
    )
    return 0


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
