"""Who is who on the hub: the course's Unix groups become the hub groups ``students``
and ``instructors`` at login, and the group decides the role a user's server starts in."""

from __future__ import annotations

import grp
import os
import pwd

from mlops_course.hub.settings import HubSettings, default

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
                "MLOPS_COURSE_NPM_PREFIX": str(settings.npm_prefix),  # m2_cicd's Node packages
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
        student_group = Unicode(
            default("MLOPS_HUB_STUDENT_GROUP"), config=True, help="Unix group of the students"
        )
        instructor_group = Unicode(
            default("MLOPS_HUB_INSTRUCTOR_GROUP"), config=True, help="Unix group of the instructors"
        )

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
