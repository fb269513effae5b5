"""m4_kubernetes: the manifest checks, the cluster step, and typical mistakes losing the
right points (also those that only the hidden tables of cases catch)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from mlops_course.infra import model_path
from mlops_course.labs.k8s import checks as kc
from mlops_course.labs.k8s import cluster as k8s_cluster

ASSIGNMENT = "m4_kubernetes"
SOURCE = Path(__file__).resolve().parents[2] / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "model-api"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "model-api"}},
        "template": {
            "metadata": {"labels": {"app": "model-api", "tier": "serving"}},
            "spec": {
                "containers": [
                    {
                        "name": "api",
                        "image": "img:1.0",
                        "ports": [{"name": "http", "containerPort": 8000}],
                        "envFrom": [{"configMapRef": {"name": "cfg"}}],
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "128Mi"},
                            "limits": {"cpu": "500m", "memory": "256Mi"},
                        },
                        "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}},
                        "livenessProbe": {"httpGet": {"path": "/health", "port": 8000}},
                    }
                ]
            },
        },
    },
}
SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "model-api"},
    "spec": {"selector": {"app": "model-api"}, "ports": [{"port": 80, "targetPort": 8000}]},
}


def changed(doc, path, value):
    """A deep copy of ``doc`` with the item at ``path`` (a list of keys) set to ``value``."""
    import copy

    doc = copy.deepcopy(doc)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


# ------------------------------------------------------------------ schema


def test_valid_manifests_pass_the_schema_and_all_semantic_checks():
    assert kc.schema_errors(DEPLOYMENT) == []
    assert kc.schema_errors(SERVICE) == []
    assert kc.selector_problems(DEPLOYMENT) == []
    assert kc.service_selector_problems(SERVICE, DEPLOYMENT) == []
    assert kc.service_port_problems(SERVICE, DEPLOYMENT) == []
    assert kc.probe_problems(DEPLOYMENT) == []
    assert kc.resource_problems(DEPLOYMENT) == []
    assert kc.configmap_ref_problems(DEPLOYMENT, {"metadata": {"name": "cfg"}}) == []


def test_schema_is_strict_and_names_the_field():
    typo = changed(DEPLOYMENT, ["spec", "template", "spec", "containers", 0, "readinesProbe"], {})
    errors = kc.schema_errors(typo)
    assert len(errors) == 1 and "readinesProbe" in errors[0] and "containers[0]" in errors[0]
    wrong_type = changed(DEPLOYMENT, ["spec", "replicas"], "3")
    assert "spec.replicas" in kc.schema_errors(wrong_type)[0]
    assert "not of type" in kc.schema_errors(changed(SERVICE, ["spec", "ports", 0, "port"], "80"))[0]


def test_schema_reports_unknown_kinds_and_missing_keys_with_a_hint():
    assert (
        "apps/v1"
        in kc.schema_errors({"apiVersion": "v1", "kind": "Deployment", "metadata": {"name": "x"}})[0]
    )
    assert "kind is missing" in kc.schema_errors({"apiVersion": "v1"})[0]
    assert kc.schema_errors(["not", "a", "mapping"])


def test_configmap_values_must_be_strings():
    cm = kc.load_one("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  MODEL_VERSION: 1.0\n")
    assert kc.schema_errors(cm), "YAML reads 1.0 as a float; the schema wants a string"


def test_load_one_rejects_several_documents_and_wrong_kinds():
    with pytest.raises(ValueError, match="exactly one"):
        kc.load_one("a: 1\n---\nb: 2\n")
    with pytest.raises(ValueError, match="expected kind"):
        kc.load_one("apiVersion: v1\nkind: Service\n", "Deployment")
    with pytest.raises(ValueError, match="not a mapping"):
        kc.load_one("# YOUR CODE HERE\nraise NotImplementedError()")


# ------------------------------------------------------------------ semantics


def test_selector_that_does_not_match_the_template_is_reported():
    bad = changed(DEPLOYMENT, ["spec", "selector"], {"matchLabels": {"app": "model-api-v2"}})
    assert "does not match" in kc.selector_problems(bad)[0]
    assert "empty" in kc.selector_problems(changed(DEPLOYMENT, ["spec", "selector"], {}))[0]
    subset = changed(DEPLOYMENT, ["spec", "selector"], {"matchLabels": {"tier": "serving"}})
    assert kc.selector_problems(subset) == [], "a subset of the template's labels selects it"


def test_selector_with_match_expressions_asks_for_match_labels():
    """The checks do not evaluate set-based selectors: that is exercise 5's answer."""
    expressions = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["model-api"]}]}
    problems = kc.selector_problems(changed(DEPLOYMENT, ["spec", "selector"], expressions))
    assert len(problems) == 1 and "matchExpressions" in problems[0] and "`matchLabels`" in problems[0]
    both = changed(DEPLOYMENT, ["spec", "selector", "matchExpressions"], expressions["matchExpressions"])
    assert "matchExpressions" in kc.selector_problems(both)[0]


