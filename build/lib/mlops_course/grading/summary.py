"""The summary table printed after grading."""

from __future__ import annotations

from mlops_course.grading.results import GradeResult


def format_summary(results: list[GradeResult]) -> str:
    rows = [("student", "score", "max", "status", "reason")]
    for r in results:
        rows.append((r.student, f"{r.score:g}", f"{r.max_score:g}", r.status, r.reason or ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])
        if index == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 6)
    return "\n".join(line.rstrip() for line in lines)
