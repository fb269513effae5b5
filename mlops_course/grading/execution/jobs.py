"""What an executor is given and what it gives back, the same for the local pool, the
sandbox and Dask: an ``ExecutionJob`` (one prepared notebook to run) and an ``Outcome``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

EXECUTED = "executed"  # every cell ran (some may have failed: that is the student's score)
KERNEL_DIED = "kernel_died"  # the kernel died; the cells after it did not run
WALL_CLOCK = "wall_clock"  # the whole notebook ran too long and was stopped
FAILED = "failed"  # the grader failed, not the student: the job is tried again next run

KILLED_REASON = (
    "the grading worker was killed while running this notebook; does the notebook kill its parent process?"
)


@dataclass(frozen=True)
class ExecutionJob:
    key: str  # student/assignment/notebook
    input: Path  # the prepared notebook (hidden tests restored, parameters injected)
    output: Path  # where the executed notebook goes
    workdir: Path  # the job's working folder (its files and the assignment's)
    cell_timeout: int  # seconds per cell
    wall_clock: int  # seconds for the whole notebook
    env: Mapping[str, str] = field(default_factory=dict)  # for the kernel
    guard: bool = True  # the kernel guard restores the kernel before every test cell
    given_imports: tuple[str, ...] = ()  # the notebook's given imports, bound again before each test

    def moved(self, **paths: Path) -> ExecutionJob:
        """The same job with other paths (a worker's copy, a container's view)."""
        return dataclasses.replace(self, **{name: Path(value) for name, value in paths.items()})


@dataclass
class Outcome:
    status: str = EXECUTED
    reason: str | None = None  # why it did not execute normally, for the lecturer
    timeouts: tuple[str, ...] = ()  # grade ids (or "cell N") of cells that hit the cell timeout
    seconds: float = 0.0
    tampering: tuple[str, ...] = ()  # what the kernel guard and the canaries found
    guard_seconds: float = 0.0  # time spent on the guard's checks

    @classmethod
    def failed(cls, reason: str) -> Outcome:
        return cls(FAILED, reason[:500])

    @property
    def grader_failed(self) -> bool:
        return self.status == FAILED


class Executor(Protocol):
    """Runs jobs as the iterable yields them (the pipeline prepares the next submission
    while earlier ones run) and calls ``on_done`` in the calling process, one at a time."""

    def run(self, jobs: Iterable[ExecutionJob], on_done: Callable[[ExecutionJob, Outcome], None]) -> None: ...
