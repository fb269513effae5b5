"""`mlops-course check NOTEBOOK`: a student's self-check, no gradebook needed.

Runs the notebook as it is (its visible tests only; theory answers are read back from
the ``answers.json`` beside it) and reports every test cell as passed or failed with
its hint, every theory question whose answer is well formed as "format OK" (its
visible test checks the format only: the key is in the hidden tests), and every open
question as "graded by your lecturer". Only passed tests count as points, and those
only as far as the visible tests go."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlops_course.authoring import grade_cell_titles, question_kind
from mlops_course.errors import NotebookMissing
from mlops_course.labs.quiz import FORMAT_ONLY

TEST, QUESTION, OPEN = "test", "question", "open"
PASSED, FORMAT_OK, FAILED, BY_LECTURER = "passed", "format OK", "failed", "graded by your lecturer"


@dataclass
class CheckResult:
    grade_id: str
    kind: str  # TEST (an exercise's test), QUESTION (a theory question's test) or OPEN
    passed: bool | None  # whether the visible test passed; None for open questions
    points: float
    title: str  # the test's one-line docstring, or the open question's lead
    hint: str | None  # the failing assert's message

    @property
    def status(self) -> str:
        if self.passed is None:
            return BY_LECTURER
        if not self.passed:
            return FAILED
        return FORMAT_OK if self.kind == QUESTION else PASSED


def _hint(output) -> str:
    ename, evalue = output.get("ename", "Error"), output.get("evalue", "")
    if ename in ("NameError", "NotImplementedError"):
        return f"not answered yet ({ename}: {evalue})" if evalue else "not answered yet"
    if ename == "AnswerFormatError":  # a theory question's own hint
        return evalue
    return f"{ename}: {evalue}" if evalue else ename


def results_from_executed(nb) -> list[CheckResult]:
    """The result of every grade cell, from the outputs of an executed notebook."""
    titles = grade_cell_titles(nb)
    results = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade"):
            continue
        grade_id, points = meta["grade_id"], float(meta.get("points") or 0)
        if cell.cell_type == "markdown" or meta.get("solution"):
            results.append(CheckResult(grade_id, OPEN, None, points, titles[grade_id], None))
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        ran = cell.get("execution_count") is not None
        hint = _hint(errors[-1]) if errors else (None if ran else "did not run")
        kind = QUESTION if question_kind(cell) else TEST
        results.append(CheckResult(grade_id, kind, ran and not errors, points, titles[grade_id], hint))
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


def _points(results: list[CheckResult]) -> float:
    return sum(r.points for r in results)


def summary_lines(results: list[CheckResult]) -> list[str]:
    """What the results add up to; format-checked points are never counted as earned."""
    tests = [r for r in results if r.kind == TEST]
    questions = [r for r in results if r.kind == QUESTION]
    manual = [r for r in results if r.kind == OPEN]
    lines = []
    if tests:
        passed = [r for r in tests if r.passed]
        lines.append(
            f"Exercises: {len(passed)}/{len(tests)} visible tests passed ({_points(passed):g}/"
            f"{_points(tests):g} points so far; the grader adds hidden tests)."
        )
    if questions:
        well_formed = [r for r in questions if r.passed]
        lines.append(
            f"Theory questions: {len(well_formed)}/{len(questions)} {FORMAT_OK} "
            f"({_points(questions):g} points, none counted here: {FORMAT_ONLY})."
        )
    if manual:
        lines.append(f"Open questions: {_points(manual):g} points, {BY_LECTURER}.")
    return lines


def format_results(results: list[CheckResult]) -> str:
    lines = []
    for r in results:
        mark = {PASSED: "PASS", FAILED: "FAIL", FORMAT_OK: "FORMAT OK"}.get(r.status, "OPEN")
        lines.append(f"[{mark}] {r.grade_id} ({r.points:g} pt): {r.title}")
        if r.status == FORMAT_OK:
            lines.append(f"       {FORMAT_ONLY}")
        elif r.status == BY_LECTURER:
            lines.append(f"       {BY_LECTURER}")
        elif r.passed is False and r.hint:
            lines.append(f"       hint: {r.hint}")
    return "\n".join(lines + summary_lines(results))
