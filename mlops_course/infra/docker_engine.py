"""Is a Docker engine answering? One place for the check and its advice."""

from __future__ import annotations

from dataclasses import dataclass

INSTALL_HINT = (
    "Install and start a Docker engine: on Debian/Ubuntu `sudo apt-get install docker.io` "
    "then `sudo systemctl start docker` (or Docker Desktop on macOS/Windows), and make sure "
    "your user may use it (`sudo usermod -aG docker $USER`, then log in again). "
    "Check with `docker info`."
)


@dataclass(frozen=True)
class EngineStatus:
    available: bool
    message: str
    version: str | None = None


def engine_status(base_url: str | None = None, timeout: float = 5.0) -> EngineStatus:
    """Ping the engine at ``base_url`` (default: DOCKER_HOST or the local socket)."""
    try:
        import docker
    except ImportError:
        return EngineStatus(
            False,
            "The Docker SDK for Python is not installed: "
            "`pip install docker` (it is part of the course environment).",
        )
    try:
        client = (
            docker.DockerClient(base_url=base_url, timeout=timeout)
            if base_url
            else docker.from_env(timeout=timeout)
        )
        client.ping()
        version = client.version().get("Version")
        client.close()
    except Exception as exc:  # the SDK raises several types for the same problem
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return EngineStatus(False, f"No Docker engine answers ({reason}). {INSTALL_HINT}")
    return EngineStatus(True, f"Docker engine {version} answers.", version)


def client_or_none(timeout: float = 60.0):
    """A Docker client when an engine answers, else None (print the status message)."""
    status = engine_status()
    if not status.available:
        return None
    import docker

    return docker.from_env(timeout=timeout)