def test_no_selector_rollout_or_autoscaler_reference_ships():
    """m4's exercises 5-7 are answered by the student; the package holds no answer."""
    for name in ("label_selector_matches", "select_pods", "rollout_bounds", "hpa_desired_replicas"):
        assert not hasattr(kc, name), f"kc.{name} is the answer of an m4 exercise"


def test_service_selector_and_ports():
    nothing = changed(SERVICE, ["spec", "selector"], {"app": "model-api", "track": "canary"})
    problems = kc.service_selector_problems(nothing, DEPLOYMENT)
    assert problems and "'track': 'canary'" in problems[0]
    assert "empty" in kc.service_selector_problems(changed(SERVICE, ["spec", "selector"], {}), DEPLOYMENT)[0]
    assert (
        kc.service_port_problems(changed(SERVICE, ["spec", "ports", 0, "targetPort"], "http"), DEPLOYMENT)
        == []
    )
    mismatch = kc.service_port_problems(
        changed(SERVICE, ["spec", "ports", 0, "targetPort"], 8080), DEPLOYMENT
    )
    assert mismatch and "8080" in mismatch[0] and "[8000]" in mismatch[0]
    no_target = changed(SERVICE, ["spec", "ports"], [{"port": 80}])
    assert kc.service_port_problems(no_target, DEPLOYMENT), (
        "without targetPort the port itself (80) is targeted"
    )


def test_probe_on_a_wrong_path_or_port_or_missing():
    container = ["spec", "template", "spec", "containers", 0]
    wrong_path = changed(
        DEPLOYMENT, container + ["livenessProbe"], {"httpGet": {"path": "/healthz", "port": 8000}}
    )
    assert "'/healthz'" in kc.probe_problems(wrong_path)[0]
    wrong_port = changed(
        DEPLOYMENT, container + ["readinessProbe"], {"httpGet": {"path": "/health", "port": 9000}}
    )
    assert "9000" in kc.probe_problems(wrong_port)[0]
    missing = changed(DEPLOYMENT, container + ["readinessProbe"], None)
    assert "readinessProbe is missing" in kc.probe_problems(missing)[0]
    tcp = changed(DEPLOYMENT, container + ["livenessProbe"], {"tcpSocket": {"port": 8000}})
    assert "not an httpGet" in kc.probe_problems(tcp)[0]


