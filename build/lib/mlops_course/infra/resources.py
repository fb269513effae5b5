"""What a notebook run creates outside its folder (containers, images, networks,
volumes) carries its run id in a label, so that it can be found and removed: by the
notebook at its end, or by the grader after a submission that did not clean up."""

from __future__ import annotations

import re
import uuid

from mlops_course.settings import env

COURSE_LABEL = "org.mlops-course"
_RUN_ID: str | None = None


def run_id() -> str:
    """A short id unique to this notebook run, safe in Docker and Kubernetes names.

    The grader sets MLOPS_COURSE_RUN_ID per submission, so that submissions graded
    at the same time never collide on names or ports."""
    global _RUN_ID
    if _RUN_ID is None:
        given = env("MLOPS_COURSE_RUN_ID") or ""
        cleaned = re.sub(r"[^a-z0-9-]", "-", given.lower()).strip("-")[:40]
        _RUN_ID = cleaned or uuid.uuid4().hex[:10]
    return _RUN_ID


def resource_labels(**extra: str) -> dict[str, str]:
    """Labels for every container, image, network and volume a notebook creates."""
    labels = {COURSE_LABEL: "true", f"{COURSE_LABEL}.run": run_id()}
    labels.update({f"{COURSE_LABEL}.{key}": str(value) for key, value in extra.items()})
    return labels


def remove_run_resources(client=None, run: str | None = None) -> dict[str, int]:
    """Remove every container, network, volume and image labelled with this run
    (``org.mlops-course.run=<run_id()>``); returns how many of each went."""
    import docker

    own = client is None
    client = client or docker.from_env(timeout=120)
    label = f"{COURSE_LABEL}.run={run or run_id()}"
    removed = {"containers": 0, "networks": 0, "volumes": 0, "images": 0}
    try:
        for container in client.containers.list(all=True, filters={"label": label}):
            try:
                container.remove(force=True, v=True)
                removed["containers"] += 1
            except docker.errors.APIError:
                pass
        for network in client.networks.list(filters={"label": label}):
            try:
                network.remove()
                removed["networks"] += 1
            except docker.errors.APIError:
                pass
        for volume in client.volumes.list(filters={"label": label}):
            try:
                volume.remove(force=True)
                removed["volumes"] += 1
            except docker.errors.APIError:
                pass
        for image in client.images.list(all=True, filters={"label": label}):
            try:
                client.images.remove(image.id, force=True)
                removed["images"] += 1
            except docker.errors.APIError:  # already gone with a child image
                pass
    finally:
        if own:
            client.close()
    return removed
