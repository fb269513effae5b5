"""Small helpers for notebooks that build and run containers with the Docker SDK:
builds that keep their log (to prove what came from the cache), published ports,
bounded waits, a Dockerfile reader for static checks, and cleanup of everything a
run created (found by the run's label, see :func:`mlops_course.infra.resources.resource_labels`).
"""

from __future__ import annotations

import atexit
import json
import re
import shlex
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from mlops_course.infra.resources import remove_run_resources, resource_labels, run_id


# ------------------------------------------------------------------ static reading
def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs of a Dockerfile, in order: comments and blank
    lines dropped, backslash continuations joined, instructions upper-cased."""
    instructions, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    if pending.strip():
        keyword, _, rest = pending.strip().partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def first_index(instructions: list[tuple[str, str]], keyword: str, pattern: str = "") -> int:
    """Index of the first ``keyword`` instruction whose arguments match the regex
    ``pattern`` (case-insensitive), or -1."""
    for index, (key, args) in enumerate(instructions):
        if key == keyword.upper() and re.search(pattern, args, re.IGNORECASE):
            return index
    return -1


def copy_sources(args: str) -> list[str]:
    """The source paths of COPY/ADD arguments (``--chown=...`` flags and the
    destination dropped); works for the shell and the JSON form."""
    args = args.strip()
    try:
        parts = json.loads(args) if args.startswith("[") else shlex.split(args)
    except ValueError:
        parts = args.split()
    parts = [str(part) for part in parts if not str(part).startswith("--")]
    return parts[:-1]


# ------------------------------------------------------------------------- builds
@dataclass
class BuildResult:
    """What a build gave: the image (None on failure), the log lines, the error."""

    image: object | None
    log: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.image is not None

    def steps(self) -> list[tuple[str, bool]]:
        """(instruction, came from cache) for each step of a classic-builder log."""
        return build_steps(self.log)

    def cached(self, pattern: str) -> bool | None:
        """Was the first step matching regex ``pattern`` taken from the cache?
        None when no step matches."""
        for instruction, from_cache in self.steps():
            if re.search(pattern, instruction, re.IGNORECASE):
                return from_cache
        return None


def build_steps(log: list[str]) -> list[tuple[str, bool]]:
    """Parse the classic builder's log ("Step 3/8 : RUN ...", " ---> Using cache")."""
    steps: list[list] = []
    for line in log:
        match = re.match(r"Step \d+/\d+ : (.*)", line.strip())
        if match:
            steps.append([match.group(1), False])
        elif steps and "Using cache" in line:
            steps[-1][1] = True
    return [(instruction, cached) for instruction, cached in steps]


def build_image(
    client,
    path: str | Path,
    tag: str,
    *,
    dockerfile: str = "Dockerfile",
    base_image: str | None = None,
    buildargs: dict[str, str] | None = None,
    labels: dict | None = None,
    timeout: float = 600,
) -> BuildResult:
    """Build with the classic builder, keeping the log; never raises on a failed build
    (the error and the log's tail are in the result). ``base_image`` is the build
    argument ``BASE_IMAGE``, ``buildargs`` any others. RUN steps get the host network
    (``network_mode="host"``) so that ``pip install`` reaches the package index."""
    args = {**({"BASE_IMAGE": base_image} if base_image else {}), **(buildargs or {})}
    log: list[str] = []
    try:
        stream = client.api.build(
            path=str(path),
            dockerfile=dockerfile,
            tag=tag,
            rm=True,
            forcerm=True,
            buildargs={key: str(value) for key, value in args.items()} or None,
            labels=labels if labels is not None else resource_labels(),
            network_mode="host",
            decode=True,
            timeout=timeout,
        )
        image_id = None
        for chunk in stream:
            if "stream" in chunk:
                log.extend(line for line in chunk["stream"].splitlines() if line.strip())
            if "error" in chunk:
                tail = "\n".join(log[-12:])
                return BuildResult(None, log, f"the build failed: {chunk['error'].strip()}\n{tail}")
            if "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
        image = client.images.get(image_id or tag)
        return BuildResult(image, log)
    except Exception as exc:  # bad context, engine gone, timeout
        return BuildResult(None, log, f"the build could not run: {exc}")


def host_port(container, container_port: int = 8000) -> int:
    """The host port Docker published for ``container_port``/tcp (reloads first)."""
    container.reload()
    bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get(f"{container_port}/tcp")
    if bindings:
        return int(bindings[0]["HostPort"])
    raise AssertionError(
        f"port {container_port}/tcp is not published: {_why_unpublished(container, container_port)}"
    )


def _why_unpublished(container, container_port: int) -> str:
    """The likely reason a port is not published, from the container's own settings."""
    requested = (container.attrs.get("HostConfig", {}).get("PortBindings") or {}).get(f"{container_port}/tcp")
    if not requested:
        return f"hint: ports={{'{container_port}/tcp': ('127.0.0.1', None)}}"
    if container.status != "running":
        logs = container.logs(tail=5).decode(errors="replace").strip()
        return f"the container is {container.status}, not running; its last lines:\n{logs}"
    mode = container.attrs.get("HostConfig", {}).get("NetworkMode")
    if mode in ("default", "bridge"):
        # an engine started with --bridge=none has no default network to publish on
        return (
            "the container is on the engine's default network, which this engine may not have "
            "(dockerd --bridge=none); run it on a network of its own: "
            "network=client.networks.create(NAME, driver='bridge').name"
        )
    return f"the container's network ({mode}) publishes no ports: use a bridge network"


def http_json(url: str, payload=None, timeout: float = 10.0):
    """GET (or POST ``payload`` as JSON) and decode the JSON answer."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # loopback
        return json.loads(response.read())


def wait_http(url: str, timeout: float = 60.0, container=None) -> dict:
    """Poll ``url`` until it answers 200 with JSON, at most ``timeout`` s. When a
    ``container`` is given and it exits meanwhile, fail at once with its logs."""
    deadline, last = time.monotonic() + timeout, "no answer yet"
    while time.monotonic() < deadline:
        try:
            return http_json(url, timeout=3)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = str(exc)
        if container is not None:
            container.reload()
            if container.status in ("exited", "dead"):
                logs = container.logs(tail=15).decode(errors="replace")
                raise TimeoutError(
                    f"the container exited ({container.attrs['State']['ExitCode']}) "
                    f"before {url} answered; its last log lines:\n{logs}"
                )
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s (last error: {last})")


# ------------------------------------------------------------------------ cleanup
_registered: set[str] = set()


def cleanup_at_exit(run: str | None = None) -> None:
    """Also remove this run's resources when the kernel exits (a cell timed out, the
    notebook stopped half way). Safe to call more than once."""
    run = run or run_id()
    if run in _registered:
        return
    _registered.add(run)

    def _cleanup() -> None:
        try:
            remove_run_resources(run=run)
        except Exception:  # the engine may be gone at exit
            pass

    atexit.register(_cleanup)
