"""hub/jupyterhub_config.py loads, listens on loopback only and gives each role its
nbgrader extensions (no root, no browser: the fast half of the hub's tests)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config.loader import PyFileConfigLoader

from mlops_course import hub

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(monkeypatch, tmp_path):
    monkeypatch.setenv("MLOPS_HUB_PREFIX", str(tmp_path / "prefix"))
    monkeypatch.setenv("MLOPS_HUB_PORT", "18000")
    monkeypatch.setenv("MLOPS_HUB_SERVICE_TOKEN", "t0ken")
    monkeypatch.delenv("MLOPS_HUB_AUTHENTICATOR", raising=False)
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
    assert config.JupyterHub.services[0]["name"] == "course-admin"


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


def test_role_config_folders(tmp_path):
    settings = hub.HubSettings(
        prefix=tmp_path, exchange=tmp_path / "exchange", course_dir=tmp_path / "course"
    )
    hub.write_role_configs(settings)
    student = json.loads((settings.role_config_dir("student") / "labconfig" / "page_config.json").read_text())
    instructor = json.loads(
        (settings.role_config_dir("instructor") / "labconfig" / "page_config.json").read_text()
    )
    assert all(student["disabledExtensions"][p] for p in hub.INSTRUCTOR_LAB_PLUGINS)
    assert not any(instructor["disabledExtensions"].values())
    nbgrader = (settings.role_config_dir("instructor") / "nbgrader_config.py").read_text()
    assert f"c.CourseDirectory.root = {str(tmp_path / 'course')!r}" in nbgrader
    assert "course_id = 'mlops-course'" in nbgrader
    assert (
        "CourseDirectory.root" not in (settings.role_config_dir("student") / "nbgrader_config.py").read_text()
    )


def test_light_profile_is_a_subset_of_the_pins():
    full, light = hub.pinned_requirements("full"), hub.pinned_requirements("light")
    assert set(light) <= set(full) and len(light) == len(hub.LIGHT_PACKAGES)
    assert any(line.startswith("jupyterhub==") for line in light)


def test_light_profile_covers_the_imports_of_its_assignment():
    """The browser test validates m0_setup in the light environment: every package the
    notebook imports must be in mlops_course.hub.LIGHT_PACKAGES."""
    import ast
    import sys
    from importlib import metadata

    import nbformat

    notebook = REPO / "source" / hub.LIGHT_ASSIGNMENT / f"{hub.LIGHT_ASSIGNMENT}.ipynb"
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
    light = {name.lower().replace("_", "-") for name in hub.LIGHT_PACKAGES}
    uncovered = {}
    for module in sorted(modules - set(sys.stdlib_module_names) - {"mlops_course"}):
        dists = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not dists & light:
            uncovered[module] = sorted(dists)
    assert not uncovered, (
        f"{notebook.name} imports {uncovered}: add the package to "
        "LIGHT_PACKAGES in mlops_course/hub.py (the hub's browser test runs it)"
    )
