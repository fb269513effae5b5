"""Per-student seeds: deterministic, so grading twice gives the same gradebook."""

import hashlib


def student_seed(student_id: str, assignment_id: str) -> int:
    """A seed in [0, 2**31) derived from the student and assignment ids."""
    digest = hashlib.sha256(f"{assignment_id}/{student_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def run_id(student_id: str, assignment_id: str) -> str:
    """A short name-safe id for the resources a graded notebook creates."""
    return "g" + hashlib.sha256(f"{assignment_id}/{student_id}".encode()).hexdigest()[:10]
