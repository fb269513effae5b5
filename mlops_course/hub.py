"""JupyterHub for the course: setup of a course machine and the hub's own classes.

As root, ``python -m mlops_course.hub setup --demo-users`` (what ``make hub`` runs):

1. builds the single-user environment from Debian's ``/usr/bin/python3`` (the default
   Python of these machines lives under ``/root``, which ordinary users cannot read):
   a venv under ``$MLOPS_HUB_PREFIX/venv`` (default ``/opt/mlops-course/venv``),
   readable by all, with this package and its pins (``--profile full``, the default),
   or only what a student needs for ``m0_setup`` plus nbgrader and JupyterHub
   (``--profile light``: ~200 MB instead of ~2.4 GB, used by the browser test);
2. switches nbgrader's JupyterLab extensions for the roles: students get the
   Assignments list and Validate (Formgrader, Course List and Create Assignment are
   disabled at the environment's ``sys_prefix`` level, as in nbgrader's docs);
   instructors get a config folder that enables them again (``JUPYTER_CONFIG_PATH``,
   set by the hub's :func:`pre_spawn_hook` for members of the instructors group);
3. installs configurable-http-proxy from npm into a project-local prefix
   (``hub/.proxy``);
4. makes nbgrader's exchange (mode 1777) and the system-wide ``nbgrader_config.py``
   (course id, exchange root), and the shared course folder of the instructors;
5. with ``--demo-users``: Unix groups ``mlc-students``/``mlc-instructors`` and the
   users ``mlc-instructor``, ``mlc-student1``, ``mlc-student2`` for a local run
   (passwords printed once and kept in ``$MLOPS_HUB_PREFIX/demo-passwords``, mode 0600).

``hub/jupyterhub_config.py`` reads the same :class:`HubSettings` (environment variables
``MLOPS_HUB_*``), so setup and hub always agree on paths and ports.
"""

from __future__ import annotations

import argparse
import grp
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COURSE_ID = "mlops-course"
SYSTEM_PYTHON = "/usr/bin/python3"
PROXY_PACKAGE = "configurable-http-proxy@5.3.0"

# nbgrader 0.9 JupyterLab plugins. Students keep assignment-list, validate-assignment
# and menu; these three are for instructors only.
INSTRUCTOR_LAB_PLUGINS = [
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:create-assignment",
]
INSTRUCTOR_SERVER_EXTENSIONS = [
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
]
# What a student's single-user server needs for the course's first module and for
# nbgrader (fetch, validate, submit) and grading; versions come from pyproject.toml.
LIGHT_PACKAGES = [
    "jupyterhub",
    "jupyterlab",
    "notebook",
    "nbgrader",
    "ipykernel",
    "ipywidgets",
    "nbformat",
    "nbclient",
    "papermill",
    "numpy",
    "scipy",
    "scikit-learn",
    "docker",
    "requests",
    "packaging",
    "PyYAML",
    "tqdm",
    "pandas",
    "ai-edge-litert",
]
# The light profile must run LIGHT_ASSIGNMENT (the browser test validates it in the
# hub); tests/e2e/test_hub_config.py checks that its imports are covered.
LIGHT_ASSIGNMENT = "m0_setup"


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass
class HubSettings:
    """Paths, ports and group names shared by setup and the hub's config."""

    prefix: Path = field(default_factory=lambda: Path(_env("MLOPS_HUB_PREFIX", "/opt/mlops-course")))
    exchange: Path = field(default_factory=lambda: Path(_env("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")))
    course_dir: Path = field(
        default_factory=lambda: Path(_env("MLOPS_HUB_COURSE_DIR", "/srv/nbgrader/courses/" + COURSE_ID))
    )
    system_config_dir: Path = field(
        default_factory=lambda: Path(_env("MLOPS_HUB_SYSTEM_CONFIG_DIR", "/etc/jupyter"))
    )
    proxy_prefix: Path = field(
        default_factory=lambda: Path(_env("MLOPS_HUB_PROXY_PREFIX", str(REPO / "hub" / ".proxy")))
    )
    ip: str = "127.0.0.1"
    port: int = field(default_factory=lambda: int(_env("MLOPS_HUB_PORT", "8000")))
    hub_port: int = field(default_factory=lambda: int(_env("MLOPS_HUB_API_PORT", "8081")))
    proxy_api_port: int = field(default_factory=lambda: int(_env("MLOPS_HUB_PROXY_API_PORT", "8001")))
    student_group: str = field(default_factory=lambda: _env("MLOPS_HUB_STUDENT_GROUP", "mlc-students"))
    instructor_group: str = field(
        default_factory=lambda: _env("MLOPS_HUB_INSTRUCTOR_GROUP", "mlc-instructors")
    )

    @property
    def venv(self) -> Path:
        return self.prefix / "venv"

    @property
    def state_dir(self) -> Path:
        """The hub's database, cookie secret and proxy pid (root only)."""
        return Path(_env("MLOPS_HUB_STATE", str(self.prefix / "hub-state")))

    @property
    def proxy_command(self) -> Path:
        return self.proxy_prefix / "node_modules" / ".bin" / "configurable-http-proxy"

    def role_config_dir(self, role: str) -> Path:
        """Jupyter config folder of a role (``student`` or ``instructor``)."""
        return self.prefix / "etc" / f"jupyter-{role}"

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}"


