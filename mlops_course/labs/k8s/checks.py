"""Kubernetes manifest checks for the course, offline.

Two layers, each returning short messages with a hint (an empty list means "fine"):

* the schema: ``kubernetes-validate`` against a pinned Kubernetes version (strict, so
  a misspelt field is an error, not silently ignored);
* the semantics that a schema cannot see: a selector that matches the pod labels, a
  Service targetPort that a container really listens on, probes on the health path,
  limits >= requests, a CronJob schedule that cron accepts, a ConfigMap that exists.

Only checks of the student's own manifests live here. The selector, rolling-update and
autoscaler exercises of m4 have no reference implementation in the package (students can
import all of it): their hidden tests carry tables of cases written from the Kubernetes
documentation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

K8S_VERSION = "1.35"
"""The Kubernetes version whose schemas the course validates against (offline)."""

Doc = dict[str, Any]


# --------------------------------------------------------------------------- loading


def load_manifests(source: str | Path) -> list[Doc]:
    """The documents of a YAML text or file (``---`` separated), empty ones skipped."""
    text = Path(source).read_text() if isinstance(source, Path) else source
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def load_one(source: str | Path, kind: str | None = None) -> Doc:
    """Exactly one document (optionally of ``kind``); a ValueError with a hint otherwise."""
    docs = load_manifests(source)
    if len(docs) != 1:
        raise ValueError(
            f"expected exactly one YAML document, found {len(docs)}; "
            "hint: one manifest per answer, no stray `---`"
        )
    doc = docs[0]
    if not isinstance(doc, dict):
        raise ValueError("the YAML is not a mapping; hint: a manifest starts with `apiVersion:`")
    if kind and doc.get("kind") != kind:
        raise ValueError(f"expected kind {kind!r}, found {doc.get('kind')!r}")
    return doc


def name_of(doc: Doc) -> str:
    return f"{doc.get('kind', '?')}/{(doc.get('metadata') or {}).get('name', '?')}"


# --------------------------------------------------------------------------- schema


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def schema_errors(doc: Doc, version: str = K8S_VERSION) -> list[str]:
    """Schema problems of one manifest against Kubernetes ``version`` (strict)."""
    import kubernetes_validate

    if not isinstance(doc, dict):
        return ["the manifest is not a mapping; hint: it starts with `apiVersion:` and `kind:`"]
    for key in ("apiVersion", "kind"):
        if key not in doc:
            return [f"{key} is missing; hint: e.g. `apiVersion: apps/v1` and `kind: Deployment`"]
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        fields = ".".join(str(part) for part in exc.path if not isinstance(part, int))
        explain = ".".join(filter(None, [str(doc.get("kind", "")).lower(), fields]))
        return [
            f"{name_of(doc)}: {_path(exc.path)}: {exc.message} "
            f"(Kubernetes {version} schema; hint: compare with `kubectl explain {explain}`)"
        ]
    except kubernetes_validate.SchemaNotFoundError:
        return [
            f"{name_of(doc)}: no schema for apiVersion {doc.get('apiVersion')!r} kind "
            f"{doc.get('kind')!r} in Kubernetes {version}; hint: Deployment is apps/v1, "
            "Service and ConfigMap v1, Job and CronJob batch/v1"
        ]
    except Exception as exc:  # kubernetes-validate raises plain errors on odd input
        return [f"{name_of(doc)}: cannot be validated ({type(exc).__name__}: {exc})"]
    return []


# --------------------------------------------------------------------------- helpers


def pod_template(doc: Doc) -> Doc:
    """The pod template of a Deployment/Job/CronJob (``{}`` when there is none)."""
    spec = doc.get("spec") or {}
    if doc.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    return spec.get("template") or {}


def containers(doc: Doc) -> list[Doc]:
    return ((pod_template(doc).get("spec") or {}).get("containers")) or []


_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")
_SUFFIX = {
    "": 1,
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def parse_quantity(value: str | int | float) -> Fraction:
    """A Kubernetes quantity (``"250m"``, ``"128Mi"``, ``"1.5"``, ``2``) as a number."""
    if isinstance(value, (int, float)):
        return Fraction(value)
    match = _QUANTITY.match(str(value).strip())
    if not match or match.group(2) not in _SUFFIX:
        raise ValueError(
            f"not a Kubernetes quantity: {value!r}; hint: CPU like `250m` or `1`, "
            "memory like `128Mi` or `1Gi`"
        )
    return Fraction(match.group(1)) * _SUFFIX[match.group(2)]


def _port_numbers(container: Doc) -> dict[Any, int]:
    """containerPort by number and by name."""
    out: dict[Any, int] = {}
    for port in container.get("ports") or []:
        if "containerPort" in port:
            out[port["containerPort"]] = port["containerPort"]
            if port.get("name"):
                out[port["name"]] = port["containerPort"]
    return out


# --------------------------------------------------------------------------- semantics


def _unmatched(pairs: dict[str, str], labels: dict[str, str]) -> dict[str, str]:
    """The label pairs of a manifest's selector that ``labels`` lacks (equality only)."""
    return {key: value for key, value in pairs.items() if labels.get(key) != value}


