"""`mlops-course progress [FOLDER]`: a (self-study) student's own status per module,
from their own notebooks, without a lecturer or a gradebook.

For every module it finds ``<module>.ipynb``: in FOLDER (``FOLDER/<module>/``, or one
level deeper, e.g. nbgrader's ``FOLDER/mlops-course/<module>/``) or, without FOLDER,
where the course puts a student's work (``usual_places``: JupyterHub's fetched
``~/<module>/``, and on a laptop the course's ``release/<module>/`` that `make lab`
opens); when several copies exist, the one changed last. It reports

* the answers still to do (code still ``raise NotImplementedError()``, open answers
  still ``YOUR ANSWER HERE``, theory questions not answered in their widget or code),
* the visible tests: passed / failed with the hint, from the outputs saved in the
  notebook (the student's last run), or, with ``--run``, from a fresh self-check
  (``mlops_course.student.check.check_notebook``, which executes a copy of the notebook),
* theory questions as "format OK": their visible test checks the format only, so their
  points are never counted as earned,
* what is left, and a state: not started / in progress / ready to submit."""

from __future__ import annotations

import argparse
import ast
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlops_course.authoring import question_kind
from mlops_course.course import Course
from mlops_course.errors import CourseNotFound
from mlops_course.labs.quiz import FORMAT_ONLY
from mlops_course.settings import ANSWERS_FILE, MODULES
from mlops_course.student.check import FAILED, FORMAT_OK, PASSED, QUESTION, TEST

NOT_STARTED, IN_PROGRESS, READY = "not started", "in progress", "ready to submit"
NOT_RUN = "not run"
STUB_CODE = "raise NotImplementedError"
STUB_TEXT = "YOUR ANSWER HERE"


@dataclass
class TestStatus:
    grade_id: str
    title: str
    points: float
    status: str  # passed | format OK | failed | not run
    hint: str | None = None
    question: bool = False  # a theory question: its visible test checks the format only


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
    def exercise_tests(self) -> list[TestStatus]:
        return [t for t in self.tests if not t.question]

    @property
    def questions(self) -> list[TestStatus]:
        return [t for t in self.tests if t.question]

    @property
    def tests_passed(self) -> int:
        return sum(t.status == PASSED for t in self.exercise_tests)

    @property
    def questions_format_ok(self) -> int:
        return sum(t.status == FORMAT_OK for t in self.questions)

    @property
    def points(self) -> tuple[float, float]:
        """Points of the exercises' visible tests: (passed, all). Theory questions are
        not in it: their visible tests only check the format."""
        tests = self.exercise_tests
        return (sum(t.points for t in tests if t.status == PASSED), sum(t.points for t in tests))

    @property
    def question_points(self) -> float:
        return sum(t.points for t in self.questions)


# -- where a student's work is -----------------------------------------------------------


def usual_places(module: str, start: Path | None = None) -> list[Path]:
    """Where the course puts a student's notebook of ``module``: JupyterHub's
    Assignments tab fetches into ``~/<module>/`` (or ``~/mlops-course/<module>/``); on a
    laptop `make lab` opens the course's ``release/<module>/`` (and a course-local
    exchange fetches into ``<course>/<module>/``). Never ``source/``: it holds the
    solutions."""
    places = [Path.home() / module, Path.home() / "mlops-course" / module]
    try:
        course = Course.find(start or Path.cwd())
        places += [course.release / module, course.root / module]
    except CourseNotFound:
        places.append(Path(start or Path.cwd()) / module)
    return [place / f"{module}.ipynb" for place in places]


def in_folder(folder: Path, module: str) -> list[Path]:
    """Where ``module``'s notebook may be in a folder the student names."""
    return [
        folder / module / f"{module}.ipynb",
        folder / f"{module}.ipynb",
        *sorted(folder.glob(f"*/{module}/{module}.ipynb")),
    ]


def find_notebook(candidates: list[Path]) -> Path | None:
    """The existing notebook among ``candidates``; of several copies, the one changed last."""
    found = {
        path.resolve() for path in candidates if path.is_file() and ".ipynb_checkpoints" not in path.parts
    }
    return max(found, key=lambda path: path.stat().st_mtime) if found else None


# -- one module --------------------------------------------------------------------------


def _run_selfcheck(path: Path, timeout: int):
    from mlops_course.student import check as selfcheck

    return selfcheck.check_notebook(path, timeout=timeout)


def _question_answered(cell, saved: dict) -> bool:
    """A theory question is answered in its widget (saved in answers.json) or in code
    below its call (more than the one statement the release gives)."""
    grade_id = cell.metadata["nbgrader"]["grade_id"]
    if grade_id in saved:
        return True
    try:
        return len(ast.parse(cell.source).body) > 1
    except SyntaxError:
        return True  # the student wrote something; the test will say what is wrong


def _count_answers(nb, progress: ModuleProgress, saved: dict) -> None:
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("solution"):
            continue
        grade_id = meta.get("grade_id")
        if cell.cell_type == "markdown":
            progress.open_total += 1
            if STUB_TEXT in cell.source or not cell.source.strip():
                progress.left.append(f"open question {grade_id}: write your answer")
            else:
                progress.open_done += 1
            continue
        progress.answers_total += 1
        if question_kind(cell):
            done = _question_answered(cell, saved)
            todo = f"question {grade_id}: answer it (in its widget, or with code where it says so)"
        else:
            done = STUB_CODE not in cell.source
            todo = f"answer {grade_id}: replace `raise NotImplementedError()`"
        if done:
            progress.answers_done += 1
        else:
            progress.left.append(todo)


