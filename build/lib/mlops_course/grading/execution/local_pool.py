"""Where prepared notebooks run without the sandbox: a pool of worker processes on this
machine (``grade --no-sandbox``).

Each worker imports the execution code once and runs one notebook at a time (a fresh
kernel per notebook, limits in ``run_notebook``). Jobs are taken from the iterable only
when a worker is free, so preparing the next submission overlaps running this one.

A worker killed by student code breaks the whole process pool and every job in it.
Those jobs then run again, each in a pool of its own, so the one that kills its worker
is found and reported, and the others are graded normally."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from mlops_course.grading.execution.jobs import KILLED_REASON, ExecutionJob, Outcome
from mlops_course.grading.execution.run_notebook import execute


class LocalExecutor:
    """Run jobs on ``workers`` processes; ``on_done(job, outcome)`` is called in this process."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)

    def _pool(self, size: int) -> ProcessPoolExecutor:
        # spawn: workers must not inherit this process's threads, sockets or gradebook session
        return ProcessPoolExecutor(size, mp_context=multiprocessing.get_context("spawn"))

    def _run_pool(self, jobs: Iterator[ExecutionJob], size: int, on_done) -> list[ExecutionJob]:
        """Run ``jobs`` on one pool, at most ``size`` at a time, until they are all done or
        the pool breaks; return the jobs lost to a broken pool (the rest stay in ``jobs``)."""
        broken: list[ExecutionJob] = []
        running: dict[Future, ExecutionJob] = {}
        pool = self._pool(size)
        try:
            while True:
                while not broken and len(running) < size:
                    job = next(jobs, None)
                    if job is None:
                        break
                    running[pool.submit(execute, job)] = job
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    job = running.pop(future)
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        broken.append(job)
                        continue
                    except Exception as exc:
                        outcome = Outcome.failed(f"execution failed: {type(exc).__name__}: {exc}")
                    on_done(job, outcome)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return broken

    def run(self, jobs: Iterable[ExecutionJob], on_done: Callable[[ExecutionJob, Outcome], None]) -> None:
        jobs = iter(jobs)
        while suspects := self._run_pool(jobs, self.workers, on_done):
            for job in suspects:  # each alone: the one that kills its worker again is reported
                if self._run_pool(iter([job]), 1, on_done):
                    on_done(job, Outcome.failed(KILLED_REASON))
