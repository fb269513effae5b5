"""The semester schedule and demo deadlines (study guide: 13 weeks; demo within 3
weeks of the theory session; one demo per week; TIAO students have no deadline).

All instants are timezone-aware; local dates and weeks are Europe/Brussels (from
rubric.yaml), so deadlines and week boundaries stay right across DST changes.
nbgrader stores naive UTC: :func:`apply_due_dates` converts."""

from __future__ import annotations

import argparse
import sys
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


CALENDAR, TEACHING = "calendar", "teaching"  # rubric.yaml demos.window_counts


def window_rule(rubric: Rubric) -> tuple[int, str]:
    """(window_weeks, how a break in the window counts: calendar or teaching)."""
    counts = str(rubric.demos.get("window_counts", CALENDAR))
    if counts not in (CALENDAR, TEACHING):
        from mlops_course.errors import RubricError

        raise RubricError(f"rubric.yaml demos.window_counts must be {CALENDAR} or {TEACHING}, not {counts!r}")
    return int(rubric.demos.get("window_weeks", 3)), counts


def describe_rule(rubric: Rubric) -> str:
    """The deadline rule in words, as `schedule` prints it."""
    weeks, counts = window_rule(rubric)
    kind = (
        "calendar weeks (breaks included)"
        if counts == CALENDAR
        else "teaching weeks (break weeks not counted)"
    )
    return (
        f"rule: the demo deadline is {weeks} {kind} after the theory session, at "
        f"{rubric.demos.get('deadline_time', '23:59:59')} {rubric.timezone} "
        f"(rubric.yaml: demos.window_weeks, demos.window_counts: {counts})"
    )


def build_schedule(
    start: date, rubric: Rubric | None = None, *, breaks: list[date] = (), modules: list[str] | None = None
) -> dict[str, ModuleDates]:
    """module -> its theory session and demo deadline, from the semester start date."""
    rubric = rubric or load_rubric()
    tz = ZoneInfo(rubric.timezone)
    weeks = rubric.module_weeks
    total = int(rubric.schedule.get("total_weeks", 13))
    window_weeks, counts = window_rule(rubric)
    # enough teaching weeks for the last window to end in one (rule `teaching`)
    starts = teaching_weeks(start, total + window_weeks, breaks)
    session_time = _parse_time(rubric.schedule.get("session_time", "08:30"))
    deadline_time = _parse_time(rubric.demos.get("deadline_time", "23:59:59"))
    result = {}
    for module in modules or list(weeks):
        if module not in weeks:
            continue
        week = weeks[module]
        day = starts[week - 1]
        last = starts[week - 1 + window_weeks] if counts == TEACHING else day + timedelta(weeks=window_weeks)
        # Calendar arithmetic on local dates, then attach the zone: 3 weeks later is
        # the same wall-clock time even across a DST change.
        session = datetime.combine(day, session_time, tzinfo=tz)
        deadline = datetime.combine(last, deadline_time, tzinfo=tz)
        result[module] = ModuleDates(module, week, session, deadline)
    return result


def schedule_warnings(
    start: date, schedule: dict[str, ModuleDates], breaks: list[date], rubric: Rubric
) -> list[str]:
    """What a lecturer should know about this schedule: a start that is not a Monday,
    and breaks that fall in a demo window (each warning names the rule applied)."""
    warnings = []
    if start.weekday() != 0:
        day = start.strftime("%A")
        monday = start - timedelta(days=start.weekday())
        warnings.append(
            f"{start} is a {day}, not a Monday: every theory session falls on a {day}, while the "
            f"one-demo-a-week rule counts calendar weeks from Monday to Sunday ({rubric.timezone}). "
            f"Give the Monday of teaching week 1 ({monday}) unless the sessions really are on {day}s."
        )
    weeks, counts = window_rule(rubric)
    for dates in schedule.values():
        inside = sorted(d for d in set(breaks) if dates.session.date() < d <= dates.deadline.date())
        if not inside:
            continue
        days = ", ".join(str(d) for d in inside)
        window = f"{dates.session:%Y-%m-%d} to {dates.deadline:%Y-%m-%d}"
        if counts == CALENDAR:
            on_deadline = " (the deadline itself is a break day)" if dates.deadline.date() in inside else ""
            warnings.append(
                f"{dates.module}: break {days} falls in its demo window ({window}){on_deadline}, so "
                f"students have fewer than {weeks} teaching weeks. Rule applied: {weeks} calendar weeks, "
                "breaks included (rubric.yaml demos.window_counts: calendar); set it to `teaching` to "
                "move such deadlines past the break."
            )
        else:
            warnings.append(
                f"{dates.module}: break {days} falls in its demo window, which is extended to "
                f"{window} (rule applied: {weeks} teaching weeks, break weeks not counted; "
                "rubric.yaml demos.window_counts: teaching)."
            )
    return warnings


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
    print(describe_rule(rubric))
    for warning in schedule_warnings(args.start, schedule, args.breaks or [], rubric):
        print(f"WARNING: {warning}", file=sys.stderr)
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
