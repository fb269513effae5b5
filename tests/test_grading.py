"""The grading pipeline on m0_setup: bad submissions are recorded with a reason and
never stop the others; hidden tests are restored; grading twice changes nothing."""

from __future__ import annotations

import json

import nbformat
import pytest
from helpers import append_to_cells, ensure_released, put_submission, replace_cells
from nbgrader.api import Gradebook

from mlops_course.errors import UnknownAssignment
from mlops_course.grading.pipeline import GradingSetupError, Options, grade
from mlops_course.grading.seeds import student_seed

pytestmark = pytest.mark.slow
A = "m0_setup"


def put(course, student, nb=None, name=None, text=None):
    return put_submission(course, A, student, nb, name, text)


def source_nb(course):
    return nbformat.read(str(course.source_notebook(A)), as_version=4)


def release_nb(course):
    return nbformat.read(str(course.release_notebook(A)), as_version=4)


def drop_cells(nb, grade_ids):
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in grade_ids]
    return nb


@pytest.fixture(scope="module")
def class_results(course):
    """One run over a class with every kind of bad submission next to a good one."""
    ensure_released(course, A)
    good = source_nb(course)
    put(course, "bad-good", good)
    put(course, "bad-corrupt", text=nbformat.writes(good)[:5000])
    put(course, "bad-renamed", good, name="Untitled.ipynb")
    put(course, "bad-empty-folder")
    put(course, "bad-not-a-notebook", text=json.dumps({"hello": "world"}))
    put(course, "bad-loop", replace_cells(good, {"q_small_box": "while True:\n    pass"}))
    put(course, "bad-crash", replace_cells(good, {"environment_report": "import os\nos._exit(1)"}))
    put(
        course,
        "bad-deleted-tests",
        drop_cells(
            release_nb(course), {"test_q_cace", "test_q_pinning", "predict_tflite", "test_predict_tflite"}
        ),
    )
    edited = replace_cells(release_nb(course), {"test_q_cace": '"""Q2"""\nassert True, "always passes"'})
    put(course, "bad-edited-test", edited)
    put(
        course,
        "bad-kills-worker",
        replace_cells(good, {"q_small_box": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"}),
    )
    students = [
        "bad-kills-worker",
        "bad-good",
        "bad-corrupt",
        "bad-renamed",
        "bad-empty-folder",
        "bad-not-a-notebook",
        "bad-loop",
        "bad-crash",
        "bad-deleted-tests",
        "bad-edited-test",
    ]
    results = grade(course, A, students, Options(sandbox=False, workers=2, cell_timeout=8, progress=False))
    return {r.student: r for r in results}


def auto_max(result):
    return sum(c["max_score"] for name, c in result.cells.items() if not name.startswith("open_"))


def test_a_good_submission_next_to_bad_ones_scores_full(class_results):
    good = class_results["bad-good"]
    assert good.status == "graded" and good.reason is None
    assert good.score == auto_max(good) > 0


@pytest.mark.parametrize(
    "student, words",
    [
        ("bad-corrupt", "not valid JSON"),
        ("bad-renamed", "wrong file name: found Untitled.ipynb"),
        ("bad-empty-folder", "no notebook submitted"),
        ("bad-not-a-notebook", "not a Jupyter notebook"),
    ],
)
def test_unreadable_submissions_are_errors_with_a_reason(class_results, student, words):
    result = class_results[student]
    assert result.status == "error"
    assert words in result.reason
    assert result.score == 0 and result.max_score == 26


def test_an_endless_loop_hits_the_cell_timeout_and_the_rest_is_graded(class_results):
    result = class_results["bad-loop"]
    assert result.status == "graded"
    assert "cell timeout in q_small_box" in result.reason
    assert result.cells["test_q_small_box"]["score"] == 0
    assert result.score == auto_max(result) - result.cells["test_q_small_box"]["max_score"]


def test_a_dead_kernel_scores_nothing_after_the_crash(class_results):
    result = class_results["bad-crash"]
    assert "kernel died" in result.reason
    # the theory answers ran before the crash; no test after it may count as passed
    assert result.cells["test_q_small_box"]["score"] == 1
    for cell in (
        "test_environment_report",
        "test_pin_checker_parse",
        "test_pin_checker_check",
        "test_train_and_predict_reproducible",
    ):
        assert result.cells[cell]["score"] == 0, cell


def test_killing_the_grading_worker_is_reported_and_harms_no_one(class_results):
    result = class_results["bad-kills-worker"]
    assert result.status == "error" and "grading worker was killed" in result.reason
    assert class_results["bad-good"].score == auto_max(class_results["bad-good"])


def test_deleted_test_cells_are_added_back_and_fail(class_results):
    result = class_results["bad-deleted-tests"]
    assert result.status == "graded"
    assert result.cells["test_q_cace"]["score"] == 0
    assert result.cells["test_q_pinning"]["score"] == 0
    assert result.cells["test_predict_tflite"]["score"] == 0  # its answer cell was deleted too


def test_an_edited_test_cell_is_restored_from_the_gradebook(class_results):
    assert class_results["bad-edited-test"].cells["test_q_cace"]["score"] == 0


def test_the_seed_is_per_student_injected_and_recorded(course, class_results):
    result = class_results["bad-good"]
    assert result.seed == student_seed("bad-good", A) != student_seed("bad-loop", A)
    executed = nbformat.read(str(course.root / "grading/executed/bad-good" / A / f"{A}.ipynb"), as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and f"SEED = {result.seed}" in injected[0].source and "FAST = True" in injected[0].source


def gradebook_scores(course, students):
    with Gradebook(course.db_url, "mlops-course") as gb:
        return {
            s: {
                g.name: (g.auto_score, g.max_score)
                for nb in gb.find_submission(A, s).notebooks
                for g in nb.grades
            }
            for s in students
        }


def test_grading_twice_gives_the_same_gradebook(course, class_results):
    students = ["bad-good", "bad-deleted-tests"]
    before = gradebook_scores(course, students)
    again = grade(course, A, students, Options(sandbox=False, workers=1, progress=False, force=True))
    assert gradebook_scores(course, students) == before
    assert [(r.score, r.seed) for r in again] == [
        (class_results[s].score, class_results[s].seed) for s in students
    ]


def test_the_whole_notebook_wall_clock_stops_a_slow_notebook(course):
    ensure_released(course, A)
    slow = append_to_cells(
        source_nb(course),
        {"q_small_box": "import time\ntime.sleep(4)", "q_cace": "import time\ntime.sleep(4)"},
    )
    put(course, "slow-student", slow)
    result = grade(
        course, A, ["slow-student"], Options(sandbox=False, workers=1, wall_clock=6, progress=False)
    )[0]
    assert "6 s limit" in result.reason
    # what ran before the stop counts; nothing after it may count as passed
    assert result.cells["test_q_small_box"]["score"] == 1
    assert (
        result.cells["test_train_and_predict_reproducible"]["score"] == 0
        and result.cells["test_pin_checker_parse"]["score"] == 0
    )


def test_grading_an_assignment_that_was_never_released_is_a_clear_error(course, tmp_path, monkeypatch):
    import shutil

    from mlops_course.course import Course

    monkeypatch.delenv("MLOPS_COURSE_DB_URL", raising=False)
    draft = Course(tmp_path / "course")
    (draft.source / "m9_draft").mkdir(parents=True)
    shutil.copy(course.root / "nbgrader_config.py", draft.root)
    shutil.copy(course.source_notebook(A), draft.source_notebook("m9_draft"))
    put_submission(draft, "m9_draft", "x", nbformat.read(str(course.source_notebook(A)), as_version=4))
    with pytest.raises(GradingSetupError, match="mlops-course release m9_draft"):
        grade(draft, "m9_draft", ["x"], Options(sandbox=False, progress=False))


def test_grading_an_unknown_assignment_names_the_nearest_one(course):
    with pytest.raises(UnknownAssignment, match="did you mean m0_setup"):
        grade(course, "m0-setup", ["x"], Options(sandbox=False, progress=False))
