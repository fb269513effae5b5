"""Replay a workflow for one event: which jobs run, and which steps push an image.

The ``if:`` conditions and the ``push:`` input of docker/build-push-action are evaluated
by GitHub's own evaluator (:mod:`mlops_course.labs.cicd.expressions`); jobs in ``needs``
and earlier steps are assumed to succeed. A condition GitHub rejects counts as false (the
job or step does not run), as a ``push:`` it rejects counts as no push.
"""

from __future__ import annotations

import re
from typing import Any

from mlops_course.errors import ExpressionError
from mlops_course.labs.cicd.expressions import condition_holds, substitute
from mlops_course.labs.cicd.workflow import first_matrix_combination, jobs, needs, steps, triggered_by, uses

_PUSH_COMMAND = re.compile(r"docker\s+(image\s+)?push\b|buildx\s+build[^\n]*--push")


def simulate(doc: dict, github: dict[str, Any]) -> dict[str, Any]:
    """Replay the workflow for the event described by ``github`` (see ``workflow.EVENTS``).

    Returns ``{"triggered": bool, "jobs": {job: bool}, "pushes": [where, ...]}``."""
    result = {"triggered": triggered_by(doc, github), "jobs": {}, "pushes": []}
    if not result["triggered"]:
        return result
    all_jobs = jobs(doc)
    runs: dict[str, bool] = {}

    def job_runs(name: str, trail: tuple[str, ...] = ()) -> bool:
        if name in runs:
            return runs[name]
        if name in trail or name not in all_jobs:
            return False
        job = all_jobs[name]
        ok = all(job_runs(n, trail + (name,)) for n in needs(job))
        runs[name] = ok and _holds(job.get("if"), _contexts(github, job), "job")
        return runs[name]

    for name, job in all_jobs.items():
        result["jobs"][name] = job_runs(name)
        if not result["jobs"][name]:
            continue
        context = _contexts(github, job)
        for index, step in enumerate(steps(job)):
            if _holds(step.get("if"), context, "step") and _pushes(step, context):
                result["pushes"].append(f"jobs.{name}.steps[{index}]")
    return result


def _contexts(github: dict[str, Any], job: dict) -> dict[str, Any]:
    """What the expressions of ``job`` see (its first matrix combination)."""
    return {
        "github": github,
        "matrix": first_matrix_combination(job),
        "runner": {"os": "Linux"},
    }


def _holds(condition: Any, context: dict[str, Any], where: str) -> bool:
    try:
        return condition_holds(condition, context, where)
    except ExpressionError:
        return False


def _pushes(step: dict, context: dict[str, Any]) -> bool:
    """Does the step push an image: build-push-action with ``push`` true, or a command?"""
    if uses(step, "docker/build-push-action"):
        inputs = step.get("with") if isinstance(step.get("with"), dict) else {}
        try:
            return substitute(inputs.get("push", False), context).lower() == "true"
        except ExpressionError:
            return False
    return bool(_PUSH_COMMAND.search(str(step.get("run", ""))))
