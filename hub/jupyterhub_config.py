"""JupyterHub for mlops-course on one machine: `make hub` (or, as root,
`python -m mlops_course.hub setup --demo-users && jupyterhub -f hub/jupyterhub_config.py`).

Paths, ports, group names and login come from mlops_course.hub.settings.HubSettings:
the environment variables of mlops_course.hub.settings.ENVIRONMENT (MLOPS_HUB_*,
NBGRADER_EXCHANGE), the same ones setup used. Kubernetes: see hub/z2jh-values.yaml and
docs/jupyterhub.md.
"""

import sys
from pathlib import Path

# The hub runs from the course's .venv; make the package importable from a checkout too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mlops_course.hub.auth import course_authenticator_class, make_pre_spawn_hook
from mlops_course.hub.settings import HubSettings

c = get_config()
settings = HubSettings()

# --- network: loopback only -----------------------------------------------------------
c.JupyterHub.bind_url = settings.url  # the proxy's public side
c.JupyterHub.hub_ip = settings.ip  # the hub's API
c.JupyterHub.hub_port = settings.hub_port
c.ConfigurableHTTPProxy.api_url = f"http://{settings.ip}:{settings.proxy_api_port}"
c.ConfigurableHTTPProxy.command = [str(settings.proxy_command)]  # from npm (setup)
c.Spawner.ip = settings.ip  # single-user servers

# --- state: root-only folder --------------------------------------------------------------
state = settings.state_dir
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops them all
c.JupyterHub.cleanup_proxy = True

# --- who may log in: PAM (local Unix users) in the course's groups ------------------------
# A course machine: accounts are Unix users in `mlc-students` or `mlc-instructors`
# (`python -m mlops_course.hub setup --demo-users` makes three). The groups are copied
# into the hub groups `students`/`instructors` at every login (manage_groups).
#
# Institution login instead (documented in docs/jupyterhub.md), e.g. OAuth/OIDC:
#   pip install oauthenticator
#   c.JupyterHub.authenticator_class = "generic-oauth"
#   c.GenericOAuthenticator.client_id / client_secret / oauth_callback_url /
#     authorize_url / token_url / userdata_url = ...   (from the institution's IdP)
#   c.GenericOAuthenticator.manage_groups = True
#   c.GenericOAuthenticator.auth_state_groups_key = "oauth_user.groups"
#   c.GenericOAuthenticator.allowed_groups = {"students", "instructors"}
# or LTI 1.3 from the LMS (pip install jupyterhub-ltiauthenticator):
#   c.JupyterHub.authenticator_class = "ltiauthenticator.lti13.auth.LTI13Authenticator"
# With a remote login the users have no Unix accounts: use a container spawner
# (Kubernetes: hub/z2jh-values.yaml) or `c.LocalAuthenticator.create_system_users = True`.
if settings.authenticator == "pam":
    c.JupyterHub.authenticator_class = course_authenticator_class()
    c.PAMAuthenticator.open_sessions = False  # no pam_systemd/logind here
    c.PAMAuthenticator.allowed_groups = {settings.student_group, settings.instructor_group}
    c.Authenticator.manage_groups = True
    c.CoursePAMAuthenticator.student_group = settings.student_group
    c.CoursePAMAuthenticator.instructor_group = settings.instructor_group
else:  # e.g. "generic-oauth"; configure it in a file given with a second -f or below
    c.JupyterHub.authenticator_class = settings.authenticator
c.Authenticator.admin_users = settings.admins

# --- the single-user servers: the course environment, per-role nbgrader extensions ------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(settings.venv / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.environment = {
    "PATH": f"{settings.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    "NBGRADER_EXCHANGE": str(settings.exchange),
}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 90
# Students: Assignments + Validate; instructors also Formgrader, Course List, Create
# Assignment, with the course folder as their nbgrader root (JUPYTER_CONFIG_PATH).
c.Spawner.pre_spawn_hook = make_pre_spawn_hook(settings)

# --- an API token for course automation (and the browser test) -------------------------
if settings.service_token:
    c.JupyterHub.services = [{"name": "course-admin", "api_token": settings.service_token}]
    c.JupyterHub.load_roles = [
        {
            "name": "course-admin",
            "services": ["course-admin"],
            "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "list:users"],
        }
    ]
