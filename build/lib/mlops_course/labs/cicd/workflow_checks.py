"""Checks of GitHub Actions workflows and Dependabot configs, written for the course.

Three layers, from syntax to meaning:

1. YAML: loaded with ruamel.yaml (YAML 1.2, so ``on:`` stays the string ``"on"``;
   PyYAML would read it as ``True``).
2. The JSON schemas GitHub's files must follow, as vendored by check-jsonschema
   (``vendor.github-workflows``, ``vendor.dependabot``), validated offline.
3. Semantics the schema cannot see: the job graph (``needs``), which events trigger the
   workflow (branch pushes, pull requests, version tags), the Python matrix, pip caching,
   registry login through secrets, whether an image is pushed only for a version tag
   (``if:`` and ``push:`` expressions are *evaluated* for simulated events), and
   credentials written in plain text.

``check_workflow(text)`` runs everything and returns a :class:`WorkflowReport` whose
``problems`` are grouped by topic, each problem a sentence that says what is wrong and
how to fix it. actionlint (a fourth, independent linter) lives in
:mod:`mlops_course.labs.cicd.actionlint`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mlops_course.errors import ExpressionError, WorkflowError

TOPICS = ("yaml", "schema", "triggers", "jobs", "matrix", "cache", "login", "push", "secrets")

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

_KEY_WORDS = re.compile(
    r"pass(word|wd)?|token|secret|api[_-]?key|credential|private[_-]?key|auth", re.IGNORECASE
)
_TOKEN_PATTERNS = [
    (re.compile(r"ghp_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"), "a GitHub personal access token"),
    (re.compile(r"AKIA[0-9A-Z]{16}"), "an AWS access key id"),
    (re.compile(r"dckr_pat_[A-Za-z0-9_-]{10,}"), "a Docker Hub access token"),
    (re.compile(r"xox[baprs]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
]
_CLI_PASSWORD = re.compile(r"(?:\s-p|--password)[\s=]+(?P<value>['\"]?[^\s'\"$][^\s'\"]*)")
_SECRET_HINT = (
    "store it as an encrypted repository secret (Settings > Secrets and variables > "
    "Actions) and write `${{ secrets.REGISTRY_TOKEN }}` instead; a value once committed "
    "stays in the git history, so also rotate (revoke) the leaked one"
)


# --------------------------------------------------------------------------- YAML + schema


def load_yaml(text: str) -> Any:
    """Parse YAML 1.2 with ruamel.yaml into plain dicts/lists (``on`` stays a string key)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if not isinstance(text, str):
        raise WorkflowError(f"expected the YAML text as a string, got {type(text).__name__}")
    try:
        doc = YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise WorkflowError(
            f"invalid YAML{where}: {problem} (check the indentation: YAML "
            "uses spaces, never tabs, and every nested key is indented "
            "further than its parent)"
        ) from None
    return doc


def load_mapping(text: str) -> dict:
    doc = load_yaml(text)
    if not isinstance(doc, dict):
        raise WorkflowError(f"the file must be a YAML mapping (key: value), got {type(doc).__name__}")
    return doc


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
    messages = []
    for error in [best_match(errors)] + [e for e in errors if e is not best_match(errors)]:
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


# --------------------------------------------------------------------------- filters and expressions


def glob_to_regex(pattern: str) -> re.Pattern:
    """A GitHub filter pattern (``*``, ``**``, ``?``, ``+``, ``[...]``) as a regex."""
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern[i : i + 2] == "**":
                out += ".*"
                i += 2
                continue
            out += "[^/]*"
        elif char in "?+":
            out += char
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out += re.escape(char)
            else:
                out += pattern[i : end + 1]
                i = end + 1
                continue
        elif char == "\\" and i + 1 < len(pattern):
            out += re.escape(pattern[i + 1])
            i += 2
            continue
        else:
            out += re.escape(char)
        i += 1
    return re.compile(out + r"\Z")


def filter_matches(patterns: Any, value: str) -> bool:
    """GitHub's filter rule: the last matching pattern wins; ``!pattern`` excludes."""
    if isinstance(patterns, str):
        patterns = [patterns]
    result = False
    for pattern in patterns or []:
        pattern = str(pattern)
        negative = pattern.startswith("!")
        if glob_to_regex(pattern[1:] if negative else pattern).match(value):
            result = not negative
    return result


_TOKEN = re.compile(
    r"""\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>==|!=|<=|>=|&&|\|\||[<>!(),\[\]])|(?P<dot>\.)|(?P<name>[A-Za-z_][A-Za-z0-9_-]*|\*))"""
)


