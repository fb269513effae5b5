"""Where prepared notebooks run at scale: a Dask cluster (`mlops-course grade A --scheduler ADDRESS`).

``--scheduler`` takes
  * ``local``: start a LocalCluster on this machine (``--workers`` processes, one thread
    each, loopback only, HTTP endpoint on a random port) for the run and stop it afterwards;
  * a scheduler address (``tcp://host:8786``, ``tls://...``, or ``host:port``): use an
    existing cluster, e.g. one on Kubernetes (docs/scale-out.md); ``--workers`` is then
    ignored, the cluster's size is what it is;
  * a path to a scheduler file (``dask scheduler --scheduler-file FILE``).

Each job runs ``run_notebook.execute`` on a worker, exactly as the local pool does (same
prepared notebook, same seed, same limits), or, with ``sandbox=True``, in the grading
sandbox container of the worker's machine (``sandbox.SandboxExecutor.execute``, which
needs a Docker engine there), so the scores are the same. ``on_done`` is
called in this process, so the gradebook keeps one writer.

Files. A job names its prepared notebook, working folder and output by absolute path
inside the course folder. When every worker sees those paths (one machine, or the
course folder on storage shared at the same path, e.g. a ReadWriteMany volume), the
workers read and write them in place ("shared"). When some worker does not see them,
each job's working folder is sent to the worker as a tar archive, run in a temporary
folder there, and the executed notebook comes back with the result ("ship"); nothing
has to be shared then. The choice is made once per run by asking every worker whether
it sees the first job's notebook; ``transfer="shared"|"ship"`` (or the environment
variable MLOPS_COURSE_DASK_TRANSFER) forces it.

Workers that die. Dask re-runs the tasks of a dead worker on another one, up to
``allowed-failures`` times (scheduler config; 1 in the LocalCluster started here). A
job Dask gives up on runs once more at the end, alone in the cluster: if it kills its
worker again, it is reported as a failed ``Outcome`` (the worker was killed);
a job that was only unlucky (queued behind a killer) is graded
normally. Without the sandbox, one notebook runs per worker process at a time (the job
sets environment variables for its kernel), even on workers with several threads.

dask/distributed are imported only when a run starts: the local path never pays for them."""

from __future__ import annotations

import io
import itertools
import os
import tarfile
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

from mlops_course.errors import DaskSetupError
from mlops_course.grading.execution.jobs import KILLED_REASON, ExecutionJob, Outcome
from mlops_course.grading.execution.run_notebook import execute
from mlops_course.grading.execution.sandbox import Limits, SandboxExecutor
from mlops_course.infra.files import write_atomic
from mlops_course.settings import env

LOCAL = "local"
SHIP_LIMIT = 200 * 1024 * 1024  # a working folder bigger than this is not sent over the network


# -- on the worker ---------------------------------------------------------------------

_ONE_AT_A_TIME = threading.Lock()  # execute() sets os.environ for its kernel: one job per process
_SANDBOXES: dict = {}  # one SandboxExecutor (engine client, image) per worker process and settings


def _sandboxed(job: ExecutionJob, sandbox: tuple[Limits, bool]) -> Outcome:
    """Run the job in the grading sandbox of the worker's machine (its Docker engine)."""
    with _ONE_AT_A_TIME:  # building the image once, not once per thread
        if sandbox not in _SANDBOXES:
            limits, docker_socket = sandbox
            _SANDBOXES[sandbox] = SandboxExecutor(1, limits, docker_socket, log=lambda line: None)
    return _SANDBOXES[sandbox].execute(job)


def _execute_shared(job: ExecutionJob, sandbox: tuple[Limits, bool] | None = None) -> Outcome:
    if sandbox is not None:
        return _sandboxed(job, sandbox)
    with _ONE_AT_A_TIME:
        return execute(job)


def _execute_shipped(
    job: ExecutionJob, archive: bytes, sandbox: tuple[Limits, bool] | None = None
) -> tuple[Outcome, bytes | None]:
    """Unpack the job's working folder in a temporary folder, run it there; return the
    outcome and the executed notebook's bytes."""
    with tempfile.TemporaryDirectory(prefix="mlops-course-job-") as tmp:
        workdir = Path(tmp) / "work"
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            tar.extractall(tmp, filter="data")  # work/... and input/<notebook>
        workdir.mkdir(exist_ok=True)
        if sandbox is not None:  # the sandbox's unprivileged user reads the (read-only) copy
            os.chmod(tmp, 0o755)
            for path in [workdir, *workdir.rglob("*")]:
                os.chmod(path, 0o755 if path.is_dir() else 0o644)
        here = job.moved(
            input=Path(tmp) / "input" / job.input.name,
            workdir=workdir,
            output=Path(tmp) / "out" / "executed.ipynb",
        )
        outcome = _execute_shared(here, sandbox)
        return outcome, here.output.read_bytes() if here.output.is_file() else None


