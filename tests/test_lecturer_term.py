"""One term of m0_setup as a lecturer runs it, through the `mlops-course` command:
roster -> schedule --apply -> release -> submissions -> grade -> manual grades (through
nbgrader's API, as formgrader gives them) -> feedback -> export -> report -> results.

The example class is graded once per module (without the sandbox: the containers
could not see this worktree); a test that changes the course works on its own copy.
Class: ada (complete, open answer to grade by hand), ben (partial, submitted 00:41 the
night after the deadline: late), cleo (blank, copied by hand: no timestamp.txt), dan
(a damaged file), eve (a renamed file), fay (on the roster, never submitted).
Semester start Monday 7 Sep 2026: m0_setup's deadline is Mon 28 Sep 23:59:59 CEST."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import shutil
from pathlib import Path

import pytest
from helpers import REPO

from mlops_course import cli
from mlops_course.course import Course

A = "m0_setup"
ROSTER = """student_id,name,email,tiao
ada,Ada Lovelace,ada@student.example.org,no
ben,Ben Claes,ben@student.example.org,no
cleo,Cleo Peeters,cleo@student.example.org,no
dan,Dan Maes,dan@student.example.org,no
eve,Eve Janssens,eve@student.example.org,no
fay,Fay Wouters,fay@student.example.org,no
"""
STUDENTS = ["ada", "ben", "cleo", "dan", "eve", "fay"]
AFTER_DEADLINE = "2026-12-01"

pytestmark = pytest.mark.slow  # the module grades the example class once


def run(capsys, course: Course, *argv: str) -> tuple[int, str, str]:
    """``mlops-course --course ROOT ARGV...``: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = cli.main(["--course", str(course.root), *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    """The course after roster, schedule, release and grading, and what `grade` printed."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLOPS_COURSE_DB_URL", raising=False)
        patch.delenv("MLOPS_COURSE_ROOT", raising=False)
        root = tmp_path_factory.mktemp("term")
        shutil.copy(REPO / "nbgrader_config.py", root)
        shutil.copytree(REPO / "source" / A, root / "source" / A)
        course = Course(root)
        (root / "class.csv").write_text(ROSTER)
        with contextlib.redirect_stdout(io.StringIO()):
            assert cli.main(["--course", str(root), "roster", "import", str(root / "class.csv")]) == 0
            assert cli.main(["--course", str(root), "schedule", "--start", "2026-09-07", "--apply"]) == 0
            assert cli.main(["--course", str(root), "release", A]) == 0
        for student in STUDENTS[:-1]:  # copied by hand, as the README allows; fay never submits
            shutil.copytree(REPO / "examples" / "submitted" / student / A, course.submission_dir(student, A))
        (course.submission_dir("cleo", A) / "timestamp.txt").unlink()
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["--course", str(root), "grade", A, "--no-sandbox", "--workers", "2", "--quiet"])
        assert code == 0, err.getvalue()
        yield course, out.getvalue(), err.getvalue()


@pytest.fixture
def own_term(term, tmp_path, monkeypatch):
    """A copy of the graded course, to change."""
    monkeypatch.delenv("MLOPS_COURSE_DB_URL", raising=False)
    return Course(shutil.copytree(term[0].root, tmp_path / "course"))


def give_manual_grade(course: Course, student: str, grade_id: str, score: float) -> None:
    """What formgrader does when a lecturer types a score (nbgrader's API handler)."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb:
        grade = gb.find_grade(grade_id, A, A, student)
        grade.manual_score = score
        grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
        gb.db.commit()


def gradebook_scores(course: Course) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb:
        return {s.student.id: float(s.score) for s in gb.assignment_submissions(A)}


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# -- grade: the summary ----------------------------------------------------------------------


def test_the_summary_lists_every_roster_student_and_the_cells_to_grade_by_hand(term):
    _, out, _ = term
    rows = {line.split()[0]: line for line in out.splitlines() if line and line.split()[0] in STUDENTS}
    assert set(rows) == set(STUDENTS)
    assert "open_technical_debt" in rows["ada"]
    assert re.search(r"^dan\s+-\s+26\s+error\s+.*not valid JSON", rows["dan"])
    assert re.search(r"^fay\s+-\s+26\s+not delivered\s+absent: no submission", rows["fay"])
    assert "need manual grading in formgrader: ada" in out


def test_a_copied_submission_without_timestamp_is_warned_about(term):
    _, _, err = term
    assert "have no timestamp.txt" in err and "cleo" in err and "mlops-course submit-time m0_setup" in err


def test_grading_again_says_there_is_nothing_to_grade(term, capsys):
    course = term[0]
    code, out, err = run(capsys, course, "grade", A, "--no-sandbox", "--workers", "2")
    assert code == 0
    assert out.startswith("nothing to grade: the 5 result(s) of m0_setup are kept")
    assert "submission/s" not in err  # no progress bar over nothing


def test_a_listed_student_without_a_submission_is_not_delivered(term, capsys):
    course = term[0]
    code, out, _ = run(capsys, course, "grade", A, "--student", "fay", "--no-sandbox")
    assert code == 0 and "no submission of m0_setup by fay" in out
    assert re.search(r"^fay .* not delivered", out, re.MULTILINE)
    assert not course.result_file(A, "fay").exists()  # never a grading error


# -- one source of truth for grades ------------------------------------------------------------


def test_export_report_dashboard_and_feedback_agree_with_the_gradebook(own_term, capsys):
    course = own_term
    assert run(capsys, course, "export")[0] == 0
    before = {r["student"]: r for r in read_csv(course.exports / "grades.csv")}
    assert (
        before["ada"]["score"] == "23" and before["ada"]["awaiting_manual_grading"] == "open_technical_debt"
    )

    give_manual_grade(course, "ada", "open_technical_debt", 3)  # the open answer, in formgrader
    code, feedback_out, _ = run(capsys, course, "feedback", A)
    assert code == 0 and re.search(r"^ada\s+26/26$", feedback_out, re.MULTILINE)
    assert run(capsys, course, "export")[0] == 0
    assert run(capsys, course, "report", "--as-of", AFTER_DEADLINE)[0] == 0

    book = gradebook_scores(course)
    exported = {r["student"]: r for r in read_csv(course.exports / "grades.csv")}
    reported = {r["student"]: r for r in read_csv(course.exports / "class_report.csv") if r["module"] == A}
    from mlops_course.reporting.collect import load_class
    from mlops_course.reporting.tables import rows_frame

    dashboard = rows_frame(load_class(course)).set_index(["student", "module"])  # what the dashboard shows
    assert book["ada"] == 26.0
    assert set(exported) == set(STUDENTS)
    for student, score in book.items():
        assert float(exported[student]["score"]) == score
        assert float(reported[student]["score"]) == score
        assert dashboard.loc[(student, A), "score"] == score
        page = (course.feedback / student / A / f"{A}.html").read_text()
        assert float(re.search(r"Score: ([\d.]+) / ([\d.]+)", page).group(1)) == score
    assert exported["ada"]["awaiting_manual_grading"] == ""
    assert exported["dan"]["status"] == "error" and exported["dan"]["score"] == ""
    assert exported["fay"]["status"] == "not delivered" and exported["fay"]["lab_status"] == "absent"
    assert exported["ben"]["lab_status"] == "late"
    code, out, _ = run(capsys, course, "results", A)
    assert re.search(r"^ada\s+26\s+26\s+graded\s*$", out, re.MULTILINE)


# -- nothing overwritten or invented by a typo ----------------------------------------------------


TYPOS = {
    "release": (["release", "m0-setup"], "m0_setup"),
    "grade": (["grade", "m0-setup"], "m0_setup"),
    "grade --student": (["grade", A, "--student", "ben", "--student", "adaa"], "ada"),
    "export --assignment": (["export", "--assignment", "m0_setp"], "m0_setup"),
    "feedback": (["feedback", "m0_stup"], "m0_setup"),
    "feedback --student": (["feedback", A, "--student", "bne"], "ben"),
    "results --remove": (["results", "--remove", A, "ada", "bem"], "ben"),  # ada is kept too
    "submit-time": (["submit-time", A, "clio", "2026-09-26 11:00"], "cleo"),
    "resit": (["resit", "adaa", "--dry-run"], "ada"),
}


@pytest.mark.parametrize(("argv", "nearest"), TYPOS.values(), ids=TYPOS.keys())
def test_a_typo_is_an_error_with_the_nearest_id_and_changes_nothing(term, capsys, argv, nearest):
    course = term[0]
    grades = course.exports / "grades.csv"
    grades.parent.mkdir(exist_ok=True)
    grades.write_text("kept\n")
    before = sorted(p.relative_to(course.root) for p in course.root.rglob("*") if "exports" not in p.parts)
    code, out, err = run(capsys, course, *argv)
    assert code == 2
    assert f"did you mean {nearest}" in err and len(err.strip().splitlines()) == 1
    assert grades.read_text() == "kept\n"
    assert (
        sorted(p.relative_to(course.root) for p in course.root.rglob("*") if "exports" not in p.parts)
        == before
    )


def test_feedback_for_a_student_without_a_graded_submission_is_an_error(term, capsys):
    code, _, err = run(capsys, term[0], "feedback", A, "--student", "dan")
    assert code == 2 and "dan has no graded submission of m0_setup" in err


# -- undoing a result -------------------------------------------------------------------------------


def test_results_remove_undoes_a_phantom_and_a_real_result(own_term, capsys):
    from mlops_course.grading import results as ledger

    course = own_term
    # what `grade --student nobody` recorded before ids were checked
    ledger.save(course, ledger.GradeResult("nobody", A, "error", seed=1, reason="no submission folder"))
    assert "nobody" in run(capsys, course, "results", A)[1]
    code, out, _ = run(capsys, course, "results", "--remove", A, "nobody")
    assert code == 0 and "removed grading/results/m0_setup/nobody.json" in out

    code, out, _ = run(capsys, course, "results", "--remove", A, "ben")
    assert code == 0
    assert "the gradebook's submission of m0_setup by ben" in out and "kept submitted/ben/m0_setup" in out
    assert not course.result_file(A, "ben").exists() and not (course.autograded / "ben" / A).exists()
    assert course.submission_dir("ben", A).is_dir()
    assert "ben" not in gradebook_scores(course)
    code, out, _ = run(capsys, course, "results", A)
    assert "nobody" not in out and re.search(r"^ben\s+-\s+26\s+not graded yet", out, re.MULTILINE)
    assert run(capsys, course, "report", "--as-of", AFTER_DEADLINE)[0] == 0
    students = {r["student"] for r in read_csv(course.exports / "students.csv")}
    assert students == set(STUDENTS)  # ben stays: he is on the roster
    code, _, err = run(capsys, course, "results", "--remove", A, "ben")
    assert code == 2 and "nothing to remove" in err


# -- lateness is always known ------------------------------------------------------------------------


def test_submit_time_records_the_time_without_grading_again(own_term, capsys):
    course = own_term
    assert run(capsys, course, "report", "--as-of", AFTER_DEADLINE)[2].count("cleo/m0_setup") == 1
    code, out, _ = run(capsys, course, "submit-time", A, "cleo", "2026-09-29 10:00")  # a day late
    assert code == 0 and "updated the gradebook" in out
    assert (
        course.submission_dir("cleo", A) / "timestamp.txt"
    ).read_text() == "2026-09-29 08:00:00.000000 UTC"
    code, out, _ = run(capsys, course, "grade", A, "--no-sandbox")
    assert out.startswith("nothing to grade")  # only the time changed: the result stands
    code, _, err = run(capsys, course, "report", "--as-of", AFTER_DEADLINE)
    assert "submit-time" not in err
    rows = {r["student"]: r for r in read_csv(course.exports / "class_report.csv") if r["module"] == A}
    assert rows["cleo"]["status"] == "late"
    code, _, err = run(capsys, course, "submit-time", A, "cleo", "2026-09-20 10:00")
    assert code == 2 and "--replace" in err


# -- a report a lecturer can read ---------------------------------------------------------------------


def test_the_report_fits_a_screen(own_term, capsys):
    import base64
    import struct

    course = own_term
    assert run(capsys, course, "report", "--as-of", AFTER_DEADLINE)[0] == 0
    page = (course.exports / "class_report.html").read_text()
    students_table = page.split("<h2>Students</h2>")[1].split("</table>")[0]
    assert students_table.split("</thead>")[0].count("<th>") <= 14
    assert "<details id='student-ada'>" in page and "<a href='#student-ada'>" in page
    heat_map = re.search(r"alt='rubric levels heat map' src='data:image/png;base64,([^']+)'", page).group(1)
    width = struct.unpack(">I", base64.b64decode(heat_map)[16:20])[0]
    assert width < 900  # as wide as its few assessed criteria (it was 2862 px)
    cells = re.findall(r"<td[^>]*>([\d.]+(?:/[\d.]+)?)</td>", page)
    assert cells and not [c for c in cells if re.search(r"\.\d*0\b", c)]  # 4, 15, 2.5: never 4.00 or 15.0
