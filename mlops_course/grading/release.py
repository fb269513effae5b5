"""`mlops-course release`: nbgrader generate_assignment, then the leak check."""

from __future__ import annotations

from mlops_course.course import Course
from mlops_course.errors import ReleaseError
from mlops_course.grading import config as nbconfig
from mlops_course.grading.leakcheck import find_leaks
from mlops_course.grading.students import check_assignment
from mlops_course.settings import ANSWERS_FILE


def release(course: Course, assignments: list[str] | None = None) -> dict[str, str]:
    """Generate the student version of each assignment into release/ (and the gradebook)."""
    assignments = assignments or course.assignments()
    if not assignments:
        check_assignment(course, "")  # says what source/ holds and what it should
    for assignment in assignments:
        check_assignment(course, assignment)  # a typo names the nearest id; nothing is released
    api = nbconfig.api(nbconfig.load_config(course))
    done = {}
    for assignment in assignments:
        clicked = course.source / assignment / ANSWERS_FILE
        if clicked.exists():
            raise ReleaseError(
                f"{clicked} holds answers saved by the question widgets of the source notebook: "
                "delete it (it would be shipped to every student, and overwrite their answers when grading)"
            )
        # force: release/ is committed, so it exists; without force nbgrader skips it
        outcome = api.generate_assignment(assignment, force=True, create=True)
        if not outcome.get("success"):
            raise ReleaseError(
                f"nbgrader generate_assignment {assignment} failed: {nbconfig.failure_reason(outcome)}"
            )
        leaks = [
            leak
            for notebook in course.source_notebooks(assignment)
            for leak in find_leaks(notebook, course.release / assignment)
        ]
        if leaks:
            raise ReleaseError(f"release/{assignment} leaks:\n  " + "\n  ".join(leaks))
        done[assignment] = str(course.release / assignment)
    return done
