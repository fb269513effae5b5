"""hub/jupyterhub_config.py loads, listens on loopback only and gives each role its
nbgrader extensions; the hub's settings, pins, image context and command (no root, no
browser, no Docker: the fast half of the hub's tests)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config.loader import PyFileConfigLoader

from mlops_course.course import Course
from mlops_course.errors import HubSetupError
from mlops_course.hub.env import (
    INSTRUCTOR_LAB_PLUGINS,
    LIGHT_ASSIGNMENT,
    LIGHT_PACKAGES,
    pinned_requirements,
    write_role_configs,
)
from mlops_course.hub.image import image_context
from mlops_course.hub.settings import ENVIRONMENT, HubSettings, env

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(monkeypatch, tmp_path):
    monkeypatch.setenv("MLOPS_HUB_PREFIX", str(tmp_path / "prefix"))
    monkeypatch.setenv("MLOPS_HUB_PORT", "18000")
    monkeypatch.setenv("MLOPS_HUB_SERVICE_TOKEN", "t0ken")
    monkeypatch.setenv("MLOPS_HUB_ADMINS", "ada,,bob")
    for name in ("MLOPS_HUB_AUTHENTICATOR", "MLOPS_HUB_PROXY_PREFIX", "MLOPS_HUB_STATE"):
        monkeypatch.delenv(name, raising=False)
    loader = PyFileConfigLoader("jupyterhub_config.py", path=str(REPO / "hub"))
    return loader.load_config()


def test_loopback_only(config):
    assert config.JupyterHub.bind_url == "http://127.0.0.1:18000"
    assert config.JupyterHub.hub_ip == "127.0.0.1" and config.Spawner.ip == "127.0.0.1"
    assert config.ConfigurableHTTPProxy.api_url.startswith("http://127.0.0.1:")


def test_course_environment_and_pam_groups(config, tmp_path):
    assert config.Spawner.cmd == [str(tmp_path / "prefix" / "venv" / "bin" / "jupyterhub-singleuser")]
    assert config.Spawner.default_url == "/lab"
    assert config.JupyterHub.authenticator_class.__name__ == "CoursePAMAuthenticator"
    assert config.PAMAuthenticator.open_sessions is False
    assert config.PAMAuthenticator.allowed_groups == {"mlc-students", "mlc-instructors"}
    assert config.Authenticator.manage_groups is True
    assert config.JupyterHub.services[0] == {"name": "course-admin", "api_token": "t0ken"}
    assert config.Authenticator.admin_users == {"ada", "bob"}


def test_state_and_proxy_live_in_the_prefix(config, tmp_path):
    prefix = tmp_path / "prefix"
    assert config.JupyterHub.db_url == f"sqlite:///{prefix / 'hub-state' / 'jupyterhub.sqlite'}"
    assert config.ConfigurableHTTPProxy.command == [
        str(prefix / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy")
    ]


def test_another_authenticator_is_passed_through(monkeypatch, tmp_path):
    monkeypatch.setenv("MLOPS_HUB_PREFIX", str(tmp_path))
    monkeypatch.setenv("MLOPS_HUB_AUTHENTICATOR", "generic-oauth")
    config = PyFileConfigLoader("jupyterhub_config.py", path=str(REPO / "hub")).load_config()
    assert config.JupyterHub.authenticator_class == "generic-oauth"
    assert "allowed_groups" not in config.PAMAuthenticator


def test_pre_spawn_hook_gives_each_role_its_config_folder(config, tmp_path):
    hook = config.Spawner.pre_spawn_hook
    for groups, role in (
        (["students"], "student"),
        (["instructors", "students"], "instructor"),
        ([], "student"),
    ):
        spawner = SimpleNamespace(
            environment={},
            log=SimpleNamespace(info=lambda *a: None),
            user=SimpleNamespace(name="x", groups=[SimpleNamespace(name=g) for g in groups]),
        )
        hook(spawner)
        assert spawner.environment["JUPYTER_CONFIG_PATH"] == str(
            tmp_path / "prefix" / "etc" / f"jupyter-{role}"
        )
        assert spawner.environment["NBGRADER_EXCHANGE"]
        # m2_cicd's Node packages, installed once for every user by `setup`
        assert spawner.environment["MLOPS_COURSE_NPM_PREFIX"] == str(tmp_path / "prefix" / "npm")


def test_role_config_folders(tmp_path):
    settings = HubSettings(prefix=tmp_path, exchange=tmp_path / "exchange", course_dir=tmp_path / "course")
    write_role_configs(settings)
    student = json.loads((settings.role_config_dir("student") / "labconfig" / "page_config.json").read_text())
    instructor = json.loads(
        (settings.role_config_dir("instructor") / "labconfig" / "page_config.json").read_text()
    )
    assert all(student["disabledExtensions"][p] for p in INSTRUCTOR_LAB_PLUGINS)
    assert not any(instructor["disabledExtensions"].values())
    nbgrader = (settings.role_config_dir("instructor") / "nbgrader_config.py").read_text()
    assert f"c.CourseDirectory.root = {str(tmp_path / 'course')!r}" in nbgrader
    assert "course_id = 'mlops-course'" in nbgrader
    assert (
        "CourseDirectory.root" not in (settings.role_config_dir("student") / "nbgrader_config.py").read_text()
    )


def test_light_profile_is_a_subset_of_the_pins():
    full, light = pinned_requirements("full"), pinned_requirements("light")
    assert set(light) <= set(full) and len(light) == len(LIGHT_PACKAGES)
    assert any(line.startswith("jupyterhub==") for line in light)


def test_light_profile_covers_the_imports_of_its_assignment():
    """The browser test validates m0_setup in the light environment: every package the
    notebook imports must be in mlops_course.hub.env.LIGHT_PACKAGES."""
    import ast
    import sys
    from importlib import metadata

    import nbformat

    notebook = REPO / "source" / LIGHT_ASSIGNMENT / f"{LIGHT_ASSIGNMENT}.ipynb"
    modules = set()
    for cell in nbformat.read(str(notebook), as_version=4).cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(
                "\n".join(
                    line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
                )
            )
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    distributions = metadata.packages_distributions()
    light = {name.lower().replace("_", "-") for name in LIGHT_PACKAGES}
    uncovered = {}
    for module in sorted(modules - set(sys.stdlib_module_names) - {"mlops_course"}):
        dists = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not dists & light:
            uncovered[module] = sorted(dists)
    assert not uncovered, (
        f"{notebook.name} imports {uncovered}: add the package to "
        "LIGHT_PACKAGES in mlops_course/hub/env.py (the hub's browser test runs it)"
    )


# ---------------------------------------------------------------- settings


def test_settings_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MLOPS_HUB_PREFIX", str(tmp_path))
    monkeypatch.setenv("MLOPS_HUB_STATE", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("MLOPS_HUB_API_PORT", "18081")
    monkeypatch.delenv("MLOPS_HUB_PROXY_PREFIX", raising=False)
    settings = HubSettings()
    assert settings.venv == tmp_path / "venv" and settings.hub_port == 18081
    assert settings.state_dir == tmp_path / "elsewhere" and settings.proxy_prefix == tmp_path / "proxy"
    assert HubSettings(prefix=tmp_path / "p", state_dir=tmp_path / "s").state_dir == tmp_path / "s"
    with pytest.raises(KeyError):
        env("MLOPS_HUB_UNDECLARED")


def test_every_variable_is_declared_and_documented():
    """Each MLOPS_HUB_* name the package or the hub's files read is in ENVIRONMENT, and
    docs/jupyterhub.md's table lists every declared one."""
    declared = {variable.name for variable in ENVIRONMENT}
    sources = [*(REPO / "mlops_course" / "hub").glob("*.py"), REPO / "hub" / "jupyterhub_config.py"]
    used = {name for path in sources for name in re.findall(r"MLOPS_HUB_[A-Z_]+", path.read_text())}
    assert used and used <= declared, f"undeclared: {sorted(used - declared)}"
    table = (REPO / "docs" / "jupyterhub.md").read_text()
    assert not [name for name in declared if f"`{name}`" not in table]


