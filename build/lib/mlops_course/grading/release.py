"""`mlops-course release`: nbgrader generate_assignment, then the leak check."""

from __future__ import annotations

from mlops_course.course import Course
from mlops_course.errors import ReleaseError
from mlops_course.grading import config as nbconfig
from mlops_course.grading.leakcheck import find_leaks
from mlops_course.settings import ANSWERS_FILE


def release(course: Course, assignments: list[str] | None = None) -> dict[str, str]:
    """Generate the student version of each assignment into release/ (and the gradebook)."""
    known = course.assignments()
    assignments = assignments or known
    unknown = [a for a in assignments if a not in known]
    if unknown:
        raise ReleaseError(f"unknown assignment(s) {', '.join(unknown)}; source/ has {', '.join(known)}")
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
        leaks = find_leaks(course.source_notebook(assignment), course.release / assignment)
        if leaks:
            raise ReleaseError(f"release/{assignment} leaks:\n  " + "\n  ".join(leaks))
        done[assignment] = str(course.release / assignment)
    return done
