"""The semester schedule and demo deadlines (study guide: 13 weeks; demo within 3
weeks of the theory session; one demo per week; TIAO students have no deadline).

All instants are timezone-aware; local dates and weeks are Europe/Brussels (from
rubric.yaml), so deadlines and week boundaries stay right across DST changes.
nbgrader stores naive UTC: :func:`apply_due_dates` converts."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mlops_course.reporting.rubric import Rubric, load_rubric
from mlops_course.settings import TIMEZONE


@dataclass(frozen=True)
class ModuleDates:
    module: str
    week: int  # teaching week (1..13) of the theory session
    session: datetime  # theory session, local time (aware)
    deadline: datetime  # demo deadline, local time (aware), inclusive

    @property
    def deadline_utc(self) -> datetime:
        return self.deadline.astimezone(UTC)


def _parse_time(text: str) -> time:
    return time.fromisoformat(str(text))


def teaching_weeks(start: date, total: int, breaks: list[date] = ()) -> list[date]:
    """The first day of each teaching week: week 1 starts on ``start``; a week that
    contains a break day (holiday, recess) is skipped and later weeks shift."""
    days = []
    current = start
    breaks = set(breaks)
    while len(days) < total:
        week = {current + timedelta(days=i) for i in range(7)}
        if not week & breaks:
            days.append(current)
        current += timedelta(days=7)
    return days


def build_schedule(
    start: date, rubric: Rubric | None = None, *, breaks: list[date] = (), modules: list[str] | None = None
) -> dict[str, ModuleDates]:
    """module -> its theory session and demo deadline, from the semester start date."""
    rubric = rubric or load_rubric()
    tz = ZoneInfo(rubric.timezone)
    weeks = rubric.module_weeks
    total = int(rubric.schedule.get("total_weeks", 13))
    starts = teaching_weeks(start, total, breaks)
    session_time = _parse_time(rubric.schedule.get("session_time", "08:30"))
    deadline_time = _parse_time(rubric.demos.get("deadline_time", "23:59:59"))
    window = timedelta(weeks=int(rubric.demos.get("window_weeks", 3)))
    result = {}
    for module in modules or list(weeks):
        if module not in weeks:
            continue
        week = weeks[module]
        day = starts[week - 1]
        # Calendar arithmetic on local dates, then attach the zone: 3 weeks later is
        # the same wall-clock time even across a DST change.
        session = datetime.combine(day, session_time, tzinfo=tz)
        deadline = datetime.combine(day + window, deadline_time, tzinfo=tz)
        result[module] = ModuleDates(module, week, session, deadline)
    return result


def local_week(moment: datetime, tz: str = TIMEZONE) -> tuple[int, int]:
    """(ISO year, ISO week) of an instant in local time; weeks run Monday-Sunday."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    iso = moment.astimezone(ZoneInfo(tz)).isocalendar()
    return iso[0], iso[1]


def is_late(submitted_at: datetime, deadline: datetime | None) -> bool:
    """After the deadline (both aware; a naive value is taken as UTC)."""
    if deadline is None:
        return False
    if submitted_at.tzinfo is None:
        submitted_at = submitted_at.replace(tzinfo=UTC)
    if deadline.tzinfo is None:
        deadline = deadline.replace(tzinfo=UTC)
    return submitted_at > deadline


def apply_due_dates(gb, schedule: dict[str, ModuleDates]) -> None:
    """Set nbgrader's due date of every scheduled assignment (naive UTC)."""
    for module, dates in schedule.items():
        gb.update_or_create_assignment(module, duedate=dates.deadline_utc.replace(tzinfo=None))


def deadlines_from_gradebook(gb) -> dict[str, datetime | None]:
    """module -> aware UTC due date as stored by nbgrader (None when unset)."""
    return {a.name: (a.duedate.replace(tzinfo=UTC) if a.duedate else None) for a in gb.assignments}


def format_table(schedule: dict[str, ModuleDates]) -> str:
    lines = [f"{'module':<15} {'week':>4}  {'theory session':<22} {'demo deadline':<26}"]
    for dates in schedule.values():
        lines.append(
            f"{dates.module:<15} {dates.week:>4}  {dates.session:%a %Y-%m-%d %H:%M}     "
            f"{dates.deadline:%a %Y-%m-%d %H:%M %Z}"
        )
    return "\n".join(lines)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def cmd_schedule(args) -> int:
    from mlops_course.course import Course
    from mlops_course.reporting.store import open_gradebook

    rubric = load_rubric(args.rubric)
    schedule = build_schedule(args.start, rubric, breaks=args.breaks or [])
    print(format_table(schedule))
    if args.apply:
        course = Course.find(getattr(args, "course", None))
        with open_gradebook(course, create=True) as gb:
            apply_due_dates(gb, schedule)
        print(f"nbgrader due dates set in {course.db_url}")
    else:
        print("(dry run: add --apply to set these as nbgrader due dates)")
    return 0


def register(subparsers) -> None:
    """`mlops-course schedule --start YYYY-MM-DD [--break YYYY-MM-DD ...] [--apply]`."""
    p = subparsers.add_parser(
        "schedule",
        help="theory sessions and demo deadlines from the semester start date",
        description="Compute every module's theory session and demo deadline (3 weeks later, "
        "Europe/Brussels) from the study guide's 13-week schedule; --apply sets "
        "them as nbgrader due dates.",
    )
    p.add_argument("--start", type=_date, required=True, help="first day of teaching week 1 (YYYY-MM-DD)")
    p.add_argument(
        "--break",
        dest="breaks",
        type=_date,
        action="append",
        metavar="DATE",
        help="a day without class (recess); its week is skipped and later weeks shift",
    )
    p.add_argument("--apply", action="store_true", help="write the due dates into the gradebook")
    p.add_argument("--rubric", default=None, help="rubric file (default: rubric.yaml of the course)")
    p.set_defaults(func=cmd_schedule)
