"""Is a Docker engine answering? One place for the check and its advice."""

from __future__ import annotations

from mlops_course.infra.parts import PartStatus

INSTALL_HINT = (
    "Install and start a Docker engine: on Debian/Ubuntu `sudo apt-get install docker.io` "
    "then `sudo systemctl start docker` (or Docker Desktop on macOS/Windows), and make sure "
    "your user may use it (`sudo usermod -aG docker $USER`, then log in again). "
    "Check with `docker info`."
)


def engine_status(base_url: str | None = None, timeout: float = 5.0) -> PartStatus:
    """Ping the engine at ``base_url`` (default: DOCKER_HOST or the local socket)."""
    try:
        import docker
    except ImportError:
        return PartStatus(
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
        return PartStatus(False, f"No Docker engine answers ({reason}). {INSTALL_HINT}")
    return PartStatus(True, f"Docker engine {version} answers.", version)
