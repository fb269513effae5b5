"""Start-up cost of the lecturer's commands, next to plain nbgrader's.

Builds a temporary course with a class of ``--students`` (default 30): the roster
imported, the schedule applied, m0_setup released, and every student's submission
graded (the gradebook rows and the grader's results are written directly, so that
nothing executes). Then runs each command ``--repeat`` times in a fresh process and
prints the median wall time and the median CPU time (user + system of the process and
its children). CPU time is the figure to compare on a busy machine: wall time grows
with the load, CPU time hardly.

    .venv/bin/python benchmarks/commands.py [--students 30] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "m0_setup"


def make_course(root: Path, students: int) -> list[str]:
    """A course with ``students`` graded submissions of m0_setup; returns their ids."""
    from mlops_course.course import Course
    from mlops_course.grading import results as ledger
    from mlops_course.grading.release import release
    from mlops_course.grading.submission_time import stamp_text
    from mlops_course.reporting.demo import submit
    from mlops_course.reporting.roster import import_roster
    from mlops_course.reporting.store import open_gradebook

    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copytree(REPO / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    course = Course(root)
    ids = [f"r{index:04d}" for index in range(students)]
    roster = root / "class.csv"
    roster.write_text(
        "student_id,name,email,tiao\n"
        + "".join(f"{sid},Student {sid},{sid}@student.example.org,no\n" for sid in ids)
    )
    import_roster(course, roster)
    release(course, [ASSIGNMENT])
    when = datetime(2026, 9, 25, 10, tzinfo=UTC)
    source_sha = ledger.file_sha(course.source_notebook(ASSIGNMENT))
    with open_gradebook(course) as gb:
        cells = [c.name for nb in gb.find_assignment(ASSIGNMENT).notebooks for c in nb.grade_cells]
        for index, sid in enumerate(ids):
            folder = course.submission_dir(sid, ASSIGNMENT)
            shutil.copytree(REPO / "examples" / "submitted" / "ben" / ASSIGNMENT, folder)
            moment = when + timedelta(hours=index)
            (folder / "timestamp.txt").write_text(stamp_text(moment))
            submit(gb, ASSIGNMENT, sid, moment, {cell: 1.0 for cell in cells})
            ledger.save(
                course,
                ledger.GradeResult(
                    student=sid,
                    assignment=ASSIGNMENT,
                    status=ledger.GRADED,
                    seed=index,
                    score=float(len(cells)),
                    submission_sha=ledger.folder_sha(folder),
                    source_sha=source_sha,
                ),
            )
    return ids


def measure(command: list[str], cwd: Path, repeat: int) -> tuple[float, float, int]:
    """Median wall and CPU seconds of ``command`` over ``repeat`` runs, and its exit code."""
    walls, cpus, code = [], [], 0
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        code = code or done.returncode
    return statistics.median(walls), statistics.median(cpus), code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=30, help="class size (default 30)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command (default 3)")
    args = parser.parse_args()
    python = sys.executable
    course_cli = [python, "-m", "mlops_course.cli"]
    nbgrader = [python, "-m", "nbgrader"]
    with tempfile.TemporaryDirectory(prefix="mlops-course-commands-") as folder:
        root = Path(folder)
        os.environ.pop("MLOPS_COURSE_DB_URL", None)
        students = make_course(root, args.students)
        commands = [
            ("python -c pass (the interpreter alone)", [python, "-c", "pass"]),
            ("mlops-course --help", [*course_cli, "--help"]),
            ("mlops-course roster import class.csv", [*course_cli, "roster", "import", "class.csv"]),
            (
                "mlops-course schedule --start ... --apply",
                [*course_cli, "schedule", "--start", "2026-09-07", "--apply"],
            ),
            (
                f"mlops-course grade {ASSIGNMENT} (nothing to do)",
                [*course_cli, "grade", ASSIGNMENT, "--quiet"],
            ),
            (f"mlops-course results {ASSIGNMENT}", [*course_cli, "results", ASSIGNMENT]),
            (
                "mlops-course submit-time ... --replace",
                [*course_cli, "submit-time", ASSIGNMENT, students[0], "2026-09-25 12:00", "--replace"],
            ),
            ("mlops-course export", [*course_cli, "export"]),
            ("mlops-course report (pandas, matplotlib)", [*course_cli, "report"]),
            ("nbgrader --help", [*nbgrader, "--help"]),
            ("nbgrader db student list", [*nbgrader, "db", "student", "list"]),
            ("nbgrader export", [*nbgrader, "export"]),
        ]
        print(
            f"class of {len(students)}; {args.repeat} run(s) per command, medians; load {os.getloadavg()[0]:.1f}"
        )
        print(f"{'command':<52} {'wall s':>7} {'CPU s':>7}")
        for label, command in commands:
            wall, cpu, code = measure(command, root, args.repeat)
            note = "" if code == 0 else f"  (exit {code})"
            print(f"{label:<52} {wall:>7.2f} {cpu:>7.2f}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