def module_progress(
    module: str, path: Path | None, run: bool = False, timeout: int = 300, checker=None
) -> ModuleProgress:
    """Progress on one module; ``checker(path) -> [CheckResult]`` overrides the self-check."""
    import nbformat

    from mlops_course.labs.quiz.store import read_answers

    if path is None:
        return ModuleProgress(
            module, None, NOT_STARTED, source="not run yet", left=[f"fetch and open {module}.ipynb"]
        )
    nb = nbformat.read(str(path), as_version=4)
    progress = ModuleProgress(module, str(path), IN_PROGRESS)
    saved = read_answers(path.parent) if (path.parent / ANSWERS_FILE).exists() else {}
    _count_answers(nb, progress, saved)
    if run or checker is not None:
        results = (checker or (lambda p: _run_selfcheck(p, timeout)))(path)
        progress.source = "self-check"
    else:
        from mlops_course.student.check import results_from_executed

        results = results_from_executed(nb)
        ran = any(c.get("execution_count") is not None for c in nb.cells if c.cell_type == "code")
        progress.source = "last run" if ran else "not run yet"
    for r in results:
        if r.kind not in (TEST, QUESTION):
            continue
        if r.passed:
            status = r.status
        elif progress.source == "not run yet" or r.hint == "did not run":
            status = NOT_RUN
        else:
            status = FAILED
        progress.tests.append(
            TestStatus(
                r.grade_id,
                r.title,
                float(r.points),
                status,
                None if status in (PASSED, FORMAT_OK) else r.hint,
                question=r.kind == QUESTION,
            )
        )
    for t in progress.tests:
        if t.status == FAILED:
            progress.left.append(f"test {t.grade_id} fails: {t.hint or t.title}")
    not_run = [t.grade_id for t in progress.tests if t.status == NOT_RUN]
    if not_run:
        progress.left.append(
            f"run the notebook (or `mlops-course progress --run`): {len(not_run)} test(s) not run"
        )
    done = (
        progress.answers_done == progress.answers_total
        and progress.open_done == progress.open_total
        and progress.tests
        and all(t.status in (PASSED, FORMAT_OK) for t in progress.tests)
    )
    if done:
        progress.state = READY
        progress.left.append("submit it (and demo it; TIAO: a Panopto video, no deadline)")
    elif progress.answers_done == 0 and progress.open_done == 0:
        progress.state = NOT_STARTED
    return progress


def collect(
    folder: str | Path | None = None,
    modules: list[str] | None = None,
    run: bool = False,
    timeout: int = 300,
    checker=None,
) -> list[ModuleProgress]:
    """Progress on every module; ``folder`` None: look where the course puts the work."""

    def candidates(module: str) -> list[Path]:
        if folder is None:
            return usual_places(module)
        return in_folder(Path(folder).expanduser().resolve(), module)

    return [
        module_progress(m, find_notebook(candidates(m)), run=run, timeout=timeout, checker=checker)
        for m in (modules or MODULES)
    ]


# -- views -------------------------------------------------------------------------------


def _questions_cell(p: ModuleProgress) -> str:
    return f"{p.questions_format_ok}/{len(p.questions)} {FORMAT_OK}" if p.questions else ""


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
                "exercise tests passed": f"{p.tests_passed}/{len(p.exercise_tests)}",
                "exercise points (visible tests)": f"{got:g}/{total:g}",
                "theory questions": _questions_cell(p),
                "checked": p.source,
                "next": p.left[0] if p.left else "",
            }
        )
    return pd.DataFrame(rows)


def format_progress(progress: list[ModuleProgress], verbose: bool = True) -> str:
    lines = [f"{'module':<15} {'state':<16} {'answers':>8} {'tests':>7} {'questions':>16}  checked"]
    for p in progress:
        lines.append(
            f"{p.module:<15} {p.state:<16} {p.answers_done:>3}/{p.answers_total:<4} "
            f"{p.tests_passed:>3}/{len(p.exercise_tests):<3} {_questions_cell(p):>16}  {p.source}"
        )
        if verbose:
            if p.notebook:
                lines.append(f"    ({p.notebook})")
            for item in p.left if p.notebook else p.left[:1]:
                lines.append(f"    - {item}")
    ready = sum(p.state == READY for p in progress)
    lines.append(
        f"{ready}/{len(progress)} modules ready to submit. Visible tests only: hidden tests are "
        f"added when your lecturer grades. Theory questions: {FORMAT_ONLY}."
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
    p.add_argument(
        "folder",
        nargs="?",
        default=None,
        help="folder with your module folders (default: your home folder and the course's release/)",
    )
    p.add_argument("--run", action="store_true", help="execute each notebook's self-check now (slower)")
    p.add_argument("--module", action="append", help="only this module (repeatable)")
    p.add_argument("--timeout", type=int, default=300, help="seconds per cell with --run")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--quiet", "-q", action="store_true", help="no list of what is left")
    p.set_defaults(func=cmd_progress)
