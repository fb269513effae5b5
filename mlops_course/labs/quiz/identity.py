"""Whose notebook this is, and the order in which that student sees a question's options.

The order is a hash of (student, question, option id): the same every time for one
student, different between students, so "b, a, d" copied from a neighbour is wrong.
Answers are stored by option id, so the order never changes what an answer means."""

from __future__ import annotations

import getpass
import hashlib
import os
import string

from mlops_course.settings import env

LETTERS = string.ascii_lowercase


def student_id() -> str:
    """The grader's student id (MLOPS_COURSE_STUDENT), else the JupyterHub user, else the
    login name of this machine."""
    for name in (env("MLOPS_COURSE_STUDENT"), os.environ.get("JUPYTERHUB_USER")):
        if name:
            return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (e.g. a container's anonymous uid)
        return "student"


def shown_order(question: str, ids, student: str | None = None) -> list[str]:
    """The option ids of ``question`` in the order ``student`` sees them."""
    student = student_id() if student is None else student

    def rank(option: str) -> bytes:
        return hashlib.sha256(f"{student}\0{question}\0{option}".encode()).digest()

    return sorted(ids, key=rank)


def lettered(
    question: str, options: dict[str, str], student: str | None = None
) -> list[tuple[str, str, str]]:
    """(letter, option id, text) in the order ``student`` sees them."""
    order = shown_order(question, options, student)
    return [(LETTERS[index], option, options[option]) for index, option in enumerate(order)]
