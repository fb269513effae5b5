"""One model's path across the modules, walked with the model answers (issue 15, item 2).

m3's registered model, as the checkpoint the next modules ship -> m1's image (the
optimised Dockerfile of m1's model answer) built with that model -> pushed to a local
registry for the release tag of m2's pipeline -> m4's manifests name exactly that image,
and their Job's command runs once in it (``docker run`` on a small input) -> the
container, configured as m4's ConfigMap says, answers ``/health`` with the version and
``/metrics`` -> Prometheus scrapes it -> an alert rule evaluates (inactive while the
service is up, firing when it is gone). The fast tests keep the copies on the path equal:
the checkpoints, m2's service and m1's app, m2's Dockerfile and m1's model answer."""

from __future__ import annotations

import filecmp
import json
import shutil
import subprocess
import urllib.request

import nbformat
import pytest
from helpers import REPO, require_parts

from mlops_course.infra import model_path
from mlops_course.infra.resources import resource_labels
from mlops_course.labs.docker.containers import build_image, dockerfile_instructions, host_port, wait_http
from mlops_course.labs.k8s import checks as kc

SOURCE = REPO / "source"
M1_APP = SOURCE / "m1_docker" / "app"
M2_SERVICE = SOURCE / "m2_cicd" / "model_api"
SERVICE_FILES = ("app.py", "batch_score.py", "smoke.py", "requirements.txt")
MANIFESTS = ("configmap", "deployment", "service", "job", "cronjob")

RULES = """
groups:
  - name: model-path
    rules:
      - alert: ModelApiDown
        expr: up{job="model-api"} == 0
        labels:
          severity: page
        annotations:
          summary: Prometheus cannot scrape the model API
"""


def answer_cells(assignment: str, *grade_ids: str) -> dict:
    """The names the model answers of these grade ids define (executed in order)."""
    cells = {
        cell.metadata.get("nbgrader", {}).get("grade_id"): cell.source
        for cell in nbformat.read(str(SOURCE / assignment / f"{assignment}.ipynb"), as_version=4).cells
    }
    namespace: dict = {}
    for grade_id in grade_ids:
        exec(cells[grade_id], namespace)
    return namespace


def m4_manifests() -> dict[str, dict]:
    answers = answer_cells("m4_kubernetes", *MANIFESTS)
    return {name: kc.load_one(answers[f"{name}_yaml"]) for name in MANIFESTS}


# -- the copies along the path ------------------------------------------------------------


def test_every_module_ships_the_same_checkpoint_of_m3s_model():
    folders = [SOURCE / assignment / where for assignment, where in model_path.MODEL_CHECKPOINTS.items()]
    checkpoints = [model_path.load(folder) for folder in folders]
    first = checkpoints[0]
    assert first.card.get("registered_model") and first.card.get("metrics"), first.card
    for folder in folders[1:]:
        for name in (model_path.MODEL_FILE, model_path.CARD_FILE):
            assert filecmp.cmp(folders[0] / name, folder / name, shallow=False), f"{folder / name} differs"
    image_card = model_path.read_image_card(SOURCE / model_path.IMAGE_CHECKPOINT)
    assert image_card["model"] == {"name": first.name, "version": first.version}
    assert image_card["image"] == model_path.service_image()
    assert image_card["commands"] == model_path.SERVICE_COMMANDS


def test_m2s_service_is_m1s_app_built_by_m1s_model_answer():
    for name in SERVICE_FILES:
        assert filecmp.cmp(M1_APP / name, M2_SERVICE / name, shallow=False), f"m2's {name} is not m1's"
    answers = answer_cells("m1_docker", "dockerfile_optimised")
    assert dockerfile_instructions((M2_SERVICE / "Dockerfile").read_text()) == dockerfile_instructions(
        answers["DOCKERFILE_OPTIMISED"]
    ), "m2's Dockerfile must be m1's optimised Dockerfile, instruction for instruction"


def test_m4s_manifests_deploy_what_m2_pushes():
    docs = m4_manifests()
    image_card = model_path.read_image_card(SOURCE / model_path.IMAGE_CHECKPOINT)
    assert docs["configmap"]["data"]["MODEL_VERSION"] == image_card["model"]["version"]
    for name in ("deployment", "job", "cronjob"):
        assert [c["image"] for c in kc.containers(docs[name])] == [model_path.service_image()], name
    for name in ("job", "cronjob"):
        assert kc.containers(docs[name])[0]["command"] == model_path.SERVICE_COMMANDS["batch"], name


# -- the walk ---------------------------------------------------------------------------


