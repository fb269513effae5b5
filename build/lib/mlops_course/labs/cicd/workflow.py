"""What a loaded workflow says: its triggers, jobs, the ``needs`` graph, steps and matrix.

Works on the plain dict :func:`mlops_course.labs.cicd.yaml_schema.load_mapping` returns.
``EVENTS`` are the events the checks replay a workflow against
(:mod:`mlops_course.labs.cicd.simulation`).
"""

from __future__ import annotations

from typing import Any

from mlops_course.labs.cicd.filters import filter_matches

# Events a workflow is replayed against: name -> the `github` context of that event.
EVENTS: dict[str, dict[str, Any]] = {
    "push to main": {
        "event_name": "push",
        "ref": "refs/heads/main",
        "ref_name": "main",
        "ref_type": "branch",
    },
    "push to a feature branch": {
        "event_name": "push",
        "ref": "refs/heads/feature/new-model",
        "ref_name": "feature/new-model",
        "ref_type": "branch",
    },
    "pull request": {
        "event_name": "pull_request",
        "ref": "refs/pull/7/merge",
        "ref_name": "7/merge",
        "ref_type": "branch",
        "base_ref": "main",
        "head_ref": "feature/new-model",
    },
    "version tag": {"event_name": "push", "ref": "refs/tags/v1.2.0", "ref_name": "v1.2.0", "ref_type": "tag"},
}
TAG_EVENT = "version tag"


def triggers(doc: dict) -> dict[str, Any]:
    """``on:`` as {event: config or None} (also for ``on: push`` and ``on: [push, ...]``)."""
    on = doc.get("on", doc.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {str(event): None for event in on}
    if isinstance(on, dict):
        return {str(k): v for k, v in on.items()}
    return {}


def triggered_by(doc: dict, github: dict[str, Any]) -> bool:
    """Does this workflow run for the event described by ``github`` (see EVENTS)?"""
    config = triggers(doc).get(github["event_name"], False)
    if config is False:
        return False
    config = config or {}
    if github["event_name"] == "push":
        is_tag = github["ref_type"] == "tag"
        own, other = ("tags", "branches") if is_tag else ("branches", "tags")
        name = github["ref_name"]
        if own in config:
            return filter_matches(config[own], name)
        if f"{own}-ignore" in config:
            return not filter_matches(config[f"{own}-ignore"], name)
        # Only the other kind of filter given: this kind never triggers.
        return not (other in config or f"{other}-ignore" in config)
    if github["event_name"] in {"pull_request", "pull_request_target"}:
        base = github.get("base_ref", "main")
        if "branches" in config:
            return filter_matches(config["branches"], base)
        if "branches-ignore" in config:
            return not filter_matches(config["branches-ignore"], base)
    return True


def jobs(doc: dict) -> dict[str, dict]:
    """The jobs by id (a job that is not a mapping counts as empty)."""
    value = doc.get("jobs")
    return (
        {str(k): (v if isinstance(v, dict) else {}) for k, v in value.items()}
        if isinstance(value, dict)
        else {}
    )


def needs(job: dict) -> list[str]:
    """The jobs this job waits for directly."""
    value = job.get("needs") or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def ancestors(doc: dict, job_id: str) -> set[str]:
    """Every job that must finish before ``job_id`` (through ``needs``, transitively)."""
    graph = {name: needs(job) for name, job in jobs(doc).items()}
    seen, todo = set(), list(graph.get(job_id, []))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph.get(name, []))
    return seen


def steps(job: dict) -> list[dict]:
    """The job's steps (entries that are not mappings left out)."""
    return [s for s in (job.get("steps") or []) if isinstance(s, dict)]


def uses(step: dict, action: str) -> bool:
    """Does the step use ``action`` (``owner/name``, any version)?"""
    return str(step.get("uses", "")).lower().split("@")[0] == action.lower()


def matrix_values(job: dict) -> dict[str, list]:
    """The job's matrix variables that list values ({name: [value, ...]})."""
    matrix = (job.get("strategy") or {}).get("matrix") if isinstance(job.get("strategy"), dict) else None
    if not isinstance(matrix, dict):
        return {}
    return {str(k): v for k, v in matrix.items() if isinstance(v, list)}


def first_matrix_combination(job: dict) -> dict[str, Any]:
    """The ``matrix`` context of the job's first combination."""
    return {key: values[0] for key, values in matrix_values(job).items() if values}
