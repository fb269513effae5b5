"""GitHub Actions expressions (``${{ ... }}``), evaluated by GitHub's own evaluator.

Each value is read the way GitHub's workflow parser reads it at its place in a workflow
(:mod:`mlops_course.labs.cicd.github_parser`): an ``if:`` may omit ``${{ }}`` and without
a status function means ``success() && (...)``; any other string is text in which each
``${{ }}`` is replaced. The parser also decides which contexts a place may use (a job's
``if:`` cannot read ``matrix``; no ``if:`` can read ``secrets``) and rejects the rest, as
GitHub does. The replay assumes that earlier jobs and steps succeeded: ``success()`` and
``always()`` are true, ``failure()`` and ``cancelled()`` false.

Contexts are plain dicts, e.g. ``{"github": {"ref": "refs/tags/v1.0.0"}, "matrix": {...}}``.
An expression GitHub rejects raises ExpressionError with GitHub's message.
"""

from __future__ import annotations

from typing import Any, Literal

from mlops_course.labs.cicd.github_parser import request

# Places in the workflow schema of @actions/workflow-parser.
STEP_VALUE = "string-steps-context"  # run:, with:, env: of a step
CONDITIONS = {"job": "job-if", "step": "step-if"}


def evaluate(expression: Any, context: dict[str, Any] | None = None) -> Any:
    """The value of an expression (``startsWith(github.ref, 'refs/tags/')``, with or
    without ``${{ }}``). A string that mixes text and ``${{ }}`` gives a string; a value
    that is not a string is returned as it is."""
    if not isinstance(expression, str):
        return expression
    if "${{" in expression:
        return request("value", value=expression, definition=STEP_VALUE, contexts=context or {})
    return request("expression", text=expression, definition=CONDITIONS["step"], contexts=context or {})


def substitute(text: Any, context: dict[str, Any]) -> str:
    """``text`` with every ``${{ ... }}`` replaced by its value: the string the runner
    hands to a ``run:`` script or an action's input (``true`` for a YAML true)."""
    return request("string", value=text, definition=STEP_VALUE, contexts=context)


def condition_holds(condition: Any, context: dict[str, Any], where: Literal["job", "step"] = "step") -> bool:
    """Does an ``if:`` condition of a job or a step hold (no ``if:`` means ``success()``)?"""
    if condition is None:
        return True  # success(), which the replay assumes: no need to ask
    return request("condition", value=condition, definition=CONDITIONS[where], contexts=context)
