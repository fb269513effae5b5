"""Turn a checked submission into a notebook ready to run: hidden tests restored from
the gradebook, deleted test cells added back, parameters injected by papermill, and a
working copy of the assignment's files. Reads the gradebook, never writes it."""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

import nbformat
from papermill.parameterize import parameterize_notebook

from mlops_course.course import Course


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


def restore_grading_cells(nb, config, course: Course, assignment: str, notebook: str, student: str):
    """nbgrader's own sanitising steps: clear outputs, fix ids and kernelspec, put back
    the gradebook's version of every locked/test cell (hidden tests included) and any
    test cell the student deleted."""
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        OverwriteCells,
        OverwriteKernelspec,
    )

    released = course.release / assignment / f"{notebook}.ipynb"
    if released.is_file():
        nb = restore_answer_cells(nb, nbformat.read(str(released), as_version=4))
    resources = {
        "nbgrader": {
            "notebook": notebook,
            "assignment": assignment,
            "student": student,
            "db_url": course.db_url,
        }
    }
    for step in (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata):
        nb, resources = step(config=config).preprocess(nb, resources)
    return nbformat.from_dict(nb)  # cells nbgrader adds back hold plain dicts


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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    nbformat.write(nb, str(tmp))
    tmp.replace(path)
