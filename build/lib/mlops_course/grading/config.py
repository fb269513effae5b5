"""nbgrader configuration for pipeline steps: the course's nbgrader_config.py plus
the overrides a step needs."""

from __future__ import annotations

import copy
import os
import sys

from traitlets.config import Config

from mlops_course.course import Course


def _tools_on_path() -> None:
    """nbgrader runs `alembic` (gradebook migrations) and kernels from PATH: make the
    tools of this Python's environment findable even when the venv is not activated."""
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


_tools_on_path()


def load_config(course: Course) -> Config:
    """The course's own nbgrader configuration, rooted at ``course.root``."""
    config = copy.deepcopy(course.nbgrader_config)
    config.CourseDirectory.root = str(course.root)
    config.CourseDirectory.db_url = course.db_url
    config.CourseDirectory.course_id = course.course_id
    return config


def api(config: Config):
    """An in-process nbgrader API (no 3-5 s CLI start-up per call)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def failure_reason(outcome: dict) -> str:
    """The informative line of a failed nbgrader API call's log (not its generic last line)."""
    text = (outcome.get("log") or "") + "\n" + (outcome.get("error") or "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if ("Error:" in line or "Exception:" in line) and "NbGraderException" not in line:
            return line
    return lines[-1] if lines else "no log"
