"""The Python base image every course image builds FROM, with or without Docker Hub.

One call, used by the notebooks, the tests and the grading sandbox::

    from mlops_course.infra.base_image import ensure_base_image
    base = ensure_base_image()          # e.g. "python:3.11-slim"
    client.images.build(path=..., buildargs={"BASE_IMAGE": base}, network_mode="host")

Dockerfiles take the base as a build argument (``ARG BASE_IMAGE=python:3.11-slim`` then
``FROM ${BASE_IMAGE}``). :func:`ensure_base_image` returns, in this order:

1. ``$MLOPS_COURSE_BASE_IMAGE`` when set (an image the engine already has);
2. the public ``python:3.11-slim`` when the engine has it;
3. ``mlops-course/python-base:3.11-bookworm`` when the engine has it (instant);
4. ``python:3.11-slim`` after one pull attempt, bounded by ``pull_timeout``;
5. the made image loaded from the tarball cache ``~/.cache/mlops-course/`` (a few s);
6. otherwise it makes that image: ``debootstrap --variant=minbase`` of Debian bookworm
   with python3, pip, venv and CA certificates (~90 s, needs root and debootstrap),
   stripped of apt lists, docs, man pages and locales, ``EXTERNALLY-MANAGED`` removed
   so that ``pip install`` works as in ``python:3.11-slim``; CA certificates the host
   trusts beyond Debian's (a TLS-inspecting proxy) are trusted in the image too, so
   ``pip install`` in RUN steps reaches PyPI wherever the host does; then ``docker import``.
   A file lock makes concurrent callers (a class graded in parallel) build it once.

When none of these works it raises :class:`BaseImageError` saying what to do.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mlops_course.errors import BaseImageError
from mlops_course.settings import cache_dir, env

PUBLIC_IMAGE = "python:3.11-slim"
LOCAL_IMAGE = "mlops-course/python-base:3.11-bookworm"
# Label of the cached base image. Deliberately not the per-run label
# (``org.mlops-course``): cleanup of a run must never remove the shared base.
BASE_LABEL = "org.mlops-course.base-image"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = env("MLOPS_COURSE_DEBIAN_MIRROR") or "http://deb.debian.org/debian"
PACKAGES = ["python3", "python3-pip", "python3-venv", "python-is-python3", "ca-certificates"]
# What python:3.11-slim sets, as far as it applies to Debian's own python3.
IMAGE_CHANGES = [
    'CMD ["python3"]',
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    "ENV PIP_DISABLE_PIP_VERSION_CHECK=1",
    f"LABEL {BASE_LABEL}=true",
    f'LABEL org.opencontainers.image.description="Debian {DEBIAN_SUITE} minbase with python3, '
    'made by mlops_course.infra.base_image in place of python:3.11-slim"',
]
# Removed from the root file system after debootstrap (relative paths, globs allowed).
STRIP = [
    "var/lib/apt/lists/*",
    "var/cache/apt/*.bin",
    "var/cache/apt/archives/*.deb",
    "var/cache/debconf/*-old",
    "var/log/*.log",
    "var/log/apt/*",
    "usr/share/doc/*",
    "usr/share/man/*",
    "usr/share/info/*",
    "usr/share/locale/*",
    "usr/share/lintian/*",
    "usr/share/linda/*",
    "usr/lib/python3*/EXTERNALLY-MANAGED",
]


def _tarball() -> Path:
    return cache_dir() / (LOCAL_IMAGE.replace("/", "_").replace(":", "_") + ".tar")


def _has_image(client, ref: str) -> bool:
    import docker.errors

    try:
        client.images.get(ref)
        return True
    except docker.errors.ImageNotFound:
        return False


def _try_pull(client, ref: str, timeout: float, log: Callable[[str], None]) -> bool:
    """One bounded pull attempt; False on any failure (no Docker Hub, timeout)."""
    repo, _, tag = ref.partition(":")
    saved = client.api.timeout
    client.api.timeout = timeout
    try:
        client.api.pull(repo, tag=tag or "latest")
        return _has_image(client, ref)
    except Exception as exc:  # network errors come in many types
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        log(f"cannot pull {ref} ({reason})")
        return False
    finally:
        client.api.timeout = saved


def _run(cmd: list[str], log: Callable[[str], None], timeout: float) -> None:
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-15:])
        raise BaseImageError(f"`{' '.join(cmd[:3])} ...` failed (exit {proc.returncode}):\n{tail}")


def _strip(rootfs: Path) -> None:
    for pattern in STRIP:
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def _pem_blocks(text: str) -> list[str]:
    blocks, current = [], []
    for line in text.splitlines():
        if line.startswith("-----BEGIN CERTIFICATE-----"):
            current = [line]
        elif current:
            current.append(line)
            if line.startswith("-----END CERTIFICATE-----"):
                blocks.append("\n".join(current) + "\n")
                current = []
    return blocks


def _trust_host_cas(rootfs: Path, log: Callable[[str], None]) -> int:
    """Copy into the image the CAs the host trusts beyond Debian's own (a TLS-inspecting
    proxy, a company CA), so that ``pip install`` in RUN steps works as on the host.
    Off with MLOPS_COURSE_TRUST_HOST_CAS=0. Returns the number of certificates added."""
    host = Path(env("MLOPS_COURSE_HOST_CA_BUNDLE") or HOST_CA_BUNDLE)
    image_bundle = rootfs / "etc/ssl/certs/ca-certificates.crt"
    if env("MLOPS_COURSE_TRUST_HOST_CAS") == "0" or not host.is_file() or not image_bundle.is_file():
        return 0
    known = set(_pem_blocks(image_bundle.read_text()))
    extra = [block for block in _pem_blocks(host.read_text()) if block not in known]
    if extra:
        local = rootfs / "usr/local/share/ca-certificates"
        local.mkdir(parents=True, exist_ok=True)
        for index, block in enumerate(extra):  # survives a later update-ca-certificates
            (local / f"mlops-course-host-{index}.crt").write_text(block)
        with open(image_bundle, "a") as bundle:
            bundle.writelines(extra)
        log(f"the image trusts {len(extra)} extra CA certificate(s) of the host ({host})")
    return len(extra)


def _why_cannot_build() -> str | None:
    if not shutil.which("debootstrap"):
        return "debootstrap is not installed (`sudo apt-get install debootstrap`)"
    if os.geteuid() != 0:
        return "making it with debootstrap needs root"
    if not shutil.which("tar"):
        return "tar is not installed"
    return None


def build_local_base_image(client, log: Callable[[str], None] = print, timeout: float = 900) -> str:
    """Make :data:`LOCAL_IMAGE` with debootstrap + import (root only); returns its tag."""
    problem = _why_cannot_build()
    if problem:
        raise BaseImageError(problem)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mlops-base-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        log(f"making {LOCAL_IMAGE} with debootstrap from {DEBIAN_MIRROR} (about a minute)...")
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                DEBIAN_SUITE,
                str(rootfs),
                DEBIAN_MIRROR,
            ],
            log,
            timeout,
        )
        _strip(rootfs)
        _trust_host_cas(rootfs, log)
        tar = Path(tmp) / "rootfs.tar"
        _run(["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-cf", str(tar), "."], log, timeout)
        repo, _, tag = LOCAL_IMAGE.partition(":")
        client.api.import_image_from_file(str(tar), repository=repo, tag=tag, changes=IMAGE_CHANGES)
    if not _has_image(client, LOCAL_IMAGE):
        raise BaseImageError(f"docker import did not produce {LOCAL_IMAGE}")
    log(f"made {LOCAL_IMAGE} in {time.monotonic() - started:.0f} s")
    return LOCAL_IMAGE


def _save_tarball(client, log: Callable[[str], None]) -> None:
    target = _tarball()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        with open(partial, "wb") as out:
            for chunk in client.images.get(LOCAL_IMAGE).save(named=True):
                out.write(chunk)
        partial.replace(target)
        log(f"cached {LOCAL_IMAGE} in {target}")
    except OSError as exc:  # a read-only home is no reason to fail
        log(f"could not cache the base image in {target}: {exc}")


def _load_tarball(client, log: Callable[[str], None]) -> bool:
    tarball = _tarball()
    if not tarball.is_file():
        return False
    try:
        with open(tarball, "rb") as src:
            client.images.load(src)
    except Exception as exc:  # a damaged tarball is rebuilt
        log(f"cached tarball {tarball} is unusable ({exc}); making the image again")
        return False
    return _has_image(client, LOCAL_IMAGE)


@contextlib.contextmanager
def _build_lock():
    """One builder at a time across processes (parallel grading jobs)."""
    path = cache_dir() / "python-base.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a")
    except OSError:  # no writable cache: build without a lock
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_base_image(
    client=None,
    log: Callable[[str], None] = print,
    *,
    pull_timeout: float | None = None,
    build: bool = True,
    cache: bool = True,
) -> str:
    """Return an image reference to pass as the build argument ``BASE_IMAGE``.

    ``client``: a ``docker.DockerClient`` (default ``docker.from_env()``).
    ``log``: where progress lines go (``print`` in notebooks, ``lambda s: None`` to
    silence). ``pull_timeout``: seconds for the one pull attempt of
    ``python:3.11-slim`` (0 skips it; default ``$MLOPS_COURSE_PULL_TIMEOUT`` or 60: an
    unreachable Docker Hub fails at once, a slow one gets a minute). ``build``: allow making the image with
    debootstrap. ``cache``: keep/load a tarball under :func:`cache_dir`.
    Raises :class:`BaseImageError` with advice when no base image can be had.
    """
    import docker

    own_client = client is None
    if own_client:
        client = docker.from_env(timeout=120)
    try:
        override = env("MLOPS_COURSE_BASE_IMAGE")
        if override:
            if _has_image(client, override):
                return override
            raise BaseImageError(
                f"MLOPS_COURSE_BASE_IMAGE={override} is not in the Docker engine; unset it or load that image"
            )
        if _has_image(client, PUBLIC_IMAGE):
            return PUBLIC_IMAGE
        if _has_image(client, LOCAL_IMAGE):
            return LOCAL_IMAGE
        if pull_timeout is None:
            pull_timeout = float(env("MLOPS_COURSE_PULL_TIMEOUT") or 60)
        if pull_timeout > 0 and _try_pull(client, PUBLIC_IMAGE, pull_timeout, log):
            return PUBLIC_IMAGE
        with _build_lock():
            if _has_image(client, LOCAL_IMAGE):  # made by another process meanwhile
                return LOCAL_IMAGE
            if cache and _load_tarball(client, log):
                log(f"loaded {LOCAL_IMAGE} from {_tarball()}")
                return LOCAL_IMAGE
            problem = _why_cannot_build() if build else "building it is switched off"
            if problem:
                raise BaseImageError(
                    f"No Python base image: {PUBLIC_IMAGE} cannot be pulled (is Docker Hub "
                    f"reachable?) and {LOCAL_IMAGE} cannot be made here: {problem}. Either "
                    f"`docker pull {PUBLIC_IMAGE}`, or run `python -m mlops_course.infra.base_image` "
                    "once as root with debootstrap installed, or `docker load` a saved copy."
                )
            build_local_base_image(client, log)
            if cache:
                _save_tarball(client, log)
            return LOCAL_IMAGE
    finally:
        if own_client:
            client.close()


if __name__ == "__main__":  # python -m mlops_course.infra.base_image: prepare the base image
    print(ensure_base_image())