def test_limits_below_requests_and_missing_resources():
    resources = ["spec", "template", "spec", "containers", 0, "resources"]
    low = changed(
        DEPLOYMENT,
        resources,
        {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "500m", "memory": "2Gi"}},
    )
    problems = kc.resource_problems(low)
    assert len(problems) == 1 and "limits.cpu" in problems[0]
    assert len(kc.resource_problems(changed(DEPLOYMENT, resources, {}))) == 4
    assert (
        "not a Kubernetes quantity"
        in kc.resource_problems(
            changed(
                DEPLOYMENT,
                resources,
                {"requests": {"cpu": "lots", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
            )
        )[0]
    )


@pytest.mark.parametrize(
    "text,value",
    [
        ("250m", 0.25),
        ("1", 1),
        ("1.5", 1.5),
        ("128Mi", 128 * 2**20),
        ("1G", 10**9),
        ("2Gi", 2 * 2**30),
        (2, 2),
    ],
)
def test_parse_quantity(text, value):
    assert kc.parse_quantity(text) == pytest.approx(value)


def test_configmap_reference():
    cm = {"metadata": {"name": "other"}, "data": {}}
    assert "takes no environment" in kc.configmap_ref_problems(DEPLOYMENT, cm)[0]
    by_key = changed(DEPLOYMENT, ["spec", "template", "spec", "containers", 0, "envFrom"], None)
    by_key = changed(
        by_key,
        ["spec", "template", "spec", "containers", 0, "env"],
        [{"name": "LOG_LEVEL", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "LOG"}}}],
    )
    assert (
        "does not have"
        in kc.configmap_ref_problems(by_key, {"metadata": {"name": "cfg"}, "data": {"LOG_LEVEL": "x"}})[0]
    )
    assert kc.configmap_ref_problems(by_key, {"metadata": {"name": "cfg"}, "data": {"LOG": "x"}}) == []


# ------------------------------------------------------------------ cron


@pytest.mark.parametrize(
    "schedule",
    [
        "30 2 * * *",
        "*/15 * * * *",
        "0 9-17 * * mon-fri",
        "0 0 1 jan,jul ?",
        "@daily",
        "@hourly",
        "5 4 * * 7",
        "0 0 1-31/2 * *",
        "0 22 * * 1-5",
    ],
)
def test_valid_cron_schedules(schedule):
    assert kc.cron_problems(schedule) == []


@pytest.mark.parametrize(
    "schedule",
    [
        "30 2 * *",
        "61 * * * *",
        "* 24 * * *",
        "0 0 0 * *",
        "0 0 * 13 *",
        "0 0 * * 8",
        "*/0 * * * *",
        "5-1 * * * *",
        "@fortnightly",
        "",
        5,
        "every day",
        "0 0 * * funday",
    ],
)
def test_invalid_cron_schedules(schedule):
    problems = kc.cron_problems(schedule)
    assert problems and "hint" in problems[0]


def test_cron_fields_expand_like_cron():
    assert kc.cron_fields("30 2 * * *")[:2] == [{30}, {2}]
    assert kc.cron_fields("*/20 * * * *")[0] == {0, 20, 40}
    assert kc.cron_fields("0 0 * * 5-7")[4] == {5, 6, 0}
    assert kc.cron_fields("@weekly") == kc.cron_fields("0 0 * * 0")


# ------------------------------------------------------------------ cluster step


