"""Where prepared notebooks run: a pool of worker processes on this machine.

Each worker imports the execution code once and runs one notebook at a time (a fresh
kernel per notebook, limits in ``run_notebook``). If student code kills its worker,
the pool is rebuilt and the unfinished jobs run again once; a job that breaks the
pool twice is reported as failed."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from mlops_course.grading.execution import run_notebook


@dataclass
class ExecutionJob:
    key: str
    input: Path
    output: Path
    workdir: Path
    cell_timeout: int
    wall_clock: int
    env: dict

    def to_dict(self) -> dict:
        return {
            "input": str(self.input),
            "output": str(self.output),
            "workdir": str(self.workdir),
            "cell_timeout": self.cell_timeout,
            "wall_clock": self.wall_clock,
            "env": self.env,
        }


def _run(job: dict) -> dict:
    return run_notebook.execute(job)


class LocalExecutor:
    """Run jobs on ``workers`` processes; ``run(jobs, on_done)`` calls ``on_done(job, outcome)``
    in this process as each job finishes.

    A worker killed by student code breaks the whole process pool and every job in it.
    Those jobs then run again, each in a pool of its own, so the one that kills its
    worker is found and reported, and the others are graded normally."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)

    def _pool(self, size: int) -> ProcessPoolExecutor:
        # spawn: workers must not inherit this process's threads, sockets or gradebook session
        return ProcessPoolExecutor(size, mp_context=multiprocessing.get_context("spawn"))

    def _run_pool(self, jobs, size, on_done) -> list[ExecutionJob]:
        """Run ``jobs`` on one pool; return the jobs lost to a broken pool."""
        broken = []
        pool = self._pool(size)
        try:
            futures = {pool.submit(_run, job.to_dict()): job for job in jobs}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    job = futures[future]
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        broken.append(job)
                        continue
                    except Exception as exc:
                        outcome = {
                            "status": "failed",
                            "reason": f"execution failed: {type(exc).__name__}: {exc}",
                        }
                    on_done(job, outcome)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return broken

    def run(self, jobs: Iterable[ExecutionJob], on_done: Callable[[ExecutionJob, dict], None]) -> None:
        for job in self._run_pool(list(jobs), self.workers, on_done):
            if self._run_pool([job], 1, on_done):
                on_done(
                    job,
                    {
                        "status": "failed",
                        "reason": "the grading worker was killed while running this notebook; "
                        "does the notebook kill its parent process?",
                    },
                )
