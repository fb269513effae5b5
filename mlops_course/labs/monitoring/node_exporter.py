"""node_exporter on 127.0.0.1: the metrics of the machine (the build VM), and a bounded load.

node_exporter reads the kernel's counters (/proc, /sys, statfs) and serves them as
``node_*`` metrics: CPU seconds per mode, memory, filesystems' free bytes. It sees the
whole machine, including every other process on it. Only the collectors the lab uses
are on, so that a scrape stays cheap on a small machine.

:class:`DiskFill` is a real, bounded load for an alert to catch: it writes a file at a
steady rate for a few seconds, then deletes it.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

from mlops_course.infra.parts import PartStatus
from mlops_course.labs.monitoring.service import LocalService, programs_status

PROGRAM = "prometheus-node-exporter"
COLLECTORS = ("cpu", "meminfo", "filesystem", "loadavg")
INSTALL_HINT = (
    "node_exporter is not installed. On Debian/Ubuntu: "
    "`sudo apt-get install --no-install-recommends prometheus-node-exporter` (the course "
    "starts its own on 127.0.0.1; the system service is not needed). Elsewhere, download "
    "`node_exporter` from prometheus.io and put it on your PATH as `prometheus-node-exporter`."
)
MAX_FILL_MB = 200  # the most a DiskFill may write
MAX_FILL_SECONDS = 30
MAX_FILL_SHARE = 0.7  # of the free space: the grading sandbox's /tmp has 128 MB


def status() -> PartStatus:
    """Is node_exporter installed? Never raises."""
    return programs_status("node_exporter", (PROGRAM,), INSTALL_HINT)


class NodeExporter(LocalService):
    """A node_exporter of our own with the CPU, memory, filesystem and load collectors."""

    program = PROGRAM
    label = "node_exporter"
    install_hint = INSTALL_HINT
    ready_path = "/metrics"

    def command(self, binary: str, port: int) -> list[str]:
        return [
            binary,
            f"--web.listen-address=127.0.0.1:{port}",
            "--collector.disable-defaults",
            *(f"--collector.{name}" for name in COLLECTORS),
            "--log.level=warn",
        ]


def mountpoint_of(path: str | Path) -> str:
    """The mount point of the filesystem that holds ``path``, as node_exporter labels
    it (``mountpoint``): the longest mount point above it in /proc/self/mounts."""
    target = Path(path).resolve()
    best = "/"
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:  # not Linux
        return best
    for line in lines:
        fields = line.split()
        if len(fields) < 2:
            continue
        mount = fields[1].replace("\\040", " ")
        if (target == Path(mount) or Path(mount) in target.parents) and len(mount) > len(best):
            best = mount
    return best


class DiskFill:
    """Write ``megabytes`` into a file in ``folder`` at a steady rate over ``seconds``,
    in a background thread; ``finish()`` (or leaving ``with``) waits for the end and
    deletes the file, so the space comes back. Bounded: at most MAX_FILL_MB, at most
    MAX_FILL_SECONDS, and never more than MAX_FILL_SHARE of the free space."""

    CHUNK = 1 << 20

    def __init__(self, folder: str | Path, megabytes: float, seconds: float):
        self.folder = Path(folder)
        free_mb = shutil.disk_usage(self.folder).free / 2**20
        if not 0 < megabytes <= min(MAX_FILL_MB, free_mb * MAX_FILL_SHARE):
            raise ValueError(
                f"a disk load of {megabytes} MB is out of bounds: at most {MAX_FILL_MB} MB and at most "
                f"{MAX_FILL_SHARE:.0%} of the free space ({free_mb:.0f} MB free in {self.folder})"
            )
        if not 0 < seconds <= MAX_FILL_SECONDS:
            raise ValueError(f"a disk load must last between 0 and {MAX_FILL_SECONDS} s, not {seconds}")
        self.megabytes, self.seconds = float(megabytes), float(seconds)
        self.path = self.folder / f"disk-load-{os.getpid()}-{id(self):x}.bin"
        self.written = 0  # bytes
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self._thread = threading.Thread(target=self._write, name="disk-fill", daemon=True)
        self._cancel = threading.Event()

    @property
    def rate_mb_per_s(self) -> float:
        return self.megabytes / self.seconds

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> DiskFill:
        self.started_at = time.time()
        self._thread.start()
        return self

    def _write(self) -> None:
        chunk = os.urandom(self.CHUNK)  # incompressible, in case the filesystem compresses
        total = int(self.megabytes * 2**20)
        begin = time.monotonic()
        with open(self.path, "wb") as out:
            while self.written < total and not self._cancel.is_set():
                size = min(self.CHUNK, total - self.written)
                out.write(chunk[:size])
                out.flush()  # statfs counts the blocks as used from the write on (delayed allocation reserves them)
                self.written += size
                due = begin + self.seconds * self.written / total  # steady rate
                self._cancel.wait(max(0.0, due - time.monotonic()))
        self.stopped_at = time.time()

    def finish(self) -> None:
        """Wait for the load to end, then delete its file (also after an error)."""
        try:
            if self._thread.is_alive():
                self._thread.join(timeout=self.seconds + 30)
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Stop writing now and delete the file."""
        self._cancel.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> DiskFill:
        return self.start()

    def __exit__(self, *exc) -> None:
        if exc[0] is not None:
            self.cancel()
        else:
            self.finish()
