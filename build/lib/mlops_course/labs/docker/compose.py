"""Docker Compose for the course: validate a compose file against the Compose
Specification schema and run a project whose every resource is labelled and removed.

Validation uses the schema vendored by check-jsonschema (``vendor.compose-spec``, the
same as ``check-jsonschema --builtin-schema vendor.compose-spec FILE``), not a
hand-written check. Running uses whichever tool is installed: ``docker-compose`` (v1,
Debian's 1.29) or the ``docker compose`` plugin (v2)::

    errors = validate_compose(text)                 # [] when valid
    with ComposeProject("compose.yaml", env={"BASE_IMAGE": base}) as project:
        project.up()                                # build + up -d, waits for health
        port = project.port("api", 8000)            # ephemeral host port on 127.0.0.1
    # down -v --rmi local on exit, also when a check failed

Every container, built image, volume and the default network carry
:func:`mlops_course.infra.resources.resource_labels` (added through a generated override
file), and the project name holds :func:`mlops_course.infra.resources.run_id`, so parallel
runs never collide.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from mlops_course.errors import ComposeError
from mlops_course.infra.resources import resource_labels, run_id

SCHEMA_NAME = "vendor.compose-spec"
INSTALL_HINT = (
    "Install Docker Compose: on Debian/Ubuntu `sudo apt-get install docker-compose` "
    "(v1) or the `docker-compose-plugin` (v2, `docker compose`); Docker Desktop has it."
)


# ----------------------------------------------------------------------- validation
def compose_schema() -> dict:
    """The Compose Specification JSON schema vendored by check-jsonschema."""
    from check_jsonschema.builtin_schemas import get_builtin_schema

    return get_builtin_schema(SCHEMA_NAME)


def load_compose(source: str | Path | dict) -> dict:
    """A compose document from YAML text, a file path or an already loaded dict."""
    if isinstance(source, dict):
        return source
    if isinstance(source, Path) or (
        isinstance(source, str) and "\n" not in source and source.endswith((".yaml", ".yml"))
    ):
        source = Path(source).read_text()
    document = yaml.safe_load(source)
    if not isinstance(document, dict):
        raise ValueError("a compose file is a YAML mapping (services:, volumes:, ...)")
    return document


def validate_compose(source: str | Path | dict) -> list[str]:
    """Validate against the Compose Specification; returns readable errors ([] = valid).

    YAML syntax errors come back as one error too, so a notebook can show them all."""
    import jsonschema

    try:
        document = load_compose(source)
    except (yaml.YAMLError, ValueError) as exc:
        return [f"not valid YAML: {exc}"]
    schema = compose_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        errors.append(f"{where}: {error.message}")
    return errors


# ------------------------------------------------------------------------- the tool
def compose_command() -> list[str] | None:
    """The compose tool as an argv prefix (``["docker-compose"]`` or
    ``["docker", "compose"]``), or None when neither is installed."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=20)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def compose_status() -> tuple[bool, str]:
    """(available, message) for notebooks: which compose tool runs, or how to get one."""
    command = compose_command()
    if not command:
        return False, f"No Docker Compose tool found. {INSTALL_HINT}"
    version = subprocess.run(
        command + ["version", "--short"], capture_output=True, text=True, timeout=20
    ).stdout.strip()
    return True, f"{' '.join(command)} {version} is available."


def labels_override(document: dict, labels: dict[str, str]) -> dict:
    """A compose override that adds ``labels`` to every service (container), build
    (image), named volume and network of ``document``, including the default network."""
    override: dict = {"services": {}}
    for name, service in (document.get("services") or {}).items():
        entry: dict = {"labels": dict(labels)}
        if isinstance(service, dict) and service.get("build") is not None:
            build = service["build"]
            entry["build"] = (
                {"context": build, "labels": dict(labels)}
                if isinstance(build, str)
                else {"labels": dict(labels)}
            )
        override["services"][name] = entry
    volumes = {
        name: {"labels": dict(labels)}
        for name, spec in (document.get("volumes") or {}).items()
        if not (isinstance(spec, dict) and spec.get("external"))
    }
    if volumes:
        override["volumes"] = volumes
    networks = {
        name: {"labels": dict(labels)}
        for name, spec in (document.get("networks") or {}).items()
        if not (isinstance(spec, dict) and spec.get("external"))
    }
    networks.setdefault("default", {"labels": dict(labels)})
    override["networks"] = networks
    return override


