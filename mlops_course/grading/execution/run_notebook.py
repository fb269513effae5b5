"""Execute one prepared notebook the way nbgrader autograde would.

Used by the grading workers (one import, many notebooks) with a local kernel, and by
the grading sandbox with a kernel in a container (``kernels.ContainerKernel``). It imports
no gradebook code and reads only the job's own notebook and working folder.

Limits: nbgrader's per-cell timeout (the cell is interrupted, the notebook goes on),
and a whole-notebook wall clock (the kernel and everything it started are killed).
When the kernel dies, every grade cell that did not run gets an error output, so
that it cannot score (nbgrader counts a test cell without error as passed)."""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable

# jsonschema (through nbformat) imports rfc3987_syntax when it is installed, which
# builds a grammar for 0.7 s, for a URI format no notebook uses: every grading worker
# would pay it. Without it jsonschema simply skips that format.
sys.modules.setdefault("rfc3987_syntax", None)

import nbformat  # noqa: E402  (after the line above)
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import DeadKernelError  # noqa: E402
from nbformat.v4 import new_output  # noqa: E402

from mlops_course.grading.execution.jobs import (  # noqa: E402
    EXECUTED,
    KERNEL_DIED,
    WALL_CLOCK,
    ExecutionJob,
    Outcome,
)
from mlops_course.grading.execution.kernels import LocalKernel  # noqa: E402
from mlops_course.grading.integrity.canaries import check_and_remove, is_canary  # noqa: E402
from mlops_course.grading.integrity.guard import NO_ANSWER, GuardSession  # noqa: E402
from mlops_course.infra.files import write_atomic  # noqa: E402

NOT_RUN = "NotExecuted"


def mark_unexecuted_grade_cells(nb, reason: str) -> int:
    marked = 0
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and cell.get("execution_count") is None:
            cell.outputs = [
                new_output("error", ename=NOT_RUN, evalue=reason, traceback=[f"{NOT_RUN}: {reason}"])
            ]
            marked += 1
    return marked


def timed_out_cells(nb) -> list[str]:
    names = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "error" and output.get("ename") == "CellTimeoutError":
                names.append(
                    cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
                )
    return names


class WallClock:
    """Stop the kernel (its process tree, or its sandbox container) when the whole
    notebook runs too long."""

    def __init__(self, executor, seconds: float):
        self.executor, self.seconds = executor, seconds
        self.fired = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self):
        if not self._done.wait(self.seconds):
            self.fired = True
            stop_kernel(self.executor)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()


def stop_kernel(client) -> None:
    """Kill the kernel and everything it started, wherever it runs."""
    client.km.stop_everything()  # always one of ours: see execute()


def release_client(executor) -> None:
    """Close the client's channels (nbclient leaves them open with a kernel manager it
    was given) and drop its exit hook, so no thread or socket outlives the job."""
    atexit.unregister(executor._cleanup_kernel)
    client = getattr(executor, "kc", None)
    if client is not None and client.channels_running:
        client.stop_channels()


def _record_error_reply(cell=None, execute_reply=None, **_):
    """As nbgrader's Execute: an error the kernel reported but did not print (e.g. a
    timeout) still becomes an error output, so the cell cannot count as passed."""
    content = (execute_reply or {}).get("content", {})
    if content.get("status") != "error":
        return
    if any(o.get("output_type") == "error" and o.get("ename") == content.get("ename") for o in cell.outputs):
        return
    cell.outputs.append(
        new_output(
            "error",
            ename=content.get("ename", "Error"),
            evalue=content.get("evalue", ""),
            traceback=content.get("traceback")
            or ["ERROR: An error occurred while showtraceback was disabled"],
        )
    )


KERNEL_ARGUMENTS = ("--HistoryManager.hist_file=:memory:",)
MAX_OUTPUT_BYTES = 32 * 2**20  # outputs kept per notebook; a flood beyond is dropped as it arrives
TRUNCATED = "... Output truncated: the notebook printed more than the grader keeps ..."


class CappedNotebookClient(NotebookClient):
    """nbclient's NotebookClient, keeping at most MAX_OUTPUT_BYTES of outputs per
    notebook (the flood is dropped as it arrives, so it never fills the grader's memory)."""

    kept_bytes = 0
    truncated = False
    guard: GuardSession | None = None

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        """Before the first code cell the guard is installed; before every test cell (and
        canary) it restores the kernel's machinery and reports what had changed."""
        if self.guard is not None and cell.cell_type == "code":
            if not self.guard.installed:
                await self.guard.install(self)
            if _is_graded(cell):
                await self.guard.check(self, _cell_name(cell, cell_index))
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        size = (
            len(str(content.get("text", "")))
            + sum(len(str(v)) for v in content.get("data", {}).values())
            + sum(len(str(line)) for line in content.get("traceback", []))
        )
        if self.kept_bytes + size > MAX_OUTPUT_BYTES and msg.get("msg_type") != "error":
            if not self.truncated:
                self.truncated = True
                outs.append(new_output("stream", name="stderr", text=TRUNCATED + "\n"))
            return None
        self.kept_bytes += size
        return super().output(outs, msg, display_id, cell_index)


def _is_graded(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("grade") and not meta.get("solution")) or is_canary(cell)


