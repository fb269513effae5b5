"""The gradebook in PostgreSQL (`MLOPS_COURSE_DB_URL=postgresql+psycopg2://...`): a real
PostgreSQL 15 server started here (loopback only, throwaway data folder), then release,
parallel grading, regrading and export of m0_setup on a course copy of its own.

Skips when PostgreSQL's binaries are missing, except in CI (CI=true), where it fails."""

from __future__ import annotations

import csv
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import nbformat
import pytest
from helpers import REPO, append_to_cells, skip_or_fail

from mlops_course.course import Course

pytestmark = pytest.mark.slow
A = "m0_setup"
PG_BIN = Path(os.environ.get("MLOPS_COURSE_PG_BIN", "/usr/lib/postgresql/15/bin"))
STUDENTS = ["pg-good", "pg-wrong"]


def _require_postgres() -> None:
    missing = [name for name in ("initdb", "pg_ctl") if not (PG_BIN / name).is_file()]
    if missing:
        message = (
            f"PostgreSQL server binaries not found in {PG_BIN} ({', '.join(missing)}): "
            "apt-get install postgresql (or set MLOPS_COURSE_PG_BIN)"
        )
        skip_or_fail(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Postgres:
    """A throwaway PostgreSQL cluster: initdb + pg_ctl, run as `postgres` when we are root."""

    def __init__(self):
        self.as_root = os.geteuid() == 0
        self.base = Path(tempfile.mkdtemp(prefix="mlops-course-pg-"))  # not under pytest's 0700 tmp
        self.data, self.sock, self.log = self.base / "data", self.base / "sock", self.base / "server.log"
        self.password = secrets.token_hex(12)
        self.port = _free_port()
        self.sock.mkdir()
        pwfile = self.base / "pw"
        pwfile.write_text(self.password + "\n")
        if self.as_root:
            shutil.chown(self.base, "postgres", "postgres")
            for path in (self.sock, pwfile):
                shutil.chown(path, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "scram-sha-256",
            f"--pwfile={pwfile}",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        pwfile.unlink()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sock} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-w", "-t", "30", "-D", str(self.data), "-l", str(self.log), "-o", options, "start"
        )

    def _run(self, tool: str, *args: str) -> None:
        command = [str(PG_BIN / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr[-2000:]}\n{log}")

    def url(self, user: str, password: str, db: str) -> str:
        return f"postgresql+psycopg2://{user}:{password}@127.0.0.1:{self.port}/{db}"

    def connect(self, db: str = "postgres", user: str = "postgres", password: str | None = None):
        import psycopg2

        return psycopg2.connect(
            host="127.0.0.1",
            port=self.port,
            dbname=db,
            user=user,
            password=password or self.password,
            connect_timeout=10,
        )

    def create_database(self, name: str, owner: str, password: str) -> str:
        conn = self.connect()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"CREATE ROLE {owner} LOGIN PASSWORD %s", (password,))
            cur.execute(f"CREATE DATABASE {name} OWNER {owner}")
        conn.close()
        return self.url(owner, password, name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres():
    _require_postgres()
    server = Postgres()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pg_course(postgres, tmp_path_factory):
    """A course copy (m0_setup only) whose gradebook is a PostgreSQL database; the URL is
    set only while this module's tests run (the session course stays on SQLite)."""
    password = secrets.token_hex(8)
    url = postgres.create_database("gradebook", "grader", password)
    root = tmp_path_factory.mktemp("pg-course")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(
        REPO / "source" / A,
        root / "source" / A,
        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc", ".mlops-course-work"),
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLOPS_COURSE_DB_URL", url)
        yield Course(root), password


def grade_cell_ids(course) -> list[str]:
    nb = nbformat.read(str(course.source_notebook(A)), as_version=4)
    return [
        c.metadata["nbgrader"]["grade_id"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
    ]


def put(course, student, nb):
    folder = course.submission_dir(student, A)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    nbformat.write(nb, str(folder / f"{A}.ipynb"))


def scores_in_postgres(postgres, password) -> dict[str, float]:
    """Straight from PostgreSQL's tables (no nbgrader code): total score per student."""
    conn = postgres.connect("gradebook", "grader", password)
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT sa.student_id, SUM(COALESCE(g.manual_score, g.auto_score, 0))
            FROM grade g
            JOIN submitted_notebook sn ON g.notebook_id = sn.id
            JOIN submitted_assignment sa ON sn.assignment_id = sa.id
            JOIN assignment a ON sa.assignment_id = a.id
            WHERE a.name = %s GROUP BY sa.student_id""",
            (A,),
        )
        found = {student: float(total) for student, total in cur.fetchall()}
    conn.close()
    return found


@pytest.fixture(scope="module")
def graded(pg_course):
    from mlops_course.grading.pipeline import Options, grade
    from mlops_course.grading.release import release

    course, _ = pg_course
    assert course.db_url.startswith("postgresql+psycopg2://")
    release(course, [A])
    good = nbformat.read(str(course.source_notebook(A)), as_version=4)
    put(course, "pg-good", good)
    put(course, "pg-wrong", append_to_cells(good, {"q_cace": "q_cace = 'cache_compute'"}))
    # two notebooks execute at once; scoring writes from this process only
    return {
        r.student: r for r in grade(course, A, STUDENTS, Options(sandbox=False, workers=2, progress=False))
    }


def test_release_writes_the_assignment_to_postgresql_not_sqlite(postgres, pg_course, graded):
    course, password = pg_course
    conn = postgres.connect("gradebook", "grader", password)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT a.name, COUNT(gc.id) FROM assignment a JOIN notebook n ON n.assignment_id = a.id "
            "JOIN base_cell bc ON bc.notebook_id = n.id JOIN grade_cells gc ON gc.id = bc.id GROUP BY a.name"
        )
        assert dict(cur.fetchall()) == {A: len(grade_cell_ids(course))}
    conn.close()
    assert not (course.root / "gradebook.db").exists()


def test_parallel_grading_lands_every_score_in_postgresql(postgres, pg_course, graded):
    _, password = pg_course
    assert all(r.status == "graded" for r in graded.values()), {s: r.reason for s, r in graded.items()}
    full = graded["pg-good"].score
    assert full > 0
    assert graded["pg-wrong"].score == full - 1
    assert scores_in_postgres(postgres, password) == {s: graded[s].score for s in STUDENTS}


def test_regrading_changes_nothing_in_postgresql(postgres, pg_course, graded):
    from mlops_course.grading.pipeline import Options, grade

    course, password = pg_course
    before = scores_in_postgres(postgres, password)
    course.result_file(A, "pg-wrong").unlink()  # forget the result, or grade would keep it
    again = grade(course, A, ["pg-wrong"], Options(sandbox=False, workers=1, progress=False))
    assert [(r.student, r.score) for r in again] == [("pg-wrong", graded["pg-wrong"].score)]
    assert scores_in_postgres(postgres, password) == before
    assert all(r.graded_at >= graded[r.student].graded_at for r in again)


def test_export_lists_the_postgresql_grades(pg_course, graded, tmp_path):
    from mlops_course.grading.export import export_csv

    course, _ = pg_course
    path = export_csv(course, tmp_path / "grades.csv", A)
    rows = {row["student"]: row for row in csv.DictReader(path.open())}
    assert set(rows) == set(STUDENTS)
    for student in STUDENTS:
        assert float(rows[student]["score"]) == graded[student].score
        assert rows[student]["status"] == "graded"


def test_feedback_reads_the_scores_from_postgresql(pg_course, graded):
    """nbgrader's own step (generate_feedback) finds the grades through the same URL."""
    from mlops_course.grading.feedback import generate_feedback

    course, _ = pg_course
    written = generate_feedback(course, A, ["pg-wrong"])
    assert [(item.student, item.score) for item in written] == [("pg-wrong", graded["pg-wrong"].score)]
    html = (course.feedback / "pg-wrong" / A / f"{A}.html").read_text()
    assert f"{graded['pg-wrong'].score:g}" in html
