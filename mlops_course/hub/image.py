"""The course's notebook image (for Kubernetes): ``hub/Dockerfile.singleuser`` of the
course folder, built with the Docker SDK from a small context (the package sources and
the pins of both profiles, never the whole checkout with its .venv)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from mlops_course.course import Course
from mlops_course.errors import HubSetupError
from mlops_course.hub.env import copy_package_source, pinned_requirements
from mlops_course.hub.system import Log
from mlops_course.labs.cicd.node_packages import specs as node_specs

DOCKERFILE = Path("hub") / "Dockerfile.singleuser"  # in the course folder
IMAGE_LABEL = "org.mlops-course.role"


def image_context(folder: Path, course: Course) -> Path:
    """The build context of :data:`DOCKERFILE`: the Dockerfile, requirements-full.txt,
    requirements-light.txt, npm-packages.txt, pyproject.toml, README.md and mlops_course/."""
    dockerfile = course.root / DOCKERFILE
    if not dockerfile.is_file():
        raise HubSetupError(f"the course folder {course.root} has no {DOCKERFILE}")
    copy_package_source(course, folder)
    (folder / "Dockerfile").write_bytes(dockerfile.read_bytes())
    for profile in ("full", "light"):
        (folder / f"requirements-{profile}.txt").write_text("\n".join(pinned_requirements(profile)) + "\n")
    (folder / "npm-packages.txt").write_text("\n".join(node_specs()) + "\n")  # m2_cicd's, pinned
    return folder


def build_image(
    course: Course,
    tag: str = "mlops-course/singleuser:latest",
    profile: str = "full",
    base: str | None = None,
    client=None,
    log: Log = print,
) -> str:
    """Build the course's Dockerfile.singleuser with the Docker SDK (``network_mode="host"``
    so that pip reaches the package index during the build); returns the tag."""
    import docker

    from mlops_course.infra.base_image import ensure_base_image

    own = client is None
    client = client or docker.from_env(timeout=900)
    try:
        base = base or ensure_base_image(client, log)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="mlops-singleuser-") as tmp:
            context = image_context(Path(tmp) / "context", course)
            log(f"building {tag} (profile {profile}) FROM {base} ...")
            try:
                client.images.build(
                    path=str(context),
                    tag=tag,
                    forcerm=True,
                    rm=True,
                    network_mode="host",
                    pull=False,
                    buildargs={"BASE_IMAGE": base, "PROFILE": profile},
                    labels={IMAGE_LABEL: "singleuser"},
                )
            except docker.errors.BuildError as exc:
                lines = [str(chunk.get("stream", chunk.get("error", ""))).rstrip() for chunk in exc.build_log]
                tail = "\n".join(line for line in lines if line)[-3000:]
                raise HubSetupError(f"building {tag} failed: {exc.msg}\n{tail}") from None
        log(f"built {tag} in {time.monotonic() - started:.0f} s")
        return tag
    finally:
        if own:
            client.close()
