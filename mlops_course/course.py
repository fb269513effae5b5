"""Where things live in the course tree (nbgrader's canonical layout plus ours).

source/<assignment>/<assignment>.ipynb        source assignments (with solutions)
release/<assignment>/...                      student versions (generated, committed)
submitted/<student>/<assignment>/...          collected submissions
autograded/<student>/<assignment>/...         nbgrader output
feedback/<student>/<assignment>/...           HTML feedback
grading/results/<assignment>/<student>.json   one result per graded submission
grading/executed/<student>/<assignment>/...   executed notebooks waiting to be scored
exports/                                      CSV exports and reports
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from mlops_course.errors import CourseNotFound
from mlops_course.settings import COURSE_ID, MODULES, env


@dataclass(frozen=True)
class Course:
    root: Path

    @classmethod
    def find(cls, start: str | os.PathLike | None = None) -> Course:
        """The course whose nbgrader_config.py is in ``start`` or a parent folder
        (MLOPS_COURSE_ROOT overrides)."""
        if start is None:
            start = env("MLOPS_COURSE_ROOT")
        here = Path(start or Path.cwd()).resolve()
        for folder in [here, *here.parents]:
            if (folder / "nbgrader_config.py").is_file() and (folder / "source").is_dir():
                return cls(folder)
        raise CourseNotFound(
            f"no course found in {here} or its parents: run this inside the course folder "
            "(the one with nbgrader_config.py and source/), pass --course PATH, or set "
            "MLOPS_COURSE_ROOT. A new course: `nbgrader quickstart COURSE_ID` makes one."
        )

    # nbgrader's steps
    @property
    def source(self) -> Path:
        return self.root / "source"

    @property
    def release(self) -> Path:
        return self.root / "release"

    @property
    def submitted(self) -> Path:
        return self.root / "submitted"

    @property
    def autograded(self) -> Path:
        return self.root / "autograded"

    @property
    def feedback(self) -> Path:
        return self.root / "feedback"

    # ours
    @property
    def grading(self) -> Path:
        return self.root / "grading"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @functools.cached_property
    def nbgrader_config(self):
        """The course's nbgrader_config.py, as nbgrader reads it (traitlets Config)."""
        from traitlets.config.loader import PyFileConfigLoader

        return PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()

    @property
    def course_id(self) -> str:
        return self.nbgrader_config.CourseDirectory.get("course_id") or COURSE_ID

    @property
    def db_url(self) -> str:
        """$MLOPS_COURSE_DB_URL, else SQLite in the course folder (nbgrader_config.py
        reads the same variable, so nbgrader's own commands agree)."""
        return env("MLOPS_COURSE_DB_URL") or f"sqlite:///{self.root / 'gradebook.db'}"

    def assignments(self) -> list[str]:
        """Assignment ids, as nbgrader sees them: every folder of source/ that holds a
        notebook; this course's modules first, in course order, then the others by name."""
        found = {
            p.parent.name for p in self.source.glob("*/*.ipynb") if p.parent.name != ".ipynb_checkpoints"
        }
        return [m for m in MODULES if m in found] + sorted(found - set(MODULES))

    def source_notebooks(self, assignment: str) -> list[Path]:
        """The notebooks of an assignment in source/ (any number, any names)."""
        return sorted((self.source / assignment).glob("*.ipynb"))

    def source_notebook(self, assignment: str) -> Path:
        return self.source / assignment / f"{assignment}.ipynb"

    def release_notebook(self, assignment: str) -> Path:
        return self.release / assignment / f"{assignment}.ipynb"

    def submission_dir(self, student: str, assignment: str) -> Path:
        return self.submitted / student / assignment

    def result_file(self, assignment: str, student: str) -> Path:
        return self.grading / "results" / assignment / f"{student}.json"

    def students_with_submissions(self, assignment: str) -> list[str]:
        if not self.submitted.is_dir():
            return []
        return sorted(p.name for p in self.submitted.iterdir() if (p / assignment).is_dir())