def docker_run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
@pytest.mark.docker
def test_the_model_walks_from_m3s_registry_to_an_alert(tmp_path):
    require_parts(["docker", "docker-registry", "prometheus"])
    import docker
    from sklearn.datasets import load_digits

    from mlops_course.infra.base_image import ensure_base_image
    from mlops_course.labs.docker.registry import LocalRegistry
    from mlops_course.labs.monitoring import prometheus as pl

    client = docker.from_env(timeout=300)
    model = model_path.load(M1_APP / "model")  # m3's registered model, as m1 ships it
    answers = answer_cells("m1_docker", "dockerfile_optimised")
    docs = m4_manifests()
    config = docs["configmap"]["data"]
    context = tmp_path / "context"
    shutil.copytree(M1_APP, context, ignore=shutil.ignore_patterns("__pycache__"))
    (context / "Dockerfile").write_text(answers["DOCKERFILE_OPTIMISED"])
    (context / ".dockerignore").write_text(answers["DOCKERIGNORE"])
    labels = resource_labels(test="model-path")

    with LocalRegistry().start(timeout=30) as registry:
        # m2's build-and-push job: the image of m1, the model version as a build argument
        pushed = model_path.service_image(registry.address)
        built = build_image(
            client,
            context,
            pushed,
            base_image=ensure_base_image(client, log=lambda _: None),
            buildargs={"MODEL_VERSION": model.version},
            labels=labels,
        )
        assert built.ok, built.error
        containers, networks = [], []
        try:
            push = docker_run("push", pushed)
            assert push.returncode == 0, push.stderr
            assert model_path.RELEASE_TAG in registry.tags(model_path.SERVICE_REPOSITORY)
            # m4 deploys exactly that image from the course registry: the same repository and tag
            deployed = kc.containers(docs["deployment"])[0]["image"]
            assert (
                deployed == model_path.service_image()
                and deployed.split("/", 1)[1] == pushed.split("/", 1)[1]
            )
            client.images.remove(pushed, force=True)  # what runs next comes from the registry
            pull = docker_run("pull", pushed)
            assert pull.returncode == 0, pull.stderr

            # m4's Job: its command, in the image, on a small input at /data
            data = tmp_path / "data"
            data.mkdir()
            data.chmod(0o777)  # the image's user (10001) writes the scores
            rows = load_digits().data[:25]
            (data / "input.jsonl").write_text("".join(json.dumps(row.tolist()) + "\n" for row in rows))
            job = kc.containers(docs["job"])[0]
            env = [arg for key, value in config.items() for arg in ("-e", f"{key}={value}")]
            run = docker_run(
                "run", "--rm", "--network", "none", "-v", f"{data}:/data", *env, pushed, *job["command"]
            )
            assert run.returncode == 0, run.stdout + run.stderr
            scores = [json.loads(line) for line in (data / "scores.jsonl").read_text().splitlines()]
            assert [s["prediction"] for s in scores] == model.predict(rows).tolist()
            assert {(s["model"], s["version"]) for s in scores} == {(model.name, model.version)}

            # m4's Deployment: the container, configured by the ConfigMap, serves that version.
            # A user-defined bridge, as in m1: CI's engine runs without the default bridge,
            # where a published port would silently stay unpublished.
            network = client.networks.create(
                f"model-path-{tmp_path.name}"[:60], driver="bridge", labels=labels
            )
            networks.append(network)
            api = client.containers.run(
                pushed,
                detach=True,
                network=network.name,
                environment=config,
                ports={"8000/tcp": ("127.0.0.1", None)},
                labels=labels,
            )
            containers.append(api)
            target = f"127.0.0.1:{host_port(api)}"
            health = wait_http(f"http://{target}/health", timeout=60, container=api)
            assert (health["status"], health["model"], health["version"]) == ("ok", model.name, model.version)
            assert health["user"] != 0, "the image runs as a user, not root"
            with urllib.request.urlopen(f"http://{target}/metrics", timeout=10) as response:
                metrics = response.read().decode()
            assert f'served_model_info{{name="{model.name}",version="{model.version}"}} 1.0' in metrics

            # m7: Prometheus scrapes the service; the alert rule evaluates on what it scraped
            checked = pl.check_rules(RULES)
            assert checked, checked.output
            config_yaml = pl.scrape_config(target) + "rule_files: [rules/path.yml]\n"
            with pl.PrometheusServer(config_yaml, {"rules/path.yml": RULES}) as prometheus:
                prometheus.wait_for_targets(timeout=30, job="model-api")
                served = prometheus.query(f'served_model_info{{job="model-api",version="{model.version}"}}')
                assert [s["metric"]["name"] for s in served] == [model.name]
                prometheus.wait_for(
                    lambda: any(
                        g["rules"] and g["rules"][0].get("health") == "ok"
                        for g in prometheus.api("rules")["groups"]
                    ),
                    timeout=20,
                    what="the alert rule to be evaluated",
                )
                assert prometheus.alert_state("ModelApiDown") is None, "the service is up: no alert"
                api.stop(timeout=5)
                prometheus.wait_for_alert("ModelApiDown", "firing", timeout=30)
        finally:
            for container in containers:
                container.remove(force=True)
            for network in networks:
                network.remove()
            if client.images.list(pushed):
                client.images.remove(pushed, force=True)
