"""What guessing earns on a module's theory questions, graded through the real pipeline.

For every strategy of ``mlops_course.reporting.guessing`` (random, always one letter,
the longest option, the option written first, select all, select none) and N student
ids, a submission is made from the module's release: the strategy's answers in
``answers.json`` (what the question widgets save) and its numbers typed into the
computed questions' cells. All are graded in one run of
``mlops_course.grading.pipeline.grade`` (``Options(sandbox=False)``) in a temporary
copy of the course. Per strategy it prints the mean, lowest and highest share of the
theory points over the students, the share expected from the keys without running
(``expected_points``, a cross-check), and whether the mean stays within the goal of
issue 14 (at most 20%).

    .venv/bin/python benchmarks/guessing.py m0_setup [--students 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from mlops_course.course import Course
from mlops_course.grading.pipeline import Options, grade
from mlops_course.grading.release import release
from mlops_course.labs.quiz.store import save_answer
from mlops_course.reporting.guessing import (
    STRATEGIES,
    Theory,
    answers_for,
    expected_points,
    guessed_submission,
)

REPO = Path(__file__).resolve().parents[1]
GOAL = 20.0  # percent of the theory points, averaged over the students


def submission_id(strategy: str, index: int) -> str:
    return f"{strategy.replace(' ', '-')}-{index:02d}"


def make_course(root: Path, assignment: str) -> Course:
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO / "source" / assignment, root / "source" / assignment)
    course = Course(root)
    release(course, [assignment])
    return course


def hand_in(course: Course, assignment: str, theory: Theory, students: int) -> dict[str, list[str]]:
    """Every strategy's submissions; returns the submission ids per strategy."""
    release_nb = nbformat.read(str(course.release_notebook(assignment)), as_version=4)
    ids = {}
    for strategy in STRATEGIES:
        ids[strategy] = []
        for index in range(students):
            student = submission_id(strategy, index)
            nb, answers = guessed_submission(release_nb, theory, strategy, student)
            folder = course.submission_dir(student, assignment)
            folder.mkdir(parents=True)
            nbformat.write(nb, str(folder / f"{assignment}.ipynb"))
            for name, answer in answers.items():
                save_answer(name, answer, folder)
            ids[strategy].append(student)
    return ids


def table(theory: Theory, ids: dict[str, list[str]], results: dict) -> tuple[str, bool]:
    """The printed table, and whether every strategy stays within the goal."""
    lines = [
        f"{'strategy':<14} {'mean':>6} {'lowest':>7} {'highest':>8} {'expected':>9}  graded over",
        f"{'-' * 14} {'-' * 6} {'-' * 7} {'-' * 8} {'-' * 9}  {'-' * 11}",
    ]
    within = True
    for strategy, students in ids.items():
        shares, expected = [], []
        for student in students:
            result = results[student]
            if result.status != "graded":
                raise RuntimeError(f"{student} was not graded: {result.reason}")
            earned = sum(result.cells[f"test_{name}"]["score"] for name in theory.questions)
            shares.append(100 * earned / theory.points)
            answers = answers_for(theory, strategy, student)
            expected.append(100 * sum(expected_points(theory, answers).values()) / theory.points)
        mean = sum(shares) / len(shares)
        within &= mean <= GOAL
        lines.append(
            f"{strategy:<14} {mean:>5.1f}% {min(shares):>6.1f}% {max(shares):>7.1f}% "
            f"{sum(expected) / len(expected):>8.1f}%  {len(students)} students"
        )
    return "\n".join(lines), within


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("assignment", help="the module, e.g. m0_setup")
    parser.add_argument("--students", type=int, default=10, help="student ids per strategy (default 10)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="notebooks at once")
    args = parser.parse_args()
    os.environ.pop("MLOPS_COURSE_DB_URL", None)  # a gradebook of its own, in the temporary course
    with tempfile.TemporaryDirectory(prefix="mlops-guessing-") as tmp:
        course = make_course(Path(tmp), args.assignment)
        theory = Theory.read(
            nbformat.read(str(course.release_notebook(args.assignment)), as_version=4),
            nbformat.read(str(course.source_notebook(args.assignment)), as_version=4),
        )
        ids = hand_in(course, args.assignment, theory, args.students)
        everyone = [student for students in ids.values() for student in students]
        started = time.monotonic()
        graded = grade(course, args.assignment, everyone, Options(sandbox=False, workers=args.workers))
        seconds = time.monotonic() - started
        text, within = table(theory, ids, {r.student: r for r in graded})
    print(
        f"\n{args.assignment}: {len(theory.questions)} theory questions, {theory.points:g} points; "
        f"{len(everyone)} submissions graded in {seconds:.0f} s ({args.workers} workers)\n"
    )
    print(text)
    print(f"\ngoal: every strategy at most {GOAL:g}% on average: {'met' if within else 'NOT met'}")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
