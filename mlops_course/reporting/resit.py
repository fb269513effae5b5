"""`mlops-course resit STUDENT`: the study guide's second exam opportunity.

Design: the resit of a module is the *same* nbgrader assignment (same source, same
release, same grading path: collect -> grade -> gradebook), handed to one student as
an individual assignment. Preparing a resit

1. lists the modules where the student is not yet proficient: absent, late, not
   counted (second demo in a week), grading error, or a technical criterion below
   proficient;
2. for exactly those modules, records a resit in the gradebook database
   (table ``mlops_course_resit``, one transaction) with a snapshot of the first
   attempt (scores per grade cell, timestamp, status) and the resit deadline
   (default: none, the oral exam decides);
3. writes the student's assignment sheet ``exports/resit/<student>/resit.md`` and
   copies the student version of each module (``release/<module>/``) beside it.

The student resubmits the module as usual; a submission made after the resit was
prepared is the resit attempt (attempt 2). The report judges it against the resit
deadline (no weekly demo limit), shows it beside the first attempt (kept in the
snapshot, since nbgrader keeps one submission per student and assignment) and
uses it for the pass rule."""

from __future__ import annotations

import argparse
import shutil
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from mlops_course.errors import UnknownStudent
from mlops_course.settings import TIMEZONE

if TYPE_CHECKING:
    from mlops_course.reporting.assess import ModuleResult

# The gradebook and the rubric are imported by the functions that use them: building
# the command line (`mlops-course --help`) must not load SQLAlchemy.


def why(result: ModuleResult, rubric) -> str:
    if not result.counted:
        return f"{result.status}: {result.reason}" if result.reason else result.status
    below = [
        c
        for c, lv in result.levels.items()
        if lv is not None and rubric.is_technical(c) and not rubric.at_least_proficient(lv)
    ]
    return "not yet proficient on " + ", ".join(below)


def plan_resit(course, student: str, as_of: datetime | None = None, rubric=None) -> list[tuple[str, str]]:
    """(module, reason) for every module the student failed at the first attempt
    (absent, late, not counted, grading error, or a technical criterion below
    proficient); [] when none."""
    from mlops_course.reporting.assess import OPEN
    from mlops_course.reporting.collect import load_class
    from mlops_course.reporting.rubric import load_rubric

    rubric = rubric or load_rubric(course=course)
    result = load_class(course, rubric, as_of=as_of)
    if student not in result.students:
        raise UnknownStudent(student, result.students, "not in the gradebook")
    firsts = [r for r in result.rows if r.student == student and r.attempt == 1]
    return [(r.module, why(r, rubric)) for r in firsts if not r.proficient and r.status != OPEN]


def prepare_resit(
    course,
    student: str,
    deadline: datetime | None = None,
    as_of: datetime | None = None,
    dry_run: bool = False,
    rubric=None,
) -> dict:
    """Record the resit of every module the student failed at the first attempt (a
    module already prepared is left as it is) and write the assignment sheet."""
    from mlops_course.reporting.collect import attempt_to_json, bulk_submissions, read_ledger
    from mlops_course.reporting.rubric import load_rubric
    from mlops_course.reporting.store import ResitEntry, open_gradebook, to_naive_utc, utcnow_naive

    rubric = rubric or load_rubric(course=course)
    plan = plan_resit(course, student, as_of, rubric)
    out = {"student": student, "modules": plan, "sheet": None, "already": []}
    if dry_run or not plan:
        return out
    with open_gradebook(course, create=True) as gb:
        session = gb.db
        try:
            now = utcnow_naive()
            for module, reason in plan:
                existing = session.query(ResitEntry).filter_by(student_id=student, assignment=module).first()
                if existing is not None:
                    out["already"].append(module)
                    continue
                first = bulk_submissions(gb, [module]).get((student, module))
                ledger = read_ledger(course, module, student)
                if first is not None and ledger and ledger.get("status") not in (None, "graded"):
                    first.grading_status, first.reason = ledger["status"], ledger.get("reason")
                session.add(
                    ResitEntry(
                        student_id=student,
                        assignment=module,
                        prepared_at=now,
                        deadline=to_naive_utc(deadline),
                        reasons=reason,
                        first_attempt=attempt_to_json(first) if first else None,
                    )
                )
            session.commit()
        except Exception:
            session.rollback()
            raise
    out["sheet"] = write_sheet(course, student, plan, deadline, rubric.timezone)
    return out


def write_sheet(course, student: str, plan, deadline, tz: str) -> Path:
    folder = Path(course.exports) / "resit" / student
    folder.mkdir(parents=True, exist_ok=True)
    when = (
        deadline.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")
        if deadline
        else "the oral exam (max. 20 minutes) in the exam period"
    )
    lines = [
        f"# Individual resit assignment: {student}",
        "",
        "Second exam opportunity (study guide, 'Resit'): complete the labs of the modules "
        "below, where you have not yet demonstrated your competence. Submit each one as "
        "usual (same assignment, same grading); present them at the oral exam.",
        "",
        f"Deadline: {when}",
        "",
        "| module | why |",
        "|---|---|",
    ]
    for module, reason in plan:
        lines.append(f"| `{module}` | {reason} |")
        release = Path(course.release) / module
        if release.is_dir():
            shutil.copytree(release, folder / module, dirs_exist_ok=True)
    (folder / "resit.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "resit.md"


def _deadline(text: str) -> datetime:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    return datetime.combine(day, time(23, 59, 59), tzinfo=ZoneInfo(TIMEZONE))


def cmd_resit(args) -> int:
    from mlops_course.course import Course

    out = prepare_resit(
        Course.find(getattr(args, "course", None)), args.student, deadline=args.deadline, dry_run=args.dry_run
    )
    if not out["modules"]:
        print(f"{args.student}: no module to resit (every delivered module is proficient)")
        return 0
    print(f"{args.student}: resit of {len(out['modules'])} module(s)")
    for module, reason in out["modules"]:
        note = " (already prepared)" if module in out["already"] else ""
        print(f"  {module:<15} {reason}{note}")
    if out["sheet"]:
        print(f"assignment sheet: {out['sheet']}")
    elif args.dry_run:
        print("(dry run: nothing recorded)")
    return 0


def register(subparsers) -> None:
    """`mlops-course resit STUDENT [--deadline YYYY-MM-DD] [--dry-run]`."""
    p = subparsers.add_parser(
        "resit",
        help="prepare a student's individual resit assignment",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("student", help="student id")
    p.add_argument(
        "--deadline",
        type=_deadline,
        default=None,
        help="resit deadline (YYYY-MM-DD, end of day Europe/Brussels); default none",
    )
    p.add_argument("--dry-run", action="store_true", help="only list the modules")
    p.set_defaults(func=cmd_resit)