# ---------------------------------------------------------------- the hub's classes

HUB_STUDENTS, HUB_INSTRUCTORS = "students", "instructors"


def unix_groups(username: str) -> set[str]:
    """Names of the Unix groups of a user (primary and supplementary)."""
    try:
        entry = pwd.getpwnam(username)
    except KeyError:
        return set()
    return {grp.getgrgid(gid).gr_name for gid in os.getgrouplist(username, entry.pw_gid)}


def hub_groups_for(username: str, settings: HubSettings | None = None) -> list[str]:
    """The course's hub groups of a Unix user: ``instructors`` and/or ``students``."""
    settings = settings or HubSettings()
    groups = unix_groups(username)
    return ([HUB_INSTRUCTORS] if settings.instructor_group in groups else []) + (
        [HUB_STUDENTS] if settings.student_group in groups else []
    )


def role_of(group_names) -> str:
    """``instructor`` for members of the hub group ``instructors``, else ``student``."""
    return "instructor" if HUB_INSTRUCTORS in set(group_names) else "student"


def make_pre_spawn_hook(settings: HubSettings):
    """Spawner.pre_spawn_hook: the role's Jupyter config folder first on
    ``JUPYTER_CONFIG_PATH`` (nbgrader's extensions and config), the exchange."""

    def pre_spawn_hook(spawner):
        role = role_of(group.name for group in spawner.user.groups)
        spawner.environment.update(
            {
                "JUPYTER_CONFIG_PATH": str(settings.role_config_dir(role)),
                "NBGRADER_EXCHANGE": str(settings.exchange),
                "MLOPS_COURSE_ROLE": role,
            }
        )
        spawner.log.info("starting %s's server as %s", spawner.user.name, role)

    return pre_spawn_hook


def course_authenticator_class():
    """PAMAuthenticator that lets in the course's Unix groups and copies them into
    the hub groups ``students``/``instructors`` at every login (manage_groups)."""
    from jupyterhub.auth import PAMAuthenticator
    from traitlets import Unicode

    class CoursePAMAuthenticator(PAMAuthenticator):
        student_group = Unicode("mlc-students", config=True, help="Unix group of the students")
        instructor_group = Unicode("mlc-instructors", config=True, help="Unix group of the instructors")

        async def authenticate(self, handler, data):
            result = await super().authenticate(handler, data)
            if result is None:
                return None
            name = result["name"] if isinstance(result, dict) else result
            settings = HubSettings(student_group=self.student_group, instructor_group=self.instructor_group)
            auth = dict(result) if isinstance(result, dict) else {"name": name}
            auth["groups"] = hub_groups_for(name, settings)
            return auth

    return CoursePAMAuthenticator


# ---------------------------------------------------------------- setup (root)

Log = Callable[[str], None]


def _run(cmd: list[str], log: Log, **kwargs) -> subprocess.CompletedProcess:
    log("$ " + " ".join(str(c) for c in cmd))
    proc = subprocess.run(
        [str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-25:])
        raise RuntimeError(f"{cmd[0]} failed (exit {proc.returncode}):\n{tail}")
    return proc


def _requirement_name(line: str) -> str:
    return re.split(r"[=<>!~\[;@ ]", line.strip(), maxsplit=1)[0].lower()


