"""End to end on a real JupyterHub in headless Chromium (Selenium + Debian's chromedriver).

A student logs in, fetches m0_setup in the Assignments tab, answers (the notebook is
written through the Jupyter contents REST API with the student's own token), validates
and submits in the browser; the instructor collects, grades with `mlops-course grade`,
generates and releases feedback (as the instructor's Unix user, in the hub's course
environment); the student fetches the feedback in the browser; the instructor opens
Formgrader. Screenshots of every step: test-artifacts/hub/.

Needs root (Unix users, the spawner's setuid), /usr/bin/chromium + /usr/bin/chromedriver,
Node.js + npm (configurable-http-proxy) and Debian's python3 with venv. Without them it
skips, in CI (CI=true) it fails.

The single-user environment of this test is the ``light`` profile of
``mlops_course.hub.env`` (Jupyter, nbgrader, JupyterHub and m0_setup's needs, ~1.5 min to
build from the registry the first time, seconds afterwards): the full course stack is
2.4 GB and TensorFlow is not needed by m0_setup. MLOPS_HUB_E2E_PROFILE=full tests the
full one. The environment and the proxy are kept in /opt/mlops-course-e2e between runs (a
stamp of the pins decides when to reinstall); users, groups, exchange, course folder and the hub's
state are made for the run and removed after it; every port is a free one on 127.0.0.1.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
import requests
from helpers import BrowserPage, browser_parts_missing, close_browser, open_browser, skip_or_fail

from mlops_course.course import Course
from mlops_course.hub.env import SYSTEM_PYTHON, build_env, write_role_configs
from mlops_course.hub.settings import HubSettings
from mlops_course.hub.setup import (
    ensure_user,
    install_proxy,
    make_course_dir,
    make_exchange,
    remove_group,
    remove_user,
)

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "hub"
PREFIX = Path(os.environ.get("MLOPS_HUB_E2E_PREFIX", "/opt/mlops-course-e2e"))
PROFILE = os.environ.get("MLOPS_HUB_E2E_PROFILE", "light")
STUDENT, INSTRUCTOR = "mlct-student", "mlct-instructor"
STUDENT_GROUP, INSTRUCTOR_GROUP = "mlct-students", "mlct-instructors"
ASSIGNMENT = "m0_setup"

pytestmark = [pytest.mark.slow]


def _missing_parts() -> list[str]:
    missing = []
    if os.geteuid() != 0:
        missing.append("root (Unix users for PAM, the spawner switches user)")
    missing += browser_parts_missing()
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            missing.append(f"{tool} (apt-get install -y nodejs npm)")
    if subprocess.run([SYSTEM_PYTHON, "-c", "import venv, ensurepip"], capture_output=True).returncode != 0:
        missing.append(f"{SYSTEM_PYTHON} with venv (apt-get install -y python3-venv)")
    return missing


def _require_parts() -> None:
    missing = _missing_parts()
    if missing:
        skip_or_fail("the hub browser test needs " + "; ".join(missing))


def _free_ports(count: int) -> list[int]:
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _log(message: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "steps.log", "a") as log:
        log.write(f"{time.strftime('%H:%M:%S')} {message}\n")


class Hub:
    """A running course hub for the test: settings, users, the hub process."""

    def __init__(self, work: Path):
        self.work = work
        port, hub_port, proxy_api_port = _free_ports(3)
        self.course = Course(REPO)
        self.settings = HubSettings(
            prefix=PREFIX,
            exchange=work / "exchange",
            course_dir=Path(f"/home/{INSTRUCTOR}/mlops-course"),
            system_config_dir=work / "etc-jupyter",
            port=port,
            hub_port=hub_port,
            proxy_api_port=proxy_api_port,
            student_group=STUDENT_GROUP,
            instructor_group=INSTRUCTOR_GROUP,
        )
        self.passwords = {STUDENT: secrets.token_urlsafe(12), INSTRUCTOR: secrets.token_urlsafe(12)}
        self.token = secrets.token_hex(24)
        self.process: subprocess.Popen | None = None
        self.log_file = None

    @property
    def url(self) -> str:
        return self.settings.url

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        response = requests.request(
            method,
            f"{self.url}/hub/api{path}",
            timeout=30,
            headers={"Authorization": f"token {self.token}"},
            **kwargs,
        )
        return response

    def prepare(self) -> None:
        started = time.monotonic()
        build_env(self.settings, self.course, PROFILE, log=_log)
        _log(f"single-user environment ({PROFILE}) ready in {time.monotonic() - started:.0f} s")
        install_proxy(self.settings, log=_log)  # kept in PREFIX/proxy between runs
        write_role_configs(self.settings)  # this run's exchange and course folder
        make_exchange(self.settings, log=_log)
        ensure_user(STUDENT, [STUDENT_GROUP], self.passwords[STUDENT], log=_log)
        ensure_user(INSTRUCTOR, [INSTRUCTOR_GROUP], self.passwords[INSTRUCTOR], log=_log)
        make_course_dir(self.settings, self.course, log=_log, owner=INSTRUCTOR)

    def start(self) -> None:
        s = self.settings
        env = {
            **os.environ,
            "MLOPS_HUB_PREFIX": str(s.prefix),
            "MLOPS_HUB_STATE": str(self.work / "state"),
            "NBGRADER_EXCHANGE": str(s.exchange),
            "MLOPS_HUB_COURSE_DIR": str(s.course_dir),
            "MLOPS_HUB_PROXY_PREFIX": str(s.proxy_prefix),
            "MLOPS_HUB_PORT": str(s.port),
            "MLOPS_HUB_API_PORT": str(s.hub_port),
            "MLOPS_HUB_PROXY_API_PORT": str(s.proxy_api_port),
            "MLOPS_HUB_STUDENT_GROUP": STUDENT_GROUP,
            "MLOPS_HUB_INSTRUCTOR_GROUP": INSTRUCTOR_GROUP,
            "MLOPS_HUB_SERVICE_TOKEN": self.token,
            "MLOPS_HUB_AUTHENTICATOR": "pam",
        }
        (self.work / "state").mkdir(mode=0o700, exist_ok=True)
        self.log_file = open(ARTIFACTS / "jupyterhub.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(REPO / "hub" / "jupyterhub_config.py")],
            cwd=self.work / "state",
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"jupyterhub exited ({self.process.returncode}); see {ARTIFACTS / 'jupyterhub.log'}"
                )
            try:
                if self.api("GET", "/").status_code == 200:
                    _log(f"hub up at {self.url}")
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        raise RuntimeError("the hub did not answer within 90 s")

    def user_token(self, user: str) -> str:
        response = self.api(
            "POST",
            f"/users/{user}/tokens",
            json={"note": "e2e test", "expires_in": 3600, "scopes": [f"access:servers!user={user}"]},
        )
        response.raise_for_status()
        return response.json()["token"]

    def as_instructor(self, *cmd: str, timeout: float = 600) -> str:
        """A command as the instructor's Unix user, in the course folder, with the hub's
        course environment (what a terminal in the instructor's JupyterLab gives)."""
        s = self.settings
        env = [
            f"HOME=/home/{INSTRUCTOR}",
            f"USER={INSTRUCTOR}",
            "LANG=C.UTF-8",
            f"PATH={s.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            f"NBGRADER_EXCHANGE={s.exchange}",
            f"JUPYTER_CONFIG_PATH={s.role_config_dir('instructor')}",
        ]
        started = time.monotonic()
        proc = subprocess.run(
            ["runuser", "-u", INSTRUCTOR, "--", "env", "-i", *env, *cmd],
            cwd=s.course_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        _log(f"instructor$ {' '.join(cmd)} -> {proc.returncode} ({time.monotonic() - started:.1f} s)")
        with open(ARTIFACTS / "instructor.log", "a") as log:
            log.write(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}\n")
        assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        return proc.stdout

    def stop(self) -> None:
        """Stop every single-user server and the hub (which stops the proxy); then end
        whatever of the test users or the proxy is still alive, by pid."""
        if self.process is not None and self.process.poll() is None:
            for user in (STUDENT, INSTRUCTOR):
                try:
                    self.api("DELETE", f"/users/{user}/server")
                except requests.RequestException:
                    pass
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        pid_file = self.work / "state" / "jupyterhub-proxy.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
            except (ValueError, ProcessLookupError):
                pass
        if self.log_file:
            self.log_file.close()


@pytest.fixture(scope="module")
def course_hub():
    _require_parts()
    # One run at a time on a machine (its users, groups and /opt environment are shared
    # by every checkout): a second `make test` waits here.
    lock = open("/tmp/mlops-course-hub-e2e.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        yield from _course_hub()
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def _course_hub():
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    work = Path(tempfile.mkdtemp(prefix="mlct-hub-", dir="/tmp"))
    os.chmod(work, 0o755)
    the_hub = Hub(work)
    try:
        the_hub.prepare()
        the_hub.start()
        yield the_hub
    finally:
        the_hub.stop()
        for user in (STUDENT, INSTRUCTOR):
            remove_user(user, log=_log)
        for group in (STUDENT_GROUP, INSTRUCTOR_GROUP):
            remove_group(group, log=_log)
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- the browser


def _browser(name: str):
    return open_browser(name, ARTIFACTS)


class Page(BrowserPage):
    def __init__(self, driver, prefix: str):
        super().__init__(driver, prefix, ARTIFACTS, log=_log)

    def login(self, url: str, user: str, password: str) -> None:
        self.driver.get(f"{url}/hub/login")
        self.wait("//input[@id='username_input']").send_keys(user)
        self.driver.find_element("id", "password_input").send_keys(password)
        self.shot("login")
        self.driver.find_element("id", "login_submit").click()
        # the hub spawns the server and redirects to /user/<name>/lab
        self.wait("//*[@id='jp-main-dock-panel']", timeout=180)
        time.sleep(2)  # let Lab settle (restored workspace, news popup)
        self.shot("lab")


def _answered(fetched: dict, source: Path) -> dict:
    """The fetched notebook with the source's solutions in the answer cells."""
    solutions = {}
    for cell in nbformat.read(str(source), as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            lines = [
                line
                for line in cell.source.splitlines()
                if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
            ]
            solutions[meta["grade_id"]] = "\n".join(lines)
        elif meta.get("solution"):  # an open question, graded by hand
            solutions[meta["grade_id"]] = (
                "Pinning every version and seeding every random choice "
                "makes a run repeatable on another machine."
            )
    answered = set()
    for cell in fetched["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell["source"] = solutions[grade_id]
            answered.add(grade_id)
    missing = sorted(set(solutions) - answered)
    assert not missing, (
        f"the fetched notebook has no answer cell {missing}; its grade ids: "
        f"{[c.get('metadata', {}).get('nbgrader', {}).get('grade_id') for c in fetched['cells']]}"
    )
    return fetched


def _manual_grade_ids(source: Path) -> set[str]:
    """Grade cells scored by hand (open answers): solution and grade both set."""
    ids = set()
    for cell in nbformat.read(str(source), as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and meta.get("solution"):
            ids.add(meta["grade_id"])
    return ids


# ---------------------------------------------------------------- the test


def test_student_and_instructor_in_the_browser(course_hub):
    h = course_hub
    url = h.url

    # the instructor releases m0_setup into the exchange
    h.as_instructor("mlops-course", "release", ASSIGNMENT)
    h.as_instructor("nbgrader", "release_assignment", ASSIGNMENT)

    # -- the student: log in, Assignments, fetch
    student = _browser("student")
    try:
        page = Page(student, "student")
        page.login(url, STUDENT, h.passwords[STUDENT])
        entries = page.nbgrader_menu()
        assert "Assignment List" in entries, entries
        assert "Formgrader" not in entries and "Course List" not in entries, (
            f"a student sees instructor tools: {entries}"
        )
        page.shot("nbgrader-menu")
        page.menu_entry("Assignment List")
        fetch = f"//div[@id='released_assignments_list']//div[contains(@class,'list_item')][.//*[contains(text(),'{ASSIGNMENT}')]]//button[normalize-space()='Fetch']"
        page.wait(fetch, timeout=90)
        page.shot("assignments")
        page.click(fetch)
        fetched_row = f"//div[@id='fetched_assignments_list']//div[contains(@class,'list_item')][.//*[contains(text(),'{ASSIGNMENT}')]]"
        page.wait(fetched_row, timeout=90)
        page.shot("fetched")

        # -- answer: the notebook through the contents API, with the student's token
        token = h.user_token(STUDENT)
        api = f"{url}/user/{STUDENT}/api/contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
        auth = {"Authorization": f"token {token}"}
        response = requests.get(api, headers=auth, params={"content": 1}, timeout=30)
        response.raise_for_status()
        notebook = _answered(response.json()["content"], REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        requests.put(
            api, headers=auth, timeout=30, json={"type": "notebook", "format": "json", "content": notebook}
        ).raise_for_status()
        _log("answers written through the contents API")

        # -- validate in the Assignments list (expand the assignment to see its notebooks)
        validate = f"{fetched_row}//button[normalize-space()='Validate']"
        if (
            not student.find_elements("xpath", validate)
            or not student.find_element("xpath", validate).is_displayed()
        ):
            page.click(f"{fetched_row}//a[contains(@class,'collapsed') or @data-toggle='collapse'][1]")
        page.click(validate)
        result = page.wait(
            "//*[contains(@class,'validation-success') or contains(@class,'validation-failed')"
            " or contains(text(),'There was an error running the validate command')]",
            timeout=300,
        )
        page.shot("validated")
        assert "Success! Your notebook passes all the tests." in result.text, result.text[:2000]
        page.click(
            "//div[contains(@class,'jp-Dialog')]//button[contains(@class,'jp-mod-accept')]"
            " | //div[contains(@class,'jp-Dialog')]//button[normalize-space()='OK']"
        )

        # -- submit
        page.click(f"{fetched_row}//button[normalize-space()='Submit']")
        page.wait(
            f"//div[@id='submitted_assignments_list']//div[contains(@class,'list_item')]"
            f"[.//*[contains(text(),'{ASSIGNMENT}')]]",
            timeout=90,
        )
        page.shot("submitted")

        # -- the instructor: collect, grade, feedback
        h.as_instructor("nbgrader", "collect", ASSIGNMENT)
        # --no-sandbox: the submission is this test's own model answers, and the
        # instructor's Unix user has no Docker engine (the sandbox has its own tests).
        summary = h.as_instructor("mlops-course", "grade", ASSIGNMENT, "--workers", "1", "--no-sandbox")
        _log("grade summary:\n" + summary)
        result_file = h.settings.course_dir / "grading" / "results" / ASSIGNMENT / f"{STUDENT}.json"
        graded = json.loads(result_file.read_text())
        assert graded["status"] == "graded", graded
        manual = _manual_grade_ids(h.settings.course_dir / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        short = {
            cell: value
            for cell, value in graded["cells"].items()
            if cell not in manual and value["score"] < value["max_score"]
        }
        assert graded["cells"] and not short, f"the model answers lost auto-graded points: {short}"
        # nbgrader's release_feedback needs the submission's secret in autograded/: the
        # grader carries it over from submitted/
        secret = f"{STUDENT}/{ASSIGNMENT}/submission_secret.txt"
        assert (h.settings.course_dir / "autograded" / secret).read_text() == (
            h.settings.course_dir / "submitted" / secret
        ).read_text()
        h.as_instructor("nbgrader", "generate_feedback", ASSIGNMENT)
        h.as_instructor("nbgrader", "release_feedback", ASSIGNMENT)

        # -- the student fetches the feedback in the Assignments list
        page.click("//*[@id='refresh_assignments_list']")
        fetch_feedback = "//div[@id='submitted_assignments_list']//button[normalize-space()='Fetch Feedback']"
        page.click(fetch_feedback, timeout=90)
        page.wait("//div[@id='submitted_assignments_list']//a[contains(text(),'view feedback')]", timeout=90)
        page.shot("feedback-fetched")
        listing = requests.get(
            f"{url}/user/{STUDENT}/api/contents/{ASSIGNMENT}/feedback", headers=auth, timeout=30
        ).json()
        stamp = listing["content"][0]["name"]
        html = f"{ASSIGNMENT}/feedback/{stamp}/{ASSIGNMENT}.html"
        feedback = requests.get(f"{url}/user/{STUDENT}/files/{html}", headers=auth, timeout=30)
        feedback.raise_for_status()
        assert "BEGIN HIDDEN TESTS" not in feedback.text
        student.get(f"{url}/user/{STUDENT}/files/{html}")
        time.sleep(1)
        page.shot("feedback")
    finally:
        close_browser(student)

    # -- the instructor's Lab has Formgrader, on the course folder's gradebook
    instructor = _browser("instructor")
    try:
        page = Page(instructor, "instructor")
        page.login(url, INSTRUCTOR, h.passwords[INSTRUCTOR])
        entries = page.nbgrader_menu()
        assert "Formgrader" in entries, f"the instructor has no Formgrader: {entries}"
        page.shot("nbgrader-menu")
        # JupyterHub >= 4.1 forbids framing a server's pages (CSP frame-ancestors 'none'),
        # so Lab's Formgrader panel stays blank unless subdomains are on; nbgrader's
        # documented way without them: Formgrader in its own browser tab.
        instructor.get(f"{url}/user/{INSTRUCTOR}/formgrader")
        page.wait(f"//*[contains(text(),'{ASSIGNMENT}')]", timeout=90)
        time.sleep(1)
        page.shot("formgrader")
    finally:
        close_browser(instructor)
