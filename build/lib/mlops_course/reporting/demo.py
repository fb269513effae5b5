"""Small gradebooks with known answers: building blocks for the tests and a demo
class for the lecturer dashboard when the course has no gradebook yet.

Everything goes through nbgrader's Gradebook API and the course's authoring helpers
(no notebook is executed): a module is a source notebook whose grade cells carry
learning goals, plus the matching assignment/notebook/grade cells in the gradebook."""

from __future__ import annotations

import random
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from mlops_course import authoring
from mlops_course.course import Course
from mlops_course.reporting.store import RosterEntry, open_gradebook, to_naive_utc, utcnow_naive


@dataclass(frozen=True)
class Cell:
    grade_id: str
    points: float
    goal: str
    criterion: str | None = None
    manual: bool = False  # a manually graded markdown answer


def write_course_skeleton(root: str | Path) -> Course:
    root = Path(root)
    (root / "source").mkdir(parents=True, exist_ok=True)
    config = root / "nbgrader_config.py"
    if not config.exists():
        config.write_text('c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = "mlops-course"\n')
    return Course(root)


def write_source(course: Course, module: str, cells: list[Cell]) -> Path:
    nb_cells = [authoring.markdown(f"# {module}")]
    for cell in cells:
        if cell.manual:
            nb_cells.append(
                authoring.open_question(
                    cell.grade_id,
                    "YOUR ANSWER HERE",
                    points=cell.points,
                    goal=cell.goal,
                    criterion=cell.criterion,
                )
            )
        else:
            nb_cells.append(
                authoring.answer(f"{cell.grade_id}_answer", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION")
            )
            nb_cells.append(
                authoring.test(
                    cell.grade_id,
                    f'"""{cell.grade_id}."""\nassert x == 1, "hint"',
                    points=cell.points,
                    goal=cell.goal,
                    criterion=cell.criterion,
                )
            )
    return authoring.write(authoring.notebook(nb_cells), course.source_notebook(module))


def add_module(gb, course: Course, module: str, cells: list[Cell], duedate: datetime | None = None) -> None:
    """The source notebook and nbgrader's assignment, notebook and grade cells."""
    write_source(course, module, cells)
    kwargs = {"duedate": to_naive_utc(duedate)} if duedate else {}
    gb.update_or_create_assignment(module, **kwargs)
    gb.update_or_create_notebook(module, module)
    for cell in cells:
        gb.update_or_create_grade_cell(
            cell.grade_id,
            module,
            module,
            max_score=cell.points,
            cell_type="markdown" if cell.manual else "code",
        )


def add_student(gb, student_id: str, name: str = "", tiao: bool = False) -> None:
    first, _, last = (name or student_id).partition(" ")
    gb.update_or_create_student(
        student_id, first_name=first, last_name=last, email=f"{student_id}@student.example.org"
    )
    entry = gb.db.get(RosterEntry, student_id) or RosterEntry(student_id=student_id)
    entry.tiao, entry.updated_at = tiao, utcnow_naive()
    gb.db.add(entry)
    gb.db.commit()


def submit(
    gb,
    module: str,
    student: str,
    when: datetime,
    scores: dict[str, float],
    pending_manual: tuple[str, ...] = (),
) -> None:
    """A graded submission: ``scores`` maps grade_id -> points (missing = 0)."""
    from nbgrader.api import MissingEntry

    try:
        submission = gb.find_submission(module, student)
        submission.timestamp = to_naive_utc(when)
    except MissingEntry:
        with warnings.catch_warnings():  # nbgrader's add_submission trips SQLAlchemy's autoflush warning
            warnings.simplefilter("ignore")
            submission = gb.add_submission(module, student, timestamp=to_naive_utc(when))
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            if grade.name in pending_manual:
                grade.auto_score, grade.manual_score, grade.needs_manual_grade = None, None, True
            else:
                grade.auto_score = float(scores.get(grade.name, 0.0))
                grade.manual_score = None
                grade.needs_manual_grade = False
    gb.db.commit()


# --- the demo class ----------------------------------------------------------------

DEMO_MODULES = {
    "m0_setup": [
        Cell("toolchain", 2, "LG5"),
        Cell("theory_ml_system", 2, "LG1"),
        Cell("theory_debt", 1, "LG1"),
        Cell("pins", 2, "LG5", "reproducibility"),
        Cell("open_reflection", 2, "LG1", "reporting", manual=True),
    ],
    "m1_docker": [
        Cell("dockerfile", 3, "LG5", "docker-image"),
        Cell("image_runs", 3, "LG5", "docker-image"),
        Cell("predict", 2, "LG2"),
        Cell("compose", 2, "LG5"),
        Cell("theory_layers", 1, "LG5"),
        Cell("open_registry", 2, "LG5", "reporting", manual=True),
    ],
    "m2_cicd": [
        Cell("workflow_valid", 3, "LG1", "ci-pipeline"),
        Cell("quality_gate", 3, "LG2"),
        Cell("dependabot", 1, "LG1"),
        Cell("theory_cd", 2, "LG1"),
        Cell("open_secrets", 2, "LG1", "reporting", manual=True),
    ],
    "m5_edge": [
        Cell("tflite_convert", 3, "LG4"),
        Cell("int8", 2, "LG4"),
        Cell("latency", 2, "LG4"),
        Cell("theory_edge", 2, "LG3"),
        Cell("pick_model", 2, "LG3"),
        Cell("open_budget", 2, "LG3", "reporting", manual=True),
    ],
}


def build_demo_course(
    root: str | Path, n_students: int = 16, seed: int = 7, start: date = date(2026, 9, 21)
) -> Course:
    """A demo class in ``root``: 4 modules, ``n_students`` students of varied ability,
    a TIAO student, a late and an absent lab, two labs in one week (s003), a too-easy and a
    broken test; due dates from the study guide's schedule."""
    from mlops_course.reporting.rubric import load_rubric
    from mlops_course.reporting.schedule import build_schedule

    rng = random.Random(seed)
    course = write_course_skeleton(root)
    schedule = build_schedule(start, load_rubric(), modules=list(DEMO_MODULES))
    with open_gradebook(course, create=True) as gb:
        for module, cells in DEMO_MODULES.items():
            add_module(gb, course, module, cells, schedule[module].deadline_utc)
        for i in range(n_students):
            sid = f"s{i + 1:03d}"
            tiao = i == n_students - 1
            add_student(gb, sid, f"Student {sid.upper()}", tiao=tiao)
            ability = 0.7 + 0.3 * (i / max(1, n_students - 1)) + rng.uniform(-0.05, 0.05)
            for k, (module, cells) in enumerate(DEMO_MODULES.items()):
                if i == 0 and module == "m5_edge":
                    continue  # absent
                session = schedule[module].session.astimezone(UTC)
                delay = 7 if module in ("m1_docker", "m2_cicd") else 1  # one demo per week
                when = session + timedelta(days=delay + rng.uniform(0, 3.5), hours=rng.uniform(0, 8))
                if i == 1 and module == "m2_cicd":
                    when = schedule[module].deadline_utc + timedelta(days=2)  # late
                if i == 2 and module == "m1_docker":
                    when = schedule["m0_setup"].session.astimezone(UTC) + timedelta(days=2, hours=2)
                if tiao:
                    when = session + timedelta(days=40 + 7 * k)
                scores = {}
                for cell in cells:
                    p = ability
                    if cell.grade_id == "toolchain":
                        p = 0.98  # too easy
                    if cell.grade_id == "latency":
                        p = 0.03  # broken: nearly nobody passes
                    scores[cell.grade_id] = (
                        cell.points
                        if rng.random() < p
                        else (round(cell.points * rng.choice([0, 0, 0.5]), 1) if cell.manual else 0.0)
                    )
                submit(gb, module, sid, when, scores)
    return course
