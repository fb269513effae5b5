"""The report on the bundled example class (examples/submitted), graded for real with
the course's grading pipeline in a throwaway copy of the course."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from mlops_course.course import Course

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "submitted"
MODULE = "m0_setup"


@pytest.fixture(scope="module")
def graded_example_class(tmp_path_factory):
    import os

    assert any(EXAMPLES.glob(f"*/{MODULE}")), f"no example submissions of {MODULE} in {EXAMPLES}"
    os.environ.pop("MLOPS_COURSE_DB_URL", None)
    from mlops_course.demo import copy_example_class
    from mlops_course.grading.pipeline import Options, grade
    from mlops_course.grading.release import release

    root = tmp_path_factory.mktemp("example-class")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "source" / MODULE, root / "source" / MODULE)
    shutil.copytree(ROOT / "examples", root / "examples")
    course = Course(root)
    release(course, [MODULE])
    students = copy_example_class(course)[MODULE]
    grade(course, MODULE, students, Options(workers=2, progress=False))
    return course


def judge(course, start=date(2026, 9, 7)):
    from mlops_course.reporting.collect import load_class
    from mlops_course.reporting.rubric import load_rubric
    from mlops_course.reporting.schedule import apply_due_dates, build_schedule
    from mlops_course.reporting.store import open_gradebook

    with open_gradebook(course, create=True) as gb:
        # m0_setup: theory Mon 7 Sep 2026, demo deadline Mon 28 Sep 23:59:59 CEST (21:59:59Z)
        apply_due_dates(gb, build_schedule(start, load_rubric(), modules=[MODULE]))
    return load_class(course, as_of=datetime(2026, 12, 1, tzinfo=UTC), modules=[MODULE])


@pytest.mark.slow
def test_example_class_follows_the_study_guide(graded_example_class, tmp_path):
    import json

    from mlops_course.reporting.exports import write_report

    result = judge(graded_example_class)
    ledger = {
        p.stem: json.loads(p.read_text())
        for p in (graded_example_class.grading / "results" / MODULE).glob("*.json")
    }
    assert set(result.students) == set(ledger)  # also the ones the grader could not score
    for student, record in ledger.items():
        row = result.students[student].modules[MODULE]
        if record["status"] == "error":
            assert row.status == "grading_error" and record["reason"] in row.reason
            assert result.students[student].result == "fail"
        else:
            assert row.score == pytest.approx(record["score"])
            if not row.proficient:
                assert result.students[student].result == "fail"
    if "ben" in ledger and ledger["ben"]["submitted_at"].startswith("2026-09-28 22:41"):
        # 22:41 UTC on the deadline day is 00:41 on 29 Sep in Brussels: late, so absent
        ben = result.students["ben"]
        assert ben.modules[MODULE].status == "late" and ben.result == "fail"
    if "ada" in ledger and ledger["ada"]["status"] == "graded":
        assert result.students["ada"].modules[MODULE].status == "on_time"
    paths = write_report(result, tmp_path)
    assert paths["html"].stat().st_size > 10_000


@pytest.mark.slow
def test_example_class_tiao_and_resit(graded_example_class):
    from mlops_course.reporting.resit import plan_resit
    from mlops_course.reporting.roster import import_roster

    result = judge(graded_example_class)
    late = [s for s, r in result.students.items() if r.modules[MODULE].status == "late"]
    if not late:
        pytest.skip("no late submission in the example class")
    student = late[0]
    roster = graded_example_class.root / "roster.csv"
    roster.write_text(f"student_id,name,email,tiao\n{student},Self Study,{student}@example.org,yes\n")
    import_roster(graded_example_class, roster)
    after = judge(graded_example_class).students[student]
    assert after.student.tiao and after.modules[MODULE].status == "tiao"  # no deadline for TIAO
    plan = dict(plan_resit(graded_example_class, student, datetime(2026, 12, 1, tzinfo=UTC)))
    assert (MODULE in plan) == (not after.modules[MODULE].proficient)
