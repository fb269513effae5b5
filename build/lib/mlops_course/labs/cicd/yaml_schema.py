"""GitHub's YAML files (workflows, dependabot.yml): loading and their JSON schemas.

YAML is loaded with ruamel.yaml (YAML 1.2, so ``on:`` stays the string ``"on"``; PyYAML
would read it as ``True``). The schemas are the ones check-jsonschema vendors
(``vendor.github-workflows``, ``vendor.dependabot``), validated offline.
"""

from __future__ import annotations

from typing import Any

from mlops_course.errors import WorkflowError


def yaml_error(text: str) -> tuple[int | None, int | None, str] | None:
    """(line, column, problem) of the first YAML syntax error (no line and column when
    the parser gives none), or None when the text parses."""
    return _load(text)[1]


def load_yaml(text: str) -> Any:
    """Parse YAML 1.2 into plain dicts/lists (``on`` stays a string key)."""
    if not isinstance(text, str):
        raise WorkflowError(f"expected the YAML text as a string, got {type(text).__name__}")
    doc, error = _load(text)
    if error:
        line, column, problem = error
        where = f" at line {line}, column {column}" if line else ""
        raise WorkflowError(
            f"invalid YAML{where}: {problem} (check the indentation: YAML uses spaces, "
            "never tabs, and every nested key is indented further than its parent)"
        )
    return doc


def load_mapping(text: str) -> dict:
    """The YAML document, which must be a mapping (key: value)."""
    doc = load_yaml(text)
    if not isinstance(doc, dict):
        raise WorkflowError(f"the file must be a YAML mapping (key: value), got {type(doc).__name__}")
    return doc


def _load(text: str) -> tuple[Any, tuple[int | None, int | None, str] | None]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe", pure=True).load(text), None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        return None, (line, column, problem)


def schema_errors(doc: Any, schema: str = "github-workflows", limit: int = 5) -> list[str]:
    """Errors of ``doc`` against a schema vendored by check-jsonschema
    (``github-workflows``, ``dependabot``, ...), most relevant first."""
    import jsonschema
    from check_jsonschema.builtin_schemas import get_builtin_schema
    from jsonschema.exceptions import best_match, relevance

    schema_doc = get_builtin_schema(f"vendor.{schema}")
    validator = jsonschema.validators.validator_for(schema_doc)(schema_doc)
    errors = sorted(validator.iter_errors(doc), key=relevance)
    if not errors:
        return []
    best = best_match(errors)
    messages = []
    for error in [best] + [e for e in errors if e is not best]:
        message = f"{_path(error.absolute_path)}: {_short(error)}"
        if message not in messages:
            messages.append(message)
        if len(messages) >= limit:
            break
    return messages


def _path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _short(error) -> str:
    message = error.message
    if error.validator in {"oneOf", "anyOf"} and error.context:
        inner = sorted(error.context, key=lambda e: len(list(e.absolute_path)), reverse=True)[0]
        message = inner.message
    return message if len(message) < 220 else message[:217] + "..."