def _tokens(text: str) -> list[tuple[str, Any]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"cannot read the expression {text!r} at {text[pos : pos + 10]!r}")
        pos = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "str":
            value = value[1:-1].replace("''", "'")
        elif kind == "num":
            value = float(value)
        tokens.append((kind, value))
    return tokens


def _falsy(value) -> bool:
    return value in (None, False, "", 0) and value is not True


def _loose_eq(a, b) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if isinstance(a, bool) or isinstance(b, bool):
        return _num(a) == _num(b)
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        return _num(a) == _num(b)
    return a == b


def _num(value):
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value) if str(value).strip() else 0
    except ValueError:
        return float("nan")


def _as_str(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_FUNCTIONS = {
    "startswith": lambda a, b: _as_str(a).lower().startswith(_as_str(b).lower()),
    "endswith": lambda a, b: _as_str(a).lower().endswith(_as_str(b).lower()),
    "contains": lambda a, b: (
        any(_loose_eq(x, b) for x in a) if isinstance(a, list) else _as_str(b).lower() in _as_str(a).lower()
    ),
    "format": lambda fmt, *args: re.sub(r"\{(\d+)\}", lambda m: _as_str(args[int(m.group(1))]), _as_str(fmt)),
    "success": lambda: True,
    "always": lambda: True,
    "failure": lambda: False,
    "cancelled": lambda: False,
    "tojson": lambda a: _as_str(a),
    "fromjson": lambda a: a,
    "join": lambda a, sep=",": (
        _as_str(sep).join(_as_str(x) for x in a) if isinstance(a, list) else _as_str(a)
    ),
    "hashfiles": lambda *a: "0" * 64,
}


class _Parser:
    def __init__(self, tokens, context):
        self.tokens, self.pos, self.context = tokens, 0, context

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def take(self, value=None):
        token = self.peek()
        if value is not None and token[1] != value:
            raise ExpressionError(f"expected {value!r}, found {token[1]!r}")
        self.pos += 1
        return token

    def parse(self):
        value = self.or_()
        if self.pos != len(self.tokens):
            raise ExpressionError(f"unexpected {self.peek()[1]!r}")
        return value

    def or_(self):
        value = self.and_()
        while self.peek()[1] == "||":
            self.take()
            right = self.and_()
            value = value if not _falsy(value) else right
        return value

    def and_(self):
        value = self.cmp()
        while self.peek()[1] == "&&":
            self.take()
            right = self.cmp()
            value = right if not _falsy(value) else value
        return value

    def cmp(self):
        value = self.unary()
        while self.peek()[1] in {"==", "!=", "<", "<=", ">", ">="}:
            op = self.take()[1]
            right = self.unary()
            if op == "==":
                value = _loose_eq(value, right)
            elif op == "!=":
                value = not _loose_eq(value, right)
            else:
                a, b = _num(value), _num(right)
                value = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
        return value

    def unary(self):
        if self.peek()[1] == "!":
            self.take()
            return _falsy(self.unary())
        return self.primary()

    def primary(self):
        kind, value = self.take()
        if kind is None:
            raise ExpressionError("the expression ends too early")
        if value == "(" and kind == "op":
            inner = self.or_()
            self.take(")")
            return inner
        if kind in {"str", "num"}:
            return value
        if kind != "name":
            raise ExpressionError(f"unexpected {value!r}")
        lowered = value.lower()
        if lowered in {"true", "false"}:
            return lowered == "true"
        if lowered == "null":
            return None
        if self.peek()[1] == "(":
            self.take("(")
            args = []
            while self.peek()[1] != ")":
                args.append(self.or_())
                if self.peek()[1] == ",":
                    self.take()
            self.take(")")
            function = _FUNCTIONS.get(lowered)
            if function is None:
                raise ExpressionError(f"unknown function {value}()")
            return function(*args)
        current = self.context.get(lowered)
        while self.peek()[0] == "dot" or self.peek()[1] == "[":
            if self.take()[0] == "dot":
                key = self.take()[1]
            else:
                key = self.or_()
                self.take("]")
            current = _index(current, key)
        return current


def _index(value, key):
    if isinstance(value, dict):
        for k, v in value.items():
            if str(k).lower() == _as_str(key).lower():
                return v
        return None
    if isinstance(value, list) and isinstance(key, float):
        return value[int(key)] if 0 <= int(key) < len(value) else None
    return None


def evaluate(expression: Any, context: dict[str, Any] | None = None) -> Any:
    """Evaluate a GitHub Actions expression (``startsWith(github.ref, 'refs/tags/')``,
    with or without ``${{ }}``) against contexts such as ``{"github": {...}}``.

    A string that mixes text and ``${{ }}`` is interpolated and returns a string."""
    context = {k.lower(): v for k, v in (context or {}).items()}
    if not isinstance(expression, str):
        return expression
    text = expression.strip()
    whole = re.fullmatch(r"\$\{\{(.*?)\}\}", text, re.DOTALL)
    if whole and "${{" not in whole.group(1):
        return _Parser(_tokens(whole.group(1)), context).parse()
    if "${{" in text:
        return re.sub(
            r"\$\{\{(.*?)\}\}", lambda m: _as_str(_Parser(_tokens(m.group(1)), context).parse()), expression
        )
    return _Parser(_tokens(text), context).parse()


def substitute(text: str, context: dict[str, Any]) -> str:
    """Replace every ``${{ ... }}`` in ``text`` by its value, as the runner does before
    it runs a ``run:`` script."""
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: _as_str(evaluate("${{" + m.group(1) + "}}", context)), text)