def test_cluster_step_skips_without_a_kubeconfig(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.setenv("HOME", str(tmp_path))
    status = k8s_cluster.cluster_status()
    assert not status.available and "skipped" in status.message and "kind create cluster" in status.message
    with pytest.raises(RuntimeError, match="skipped"):
        k8s_cluster.apply_and_wait([DEPLOYMENT])


def test_cluster_step_skips_when_the_configured_cluster_does_not_answer(monkeypatch, tmp_path):
    import socket

    with socket.socket() as sock:  # a loopback port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "kubeconfig"
    config.write_text(f"""
apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:{port}", insecure-skip-tls-verify: true}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
""")
    monkeypatch.setenv("KUBECONFIG", str(config))
    status = k8s_cluster.cluster_status(timeout=2)
    assert not status.available and "no cluster answers" in status.message and str(config) in status.message


def test_namespace_is_a_dns_label(monkeypatch):
    name = k8s_cluster.namespace_name()
    assert name.startswith("mlops-course-") and len(name) <= 63 and name == name.lower()


# ------------------------------------------------------------------ the notebook


def answer_source(grade_id: str) -> str:
    nb = nbformat.read(str(SOURCE), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    raise KeyError(grade_id)


def edit(grade_id: str, old: str, new: str) -> str:
    source = answer_source(grade_id)
    assert old in source, f"{old!r} not in the {grade_id} answer: update this test"
    return source.replace(old, new)


def test_the_solution_manifests_pass_every_check():
    namespace: dict = {}
    for grade_id in ("configmap", "deployment", "service", "job", "cronjob"):
        exec(answer_source(grade_id), namespace)
    docs = {
        name: kc.load_one(namespace[f"{name}_yaml"])
        for name in ("configmap", "deployment", "service", "job", "cronjob")
    }
    for doc in docs.values():
        assert kc.schema_errors(doc) == []
    dep = docs["deployment"]
    assert kc.probe_problems(dep) == [] and kc.resource_problems(dep) == []
    assert kc.service_selector_problems(docs["service"], dep) == []
    assert kc.service_port_problems(docs["service"], dep) == []
    assert kc.configmap_ref_problems(dep, docs["configmap"]) == []
    assert kc.cron_problems(docs["cronjob"]["spec"]["schedule"]) == []
    # the path: the image module 2 pushes, the model version it serves, its batch command
    card = model_path.read_image_card(SOURCE.parent)
    assert card["image"] == model_path.service_image()
    assert docs["configmap"]["data"]["MODEL_VERSION"] == card["model"]["version"]
    for name in ("deployment", "job", "cronjob"):
        assert kc.containers(docs[name])[0]["image"] == card["image"]
    for name in ("job", "cronjob"):
        assert kc.containers(docs[name])[0]["command"] == card["commands"]["batch"]


@pytest.mark.slow
def test_typical_manifest_mistakes_lose_the_right_points(grade_variant):
    """A selector that matches nothing, a probe on a wrong path, an invalid cron schedule."""
    result = grade_variant(
        ASSIGNMENT,
        {
            "service": edit(
                "service", "  selector:\n    app: model-api", "  selector:\n    app: model-api-v2"
            ),
            "deployment": edit("deployment", "path: /health\n", "path: /healthz\n"),
            "cronjob": edit("cronjob", 'schedule: "30 2 * * *"', 'schedule: "30 2 * *"'),
        },
    )
    s, m = result.scores, result.max_scores
    assert s["test_service_selector"] == 0, "a Service selecting no pod must lose the selector points"
    assert s["test_service_ports"] == m["test_service_ports"], "the ports of that Service are still right"
    assert s["test_deployment_probes"] == 0, "a probe on /healthz must lose the probe points"
    assert (
        s["test_deployment_valid"] == m["test_deployment_valid"]
        and s["test_deployment_resources"] == m["test_deployment_resources"]
    )
    assert s["test_cronjob_valid"] == 0, "a 4-field cron schedule must lose the CronJob points"
    for cell in (
        "test_configmap_valid",
        "test_job_valid",
        "test_selector_equality",
        "test_selector_set_based",
        "test_rollout_bounds",
        "test_hpa_replicas",
        "test_q_pod_phase",
    ):
        assert s[cell] == m[cell], f"{cell} should keep its points"


@pytest.mark.slow
def test_port_and_selector_logic_mistakes_lose_the_right_points(grade_variant):
    """targetPort mismatch; NotIn that drops pods without the key; percentages rounded up."""
    wrong_not_in = edit(
        "selector",
        'if op == "NotIn" and present and labels[key] in values:',
        'if op == "NotIn" and (not present or labels[key] in values):',
    )
    result = grade_variant(
        ASSIGNMENT,
        {
            "service": edit("service", "targetPort: http", "targetPort: 8080"),
            "selector": wrong_not_in,
            "rollout": edit(
                "rollout",
                "return math.ceil(exact) if round_up else math.floor(exact)",
                "return math.ceil(exact)",
            ),
            # the status kubectl prints taken for the phase: one of three pods matched wrong
            "q_pod_phase": edit("q_pod_phase", '"job_done": "succeeded"', '"job_done": "completed"'),
            # every selected pod counted, ready or not
            "q_endpoints": edit(
                "q_endpoints", "q_endpoints += selected and up == total", "q_endpoints += selected"
            ),
        },
    )
    s, m = result.scores, result.max_scores
    assert s["test_service_ports"] == 0, (
        "targetPort 8080 while the container listens on 8000 must lose the port points"
    )
    assert s["test_service_selector"] == m["test_service_selector"]
    assert s["test_selector_set_based"] == 0 and s["test_selector_equality"] == m["test_selector_equality"]
    assert s["test_rollout_bounds"] == 0 and s["test_hpa_replicas"] == m["test_hpa_replicas"]
    assert s["test_q_pod_phase"] == m["test_q_pod_phase"] / 2, "2 of 3 pods matched: half the points"
    assert s["test_q_endpoints"] == 0, "pods that are not ready get no traffic"
    assert s["test_q_rollout"] == m["test_q_rollout"] and s["test_q_schedulable"] == m["test_q_schedulable"]


SELECTOR_ANY_EXPRESSION = """
def matches(selector, labels):
    # one satisfied expression is taken as enough: OR instead of AND
    if selector is None:
        return False
    labels = labels or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    expressions = selector.get("matchExpressions") or []

    def holds(req):
        present = req["key"] in labels
        if req["operator"] == "In":
            return present and labels[req["key"]] in req.get("values", [])
        if req["operator"] == "NotIn":
            return not present or labels[req["key"]] not in req.get("values", [])
        if req["operator"] == "Exists":
            return present
        return not present

    return not expressions or any(holds(req) for req in expressions)


def select(selector, pods):
    return [pod["name"] for pod in pods if matches(selector, pod.get("labels") or {})]
"""


@pytest.mark.slow
def test_mistakes_only_the_hidden_tables_catch_lose_the_right_points(grade_variant):
    """Each passes the visible asserts: expressions ORed; both rollout bounds 0 kept as 0;
    the HPA result not clamped to max_replicas; the manifests of before the model's path
    (an image tag no module pushes, a version the image does not serve, a Job command the
    image does not have)."""
    result = grade_variant(
        ASSIGNMENT,
        {
            "configmap": edit("configmap", 'MODEL_VERSION: "1"', 'MODEL_VERSION: "1.0"'),
            "deployment": edit("deployment", "model-api:v1.0.0", "model-api:1.0"),
            "job": edit(
                "job",
                '["python3", "batch_score.py", "/data/input.jsonl", "/data/scores.jsonl"]',
                '["python", "-m", "app.batch_score"]',
            ),
            "selector": SELECTOR_ANY_EXPRESSION,
            "rollout": edit(
                "rollout", "    if surge == 0 and unavailable == 0:\n        unavailable = 1\n", ""
            ),
            "hpa": edit(
                "hpa",
                "return min(max(desired, min_replicas), max_replicas)",
                "return max(desired, min_replicas)",
            ),
        },
    )
    s, m = result.scores, result.max_scores
    assert s["test_selector_set_based"] == 0 and s["test_selector_equality"] == m["test_selector_equality"]
    assert s["test_rollout_bounds"] == 0
    assert s["test_hpa_replicas"] == 0
    lost = {cell for cell, score in s.items() if score < m[cell]} - set(result.manual)
    assert lost == {
        "test_selector_set_based",
        "test_rollout_bounds",
        "test_hpa_replicas",
        "test_configmap_valid",
        "test_deployment_valid",
        "test_job_valid",
    }
