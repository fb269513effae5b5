"""The study guide's rules on a small gradebook with known answers."""

from __future__ import annotations

from datetime import UTC, datetime

from mlops_course.reporting import assess
from mlops_course.reporting.collect import load_class
from mlops_course.reporting.demo import submit
from mlops_course.reporting.store import open_gradebook


def test_verdicts_follow_the_study_guide(known_result):
    verdicts = {s: r.result for s, r in known_result.students.items()}
    assert verdicts == {
        "alice": "pass",
        "bob": "fail",
        "carol": "fail",
        "dave": "fail",
        "erin": "pass",
        "frank": "fail",
        "gina": "fail",
        "ivan": "pending",
    }


def test_full_marks_on_time_is_expert_everywhere(known_result):
    alice = known_result.students["alice"]
    assert set(alice.course_levels.values()) == {"expert"}
    assert alice.grade == 19.0  # technical expert 17 + reporting expert 2
    assert [r.status for r in alice.modules.values()] == ["on_time", "on_time"]


def test_one_technical_criterion_below_proficient_fails_the_module(known_result):
    bob = known_result.students["bob"]
    mA = bob.modules["mA"]
    assert mA.counted and not mA.proficient
    assert mA.levels["docker-image"] == "not_yet_proficient"
    assert mA.levels["LG5"] == "proficient"  # 4/8 = 0.5
    assert mA.levels["reporting"] == "expert"  # reporting cannot rescue it
    assert bob.failing_modules == ["mA"] and not bob.technical_ok
    assert bob.course_levels["docker-image"] == "not_yet_proficient"
    assert bob.grade <= 9


def test_a_lab_after_the_deadline_is_late_and_counts_as_absent(known_result):
    carol = known_result.students["carol"].modules["mB"]
    assert carol.status == "late" and not carol.counted
    assert set(lv for lv in carol.levels.values() if lv) == {"not_yet_proficient"}
    assert carol.score == 12  # the score is still shown


def test_no_delivery_after_the_deadline_is_absent(known_result):
    dave = known_result.students["dave"].modules["mB"]
    assert dave.status == "absent" and dave.score is None and not dave.proficient


def test_tiao_students_have_no_deadline(known_result):
    erin = known_result.students["erin"]
    assert erin.student.tiao
    assert [r.status for r in erin.modules.values()] == ["tiao", "tiao"]
    assert erin.modules["mB"].deadline is None


def test_second_demo_in_the_same_week_is_flagged_and_not_counted(known_result):
    frank = known_result.students["frank"]
    assert frank.modules["mA"].demo_week == frank.modules["mB"].demo_week == "2026-W41"
    assert not frank.modules["mA"].second_demo_in_week and frank.modules["mA"].counted
    assert frank.modules["mB"].second_demo_in_week and not frank.modules["mB"].counted
    assert "second demo in week 2026-W41" in frank.modules["mB"].reason


def test_flag_only_counts_the_second_demo(known_course, rubric, after_all_deadlines):
    rubric.demos = {**rubric.demos, "second_demo_in_week": "flag_only"}
    frank = load_class(known_course, rubric, as_of=after_all_deadlines).students["frank"]
    assert frank.modules["mB"].second_demo_in_week and frank.modules["mB"].counted
    assert frank.result == "pass"


def test_reporting_moves_the_grade_below_the_pass_mark(known_result):
    gina = known_result.students["gina"]
    assert gina.technical_ok
    assert {c: lv for c, lv in gina.course_levels.items() if c != "reporting"} == {
        "LG1": "proficient",
        "LG2": "proficient",
        "LG5": "proficient",
        "docker-image": "proficient",
    }
    assert gina.course_levels["reporting"] == "not_yet_proficient"
    assert gina.grade == 9.0 and gina.result == "fail"


def test_open_answers_waiting_for_manual_grading_make_the_verdict_pending(known_result):
    ivan = known_result.students["ivan"]
    assert ivan.modules["mA"].needs_manual_grade
    assert ivan.result == "pending" and ivan.open_modules == ["mA"] and not ivan.failing_modules


def test_before_the_deadline_a_missing_lab_is_open(known_course, rubric, brussels):
    early = load_class(known_course, rubric, as_of=brussels(2026, 10, 19, 23, 59, 59))
    dave = early.students["dave"]
    assert dave.modules["mB"].status == "open" and dave.result == "pending"
    assert all(lv is None for lv in dave.modules["mB"].levels.values())
    late = load_class(known_course, rubric, as_of=brussels(2026, 10, 20, 0, 0, 0))
    assert late.students["dave"].modules["mB"].status == "absent"


