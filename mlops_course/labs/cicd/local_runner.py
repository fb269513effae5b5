"""Run CI steps on this machine the way a GitHub runner would.

A runner starts from a *clean checkout*: only what is committed exists, so a file that
sits on your laptop but was never committed makes CI fail ("works on my machine").
Each ``run:`` step is a fresh ``bash --noprofile --norc -eo pipefail`` script, in the
checkout, with ``CI=true``. Here ``pip`` may not download (``PIP_NO_INDEX=1``): the
steps run with this environment's Python, so pinned requirements must already be
installed, which they are in the course environment.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_CHECKOUTS: list[Path] = []  # temporary checkouts, removed when the process ends
RUNNER_SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]
_GIT_ID = [
    "-c",
    "user.name=mlops-course",
    "-c",
    "user.email=student@mlops-course.invalid",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "init.defaultBranch=main",
]


def _git(args: list[str], cwd: Path, timeout: float = 60) -> str:
    proc = subprocess.run(["git", *_GIT_ID, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.strip()[:400]}")
    return proc.stdout


def commit_all(project_dir: str | Path, message: str = "work in progress") -> str:
    """Make ``project_dir`` a git repository if needed and commit everything in it;
    returns the commit id (like ``git add -A && git commit`` on your laptop)."""
    if shutil.which("git") is None:
        raise RuntimeError("git is not installed: `sudo apt-get install git`.")
    project = Path(project_dir)
    if not (project / ".git").exists():
        _git(["init", "-q"], project)
    _git(["add", "-A"], project)
    has_head = (
        subprocess.run(
            ["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=project, capture_output=True
        ).returncode
        == 0
    )
    if _git(["status", "--porcelain"], project).strip() or not has_head:
        _git(["commit", "-q", "--allow-empty", "-m", message], project)
    return _git(["rev-parse", "HEAD"], project).strip()


def clean_checkout(project_dir: str | Path, dest: str | Path | None = None) -> Path:
    """A fresh clone of the committed state of ``project_dir`` (what a runner checks
    out); uncommitted and ignored files are *not* there. Returns the checkout folder."""
    project = Path(project_dir).resolve()
    if not (project / ".git").exists():
        raise RuntimeError(
            f"{project} is not a git repository: commit your work first "
            "(mlops_course.labs.cicd.local_runner.commit_all)."
        )
    if dest is None:
        parent = Path(tempfile.mkdtemp(prefix="checkout-"))
        _CHECKOUTS.append(parent)
        dest = parent / project.name
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise RuntimeError(f"{dest} is not empty: a checkout needs an empty folder")
    _git(["clone", "-q", "--no-hardlinks", str(project), str(dest)], project.parent)
    return dest


@atexit.register
def _remove_checkouts() -> None:
    for folder in _CHECKOUTS:
        shutil.rmtree(folder, ignore_errors=True)


def runner_env(checkout: str | Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a step: this Python first on PATH, CI variables, no pip downloads."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "JPY_PARENT_PID", "MPLBACKEND", "FORCE_COLOR"):
        env.pop(name, None)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.update(
        {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(checkout),
            "RUNNER_OS": "Linux",
            "RUNNER_TEMP": tempfile.gettempdir(),
            "PIP_NO_INDEX": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            # A runner has the project's requirements only: the pytest plugins of the
            # course environment (nbval, xdist, ...) stay out, and their seconds of imports.
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PY_COLORS": "0",
            "NO_COLOR": "1",
        }
    )
    env.update({k: str(v) for k, v in (extra or {}).items()})
    return env


def _run(
    command: list[str], cwd: str | Path, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess:
    """Run with stdout and stderr merged; a timeout is exit code 124 (as `timeout(1)`)."""
    try:
        return subprocess.run(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return subprocess.CompletedProcess(command, 124, out + f"\n[timed out after {timeout} s]")


def run_step(
    command: str, checkout: str | Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """One ``run:`` script in bash -eo pipefail in the checkout (stdout and stderr merged)."""
    return _run([*RUNNER_SHELL, command], checkout, env or runner_env(checkout), timeout)


def run_pytest(
    project_dir: str | Path, *targets: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess:
    """``python -m pytest -q`` on ``targets`` in ``project_dir`` with extra ``env``.
    Exit codes: 0 all passed, 1 some test failed, 2+ errors (collection, usage...)."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *targets]
    return _run(command, project_dir, runner_env(project_dir, env), timeout)
