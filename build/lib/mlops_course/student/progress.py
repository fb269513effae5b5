"""`mlops-course progress [FOLDER]`: a (self-study) student's own status per module,
from their own notebooks, without a lecturer or a gradebook.

For every module it finds ``<module>.ipynb`` in FOLDER (``FOLDER/<module>/``, or one
level deeper, e.g. nbgrader's ``FOLDER/mlops-course/<module>/``) and reports

* the answer cells still to do (still ``raise NotImplementedError()`` / ``YOUR ANSWER HERE``),
* the visible tests: passed / failed with the hint, from the outputs saved in the
  notebook (the student's last run), or, with ``--run``, from a fresh self-check
  (``mlops_course.student.check.check_notebook``, which executes a copy of the notebook),
* what is left, and a state: not started / in progress / ready to submit."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlops_course.settings import MODULES

NOT_STARTED, IN_PROGRESS, READY = "not started", "in progress", "ready to submit"
STUB_CODE = "raise NotImplementedError"
STUB_TEXT = "YOUR ANSWER HERE"


@dataclass
class TestStatus:
    grade_id: str
    title: str
    points: float
    status: str  # passed | failed | not run
    hint: str | None = None


@dataclass
class ModuleProgress:
    module: str
    notebook: str | None
    state: str
    answers_done: int = 0
    answers_total: int = 0
    open_done: int = 0
    open_total: int = 0
    tests: list[TestStatus] = field(default_factory=list)
    source: str = ""  # where test results come from: "last run" | "self-check" | "not run yet"
    left: list[str] = field(default_factory=list)

    @property
    def tests_passed(self) -> int:
        return sum(t.status == "passed" for t in self.tests)

    @property
    def points(self) -> tuple[float, float]:
        return (sum(t.points for t in self.tests if t.status == "passed"), sum(t.points for t in self.tests))


def find_notebook(folder: Path, module: str) -> Path | None:
    for candidate in [
        folder / module / f"{module}.ipynb",
        folder / f"{module}.ipynb",
        *sorted(folder.glob(f"*/{module}/{module}.ipynb")),
    ]:
        if candidate.is_file() and ".ipynb_checkpoints" not in candidate.parts:
            return candidate
    return None


def _run_selfcheck(path: Path, timeout: int):
    from mlops_course.student import check as selfcheck

    return selfcheck.check_notebook(path, timeout=timeout)


def module_progress(
    module: str, path: Path | None, run: bool = False, timeout: int = 300, checker=None
) -> ModuleProgress:
    """Progress on one module; ``checker(path) -> [CheckResult]`` overrides the self-check."""
    import nbformat

    if path is None:
        return ModuleProgress(
            module, None, NOT_STARTED, source="not run yet", left=[f"fetch and open {module}.ipynb"]
        )
    nb = nbformat.read(str(path), as_version=4)
    progress = ModuleProgress(module, str(path), IN_PROGRESS)
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("solution"):
            continue
        if cell.cell_type == "markdown":
            progress.open_total += 1
            if STUB_TEXT in cell.source or not cell.source.strip():
                progress.left.append(f"open question {meta.get('grade_id')}: write your answer")
            else:
                progress.open_done += 1
        else:
            progress.answers_total += 1
            if STUB_CODE in cell.source:
                progress.left.append(f"answer {meta.get('grade_id')}: replace `raise NotImplementedError()`")
            else:
                progress.answers_done += 1
    if run or checker is not None:
        results = (checker or (lambda p: _run_selfcheck(p, timeout)))(path)
        progress.source = "self-check"
    else:
        from mlops_course.student.check import results_from_executed

        results = results_from_executed(nb)
        ran = any(c.get("execution_count") is not None for c in nb.cells if c.cell_type == "code")
        progress.source = "last run" if ran else "not run yet"
    for r in results:
        if getattr(r, "kind", "test") != "test":
            continue
        if r.passed:
            status = "passed"
        elif progress.source == "not run yet" or (r.hint == "did not run"):
            status = "not run"
        else:
            status = "failed"
        progress.tests.append(
            TestStatus(r.grade_id, r.title, float(r.points), status, None if status == "passed" else r.hint)
        )
    for t in progress.tests:
        if t.status == "failed":
            progress.left.append(f"test {t.grade_id} fails: {t.hint or t.title}")
    not_run = [t.grade_id for t in progress.tests if t.status == "not run"]
    if not_run:
        progress.left.append(
            f"run the notebook (or `mlops-course progress --run`): {len(not_run)} test(s) not run"
        )
    done = (
        progress.answers_done == progress.answers_total
        and progress.open_done == progress.open_total
        and progress.tests
        and all(t.status == "passed" for t in progress.tests)
    )
    if done:
        progress.state = READY
        progress.left.append("submit it (and demo it; TIAO: a Panopto video, no deadline)")
    elif progress.answers_done == 0 and progress.open_done == 0:
        progress.state = NOT_STARTED
    return progress


def collect(
    folder: str | Path = ".",
    modules: list[str] | None = None,
    run: bool = False,
    timeout: int = 300,
    checker=None,
) -> list[ModuleProgress]:
    folder = Path(folder).expanduser().resolve()
    return [
        module_progress(m, find_notebook(folder, m), run=run, timeout=timeout, checker=checker)
        for m in (modules or MODULES)
    ]


def as_frame(progress: list[ModuleProgress]):
    import pandas as pd

    rows = []
    for p in progress:
        got, total = p.points
        rows.append(
            {
                "module": p.module,
                "state": p.state,
                "answers": f"{p.answers_done}/{p.answers_total}",
                "open questions": f"{p.open_done}/{p.open_total}",
                "visible tests passed": f"{p.tests_passed}/{len(p.tests)}",
                "points (visible)": f"{got:g}/{total:g}",
                "checked": p.source,
                "next": p.left[0] if p.left else "",
            }
        )
    return pd.DataFrame(rows)


def format_progress(progress: list[ModuleProgress], verbose: bool = True) -> str:
    lines = [f"{'module':<15} {'state':<16} {'answers':>8} {'tests':>7}  checked"]
    for p in progress:
        lines.append(
            f"{p.module:<15} {p.state:<16} {p.answers_done:>3}/{p.answers_total:<4} "
            f"{p.tests_passed:>3}/{len(p.tests):<3}  {p.source}"
        )
        if verbose:
            for item in p.left if p.notebook else p.left[:1]:
                lines.append(f"    - {item}")
    ready = sum(p.state == READY for p in progress)
    lines.append(
        f"{ready}/{len(progress)} modules ready to submit. Visible tests only: hidden tests "
        "are added when your lecturer grades."
    )
    return "\n".join(lines)


def cmd_progress(args) -> int:
    progress = collect(args.folder, args.module or None, run=args.run, timeout=args.timeout)
    if args.json:
        print(json.dumps([asdict(p) for p in progress], indent=1))
    else:
        print(format_progress(progress, verbose=not args.quiet))
    return 0


def register(subparsers) -> None:
    """`mlops-course progress [FOLDER] [--run] [--module ID] [--json]`."""
    p = subparsers.add_parser(
        "progress",
        help="your own status per module, from your notebooks (no gradebook)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("folder", nargs="?", default=".", help="folder with your module folders (default: .)")
    p.add_argument("--run", action="store_true", help="execute each notebook's self-check now (slower)")
    p.add_argument("--module", action="append", help="only this module (repeatable)")
    p.add_argument("--timeout", type=int, default=300, help="seconds per cell with --run")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--quiet", "-q", action="store_true", help="no list of what is left")
    p.set_defaults(func=cmd_progress)
