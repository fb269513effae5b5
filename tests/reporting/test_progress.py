"""Self-study progress from the student's own notebooks (no gradebook)."""

from __future__ import annotations

import argparse
import json
import os

import nbformat
import pytest

from mlops_course import authoring
from mlops_course.settings import ANSWERS_FILE
from mlops_course.student import progress


def student_notebook(folder, module, *, answered=(), passed=(), failed=(), open_answered=False):
    """A student's copy: answers a and b, tests ta/tb, an open question; outputs as saved
    after the student's last run (passed = ran without error, failed = AssertionError)."""
    cells = [authoring.markdown(f"# {module}")]
    for name in ("a", "b"):
        body = "x = 1" if name in answered else "# YOUR CODE HERE\nraise NotImplementedError()"
        cells.append(authoring.answer(f"ans_{name}", body))
        cells.append(
            authoring.test(
                f"t{name}",
                f'"""Answer {name} is right."""\nassert x == 1, "hint {name}"',
                points=2,
                goal="LG5",
            )
        )
    cells.append(
        authoring.open_question(
            "open_q",
            "My answer." if open_answered else "YOUR ANSWER HERE",
            points=1,
            goal="LG1",
            criterion="reporting",
        )
    )
    nb = authoring.notebook(cells)
    path = authoring.write(nb, folder / module / f"{module}.ipynb")
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type != "code" or grade_id not in {f"t{x}" for x in "ab"}:
            continue
        if grade_id in passed or grade_id in failed:
            cell.execution_count = 1
        if grade_id in failed:
            cell.outputs = [
                nbformat.v4.new_output(
                    "error", ename="AssertionError", evalue=f"hint {grade_id[1]}", traceback=[]
                )
            ]
    nbformat.write(nb, str(path))
    return path


def test_states_and_what_is_left(tmp_path):
    student_notebook(tmp_path, "m0_setup", answered=("a", "b"), passed=("ta", "tb"), open_answered=True)
    student_notebook(tmp_path, "m1_docker", answered=("a",), passed=("ta",), failed=("tb",))
    student_notebook(tmp_path / "mlops-course", "m2_cicd")  # nbgrader's fetch layout
    found = {p.module: p for p in progress.collect(tmp_path)}
    assert found["m0_setup"].state == progress.READY
    assert found["m0_setup"].points == (4.0, 4.0) and found["m0_setup"].source == "last run"
    m1 = found["m1_docker"]
    assert m1.state == progress.IN_PROGRESS and (m1.answers_done, m1.answers_total) == (1, 2)
    assert [t.status for t in m1.tests] == ["passed", "failed"]
    assert "answer ans_b: replace `raise NotImplementedError()`" in m1.left
    assert "test tb fails: AssertionError: hint b" in m1.left
    assert "open question open_q: write your answer" in m1.left
    m2 = found["m2_cicd"]
    assert m2.state == progress.NOT_STARTED and m2.source == "not run yet"
    assert [t.status for t in m2.tests] == ["not run", "not run"]
    assert found["m7_monitoring"].notebook is None and found["m7_monitoring"].state == progress.NOT_STARTED
    text = progress.format_progress(list(found.values()))
    assert "1/8 modules ready to submit" in text
    frame = progress.as_frame(list(found.values()))
    assert list(frame.module) == progress.MODULES


def test_run_uses_the_self_check(tmp_path):
    from mlops_course.student.check import CheckResult

    path = student_notebook(tmp_path, "m0_setup", answered=("a", "b"), open_answered=True)
    seen = []

    def checker(p):
        seen.append(p)
        return [
            CheckResult("ta", "test", True, 2, "Answer a is right.", None),
            CheckResult("tb", "test", False, 2, "Answer b is right.", "AssertionError: hint b"),
            CheckResult("open_q", "open", None, 1, "open question", None),
        ]

    result = progress.collect(tmp_path, modules=["m0_setup"], checker=checker)[0]
    assert seen == [path] and result.source == "self-check"
    assert [t.status for t in result.tests] == ["passed", "failed"] and result.state == progress.IN_PROGRESS


