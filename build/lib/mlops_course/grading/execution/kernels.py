"""The kernels graded notebooks run on; the grader picks one by type.

``LocalKernel``: a kernel process on this machine (``--no-sandbox``, the local pool,
Dask without the sandbox), its sockets Unix sockets in a private folder.

``ContainerKernel``: a kernel in a grading sandbox container, driven from this process.
Only the kernel (the process that runs student code) is in the container; the
notebook client (nbclient) stays in the grader, so each submission costs one
container and one kernel start, nothing more. The container has no network: the
kernel's ZeroMQ sockets are Unix sockets (transport ``ipc``) in a private folder
that is mounted into the container at /kernel, and closed to the kernel once its
sockets are there; nothing else of this machine is shared with it but the read-only
environment and the job's own files.

``ContainerProvisioner`` is a jupyter_client kernel provisioner: interrupts and
kills are container signals, the kernel's exit is the container's exit (watched
by one thread, no polling), and cleaning up removes the container.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

# Inside a sandbox container, apart from the environment's own paths (a checkout under
# /work must not appear inside the student's working folder).
JOB_DIR = "/sandbox/job"  # the job's working folder, mounted read-only
WORK_DIR = "/sandbox/work"  # its size-capped copy, where the kernel runs
KERNEL_DIR = "/kernel"  # the socket folder


def kill_tree(pid: int | None) -> None:
    if not pid:
        return
    import psutil

    try:
        parent = psutil.Process(pid)
        procs = parent.children(recursive=True) + [parent]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=10)


class LocalKernel(AsyncKernelManager):
    """A kernel whose sockets are Unix sockets in a private folder: kernels that several
    workers start at once cannot race for the same TCP port, and no other user of the
    machine can reach them. ``remove()`` deletes the folder."""

    def __init__(self, **kwargs):
        self.private = Path(tempfile.mkdtemp(prefix="mlops-kernel-"))  # 0700
        self.sockets = self.private / "k"
        self.sockets.mkdir()
        super().__init__(
            kernel_name="python3",
            transport="ipc",
            ip=str(self.sockets / "ipc"),
            connection_file=str(self.sockets / "kernel.json"),
            transport_encryption="disabled",
            **kwargs,
        )

    def remove(self) -> None:
        shutil.rmtree(self.private, ignore_errors=True)

    def kernel_ready(self, **_: Any) -> None:
        """nbclient's ``on_notebook_start`` hook: the kernel is up, no student code has run."""

    def stop_everything(self) -> None:
        """Kill the kernel process and every process it started."""
        kill_tree(getattr(self.provisioner, "pid", None))


