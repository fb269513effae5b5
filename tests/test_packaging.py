"""Packaging: pinned versions, environment.yml in step with pyproject.toml, the CLI."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import yaml
from conftest import REPO
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