def pinned_requirements(profile: str = "full") -> list[str]:
    """The course's pins (pyproject.toml in a checkout, else the installed package's
    metadata, e.g. inside the image); ``light`` keeps :data:`LIGHT_PACKAGES`."""
    if (REPO / "pyproject.toml").is_file():
        project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
        lines = list(project["dependencies"])
    else:
        from importlib import metadata

        lines = [r for r in metadata.requires("mlops-course") or [] if "extra ==" not in r]
    if profile == "full":
        return lines
    if profile != "light":
        raise ValueError(f"profile must be 'full' or 'light', not {profile!r}")
    wanted = {name.lower() for name in LIGHT_PACKAGES}
    light = [line for line in lines if _requirement_name(line) in wanted]
    missing = wanted - {_requirement_name(line) for line in light}
    if missing:
        raise RuntimeError(f"the course has no pin for {sorted(missing)}")
    return light


def _package_source(tmp: Path) -> Path:
    """A copy of what builds the course package, so pip builds outside the checkout."""
    src = tmp / "mlops-course-src"
    src.mkdir()
    shutil.copy(REPO / "pyproject.toml", src)
    shutil.copy(REPO / "README.md", src)
    shutil.copytree(
        REPO / "mlops_course", src / "mlops_course", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    return src


def build_env(
    settings: HubSettings, profile: str = "full", log: Log = print, python: str = SYSTEM_PYTHON
) -> Path:
    """Make (or update) the single-user venv; returns its folder. The pinned
    requirements are installed again only when they changed (a stamp file); the course
    package is always reinstalled (a few seconds)."""
    venv = settings.venv
    requirements = pinned_requirements(profile)
    stamp = venv / ".mlops-course-requirements"
    digest = hashlib.sha256(
        json.dumps(
            [profile, requirements, INSTRUCTOR_LAB_PLUGINS, INSTRUCTOR_SERVER_EXTENSIONS, "news-off"]
        ).encode()
    ).hexdigest()
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    if not (venv / "bin" / "python").exists():
        settings.prefix.mkdir(parents=True, exist_ok=True)
        _run([python, "-m", "venv", venv], log)
    if not stamp.exists() or stamp.read_text() != digest:
        started = time.monotonic()
        _run(pip + ["install", "--quiet", *requirements], log)
        log(
            f"installed {len(requirements)} pinned packages ({profile}) in {time.monotonic() - started:.0f} s"
        )
        configure_extensions(settings, log)
        stamp.write_text(digest)
    else:
        write_role_configs(settings)
    with tempfile.TemporaryDirectory(prefix="mlops-hub-") as tmp:
        _run(pip + ["install", "--quiet", "--no-deps", "--force-reinstall", _package_source(Path(tmp))], log)
    _make_readable(venv)
    return venv


def _make_readable(path: Path) -> None:
    """chmod -R a+rX: every user runs this environment."""
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(root, name)
            if os.path.islink(full):
                continue
            mode = os.stat(full).st_mode
            extra = stat.S_IROTH | stat.S_IRGRP
            if stat.S_ISDIR(mode) or mode & stat.S_IXUSR:
                extra |= stat.S_IXOTH | stat.S_IXGRP
            if mode & extra != extra:
                os.chmod(full, mode | extra)
    os.chmod(path, os.stat(path).st_mode | 0o755)


def configure_extensions(settings: HubSettings, log: Log = print) -> None:
    """Students' defaults at the environment's sys_prefix (nbgrader's documented
    commands), and the instructors' config folder that switches the rest back on."""
    jupyter = settings.venv / "bin" / "jupyter"
    for plugin in INSTRUCTOR_LAB_PLUGINS:
        _run([jupyter, "labextension", "disable", "--level=sys_prefix", plugin], log)
    for extension in INSTRUCTOR_SERVER_EXTENSIONS:
        _run([jupyter, "server", "extension", "disable", "--sys-prefix", extension], log)
    # No "Jupyter news" prompt on a course machine (and no requests to the news feed).
    overrides = settings.venv / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    overrides.parent.mkdir(parents=True, exist_ok=True)
    overrides.write_text(
        json.dumps({"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}, indent=2) + "\n"
    )
    write_role_configs(settings)


def _nbgrader_config(settings: HubSettings, course_root: Path | None) -> str:
    lines = [
        '"""Written by mlops_course.hub setup: nbgrader on the course hub."""',
        "import os",
        "c = get_config()  # noqa: F821",
        f"c.CourseDirectory.course_id = {COURSE_ID!r}",
        f"c.Exchange.root = os.environ.get('NBGRADER_EXCHANGE', {str(settings.exchange)!r})",
    ]
    if course_root is not None:
        lines.append(f"c.CourseDirectory.root = {str(course_root)!r}")
    return "\n".join(lines) + "\n"


def write_role_configs(settings: HubSettings) -> None:
    """``<prefix>/etc/jupyter-student`` and ``jupyter-instructor``: Jupyter config
    folders put first on JUPYTER_CONFIG_PATH by the hub."""
    for role in ("student", "instructor"):
        folder = settings.role_config_dir(role)
        (folder / "labconfig").mkdir(parents=True, exist_ok=True)
        instructor = role == "instructor"
        (folder / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {p: not instructor for p in INSTRUCTOR_LAB_PLUGINS}}, indent=2)
            + "\n"
        )
        (folder / "jupyter_server_config.json").write_text(
            json.dumps(
                {"ServerApp": {"jpserver_extensions": {e: instructor for e in INSTRUCTOR_SERVER_EXTENSIONS}}},
                indent=2,
            )
            + "\n"
        )
        (folder / "nbgrader_config.py").write_text(
            _nbgrader_config(settings, settings.course_dir if instructor else None)
        )
    _make_readable(settings.prefix / "etc")


def install_proxy(settings: HubSettings, log: Log = print) -> Path:
    """configurable-http-proxy from the npm registry into a project-local prefix."""
    command = settings.proxy_command
    if command.exists():
        return command
    if not shutil.which("npm"):
        raise RuntimeError("npm is missing: apt-get install -y nodejs npm")
    settings.proxy_prefix.mkdir(parents=True, exist_ok=True)
    _run(
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
    path.write_text(_nbgrader_config(settings, None))
    path.chmod(0o644)
    log(f"wrote {path}")
    return path


def ensure_group(name: str, log: Log = print) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        _run(["groupadd", name], log)


def ensure_user(name: str, groups: list[str], password: str, log: Log = print) -> None:
    """A local Unix user with a home folder, in ``groups``, with ``password``."""
    for group in groups:
        ensure_group(group, log)
    try:
        pwd.getpwnam(name)
        _run(["usermod", "-a", "-G", ",".join(groups), name], log)
    except KeyError:
        _run(["useradd", "-m", "-s", "/bin/bash", "-G", ",".join(groups), name], log)
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
    _run(["userdel", "-r", name], log)


def remove_group(name: str, log: Log = print) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        return
    _run(["groupdel", name], log)


def make_course_dir(settings: HubSettings, log: Log = print, owner: str | None = None) -> Path:
    """The instructors' course folder (nbgrader_config.py, source/, release/): group
    ``instructor_group``, setgid and group-writable, so that every instructor grades in
    it; ``owner`` makes it a single instructor's instead. Existing files are kept."""
    course = settings.course_dir
    course.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    for folder in ("source", "release"):
        if not (course / folder).exists():
            shutil.copytree(
                REPO / folder,
                course / folder,
                ignore=shutil.ignore_patterns(
                    "__pycache__", ".ipynb_checkpoints", "*.pyc", ".mlops-course-work"
                ),
            )
    if owner:
        _run(["chown", "-R", f"{owner}:{owner}", course], log)
    else:
        ensure_group(settings.instructor_group, log)
        _run(["chgrp", "-R", settings.instructor_group, course], log)
        _run(["chmod", "-R", "g+rwX,o-rwx", course], log)
        for root, dirs, _ in os.walk(course):
            for name in dirs + [""]:
                path = os.path.join(root, name)
                os.chmod(path, os.stat(path).st_mode | stat.S_ISGID)
    log(f"course folder {course}")
    return course


def configure_env(settings: HubSettings | None = None, log: Log = print) -> None:
    """In an environment that is already installed (the image): students' extension
    defaults, the role config folders, the system-wide nbgrader config."""
    settings = settings or HubSettings()
    configure_extensions(settings, log)
    write_system_config(settings, log)
    _make_readable(settings.venv)


IMAGE_FILES = ["pyproject.toml", "README.md", "mlops_course"]
IMAGE_LABEL = "org.mlops-course.role"


def image_context(folder: Path) -> Path:
    """A small build context for hub/Dockerfile.singleuser: the package sources only."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "hub" / "Dockerfile.singleuser", folder / "Dockerfile")
    for profile in ("full", "light"):
        (folder / f"requirements-{profile}.txt").write_text("\n".join(pinned_requirements(profile)) + "\n")
    for name in IMAGE_FILES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, folder / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(REPO / name, folder / name)
    return folder


def build_image(
    tag: str = "mlops-course/singleuser:latest",
    profile: str = "full",
    base: str | None = None,
    client=None,
    log: Log = print,
) -> str:
    """Build hub/Dockerfile.singleuser with the Docker SDK (``network_mode="host"`` so
    that pip reaches the package index during the build); returns the tag."""
    import docker

    from mlops_course.infra.base_image import ensure_base_image

    own = client is None
    client = client or docker.from_env(timeout=900)
    try:
        base = base or ensure_base_image(client, log)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="mlops-singleuser-") as tmp:
            context = image_context(Path(tmp) / "context")
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
                raise RuntimeError(f"building {tag} failed: {exc.msg}\n{tail}") from None
        log(f"built {tag} in {time.monotonic() - started:.0f} s")
        return tag
    finally:
        if own:
            client.close()


DEMO_INSTRUCTORS = ["mlc-instructor"]
DEMO_STUDENTS = ["mlc-student1", "mlc-student2"]


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


def setup(
    settings: HubSettings | None = None,
    profile: str = "full",
    demo_users: bool = False,
    proxy: bool = True,
    system_config: bool = True,
    log: Log = print,
) -> HubSettings:
    """Everything a course machine needs before ``jupyterhub -f hub/jupyterhub_config.py``."""
    settings = settings or HubSettings()
    if os.geteuid() != 0:
        raise SystemExit(
            "mlops_course.hub setup must run as root (it makes users, "
            f"{settings.prefix} and {settings.exchange})"
        )
    started = time.monotonic()
    build_env(settings, profile, log)
    if proxy:
        install_proxy(settings, log)
    make_exchange(settings, log)
    if system_config:
        write_system_config(settings, log)
    for group in (settings.student_group, settings.instructor_group):
        ensure_group(group, log)
    make_course_dir(settings, log)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    settings.state_dir.chmod(0o700)
    if demo_users:
        passwords = make_demo_users(settings, log)
        log("demo users (also in %s):" % (settings.prefix / "demo-passwords"))
        for name, password in passwords.items():
            log(f"  {name:<16} {password}")
    log(
        f"setup done in {time.monotonic() - started:.0f} s; start the hub with "
        f"`jupyterhub -f {REPO / 'hub' / 'jupyterhub_config.py'}`, then open {settings.url}"
    )
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_course.hub", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_setup = sub.add_parser("setup", help="prepare this machine for the course hub (root)")
    p_setup.add_argument(
        "--profile",
        choices=["full", "light"],
        default=_env("MLOPS_HUB_PROFILE", "full"),
        help="single-user environment: the whole course stack, or only m0_setup's needs",
    )
    p_setup.add_argument("--demo-users", action="store_true", help="make mlc-instructor, mlc-student1/2")
    p_setup.add_argument("--no-proxy", action="store_true", help="do not install configurable-http-proxy")
    sub.add_parser("remove-demo-users", help="delete the demo users and groups (root)")
    p_req = sub.add_parser("requirements", help="print the pinned requirements of a profile")
    p_req.add_argument("--profile", choices=["full", "light"], default="full")
    sub.add_parser("configure-env", help="nbgrader extensions and configs for an installed env (image)")
    p_image = sub.add_parser("build-image", help="build hub/Dockerfile.singleuser (Docker SDK)")
    p_image.add_argument("--tag", default="mlops-course/singleuser:latest")
    p_image.add_argument("--profile", choices=["full", "light"], default="full")
    p_image.add_argument(
        "--base", help="BASE_IMAGE (default: mlops_course.infra.base_image.ensure_base_image())"
    )
    args = parser.parse_args(argv)
    settings = HubSettings()
    if args.command == "setup":
        setup(settings, args.profile, demo_users=args.demo_users, proxy=not args.no_proxy)
    elif args.command == "requirements":
        print("\n".join(pinned_requirements(args.profile)))
    elif args.command == "configure-env":
        configure_env(settings)
    elif args.command == "build-image":
        print(build_image(args.tag, args.profile, args.base))
    else:
        for name in DEMO_INSTRUCTORS + DEMO_STUDENTS:
            remove_user(name)
        for group in (settings.student_group, settings.instructor_group):
            remove_group(group)
    return 0


if __name__ == "__main__":
    sys.exit(main())
