"""`mlops-course grade` on an ordinary nbgrader course, unlike this one: assignments of
several notebooks with any names, partial credit, a manual cell, a late submission
under nbgrader's late-penalty plugin, a missing notebook. It gives every student the
same auto-graded score per cell as plain `nbgrader autograde`."""

from __future__ import annotations

import shutil
import textwrap
from datetime import datetime, timedelta

import nbformat
import pytest
from helpers import put_submission

from mlops_course import cli
from mlops_course.course import Course

pytestmark = pytest.mark.slow
DUE = datetime(2027, 3, 1, 12, 0)


def _cell(kind: str, grade_id: str, source: str, points: float = 0):
    source = textwrap.dedent(source).strip()
    cell = nbformat.v4.new_markdown_cell(source) if kind == "manual" else nbformat.v4.new_code_cell(source)
    meta = {"grade_id": grade_id, "schema_version": 3}
    if kind == "answer":
        meta.update(solution=True, grade=False, locked=False)
    elif kind == "test":
        meta.update(solution=False, grade=True, locked=True, points=points)
    elif kind == "manual":
        meta.update(solution=True, grade=True, locked=False, points=points)
    cell.metadata["nbgrader"] = meta
    return cell


def _notebook(*cells):
    nb = nbformat.v4.new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


PROBLEM1 = _notebook(
    nbformat.v4.new_markdown_cell("Write `squares(n)`: the squares of 1..n."),
    _cell(
        "answer",
        "squares",
        """
        def squares(n):
            ### BEGIN SOLUTION
            return [i * i for i in range(1, n + 1)]
            ### END SOLUTION
        """,
    ),
    _cell(
        "test",
        "correct_squares",
        """
        assert squares(1) == [1]
        ### BEGIN HIDDEN TESTS
        assert squares(10) == [i * i for i in range(1, 11)]
        ### END HIDDEN TESTS
        """,
        points=2,
    ),
    _cell(  # nbgrader's partial credit: a number as the cell's result
        "test",
        "partial_squares",
        """
        cases = [(2, [1, 4]), (3, [1, 4, 9]), (4, [1, 4, 9, 16])]
        sum(1 for n, expected in cases if squares(n) == expected)
        """,
        points=3,
    ),
    _cell("manual", "explain_squares", "Why squares? YOUR ANSWER HERE", points=2),
)
PROBLEM2 = _notebook(
    _cell(
        "answer",
        "total",
        """
        numbers = [int(line) for line in open("numbers.txt")]
        ### BEGIN SOLUTION
        total = sum(numbers)
        ### END SOLUTION
        """,
    ),
    _cell("test", "correct_total", "assert total == 10", points=1),
)
WARM_UP = _notebook(
    _cell("answer", "greeting", '### BEGIN SOLUTION\ngreeting = "hello"\n### END SOLUTION'),
    _cell("test", "correct_greeting", 'assert greeting == "hello"', points=1),
)
MAIN = _notebook(
    _cell(
        "answer", "double", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
    ),
    _cell(
        "test",
        "correct_double",
        "assert double(2) == 4\n### BEGIN HIDDEN TESTS\nassert double(-3) == -6\n### END HIDDEN TESTS",
        points=2,
    ),
)
EXTRA = _notebook(
    _cell("answer", "answer", "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION"),
    _cell("test", "correct_answer", "assert answer == 42", points=1),
)
SOURCE = {
    "ps1": {"problem1.ipynb": PROBLEM1, "problem2.ipynb": PROBLEM2, "numbers.txt": "1\n2\n3\n4\n"},
    "ps2": {"warm-up.ipynb": WARM_UP, "Main_Problem.ipynb": MAIN, "extra.ipynb": EXTRA},
}


def _edit(nb, grade_id: str, source: str):
    nb = nbformat.from_dict(nbformat.reads(nbformat.writes(nb), as_version=4))
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = source
    return nb


def _released(root, assignment: str, name: str):
    return nbformat.read(str(root / "release" / assignment / name), as_version=4)