def is_true(condition: Any, context: dict[str, Any]) -> bool:
    """An ``if:`` condition (absent means ``success()``)."""
    if condition is None:
        return True
    if isinstance(condition, bool):
        return condition
    return not _falsy(evaluate(str(condition), context))


# --------------------------------------------------------------------------- the workflow's meaning


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
    value = doc.get("jobs")
    return (
        {str(k): (v if isinstance(v, dict) else {}) for k, v in value.items()}
        if isinstance(value, dict)
        else {}
    )


def needs(job: dict) -> list[str]:
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
    return [s for s in (job.get("steps") or []) if isinstance(s, dict)]


def uses(step: dict, action: str) -> bool:
    """Does the step use ``action`` (``owner/name``, any version)?"""
    return str(step.get("uses", "")).lower().split("@")[0] == action.lower()


def matrix_values(job: dict) -> dict[str, list]:
    matrix = (job.get("strategy") or {}).get("matrix") if isinstance(job.get("strategy"), dict) else None
    if not isinstance(matrix, dict):
        return {}
    return {str(k): v for k, v in matrix.items() if isinstance(v, list)}


def first_matrix_combination(job: dict) -> dict[str, Any]:
    return {key: values[0] for key, values in matrix_values(job).items() if values}


def simulate(doc: dict, github: dict[str, Any]) -> dict[str, Any]:
    """Replay the workflow for one event: which jobs run and whether an image is pushed.

    Jobs in ``needs`` are assumed to succeed. Returns
    ``{"triggered": bool, "jobs": {job: bool}, "pushes": [where, ...]}``."""
    result = {"triggered": triggered_by(doc, github), "jobs": {}, "pushes": []}
    if not result["triggered"]:
        return result
    all_jobs = jobs(doc)
    runs: dict[str, bool] = {}

    def job_runs(name, trail=()):
        if name in runs:
            return runs[name]
        if name in trail or name not in all_jobs:
            return False
        job = all_jobs[name]
        ok = all(job_runs(n, trail + (name,)) for n in needs(job))
        context = {
            "github": github,
            "matrix": first_matrix_combination(job),
            "needs": {},
            "secrets": {},
            "vars": {},
            "env": {},
            "inputs": {},
            "runner": {"os": "Linux"},
        }
        try:
            ok = ok and is_true(job.get("if"), context)
        except ExpressionError:
            ok = False
        runs[name] = ok
        return ok

    for name, job in all_jobs.items():
        if not job_runs(name):
            result["jobs"][name] = False
            continue
        result["jobs"][name] = True
        context = {
            "github": github,
            "matrix": first_matrix_combination(job),
            "secrets": {},
            "vars": {},
            "env": {},
            "steps": {},
            "needs": {},
            "inputs": {},
            "runner": {"os": "Linux"},
        }
        for index, step in enumerate(steps(job)):
            try:
                if not is_true(step.get("if"), context):
                    continue
            except ExpressionError:
                continue
            where = f"jobs.{name}.steps[{index}]"
            if uses(step, "docker/build-push-action"):
                value = (step.get("with") or {}).get("push", False)
                try:
                    pushed = (
                        value
                        if isinstance(value, bool)
                        else str(evaluate(str(value), context)).lower() == "true"
                    )
                except ExpressionError:
                    pushed = False
                if pushed:
                    result["pushes"].append(where)
            elif re.search(
                r"docker\s+(image\s+)?push\b|buildx\s+build[^\n]*--push", str(step.get("run", ""))
            ):
                result["pushes"].append(where)
    return result


