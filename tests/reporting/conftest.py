"""Fixtures of the reporting tests: a small class with known answers, built with
nbgrader's Gradebook API in a temporary folder (no notebook is executed). Semester
start Monday 2026-09-21, Europe/Brussels.

    mA: theory week 1 (2026-09-21), demo deadline 2026-10-12 23:59:59 CEST
        a1 4 pt LG5 | a2 4 pt LG5 + docker-image | a3 2 pt LG1 | a_open 2 pt LG1 reporting (manual)
    mB: theory week 2 (2026-09-28), demo deadline 2026-10-19 23:59:59 CEST (= 21:59:59Z)
        b1 5 pt LG2 | b2 5 pt LG1 | b_open 2 pt reporting (manual)

The class is built once per session (`known_course`, judged in `known_result`); a test
that writes to the gradebook or the course folder takes its own copy (`known_course_copy`).
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from mlops_course.course import Course
from mlops_course.reporting.assess import ClassResult
from mlops_course.reporting.collect import load_class
from mlops_course.reporting.demo import Cell, add_module, add_student, submit, write_course_skeleton
from mlops_course.reporting.rubric import Rubric, load_rubric
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


def _brussels(*args) -> datetime:
    return datetime(*args, tzinfo=BXL)


def _rubric_with_weeks() -> Rubric:
    rubric = load_rubric()
    rubric.schedule = {**rubric.schedule, "weeks": {"mA": 1, "mB": 2}}
    return rubric


# who -> (tiao, {module: (local submission time, scores, pending manual cells)})
CLASS = {
    # everything full, on time, two different weeks -> pass, expert everywhere
    "alice": (
        False,
        {
            "mA": (_brussels(2026, 9, 24, 10), FULL["mA"], ()),
            "mB": (_brussels(2026, 10, 1, 10), FULL["mB"], ()),
        },
    ),
    # mA: docker-image 0/4 -> mA not proficient -> fail; resit mA
    "bob": (
        False,
        {
            "mA": (_brussels(2026, 9, 24, 11), {**FULL["mA"], "a2": 0}, ()),
            "mB": (_brussels(2026, 10, 1, 11), FULL["mB"], ()),
        },
    ),
    # mB one second after its deadline -> late (= absent) -> fail
    "carol": (
        False,
        {
            "mA": (_brussels(2026, 9, 24, 12), FULL["mA"], ()),
            "mB": (_brussels(2026, 10, 20, 0, 0, 0), FULL["mB"], ()),
        },
    ),
    # mB never delivered -> absent -> fail
    "dave": (False, {"mA": (_brussels(2026, 9, 24, 13), FULL["mA"], ())}),
    # TIAO: mB three months late is fine -> pass
    "erin": (
        True,
        {
            "mA": (_brussels(2026, 9, 24, 14), FULL["mA"], ()),
            "mB": (_brussels(2027, 1, 15, 14), FULL["mB"], ()),
        },
    ),
    # both labs in the same week (Mon 5 Oct and Sun 11 Oct) -> the second is not counted -> fail
    "frank": (
        False,
        {
            "mA": (_brussels(2026, 10, 5, 9), FULL["mA"], ()),
            "mB": (_brussels(2026, 10, 11, 23, 30), FULL["mB"], ()),
        },
    ),
    # technical just proficient (0.5-0.6), reporting 0 -> grade 11 - 2 = 9 -> fail on the grade
    "gina": (
        False,
        {
            "mA": (_brussels(2026, 9, 24, 15), {"a1": 2, "a2": 2, "a3": 1, "a_open": 0}, ()),
            "mB": (_brussels(2026, 10, 1, 15), {"b1": 3, "b2": 3, "b_open": 0}, ()),
        },
    ),
    # all full but the open answers are not graded yet -> pending
    "ivan": (
        False,
        {
            "mA": (_brussels(2026, 9, 24, 16), FULL["mA"], ("a_open",)),
            "mB": (_brussels(2026, 10, 1, 16), FULL["mB"], ()),
        },
    ),
}


def _build_known_class(root) -> Course:
    """The course in ``root`` with the class above."""
    course = write_course_skeleton(root)
    dates = build_schedule(START, _rubric_with_weeks())
    with open_gradebook(course, create=True) as gb:
        ensure_tables(gb)
        for module, cells in MODULES.items():
            add_module(gb, course, module, cells, dates[module].deadline_utc)
        for student, (tiao, work) in CLASS.items():
            add_student(gb, student, student.title(), tiao=tiao)
            for module, (when, scores, pending) in work.items():
                submit(gb, module, student, when, scores, pending_manual=pending)
    return course


@pytest.fixture(autouse=True)
def _own_gradebook(monkeypatch):
    """Every reporting test uses the SQLite gradebook of its own course folder."""
    monkeypatch.delenv("MLOPS_COURSE_DB_URL", raising=False)


@pytest.fixture(scope="session")
def known_course(tmp_path_factory) -> Course:
    """The known class, built once: read it only (`known_course_copy` to write)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLOPS_COURSE_DB_URL", raising=False)
        return _build_known_class(tmp_path_factory.mktemp("known"))


@pytest.fixture(scope="session")
def known_result(known_course) -> ClassResult:
    """The known class judged after every deadline: read it only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLOPS_COURSE_DB_URL", raising=False)
        return load_class(known_course, _rubric_with_weeks(), as_of=AFTER_ALL_DEADLINES)


@pytest.fixture
def known_course_copy(known_course, tmp_path) -> Course:
    """A copy of the known class of this test's own (gradebook included), to write to."""
    return Course(shutil.copytree(known_course.root, tmp_path / "known"))


@pytest.fixture
def rubric() -> Rubric:
    """The course rubric with the known class's weeks (mA week 1, mB week 2); a new one
    per test, so a test may change it."""
    return _rubric_with_weeks()


@pytest.fixture
def after_all_deadlines() -> datetime:
    """1 Dec 2026: every deadline of the known class has passed."""
    return AFTER_ALL_DEADLINES


@pytest.fixture
def full_marks() -> dict[str, dict[str, int]]:
    """module -> grade cell -> its maximum score."""
    return FULL


@pytest.fixture
def brussels():
    """``brussels(2026, 10, 1, 12)``: that wall-clock time in Brussels."""
    return _brussels
