"""A helper process of the monitoring lab on 127.0.0.1:<free port>.

Every part the lab runs (Prometheus, the Pushgateway, the Alertmanager, node_exporter,
rsyslog, the model API) is a :class:`LocalService`: it finds its program (PATH first,
then Debian's /usr/bin and /usr/sbin, which is not on a user's PATH), writes its files
into a work folder, starts on a free loopback port (again on another port when some
other process took it first), waits until it answers, and stops on ``stop()``, on
leaving ``with``, at interpreter exit, and when the parent process (the notebook's
kernel) dies. Nothing here needs root, a system service or the network beyond loopback.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, ClassVar, TypeVar

from mlops_course.errors import MonitoringPartMissing, ServiceStartError
from mlops_course.infra.parts import PartStatus
from mlops_course.infra.processes import die_with_parent, free_port, stop_process

SEARCH_DIRS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin")

T = TypeVar("T")


def wait_until(
    read: Callable[[], T],
    done: Callable[[T], bool],
    timeout: float,
    what: str,
    interval: float = 0.1,
    ignore: tuple[type[Exception], ...] = (),
) -> T:
    """Read until ``done(value)`` holds and return that value; TimeoutError naming
    ``what`` after ``timeout`` seconds. A read raising one of ``ignore`` counts as not
    done yet (a service still starting up)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = read()
            if done(value):
                return value
        except ignore:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def find_binary(name: str) -> str | None:
    """Path of a program: PATH first, then the usual system folders."""
    found = shutil.which(name)
    if found:
        return found
    for folder in SEARCH_DIRS:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def require_binary(name: str, install_hint: str) -> str:
    """Path of a program, or MonitoringPartMissing saying how to install it."""
    path = find_binary(name)
    if path is None:
        raise MonitoringPartMissing(f"`{name}` not found. {install_hint}")
    return path


def program_version(path: str, flag: str = "--version") -> str | None:
    """The version a program prints (``... version 1.5.1 ...``), or None."""
    try:
        out = subprocess.run([path, flag], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = (out.stdout + out.stderr).replace(",", " ").split()
    for before, word in zip(words, words[1:]):
        if before.lower() in {"version", "v", "rsyslogd"} and word[:1].isdigit():
            return word
    return None


def programs_status(
    label: str, names: tuple[str, ...], install_hint: str, version_flag: str = "--version"
) -> PartStatus:
    """Are these programs installed? The version is the first one's. Never raises."""
    missing = [name for name in names if find_binary(name) is None]
    if missing:
        return PartStatus(False, f"{' and '.join(missing)} not found. {install_hint}")
    path = find_binary(names[0])
    version = program_version(path, version_flag)
    others = f" (with {', '.join(names[1:])})" if len(names) > 1 else ""
    return PartStatus(
        True,
        f"{label} {version or ''} is installed at {path}{others}.".replace("  ", " "),
        version,
        Path(path),
    )


class LocalService:
    """One helper process of ours; subclasses say how to start it and when it is ready."""

    program: ClassVar[str] = ""  # the binary
    name: ClassVar[str] = ""  # its log file and work folder are named after it (default: program)
    label: ClassVar[str] = ""  # its name in messages
    install_hint: ClassVar[str] = ""
    ready_path: ClassVar[str | None] = "/-/ready"  # answers 200 when ready; None: the port accepts TCP
    _running: ClassVar[list[LocalService]] = []

    def __init__(
        self, port: int | None = None, workdir: str | Path | None = None, startup_timeout: float = 20.0
    ):
        self.port = port
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self._given_workdir = Path(workdir) if workdir else None
        self.workdir: Path | None = None

    # -- what a subclass provides
    def command(self, binary: str, port: int) -> list[str]:
        raise NotImplementedError

    def write_files(self) -> None:
        """Write configuration files into ``self.workdir`` (``self.port`` is chosen)."""

    def environment(self) -> dict[str, str] | None:
        """The child's environment (None: this process's)."""
        return None

    def stdout(self) -> IO | int | None:
        """Where the child's stdout goes (None: its log file, with stderr)."""
        return None

    # -- lifecycle
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def target(self) -> str:
        """host:port, as a Prometheus scrape target or an Alertmanager address."""
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return (self.workdir or Path(tempfile.gettempdir())) / f"{self.name or self.program}.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self):
        """Start the process and wait until it answers; ServiceStartError with its log if not."""
        binary = require_binary(self.program, self.install_hint)
        if self.workdir is None:
            if self._given_workdir:
                self.workdir = self._given_workdir
                self.workdir.mkdir(parents=True, exist_ok=True)
            else:
                self.workdir = Path(tempfile.mkdtemp(prefix=f"mlops-{self.name or self.program}-"))
        fixed_port, last_error = self.port, ""
        for _attempt in range(3):  # a free port can be taken between the check and the bind
            self.port = fixed_port or free_port()
            self.write_files()  # after the port is chosen: some configurations name it
            self._spawn(binary)
            try:
                self._wait_ready()
                return self
            except ServiceStartError as exc:
                last_error = str(exc)
                self._stop_process()
                if fixed_port or "address already in use" not in last_error.lower():
                    break
        self.stop()
        raise ServiceStartError(last_error)

    def _spawn(self, binary: str) -> None:
        with open(self.log_path, "ab") as log:
            stdout = self.stdout()
            self.process = subprocess.Popen(
                self.command(binary, self.port),
                cwd=self.workdir,
                stdout=log if stdout is None else stdout,
                stderr=log,
                stdin=subprocess.DEVNULL,
                env=self.environment(),
                preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,
            )
        LocalService._running.append(self)

    def _answers(self) -> bool:
        if self.ready_path is None:
            with socket.socket() as sock:
                sock.settimeout(1)
                return sock.connect_ex(("127.0.0.1", self.port)) == 0
        try:
            with urllib.request.urlopen(f"{self.url}{self.ready_path}", timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceStartError(
                    f"{self.label} exited with code {self.process.returncode}:\n{self.log_tail()}"
                )
            if self._answers():
                return
            time.sleep(0.05)
        raise ServiceStartError(
            f"{self.label} was not ready after {self.startup_timeout:.0f} s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        path = self.log_path
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def _stop_process(self) -> None:
        stop_process(self.process)
        if self in LocalService._running:
            LocalService._running.remove(self)

    def stop(self) -> None:
        """Stop the process and delete the work folder it made; safe to call twice."""
        self._stop_process()
        if self.workdir and self._given_workdir is None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self):
        return self.start() if self.process is None else self

    def __exit__(self, *exc) -> None:
        self.stop()


def stop_all() -> None:
    """Stop every service still running (at interpreter exit)."""
    for service in list(LocalService._running):
        try:
            service.stop()
        except Exception:
            pass


atexit.register(stop_all)
