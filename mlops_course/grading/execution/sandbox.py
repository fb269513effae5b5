"""The grading sandbox: every submission's kernel runs in its own Docker container.

- no network (``network_mode="none"``), read-only root filesystem, all capabilities
  dropped, no new privileges, an unprivileged user (nobody, 65534);
- memory (no swap), CPU and process-count limits; a whole-notebook wall clock that
  kills the container, besides nbgrader's per-cell timeout;
- only the submission's own working folder (its files and the assignment's, no
  notebook) is mounted, read-only, at /sandbox/job; the kernel works on a size-capped
  tmpfs copy (/sandbox/work) and has a small /tmp; other submissions, the gradebook, ``source/``,
  the course folder and the notebook with its hidden tests are not there;
- the course's Python environment is mounted read-only at the same paths, so the
  kernel runs exactly the versions this machine grades with;
- the notebook client stays in the grader and talks to the kernel over Unix sockets
  in a private folder (``container_kernel``): one container and one kernel start per
  submission and nothing else, so the sandbox costs about what a plain kernel does.
  Outputs are kept up to ``run_notebook.MAX_OUTPUT_BYTES`` as they arrive, then cut
  to nbgrader's limits; one output message can be no bigger than what the kernel
  can build inside its memory limit.

``run`` keeps ``workers`` notebooks executing and as many kernels booting ahead of
them, so a kernel's start-up overlaps another notebook's run.

The grading image is the course base image (``mlops_course.infra.base_image``) plus the
system tools some modules need (Prometheus/promtool, Node.js), built once and cached.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from jupyter_core.utils import run_sync

from mlops_course.errors import SandboxError
from mlops_course.grading.execution.jobs import EXECUTED, ExecutionJob, Outcome
from mlops_course.grading.execution.kernels import JOB_DIR, WORK_DIR, ContainerKernel
from mlops_course.grading.execution.run_notebook import KERNEL_ARGUMENTS, execute
from mlops_course.infra.python_env import environment_folders, read_only_mounts
from mlops_course.infra.resources import COURSE_LABEL
from mlops_course.settings import npm_prefixes

GRADER_REPO = "mlops-course/grader"
NOBODY = "65534:65534"

# The grading image: the course base image plus the system tools some modules run.
DOCKERFILE = (resources.files("mlops_course.grading.execution") / "sandbox.Dockerfile").read_text()


@dataclass(frozen=True)
class Limits:
    memory: str = "3g"  # RAM, no swap on top
    cpus: float = 1.0
    pids: int = 256
    work_size: str = "512m"  # the tmpfs working copy
    tmp_size: str = "128m"
    log_size: str = "1m"  # the container's own log (the kernel's stderr)


def _client():
    try:
        import docker

        client = docker.from_env(timeout=300)
        client.ping()
        return client
    except Exception as exc:
        from mlops_course.infra.docker_engine import INSTALL_HINT

        raise SandboxError(
            f"the grading sandbox needs a Docker engine, and none answers ({str(exc)[:120]}). "
            f"{INSTALL_HINT} Or grade with --no-sandbox, which runs student code directly on this "
            "machine (only for submissions you trust)."
        ) from None


def grader_image(client=None, log: Callable[[str], None] = print) -> str:
    """The grading image's tag, built (once) from the course base image."""
    from mlops_course.infra.base_image import ensure_base_image

    client = client or _client()
    base = ensure_base_image(client, log=log)
    digest = hashlib.sha256((DOCKERFILE + base).encode()).hexdigest()[:12]
    tag = f"{GRADER_REPO}:{digest}"
    try:
        client.images.get(tag)
        return tag
    except Exception:
        pass
    log(f"building the grading image {tag} from {base} (once; apt needs the network)")
    client.images.build(
        fileobj=io.BytesIO(DOCKERFILE.encode()),
        tag=tag,
        buildargs={"BASE_IMAGE": base},
        network_mode="host",
        forcerm=True,
        rm=True,
        labels={COURSE_LABEL: "true"},
    )
    return tag


def environment_mounts() -> dict[str, dict]:
    """The folders the course's Python needs, mounted read-only at the same paths, and
    the npm prefix of the Node packages some modules run (m2_cicd), when there is one."""
    import mlops_course

    paths = environment_folders() | {Path(mlops_course.__file__).resolve().parent}
    npm = node_prefix()
    if npm is not None:
        paths.add(npm)
    return read_only_mounts(paths)


def node_prefix() -> Path | None:
    """The first npm prefix that exists: the sandboxed kernel gets it read-only, and
    ``MLOPS_COURSE_NPM_PREFIX`` naming it."""
    return next((p.resolve() for p in npm_prefixes() if (p / "node_modules").is_dir()), None)


