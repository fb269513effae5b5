"""The course's checks of a CI/CD workflow for a model service, from syntax to meaning.

1. YAML (:mod:`~mlops_course.labs.cicd.yaml_schema`);
2. the JSON schema GitHub's workflow files follow (vendored by check-jsonschema), and
   what GitHub's own workflow parser reports (unknown keys, jobs that need unknown jobs,
   expressions it rejects, each with its line);
3. semantics the schema cannot see, one small check per topic: which events trigger the
   workflow (branch pushes, pull requests, version tags), the job graph (``needs``), the
   Python matrix, pip caching, registry login through secrets, whether an image is pushed
   only for a version tag (the workflow is replayed for the events of
   ``workflow.EVENTS``, its ``if:`` and ``push:`` evaluated by GitHub's own evaluator),
   and credentials written in plain text.

``check_workflow(text)`` returns a :class:`WorkflowReport` whose ``problems`` are grouped
by topic, each problem a sentence that says what is wrong and how to fix it. actionlint
(an independent linter) lives in :mod:`mlops_course.labs.cicd.actionlint`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlops_course.errors import WorkflowError
from mlops_course.labs.cicd.credentials import hardcoded_credentials
from mlops_course.labs.cicd.filters import filter_matches
from mlops_course.labs.cicd.github_parser import workflow_errors
from mlops_course.labs.cicd.simulation import simulate
from mlops_course.labs.cicd.workflow import (
    EVENTS,
    TAG_EVENT,
    ancestors,
    jobs,
    matrix_values,
    needs,
    steps,
    triggers,
    uses,
)
from mlops_course.labs.cicd.yaml_schema import load_mapping, schema_errors

TOPICS = ("yaml", "schema", "parser", "triggers", "jobs", "matrix", "cache", "login", "push", "secrets")


@dataclass
class WorkflowReport:
    """Problems found in a workflow, grouped by topic (see TOPICS)."""

    doc: Any = None
    problems: dict[str, list[str]] = field(default_factory=lambda: {t: [] for t in TOPICS})
    simulation: dict[str, dict] = field(default_factory=dict)

    def ok(self, *topics: str) -> bool:
        return not any(self.problems.get(t) for t in (topics or TOPICS))

    def hints(self, *topics: str) -> str:
        found = [p for t in (topics or TOPICS) for p in self.problems.get(t, [])]
        return " | ".join(found) if found else "no problems"

    def __str__(self) -> str:
        lines = []
        for topic in TOPICS:
            problems = self.problems.get(topic, [])
            lines.append(f"{'OK ' if not problems else 'BAD'} {topic}")
            lines.extend(f"      - {p}" for p in problems)
        return "\n".join(lines)


@dataclass
class CheckedWorkflow:
    """A loaded workflow under check, with what the checks expect of it."""

    text: str
    doc: dict
    chain: tuple[str, ...]  # the job ids, in the order `needs` must chain them
    test_job: str
    push_job: str
    simulation: dict[str, dict]  # event name (EVENTS) -> simulate(...)

    @property
    def jobs(self) -> dict[str, dict]:
        return jobs(self.doc)


def check_schema(w: CheckedWorkflow) -> list[str]:
    return [f"schema: {e}" for e in schema_errors(w.doc, "github-workflows")]


def check_parser(w: CheckedWorkflow) -> list[str]:
    return workflow_errors(w.text)


def check_triggers(w: CheckedWorkflow) -> list[str]:
    problems = []
    events = triggers(w.doc)
    for event in ("push", "pull_request"):
        if event not in events:
            problems.append(f"the workflow does not run on `{event}`: add it under `on:`.")
    for name in ("push to main", "pull request", TAG_EVENT):
        # An event missing under `on:` was reported above; a tag push is always expected.
        listed = name == TAG_EVENT or EVENTS[name]["event_name"] in events
        if not w.simulation[name]["triggered"] and listed:
            hint = (
                "add `tags: ['v*']` under `on: push:` (with a `branches:` filter alone, "
                "tag pushes do not trigger the workflow)"
                if name == TAG_EVENT
                else "check the branch filters under `on:`"
            )
            problems.append(f"a {name} ({EVENTS[name]['ref']}) does not trigger the workflow: {hint}.")
    push_config = events.get("push") or {}
    if (
        w.simulation["push to main"]["triggered"]
        and isinstance(push_config, dict)
        and "tags" in push_config
        and filter_matches(push_config["tags"], "nightly-build")
    ):
        problems.append(
            "the tag filter also matches tags that are not versions (e.g. "
            "'nightly-build'): use a version pattern such as 'v*'."
        )
    return problems


def check_jobs(w: CheckedWorkflow) -> list[str]:
    problems = []
    all_jobs = w.jobs
    for name in w.chain:
        if name not in all_jobs:
            problems.append(f"there is no job `{name}`: the jobs should be {' -> '.join(w.chain)}.")
    for name, job in all_jobs.items():
        for dep in needs(job):
            if dep not in all_jobs:
                problems.append(f"job `{name}` needs `{dep}`, which is not a job of this workflow.")
        if name in ancestors(w.doc, name):
            problems.append(f"job `{name}` needs itself through a cycle of `needs`.")
    for before, after in zip(w.chain, w.chain[1:]):
        if before in all_jobs and after in all_jobs and before not in ancestors(w.doc, after):
            problems.append(
                f"job `{after}` does not wait for `{before}`: without `needs: {before}` "
                "the jobs run in parallel, so a failing lint or test would not stop "
                f"the build; add `needs: {before}` to `{after}`."
            )
    return problems


def check_matrix(w: CheckedWorkflow) -> list[str]:
    problems = []
    test = w.jobs.get(w.test_job, {})
    matrix = matrix_values(test)
    python_keys = [k for k in matrix if "python" in k.lower()]
    if not python_keys:
        problems.append(
            f"job `{w.test_job}` has no Python version matrix: add "
            "`strategy: matrix: python-version: ['3.11', '3.12']`."
        )
    for key in python_keys:
        values = matrix[key]
        if len(values) < 2:
            problems.append(
                f"the matrix `{key}` has {len(values)} value(s): test at least two Python versions."
            )
        numbers = [v for v in values if not isinstance(v, str)]
        if numbers:
            problems.append(
                f"the matrix `{key}` has numbers {numbers}: quote the versions "
                "('3.10', not 3.10, which YAML reads as 3.1)."
            )
        used = any(
            f"matrix.{key}" in str((s.get("with") or {}).get("python-version", ""))
            for s in steps(test)
            if uses(s, "actions/setup-python")
        )
        if not used:
            problems.append(
                f"actions/setup-python in `{w.test_job}` should use "
                f"`python-version: ${{{{ matrix.{key} }}}}`, or the matrix changes nothing."
            )
    return problems


def check_cache(w: CheckedWorkflow) -> list[str]:
    cached = any(
        (uses(s, "actions/setup-python") and str((s.get("with") or {}).get("cache", "")).lower() == "pip")
        or (uses(s, "actions/cache") and "pip" in str((s.get("with") or {}).get("path", "")))
        for s in steps(w.jobs.get(w.test_job, {}))
    )
    if cached:
        return []
    return [
        f"job `{w.test_job}` does not cache pip downloads: add `cache: pip` to "
        "the actions/setup-python step (or an actions/cache step for ~/.cache/pip)."
    ]


def check_login(w: CheckedWorkflow) -> list[str]:
    logins = [s for s in steps(w.jobs.get(w.push_job, {})) if uses(s, "docker/login-action")]
    if not logins:
        return [
            f"job `{w.push_job}` never logs in to the registry: add a docker/login-action step before the push."
        ]
    problems = []
    for step in logins:
        password = str((step.get("with") or {}).get("password", ""))
        if not re.search(r"\$\{\{\s*(secrets\.[A-Za-z0-9_]+|github\.token)\s*\}\}", password):
            problems.append(
                "docker/login-action's `password` must come from a secret: "
                "`password: ${{ secrets.REGISTRY_TOKEN }}` (or `${{ secrets.GITHUB_TOKEN }}` for ghcr.io)."
            )
    return problems


def check_push(w: CheckedWorkflow) -> list[str]:
    problems = []
    if not w.simulation[TAG_EVENT]["pushes"]:
        problems.append(
            "a version tag (refs/tags/v1.2.0) pushes no image: the push job must run "
            "for tags, with docker/build-push-action `push:` true for them."
        )
    for name in ("push to main", "push to a feature branch", "pull request"):
        if w.simulation[name]["pushes"]:
            problems.append(
                f"a {name} ({EVENTS[name]['ref']}) would push an image "
                f"({', '.join(w.simulation[name]['pushes'])}): push only for version "
                "tags, e.g. `if: startsWith(github.ref, 'refs/tags/v')` on the job "
                "or `push: ${{ startsWith(github.ref, 'refs/tags/v') }}`."
            )
    return problems


def check_secrets(w: CheckedWorkflow) -> list[str]:
    return hardcoded_credentials(w.doc, w.text)


# topic -> its check; "yaml" is the loading itself.
CHECKS: dict[str, Callable[[CheckedWorkflow], list[str]]] = {
    "schema": check_schema,
    "parser": check_parser,
    "triggers": check_triggers,
    "jobs": check_jobs,
    "matrix": check_matrix,
    "cache": check_cache,
    "login": check_login,
    "push": check_push,
    "secrets": check_secrets,
}


def check_workflow(
    text: str,
    chain: tuple[str, ...] = ("lint", "test", "build-and-push"),
    test_job: str = "test",
    push_job: str = "build-and-push",
) -> WorkflowReport:
    """All the course's checks of a CI/CD workflow for a model service (see module doc)."""
    report = WorkflowReport()
    try:
        doc = load_mapping(text)
    except WorkflowError as exc:
        for topic in TOPICS:
            report.problems[topic].append(
                str(exc) if topic == "yaml" else "the workflow is not valid YAML (see the YAML problem)"
            )
        return report
    report.doc = doc
    report.simulation = {name: simulate(doc, github) for name, github in EVENTS.items()}
    workflow = CheckedWorkflow(text, doc, chain, test_job, push_job, report.simulation)
    for topic, check in CHECKS.items():
        report.problems[topic].extend(check(workflow))
    return report
