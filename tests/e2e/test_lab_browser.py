"""End to end on a laptop, in headless Chromium: `make lab`'s JupyterLab
(``mlops_course.student.lab``) on a copy of the course. A student opens m0_setup from
release/, answers two theory questions with the widgets (one right, one half right),
presses Validate, and runs `mlops-course check` in a Lab terminal: the two answers are
reported as "format OK", never as points earned. Along the way: no Assignments tab (so
no "Error fetching courses!"), no Formgrader or Course List, and the answers are in
answers.json beside the notebook. Screenshots of every step: test-artifacts/lab/.

Needs /usr/bin/chromium, /usr/bin/chromedriver and selenium; without them it skips,
in CI (CI=true) it fails."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time

import pytest
import requests
from helpers import REPO, BrowserPage, browser_parts_missing, close_browser, open_browser, require

from mlops_course.course import Course
from mlops_course.settings import ANSWERS_FILE
from mlops_course.student.lab import lab_command

ARTIFACTS = REPO / "test-artifacts" / "lab"
A = "m0_setup"
NOTEBOOK = f"release/{A}/{A}.ipynb"
CELLS = "//div[contains(@class,'jp-Notebook')]//div[contains(concat(' ', normalize-space(@class), ' '), ' jp-Cell ')]"

pytestmark = [pytest.mark.slow]


def _log(message: str) -> None:
    with open(ARTIFACTS / "steps.log", "a") as log:
        log.write(f"{time.strftime('%H:%M:%S')} {message}\n")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def laptop_lab(tmp_path_factory):
    """`make lab` on a copy of the course (its source and release of m0_setup)."""
    missing = browser_parts_missing()
    require(not missing, "the laptop browser test needs " + "; ".join(missing))
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    root = tmp_path_factory.mktemp("laptop-course")
    shutil.copy(REPO / "nbgrader_config.py", root)
    for folder in ("source", "release"):
        shutil.copytree(REPO / folder / A, root / folder / A)
    cache = root / ".cache"
    # the terminal keeps its text in an accessibility tree too, so the test can read it
    settings = cache / "lab" / "lab" / "user-settings" / "@jupyterlab" / "terminal-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"screenReaderMode": True}))
    port, token = _free_port(), "laptop-test-token"
    extra = [
        f"--ServerApp.token={token}",
        # a Lab started from a terminal (`make lab`) gives its terminals a plain shell,
        # with the course's environment on PATH; under pytest it would start a login shell
        '--ServerApp.terminado_settings={"shell_command": ["/bin/bash"]}',
    ] + (["--allow-root"] if os.geteuid() == 0 else [])
    previous = os.environ.get("MLOPS_COURSE_CACHE")
    os.environ["MLOPS_COURSE_CACHE"] = str(cache)
    try:
        command, env = lab_command(Course(root), port, browser=False, extra=extra)
    finally:
        if previous is None:
            os.environ.pop("MLOPS_COURSE_CACHE")
        else:
            os.environ["MLOPS_COURSE_CACHE"] = previous
    env["MLOPS_COURSE_CACHE"] = str(cache)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["USER"] = "laptop-student"  # whose order of the options
    log = open(ARTIFACTS / "jupyterlab.log", "w")
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, f"JupyterLab exited; see {ARTIFACTS / 'jupyterlab.log'}"
            try:
                if requests.get(f"{url}/api/status", params={"token": token}, timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "JupyterLab did not answer within 180 s"
            time.sleep(1)
        _log(f"lab up at {url}")
        yield {"url": url, "token": token, "root": root}
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


class Notebook(BrowserPage):
    """JupyterLab's notebook, driven from the keyboard as a student does."""

    def wait_idle(self, timeout: float = 180) -> None:
        """Until no cell waits or runs (no ``[*]`` prompt)."""
        deadline = time.monotonic() + timeout
        time.sleep(0.5)
        while self.driver.find_elements(
            "xpath", "//div[contains(@class,'jp-InputPrompt') and contains(normalize-space(),'[*]')]"
        ):
            assert time.monotonic() < deadline, "a cell ran too long"
            time.sleep(0.5)

    def run_cells(self, first: int, count: int) -> None:
        """Click cell number ``first`` (1, 2, ...), then Shift+Enter ``count`` times,
        one cell after the other."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        self.click(f"({CELLS})[{first}]")
        for _ in range(count):
            ActionChains(self.driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
            self.wait_idle()


def _terminal_text(driver) -> str:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('.xterm-accessibility-tree > div'))"
        ".map(row => row.textContent).join('\\n')"
    )


def test_a_student_on_a_laptop_answers_with_widgets_and_checks(laptop_lab):
    url, token, root = laptop_lab["url"], laptop_lab["token"], laptop_lab["root"]
    driver = open_browser("laptop", ARTIFACTS)
    try:
        page = Notebook(driver, "laptop", ARTIFACTS, log=_log)
        driver.get(f"{url}/lab/tree/{NOTEBOOK}?token={token}")
        page.wait(CELLS, timeout=180)
        page.wait("//*[contains(@class,'jp-StatusBar')]//*[contains(normalize-space(),'Idle')]", timeout=180)
        time.sleep(2)
        page.shot("notebook")
        assert "Error fetching courses" not in driver.page_source
        entries = page.nbgrader_menu()
        assert not {"Assignment List", "Formgrader", "Course List"} & set(entries), entries
        driver.find_element("tag name", "body").send_keys("\ue00c")  # Escape: close the menu

        for no in driver.find_elements("xpath", "//button[normalize-space()='No']"):
            no.click()  # JupyterLab's question about its news feed

        # Q1: run from the top to the question's cell (the 6th), choose the right option
        page.run_cells(1, 6)
        radio = "//div[contains(@class,'widget-radio-box')]//label[normalize-space()='{}']"
        letter = next(
            label.text.split(")")[0]
            for label in driver.find_elements("xpath", "//div[contains(@class,'widget-radio-box')]//label")
            if label.text.endswith("the ML code")
        )
        page.click(radio.format(f"{letter}) the ML code"))
        page.wait("//*[contains(text(),'Saved in answers.json')]")
        page.shot("q1-answered")
        page.run_cells(7, 1)  # its test: the format only
        page.wait(
            "//pre[contains(.,'q_small_box: format OK; correctness is checked when your lecturer grades')]"
        )

        # Q3 (the 12th cell): tick one right and one wrong kind of debt
        page.run_cells(8, 5)
        for text in ("glue code", "too many unit tests"):
            page.click(
                f"//div[contains(@class,'widget-checkbox')]//label[contains(normalize-space(), '{text}')]"
            )
        page.wait("//*[contains(text(),'Saved in answers.json') and contains(text(),'too many unit tests')]")
        page.shot("q3-answered")
        saved = json.loads((root / "release" / A / ANSWERS_FILE).read_text())["answers"]
        assert saved == {"q_small_box": "ml_code", "q_debt_kinds": ["glue_code", "too_many_tests"]}

        # Validate: nbgrader's dialog, with the course's line under it
        page.click("//*[contains(@class,'jp-ToolbarButtonComponent-label') and normalize-space()='Validate']")
        message = page.wait("//*[@id='validation-message']", timeout=600)
        note = driver.execute_script(
            "const message = document.getElementById('validation-message');"
            "message.closest('.jp-Dialog-body').scrollTop = 1e6;"  # the note is at the end
            "return getComputedStyle(message, '::after').content"
        )
        page.shot("validated")
        assert "only their format is checked here" in note, note
        assert "failed" in message.get_attribute("class")  # the exercises are not done
        page.click("//div[contains(@class,'jp-Dialog')]//button[contains(@class,'jp-mod-accept')]")

        # mlops-course check in a terminal of the Lab (File > New > Terminal)
        page.click("//div[contains(@class,'lm-MenuBar-itemLabel') and normalize-space()='File']")
        page.click(
            "//ul[contains(@class,'lm-Menu-content')]//div[contains(@class,'lm-Menu-itemLabel') and normalize-space()='New']"
        )
        page.menu_entry("Terminal")
        page.wait("//div[contains(@class,'xterm-screen')]", timeout=120)
        deadline = time.monotonic() + 120
        while "#" not in _terminal_text(driver) and "$" not in _terminal_text(driver):  # the prompt
            assert time.monotonic() < deadline, "the terminal shows no prompt"
            time.sleep(1)
        keyboard = driver.find_element("css selector", ".xterm-helper-textarea")  # where xterm.js reads keys
        keyboard.send_keys(f"mlops-course check {NOTEBOOK}\n")
        deadline = time.monotonic() + 600
        while "Open questions:" not in (text := _terminal_text(driver)) and time.monotonic() < deadline:
            time.sleep(2)
        page.shot("checked")
        (ARTIFACTS / "check.txt").write_text(text)
        assert "Open questions:" in text, f"no result of mlops-course check: {text[-2000:]}"
        assert "[FORMAT OK] test_q_small_box" in text and "[FORMAT OK] test_q_debt_kinds" in text
        assert "[PASS] test_q_small_box" not in text
        assert "none counted here" in text and "0/13 points so far" in text
    finally:
        close_browser(driver)