class ContainerProvisioner(LocalProvisioner):
    """Starts the kernel command in a container (``spec``: create options from the
    sandbox) instead of a local process."""

    spec: dict = {}
    container = None
    exit_code: int | None = None
    oom_killed: bool = False
    log: str = ""
    _exited: threading.Event | None = None

    @property
    def has_process(self) -> bool:
        return self.container is not None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        km = self.parent
        info = km.get_connection_info()
        inside = dict(info, ip=f"{KERNEL_DIR}/{Path(km.ip).name}", key=info["key"].decode())
        inside_file = Path(km.connection_file).with_name("kernel-inside.json")
        inside_file.write_text(json.dumps(inside))
        inside_file.chmod(0o644)  # read by the unprivileged kernel; the folder above is private
        command = [f"{KERNEL_DIR}/{inside_file.name}" if arg == km.connection_file else arg for arg in cmd]
        client, options = self.spec["client"], dict(self.spec["options"])
        options["volumes"] = {
            **options["volumes"],
            str(Path(km.connection_file).parent): {"bind": KERNEL_DIR, "mode": "rw"},
        }
        # The job's files are copied into the size-capped working copy; sockets are made
        # connectable by the grader's user (umask 0).
        shell = f'umask 0 && cp -R {JOB_DIR}/. {WORK_DIR}/ && cd {WORK_DIR} && exec "$@"'
        self.container = client.containers.create(
            self.spec["image"], ["/bin/sh", "-c", shell, "kernel", *command], **options
        )
        self._exited = threading.Event()
        self.container.start()
        threading.Thread(target=self._watch, daemon=True).start()
        self.connection_info = info
        return info

    def _watch(self) -> None:
        try:
            self.exit_code = int(self.container.wait().get("StatusCode", -1))
        except Exception:
            self.exit_code = -1
        try:
            self.container.reload()
            self.oom_killed = bool(self.container.attrs.get("State", {}).get("OOMKilled", False))
        except Exception:
            pass
        self._exited.set()

    async def poll(self) -> int | None:
        if self.container is None or self._exited.is_set():
            return self.exit_code if self.container is not None else 0
        return None

    async def wait(self) -> int | None:
        while await self.poll() is None:
            await asyncio.sleep(0.1)
        return self.exit_code

    async def send_signal(self, signum: int) -> None:
        if self.container is not None and not self._exited.is_set():
            try:
                self.container.kill(signal=int(signum))
            except Exception:  # already stopped
                pass

    async def kill(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGKILL)

    async def terminate(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGTERM)

    def kill_now(self) -> None:
        """For the wall clock (another thread): stop the container at once."""
        if self.container is not None:
            try:
                self.container.kill()
            except Exception:
                pass

    def wait_for_exit(self, timeout: float = 30) -> None:
        if self._exited is not None:
            self._exited.wait(timeout)

    def logs(self) -> str:
        try:
            return self.container.logs(stdout=True, stderr=True).decode(errors="replace")
        except Exception:
            return ""

    async def cleanup(self, restart: bool = False) -> None:
        self.remove()

    def remove(self) -> None:
        """Stop the container, note whether it ran out of memory and its log, remove it."""
        if self.container is not None:
            self.kill_now()
            self.wait_for_exit(30)
            self.log = self.logs()
            try:
                self.container.remove(force=True)
            except Exception:  # the sandbox's sweep removes what is left
                pass

    def get_shutdown_wait_time(self, recommended: float = 5.0) -> float:
        return 1.0  # the container is thrown away anyway


class ContainerKernel(LocalKernel):
    """A kernel that runs in a sandbox container; its socket folder (private on this
    machine) is mounted into the container."""

    def __init__(self, spec: dict, **kwargs: Any):
        super().__init__(**kwargs)
        self.sockets.chmod(0o777)  # the kernel's user creates its sockets here
        self.spec = spec

    def kernel_ready(self, **_: Any) -> None:
        """nbclient's ``on_notebook_start`` hook: the kernel has bound its sockets and
        no student code has run yet. From now on the kernel cannot write in the socket
        folder (a host folder, not size-capped) nor swap its sockets for links."""
        self.sockets.chmod(0o755)

    async def _async_pre_start_kernel(self, **kw: Any):
        if self.provisioner is None:
            self.provisioner = ContainerProvisioner(
                kernel_id=self.kernel_id or "sandbox", kernel_spec=self.kernel_spec, parent=self
            )
            self.provisioner.spec = self.spec
        kw.pop("env", None)  # the container gets the job's environment, never this machine's
        return await super()._async_pre_start_kernel(**kw)

    @property
    def kernel_log(self) -> str:
        """What the kernel printed on its own stdout/stderr (after ``remove``)."""
        return getattr(self.provisioner, "log", "")

    @property
    def oom_killed(self) -> bool:
        """Whether the container's memory limit stopped something in it."""
        return bool(getattr(self.provisioner, "oom_killed", False))

    def stop_everything(self) -> None:
        """Kill the container: the kernel and everything it started."""
        if self.provisioner is not None:
            self.provisioner.kill_now()

    def remove(self) -> None:
        """Remove the container and the socket folder."""
        if self.provisioner is not None:
            self.provisioner.remove()
        super().remove()
