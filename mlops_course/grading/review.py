"""`mlops-course review ASSIGNMENT STUDENT`: the lecturer's look at a tampered submission.

Without a decision it shows what the integrity checks found and the auto-graded points
held back. ``--accept`` (a false alarm, or harmless) gives the points back; ``--reject``
keeps them at 0. Either way the decision, the note and the time are kept in the result,
and the submission's feedback can be released again."""

from __future__ import annotations

from mlops_course.course import Course
from mlops_course.errors import ReviewError
from mlops_course.grading import results as ledger
from mlops_course.grading.gradebook import release_auto_grades

ACCEPT, REJECT = "accepted", "rejected"


def load_reviewable(course: Course, assignment: str, student: str) -> ledger.GradeResult:
    result = ledger.load(course, assignment, student)
    if result is None:
        raise ReviewError(f"no result of {student} for {assignment}: grade it first")
    if not result.tampering:
        raise ReviewError(
            f"{student}'s {assignment} has no integrity findings to review (status {result.status})"
        )
    return result


def describe(result: ledger.GradeResult) -> str:
    lines = [f"{result.student} / {result.assignment}: {result.status}"]
    if result.review:
        lines.append(
            f"review: {result.review['decision']} on {result.review['at']}: {result.review.get('note') or ''}"
        )
    lines.append("what the integrity checks found:")
    lines += [f"  - {finding}" for finding in result.tampering]
    held = sum(result.withheld.values())
    lines.append(
        f"auto-graded points held back: {held:g} (cells: {', '.join(sorted(result.withheld)) or 'none'})"
    )
    return "\n".join(lines)


def decide(
    course: Course, assignment: str, student: str, decision: str, note: str = ""
) -> ledger.GradeResult:
    """Record the lecturer's decision; ``accepted`` releases the held auto grades."""
    result = load_reviewable(course, assignment, student)
    if decision == ACCEPT:
        release_auto_grades(course, assignment, student, list(result.withheld))
        result.cells = {
            name: dict(cell, score=result.withheld.get(name, cell["score"]))
            for name, cell in result.cells.items()
        }
        result.score = sum(cell["score"] for cell in result.cells.values())
        result.status = ledger.GRADED
    elif decision == REJECT:
        result.status = ledger.REJECTED
    else:
        raise ReviewError(f"a review decision is {ACCEPT} or {REJECT}, not {decision!r}")
    result.review = {"decision": decision, "note": note, "at": ledger.now_iso()}
    result.reason = f"integrity review: {decision}" + (f" ({note})" if note else "")
    ledger.save(course, result)
    return result
