"""A throwaway image registry on 127.0.0.1, for pushing and pulling course images.

Uses Debian's ``docker-registry`` (the CNCF distribution registry, v2 API)::

    from mlops_course.labs.docker.registry import LocalRegistry
    with LocalRegistry() as registry:            # free port, temp storage, no auth
        ref = f"{registry.address}/mlops-course/api:1.0"
        image.tag(ref); client.images.push(ref)
        registry.tags("mlops-course/api")        # ["1.0"]

The Docker engine treats registries on 127.0.0.0/8 as insecure (plain HTTP) without
any daemon change. ``MLOPS_COURSE_REGISTRY=host:port`` points notebooks at a registry
that CI or the lecturer already runs instead (:func:`registry_from_env_or_start`).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from mlops_course.errors import RegistryError
from mlops_course.infra.processes import free_port, stop_process
from mlops_course.settings import env

BINARY_CANDIDATES = ("docker-registry", "registry")
INSTALL_HINT = (
    "Install a local registry: on Debian/Ubuntu `sudo apt-get install docker-registry` "
    "(the binary is /usr/bin/docker-registry), or run one yourself and set "
    "MLOPS_COURSE_REGISTRY=127.0.0.1:PORT."
)

CONFIG_TEMPLATE = """\
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: {host}:{port}
  headers:
    X-Content-Type-Options: [nosniff]
"""


def find_binary() -> str | None:
    """Path of the registry binary, or None."""
    for name in BINARY_CANDIDATES:
        path = shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)
        if path:
            return path
    return None


def _get_json(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:  # loopback only
        return json.loads(response.read() or b"{}")


class RemoteRegistry:
    """A registry that runs already (``host:port``); the same read-only API as LocalRegistry."""

    def __init__(self, address: str):
        self.address = address

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def ready(self) -> bool:
        """True when the v2 API answers."""
        try:
            _get_json(f"{self.url}/v2/", timeout=2)
            return True
        except (OSError, ValueError):
            return False

    def catalog(self) -> list[str]:
        """Repository names in the registry."""
        return _get_json(f"{self.url}/v2/_catalog").get("repositories") or []

    def tags(self, repository: str) -> list[str]:
        """Tags of ``repository`` ([] when it does not exist)."""
        try:
            return _get_json(f"{self.url}/v2/{repository}/tags/list").get("tags") or []
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return []
            raise

    def digest(self, repository: str, tag: str) -> str | None:
        """The manifest digest (``sha256:...``) of ``repository:tag``, or None."""
        request = urllib.request.Request(
            f"{self.url}/v2/{repository}/manifests/{tag}",
            method="HEAD",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.headers.get("Docker-Content-Digest")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def stop(self) -> None:
        """Nothing to stop: this registry belongs to someone else."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


class LocalRegistry(RemoteRegistry):
    """Start/stop a ``docker-registry serve`` process on 127.0.0.1 (free port, no auth,
    storage in a temp dir removed at stop). Use as a context manager or call
    :meth:`start` / :meth:`stop`."""

    def __init__(
        self,
        port: int | None = None,
        storage: str | Path | None = None,
        binary: str | None = None,
        host: str = "127.0.0.1",
    ):
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the course registry listens on 127.0.0.1 only")
        self.host, self.port = "127.0.0.1", port
        self.binary = binary
        self._storage_arg = Path(storage) if storage else None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.process: subprocess.Popen | None = None
        super().__init__(address=f"{self.host}:{port}" if port else "")

    def start(self, timeout: float = 20.0) -> LocalRegistry:
        """Start the registry and wait until its v2 API answers (at most ``timeout`` s)."""
        if self.process and self.process.poll() is None:
            return self
        binary = self.binary or find_binary()
        if not binary:
            raise RegistryError(f"No registry binary (docker-registry) found. {INSTALL_HINT}")
        self._tmp = tempfile.TemporaryDirectory(prefix="mlops-registry-")
        workdir = Path(self._tmp.name)
        storage = self._storage_arg or workdir / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        fixed_port = self.port
        last_error = ""
        for _attempt in range(3):  # a free port can be taken between the check and the bind
            self.port = fixed_port or free_port()
            self.address = f"{self.host}:{self.port}"
            config = workdir / "config.yml"
            config.write_text(CONFIG_TEMPLATE.format(storage=storage, host=self.host, port=self.port))
            log_path = workdir / "registry.log"
            with open(log_path, "wb") as log_file:
                self.process = subprocess.Popen(
                    [binary, "serve", str(config)],
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                if self.ready():
                    atexit.register(self.stop)  # the kernel exits: the registry goes too
                    return self
                time.sleep(0.1)
            last_error = log_path.read_text(errors="replace")[-600:]
            self._kill()
            if fixed_port:
                break
        self.stop()
        raise RegistryError(
            f"docker-registry did not become ready on {self.host}:{self.port} "
            f"within {timeout:.0f} s. Its log:\n{last_error}"
        )

    def _kill(self) -> None:
        stop_process(self.process, timeout=5)
        self.process = None

    def stop(self) -> None:
        """Stop the process and remove the temp storage (safe to call twice)."""
        atexit.unregister(self.stop)
        self._kill()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self):
        return self.start()

    def __del__(self):  # a forgotten registry must not outlive the kernel
        try:
            self.stop()
        except Exception:  # interpreter shutdown
            pass


def registry_from_env_or_start(timeout: float = 20.0) -> RemoteRegistry:
    """The registry at ``$MLOPS_COURSE_REGISTRY`` if set (checked to answer), else a
    freshly started :class:`LocalRegistry` (call ``.stop()`` when done)."""
    given = (env("MLOPS_COURSE_REGISTRY") or "").strip()
    if given:
        remote = RemoteRegistry(given.removeprefix("http://").rstrip("/"))
        if not remote.ready():
            raise RegistryError(f"MLOPS_COURSE_REGISTRY={given} does not answer on /v2/.")
        return remote
    return LocalRegistry().start(timeout=timeout)
