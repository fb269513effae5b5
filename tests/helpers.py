"""What tests share by import (fixtures live in the conftest.py files): the repository,
the one rule for a missing system part, placing and grading submissions, editing
notebooks. Tests import from here, never from a conftest.py or from each other."""

from __future__ import annotations

import ast
import contextlib
import functools
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from mlops_course.course import Course
from mlops_course.doctor import part_available
from mlops_course.grading.pipeline import Options, grade
from mlops_course.grading.release import release
from mlops_course.settings import MODULES, in_ci

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = Course(REPO).assignments()
# Every module's theory questions are on mlops_course.labs.quiz (issue 14): test_contract.py
# checks their question style, test_quiz.py that guessing earns at most 20% of their points.
QUIZ_MODULES = list(MODULES)


# -- system parts: skip here, fail in CI ------------------------------------------------


def skip_or_fail(reason: str) -> None:
    """A system part this test needs is missing: skip with the reason on a user's
    machine; fail in CI, where .ci/run provides every part."""
    if in_ci():
        pytest.fail(f"CI must provide every system part: {reason}")
    pytest.skip(reason)


def require(available: bool, reason: str) -> None:
    if not available:
        skip_or_fail(reason)


def notebook_requires(notebook_path: Path) -> list[str]:
    """The system parts a notebook declares (metadata.mlops_course.requires)."""
    nb = nbformat.read(str(notebook_path), as_version=4)
    return list(nb.metadata.get("mlops_course", {}).get("requires", []))


def missing_parts(parts: list[str]) -> list[str]:
    return [part for part in parts if not part_available(part)]


def require_parts(parts: list[str]) -> None:
    missing = missing_parts(parts)
    require(not missing, f"needs {', '.join(missing)} (see `mlops-course doctor`)")


# -- releasing and grading in a test course -----------------------------------------------


_released: dict = {}


def ensure_released(course: Course, assignment: str) -> None:
    """Release one assignment into the test course (once per session); a broken
    module fails its own tests only."""
    if assignment not in _released:
        try:
            release(course, [assignment])
            _released[assignment] = None
        except Exception as exc:  # remembered, so each test of the module reports it
            _released[assignment] = exc
    if _released[assignment] is not None:
        raise _released[assignment]


@dataclass
class GradedSubmission:
    result: object
    scores: dict
    max_scores: dict
    executed: Path

    @property
    def auto_score(self) -> float:
        return sum(s for cell, s in self.scores.items() if cell not in self.manual)

    @property
    def auto_max(self) -> float:
        return sum(m for cell, m in self.max_scores.items() if cell not in self.manual)

    manual: frozenset = frozenset()


def put_submission(
    course: Course, assignment: str, student: str, nb=None, name: str | None = None, text: str | None = None
) -> Path:
    """Place one submission in submitted/<student>/<assignment>/ (replacing an earlier
    one): a notebook, raw text (for broken files), or nothing (an empty folder)."""
    folder = course.submission_dir(student, assignment)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    name = name or f"{assignment}.ipynb"
    if nb is not None:
        nbformat.write(nb, str(folder / name))
    if text is not None:
        (folder / name).write_text(text)
    return folder


def submit_and_grade(course: Course, assignment: str, student: str, nb) -> GradedSubmission:
    ensure_released(course, assignment)
    put_submission(course, assignment, student, nb)
    result = grade(course, assignment, [student], Options(sandbox=False, workers=1, progress=False))[0]
    manual = frozenset(manual_grade_ids(course.source_notebook(assignment)))
    return GradedSubmission(
        result=result,
        scores={cell: value["score"] for cell, value in result.cells.items()},
        max_scores={cell: value["max_score"] for cell, value in result.cells.items()},
        executed=course.root / "grading" / "executed" / student / assignment / f"{assignment}.ipynb",
        manual=manual,
    )


def manual_grade_ids(notebook_path: Path) -> list[str]:
    nb = nbformat.read(str(notebook_path), as_version=4)
    ids = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and (meta.get("solution") or cell.cell_type == "markdown"):
            ids.append(meta["grade_id"])
    return ids