def _sees(path: str) -> bool:
    return os.path.isfile(path)


# -- in the grading process ----------------------------------------------------------------


def _pack(job: ExecutionJob) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(Path(job.workdir).rglob("*")):
            if path.is_file() and not path.is_symlink():
                tar.add(path, arcname=f"work/{path.relative_to(job.workdir)}", recursive=False)
        tar.add(job.input, arcname=f"input/{Path(job.input).name}", recursive=False)
    data = buffer.getvalue()
    if len(data) > SHIP_LIMIT:
        raise DaskSetupError(
            f"the working folder of {job.key} is {len(data) >> 20} MB compressed: "
            "too big to send to a worker; put the course folder on shared storage"
        )
    return data


class DaskExecutor:
    """Run jobs on a Dask cluster; ``run(jobs, on_done)`` calls ``on_done(job, outcome)``
    in this process as each job finishes (same contract as ``LocalExecutor``)."""

    def __init__(
        self,
        scheduler: str,
        workers: int = 1,
        transfer: str | None = None,
        connect_timeout: float = 30,
        sandbox: bool = True,
        limits=None,
        docker_socket: bool = False,
        no_worker_timeout: float = 600,
    ):
        transfer = transfer or env("MLOPS_COURSE_DASK_TRANSFER") or "auto"
        if transfer not in {"auto", "shared", "ship"}:
            raise ValueError(f"transfer must be auto, shared or ship, not {transfer!r}")
        self.scheduler = scheduler
        self.workers = max(1, workers)
        self.transfer = transfer
        self.connect_timeout = connect_timeout
        self.no_worker_timeout = no_worker_timeout  # a cluster without any worker this long: give up
        self.mode: str | None = None  # what the last run used: "shared" or "ship"
        # sandbox (the default, as for the local executors): every notebook in a locked-down
        # container on the worker's machine (needs a Docker engine there); without it
        # (--no-sandbox), isolation is the worker's own
        self.sandbox = (limits or Limits(), bool(docker_socket)) if sandbox else None

    # cluster and client
    def _local_cluster(self):
        import dask
        from distributed import LocalCluster

        # as the local pool: a job whose worker dies gets one second chance; a worker
        # holds only the job it runs, so a dying worker takes no queued job with it
        with dask.config.set(
            {"distributed.scheduler.allowed-failures": 1, "distributed.scheduler.worker-saturation": 1.0}
        ):
            return LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address="127.0.0.1:0",
                host="127.0.0.1",
            )

    def _client(self):
        from distributed import Client

        if self.scheduler == LOCAL:
            cluster = self._local_cluster()
            return Client(cluster), cluster
        try:
            if os.path.isfile(self.scheduler):
                return Client(scheduler_file=self.scheduler, timeout=self.connect_timeout), None
            return Client(self.scheduler, timeout=self.connect_timeout), None
        except (OSError, TimeoutError) as exc:
            raise DaskSetupError(f"cannot reach the Dask scheduler at {self.scheduler}: {exc}") from None

    def _check_workers(self, client, first: ExecutionJob) -> str:
        """Whether the workers see the course folder ("shared") or need the files ("ship");
        fails early when the workers lack the grading environment."""
        try:
            seen = client.run(_sees, str(first.input))
        except Exception as exc:  # e.g. ModuleNotFoundError: mlops_course is not installed there
            raise DaskSetupError(
                f"the Dask workers cannot run the grading code ({type(exc).__name__}: "
                f"{str(exc)[:200]}): they must run the course's grading environment "
                "(the same image/venv as this machine)"
            ) from None
        if self.sandbox is None and any(n > 1 for n in client.nthreads().values()):
            import warnings

            warnings.warn(
                "some Dask workers have several threads; each runs one notebook at a time: "
                "start workers with --nthreads 1 (and more processes with --nworkers)",
                stacklevel=2,
            )
        if self.transfer != "auto":
            return self.transfer
        # no worker yet (an adaptive cluster scaling up): assume nothing is shared
        return "shared" if seen and all(seen.values()) else "ship"

    def _capacity(self, client) -> int:
        """Notebooks the cluster runs at once now (worker threads; at least 1, so that an
        empty adaptive cluster still gets work and scales up). A cluster that has had no
        worker at all for ``no_worker_timeout`` seconds raises DaskSetupError."""
        threads = sum(client.nthreads().values())
        if threads:
            self._empty_since = None
        else:
            self._empty_since = self._empty_since or time.monotonic()
            if time.monotonic() - self._empty_since > self.no_worker_timeout:
                raise DaskSetupError(
                    f"the Dask cluster at {self.scheduler} has had no worker for {self.no_worker_timeout:g} s"
                )
        return max(1, threads)

    def run(self, jobs: Iterable[ExecutionJob], on_done: Callable[[ExecutionJob, Outcome], None]) -> None:
        """Keep only as many notebooks in the cluster as it has worker threads, so that a
        worker holds just the notebook it runs, and the backlog waits here (not even
        prepared yet), not in the scheduler. When a worker dies, Dask moves its notebook
        to another worker, where it may wait behind a notebook that kills that worker
        too; a job that Dask gives up on (KilledWorker) therefore runs once more at the
        end, alone in the cluster: the one that kills its worker is found and reported,
        the others are graded (as the local pool does with a broken pool). A cluster left
        without any worker for ``no_worker_timeout`` seconds ends the run: every
        unfinished job is reported."""
        from distributed import wait
        from distributed.scheduler import KilledWorker

        jobs = iter(jobs)
        first = next(jobs, None)
        if first is None:
            return
        pending = itertools.chain([first], jobs)
        client, cluster = self._client()
        retry: deque[ExecutionJob] = deque()
        running: dict = {}
        alone: set[str] = set()
        exhausted = False
        self._empty_since = None
        try:
            self.mode = self._check_workers(client, first)
            while not exhausted or retry or running:
                try:
                    capacity = self._capacity(client)
                except DaskSetupError as exc:  # no worker left
                    client.cancel(list(running))
                    for job in [*running.values(), *retry, *pending]:
                        on_done(job, Outcome.failed(f"not executed: {exc}"))
                    running.clear()
                    return
                while not exhausted and len(running) < capacity:
                    job = next(pending, None)
                    if job is None:
                        exhausted = True
                    else:
                        self._start(client, job, running, on_done)
                if exhausted and retry and not running:  # the second chance: alone in the cluster
                    job = retry.popleft()
                    alone.add(job.key)
                    self._start(client, job, running, on_done)
                if not running:
                    continue
                try:
                    done, _ = wait(list(running), timeout=2, return_when="FIRST_COMPLETED")
                except TimeoutError:  # nothing finished: look again at the cluster's size
                    continue
                for future in done:
                    job = running.pop(future)
                    try:
                        result = future.result()
                    except KilledWorker:
                        if job.key not in alone:
                            retry.append(job)
                            continue
                        outcome = Outcome.failed(KILLED_REASON)
                    except Exception as exc:  # a worker-side error, a lost scheduler
                        outcome = Outcome.failed(f"execution failed: {type(exc).__name__}: {exc}")
                    else:
                        outcome, notebook = result if self.mode == "ship" else (result, None)
                        if notebook is not None:
                            write_atomic(job.output, notebook)
                    finally:
                        future.release()
                    on_done(job, outcome)
        finally:
            if running:  # interrupted: nothing of ours keeps running
                client.cancel(list(running))
            client.close()
            if cluster is not None:
                cluster.close()

    def _start(self, client, job: ExecutionJob, running: dict, on_done) -> None:
        try:
            running[self._submit(client, job)] = job
        except DaskSetupError as exc:  # this job only (a working folder too big to ship)
            on_done(job, Outcome.failed(str(exc)))

    def _submit(self, client, job: ExecutionJob):
        key = f"mlops-course-{job.key}-{uuid.uuid4().hex[:8]}"  # a new key: Dask's failure count starts again
        if self.mode == "shared":
            return client.submit(_execute_shared, job, self.sandbox, key=key, pure=False)
        return client.submit(_execute_shipped, job, _pack(job), self.sandbox, key=key, pure=False)
