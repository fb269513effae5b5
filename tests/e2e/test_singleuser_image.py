"""The course's notebook image (hub/Dockerfile.singleuser) builds with the Docker SDK on
the course base image and runs Jupyter, JupyterHub's single-user server and the course
package.

CI builds the ``light`` profile (Jupyter, nbgrader, JupyterHub and m0_setup's needs,
~1-2 min) rather than the full course stack (+TensorFlow, Prefect, ..., ~2.4 GB and
several minutes): the Dockerfile and every step are the same, only the requirement list
differs (MLOPS_HUB_IMAGE_PROFILE=full builds the full one). The image keeps a fixed
tag so that a second run reuses Docker's layer cache; it is labelled
org.mlops-course.role=singleuser. Skips without a Docker engine, fails in CI.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import skip_or_fail

from mlops_course.course import Course
from mlops_course.hub.env import INSTRUCTOR_LAB_PLUGINS
from mlops_course.hub.image import build_image

PROFILE = os.environ.get("MLOPS_HUB_IMAGE_PROFILE", "light")
TAG = f"mlops-course/singleuser:ci-{PROFILE}"

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def client():
    try:
        import docker

        engine = docker.from_env(timeout=900)
        engine.ping()
    except Exception as exc:  # no engine, no socket, no SDK
        skip_or_fail(f"needs a Docker engine ({str(exc)[:120]})")
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def image(client):
    from mlops_course.infra.base_image import BaseImageError, ensure_base_image

    try:
        base = ensure_base_image(client, log=lambda line: None)
    except BaseImageError as exc:
        skip_or_fail(str(exc))
    course = Course(Path(__file__).resolve().parents[2])
    return build_image(course, TAG, PROFILE, base, client=client, log=lambda line: None)


def _run(client, image: str, *command: str) -> str:
    output = client.containers.run(
        image, list(command), network_mode="none", remove=True, stdout=True, stderr=True
    )
    return output.decode()


def test_jupyter_lab_and_the_course_package_work(client, image):
    assert _run(client, image, "jupyter", "lab", "--version").strip() == "4.6.6"
    out = _run(
        client,
        image,
        "python",
        "-c",
        "import mlops_course, nbgrader, jupyterhub; print('ok', nbgrader.__version__, jupyterhub.__version__)",
    )
    assert out.split() == ["ok", "0.9.6", "6.1.1"]
    assert "6.1.1" in _run(client, image, "jupyterhub-singleuser", "--version")


def test_the_image_is_a_student_environment(client, image):
    config = client.images.get(image).attrs["Config"]
    assert config["User"] == "1000" and config["Cmd"] == ["jupyterhub-singleuser"]
    listing = _run(client, image, "jupyter", "labextension", "list")
    for plugin in INSTRUCTOR_LAB_PLUGINS:  # off for students, on via the instructor config
        assert plugin in listing.split("Disabled extensions:")[-1], listing
    out = _run(client, image, "cat", "/etc/jupyter/nbgrader_config.py")
    assert "'mlops-course'" in out and "/srv/nbgrader/exchange" in out
    instructor = _run(client, image, "cat", "/opt/mlops-course/etc/jupyter-instructor/nbgrader_config.py")
    assert "/srv/nbgrader/courses/mlops-course" in instructor
    mode = _run(client, image, "stat", "-c", "%a", "/srv/nbgrader/exchange").strip()
    assert mode == "1777"