class ComposeProject:
    """One compose project, named after the run, torn down on exit.

    ``file``: the compose file (its folder is the project directory). ``env``: extra
    environment for variable substitution (e.g. ``BASE_IMAGE``). ``name``: project
    name (default ``<stem>-<run_id>``)."""

    def __init__(
        self,
        file: str | Path,
        *,
        name: str | None = None,
        env: dict | None = None,
        labels: dict[str, str] | None = None,
        timeout: float = 300,
    ):
        self.file = Path(file).resolve()
        self.name = (name or f"m-{run_id()}").lower()
        self.labels = labels if labels is not None else resource_labels(compose=self.name)
        self.timeout = timeout
        self.env = {
            **os.environ,
            **(env or {}),
            # the classic builder honours network/labels and needs no buildx
            "COMPOSE_DOCKER_CLI_BUILD": "0",
            "DOCKER_BUILDKIT": "0",
        }
        self._tmp = tempfile.TemporaryDirectory(prefix="mlops-compose-")
        self.override = Path(self._tmp.name) / "labels.override.yaml"
        self.override.write_text(
            yaml.safe_dump(labels_override(load_compose(self.file), self.labels), sort_keys=False)
        )
        self.command = compose_command()

    def run(self, *args: str, timeout: float | None = None, check: bool = True) -> str:
        """Run one compose subcommand; returns its output, raises ComposeError on failure."""
        if not self.command:
            raise ComposeError(f"No Docker Compose tool found. {INSTALL_HINT}")
        argv = self.command + [
            "-p",
            self.name,
            "-f",
            str(self.file),
            "-f",
            str(self.override),
            "--project-directory",
            str(self.file.parent),
            *args,
        ]
        try:
            proc = subprocess.run(
                argv,
                cwd=self.file.parent,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=timeout or self.timeout,
            )
        except subprocess.TimeoutExpired as exc:
            raise ComposeError(f"`compose {' '.join(args)}` took more than {exc.timeout:.0f} s") from None
        output = (proc.stdout or "") + (proc.stderr or "")
        if check and proc.returncode != 0:
            tail = "\n".join(output.strip().splitlines()[-25:])
            raise ComposeError(f"`compose {' '.join(args)}` failed (exit {proc.returncode}):\n{tail}")
        return output

    def config(self) -> str:
        """`compose config`: the tool's own check of the file (after merging labels)."""
        return self.run("config", timeout=60)

    def up(self, *services: str, build: bool = True, timeout: float | None = None) -> str:
        """Build (classic builder, host network for RUN steps as in the file) and start
        detached; compose itself waits for ``depends_on: condition: service_healthy``."""
        args = ["up", "-d"] + (["--build"] if build else []) + list(services)
        return self.run(*args, timeout=timeout)

    def containers(self, service: str | None = None, client=None) -> list:
        """The project's containers (all states), optionally of one service."""
        import docker

        client = client or docker.from_env()
        filters = [f"com.docker.compose.project={self.name}"]
        if service:
            filters.append(f"com.docker.compose.service={service}")
        return client.containers.list(all=True, filters={"label": filters})

    def port(self, service: str, container_port: int, client=None) -> int:
        """The host port published for ``container_port`` of ``service``."""
        containers = self.containers(service, client)
        if not containers:
            raise ComposeError(f"service {service!r} has no container in project {self.name}")
        bindings = (containers[0].attrs["NetworkSettings"]["Ports"] or {}).get(f"{container_port}/tcp")
        if not bindings:
            raise ComposeError(f"service {service!r} publishes no host port for {container_port}/tcp")
        return int(bindings[0]["HostPort"])

    def wait_exited(self, service: str, timeout: float = 60, client=None) -> int:
        """Wait until ``service``'s container has exited; returns its exit code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            containers = self.containers(service, client)
            if containers and containers[0].status == "exited":
                return int(containers[0].attrs["State"]["ExitCode"])
            time.sleep(0.5)
        raise ComposeError(f"service {service!r} did not exit within {timeout:.0f} s")

    def logs(self, service: str | None = None) -> str:
        """Logs of the project (or one service), without colours."""
        return self.run("logs", "--no-color", *([service] if service else []), check=False, timeout=60)

    def down(self) -> None:
        """Stop and remove containers, networks, named volumes and built images."""
        if self.command:
            self.run("down", "-v", "--rmi", "local", "--remove-orphans", "-t", "5", check=False, timeout=120)

    def close(self) -> None:
        """down() and remove the generated override file."""
        try:
            self.down()
        finally:
            self._tmp.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