def hardcoded_credentials(doc: Any, text: str = "") -> list[str]:
    """Credentials written in plain text, each with where it is and what to do instead."""
    findings: list[str] = []

    def walk(node, path, parent_key=""):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key), str(key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}[{index}]", parent_key)
        elif isinstance(node, (str, int, float)) and not isinstance(node, bool):
            value = str(node)
            if parent_key == "run":
                match = _CLI_PASSWORD.search(value)
                if match:
                    findings.append(
                        f"{path} passes a literal password on the command line "
                        f"({match.group('value')[:3]}...): {_SECRET_HINT}; "
                        "pipe it in with `--password-stdin` from `${{ secrets.X }}`."
                    )
                return
            if (
                _KEY_WORDS.search(parent_key)
                and value.strip()
                and "${{" not in value
                and not value.strip().startswith("$")
            ):
                findings.append(f"{path} holds a literal credential ({value[:3]}...): {_SECRET_HINT}.")

    walk(doc, "")
    for pattern, what in _TOKEN_PATTERNS:
        for match in pattern.finditer(text or ""):
            line = text.count("\n", 0, match.start()) + 1
            message = (
                f"line {line} contains what looks like {what} ({match.group(0)[:6]}...): {_SECRET_HINT}."
            )
            if not any(match.group(0)[:3] in f for f in findings):
                findings.append(message)
    return findings


# --------------------------------------------------------------------------- the whole report


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


def check_workflow(
    text: str,
    chain: tuple[str, ...] = ("lint", "test", "build-and-push"),
    test_job: str = "test",
    push_job: str = "build-and-push",
) -> WorkflowReport:
    """All the course's checks of a CI/CD workflow for a model service (see module doc)."""
    report = WorkflowReport()
    P = report.problems
    try:
        doc = load_mapping(text)
    except WorkflowError as exc:
        for topic in TOPICS:
            P[topic].append(
                str(exc) if topic == "yaml" else "the workflow is not valid YAML (see the YAML problem)"
            )
        return report
    report.doc = doc
    P["schema"].extend(f"schema: {e}" for e in schema_errors(doc, "github-workflows"))

    # Triggers
    events = triggers(doc)
    for event in ("push", "pull_request"):
        if event not in events:
            P["triggers"].append(f"the workflow does not run on `{event}`: add it under `on:`.")
    report.simulation = {name: simulate(doc, github) for name, github in EVENTS.items()}
    for name in ("push to main", "pull request", TAG_EVENT):
        if not report.simulation[name]["triggered"] and not (
            name != TAG_EVENT and EVENTS[name]["event_name"] not in events
        ):
            hint = (
                "add `tags: ['v*']` under `on: push:` (with a `branches:` filter alone, "
                "tag pushes do not trigger the workflow)"
                if name == TAG_EVENT
                else "check the branch filters under `on:`"
            )
            P["triggers"].append(f"a {name} ({EVENTS[name]['ref']}) does not trigger the workflow: {hint}.")
    if report.simulation["push to main"]["triggered"] and "push" in events:
        push_config = events.get("push") or {}
        if (
            isinstance(push_config, dict)
            and "tags" in push_config
            and filter_matches(push_config["tags"], "nightly-build")
        ):
            P["triggers"].append(
                "the tag filter also matches tags that are not versions (e.g. "
                "'nightly-build'): use a version pattern such as 'v*'."
            )

    # Job graph
    all_jobs = jobs(doc)
    for name in chain:
        if name not in all_jobs:
            P["jobs"].append(f"there is no job `{name}`: the jobs should be {' -> '.join(chain)}.")
    for name, job in all_jobs.items():
        for dep in needs(job):
            if dep not in all_jobs:
                P["jobs"].append(f"job `{name}` needs `{dep}`, which is not a job of this workflow.")
        if name in ancestors(doc, name):
            P["jobs"].append(f"job `{name}` needs itself through a cycle of `needs`.")
    for before, after in zip(chain, chain[1:]):
        if before in all_jobs and after in all_jobs and before not in ancestors(doc, after):
            P["jobs"].append(
                f"job `{after}` does not wait for `{before}`: without `needs: {before}` "
                "the jobs run in parallel, so a failing lint or test would not stop "
                f"the build; add `needs: {before}` to `{after}`."
            )

    # Matrix and cache in the test job
    test = all_jobs.get(test_job, {})
    matrix = matrix_values(test)
    python_keys = [k for k in matrix if "python" in k.lower()]
    if not python_keys:
        P["matrix"].append(
            f"job `{test_job}` has no Python version matrix: add "
            "`strategy: matrix: python-version: ['3.11', '3.12']`."
        )
    for key in python_keys:
        values = matrix[key]
        if len(values) < 2:
            P["matrix"].append(
                f"the matrix `{key}` has {len(values)} value(s): test at least two Python versions."
            )
        floats = [v for v in values if not isinstance(v, str)]
        if floats:
            P["matrix"].append(
                f"the matrix `{key}` has numbers {floats}: quote the versions "
                "('3.10', not 3.10, which YAML reads as 3.1)."
            )
        used = any(
            f"matrix.{key}" in str((s.get("with") or {}).get("python-version", ""))
            for s in steps(test)
            if uses(s, "actions/setup-python")
        )
        if not used:
            P["matrix"].append(
                f"actions/setup-python in `{test_job}` should use "
                f"`python-version: ${{{{ matrix.{key} }}}}`, or the matrix changes nothing."
            )
    cached = any(
        (uses(s, "actions/setup-python") and str((s.get("with") or {}).get("cache", "")).lower() == "pip")
        or (uses(s, "actions/cache") and "pip" in str((s.get("with") or {}).get("path", "")))
        for s in steps(test)
    )
    if not cached:
        P["cache"].append(
            f"job `{test_job}` does not cache pip downloads: add `cache: pip` to "
            "the actions/setup-python step (or an actions/cache step for ~/.cache/pip)."
        )

    # Registry login through secrets, push only on version tags
    push = all_jobs.get(push_job, {})
    logins = [s for s in steps(push) if uses(s, "docker/login-action")]
    if not logins:
        P["login"].append(
            f"job `{push_job}` never logs in to the registry: add a docker/login-action step before the push."
        )
    for step in logins:
        password = str((step.get("with") or {}).get("password", ""))
        if not re.search(r"\$\{\{\s*(secrets\.[A-Za-z0-9_]+|github\.token)\s*\}\}", password):
            P["login"].append(
                "docker/login-action's `password` must come from a secret: "
                "`password: ${{ secrets.REGISTRY_TOKEN }}` (or `${{ secrets.GITHUB_TOKEN }}` for ghcr.io)."
            )
    tag_run = report.simulation[TAG_EVENT]
    if not tag_run["pushes"]:
        P["push"].append(
            "a version tag (refs/tags/v1.2.0) pushes no image: the push job must run "
            "for tags, with docker/build-push-action `push:` true for them."
        )
    for name in ("push to main", "push to a feature branch", "pull request"):
        if report.simulation[name]["pushes"]:
            P["push"].append(
                f"a {name} ({EVENTS[name]['ref']}) would push an image "
                f"({', '.join(report.simulation[name]['pushes'])}): push only for version "
                "tags, e.g. `if: startsWith(github.ref, 'refs/tags/v')` on the job "
                "or `push: ${{ startsWith(github.ref, 'refs/tags/v') }}`."
            )

    P["secrets"].extend(hardcoded_credentials(doc, text))
    return report