def selector_problems(deployment: Doc) -> list[str]:
    """The Deployment's selector must select its own pod template."""
    selector = (deployment.get("spec") or {}).get("selector")
    labels = (pod_template(deployment).get("metadata") or {}).get("labels") or {}
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return [
            f"{name_of(deployment)}: spec.selector is empty; hint: use "
            "`selector: {matchLabels: {app: ...}}` with the pod template's labels"
        ]
    if selector.get("matchExpressions"):
        return [
            f"{name_of(deployment)}: spec.selector uses matchExpressions, which these checks do "
            "not evaluate; hint: a Deployment selects its own pods with `matchLabels` holding "
            "labels of spec.template.metadata.labels"
        ]
    if _unmatched(selector.get("matchLabels") or {}, labels):
        return [
            f"{name_of(deployment)}: spec.selector {selector} does not match the pod template "
            f"labels {labels}; hint: every matchLabels pair must appear in "
            "spec.template.metadata.labels (the API server rejects such a Deployment)"
        ]
    return []


def service_selector_problems(service: Doc, workload: Doc) -> list[str]:
    """The Service must select the pods of ``workload`` (a Deployment)."""
    selector = (service.get("spec") or {}).get("selector") or {}
    labels = (pod_template(workload).get("metadata") or {}).get("labels") or {}
    if not selector:
        return [
            f"{name_of(service)}: spec.selector is empty, so no endpoints are managed; "
            f"hint: copy the pod labels {labels}"
        ]
    missing = _unmatched(selector, labels)
    if missing:
        return [
            f"{name_of(service)}: selector {selector} matches none of the pods of "
            f"{name_of(workload)} (labels {labels}; not matching: {missing}); hint: a "
            "Service selector is equality-based on the pod template labels"
        ]
    return []


def service_port_problems(service: Doc, workload: Doc) -> list[str]:
    """Every Service port must target a port a container of ``workload`` listens on."""
    known: dict[Any, int] = {}
    for container in containers(workload):
        known.update(_port_numbers(container))
    problems = []
    ports = (service.get("spec") or {}).get("ports") or []
    if not ports:
        return [f"{name_of(service)}: spec.ports is empty; hint: add `- port: 80` with a targetPort"]
    for port in ports:
        target = port.get("targetPort", port.get("port"))
        if target not in known:
            problems.append(
                f"{name_of(service)}: port {port.get('port')} targets {target!r}, but the containers "
                f"of {name_of(workload)} listen on {sorted({v for v in known.values()})}; hint: "
                "targetPort must equal a containerPort (or a named container port)"
            )
    return problems


def probe_problems(workload: Doc, path: str = "/health") -> list[str]:
    """Liveness and readiness probes: HTTP GET on ``path`` at a port the container opens."""
    problems = []
    found = containers(workload)
    if not found:
        return [f"{name_of(workload)}: no containers in the pod template"]
    for container in found:
        ports = _port_numbers(container)
        for kind in ("livenessProbe", "readinessProbe"):
            probe = container.get(kind)
            where = f"{name_of(workload)} container {container.get('name')!r} {kind}"
            if not probe:
                problems.append(f"{where} is missing; hint: add an httpGet probe on {path}")
                continue
            get = probe.get("httpGet")
            if not get:
                problems.append(
                    f"{where} is not an httpGet probe; hint: `httpGet: {{path: {path}, port: ...}}`"
                )
                continue
            if get.get("path") != path:
                problems.append(
                    f"{where} checks {get.get('path')!r}, but the API answers health "
                    f"checks on {path!r}; hint: a probe on a wrong path fails forever "
                    "(liveness: restart loop; readiness: never in the Service)"
                )
            if get.get("port") not in ports:
                problems.append(
                    f"{where} probes port {get.get('port')!r}, not a containerPort "
                    f"({sorted(set(ports.values()))}); hint: use the port the API listens on"
                )
    return problems


