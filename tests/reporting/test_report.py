"""The class report: CSV, item analysis with known values, self-contained HTML,
and the HTML opened in headless Chromium (screenshot kept in test-artifacts/)."""

from __future__ import annotations

import argparse
import base64
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from helpers import require

from mlops_course.reporting import assess
from mlops_course.reporting.collect import load_class
from mlops_course.reporting.exports import write_report
from mlops_course.reporting.item_analysis import item_analysis
from mlops_course.reporting.report_command import register
from mlops_course.reporting.rubric import CellGoal
from mlops_course.reporting.tables import filter_rows, rows_frame

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def written(known_result, tmp_path_factory):
    return write_report(known_result, tmp_path_factory.mktemp("exports"))


def test_csv_is_student_by_module(written):
    rows = pd.read_csv(written["csv"])
    assert len(rows) == 8 * 2
    for column in [
        "student",
        "module",
        "attempt",
        "score",
        "max_score",
        "status",
        "counted",
        "proficient",
        "level_LG1",
        "level_LG2",
        "level_LG5",
        "level_docker-image",
        "level_reporting",
        "student_result",
        "student_pass",
        "grade",
        "second_demo_in_week",
        "demo_week",
    ]:
        assert column in rows.columns, column
    bob = rows[(rows.student == "bob") & (rows.module == "mA")].iloc[0]
    assert (bob.score, bob.max_score, bob.status) == (8.0, 12.0, "on_time")
    assert bob["level_docker-image"] == "not_yet_proficient" and bob.student_result == "fail"
    carol = rows[(rows.student == "carol") & (rows.module == "mB")].iloc[0]
    assert carol.status == "late" and carol.submitted_at.startswith("2026-10-20 00:00:00 +0200")
    assert rows[rows.student == "alice"].student_pass.all()
    students = pd.read_csv(written["students"]).set_index("student")
    assert students.loc["gina", "grade"] == 9.0 and students.loc["erin", "result"] == "pass"


def _items(per_student: list[dict[str, float]], goals: dict[str, float], rubric) -> pd.DataFrame:
    cell_goals = {"m": {g: CellGoal(g, "LG1", max_score=m) for g, m in goals.items()}}
    when = datetime(2026, 10, 1, tzinfo=UTC)
    attempts = [
        assess.Attempt(f"s{i}", "m", when, {g: assess.CellScore(g, s, goals[g]) for g, s in scores.items()})
        for i, scores in enumerate(per_student)
    ]
    students = [assess.StudentInfo(f"s{i}") for i in range(len(per_student))]
    result = assess.evaluate(
        students, ["m"], attempts, cell_goals, rubric, {"m": None}, as_of=when + timedelta(days=1)
    )
    return item_analysis(result).set_index("grade_id")


def test_item_analysis_known_values(rubric):
    import scipy.stats as scipy_stats

    # 10 students; "easy" everyone passes, "broken" nobody, "good" only the 4 strongest,
    # "inverse" only the 3 weakest; "core" builds the ability ranking.
    per_student = []
    for i in range(10):
        per_student.append(
            {"core": i, "easy": 1, "broken": 0, "good": 1 if i >= 6 else 0, "inverse": 1 if i < 3 else 0}
        )
    items = _items(per_student, {"core": 9, "easy": 1, "broken": 1, "good": 1, "inverse": 1}, rubric)
    assert items.loc["easy", "pass_rate"] == 1.0 and items.loc["easy", "flag"].startswith("too easy")
    assert items.loc["broken", "pass_rate"] == 0.0 and items.loc["broken", "flag"].startswith("nobody passes")
    assert items.loc["good", "pass_rate"] == pytest.approx(0.4)
    assert items.loc["good", "upper_lower"] == pytest.approx(1.0)  # top 3 all pass, bottom 3 none
    assert items.loc["inverse", "upper_lower"] == pytest.approx(-1.0)
    assert items.loc["inverse", "flag"].startswith("negative discrimination")
    assert items.loc["good", "flag"] == ""
    # point-biserial against the rest score, as scipy computes it
    passed = [s["good"] for s in per_student]
    rest = [sum(s.values()) - s["good"] for s in per_student]
    assert items.loc["good", "point_biserial"] == pytest.approx(scipy_stats.pointbiserialr(passed, rest)[0])
    assert pd.isna(items.loc["easy", "point_biserial"])  # no variance: undefined


def test_html_is_self_contained_with_three_plots(written):
    text = written["html"].read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), "the report must not load anything"
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text)
    assert len(images) == 3
    for data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    for heading in [
        "Score distribution per module",
        "Rubric levels per learning goal",
        "Item analysis",
        "Labs: status per module",
    ]:
        assert heading in text


def test_empty_gradebook_still_gives_a_report(tmp_path):
    from mlops_course.reporting.demo import write_course_skeleton
    from mlops_course.reporting.store import open_gradebook

    course = write_course_skeleton(tmp_path)
    with open_gradebook(course, create=True):
        pass
    paths = write_report(load_class(course), tmp_path / "exports")
    assert "No students in the gradebook yet" in paths["html"].read_text()


def test_cli_report(known_course_copy, capsys):
    course = known_course_copy
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["report", "--as-of", "2026-12-01T00:00:00"])
    args.course = str(course.root)
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "8 students" in out and (course.exports / "class_report.html").is_file()


def test_filter_rows(known_result):
    rows = rows_frame(known_result)
    assert set(filter_rows(rows, module="mB", level="not_yet_proficient").student) == {
        "carol",
        "dave",
        "frank",
        "gina",
    }
    assert set(filter_rows(rows, level="not_yet_proficient", criterion="docker-image").student) == {"bob"}
    assert len(filter_rows(rows, student="alice")) == 2
    assert len(filter_rows(rows, "(all)", "(all)", "(any)", "(any)")) == len(rows)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_html_report_in_headless_chromium(tmp_path):
    """Open the demo class report in headless Chromium and keep a screenshot."""
    browser = _chromium()
    require(browser is not None, "chromium is not installed (apt-get install -y chromium)")
    from mlops_course.reporting.demo import build_demo_course

    course = build_demo_course(tmp_path / "demo")
    paths = write_report(load_class(course, as_of=datetime(2027, 1, 20, tzinfo=UTC)), tmp_path / "exports")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "class_report.png"
    shot.unlink(missing_ok=True)
    (ARTIFACTS / "class_report.html").write_text(paths["html"].read_text())
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--hide-scrollbars",
        "--window-size=1280,2600",
        f"--screenshot={shot}",
        paths["html"].as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert shot.is_file(), f"no screenshot (exit {done.returncode}): {done.stderr[-2000:]}"
    import matplotlib.image

    pixels = matplotlib.image.imread(str(shot))
    assert pixels.shape[0] >= 2000 and pixels.shape[1] >= 1200
    # the plots rendered: many distinct colours, not a blank or error page
    sample = (pixels[::8, ::8, :3] * 255).astype("uint8").reshape(-1, 3)
    colours = {tuple(p) for p in sample}
    assert len(colours) > 200, f"screenshot looks blank ({len(colours)} colours)"
    # the level colours of the heat map are on screen
    assert any(
        abs(int(r) - 0x1A) < 12 and abs(int(g) - 0x96) < 12 and abs(int(b) - 0x41) < 12 for r, g, b in colours
    ), "heat map colours not found in the screenshot"