def make_course(root):
    root.mkdir()
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        'c.CourseDirectory.course_id = "other-course"\n'
        'c.LateSubmissionPlugin.penalty_method = "zero"\n'
    )
    for assignment, files in SOURCE.items():
        folder = root / "source" / assignment
        folder.mkdir(parents=True)
        for name, content in files.items():
            if isinstance(content, str):
                (folder / name).write_text(content)
            else:
                nbformat.write(content, str(folder / name))


def submit(root):
    """The class: complete, partly wrong, a notebook missing, late, a wrong hidden test."""
    course = Course(root)
    p1, p2 = (_released(root, "ps1", n) for n in ("problem1.ipynb", "problem2.ipynb"))
    solved1 = _edit(p1, "squares", "def squares(n):\n    return [i * i for i in range(1, n + 1)]")
    solved2 = _edit(
        p2, "total", 'numbers = [int(line) for line in open("numbers.txt")]\ntotal = sum(numbers)'
    )
    off_by_one = _edit(
        p1, "squares", "def squares(n):\n    return [i * i for i in range(1, n)] + [n * n] * (n < 3)"
    )
    stamp = {"on_time": DUE - timedelta(days=1), "late": DUE + timedelta(days=2)}
    explained = _edit(solved1, "explain_squares", "Squares grow fast: that is the point.")
    for student, notebooks, when in (
        ("alice", {"problem1": explained, "problem2": solved2}, "on_time"),
        ("bob", {"problem1": off_by_one, "problem2": solved2}, "on_time"),
        ("carol", {"problem1": solved1}, "on_time"),
        ("dave", {"problem1": solved1, "problem2": solved2}, "late"),
    ):
        folder = put_submission(course, "ps1", student)
        for name, nb in notebooks.items():
            nbformat.write(nb, str(folder / f"{name}.ipynb"))
        (folder / "timestamp.txt").write_text(stamp[when].strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    w, m, e = (_released(root, "ps2", n) for n in ("warm-up.ipynb", "Main_Problem.ipynb", "extra.ipynb"))
    for student, double in (
        ("alice", "def double(x):\n    return 2 * x"),
        ("erin", "def double(x):\n    return abs(2 * x)"),
    ):
        folder = put_submission(course, "ps2", student)
        nbformat.write(_edit(w, "greeting", 'greeting = "hello"'), str(folder / "warm-up.ipynb"))
        nbformat.write(_edit(m, "double", double), str(folder / "Main_Problem.ipynb"))
        nbformat.write(_edit(e, "answer", "answer = 41"), str(folder / "extra.ipynb"))
        (folder / "timestamp.txt").write_text(stamp["on_time"].strftime("%Y-%m-%d %H:%M:%S.%f UTC"))


def set_due_dates(root):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "other-course") as gb:
        for assignment in SOURCE:
            gb.update_or_create_assignment(assignment, duedate=DUE)


def gradebook_scores(root) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "other-course") as gb:
        found = {}
        for assignment in SOURCE:
            for submission in gb.assignment_submissions(assignment):
                found[(assignment, submission.student.id, "late penalty")] = (
                    submission.late_submission_penalty
                )
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        key = (assignment, submission.student.id, notebook.name, grade.name)
                        found[key] = (grade.auto_score, grade.needs_manual_grade)
        return found


