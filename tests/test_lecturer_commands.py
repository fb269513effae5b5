"""The lecturer's commands that need no graded notebook: start-up cost, roster files,
schedule warnings, exports that are never replaced by empty ones, the report's layout,
and the summary's statuses (tests/test_lecturer_term.py grades a class)."""

from __future__ import annotations

import base64
import json
import re
import struct
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from helpers import REPO

from mlops_course import cli
from mlops_course.course import Course
from mlops_course.reporting.demo import Cell, add_module, add_student, write_course_skeleton
from mlops_course.reporting.store import open_gradebook

# Never needed to build the command line or import a roster (seconds of start-up).
HEAVY = ["tensorflow", "pandas", "matplotlib", "nbconvert", "dask", "distributed", "papermill", "nbclient"]


def modules_loaded_by(argv: list[str], cwd) -> set[str]:
    """The modules `mlops-course ARGV` imports, from a fresh interpreter."""
    code = (
        "import json, sys\n"
        "from mlops_course.cli import main\n"
        "try:\n"
        f"    code = main({argv!r})\n"
        "except SystemExit as exit:\n"
        "    code = exit.code\n"
        "loaded = sorted(name for name, module in sys.modules.items() if module is not None)\n"
        "print(json.dumps({'code': code, 'loaded': loaded}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, env=_env(), timeout=120
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] in (0, None), done.stderr
    return set(result["loaded"])


def among(loaded: set[str], packages) -> set[str]:
    """The ``packages`` of which ``loaded`` holds a module."""
    return {p for p in packages if any(name == p or name.startswith(p + ".") for name in loaded)}


def _env():
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("MLOPS_COURSE_DB_URL", "MLOPS_COURSE_ROOT")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_help_loads_no_gradebook_and_no_heavy_library(tmp_path):
    loaded = modules_loaded_by(["--help"], tmp_path)
    assert not among(loaded, [*HEAVY, "nbgrader.api", "nbformat", "sqlalchemy", "jsonschema"])


def test_a_roster_import_loads_no_heavy_library(tmp_path):
    course = write_course_skeleton(tmp_path / "course")
    roster = tmp_path / "class.csv"
    roster.write_text("student_id,name,email,tiao\nr1,An Claes,an@x.be,no\n")
    loaded = modules_loaded_by(["--course", str(course.root), "roster", "import", str(roster)], tmp_path)
    assert "nbgrader.api" in loaded  # it did write the gradebook
    assert not among(
        loaded, [*HEAVY, "jupyter_server", "rfc3987_syntax", "nbgrader.server_extensions", "pkg_resources"]
    )
    with open_gradebook(course) as gb:
        assert [s.id for s in gb.students] == ["r1"]


