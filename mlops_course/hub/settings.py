"""The hub's settings: paths, ports, groups and login, read from environment variables
by both ``python -m mlops_course.hub setup`` and ``hub/jupyterhub_config.py``, so the two
always agree. ``ENVIRONMENT`` declares every variable once (name, default, meaning)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mlops_course.settings import COURSE_ID, Variable

ENVIRONMENT = (
    Variable(
        "MLOPS_HUB_PREFIX",
        "/opt/mlops-course",
        "The hub's own folder: the single-user venv, the role configs, the proxy, `hub-state/`.",
    ),
    Variable(
        "MLOPS_HUB_STATE",
        "$MLOPS_HUB_PREFIX/hub-state",
        "The hub's database, cookie secret and proxy pid (root only).",
    ),
    Variable(
        "MLOPS_HUB_PROXY_PREFIX",
        "$MLOPS_HUB_PREFIX/proxy",
        "The npm prefix configurable-http-proxy is installed into.",
    ),
    Variable("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange", "nbgrader's exchange folder (mode 1777)."),
    Variable(
        "MLOPS_HUB_COURSE_DIR",
        f"/srv/nbgrader/courses/{COURSE_ID}",
        "The instructors' shared course folder (their nbgrader root).",
    ),
    Variable(
        "MLOPS_HUB_SYSTEM_CONFIG_DIR",
        "/etc/jupyter",
        "Where setup writes the system-wide `nbgrader_config.py` (course id, exchange).",
    ),
    Variable("MLOPS_HUB_PORT", "8000", "The hub's public port (on 127.0.0.1)."),
    Variable("MLOPS_HUB_API_PORT", "8081", "The hub's API port (on 127.0.0.1)."),
    Variable("MLOPS_HUB_PROXY_API_PORT", "8001", "configurable-http-proxy's API port (on 127.0.0.1)."),
    Variable("MLOPS_HUB_STUDENT_GROUP", "mlc-students", "The students' Unix group."),
    Variable("MLOPS_HUB_INSTRUCTOR_GROUP", "mlc-instructors", "The instructors' Unix group."),
    Variable(
        "MLOPS_HUB_PROFILE",
        "full",
        "`setup --profile`: `full` (the whole course stack) or `light` (Jupyter, nbgrader, "
        "JupyterHub and m0_setup's needs).",
    ),
    Variable(
        "MLOPS_HUB_AUTHENTICATOR",
        "pam",
        "`pam` (Unix users in the course groups); anything else is passed to "
        "`JupyterHub.authenticator_class`.",
    ),
    Variable("MLOPS_HUB_ADMINS", "none", "Hub admins, comma-separated user names."),
    Variable(
        "MLOPS_HUB_SERVICE_TOKEN",
        "unset",
        "If set, a `course-admin` hub service with this API token (automation, tests).",
    ),
)
_DECLARED = {variable.name: variable for variable in ENVIRONMENT}


def env(name: str) -> str | None:
    """The value of a declared hub variable, or None when it is unset or empty."""
    if name not in _DECLARED:
        raise KeyError(f"{name} is not declared in mlops_course.hub.settings.ENVIRONMENT")
    return os.environ.get(name) or None


def default(name: str) -> str:
    """The declared default of a hub variable (a value, or a description of one)."""
    return _DECLARED[name].default


def env_or_default(name: str) -> str:
    """The value of a declared hub variable, else its declared default (for variables
    whose default is a value)."""
    return env(name) or default(name)


def _path(name: str) -> Path:
    return Path(env_or_default(name))


@dataclass
class HubSettings:
    """Paths, ports, group names and login shared by setup and the hub's config.
    ``state_dir`` and ``proxy_prefix`` default to folders in ``prefix``."""

    prefix: Path = field(default_factory=lambda: _path("MLOPS_HUB_PREFIX"))
    exchange: Path = field(default_factory=lambda: _path("NBGRADER_EXCHANGE"))
    course_dir: Path = field(default_factory=lambda: _path("MLOPS_HUB_COURSE_DIR"))
    system_config_dir: Path = field(default_factory=lambda: _path("MLOPS_HUB_SYSTEM_CONFIG_DIR"))
    state_dir: Path | None = None
    proxy_prefix: Path | None = None
    ip: str = "127.0.0.1"
    port: int = field(default_factory=lambda: int(env_or_default("MLOPS_HUB_PORT")))
    hub_port: int = field(default_factory=lambda: int(env_or_default("MLOPS_HUB_API_PORT")))
    proxy_api_port: int = field(default_factory=lambda: int(env_or_default("MLOPS_HUB_PROXY_API_PORT")))
    student_group: str = field(default_factory=lambda: env_or_default("MLOPS_HUB_STUDENT_GROUP"))
    instructor_group: str = field(default_factory=lambda: env_or_default("MLOPS_HUB_INSTRUCTOR_GROUP"))
    authenticator: str = field(default_factory=lambda: env_or_default("MLOPS_HUB_AUTHENTICATOR"))
    admins: set[str] = field(
        default_factory=lambda: {name for name in (env("MLOPS_HUB_ADMINS") or "").split(",") if name}
    )
    service_token: str | None = field(default_factory=lambda: env("MLOPS_HUB_SERVICE_TOKEN"), repr=False)

    def __post_init__(self) -> None:
        if self.state_dir is None:
            self.state_dir = Path(env("MLOPS_HUB_STATE") or self.prefix / "hub-state")
        if self.proxy_prefix is None:
            self.proxy_prefix = Path(env("MLOPS_HUB_PROXY_PREFIX") or self.prefix / "proxy")

    @property
    def venv(self) -> Path:
        """The single-user environment every user's server runs in."""
        return self.prefix / "venv"

    @property
    def npm_prefix(self) -> Path:
        """Where the course's Node packages (m2_cicd) are installed for every user."""
        return self.prefix / "npm"

    @property
    def proxy_command(self) -> Path:
        return self.proxy_prefix / "node_modules" / ".bin" / "configurable-http-proxy"

    def role_config_dir(self, role: str) -> Path:
        """Jupyter config folder of a role (``student`` or ``instructor``)."""
        return self.prefix / "etc" / f"jupyter-{role}"

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}"
