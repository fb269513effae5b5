"""GitHub's own workflow parser and expression evaluator, in one Node.js helper per process.

GitHub publishes the parser its editor tooling uses as the npm packages
``@actions/workflow-parser`` and ``@actions/expressions`` (ES modules for Node.js). The
helper ``github_parser.mjs`` runs them; it is started by the first request, answers one
JSON line per request on stdin/stdout, dies with this process and is stopped when it
exits. A notebook evaluates hundreds of expressions, so one helper serves them all.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import subprocess
import tempfile
import threading
from importlib import resources
from typing import Any

from mlops_course.errors import ExpressionError, GitHubParserUnavailable
from mlops_course.infra.parts import PartStatus
from mlops_course.infra.processes import die_with_parent, stop_process
from mlops_course.labs.cicd.node_packages import prefix_status

PACKAGES = ["@actions/expressions", "@actions/workflow-parser"]
TIMEOUT = 60  # seconds for one answer; the first one includes loading the packages (~0.5 s)


def status() -> PartStatus:
    """Are Node.js and both packages there? The message says what to install."""
    return prefix_status(PACKAGES, "GitHub's workflow parser")


class _Helper:
    """The running helper of one process (a forked child starts its own)."""

    def __init__(self) -> None:
        state = status()
        if not state.available:
            raise GitHubParserUnavailable(state.message)
        script = resources.files("mlops_course.labs.cicd").joinpath("github_parser.mjs").read_text()
        self.pid = os.getpid()
        self.stderr = tempfile.TemporaryFile()
        # Run in the npm prefix: `-e` resolves the packages from its node_modules.
        self.process = subprocess.Popen(
            [shutil.which("node"), "--input-type=module", "-e", script],
            cwd=state.location,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            encoding="utf-8",
            preexec_fn=die_with_parent,
        )

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            self.process.stdin.write(json.dumps(request, default=str) + "\n")
            self.process.stdin.flush()
            ready, _, _ = select.select([self.process.stdout], [], [], TIMEOUT)
            line = self.process.stdout.readline() if ready else ""
        except OSError:  # the helper is gone (broken pipe)
            line = ""
        if not line:
            stop_process(self.process, timeout=5)  # then its stderr is complete
            message = self.log()
            self.stop()
            raise GitHubParserUnavailable(f"GitHub's workflow parser (Node.js) did not answer: {message}")
        return json.loads(line)

    def log(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace").strip()[-1000:] or "no message"

    def stop(self) -> None:
        stop_process(self.process, timeout=5)
        self.stderr.close()


_lock = threading.Lock()
# The helper of each process, by pid. Changed in place, never rebound: the grader's kernel
# guard restores any course-module attribute that is rebound during a notebook.
_helpers: dict[int, _Helper] = {}


def request(op: str, **fields: Any) -> Any:
    """One answer of the helper (operations in github_parser.mjs). A value GitHub rejects
    raises ExpressionError with GitHub's message."""
    pid = os.getpid()
    with _lock:
        helper = _helpers.get(pid)
        if helper is not None and helper.process.poll() is not None:
            helper.stop()  # it ended: start another
            helper = None
        if helper is None:
            helper = _helpers[pid] = _Helper()
        answer = helper.ask({"op": op, **fields})
    if "error" not in answer:
        return answer["value"]
    if answer.get("crash"):
        raise GitHubParserUnavailable(f"GitHub's workflow parser failed on {op}: {answer['error'][:1000]}")
    raise ExpressionError(answer["error"])


@atexit.register
def stop() -> None:
    """Stop this process's helper (a later request starts a new one)."""
    with _lock:
        helper = _helpers.pop(os.getpid(), None)
        if helper is not None:
            helper.stop()


def workflow_errors(text: str, name: str = "ci.yml") -> list[str]:
    """What GitHub's workflow parser reports about a workflow file, each message with
    its line and column (an empty list: GitHub accepts the file)."""
    return request("workflow_errors", text=text, name=name)
