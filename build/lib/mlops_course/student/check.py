"""`mlops-course check NOTEBOOK`: a student's self-check, no gradebook needed.

Runs the notebook as it is (its visible tests only) and reports every test cell as
passed or failed with its hint, and every open question as "graded by your lecturer"."""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path

from mlops_course.errors import NotebookMissing


@dataclass
class CheckResult:
    grade_id: str
    kind: str  # "test" or "open"
    passed: bool | None  # None for open questions
    points: float
    title: str  # the test's one-line docstring
    hint: str | None  # the failing assert's message

    @property
    def status(self) -> str:
        if self.passed is None:
            return "graded by your lecturer"
        return "passed" if self.passed else "failed"


def docstring_of(source: str) -> str:
    try:
        doc = ast.get_docstring(ast.parse(source))
    except SyntaxError:
        doc = None
    return (doc or "").strip().splitlines()[0] if doc else ""


def _hint(output) -> str:
    ename, evalue = output.get("ename", "Error"), output.get("evalue", "")
    if ename == "NameError" or ename == "NotImplementedError":
        return f"not answered yet ({ename}: {evalue})" if evalue else "not answered yet"
    return f"{ename}: {evalue}" if evalue else ename


def results_from_executed(nb) -> list[CheckResult]:
    results = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade"):
            continue
        points = float(meta.get("points") or 0)
        if cell.cell_type == "markdown" or meta.get("solution"):
            results.append(CheckResult(meta["grade_id"], "open", None, points, "open question", None))
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        ran = cell.get("execution_count") is not None
        hint = _hint(errors[-1]) if errors else (None if ran else "did not run")
        results.append(
            CheckResult(meta["grade_id"], "test", ran and not errors, points, docstring_of(cell.source), hint)
        )
    return results


def check_notebook(path: str | os.PathLike, timeout: int = 300, fast: bool = True) -> list[CheckResult]:
    """Execute a copy of the notebook in its own folder and read the test results."""
    from nbclient import NotebookClient

    path = Path(path).resolve()
    if not path.is_file():
        raise NotebookMissing(f"no notebook at {path}")
    from mlops_course.grading.submissions import read_notebook_file

    nb = read_notebook_file(path)
    if any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        from mlops_course.grading.prepare import inject_parameters

        nb = inject_parameters(nb, {"FAST": fast})
    client = NotebookClient(
        nb,
        timeout=timeout,
        allow_errors=True,
        kernel_name="python3",
        interrupt_on_timeout=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return results_from_executed(nb)


def format_results(results: list[CheckResult]) -> str:
    lines = []
    for r in results:
        mark = {"passed": "PASS", "failed": "FAIL"}.get(r.status, "OPEN")
        lines.append(f"[{mark}] {r.grade_id} ({r.points:g} pt): {r.title}")
        if r.passed is False and r.hint:
            lines.append(f"       hint: {r.hint}")
    tests = [r for r in results if r.kind == "test"]
    passed = sum(r.points for r in tests if r.passed)
    total = sum(r.points for r in tests)
    lines.append(
        f"{sum(1 for r in tests if r.passed)}/{len(tests)} visible tests passed "
        f"({passed:g}/{total:g} auto-graded points; hidden tests are added when grading)"
    )
    return "\n".join(lines)