# --------------------------------------------------------------------------- Dependabot


@dataclass
class DependabotReport:
    doc: Any = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def hints(self) -> str:
        return " | ".join(self.problems) if self.problems else "no problems"


def check_dependabot(
    text: str, ecosystem: str = "github-actions", interval: str = "weekly"
) -> DependabotReport:
    """Schema-valid Dependabot v2 config that updates ``ecosystem`` on the given schedule."""
    report = DependabotReport()
    try:
        doc = load_mapping(text)
    except WorkflowError as exc:
        report.problems.append(str(exc))
        return report
    report.doc = doc
    report.problems.extend(f"schema: {e}" for e in schema_errors(doc, "dependabot"))
    updates = [u for u in (doc.get("updates") or []) if isinstance(u, dict)]
    entries = [u for u in updates if u.get("package-ecosystem") == ecosystem]
    if not entries:
        report.problems.append(
            f"no update entry with `package-ecosystem: {ecosystem}` "
            "(that is the name Dependabot uses for workflow actions)."
        )
    for entry in entries:
        schedule = entry.get("schedule") if isinstance(entry.get("schedule"), dict) else {}
        if schedule.get("interval") != interval:
            report.problems.append(
                f"the {ecosystem} entry should have `schedule: interval: {interval}`, "
                f"found {schedule.get('interval')!r}."
            )
        if entry.get("directory") not in ("/", None) and not entry.get("directories"):
            report.problems.append(
                f"the {ecosystem} entry should use `directory: /` (Dependabot "
                "finds .github/workflows from the repository root)."
            )
    return report
