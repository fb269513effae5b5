"""The other commands: feedback without hidden tests, self-check, export, doctor,
release with its leak check, and the demo on the example class."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys

import nbformat
import pytest
from helpers import REPO, ensure_released, replace_cells, submit_and_grade

from mlops_course.course import Course
from mlops_course.grading.feedback import generate_feedback
from mlops_course.grading.leakcheck import find_leaks
from mlops_course.student.check import check_notebook, format_results

A = "m0_setup"


@pytest.mark.slow
def test_feedback_shows_hints_but_never_hidden_test_code(course):
    ensure_released(course, A)
    source = nbformat.read(str(course.source_notebook(A)), as_version=4)
    wrong = replace_cells(
        source,
        {
            "q_debt_kinds": 'q_debt_kinds = {"a", "b"}',
            "pin_checker": "def parse_pins(text):\n    return {}\n\n"
            "def check_pins(pins, installed=None):\n    return {}",
        },
    )
    submit_and_grade(course, A, "feedback-student", wrong)
    generate_feedback(course, A, ["feedback-student"])
    html = (course.feedback / "feedback-student" / A / f"{A}.html").read_text()
    assert "Not quite: four of the six" in html  # the hint of a failing hidden assert
    hidden_lines = [
        'q_debt_kinds == {"a", "c", "d", "f"}',
        "surely-not-an-installed-package-42",
        "np.random.seed(12345)",
        "BEGIN HIDDEN TESTS",
    ]
    for line in hidden_lines:
        assert line not in html and line.replace('"', "&quot;") not in html, f"feedback leaks {line!r}"


@pytest.mark.slow
def test_self_check_reports_each_question_with_its_hint(tmp_path):
    release = nbformat.read(str(REPO / "release" / A / f"{A}.ipynb"), as_version=4)
    answered = replace_cells(release, {"q_small_box": 'q_small_box = "b"', "q_cace": 'q_cace = "zz"'})
    path = tmp_path / f"{A}.ipynb"
    nbformat.write(answered, str(path))
    results = {r.grade_id: r for r in check_notebook(path, timeout=120)}
    assert results["test_q_small_box"].passed is True
    assert results["test_q_cace"].passed is False
    assert "Set q_cace to one letter" in results["test_q_cace"].hint
    assert (
        results["test_pin_checker_parse"].passed is False
        and "not answered yet" in results["test_pin_checker_parse"].hint
    )
    assert results["open_technical_debt"].passed is None
    text = format_results(list(results.values()))
    assert "[PASS] test_q_small_box" in text and "[FAIL] test_q_cace" in text
    assert results["test_q_small_box"].title == "Q1: the small box in an ML system."


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
    assert float(rows["ada"]["score"]) == 20.0  # all 20 auto-graded points; 3 are graded by hand
    assert 0 < float(rows["ben"]["score"]) < 20
    assert float(rows["cleo"]["score"]) == 0 and rows["cleo"]["status"] == "graded"
    assert rows["dan"]["status"] == "error" and "not valid JSON" in rows["dan"]["reason"]
    assert rows["eve"]["status"] == "error" and "wrong file name" in rows["eve"]["reason"]
    assert "student" in out.stdout and "ada" in out.stdout
    assert (root / "feedback" / "ada" / A / f"{A}.html").is_file()
    assert Course(root).assignments() == [A]