def test_grading_error_in_the_ledger_is_reported(known_course_copy, rubric, after_all_deadlines):
    import json

    course = known_course_copy
    path = course.result_file("mB", "alice")
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(
            {
                "student": "alice",
                "assignment": "mB",
                "status": "error",
                "reason": "kernel died",
                "score": 0,
                "max_score": 12,
                "seed": 1,
                "cells": {},
                "submitted_at": None,
                "graded_at": "2026-10-02T10:00:00+00:00",
            }
        )
    )
    alice = load_class(course, rubric, as_of=after_all_deadlines).students["alice"]
    assert alice.modules["mB"].status == "grading_error" and "kernel died" in alice.modules["mB"].reason
    assert alice.result == "fail"


def test_levels_from_shares(rubric):
    assert [rubric.level_for("LG1", s) for s in (0.0, 0.49, 0.5, 0.69, 0.7, 0.849, 0.85, 1.0)] == [
        "not_yet_proficient",
        "not_yet_proficient",
        "proficient",
        "proficient",
        "advanced",
        "advanced",
        "expert",
        "expert",
    ]
    assert rubric.level_for("LG1", None) is None


def test_evaluate_on_plain_data_without_a_gradebook(rubric, after_all_deadlines):
    from mlops_course.reporting.rubric import CellGoal

    goals = {"mA": {"t": CellGoal("t", "LG4", max_score=2)}}
    deadline = datetime(2026, 10, 12, 21, 59, 59, tzinfo=UTC)
    attempts = [assess.Attempt("x", "mA", deadline, {"t": assess.CellScore("t", 2, 2)})]
    r = assess.evaluate(
        [assess.StudentInfo("x")],
        ["mA"],
        attempts,
        goals,
        rubric,
        {"mA": deadline},
        as_of=after_all_deadlines,
    )
    assert r.students["x"].result == "pass"  # exactly at the deadline is on time


def test_resit_lists_failing_modules_and_shows_beside_first_attempt(
    known_course_copy, rubric, after_all_deadlines, brussels, full_marks
):
    from mlops_course.reporting.html_page import render_html
    from mlops_course.reporting.resit import plan_resit, prepare_resit
    from mlops_course.reporting.tables import rows_frame

    course = known_course_copy
    assert plan_resit(course, "alice", after_all_deadlines, rubric) == []
    assert plan_resit(course, "dave", after_all_deadlines, rubric) == [
        ("mB", "absent: not delivered before the deadline")
    ]
    out = prepare_resit(course, "bob", as_of=after_all_deadlines, deadline=brussels(2027, 1, 29, 23, 59, 59))
    assert out["modules"] == [("mA", "not yet proficient on docker-image")]
    assert out["sheet"].is_file() and "mA" in out["sheet"].read_text()
    again = prepare_resit(course, "bob", as_of=after_all_deadlines)
    assert again["already"] == ["mA"]

    # Before the resit is submitted: the first attempt still decides; the resit is open.
    mid = load_class(course, rubric, as_of=brussels(2027, 1, 10, 12))
    assert mid.students["bob"].modules["mA"].attempt == 2
    assert mid.students["bob"].modules["mA"].status == "open"
    assert mid.students["bob"].result == "pending"

    # Bob resubmits mA with full marks, before the resit deadline: same grading path.
    with open_gradebook(course) as gb:
        submit(gb, "mA", "bob", brussels(2027, 1, 20, 10), full_marks["mA"])
    final = load_class(course, rubric, as_of=brussels(2027, 2, 1, 12))
    bob = final.students["bob"]
    assert bob.modules["mA"].attempt == 2 and bob.modules["mA"].status == "on_time"
    assert bob.modules["mA"].proficient and bob.result == "pass"
    rows = rows_frame(final)
    mine = rows[(rows.student == "bob") & (rows.module == "mA")]
    assert list(mine.attempt) == ["first", "resit"]
    assert list(mine.score) == [8.0, 12.0] and list(mine.effective) == [False, True]
    assert "Resits beside the first attempt" in render_html(final)


def test_a_late_resit_fails(known_course_copy, rubric, after_all_deadlines, brussels, full_marks):
    from mlops_course.reporting.resit import prepare_resit

    course = known_course_copy
    prepare_resit(course, "carol", as_of=after_all_deadlines, deadline=brussels(2027, 1, 29, 23, 59, 59))
    with open_gradebook(course) as gb:
        submit(gb, "mB", "carol", brussels(2027, 1, 30, 0, 0, 1), full_marks["mB"])
    carol = load_class(course, rubric, as_of=brussels(2027, 2, 1, 12)).students["carol"]
    assert carol.modules["mB"].attempt == 2 and carol.modules["mB"].status == "late"
    assert carol.result == "fail"


def test_an_nbgrader_extension_moves_the_deadline(known_course_copy, rubric, after_all_deadlines):
    from datetime import timedelta

    course = known_course_copy
    with open_gradebook(course) as gb:
        gb.find_submission("mB", "carol").extension = timedelta(hours=1)
        gb.db.commit()
    carol = load_class(course, rubric, as_of=after_all_deadlines).students["carol"]
    assert carol.modules["mB"].status == "on_time" and carol.result == "pass"