def source_answer(assignment: str, grade_id: str, *edits: tuple[str, str]) -> str:
    """The source notebook's cell ``grade_id`` (a model answer), with each ``(old, new)``
    edit applied once: a typical mistake. An edit whose old text is not there fails, so
    a changed model answer cannot silently turn a mistake into the model answer."""
    nb = nbformat.read(str(REPO / "source" / assignment / f"{assignment}.ipynb"), as_version=4)
    sources = [c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    if not sources:
        raise KeyError(f"{assignment} has no cell with grade id {grade_id!r}")
    source = sources[0]
    for old, new in edits:
        assert old in source, f"{old!r} is not in the model answer {assignment}/{grade_id}: update the test"
        source = source.replace(old, new, 1)
    return source


def replace_cells(nb, replacements: dict[str, str]):
    """A copy of ``nb`` with the source of the cells named by grade id replaced."""
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    found = set()
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in replacements:
            cell.source = replacements[grade_id]
            found.add(grade_id)
    missing = set(replacements) - found
    if missing:
        raise KeyError(f"no cell with grade id {sorted(missing)}")
    return nb


def nothing_written(nb):
    """A copy of a released notebook where every `raise NotImplementedError()` stub is
    `pass`: a student who ran every cell and wrote nothing. It must score 0."""
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = cell.source.replace("raise NotImplementedError()", "pass")
    return nb


def append_to_cells(nb, additions: dict[str, str]):
    """A copy of ``nb`` with code added at the end of the cells named by grade id: e.g.
    after a theory question's ``quiz`` call, which must stay for its test to score it."""
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    found = set()
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in additions:
            cell.source = cell.source.rstrip("\n") + "\n" + additions[grade_id]
            found.add(grade_id)
    missing = set(additions) - found
    if missing:
        raise KeyError(f"no cell with grade id {sorted(missing)}")
    return nb


# -- theory questions computed from SEED, outside a kernel ----------------------------------


@functools.cache
def _cell_sources(assignment: str) -> dict[str, str]:
    nb = nbformat.read(str(REPO / "source" / assignment / f"{assignment}.ipynb"), as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells if "nbgrader" in c.metadata}


def run_cell(source: str, namespace: dict):
    """Run a cell's code in ``namespace``; the value of its last expression, as a kernel
    gives it to nbgrader (None when the cell ends with a statement)."""
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<cell>", "exec"), namespace)
    return None if last is None else eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)


def computed_question(
    assignment: str, question: str, seed: int, *, setup: str, given: list[str], answer: str | None = None
) -> tuple[dict, float]:
    """Answer a question computed from SEED the way a graded notebook does, in seconds:
    ``setup`` (the imports the cells use; a module's imports cell may start engines),
    its ``given_*`` cells, the answer cell (the model answer, or ``answer``) and the
    test cell, hidden part included. Returns the namespace and the points the test gave."""
    sources = _cell_sources(assignment)
    namespace = {"SEED": seed, "FAST": True}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(setup, namespace)
        for grade_id in given:
            run_cell(sources[grade_id], namespace)
        run_cell(sources[question] if answer is None else answer, namespace)
        points = run_cell(sources[f"test_{question}"], namespace)
    return namespace, points


# -- a browser for the end-to-end tests (headless Chromium, Debian's chromedriver) ----------

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def browser_parts_missing() -> list[str]:
    """What a browser test needs and this machine lacks."""
    import os

    missing = []
    for path, what in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            missing.append(f"{what} (apt-get install -y chromium chromium-driver)")
    try:
        import selenium  # noqa: F401  (only whether it is installed)
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    return missing


def open_browser(name: str, artifacts: Path):
    """Headless Chromium with a profile of its own (removed by ``close_browser``)."""
    import tempfile

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix=f"mlct-chromium-{name}-")
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    service = Service(CHROMEDRIVER, log_output=str(artifacts / f"chromedriver-{name}.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(120)
    driver._mlct_profile = profile
    return driver


def close_browser(driver) -> None:
    try:
        driver.quit()
    finally:
        shutil.rmtree(driver._mlct_profile, ignore_errors=True)


class BrowserPage:
    """Waits, clicks and numbered screenshots (``<artifacts>/<prefix>-NN-<name>.png``)."""

    def __init__(self, driver, prefix: str, artifacts: Path, log=print):
        self.driver, self.prefix, self.artifacts, self.log, self.step = driver, prefix, artifacts, log, 0

    def shot(self, name: str) -> None:
        self.step += 1
        path = self.artifacts / f"{self.prefix}-{self.step:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        self.log(f"screenshot {path.name}")

    def wait(self, xpath: str, timeout: float = 60, visible: bool = True):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        condition = ec.visibility_of_element_located if visible else ec.presence_of_element_located
        try:
            return WebDriverWait(self.driver, timeout).until(condition((By.XPATH, xpath)))
        except Exception:
            self.shot("timeout")
            raise

    def click(self, xpath: str, timeout: float = 60) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        self.wait(xpath, timeout)
        WebDriverWait(self.driver, timeout).until(ec.element_to_be_clickable((By.XPATH, xpath))).click()

    def nbgrader_menu(self) -> list[str]:
        """Open JupyterLab's Nbgrader menu; returns its entries ([] when there is none)."""
        label = "//div[contains(@class,'lm-MenuBar-itemLabel') and normalize-space()='Nbgrader']"
        if not self.driver.find_elements("xpath", label):
            return []
        self.click(label)
        items = self.driver.find_elements(
            "xpath", "//ul[contains(@class,'lm-Menu-content')]//div[contains(@class,'lm-Menu-itemLabel')]"
        )
        return [item.text for item in items if item.text]

    def menu_entry(self, label: str) -> None:
        self.click(
            f"//ul[contains(@class,'lm-Menu-content')]//div[contains(@class,'lm-Menu-itemLabel')"
            f" and normalize-space()='{label}']"
        )
