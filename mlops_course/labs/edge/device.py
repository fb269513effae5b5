"""A device with limited compute for module m5_edge: TensorFlow Lite models run under a
share of one CPU and a memory limit, and latency and RAM are measured there.

::

    from mlops_course.labs.edge import device as edge_device
    board = edge_device.Device(cpus=0.25, memory_mb=128)
    print(board.describe())
    runs = board.run({"int8": "digits_int8.tflite"}, x_test)   # {"int8": DeviceRun(...)}

Each :meth:`Device.run` "flashes" the models and samples into a fresh folder and, for
each model, boots the device on it: it runs ``device_probe.py`` (numpy and the LiteRT
interpreter, nothing else), which reports what :class:`DeviceRun` holds. Two kinds of
device with the same limits and the same program:

- **container** (when a Docker engine answers): made from the course base image,
  ``cpu_quota`` / ``cpu_period`` (the kernel's CFS bandwidth control: in every period
  of ``PERIOD_S`` the container may use ``cpus`` times that much CPU time, then it
  waits for the next period), a memory limit without swap, no network, read-only, no
  capabilities. This machine's Python environment is mounted read-only at its own
  paths, so the device runs the same LiteRT as the notebook.
- **process** (no engine, e.g. inside the grading sandbox, or a container that cannot
  boot): a child process held to the same CPU share from here, the way the kernel
  holds a container: its CPU time is read from ``/proc/<pid>/task/*/schedstat``
  (nanoseconds), and once it has used its share of the period it is stopped
  (SIGSTOP) until the next one (SIGCONT); a late wake-up of this thread is paid back
  in the next period, so the long-run share is exact. Its memory is capped with
  ``RLIMIT_AS`` at what the limit leaves once the runtime has loaded: the limit minus
  the runtime's own (anonymous) memory, which is what a container's limit is charged
  with (shared libraries already in the page cache are not); address space is at least
  resident memory, so this is at least as strict for everything a model allocates.
  ``nice`` would not do (it slows a process only when others compete for the CPU), nor
  ``taskset`` (whole cores only), and cgroups need privileges the sandbox does not give.

Linux only (``/proc``, signals, rlimits); a container needs an engine that can bind
this machine's folders.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from mlops_course.errors import BaseImageError, DeviceError
from mlops_course.infra.processes import die_with_parent
from mlops_course.infra.python_env import environment_folders, read_only_mounts
from mlops_course.infra.resources import resource_labels

PERIOD_S = 0.02  # the CPU share is enforced per 20 ms, as CFS bandwidth control does
MIN_CPUS = 0.05  # the kernel's smallest quota is 1 ms: 1 ms / 20 ms
MIN_MEMORY_MB = 32  # Python, numpy and LiteRT allocate ~15 MB of their own (+ ~25 MB of libraries)
FLASH = "/device/flash"  # where a container device sees its models and samples
BACKENDS = ("auto", "container", "process")
PROBE_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # one thread, as on the board


@dataclass(frozen=True)
class DeviceRun:
    """What the device measured for one model (times in ms, RAM in KiB / MiB)."""

    model: str  # the name the model was given in Device.run
    sha256: str  # of the .tflite file
    backend: str  # "container" or "process"
    cpus: float
    memory_mb: int
    inferences: int = 0
    seconds: float = 0.0
    ms_per_inference: float = math.nan  # sustained: wall time of the run / inferences
    cpu_ms_per_inference: float = math.nan  # CPU time the device spent per inference
    p50_ms: float = math.nan  # wall time of one invoke(): median,
    p99_ms: float = math.nan  # 99th percentile,
    max_ms: float = math.nan  # and worst
    model_ram_kb: float = math.nan  # resident memory the model added (runtime already loaded)
    peak_ram_mb: float = math.nan  # peak resident memory of the device process while it ran
    error: str | None = None  # why the model could not run (e.g. out of memory)

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict:
        return asdict(self)


def file_sha256(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def probe_path() -> Path:
    """The program the device runs (shipped in the package)."""
    return Path(str(resources.files("mlops_course.labs.edge") / "device_probe.py"))


class Device:
    """A device with ``cpus`` of one CPU (0.05-1) and ``memory_mb`` of RAM.

    ``backend``: "auto" (a container when a Docker engine answers and the container
    boots, else a process), "container" or "process". ``seconds``: how long each model
    runs (at least one pass over the samples). ``log``: where progress lines go."""

    def __init__(
        self,
        cpus: float = 0.25,
        memory_mb: int = 128,
        backend: str = "auto",
        seconds: float = 1.0,
        warmup: int = 50,
        log: Callable[[str], None] = print,
    ):
        if not MIN_CPUS <= cpus <= 1.0:
            raise DeviceError(f"cpus={cpus}: a device has between {MIN_CPUS} and 1 CPU")
        if memory_mb < MIN_MEMORY_MB:
            raise DeviceError(
                f"memory_mb={memory_mb}: the runtime alone needs ~15 MB; give the device >= {MIN_MEMORY_MB}"
            )
        if backend not in BACKENDS:
            raise DeviceError(f"backend={backend!r}: choose one of {', '.join(BACKENDS)}")
        if not sys.platform.startswith("linux"):
            raise DeviceError(
                "the edge device needs Linux (/proc, signals, rlimits); run the notebook on Linux"
            )
        self.cpus, self.memory_mb, self.seconds, self.warmup, self.log = cpus, memory_mb, seconds, warmup, log
        self.runs: list[DeviceRun] = []  # every measurement, in order
        self.fallback_reason: str | None = None
        self._image: str | None = None
        self.backend, self._may_fall_back = backend, backend == "auto"
        if backend == "auto":
            self.backend = "container" if self._container_possible() else "process"
        elif backend == "container" and not self._container_possible():
            raise DeviceError(f"no container device: {self.fallback_reason}")

    # -- which device ----------------------------------------------------------------

    def _container_possible(self) -> bool:
        from mlops_course.infra.docker_engine import engine_status

        if not engine_status().available:
            self.fallback_reason = "no Docker engine answers"
            return False
        try:
            self._container_image()
        except (BaseImageError, OSError) as exc:
            self.fallback_reason = f"no base image for a container: {str(exc).split('. ')[0][:200]}"
            return False
        return True

    def _container_image(self) -> str:
        if self._image is None:
            from mlops_course.infra.base_image import ensure_base_image

            self._image = ensure_base_image(log=self.log)
        return self._image

    def describe(self) -> str:
        kind = "a container from the course base image"
        if self.backend == "process":
            kind = "a capped child process" + (f" ({self.fallback_reason})" if self.fallback_reason else "")
        return (
            f"edge device: {self.cpus:g} CPU (enforced per {PERIOD_S * 1000:.0f} ms), "
            f"{self.memory_mb} MB RAM, no swap, one LiteRT thread; {kind}"
        )

    # -- running models ----------------------------------------------------------------

    def run(
        self, models: Mapping[str, str | os.PathLike] | str | os.PathLike, samples: np.ndarray
    ) -> dict[str, DeviceRun]:
        """Flash the models (a name -> .tflite path mapping, or one path) and the float32
        ``samples`` onto the device, run each model there and return what it measured,
        by name. A model that exceeds the device's memory comes back with ``error``."""
        if not isinstance(models, Mapping):
            models = {Path(models).stem: models}
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim < 2 or len(samples) == 0:
            raise DeviceError("samples: give a 2-D array with one sample per row, e.g. x_test[:200]")
        with tempfile.TemporaryDirectory(prefix="mlops-edge-device-") as tmp:
            flash = Path(tmp)
            os.chmod(flash, 0o755)  # readable by the device's user
            files, digests = {}, {}
            for index, (name, path) in enumerate(models.items()):
                if not Path(path).is_file():
                    raise DeviceError(f"{name}: no model file at {path}")
                files[name] = f"model{index}.tflite"
                shutil.copyfile(path, flash / files[name])
                digests[name] = file_sha256(path)
            np.save(flash / "samples.npy", samples)
            shutil.copyfile(probe_path(), flash / "device_probe.py")
            measured = self._run_all(flash, files)
        runs = {
            name: DeviceRun(
                model=name,
                sha256=digests[name],
                cpus=self.cpus,
                memory_mb=self.memory_mb,
                **measured[name],
            )
            for name in files
        }
        self.runs.extend(runs.values())
        return runs

    def _run_all(self, flash: Path, files: dict[str, str]) -> dict[str, dict]:
        """Boot a fresh device for each model, so that none is measured in memory another
        one left behind; a model that kills its device (out of memory) gets an error."""
        results: dict[str, dict] = {}
        for name, file in files.items():
            while name not in results:
                events, died = self._boot(flash, name, file)
                ready = next((e for e in events if e.get("event") == "ready"), None)
                if ready is None and self.backend == "container" and self._may_fall_back:
                    # e.g. an engine that cannot bind this machine's folders, or another Python
                    self.fallback_reason = f"the container did not boot ({died or 'no output'})"
                    self.log(f"edge device: {self.fallback_reason}; using a capped process instead")
                    self.backend, self._may_fall_back = "process", False
                    continue
                if ready is None or ready.get("error"):
                    reason = (ready or {}).get("error") or died or "the device printed nothing"
                    raise DeviceError(f"the edge device did not start: {reason}")
                measured = next((e for e in events if e.get("event") == "model"), None)
                if measured is None:  # it died measuring the model
                    results[name] = {"error": died or "the device stopped without a result"}
                else:
                    results[name] = {k: v for k, v in measured.items() if k not in ("event", "name")}
                results[name]["backend"] = self.backend
        return results

    def _request(self, flash_seen: str, name: str, file: str, cap_address_space: bool) -> dict:
        return {
            "name": name,
            "model": f"{flash_seen}/{file}",
            "samples": f"{flash_seen}/samples.npy",
            "seconds": self.seconds,
            "warmup": self.warmup,
            "memory_mb": self.memory_mb,
            "cap_address_space": cap_address_space,
        }

    def _timeout(self) -> float:
        """Boot (the imports, slowed by the CPU share) plus the model's run, with room."""
        return 60 + (self.seconds + 2) / self.cpus

    def _boot(self, flash: Path, name: str, file: str) -> tuple[list[dict], str | None]:
        """Run the probe once on one model; its events, and why it died when it did not end well."""
        if self.backend == "container":
            return self._boot_container(flash, name, file)
        return self._boot_process(flash, name, file)

    def _boot_container(self, flash: Path, name: str, file: str) -> tuple[list[dict], str | None]:
        import docker

        (flash / "request.json").write_text(
            json.dumps(self._request(FLASH, name, file, cap_address_space=False))
        )
        volumes = read_only_mounts(environment_folders())
        volumes[str(flash)] = {"bind": FLASH, "mode": "ro"}
        client = docker.from_env(timeout=120)
        try:
            try:
                container = client.containers.run(
                    self._container_image(),
                    [sys.executable, "-I", f"{FLASH}/device_probe.py", f"{FLASH}/request.json"],
                    detach=True,
                    cpu_period=int(PERIOD_S * 1_000_000),
                    cpu_quota=int(self.cpus * PERIOD_S * 1_000_000),
                    mem_limit=f"{self.memory_mb}m",
                    memswap_limit=f"{self.memory_mb}m",
                    pids_limit=64,
                    network_mode="none",
                    read_only=True,
                    cap_drop=["ALL"],
                    security_opt=["no-new-privileges"],
                    user=f"{os.getuid()}:{os.getgid()}",
                    environment=PROBE_ENV,
                    volumes=volumes,
                    labels=resource_labels(role="edge-device"),
                )
            except docker.errors.DockerException as exc:  # e.g. an engine without CPU quotas (rootless)
                return [], f"the engine refused the container: {str(exc).splitlines()[0][:300]}"
            try:
                return self._wait_container(container)
            finally:
                try:
                    container.remove(force=True)
                except docker.errors.APIError:  # already gone
                    pass
        finally:
            client.close()

    def _wait_container(self, container) -> tuple[list[dict], str | None]:
        try:
            status = container.wait(timeout=self._timeout())
        except Exception:  # requests' ReadTimeout and friends
            return _events(container.logs(stdout=True, stderr=False)), "the device did not finish in time"
        output = container.logs(stdout=True, stderr=False)
        container.reload()
        died = None
        if container.attrs["State"].get("OOMKilled") or status.get("StatusCode") == 137:
            died = f"out of memory: the device's {self.memory_mb} MB were exceeded (killed)"
        elif status.get("StatusCode"):
            tail = container.logs(stdout=False, stderr=True).decode(errors="replace").strip().splitlines()
            died = f"exit {status['StatusCode']}: {' | '.join(tail[-2:])[:300]}"
        return _events(output), died

    def _boot_process(self, flash: Path, name: str, file: str) -> tuple[list[dict], str | None]:
        (flash / "request.json").write_text(
            json.dumps(self._request(str(flash), name, file, cap_address_space=True))
        )
        process = subprocess.Popen(
            [sys.executable, "-I", str(flash / "device_probe.py"), str(flash / "request.json")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **PROBE_ENV},
            preexec_fn=functools.partial(die_with_parent, signal.SIGKILL),
        )
        throttle = CpuShare(process.pid, self.cpus)
        throttle.start()
        try:
            output, errors = process.communicate(timeout=self._timeout())
        except subprocess.TimeoutExpired:
            process.kill()
            output, errors = process.communicate()
            return _events(output), "the device did not finish in time"
        finally:
            throttle.stop()
        died = None
        if process.returncode:
            tail = errors.decode(errors="replace").strip().splitlines()
            died = f"exit {process.returncode}: {' | '.join(tail[-2:])[:300]}"
            if "MemoryError" in errors.decode(errors="replace") or process.returncode == -signal.SIGKILL:
                died = f"out of memory: the device's {self.memory_mb} MB were exceeded ({died})"
        return _events(output), died


