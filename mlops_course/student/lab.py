"""`make lab`: JupyterLab for a student on a laptop (self-study included).

A laptop has no nbgrader exchange (JupyterHub's is ``/srv/nbgrader/exchange``): the
Assignments tab could only say "Error fetching courses!". So this Lab runs with its own
Jupyter configuration folder (``<cache>/lab``) that switches off the Assignments tab,
the Course List and the instructor tools (Formgrader, Create Assignment), keeps
Validate, and adds one line under Validate's result: theory questions are only
format-checked there. The student opens the module's notebook in ``release/<module>/``
(where `mlops-course progress` and my_progress.ipynb look for it).

    python -m mlops_course.student.lab [--port 8888] [--no-browser] [Jupyter options]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from mlops_course.course import Course
from mlops_course.hub.env import INSTRUCTOR_LAB_PLUGINS, INSTRUCTOR_SERVER_EXTENSIONS
from mlops_course.labs.quiz import FORMAT_ONLY
from mlops_course.settings import cache_dir

# Besides the instructor tools: the Assignments tab and its server side need an exchange.
EXCHANGE_LAB_PLUGINS = ["@jupyter/nbgrader:assignment-list"]
EXCHANGE_SERVER_EXTENSIONS = ["nbgrader.server_extensions.assignment_list"]
EXPLANATION = (
    "Laptop Lab: no Assignments tab (assignments are fetched on JupyterHub); open your notebook in "
    "release/<module>/, answer, press Validate, and run `mlops-course check` on it."
)
# Validate's dialog is nbgrader's own; its result gets this line (custom.css).
VALIDATE_NOTE = f"Theory questions: only their format is checked here ({FORMAT_ONLY})."


def _css_string(text: str) -> str:
    return json.dumps(text)  # a CSS string literal: double quotes, backslash escapes


def write_lab_config(folder: Path) -> Path:
    """The Jupyter configuration folder of a laptop Lab (JUPYTER_CONFIG_DIR)."""
    (folder / "labconfig").mkdir(parents=True, exist_ok=True)
    (folder / "custom").mkdir(exist_ok=True)
    disabled = {plugin: True for plugin in INSTRUCTOR_LAB_PLUGINS + EXCHANGE_LAB_PLUGINS}
    (folder / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": disabled}, indent=2) + "\n"
    )
    extensions = {name: False for name in INSTRUCTOR_SERVER_EXTENSIONS + EXCHANGE_SERVER_EXTENSIONS}
    (folder / "jupyter_server_config.json").write_text(
        json.dumps(
            {"ServerApp": {"jpserver_extensions": extensions}, "LabApp": {"custom_css": True}}, indent=2
        )
        + "\n"
    )
    (folder / "custom" / "custom.css").write_text(
        "/* mlops-course: what Validate's result does not say */\n"
        "#validation-message.validation-success::after,\n"
        "#validation-message.validation-failed::after {\n"
        f"  content: {_css_string(VALIDATE_NOTE)};\n"
        "  display: block;\n"
        "  margin-top: 0.8em;\n"
        "  font-style: italic;\n"
        "}\n"
    )
    return folder


def lab_command(
    course: Course, port: int | None = None, browser: bool = True, extra: list[str] | None = None
) -> tuple[list[str], dict]:
    """The command and environment of the laptop Lab on ``course`` (``extra``: more
    options for Jupyter, e.g. ``--ServerApp.token=...``)."""
    config = write_lab_config(cache_dir() / "lab")
    argv = [sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1", f"--ServerApp.root_dir={course.root}"]
    if port:
        argv.append(f"--port={port}")
    if not browser:
        argv.append("--no-browser")
    argv += extra or []
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config)}
    # the kernels and nbgrader's alembic run from this Python's environment
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return argv, env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=None, help="the Lab's port (default: Jupyter's)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    args, jupyter_options = parser.parse_known_args(argv)
    command, env = lab_command(Course.find(), args.port, browser=not args.no_browser, extra=jupyter_options)
    print(EXPLANATION, flush=True)
    os.execve(command[0], command, env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
