"""The course's own tables beside nbgrader's, in the same gradebook database (SQLite
or PostgreSQL), so that a roster import or a resit is one transaction together with
nbgrader's rows.

    mlops_course_roster   student_id, tiao, updated_at
    mlops_course_resit    student_id, assignment, prepared_at, deadline, first_attempt (JSON)

nbgrader ignores tables it does not know; its migrations never touch these."""

from __future__ import annotations

import functools
import os
import shutil
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Boolean, Column, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import declarative_base

from mlops_course.errors import GradebookMissing
from mlops_course.settings import COURSE_ID

Base = declarative_base()


class RosterEntry(Base):
    __tablename__ = "mlops_course_roster"
    student_id = Column(String(128), primary_key=True)
    tiao = Column(Boolean, nullable=False, default=False)
    updated_at = Column(DateTime)


class ResitEntry(Base):
    __tablename__ = "mlops_course_resit"
    __table_args__ = (UniqueConstraint("student_id", "assignment"),)
    id = Column(Integer, primary_key=True, autoincrement=True)
    student_id = Column(String(128), nullable=False)
    assignment = Column(String(128), nullable=False)
    prepared_at = Column(DateTime, nullable=False)  # naive UTC, like nbgrader
    deadline = Column(DateTime)  # naive UTC; None = no deadline
    reasons = Column(Text)  # why the module is in the resit
    first_attempt = Column(Text)  # JSON snapshot, see resit.py


def utcnow_naive() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def to_naive_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def to_aware_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def gradebook_exists(db_url: str) -> bool:
    """False for a SQLite URL whose file does not exist (opening it would create it)."""
    if db_url.startswith("sqlite:///"):
        path = db_url[len("sqlite:///") :]
        return path == ":memory:" or Path(path).is_file()
    return True


@contextmanager
def open_gradebook(course_or_url, *, create: bool = False):
    """nbgrader's Gradebook. ``create=True`` also creates our tables (and a missing
    SQLite file); ``create=False`` only reads: a missing SQLite file raises
    FileNotFoundError and our tables are not created."""
    from nbgrader.api import Gradebook

    db_url = getattr(course_or_url, "db_url", course_or_url)
    _alembic_on_path()
    if not create and not gradebook_exists(db_url):
        raise GradebookMissing(
            f"no gradebook at {db_url} yet: `mlops-course roster import FILE.csv` or "
            "`mlops-course release` makes it (is this the right course folder?)"
        )
    gb = Gradebook(db_url, course_id=getattr(course_or_url, "course_id", COURSE_ID))
    try:
        if create:
            Base.metadata.create_all(bind=gb.engine)
        yield gb
    finally:
        gb.close()
        gb.engine.dispose()


def _alembic_on_path() -> None:
    """nbgrader stamps a new database with the alembic head, which it gets by running
    the `alembic` executable (several seconds on a busy machine, and it fails when the
    venv is not activated). Read the same head in-process instead, once."""
    import nbgrader.api

    if getattr(nbgrader.api.get_alembic_version, "_mlops_course", False):
        return
    original = nbgrader.api.get_alembic_version

    @functools.lru_cache(maxsize=1)
    def head() -> str:
        try:
            from alembic.config import Config
            from alembic.script import ScriptDirectory

            config = Config()
            config.set_main_option("script_location", str(Path(nbgrader.api.__file__).parent / "alembic"))
            return ScriptDirectory.from_config(config).get_current_head()
        except Exception:  # fall back to nbgrader's own way, with the venv's bin/ on PATH
            if shutil.which("alembic") is None:
                os.environ["PATH"] = (
                    str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
                )
            return original()

    head._mlops_course = True
    nbgrader.api.get_alembic_version = head


def has_table(gb, table) -> bool:
    """Whether the gradebook has one of the course's own tables (an older one may not)."""
    from sqlalchemy import inspect

    return inspect(gb.engine).has_table(table.__tablename__)


def ensure_tables(gb) -> None:
    Base.metadata.create_all(bind=gb.engine)


def tiao_flags(gb) -> dict[str, bool]:
    if not has_table(gb, RosterEntry):
        return {}
    return {row.student_id: bool(row.tiao) for row in gb.db.query(RosterEntry).all()}


def resits(gb) -> list[ResitEntry]:
    if not has_table(gb, ResitEntry):
        return []
    return list(gb.db.query(ResitEntry).order_by(ResitEntry.student_id, ResitEntry.assignment).all())