def _cell_name(cell, index: int) -> str:
    if is_canary(cell):  # named like its neighbours in what the lecturer reads
        return f"cell {index + 1}"
    return cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"


def make_client(nb, job: ExecutionJob, km: LocalKernel) -> CappedNotebookClient:
    """An nbclient configured like nbgrader's Execute preprocessor (per-cell timeout that
    interrupts the cell and goes on, errors allowed, history in memory), on ``km``: a
    ``LocalKernel`` or a sandbox's ``ContainerKernel``."""
    return CappedNotebookClient(
        nb,
        km=km,
        timeout=job.cell_timeout,
        kernel_name="python3",
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={
            "ename": "CellTimeoutError",
            "evalue": "",
            "traceback": ["CellTimeoutError: No reply from kernel before timeout"],
        },
        # a slow answer from a busy kernel is not the student's fault: wait longer for
        # outputs than nbgrader's 4 s, and never abort the whole notebook for it
        iopub_timeout=20,
        raise_on_iopub_timeout=False,
        extra_arguments=list(KERNEL_ARGUMENTS),
        on_cell_executed=_record_error_reply,
        on_notebook_start=km.kernel_ready,
        # the kernel is thrown away with its folder (or container): no polite shutdown
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(job.workdir)}},
    )


@contextlib.contextmanager
def _environment(env):
    """The job's environment variables for a local kernel (it inherits this process's)."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def execute(job: ExecutionJob, new_kernel: Callable[[], LocalKernel] | None = None) -> Outcome:
    """Run ``job.input``, write the executed notebook to ``job.output``; return the outcome.

    Without ``new_kernel`` the kernel is a local process in ``job.workdir`` with
    ``job.env``; with it (e.g. a factory of sandbox container kernels), the kernel runs
    wherever that kernel puts it, which sets its environment itself."""
    nb = nbformat.read(str(job.input), as_version=4)
    local = new_kernel is None
    started = time.monotonic()
    outcome = Outcome()
    client = clock = guard = None
    kernels: list[LocalKernel] = []
    try:
        with _environment(job.env if local else {}):
            for attempt in (1, 2):
                kernels.append(LocalKernel() if local else new_kernel())
                client = make_client(nb, job, kernels[-1])
                if job.guard:
                    guard = client.guard = GuardSession(job.given_imports, timeout=max(30, job.cell_timeout))
                clock = WallClock(client, job.wall_clock)
                try:
                    with clock:
                        client.execute()
                    break
                except RuntimeError as exc:
                    # a kernel that dies before its first reply never ran student code
                    # (e.g. one that crashed while starting): start it again once
                    if attempt == 2 or "before replying to kernel_info" not in str(exc):
                        raise
                    stop_kernel(client)
                    release_client(client)
    except DeadKernelError:
        outcome = Outcome(
            KERNEL_DIED,
            "the kernel died while running the notebook (a crash, os._exit, or "
            "running out of memory); the cells after that did not run",
        )
    except Exception as exc:  # e.g. a kernel that never starts, or one killed mid-reply
        outcome = Outcome.failed(f"execution failed: {type(exc).__name__}: {exc}")
    finally:
        if client is not None:
            stop_kernel(client)  # nothing the student started outlives the job
            release_client(client)
        if local:
            for km in kernels:
                km.remove()
    if clock is not None and clock.fired:
        outcome = Outcome(
            WALL_CLOCK,
            f"the notebook ran longer than the {job.wall_clock} s limit for a whole notebook and was "
            "stopped (an endless loop or very slow code?); the cells after that did not run",
        )
    if outcome.status != EXECUTED:
        mark_unexecuted_grade_cells(nb, outcome.reason)
    tampering = check_and_remove(nb)  # the canaries leave the notebook here
    if guard is not None:
        dead = outcome.status in (KERNEL_DIED, WALL_CLOCK)  # a killed kernel answers nothing
        tampering = [f for f in guard.findings if not (dead and NO_ANSWER in f)] + tampering
        outcome.guard_seconds = round(guard.seconds, 3)
    outcome.tampering = tuple(tampering)
    limit_outputs(nb)
    outcome.timeouts = tuple(timed_out_cells(nb))
    outcome.seconds = round(time.monotonic() - started, 2)
    write_atomic(job.output, nbformat.writes(nb))
    return outcome


def limit_outputs(nb, max_lines: int = 1000, max_chars: int = 100_000, max_traceback: int = 100) -> None:
    """nbgrader's LimitOutput (1000 stream lines per cell, 100 traceback lines), plus a
    cap on characters, so one endless line cannot flood the grader either."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines, kept = 0, []
        for output in cell.outputs:
            if output.output_type == "stream":
                if lines >= max_lines:
                    continue
                text = output.text.split("\n")
                if lines + len(text) > max_lines:
                    text = text[: max_lines - lines - 1] + ["... Output truncated ..."]
                lines += len(text)
                output.text = "\n".join(text)
                if len(output.text) > max_chars:
                    output.text = output.text[:max_chars] + "\n... Output truncated ..."
            elif output.output_type == "error" and len(output.traceback) > max_traceback:
                start = max_traceback // 2
                output.traceback = (
                    output.traceback[:start]
                    + ["... Traceback truncated ..."]
                    + output.traceback[-(max_traceback - start - 1) :]
                )
            kept.append(output)
        cell.outputs = kept