def plain_nbgrader(root):
    """nbgrader's own generate_assignment and autograde (its API, as its CLI runs them)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    return api


@pytest.fixture(scope="module")
def both(tmp_path_factory, monkeypatch_module):
    base = tmp_path_factory.mktemp("other")
    ours, plain = base / "ours", base / "plain"
    for root in (ours, plain):
        make_course(root)
    monkeypatch_module.delenv("MLOPS_COURSE_DB_URL", raising=False)

    api = plain_nbgrader(plain)
    for assignment in SOURCE:
        assert api.generate_assignment(assignment, force=True, create=True)["success"]
    set_due_dates(plain)
    submit(plain)
    for assignment, students in (("ps1", ["alice", "bob", "carol", "dave"]), ("ps2", ["alice", "erin"])):
        for student in students:
            assert api.autograde(assignment, student, force=True, create=True)["success"]

    assert cli.main(["--course", str(ours), "release"]) == 0
    set_due_dates(ours)
    submit(ours)
    for assignment in SOURCE:
        assert (
            cli.main(
                ["--course", str(ours), "grade", assignment, "--no-sandbox", "--workers", "2", "--quiet"]
            )
            == 0
        )
    return ours, plain


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_every_cell_scores_as_plain_nbgrader_scores_it(both):
    ours, plain = both
    mine, theirs = gradebook_scores(ours), gradebook_scores(plain)
    assert len(theirs) > 20
    assert mine == theirs


def test_the_class_is_what_it_seems(both):
    """The comparison is not empty: partial credit, a missing notebook, a late penalty."""
    ours, _ = both
    scores = gradebook_scores(ours)
    assert scores[("ps1", "bob", "problem1", "partial_squares")] == (1.0, False)  # 1 of 3 cases
    assert scores[("ps1", "carol", "problem2", "correct_total")] == (0.0, False)  # missing notebook
    assert scores[("ps1", "alice", "problem1", "explain_squares")][1] is True  # left for formgrader
    assert scores[("ps1", "bob", "problem1", "explain_squares")] == (0.0, False)  # not answered
    assert scores[("ps1", "dave", "late penalty")] > 0 and scores[("ps1", "alice", "late penalty")] == 0
    assert scores[("ps2", "erin", "Main_Problem", "correct_double")] == (0.0, False)  # the hidden test


def test_a_result_records_every_notebook(both):
    import json

    ours, _ = both
    carol = json.loads((ours / "grading" / "results" / "ps1" / "carol.json").read_text())
    assert carol["status"] == "graded"
    assert carol["notebooks"]["problem1"]["status"] == "graded"
    assert carol["notebooks"]["problem1"]["score"] == 5  # squares right; the manual cell waits
    assert carol["notebooks"]["problem2"]["status"] == "not graded"
    assert "problem2.ipynb is missing" in carol["notebooks"]["problem2"]["reason"]
    assert "problem1/correct_squares" in carol["cells"]


def test_feedback_and_export_work_per_notebook(both, capsys):
    ours, _ = both
    assert cli.main(["--course", str(ours), "feedback", "ps2"]) == 0
    assert (ours / "feedback" / "alice" / "ps2" / "Main_Problem.html").is_file()
    assert cli.main(["--course", str(ours), "export"]) == 0
    rows = (ours / "exports" / "grades.csv").read_text()
    assert "ps1" in rows and "ps2" in rows


def test_an_empty_source_folder_says_what_nbgrader_expects(tmp_path, capsys):
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "notes.txt").write_text("x")
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    assert cli.main(["--course", str(tmp_path), "release"]) == 2
    err = capsys.readouterr().err
    assert (
        "holds no assignment" in err and "source/<assignment>/<notebook>.ipynb" in err and "notes.txt" in err
    )


def test_outside_a_course_the_error_says_how_to_make_one(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLOPS_COURSE_ROOT", raising=False)
    assert cli.main(["release"]) == 2
    assert "nbgrader quickstart" in capsys.readouterr().err


def test_a_copy_of_the_course_grades_alike_in_the_sandbox(both, tmp_path):
    """The sandbox is no other grader: one assignment graded sandboxed scores the same."""
    from helpers import require_parts

    require_parts(["docker"])
    ours, _ = both
    copy = tmp_path / "copy"
    shutil.copytree(ours, copy, ignore=shutil.ignore_patterns("grading", "autograded", "feedback", "exports"))
    assert cli.main(["--course", str(copy), "grade", "ps2", "--workers", "2", "--quiet", "--force"]) == 0
    sandboxed = {k: v for k, v in gradebook_scores(copy).items() if k[0] == "ps2"}
    assert sandboxed == {k: v for k, v in gradebook_scores(ours).items() if k[0] == "ps2"}