@pytest.mark.slow
def test_real_self_check_executes_the_notebook(tmp_path):
    student_notebook(tmp_path, "m0_setup", answered=("a", "b"), open_answered=True)
    result = progress.collect(tmp_path, modules=["m0_setup"], run=True, timeout=60)[0]
    assert [t.status for t in result.tests] == ["passed", "passed"]
    assert result.state == progress.READY


def test_cli_json(tmp_path, capsys):
    student_notebook(tmp_path, "m0_setup", answered=("a",))
    parser = argparse.ArgumentParser()
    progress.register(parser.add_subparsers())
    args = parser.parse_args(["progress", str(tmp_path), "--json", "--module", "m0_setup"])
    assert args.func(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["module"] == "m0_setup" and data[0]["answers_done"] == 1


def test_theory_questions_are_format_ok_and_never_points(tmp_path):
    """A question whose visible test passed is "format OK": not a passed test, and its
    points are not in the module's points; answered in answers.json counts as done."""
    folder = tmp_path / "m0_setup"
    cells = [
        authoring.markdown("# m0_setup"),
        authoring.question("q_box", 'q_box = quiz.single("q_box", {"a": "A", "b": "B"})', kind="single"),
        authoring.question_test(
            "test_q_box",
            '"""Q1: the box."""\nquiz.check("q_box", q_box)',
            points=3,
            goal="LG1",
            kind="single",
        ),
        authoring.question("q_size", 'q_size = quiz.single("q_size", {"a": "A", "b": "B"})', kind="single"),
        authoring.question_test(
            "test_q_size",
            '"""Q2: the size."""\nquiz.check("q_size", q_size)',
            points=1,
            goal="LG1",
            kind="single",
        ),
        authoring.answer("ans_a", "x = 1"),
        authoring.test("ta", '"""Answer a is right."""\nassert x == 1, "hint a"', points=2, goal="LG5"),
    ]
    path = authoring.write(authoring.notebook(cells), folder / "m0_setup.ipynb")
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.execution_count = 1  # ran without error: passed
    nbformat.write(nb, str(path))
    (folder / ANSWERS_FILE).write_text(json.dumps({"answers": {"q_box": "b"}}))
    result = progress.collect(tmp_path, modules=["m0_setup"])[0]
    assert [(t.grade_id, t.status) for t in result.tests] == [
        ("test_q_box", "format OK"),
        ("test_q_size", "format OK"),
        ("ta", "passed"),
    ]
    assert result.points == (2.0, 2.0) and result.question_points == 4.0
    assert (result.answers_done, result.answers_total) == (2, 3)  # q_size: neither saved nor coded
    assert "question q_size: answer it (in its widget, or with code where it says so)" in result.left
    text = progress.format_progress([result])
    assert "2/2 format OK" in text and "correctness is checked when your lecturer grades" in text


def test_without_a_folder_progress_looks_where_the_hub_and_make_lab_put_the_work(tmp_path, monkeypatch):
    home, course = tmp_path / "home", tmp_path / "course"
    (course / "source").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("")
    student_notebook(course / "source", "m0_setup", answered=("a", "b"))  # the solutions: never the work
    laptop = student_notebook(course / "release", "m0_setup", answered=("a",))  # make lab opens release/
    hub = student_notebook(home, "m1_docker", answered=("a",))  # the hub fetches into ~/<module>/
    (course / "notebooks").mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(course / "notebooks")  # where my_progress.ipynb runs
    found = {p.module: p for p in progress.collect(modules=["m0_setup", "m1_docker", "m2_cicd"])}
    assert found["m0_setup"].notebook == str(laptop.resolve())
    assert found["m1_docker"].notebook == str(hub.resolve())
    assert found["m2_cicd"].notebook is None
    newer = student_notebook(home, "m0_setup", answered=("a", "b"))  # a fetched copy, changed last
    os.utime(laptop, (1, 1))
    assert progress.collect(modules=["m0_setup"])[0].notebook == str(newer.resolve())