def resource_problems(workload: Doc, need: tuple[str, ...] = ("cpu", "memory")) -> list[str]:
    """Requests and limits for cpu and memory on every container, with limits >= requests."""
    problems = []
    for container in containers(workload):
        where = f"{name_of(workload)} container {container.get('name')!r}"
        res = container.get("resources") or {}
        requests, limits = res.get("requests") or {}, res.get("limits") or {}
        for resource in need:
            if resource not in requests:
                problems.append(
                    f"{where}: no requests.{resource}; hint: the scheduler places pods by requests"
                )
            if resource not in limits:
                problems.append(f"{where}: no limits.{resource}; hint: limits cap what the container may use")
        for resource in set(requests) & set(limits):
            try:
                low, high = parse_quantity(requests[resource]), parse_quantity(limits[resource])
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
                continue
            if high < low:
                problems.append(
                    f"{where}: limits.{resource} {limits[resource]!r} is below "
                    f"requests.{resource} {requests[resource]!r}; hint: limits >= requests "
                    "(the API server rejects it otherwise)"
                )
    return problems


def configmap_ref_problems(workload: Doc, configmap: Doc) -> list[str]:
    """The workload takes environment variables from ``configmap`` (envFrom or valueFrom)."""
    name = (configmap.get("metadata") or {}).get("name")
    keys = set((configmap.get("data") or {}).keys())
    for container in containers(workload):
        for source in container.get("envFrom") or []:
            if (source.get("configMapRef") or {}).get("name") == name:
                return []
        for env in container.get("env") or []:
            ref = ((env.get("valueFrom") or {}).get("configMapKeyRef")) or {}
            if ref.get("name") == name:
                if ref.get("key") not in keys:
                    return [
                        f"{name_of(workload)}: env {env.get('name')} reads key {ref.get('key')!r}, "
                        f"which ConfigMap {name} does not have ({sorted(keys)})"
                    ]
                return []
    return [
        f"{name_of(workload)} takes no environment from ConfigMap {name!r}; hint: "
        f"`envFrom: [{{configMapRef: {{name: {name}}}}}]` in the container"
    ]


# --------------------------------------------------------------------------- cron

_CRON_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_CRON_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    (
        "month",
        1,
        12,
        {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())},
    ),
    ("day of week", 0, 7, {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}),
)


def _cron_value(text: str, low: int, high: int, names: dict[str, int], field: str) -> int:
    value = names.get(text.lower()) if not text.isdigit() else int(text)
    if value is None or not low <= value <= high:
        raise ValueError(f"{text!r} is not a valid {field} ({low}-{high})")
    return value


def cron_fields(schedule: str) -> list[set[int]]:
    """The sets of minutes, hours, days of month, months and weekdays a schedule fires on.

    The five-field syntax Kubernetes CronJobs accept (``*``, ``a-b``, lists, ``/step``,
    month and weekday names, ``?``, and the ``@hourly``-style macros). Raises
    ValueError with the reason on an invalid schedule."""
    if not isinstance(schedule, str):
        raise ValueError(
            f"the schedule must be a string, not {type(schedule).__name__}; hint: quote it in YAML"
        )
    text = _CRON_MACROS.get(schedule.strip().lower(), schedule.strip())
    if text.startswith("@"):
        raise ValueError(f"unknown macro {schedule!r}; use one of {sorted(_CRON_MACROS)}")
    parts = text.split()
    if len(parts) != 5:
        raise ValueError(
            f"{schedule!r} has {len(parts)} fields, cron needs 5: minute hour day-of-month month day-of-week"
        )
    result = []
    for part, (field, low, high, names) in zip(parts, _CRON_FIELDS):
        values: set[int] = set()
        for item in part.split(","):
            rng, _, step_text = item.partition("/")
            if step_text and (not step_text.isdigit() or int(step_text) == 0):
                raise ValueError(f"bad step {step_text!r} in the {field} field {part!r}")
            step = int(step_text) if step_text else 1
            if rng in ("*", "?"):
                start, end = low, high
            elif "-" in rng:
                a, _, b = rng.partition("-")
                start, end = _cron_value(a, low, high, names, field), _cron_value(b, low, high, names, field)
                if start > end:
                    raise ValueError(f"range {rng!r} runs backwards in the {field} field")
            else:
                start = _cron_value(rng, low, high, names, field)
                end = high if step_text else start
            values.update(range(start, end + 1, step))
        if field == "day of week" and 7 in values:
            values = (values - {7}) | {0}
        result.append(values)
    return result


def cron_problems(schedule: Any) -> list[str]:
    """Why a CronJob schedule is invalid (empty list when it is fine)."""
    try:
        cron_fields(schedule)
    except ValueError as exc:
        return [f"schedule {schedule!r} is invalid: {exc}; hint: `30 2 * * *` is 02:30 every day"]
    return []
