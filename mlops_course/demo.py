"""`mlops-course demo` (the README's first command, after set-up): the lecturer's main
job on the bundled example class. Release every assignment, grade the example
submissions, write feedback and the grades CSV, print a summary table."""

from __future__ import annotations

import shutil

from mlops_course.course import Course
from mlops_course.grading.export import export_csv
from mlops_course.grading.feedback import generate_feedback
from mlops_course.grading.pipeline import Options, default_workers, grade
from mlops_course.grading.release import release
from mlops_course.grading.summary import format_summary, summary_rows

EXAMPLES = "examples/submitted"


def copy_example_class(course: Course) -> dict[str, list[str]]:
    """Copy examples/submitted/<student>/<assignment>/ into submitted/ (only those
    students; a real class's other submissions are left alone)."""
    examples = course.root / EXAMPLES
    by_assignment: dict[str, list[str]] = {}
    for folder in sorted(examples.glob("*/*")):
        if not folder.is_dir():
            continue
        student, assignment = folder.parent.name, folder.name
        target = course.submission_dir(student, assignment)
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(folder, target)
        by_assignment.setdefault(assignment, []).append(student)
    return by_assignment


def run_demo(course: Course, workers: int = 0) -> int:
    from mlops_course.infra.docker_engine import engine_status

    status = engine_status()
    print(
        f"Docker: {status.message}"
        + (
            ""
            if status.available
            else "\n(the demo goes on: m0_setup reports a missing engine instead of failing)"
        )
    )
    released = release(course)
    print(f"released {len(released)} assignment(s): {', '.join(released)}")
    classes = copy_example_class(course)
    if not classes:
        print(f"no example submissions in {course.root / EXAMPLES}")
        return 1
    # The example class is trusted course material: without an engine it runs unsandboxed.
    options = Options(workers=workers or default_workers(), sandbox=status.available)
    if not status.available:
        print(
            "(no Docker engine: the example class is graded without the sandbox; "
            "a real class is graded with `mlops-course grade`, sandboxed)"
        )
    for assignment, students in sorted(classes.items()):
        results = grade(course, assignment, students, options)
        generate_feedback(course, assignment, [r.student for r in results if r.status == "graded"])
        print(f"\n{assignment}: {len(results)} submissions; feedback in {course.feedback}")
        print(format_summary(summary_rows(course, assignment, results)))
    path = export_csv(course)
    print(f"\ngrades CSV: {path}")
    return 0
