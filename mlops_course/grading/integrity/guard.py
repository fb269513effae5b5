"""The grader's half of the kernel guard (``kernel_guard`` runs in the kernel).

Before the first cell, the guard is installed with a fresh key; before every test cell
(and every canary), it is asked to restore the kernel's machinery and to report what it
found. The question travels in an ``execute_request``'s ``user_expressions``, which
ipykernel evaluates after ``run_cell`` and outside it, so a replaced ``run_cell`` or an
input transformer cannot swallow it; the answer is signed with the key, so a replaced
``user_expressions`` or ``__import__`` cannot forge it. No answer, or a badly signed
one, is itself a finding."""

from __future__ import annotations

import ast
import hashlib
import hmac
import json
import secrets
import time
from queue import Empty

from jupyter_core.utils import ensure_async

GUARD_MODULE = "mlops_course.grading.integrity.kernel_guard"
NO_ANSWER = "the grader's guard got no valid answer: the kernel's execution machinery was replaced"


class GuardSession:
    """One notebook's guard: ``findings`` collects what it found, in order."""

    def __init__(self, given_imports: list[str] | tuple[str, ...] = (), timeout: float = 30):
        self.key = secrets.token_hex(16)
        self.given_imports = list(given_imports)
        self.timeout = timeout
        self.installed = False
        self.checks = 0
        self.seconds = 0.0
        self.findings: list[str] = []

    def _call(self, function: str, *args) -> str:
        arguments = ", ".join(repr(a) for a in args)
        return f"__import__({GUARD_MODULE!r}, fromlist=[{function!r}]).{function}({arguments})"

    async def install(self, client) -> None:
        self.installed = True
        answer = await self._ask(client, self._call("install", self.key, self.given_imports))
        if answer != "installed":
            self.findings.append("the grader's guard could not be installed before the first cell")

    async def check(self, client, where: str) -> None:
        """Restore the kernel before ``where`` (a test cell's name) and note what had changed."""
        self.checks += 1
        nonce = secrets.token_hex(8)
        answer = await self._ask(client, self._call("check", nonce))
        report = self._verify(answer, nonce)
        if report is None:
            self.findings.append(f"before {where}: {NO_ANSWER}")
            return
        self.findings.extend(f"before {where}: {item}" for item in report)

    def _verify(self, answer: str | None, nonce: str) -> list[str] | None:
        try:
            envelope = json.loads(answer)
            body, signature = envelope["body"], envelope["signature"]
            expected = hmac.new(self.key.encode(), body.encode(), hashlib.sha256).hexdigest()
            report = json.loads(body)
        except (TypeError, ValueError, KeyError):
            return None
        if not hmac.compare_digest(signature, expected) or report.get("nonce") != nonce:
            return None
        return [str(item) for item in report.get("found", [])]

    async def _ask(self, client, expression: str) -> str | None:
        """Evaluate ``expression`` in the kernel as a user expression; its string value."""
        started = time.monotonic()
        try:
            msg_id = client.kc.execute(
                "",
                silent=True,
                store_history=False,
                user_expressions={"guard": expression},
                allow_stdin=False,
            )
            reply = await self._reply(client, msg_id)
        finally:
            self.seconds += time.monotonic() - started
        if reply is None:
            return None
        value = reply["content"].get("user_expressions", {}).get("guard", {})
        if value.get("status") != "ok":
            return None
        try:
            return ast.literal_eval(value.get("data", {}).get("text/plain", ""))
        except (ValueError, SyntaxError):
            return None

    async def _reply(self, client, msg_id: str):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                msg = await ensure_async(client.kc.shell_channel.get_msg(timeout=1))
            except Empty:
                if not await ensure_async(client.km.is_alive()):
                    return None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
        return None


def given_imports(nb) -> tuple[str, ...]:
    """The import statements of the notebook's given code (not answer or test cells) that
    bind modules or course helpers; the guard binds those names again before each test,
    so a notebook that rebinds ``kc`` or ``np`` to an object of its own changes no test."""
    found: list[str] = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("solution") or meta.get("grade"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import) or (
                isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mlops_course")
            ):
                statement = ast.unparse(node)
                if statement not in found:
                    found.append(statement)
    return tuple(found)