def test_the_lean_packages_are_whole_when_asked():
    code = (
        "from mlops_course.infra.lean_imports import lean_startup\n"
        "lean_startup()\n"
        "import sys, nbgrader.api\n"
        "assert 'nbgrader.server_extensions.formgrader' not in sys.modules\n"
        "assert 'pkg_resources' not in sys.modules\n"
        "points = nbgrader._jupyter_server_extension_points()\n"  # what Jupyter asks a server extension
        "import setuptools\n"
        "print(nbgrader.__version__, points[0]['module'], callable(nbgrader.load_formgrader),\n"
        "      setuptools.__version__, callable(setuptools.setup))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert done.returncode == 0, done.stderr
    version, module, loader, setuptools_version, setup = done.stdout.split()
    assert re.match(r"\d+\.\d+", version) and module == "nbgrader" and loader == "True"
    assert re.match(r"\d+\.\d+", setuptools_version) and setup == "True"


# -- roster files --------------------------------------------------------------------------------


@pytest.fixture
def course(tmp_path, monkeypatch) -> Course:
    monkeypatch.delenv("MLOPS_COURSE_DB_URL", raising=False)
    return write_course_skeleton(tmp_path / "course")


def lecturer(capsys, course: Course, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["--course", str(course.root), *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_folder_given_as_roster_is_a_one_line_error(course, tmp_path, capsys):
    code, _, err = lecturer(capsys, course, "roster", "import", str(tmp_path))
    assert code == 2 and "is a folder, not a CSV file" in err and "Traceback" not in err
    code, _, err = lecturer(capsys, course, "roster", "import", str(tmp_path / "nope.csv"))
    assert code == 2 and "nope.csv: no such file" in err


def test_a_windows_1252_roster_is_reported_at_its_line(course, tmp_path, capsys):
    roster = tmp_path / "class.csv"
    text = "student_id,name,email,tiao\nr1,An Claes,an@x.be,no\nr2,Zoë Peeters,zoe@x.be,no\n"
    roster.write_bytes(text.encode("cp1252"))
    code, _, err = lecturer(capsys, course, "roster", "import", str(roster))
    assert code == 2 and f"{roster}:3: not UTF-8 text (byte 0xeb" in err


# -- schedule ------------------------------------------------------------------------------------


def test_schedule_warns_about_a_start_that_is_not_a_monday(course, capsys):
    code, out, err = lecturer(capsys, course, "schedule", "--start", "2026-09-23")
    assert code == 0 and "2026-09-23 is a Wednesday, not a Monday" in err and "(2026-09-21)" in err
    assert "rule: the demo deadline is 3 calendar weeks (breaks included)" in out
    assert "not a Monday" not in lecturer(capsys, course, "schedule", "--start", "2026-09-21")[2]


def test_schedule_warns_when_a_break_shortens_a_demo_window_and_names_the_rule(course, capsys):
    # autumn recess: the week of Wed 4 Nov; m4_kubernetes (week 6) has its session on 26 Oct
    code, out, err = lecturer(capsys, course, "schedule", "--start", "2026-09-21", "--break", "2026-11-04")
    assert code == 0
    assert "m4_kubernetes: break 2026-11-04 falls in its demo window (2026-10-26 to 2026-11-16)" in err
    assert "Rule applied: 3 calendar weeks, breaks included" in err and "m3_workflow" not in err
    assert re.search(r"m4_kubernetes .* Mon 2026-11-16 23:59 CET", out)


def test_the_teaching_weeks_rule_moves_the_deadline_past_the_break(course, capsys):
    rubric = (REPO / "mlops_course" / "data" / "rubric.yaml").read_text()
    assert "window_counts: calendar" in rubric
    custom = course.root / "teaching.yaml"
    custom.write_text(rubric.replace("window_counts: calendar", "window_counts: teaching"))
    argv = ["schedule", "--start", "2026-09-21", "--break", "2026-11-04", "--rubric", str(custom)]
    code, out, err = lecturer(capsys, course, *argv)
    assert code == 0 and re.search(r"m4_kubernetes .* Mon 2026-11-23 23:59 CET", out)
    assert "m4_kubernetes: break 2026-11-04 falls in its demo window, which is extended" in err
    assert "rule: the demo deadline is 3 teaching weeks (break weeks not counted)" in out


# -- exports are never replaced by empty ones ------------------------------------------------------


def _released_class(course: Course) -> None:
    """A roster and a released module, nothing graded."""
    with open_gradebook(course, create=True) as gb:
        add_module(gb, course, "mA", [Cell("a1", 2, "LG1")])
        add_student(gb, "r1", "An Claes")


def test_export_with_nothing_graded_keeps_the_previous_file(course, capsys):
    _released_class(course)
    previous = course.exports / "grades.csv"
    previous.parent.mkdir()
    previous.write_text("student,score\nr1,7\n")
    code, _, err = lecturer(capsys, course, "export")
    assert code == 2 and "nothing graded of any assignment yet" in err and "left as it was" in err
    code, _, err = lecturer(capsys, course, "export", "--assignment", "mA")
    assert code == 2 and "nothing graded of mA yet" in err
    assert previous.read_text() == "student,score\nr1,7\n"


def test_a_report_of_an_empty_gradebook_never_replaces_one_with_students(course, tmp_path, capsys):
    _released_class(course)
    assert lecturer(capsys, course, "report")[0] == 0
    empty = write_course_skeleton(tmp_path / "empty")
    with open_gradebook(empty, create=True):
        pass
    code, _, err = lecturer(capsys, empty, "report", "--out", str(course.exports))
    assert code == 2 and "has no students" in err
    assert "r1" in (course.exports / "students.csv").read_text()


# -- the summary and the report's layout ------------------------------------------------------------


def test_the_summary_shows_any_status_the_grader_records(course):
    from mlops_course.grading import results as ledger
    from mlops_course.grading.summary import format_summary, summary_rows

    _released_class(course)
    odd = ledger.GradeResult("r1", "mA", "tampered", seed=1, max_score=2, reason="test cells edited")
    rows = summary_rows(course, "mA", [odd])
    assert [(r.student, r.status, r.score) for r in rows] == [("r1", "tampered", None)]
    assert re.search(r"^r1\s+-\s+2\s+tampered\s+test cells edited$", format_summary(rows), re.MULTILINE)


def test_any_status_but_graded_is_no_grade_in_the_export_and_the_report(course, capsys):
    import csv

    from mlops_course.grading import results as ledger

    _released_class(course)
    with open_gradebook(course) as gb:
        add_student(gb, "r2", "Bo Dierckx")
    ledger.save(course, ledger.GradeResult("r1", "mA", "tampered", seed=1, reason="test cells edited"))
    ledger.save(course, ledger.GradeResult("r2", "mA", "graded", seed=2, score=2.0))  # not in the gradebook
    assert lecturer(capsys, course, "export")[0] == 0
    rows = {r["student"]: r for r in csv.DictReader((course.exports / "grades.csv").open())}
    assert (rows["r1"]["status"], rows["r1"]["lab_status"], rows["r1"]["score"]) == (
        "tampered",
        "integrity_review",  # not a grade yet: the lecturer's review decides
        "",
    )
    assert rows["r1"]["reason"] == "tampered: test cells edited"
    assert (rows["r2"]["lab_status"], rows["r2"]["score"]) == (
        "grading_error",
        "",
    )  # the ledger's 2 is no grade
    assert "the gradebook holds no scores for it" in rows["r2"]["reason"]


def test_the_demo_class_report_is_readable(tmp_path):
    from mlops_course.reporting.collect import load_class
    from mlops_course.reporting.demo import build_demo_course
    from mlops_course.reporting.exports import write_report

    course = build_demo_course(tmp_path / "demo")
    page = write_report(load_class(course, as_of=datetime(2027, 1, 20, tzinfo=UTC)), tmp_path / "out")["html"]
    text = page.read_text()
    header = text.split("<h2>Students</h2>")[1].split("</thead>")[0]
    assert header.count("<th>") == 4 + 6 + 3  # id, name, result, grade; LG1-LG5 + reporting; 3 summaries
    assert text.count("<details id='student-") == 16
    widths = [
        struct.unpack(">I", base64.b64decode(data)[16:20])[0]
        for data in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text)
    ]
    assert len(widths) == 3 and max(widths) < 1000
    numbers = re.findall(r"<td[^>]*>(-?[\d.]+(?:/[\d.]+)?)</td>", text)
    assert len(numbers) > 100
    assert not [n for n in numbers if re.search(r"\.\d*0\b|\.\d{3,}", n)]  # 2.5, 0.67, 18.6: one format
