"""A small class with known answers, built with nbgrader's Gradebook API in a tmp dir
(no notebook is executed). Semester start Monday 2026-09-21, Europe/Brussels.

    mA: theory week 1 (2026-09-21), demo deadline 2026-10-12 23:59:59 CEST
        a1 4 pt LG5 | a2 4 pt LG5 + docker-image | a3 2 pt LG1 | a_open 2 pt LG1 reporting (manual)
    mB: theory week 2 (2026-09-28), demo deadline 2026-10-19 23:59:59 CEST (= 21:59:59Z)
        b1 5 pt LG2 | b2 5 pt LG1 | b_open 2 pt reporting (manual)
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from mlops_course.reporting.demo import Cell, add_module, add_student, submit, write_course_skeleton
from mlops_course.reporting.rubric import load_rubric
from mlops_course.reporting.schedule import build_schedule
from mlops_course.reporting.store import ensure_tables, open_gradebook

BXL = ZoneInfo("Europe/Brussels")
START = date(2026, 9, 21)
MODULES = {
    "mA": [
        Cell("a1", 4, "LG5"),
        Cell("a2", 4, "LG5", "docker-image"),
        Cell("a3", 2, "LG1"),
        Cell("a_open", 2, "LG1", "reporting", manual=True),
    ],
    "mB": [Cell("b1", 5, "LG2"), Cell("b2", 5, "LG1"), Cell("b_open", 2, "LG2", "reporting", manual=True)],
}
FULL = {"mA": {"a1": 4, "a2": 4, "a3": 2, "a_open": 2}, "mB": {"b1": 5, "b2": 5, "b_open": 2}}
AFTER_ALL_DEADLINES = datetime(2026, 12, 1, tzinfo=UTC)


def rubric_with_weeks():
    rubric = load_rubric()
    rubric.schedule = {**rubric.schedule, "weeks": {"mA": 1, "mB": 2}}
    return rubric


def schedule():
    return build_schedule(START, rubric_with_weeks())


def local(*args):
    return datetime(*args, tzinfo=BXL)


# who -> (tiao, {module: (local submission time, scores, pending manual cells)})
CLASS = {
    # everything full, on time, two different weeks -> pass, expert everywhere
    "alice": (
        False,
        {"mA": (local(2026, 9, 24, 10), FULL["mA"], ()), "mB": (local(2026, 10, 1, 10), FULL["mB"], ())},
    ),
    # mA: docker-image 0/4 -> mA not proficient -> fail; resit mA
    "bob": (
        False,
        {
            "mA": (local(2026, 9, 24, 11), {**FULL["mA"], "a2": 0}, ()),
            "mB": (local(2026, 10, 1, 11), FULL["mB"], ()),
        },
    ),
    # mB one second after its deadline -> late (= absent) -> fail
    "carol": (
        False,
        {
            "mA": (local(2026, 9, 24, 12), FULL["mA"], ()),
            "mB": (local(2026, 10, 20, 0, 0, 0), FULL["mB"], ()),
        },
    ),
    # mB never delivered -> absent -> fail
    "dave": (False, {"mA": (local(2026, 9, 24, 13), FULL["mA"], ())}),
    # TIAO: mB three months late is fine -> pass
    "erin": (
        True,
        {"mA": (local(2026, 9, 24, 14), FULL["mA"], ()), "mB": (local(2027, 1, 15, 14), FULL["mB"], ())},
    ),
    # both labs in the same week (Mon 5 Oct and Sun 11 Oct) -> the second is not counted -> fail
    "frank": (
        False,
        {"mA": (local(2026, 10, 5, 9), FULL["mA"], ()), "mB": (local(2026, 10, 11, 23, 30), FULL["mB"], ())},
    ),
    # technical just proficient (0.5-0.6), reporting 0 -> grade 11 - 2 = 9 -> fail on the grade
    "gina": (
        False,
        {
            "mA": (local(2026, 9, 24, 15), {"a1": 2, "a2": 2, "a3": 1, "a_open": 0}, ()),
            "mB": (local(2026, 10, 1, 15), {"b1": 3, "b2": 3, "b_open": 0}, ()),
        },
    ),
    # all full but the open answers are not graded yet -> pending
    "ivan": (
        False,
        {
            "mA": (local(2026, 9, 24, 16), FULL["mA"], ("a_open",)),
            "mB": (local(2026, 10, 1, 16), FULL["mB"], ()),
        },
    ),
}


def build_known_class(root):
    """The course in ``root`` with the class above; returns the Course."""
    course = write_course_skeleton(root)
    dates = schedule()
    with open_gradebook(course, create=True) as gb:
        ensure_tables(gb)
        for module, cells in MODULES.items():
            add_module(gb, course, module, cells, dates[module].deadline_utc)
        for student, (tiao, work) in CLASS.items():
            add_student(gb, student, student.title(), tiao=tiao)
            for module, (when, scores, pending) in work.items():
                submit(gb, module, student, when, scores, pending_manual=pending)
    return course
