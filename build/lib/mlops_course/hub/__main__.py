"""``python -m mlops_course.hub``: set up a course machine for JupyterHub, build the
course's notebook image, and the smaller steps the image and tests use."""

from __future__ import annotations

import argparse
import sys

from mlops_course.course import Course
from mlops_course.errors import CourseError
from mlops_course.hub.env import pinned_requirements
from mlops_course.hub.image import build_image
from mlops_course.hub.settings import HubSettings, env_or_default
from mlops_course.hub.setup import configure_env, remove_demo_users, setup

PROFILES = ["full", "light"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mlops_course.hub", description=__doc__)
    parser.add_argument(
        "--course",
        help="course folder: a checkout of the course's repository "
        "(default: the one containing the current folder)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_setup = sub.add_parser("setup", help="prepare this machine for the course hub (root)")
    p_setup.add_argument(
        "--profile",
        choices=PROFILES,
        default=env_or_default("MLOPS_HUB_PROFILE"),
        help="single-user environment: the whole course stack, or only m0_setup's needs",
    )
    p_setup.add_argument("--demo-users", action="store_true", help="make mlc-instructor, mlc-student1/2")
    p_setup.add_argument("--no-proxy", action="store_true", help="do not install configurable-http-proxy")
    sub.add_parser("remove-demo-users", help="delete the demo users and groups (root)")
    p_req = sub.add_parser("requirements", help="print the pinned requirements of a profile")
    p_req.add_argument("--profile", choices=PROFILES, default="full")
    sub.add_parser("configure-env", help="nbgrader extensions and configs for an installed env (image)")
    p_image = sub.add_parser("build-image", help="build hub/Dockerfile.singleuser (Docker SDK)")
    p_image.add_argument("--tag", default="mlops-course/singleuser:latest")
    p_image.add_argument("--profile", choices=PROFILES, default="full")
    p_image.add_argument(
        "--base", help="BASE_IMAGE (default: mlops_course.infra.base_image.ensure_base_image())"
    )
    return parser


def run(args: argparse.Namespace) -> None:
    settings = HubSettings()
    if args.command == "setup":
        setup(Course.find(args.course), settings, args.profile, args.demo_users, proxy=not args.no_proxy)
    elif args.command == "requirements":
        print("\n".join(pinned_requirements(args.profile)))
    elif args.command == "configure-env":
        configure_env(settings)
    elif args.command == "build-image":
        print(build_image(Course.find(args.course), args.tag, args.profile, args.base))
    else:
        remove_demo_users(settings)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except CourseError as exc:
        print(f"python -m mlops_course.hub: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
