"""The single-user environment: one venv every user's server runs in, with the course
package and its pins, and nbgrader's JupyterLab extensions switched per role.

Students get the Assignments list and Validate (Formgrader, Course List and Create
Assignment are disabled at the environment's ``sys_prefix`` level, as in nbgrader's
docs); instructors get a config folder that enables them again, put on
``JUPYTER_CONFIG_PATH`` by the hub's pre-spawn hook (:mod:`mlops_course.hub.auth`).

The pins come from the installed distribution's metadata; the package itself is built
from the course folder (a checkout of the course's repository), whose
``pyproject.toml`` must pin the same versions."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from mlops_course.course import Course
from mlops_course.errors import HubSetupError
from mlops_course.hub.settings import HubSettings
from mlops_course.hub.system import Log, make_readable, run
from mlops_course.settings import COURSE_ID

DISTRIBUTION = "mlops-course"
# Debian's Python: the default Python of the course machines lives under /root, which
# ordinary users cannot read, so a venv made from it cannot run for them.
SYSTEM_PYTHON = "/usr/bin/python3"
# What builds the course package, in the course folder.
PACKAGE_FILES = ("pyproject.toml", "README.md", "mlops_course")

# nbgrader 0.9 JupyterLab plugins. Students keep assignment-list, validate-assignment
# and menu; these three are for instructors only.
INSTRUCTOR_LAB_PLUGINS = [
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:create-assignment",
]
INSTRUCTOR_SERVER_EXTENSIONS = [
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
]
# What a student's single-user server needs for the course's first module and for
# nbgrader (fetch, validate, submit) and grading; versions come from the course's pins.
LIGHT_PACKAGES = [
    "jupyterhub",
    "jupyterlab",
    "notebook",
    "nbgrader",
    "ipykernel",
    "ipywidgets",
    "nbformat",
    "nbclient",
    "papermill",
    "numpy",
    "scipy",
    "scikit-learn",
    "docker",
    "requests",
    "packaging",
    "PyYAML",
    "tqdm",
    "pandas",
    "ai-edge-litert",
]
# The light profile must run LIGHT_ASSIGNMENT (the browser test validates it in the
# hub); tests/e2e/test_hub_config.py checks that its imports are covered.
LIGHT_ASSIGNMENT = "m0_setup"


def _requirement_name(line: str) -> str:
    return Requirement(line).name.lower()


def pinned_requirements(profile: str = "full") -> list[str]:
    """The course's pins, from the installed distribution's metadata; ``light`` keeps
    :data:`LIGHT_PACKAGES`."""
    try:
        requires = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        raise HubSetupError(
            f"the {DISTRIBUTION} distribution is not installed, and its pins are the environment's: "
            "install it (`make venv`, or `pip install -e .` in the course folder)"
        ) from None
    lines = [line for line in requires if "extra ==" not in line]
    if profile == "full":
        return lines
    if profile != "light":
        raise ValueError(f"profile must be 'full' or 'light', not {profile!r}")
    wanted = {name.lower() for name in LIGHT_PACKAGES}
    light = [line for line in lines if _requirement_name(line) in wanted]
    missing = wanted - {_requirement_name(line) for line in light}
    if missing:
        raise HubSetupError(f"the course has no pin for {sorted(missing)}")
    return light


def _same_pins(first: list[str], second: list[str]) -> bool:
    return sorted(map(str, map(Requirement, first))) == sorted(map(str, map(Requirement, second)))


def package_source(course: Course) -> list[Path]:
    """The files that build the course package, in the course folder; checks that its
    ``pyproject.toml`` pins what the installed distribution pins."""
    paths = [course.root / name for name in PACKAGE_FILES]
    missing = [path.name for path in paths if not path.exists()]
    if missing:
        raise HubSetupError(
            f"the course folder {course.root} has no {', '.join(missing)}: run this in a checkout "
            "of the course's repository, or name one with --course"
        )
    declared = tomllib.loads(paths[0].read_text())["project"]["dependencies"]
    if not _same_pins(declared, pinned_requirements("full")):
        raise HubSetupError(
            f"{paths[0]} pins other versions than the installed {DISTRIBUTION}: "
            f"reinstall it (`make venv`, or `pip install -e {course.root}`)"
        )
    return paths


def copy_package_source(course: Course, folder: Path) -> Path:
    """Copy :func:`package_source` into ``folder`` (pip and Docker then build outside
    the checkout, without its .venv and caches); returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in package_source(course):
        if path.is_dir():
            shutil.copytree(path, folder / path.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(path, folder / path.name)
    return folder


def build_env(
    settings: HubSettings,
    course: Course,
    profile: str = "full",
    log: Log = print,
    python: str = SYSTEM_PYTHON,
) -> Path:
    """Make (or update) the single-user venv; returns its folder. The pinned
    requirements are installed again only when they changed (a stamp file); the course
    package is always reinstalled from the course folder (a few seconds)."""
    venv = settings.venv
    requirements = pinned_requirements(profile)
    stamp = venv / ".mlops-course-requirements"
    digest = hashlib.sha256(
        json.dumps(
            [profile, requirements, INSTRUCTOR_LAB_PLUGINS, INSTRUCTOR_SERVER_EXTENSIONS, "news-off"]
        ).encode()
    ).hexdigest()
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    with tempfile.TemporaryDirectory(prefix="mlops-hub-") as tmp:
        source = copy_package_source(course, Path(tmp) / "mlops-course-src")  # fails before the long part
        if not (venv / "bin" / "python").exists():
            settings.prefix.mkdir(parents=True, exist_ok=True)
            run([python, "-m", "venv", venv], log)
        if not stamp.exists() or stamp.read_text() != digest:
            started = time.monotonic()
            run(pip + ["install", "--quiet", *requirements], log)
            log(
                f"installed {len(requirements)} pinned packages ({profile}) "
                f"in {time.monotonic() - started:.0f} s"
            )
            configure_extensions(settings, log)
            stamp.write_text(digest)
        else:
            write_role_configs(settings)
        run(pip + ["install", "--quiet", "--no-deps", "--force-reinstall", source], log)
    make_readable(venv)
    return venv


def configure_extensions(settings: HubSettings, log: Log = print) -> None:
    """Students' defaults at the environment's sys_prefix (nbgrader's documented
    commands), and the instructors' config folder that switches the rest back on."""
    jupyter = settings.venv / "bin" / "jupyter"
    for plugin in INSTRUCTOR_LAB_PLUGINS:
        run([jupyter, "labextension", "disable", "--level=sys_prefix", plugin], log)
    for extension in INSTRUCTOR_SERVER_EXTENSIONS:
        run([jupyter, "server", "extension", "disable", "--sys-prefix", extension], log)
    # No "Jupyter news" prompt on a course machine (and no requests to the news feed).
    overrides = settings.venv / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    overrides.parent.mkdir(parents=True, exist_ok=True)
    overrides.write_text(
        json.dumps({"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}, indent=2) + "\n"
    )
    write_role_configs(settings)


def nbgrader_config_text(settings: HubSettings, course_root: Path | None) -> str:
    """An nbgrader_config.py with the course id and the exchange (and, for
    instructors, the course folder as nbgrader's root)."""
    lines = [
        '"""Written by mlops_course.hub setup: nbgrader on the course hub."""',
        "import os",
        "c = get_config()  # noqa: F821",
        f"c.CourseDirectory.course_id = {COURSE_ID!r}",
        f"c.Exchange.root = os.environ.get('NBGRADER_EXCHANGE', {str(settings.exchange)!r})",
    ]
    if course_root is not None:
        lines.append(f"c.CourseDirectory.root = {str(course_root)!r}")
    return "\n".join(lines) + "\n"


def write_role_configs(settings: HubSettings) -> None:
    """``<prefix>/etc/jupyter-student`` and ``jupyter-instructor``: Jupyter config
    folders put first on JUPYTER_CONFIG_PATH by the hub."""
    for role in ("student", "instructor"):
        folder = settings.role_config_dir(role)
        (folder / "labconfig").mkdir(parents=True, exist_ok=True)
        instructor = role == "instructor"
        (folder / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {p: not instructor for p in INSTRUCTOR_LAB_PLUGINS}}, indent=2)
            + "\n"
        )
        (folder / "jupyter_server_config.json").write_text(
            json.dumps(
                {"ServerApp": {"jpserver_extensions": {e: instructor for e in INSTRUCTOR_SERVER_EXTENSIONS}}},
                indent=2,
            )
            + "\n"
        )
        (folder / "nbgrader_config.py").write_text(
            nbgrader_config_text(settings, settings.course_dir if instructor else None)
        )
    make_readable(settings.prefix / "etc")