# ---------------------------------------------------------------- the course folder


def _course_copy(folder: Path) -> Course:
    """A course folder holding what builds the package (this checkout's files)."""
    folder.mkdir()
    for name in ("pyproject.toml", "README.md", "nbgrader_config.py"):
        shutil.copy(REPO / name, folder / name)
    (folder / "mlops_course").mkdir()
    (folder / "mlops_course" / "__init__.py").write_text("")
    (folder / "source").mkdir()
    (folder / "hub").mkdir()
    shutil.copy(REPO / "hub" / "Dockerfile.singleuser", folder / "hub")
    return Course(folder)


def test_image_context_comes_from_the_course_folder(tmp_path):
    course = _course_copy(tmp_path / "course")
    context = image_context(tmp_path / "context", course)
    assert (context / "Dockerfile").read_text() == (REPO / "hub" / "Dockerfile.singleuser").read_text()
    assert (context / "requirements-light.txt").read_text().split() == pinned_requirements("light")
    assert (context / "mlops_course" / "__init__.py").is_file() and (context / "pyproject.toml").is_file()
    from mlops_course.labs.cicd.node_packages import specs

    assert (context / "npm-packages.txt").read_text().split() == specs()


def test_a_course_folder_with_other_pins_is_refused(tmp_path):
    course = _course_copy(tmp_path / "course")
    pyproject = course.root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"jupyterhub==', '"jupyterhub>='))
    with pytest.raises(HubSetupError, match="pins other versions"):
        image_context(tmp_path / "context", course)
    (course.root / "README.md").unlink()
    with pytest.raises(HubSetupError, match="has no README.md"):
        image_context(tmp_path / "context2", course)


def _hub_command(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    environment.pop("MLOPS_COURSE_ROOT", None)
    return subprocess.run(
        [sys.executable, "-m", "mlops_course.hub", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_command_prints_pins_and_names_a_missing_course(tmp_path):
    printed = _hub_command("requirements", "--profile", "light", cwd=tmp_path)
    assert printed.returncode == 0 and printed.stdout.split() == pinned_requirements("light")
    failed = _hub_command("--course", str(tmp_path), "build-image", cwd=tmp_path)
    assert failed.returncode == 2, failed.stderr
    assert failed.stderr.startswith("python -m mlops_course.hub: no course found in")
    assert "Traceback" not in failed.stderr