class SandboxExecutor:
    """Run each job in a fresh container; ``workers`` containers at a time."""

    def __init__(
        self,
        workers: int,
        limits: Limits | None = None,
        docker_socket: bool = False,
        log: Callable[[str], None] = print,
    ):
        self.workers = max(1, workers)
        self.limits = limits or Limits()
        self.docker_socket = docker_socket
        self.client = _client()
        self.image = grader_image(self.client, log)
        self.mounts = environment_mounts()
        self.npm = node_prefix()
        self.run_label = f"{COURSE_LABEL}.grading-run={os.getpid()}-{id(self):x}"

    def container_options(self, job: ExecutionJob) -> dict:
        import docker

        limits = self.limits
        volumes = dict(self.mounts)
        volumes[str(job.workdir)] = {"bind": JOB_DIR, "mode": "ro"}
        options = dict(
            network_mode="none",
            read_only=True,
            user=NOBODY,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            mem_limit=limits.memory,
            memswap_limit=limits.memory,
            nano_cpus=int(limits.cpus * 1e9),
            pids_limit=limits.pids,
            init=True,
            tmpfs={
                WORK_DIR: f"size={limits.work_size},mode=1777",
                "/tmp": f"size={limits.tmp_size},mode=1777",
            },
            volumes=volumes,  # no working_dir: Docker would make the tmpfs 0755 (the kernel cds there)
            environment={
                **job.env,
                "HOME": "/tmp",
                "MPLCONFIGDIR": "/tmp/matplotlib",
                "IPYTHONDIR": "/tmp/ipython",
                "JUPYTER_RUNTIME_DIR": "/tmp/jupyter",
                "JUPYTER_DATA_DIR": "/tmp/jupyter-data",
                "PYTHONDONTWRITEBYTECODE": "1",
                **({"MLOPS_COURSE_NPM_PREFIX": str(self.npm)} if self.npm else {}),
                "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            },
            labels={
                COURSE_LABEL: "true",
                f"{COURSE_LABEL}.role": "grading-job",
                f"{COURSE_LABEL}.job": job.key,
                f"{COURSE_LABEL}.workdir": str(job.workdir),
                self.run_label.split("=")[0]: self.run_label.split("=")[1],
            },
            log_config=docker.types.LogConfig(
                type="json-file", config={"max-size": limits.log_size, "max-file": "1"}
            ),
        )
        if self.docker_socket:  # m1_docker drives the engine; this gives the job the engine's power
            options["volumes"]["/var/run/docker.sock"] = {"bind": "/var/run/docker.sock", "mode": "rw"}
            options["group_add"] = [str(os.stat("/var/run/docker.sock").st_gid)]
            options["network_mode"] = "host"
        return options

    def execute(self, job: ExecutionJob, gate: threading.Semaphore | None = None) -> Outcome:
        """Run one job: its kernel in a fresh container, the notebook client here.

        The container and its kernel start first; with ``gate``, the notebook then waits
        for a free slot of it, so a kernel boots while another notebook runs."""
        spec = {"client": self.client, "image": self.image, "options": self.container_options(job)}
        kernels = [ContainerKernel(spec)]

        def fresh_kernels():  # the one started ahead, then a new one if execute starts again
            yield kernels[0]
            while True:
                kernels.append(ContainerKernel(spec))
                yield kernels[-1]

        try:
            run_sync(kernels[0].start_kernel)(extra_arguments=list(KERNEL_ARGUMENTS))
            with gate or contextlib.nullcontext():
                outcome = execute(job.moved(workdir=WORK_DIR), fresh_kernels().__next__)
        finally:
            for kernel in kernels:
                kernel.remove()
        if outcome.grader_failed:  # the kernel's last words, for the lecturer
            tail = " | ".join(kernels[-1].kernel_log.strip().splitlines()[-3:])[:400]
            if tail:
                outcome.reason = f"{outcome.reason} (kernel log: {tail})"
        if outcome.status != EXECUTED and any(kernel.oom_killed for kernel in kernels):
            outcome.reason = (
                f"the notebook used more than the {self.limits.memory} memory limit and "
                f"was stopped: {outcome.reason or ''}"
            )
        return outcome

    def run(self, jobs: Iterable[ExecutionJob], on_done: Callable[[ExecutionJob, Outcome], None]) -> None:
        """``workers`` notebooks execute at once; as many kernels again boot ahead. Jobs
        are taken from ``jobs`` only when there is room for them."""
        gate = threading.Semaphore(self.workers)
        running: dict[Future, ExecutionJob] = {}
        jobs = iter(jobs)
        try:
            with ThreadPoolExecutor(2 * self.workers) as pool:
                while True:
                    while len(running) < 2 * self.workers and (job := next(jobs, None)) is not None:
                        running[pool.submit(self._safe_execute, job, gate)] = job
                    if not running:
                        break
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        on_done(running.pop(future), future.result())
        finally:
            self.sweep()

    def sweep(self) -> None:
        """Remove any container of this run that is still there (a failed removal)."""
        for container in self.client.containers.list(all=True, filters={"label": self.run_label}):
            try:
                container.remove(force=True)
            except Exception:  # already gone
                pass

    def _safe_execute(self, job: ExecutionJob, gate=None) -> Outcome:
        try:
            return self.execute(job, gate)
        except Exception as exc:  # an engine error must not stop the other jobs
            return Outcome.failed(f"sandbox error: {type(exc).__name__}: {str(exc)[:300]}")
