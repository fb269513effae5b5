"""Packaging: pinned versions, environment.yml in step with pyproject.toml, the CLI."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import yaml
from helpers import REPO
from packaging.requirements import Requirement


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + [d for deps in project["optional-dependencies"].values() for d in deps]
    return {Requirement(line).name.lower(): str(Requirement(line).specifier) for line in lines}


def test_every_dependency_is_pinned_exactly():
    loose = {name: spec for name, spec in pyproject_pins().items() if not spec.startswith("==")}
    assert not loose, f"pin these with ==: {loose}"


def test_environment_yml_has_the_same_pins():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda_pins = {Requirement(line).name.lower(): str(Requirement(line).specifier) for line in pip_section}
    assert conda_pins == pyproject_pins()
    assert "python=3.11" in env["dependencies"]


def test_python_is_3_11():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert Requirement("python" + project["requires-python"]).specifier.contains("3.11.7")
    assert sys.version_info[:2] == (3, 11)


def test_installed_versions_match_the_pins():
    from importlib import metadata

    wrong = {}
    for name, spec in pyproject_pins().items():
        installed = metadata.version(name)
        if not Requirement(f"{name}{spec}").specifier.contains(installed, prereleases=True):
            wrong[name] = (spec, installed)
    assert not wrong, f"installed versions differ from the pins: {wrong}"


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "mlops_course.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "grade" in out.stdout and "release" in out.stdout


def test_the_wheel_carries_the_package_data(tmp_path):
    """An installed course finds its rubric, feedback page and grading Dockerfile without a checkout."""
    import shutil

    source = tmp_path / "src"  # setuptools writes build/ beside the sources: not in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source)
    shutil.copytree(
        REPO / "mlops_course", source / "mlops_course", ignore=shutil.ignore_patterns("__pycache__")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        cwd=source,
    )
    import zipfile

    (wheel,) = tmp_path.glob("mlops_course-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "mlops_course/data/rubric.yaml",
        "mlops_course/data/templates/feedback/course_feedback.html.j2",
        "mlops_course/grading/execution/sandbox.Dockerfile",
    } <= names
    assert not any(name.startswith(("tests/", "source/", "release/")) for name in names)


def test_the_course_config_names_the_steps_the_code_defines():
    """nbgrader_config.py names the release and feedback steps (importing them would cost
    every command a second): the names must be the code's lists, in order."""
    from traitlets.config.loader import PyFileConfigLoader

    from mlops_course.grading.feedback import FEEDBACK_PREPROCESSORS
    from mlops_course.grading.release_steps import RELEASE_PREPROCESSORS

    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()

    def names(steps):
        import importlib

        resolved = []
        for step in steps:
            if isinstance(step, str):
                module, _, name = step.rpartition(".")
                step = getattr(importlib.import_module(module), name)
            resolved.append(step)
        return resolved

    assert names(config.GenerateAssignment.preprocessors) == RELEASE_PREPROCESSORS
    assert names(config.GenerateFeedback.preprocessors) == FEEDBACK_PREPROCESSORS
