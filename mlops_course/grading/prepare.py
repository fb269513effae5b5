"""Turn a checked submission into a notebook ready to run: hidden tests restored from
the run's copy of the gradebook (``gradebook.AssignmentBook``), deleted test cells added
back, parameters injected by papermill, and a working copy of the assignment's files."""

from __future__ import annotations

import fnmatch
import json
import shutil
from pathlib import Path

import nbformat
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells
from papermill.parameterize import parameterize_notebook

from mlops_course.course import Course
from mlops_course.grading.gradebook import AssignmentBook
from mlops_course.grading.tidy import put_tests_after_answers, resolve_duplicates
from mlops_course.infra.files import write_atomic


def restore_answer_cells(nb, released):
    """Put back answer cells the student deleted, as the release's stub (which scores 0).
    nbgrader adds back deleted test cells, but fails when the answer before them is
    gone too."""
    present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
    previous_id = None
    for cell in released.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if grade_id and meta.get("solution") and not meta.get("grade") and grade_id not in present:
            position = 0
            for index, existing in enumerate(nb.cells):
                if previous_id and existing.metadata.get("nbgrader", {}).get("grade_id") == previous_id:
                    position = index + 1
            nb.cells.insert(position, nbformat.from_dict(cell))
            present.add(grade_id)
        if grade_id:
            previous_id = grade_id
    return nb


class _OverwriteFromBook(OverwriteCells):
    """nbgrader's OverwriteCells, looking cells up in this run's copy of the gradebook
    (``AssignmentBook``) instead of opening the database for every submission."""

    def __init__(self, book: AssignmentBook, **kwargs):
        super().__init__(**kwargs)
        self.book = book

    def preprocess(self, nb, resources):
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.gradebook = self.book
        nb, resources = super(OverwriteCells, self).preprocess(nb, resources)  # cell by cell
        if self.add_missing_cells:
            nb, resources = self.add_missing_grade_cells(nb, resources)
            nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources


def restore_grading_cells(nb, config, book: AssignmentBook, released: Path, notebook: str, notes=None):
    """nbgrader's own sanitising steps: clear outputs, fix ids and kernelspec, put back
    the gradebook's version of every locked/test cell (hidden tests included) and any
    test cell the student deleted. Copied and moved cells are resolved first (``tidy``);
    what was resolved is appended to ``notes``."""
    notes = [] if notes is None else notes
    notes += resolve_duplicates(nb)
    if released.is_file():
        released_nb = nbformat.read(str(released), as_version=4)
        notes += put_tests_after_answers(nb, released_nb)
        nb = restore_answer_cells(nb, released_nb)
    resources = {"nbgrader": {"notebook": notebook, "assignment": book.name}}
    for step in (ClearOutput(config=config), DeduplicateIds(config=config)):
        nb, resources = step.preprocess(nb, resources)
    kernelspec = book.find_notebook(notebook, book.name).kernelspec
    if kernelspec:  # as nbgrader's OverwriteKernelspec
        nb.metadata["kernelspec"] = json.loads(kernelspec)
    for step in (_OverwriteFromBook(book, config=config), CheckCellMetadata(config=config)):
        nb, resources = step.preprocess(nb, resources)
    return nbformat.from_dict(nb)  # cells nbgrader adds back hold plain dicts


def has_parameters(nb) -> bool:
    """Whether a notebook has a papermill `parameters` cell (this course's convention)."""
    return any("parameters" in cell.metadata.get("tags", []) for cell in nb.cells)


def inject_parameters(nb, parameters: dict):
    """papermill's injection: a cell after the `parameters` cell (or at the top when the
    student deleted it) that sets the grading values."""
    # the metadata papermill's own notebook loader would add
    nb.metadata.setdefault(
        "papermill", {"default_parameters": {}, "parameters": {}, "environment_variables": {}}
    )
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
    return parameterize_notebook(nb, parameters, kernel_name="python3", language="python")


def _ignored(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def copy_tree(src: Path, dest: Path, ignore: list[str], skip_notebooks: bool = True) -> None:
    """Copy files (not notebooks) from ``src`` into ``dest``, overwriting, honouring
    nbgrader's ignore patterns."""
    if not src.is_dir():
        return
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if any(_ignored(part, ignore) for part in rel.parts):
            continue
        if path.is_symlink():
            continue  # a student's symlink could point anywhere on the grader's disk
        if path.is_dir() or (skip_notebooks and path.suffix == ".ipynb"):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def prepare_workdir(course: Course, student: str, assignment: str, ignore: list[str]) -> Path:
    """A fresh working copy: the student's own files, then the assignment's files from
    source/ on top (as nbgrader autograde does), so given files cannot be tampered with."""
    workdir = course.grading / "work" / student / assignment
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    copy_tree(course.submission_dir(student, assignment), workdir, ignore + ["timestamp.txt"])
    copy_tree(course.source / assignment, workdir, ignore)
    return workdir


def write_notebook(nb, path: Path) -> None:
    write_atomic(path, nbformat.writes(nb))
