"""Schedule and demo deadlines in Europe/Brussels, around DST and week boundaries."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, timedelta

import pytest

from mlops_course.reporting.rubric import load_rubric
from mlops_course.reporting.schedule import (
    apply_due_dates,
    build_schedule,
    deadlines_from_gradebook,
    is_late,
    local_week,
    register,
    teaching_weeks,
)
from mlops_course.reporting.store import open_gradebook

UTC = UTC


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(scope="module")
def autumn():
    # Monday 21 Sep 2026; DST ends Sunday 25 Oct 2026 (03:00 CEST -> 02:00 CET).
    return build_schedule(date(2026, 9, 21), load_rubric())


def test_study_guide_weeks(autumn):
    weeks = {m: d.week for m, d in autumn.items()}
    assert weeks == {
        "m0_setup": 1,
        "m1_docker": 1,
        "m2_cicd": 2,
        "m3_workflow": 4,
        "m4_kubernetes": 6,
        "m5_edge": 8,
        "m6_tuning": 9,
        "m7_monitoring": 11,
    }
    assert autumn["m7_monitoring"].session.date() == date(2026, 11, 30)


def test_deadline_is_three_weeks_after_the_session_end_of_day(autumn):
    m2 = autumn["m2_cicd"]
    assert m2.session.date() == date(2026, 9, 28)
    assert m2.deadline.date() == date(2026, 10, 19)
    assert m2.deadline_utc == utc(2026, 10, 19, 21, 59, 59)  # CEST, UTC+2


def test_deadline_after_dst_end_keeps_the_wall_clock(autumn):
    m3 = autumn["m3_workflow"]  # session 12 Oct (CEST)
    assert m3.session.utcoffset() == timedelta(hours=2)
    assert m3.deadline.date() == date(2026, 11, 2)  # after 25 Oct: CET
    assert m3.deadline_utc == utc(2026, 11, 2, 22, 59, 59)  # 23:59:59 CET = 22:59:59Z
    m4 = autumn["m4_kubernetes"]  # session Mon 26 Oct, the day after
    assert m4.session.utcoffset() == timedelta(hours=1)
    assert m4.session.astimezone(UTC) == utc(2026, 10, 26, 7, 30)


def test_deadline_after_dst_start():
    # Monday 8 Feb 2027; DST starts Sunday 28 Mar 2027.
    spring = build_schedule(date(2027, 2, 8), load_rubric())
    m4 = spring["m4_kubernetes"]  # session 15 Mar (CET)
    assert m4.session.utcoffset() == timedelta(hours=1)
    assert m4.deadline.date() == date(2027, 4, 5)
    assert m4.deadline_utc == utc(2027, 4, 5, 21, 59, 59)  # CEST


def test_late_is_judged_in_local_time(autumn):
    m2, m3 = autumn["m2_cicd"].deadline_utc, autumn["m3_workflow"].deadline_utc
    assert not is_late(m2, m2)  # exactly at the deadline: on time
    assert is_late(m2 + timedelta(seconds=1), m2)
    # 22:30Z on the deadline day is 00:30 next day in CEST (late) but 23:30 in CET (on time)
    assert is_late(utc(2026, 10, 19, 22, 30), m2)
    assert not is_late(utc(2026, 11, 2, 22, 30), m3)
    assert is_late(datetime(2026, 10, 19, 22, 30), m2)  # naive = UTC (nbgrader)


def test_weeks_run_monday_to_sunday_local():
    # summer time: Sunday 23:59:59 CEST is 21:59:59Z; Monday 00:00 CEST is 22:00Z
    assert local_week(utc(2026, 10, 18, 21, 59, 59)) == (2026, 42)
    assert local_week(utc(2026, 10, 18, 22, 0, 0)) == (2026, 43)
    # the DST-end Sunday: 23:30 CET is 22:30Z (still week 43), 00:30 Monday is 23:30Z
    assert local_week(utc(2026, 10, 25, 22, 30)) == (2026, 43)
    assert local_week(utc(2026, 10, 25, 23, 30)) == (2026, 44)
    # around New Year: ISO week 53 of 2026 runs until Sunday 3 Jan 2027
    assert local_week(utc(2027, 1, 3, 22, 59)) == (2026, 53)
    assert local_week(utc(2027, 1, 3, 23, 0)) == (2027, 1)


def test_breaks_shift_later_weeks():
    starts = teaching_weeks(date(2026, 9, 21), 13, [date(2026, 11, 4)])  # autumn recess week
    assert date(2026, 11, 2) not in starts
    assert starts[5] == date(2026, 10, 26) and starts[6] == date(2026, 11, 9)
    shifted = build_schedule(date(2026, 9, 21), load_rubric(), breaks=[date(2026, 11, 4)])
    assert shifted["m5_edge"].session.date() == date(2026, 11, 16)  # week 8, one week later


def test_due_dates_go_into_the_gradebook(tmp_path, autumn):
    url = f"sqlite:///{tmp_path / 'gb.db'}"
    with open_gradebook(url, create=True) as gb:
        apply_due_dates(gb, autumn)
        assert gb.find_assignment("m3_workflow").duedate == datetime(2026, 11, 2, 22, 59, 59)
        deadlines = deadlines_from_gradebook(gb)
    assert deadlines["m3_workflow"] == autumn["m3_workflow"].deadline_utc
    assert len(deadlines) == 8


def test_cli(tmp_path, capsys):
    (tmp_path / "source").mkdir()
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["schedule", "--start", "2026-09-21", "--apply"])
    args.course = str(tmp_path)
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "m3_workflow" in out and "2026-11-02 23:59 CET" in out
    with open_gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        assert gb.find_assignment("m2_cicd").duedate == datetime(2026, 10, 19, 21, 59, 59)
    with pytest.raises(SystemExit):
        parser.parse_args(["schedule", "--start", "21/09/2026"])
