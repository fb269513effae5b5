"""The other commands: feedback without hidden tests, self-check, export, doctor,
release with its leak check, and the demo on the example class."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from helpers import REPO, append_to_cells, ensure_released, replace_cells, submit_and_grade

from mlops_course.course import Course
from mlops_course.grading.feedback import generate_feedback
from mlops_course.grading.leakcheck import find_leaks
from mlops_course.settings import ANSWERS_FILE
from mlops_course.student.check import check_notebook, format_results

A = "m0_setup"


def error_outputs(html: str) -> list[str]:
    """The text of every error output of a feedback page."""
    return re.findall(r'<div class="output_subarea output_text output_error">(.*?)</div>', html, re.S)


@pytest.mark.slow
def test_feedback_is_honest_and_never_shows_hidden_test_code(course):
    """Hints yes, keys and hidden code never; every entry named by its title; an open
    answer not graded yet is "awaiting your lecturer" and the total provisional; a
    missing answer is "not answered", not a NotImplementedError."""
    ensure_released(course, A)
    source = nbformat.read(str(course.source_notebook(A)), as_version=4)
    wrong = append_to_cells(source, {"q_debt_kinds": 'q_debt_kinds = {"too_many_tests", "glue_code"}'})
    release = nbformat.read(str(course.release_notebook(A)), as_version=4)
    stub = next(
        c for c in release.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "environment_report"
    )
    wrong = replace_cells(
        wrong,
        {
            "pin_checker": "def parse_pins(text):\n    return {}\n\n"
            "def check_pins(pins, installed=None):\n    return {}",
            "environment_report": stub.source,
            "open_technical_debt": "Glue code: every model had its own loader.",
        },
    )
    submit_and_grade(course, A, "feedback-student", wrong)
    generate_feedback(course, A, ["feedback-student"])
    html = (course.feedback / "feedback-student" / A / f"{A}.html").read_text()
    assert (
        "compare every option with the kinds of debt listed in Part 1" in html
    )  # the hint of a hidden score
    hidden_lines = [
        '{"pipeline_jungles", "undeclared_consumers", "feedback_loops", "glue_code"}',
        "surely-not-an-installed-package-42",
        "np.random.seed(12345)",
        "BEGIN HIDDEN TESTS",
        "quiz.score(",
    ]
    for line in hidden_lines:
        assert line not in html and line.replace('"', "&quot;") not in html, f"feedback leaks {line!r}"
    toc = html.split('<div id="toc">', 1)[1].split("</div>", 1)[0]
    assert "Test cell" not in toc and "Q3: kinds of ML technical debt." in toc
    assert "Exercise 1: the environment report has" in toc and "not answered" in toc
    assert "Q10 (open question, graded by your lecturer)." in toc and "awaiting your lecturer" in toc
    assert "provisional: 3 points are awaiting your lecturer" in html
    errors = error_outputs(html)
    assert errors and not any("NotImplementedError" in error for error in errors), errors
    assert any("not answered" in error for error in errors)


def answered_release(folder, answers: dict, code: dict | None = None):
    """The release as a student hands it in: ``answers`` saved by the question widgets,
    ``code`` added at the end of cells (by grade id)."""
    release = nbformat.read(str(REPO / "release" / A / f"{A}.ipynb"), as_version=4)
    path = folder / f"{A}.ipynb"
    nbformat.write(append_to_cells(release, code or {}), str(path))
    for name in ("tiny_model.tflite", "tiny_model.json"):
        shutil.copy(REPO / "release" / A / name, folder / name)
    (folder / ANSWERS_FILE).write_text(json.dumps({"answers": answers}))
    return path


@pytest.mark.slow
def test_self_check_says_format_ok_for_wrong_answers_in_the_right_format(tmp_path):
    """Wrong answers, well formed: "format OK", and no point counted as earned."""
    wrong = {
        "q_small_box": "monitoring",
        "q_debt_kinds": ["too_many_tests", "containers"],
        "q_tools": {
            tool: "ci"
            for tool in (
                "docker",
                "kubernetes",
                "prometheus",
                "prefect",
                "tflite",
                "optuna",
                "github_actions",
            )
        },
    }
    path = answered_release(
        tmp_path, wrong, code={"q_cace": 'q_cace = "b"', "q_test_sevens": "q_test_sevens = 12"}
    )
    results = {r.grade_id: r for r in check_notebook(path, timeout=120)}
    for grade_id in ("test_q_small_box", "test_q_debt_kinds", "test_q_tools", "test_q_test_sevens"):
        assert results[grade_id].status == "format OK", (grade_id, results[grade_id].hint)
    assert (
        results["test_q_cace"].status == "failed" and "must be one option id" in results["test_q_cace"].hint
    )
    assert results["test_q_pinning"].hint.startswith("not answered yet: choose one option")
    assert results["test_q_unpinned"].hint.startswith("not answered yet: compute q_unpinned")
    assert (
        results["test_pin_checker_parse"].passed is False
        and "not answered yet" in results["test_pin_checker_parse"].hint
    )
    assert results["open_technical_debt"].status == "graded by your lecturer"
    assert results["test_q_small_box"].title == "Q1: the small box in an ML system."
    text = format_results(list(results.values()))
    assert "[FORMAT OK] test_q_small_box (1 pt): Q1" in text and "[FAIL] test_q_cace" in text
    assert "Exercises: 0/7 visible tests passed (0/13 points so far" in text
    assert (
        "Theory questions: 4/9 format OK (10 points, none counted here: format OK; correctness is checked when your lecturer grades)"
        in text
    )


def test_self_check_of_a_broken_file_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [')
    out = subprocess.run(
        [sys.executable, "-m", "mlops_course.cli", "check", str(broken)], capture_output=True, text=True
    )
    assert out.returncode == 2 and "not valid JSON" in out.stderr


def test_leak_check_catches_solution_and_hidden_test_lines(tmp_path):
    release = tmp_path / "release"
    release.mkdir()
    source = REPO / "source" / A / f"{A}.ipynb"
    nb = nbformat.read(str(source), as_version=4)
    nbformat.write(nb, str(release / f"{A}.ipynb"))  # the source itself, as if never cleared
    leaks = find_leaks(source, release)
    assert any("solution line leaked" in leak for leak in leaks)
    assert any("hidden test line leaked" in leak for leak in leaks)
    assert find_leaks(source, REPO / "release" / A) == []


def test_doctor_reports_python_packages_and_docker():
    out = subprocess.run([sys.executable, "-m", "mlops_course.cli", "doctor"], capture_output=True, text=True)
    assert "python" in out.stdout and "docker engine" in out.stdout and "pinned packages match" in out.stdout


def test_doctor_explains_a_missing_docker_engine(monkeypatch):
    from mlops_course import doctor

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    check = doctor.docker_check()
    assert not check.ok and "apt-get install docker.io" in check.fix


def test_commands_outside_a_course_say_where_to_run(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "mlops_course.cli", "export"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 2 and "no course found" in out.stderr


@pytest.mark.slow
def test_demo_grades_the_example_class(tmp_path):
    """The README's main job on a copy of the repository: complete = full auto marks,
    partial in between, blank = 0, corrupt and renamed = error with a reason."""
    root = tmp_path / "course"
    root.mkdir()
    for name in ("nbgrader_config.py",):
        shutil.copy(REPO / name, root / name)
    for folder in ("source", "examples"):
        shutil.copytree(REPO / folder, root / folder)
    # only m0_setup: the example class is of m0; other modules have their own tests
    for extra in (root / "source").iterdir():
        if extra.name != A:
            shutil.rmtree(extra)
    out = subprocess.run(
        [sys.executable, "-m", "mlops_course.cli", "demo"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    rows = {r["student"]: r for r in csv.DictReader((root / "exports" / "grades.csv").open())}
    assert float(rows["ada"]["score"]) == 23.0  # all 23 auto-graded points; 3 are graded by hand
    assert 0 < float(rows["ben"]["score"]) < 23
    assert float(rows["cleo"]["score"]) == 0 and rows["cleo"]["status"] == "graded"
    assert rows["dan"]["status"] == "error" and "not valid JSON" in rows["dan"]["reason"]
    assert rows["eve"]["status"] == "error" and "wrong file name" in rows["eve"]["reason"]
    assert "student" in out.stdout and "ada" in out.stdout
    assert (root / "feedback" / "ada" / A / f"{A}.html").is_file()
    assert Course(root).assignments() == [A]
