"""The Kubernetes deployment of the course: hub/z2jh-values.yaml (Zero to JupyterHub)
and the manifests beside it (hub/k8s/) are valid and agree with the single-machine hub.

The chart's own values schema is not on PyPI and cannot be fetched here, so the values
are validated against tests/e2e/z2jh_values_schema.yaml, written by hand from the
chart's values schema for the parts the course sets. With a copy of the chart
(`helm pull jupyterhub/jupyterhub --untar`), MLOPS_Z2JH_CHART=<chart folder> also
validates the chart's defaults merged with these values (as `helm install` does)
against the chart's values.schema.json. The manifests are validated strictly against
the Kubernetes 1.35 API (kubernetes-validate, offline)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import kubernetes_validate
import pytest
import yaml

from mlops_course.hub.auth import role_of
from mlops_course.hub.settings import HubSettings
from mlops_course.settings import COURSE_ID

REPO = Path(__file__).resolve().parents[2]
VALUES = REPO / "hub" / "z2jh-values.yaml"
SCHEMA = Path(__file__).with_name("z2jh_values_schema.yaml")
MANIFESTS = sorted((REPO / "hub" / "k8s").glob("*.yaml"))
EXCHANGE = str(HubSettings().exchange)


def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def _merge(base, override):
    """Helm's merge of values: maps merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base.get(key), value) if key in base else value
        return merged
    return override


def test_values_match_the_chart_schema():
    schema = yaml.safe_load(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(values()), key=str)
    assert not errors, "\n".join(f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors)
    chart = os.environ.get("MLOPS_Z2JH_CHART")
    if chart:  # the chart's own schema, on the merged values
        chart_schema = json.loads((Path(chart) / "values.schema.json").read_text())
        merged = _merge(yaml.safe_load((Path(chart) / "values.yaml").read_text()), values())
        jsonschema.validate(merged, chart_schema)


def test_a_typo_is_caught():
    schema = yaml.safe_load(SCHEMA.read_text())
    broken = values()
    broken["singleuser"]["memory"]["limt"] = "4G"
    broken["singleuser"]["storage"]["extraVolumeMounts"][0].pop("mountPath")
    messages = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(broken)]
    assert any("limt" in m for m in messages) and any("mountPath" in m for m in messages)


def test_exchange_is_shared_storage_mounted_where_nbgrader_looks():
    v = values()
    storage = v["singleuser"]["storage"]
    mounts = {m["name"]: m["mountPath"] for m in storage["extraVolumeMounts"]}
    claims = {vol["name"]: vol["persistentVolumeClaim"]["claimName"] for vol in storage["extraVolumes"]}
    assert mounts["nbgrader-exchange"] == EXCHANGE == v["singleuser"]["extraEnv"]["NBGRADER_EXCHANGE"]
    pvcs = {doc["metadata"]["name"]: doc for doc in _documents() if doc["kind"] == "PersistentVolumeClaim"}
    assert pvcs[claims["nbgrader-exchange"]]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_resources_and_image():
    s = values()["singleuser"]
    assert s["image"]["name"].endswith("mlops-course/singleuser") and s["image"]["tag"]
    assert s["cpu"]["limit"] >= s["cpu"]["guarantee"] > 0
    assert s["memory"]["limit"] and s["memory"]["guarantee"]
    assert s["uid"] == 1000  # the image's jovyan (hub/Dockerfile.singleuser)


def test_formgrader_service_and_roles_fit_together():
    v = values()["hub"]
    service = COURSE_ID
    assert service in v["services"]
    deployment = next(d for d in _documents() if d["kind"] == "Deployment")
    k8s_service = next(d for d in _documents() if d["kind"] == "Service")
    assert v["services"][service]["url"] == f"http://{k8s_service['metadata']['name']}:8888"
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["JUPYTERHUB_SERVICE_NAME"] == service
    assert env["JUPYTERHUB_SERVICE_PREFIX"] == f"/services/{service}/"
    assert env["JUPYTER_CONFIG_PATH"] == str(
        HubSettings(prefix=Path("/opt/mlops-course")).role_config_dir("instructor")
    )
    roles = v["loadRoles"]
    assert f"access:services!service={service}" in roles[f"formgrade-{service}"]["scopes"]
    assert roles[f"formgrade-{service}"]["groups"] == [f"formgrade-{service}"]
    mounts = {m["mountPath"] for m in deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    assert EXCHANGE in mounts and str(HubSettings().course_dir) in mounts


def _run_extra_config() -> SimpleNamespace:
    c = SimpleNamespace(Authenticator=SimpleNamespace(), KubeSpawner=SimpleNamespace())
    for name, code in sorted(values()["hub"]["extraConfig"].items()):
        exec(compile(code, name, "exec"), {"c": c})
    return c


def test_extra_config_maps_groups_and_roles():
    import asyncio

    c = _run_extra_config()
    model = asyncio.run(
        c.Authenticator.post_auth_hook(None, None, {"name": "ada", "groups": ["instructors"]})
    )
    assert "formgrade-mlops-course" in model["groups"]
    model = asyncio.run(c.Authenticator.post_auth_hook(None, None, {"name": "ben", "groups": ["students"]}))
    assert model["groups"] == ["nbgrader-mlops-course", "students"]
    for groups, role in ((["instructors"], "instructor"), (["students"], "student")):
        spawner = SimpleNamespace(
            environment={}, user=SimpleNamespace(groups=[SimpleNamespace(name=g) for g in groups])
        )
        c.KubeSpawner.pre_spawn_hook(spawner)
        assert spawner.environment["JUPYTER_CONFIG_PATH"] == f"/opt/mlops-course/etc/jupyter-{role}"
        assert role_of(groups) == role  # the same rule as the single-machine hub


def _documents() -> list[dict]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifests_are_valid_kubernetes(path):
    for doc in yaml.safe_load_all(path.read_text()):
        if doc:
            kubernetes_validate.validate(doc, "1.35", strict=True)