def _events(output: bytes) -> list[dict]:
    events = []
    for line in output.decode(errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:  # a stray line from a library
            continue
    return [e for e in events if isinstance(e, dict)]


def cpu_seconds(pid: int) -> float:
    """CPU time every thread of process ``pid`` has used, from ``/proc``: the first
    field of each thread's ``schedstat`` is nanoseconds on a CPU."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as stat:
                total += int(stat.read().split()[0])
        except FileNotFoundError:  # the thread ended meanwhile
            continue
    return total / 1e9


class CpuShare(threading.Thread):
    """Hold process ``pid`` to ``cpus`` of one CPU: in every period of ``period`` seconds
    it may use ``cpus * period`` seconds of CPU time, then it is stopped until the next
    period (CFS bandwidth control, from user space). CPU used beyond the quota (this
    thread woke late) is taken from the next periods."""

    def __init__(self, pid: int, cpus: float, period: float = PERIOD_S):
        super().__init__(daemon=True, name=f"cpu-share-{pid}")
        self.pid, self.quota, self.period = pid, cpus * period, period
        self._done = threading.Event()
        self.held_seconds = 0.0  # how long the child was stopped in all

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=5)

    def _signal(self, number: int) -> bool:
        try:
            os.kill(self.pid, number)
            return True
        except ProcessLookupError:
            return False

    def run(self) -> None:
        try:
            last_used = cpu_seconds(self.pid)
        except (FileNotFoundError, ProcessLookupError):
            return
        credit = self.quota  # CPU time the child may still use in this period (negative: debt)
        boundary = time.monotonic() + self.period
        held = False
        while not self._done.is_set():
            try:
                used = cpu_seconds(self.pid)
            except (FileNotFoundError, ProcessLookupError):  # it ended
                return
            credit -= used - last_used
            last_used = used
            now = time.monotonic()
            if now >= boundary:  # new period(s): refill, never above one quota (unused CPU is lost)
                passed = math.floor((now - boundary) / self.period) + 1
                credit = min(self.quota, credit + passed * self.quota)
                boundary += passed * self.period
            if credit <= 0:  # share spent: stop it until the periods that pay the debt back
                if not held and not self._signal(signal.SIGSTOP):
                    return
                held = True
                resume = boundary + math.floor(-credit / self.quota) * self.period
                self.held_seconds += max(0.0, resume - now)
                self._done.wait(max(0.0, resume - now))
                continue
            if held:
                if not self._signal(signal.SIGCONT):
                    return
                held = False
            # look again when the share could be spent at the earliest (running flat out)
            self._done.wait(max(0.0005, min(credit, boundary - now)))
        self._signal(signal.SIGCONT)  # never leave it stopped
