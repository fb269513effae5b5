"""A throwaway Prometheus for a notebook or a test, plus promtool wrappers.

``PrometheusServer(config_yaml).start()`` runs Debian's ``/usr/bin/prometheus`` (or the
one on PATH) with that configuration on ``127.0.0.1:<free port>``, with its TSDB in a
temporary folder, waits until it is ready, answers PromQL through the HTTP API, and is
stopped by ``stop()`` (also on ``with``, at interpreter exit, and when the parent
process dies). ``check_config``, ``check_rules`` and ``test_rules`` run ``promtool``.
Nothing here needs root, a system service or the network beyond loopback.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops_course.errors import PrometheusMissing, PromQLError
from mlops_course.infra.parts import PartStatus
from mlops_course.infra.processes import die_with_parent, free_port, stop_process

INSTALL_HINT = (
    "Prometheus is not installed. On Debian/Ubuntu: "
    "`sudo apt-get install --no-install-recommends prometheus` (it brings `prometheus` and "
    "`promtool`; you do not need to enable its system service: the course starts its own "
    "Prometheus on 127.0.0.1). Elsewhere, download the release from prometheus.io and put "
    "`prometheus` and `promtool` on your PATH."
)


def find_binary(name: str) -> str | None:
    """Path of ``prometheus`` or ``promtool``: PATH first, then Debian's /usr/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidate = Path("/usr/bin") / name
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None


def require(name: str) -> str:
    path = find_binary(name)
    if path is None:
        raise PrometheusMissing(f"`{name}` not found. {INSTALL_HINT}")
    return path


def status() -> PartStatus:
    """Are prometheus and promtool installed? Never raises."""
    missing = [name for name in ("prometheus", "promtool") if find_binary(name) is None]
    if missing:
        return PartStatus(False, f"{' and '.join(missing)} not found. {INSTALL_HINT}")
    out = subprocess.run([find_binary("prometheus"), "--version"], capture_output=True, text=True, timeout=30)
    first = (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else "prometheus"
    version = first.split("version", 1)[-1].split()[0] if "version" in first else None
    return PartStatus(
        True, f"Prometheus {version} and promtool are installed ({find_binary('prometheus')}).", version
    )


# --------------------------------------------------------------------------- promtool


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    output: str

    def __bool__(self) -> bool:
        return self.ok


def _promtool(args: list[str], cwd: Path, timeout: float = 60) -> ToolResult:
    tool = require("promtool")
    try:
        out = subprocess.run([tool, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return ToolResult(False, f"promtool {' '.join(args)} did not finish within {timeout:.0f} s")
    return ToolResult(out.returncode == 0, (out.stdout + out.stderr).strip())


def check_config(config_yaml: str, rule_files: dict[str, str] | None = None) -> ToolResult:
    """``promtool check config`` on a prometheus.yml text (rule files beside it)."""
    with tempfile.TemporaryDirectory(prefix="promtool-") as tmp:
        for name, text in (rule_files or {}).items():
            (Path(tmp) / name).write_text(text)
        (Path(tmp) / "prometheus.yml").write_text(config_yaml)
        return _promtool(["check", "config", "prometheus.yml"], Path(tmp))


def check_rules(rules_yaml: str) -> ToolResult:
    """``promtool check rules`` on a rule file's text."""
    with tempfile.TemporaryDirectory(prefix="promtool-") as tmp:
        (Path(tmp) / "rules.yml").write_text(rules_yaml)
        return _promtool(["check", "rules", "rules.yml"], Path(tmp))


def test_rules(rules_yaml: str, tests_yaml: str | dict) -> ToolResult:
    """``promtool test rules``: the unit tests ``tests_yaml`` (its ``tests:`` list and
    optionally ``evaluation_interval``) run against the rule file ``rules_yaml``
    (``rule_files`` is always set to that file)."""
    tests = yaml.safe_load(tests_yaml) if isinstance(tests_yaml, str) else dict(tests_yaml)
    if not isinstance(tests, dict) or not tests.get("tests"):
        return ToolResult(
            False,
            "the test file has no `tests:` list; hint: start with `tests:` "
            "and give each test `interval`, `input_series` and `alert_rule_test`",
        )
    tests["rule_files"] = ["rules.yml"]
    tests.setdefault("evaluation_interval", "1m")
    with tempfile.TemporaryDirectory(prefix="promtool-") as tmp:
        (Path(tmp) / "rules.yml").write_text(rules_yaml)
        (Path(tmp) / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
        return _promtool(["test", "rules", "tests.yml"], Path(tmp))


test_rules.__test__ = False  # not a pytest test, despite its name


def alert_rules(rules_yaml: str) -> dict[str, dict]:
    """The alerting rules of a rule file by alert name (recording rules left out)."""
    data = yaml.safe_load(rules_yaml) or {}
    return {
        rule["alert"]: rule
        for group in data.get("groups") or []
        for rule in group.get("rules") or []
        if isinstance(rule, dict) and "alert" in rule
    }


def normalise_alert_rules(rules_yaml: str, keep_labels: tuple[str, ...] = ("severity",)) -> str:
    """The rule file without annotations and with only ``keep_labels`` on each alert, so
    that a course test checks *when* alerts fire and with which severity, not their wording
    (``promtool test rules`` compares labels and annotations exactly)."""
    data = yaml.safe_load(rules_yaml)
    for group in data.get("groups") or []:
        for rule in group.get("rules") or []:
            if isinstance(rule, dict) and "alert" in rule:
                rule.pop("annotations", None)
                labels = {k: v for k, v in (rule.get("labels") or {}).items() if k in keep_labels}
                if labels:
                    rule["labels"] = labels
                else:
                    rule.pop("labels", None)
    return yaml.safe_dump(data, sort_keys=False)


def check_metrics(exposition: str) -> ToolResult:
    """``promtool check metrics``: lint an exposition (naming conventions)."""
    tool = require("promtool")
    out = subprocess.run(
        [tool, "check", "metrics"], input=exposition, capture_output=True, text=True, timeout=60
    )
    return ToolResult(out.returncode == 0, (out.stdout + out.stderr).strip())


# --------------------------------------------------------------------------- server


def scrape_config(target: str, job: str = "model-api", interval: str = "1s") -> str:
    """A minimal prometheus.yml scraping one target (used by tests and demos)."""
    return yaml.safe_dump(
        {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target]}]}],
        },
        sort_keys=False,
    )


class PrometheusServer:
    """A Prometheus process of our own on 127.0.0.1 (see the module docstring)."""

    _running: list[PrometheusServer] = []

    def __init__(
        self,
        config_yaml: str,
        rule_files: dict[str, str] | None = None,
        port: int | None = None,
        startup_timeout: float = 20.0,
    ):
        self.config_yaml = config_yaml
        self.rule_files = dict(rule_files or {})
        self.port = port
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self.workdir: Path | None = None

    # -- lifecycle
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PrometheusServer:
        binary = require("prometheus")
        self.workdir = Path(tempfile.mkdtemp(prefix="mlops-prometheus-"))
        for name, text in self.rule_files.items():
            (self.workdir / name).write_text(text)
        (self.workdir / "prometheus.yml").write_text(self.config_yaml)
        last_error = ""
        for _attempt in range(3):  # a free port can be taken between the check and the bind
            port = self.port or free_port()
            log = open(self.workdir / "prometheus.log", "wb")
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={self.workdir / 'prometheus.yml'}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=warn",
                ],
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,
            )
            log.close()
            self.port = port
            PrometheusServer._running.append(self)
            try:
                self._wait_ready()
                return self
            except RuntimeError as exc:
                last_error = str(exc)
                self._stop_process()
                if "address already in use" not in last_error:
                    break
                self.port = None
        self.stop()
        raise RuntimeError(last_error)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Prometheus exited with code {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"Prometheus was not ready after {self.startup_timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        path = (self.workdir or Path("/nonexistent")) / "prometheus.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def _stop_process(self) -> None:
        stop_process(self.process)
        if self in PrometheusServer._running:
            PrometheusServer._running.remove(self)

    def stop(self) -> None:
        """Stop the process and delete its data; safe to call twice."""
        self._stop_process()
        if self.workdir and self.workdir.exists():
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir = None

    def __enter__(self) -> PrometheusServer:
        return self.start() if self.process is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- HTTP API
    def api(self, path: str, params: dict[str, Any] | None = None, timeout: float = 10) -> Any:
        """GET /api/v1/<path>; the ``data`` of a successful answer, PromQLError otherwise."""
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                body = json.load(response)
        except urllib.error.HTTPError as exc:  # 400/422 carry Prometheus' error message
            try:
                body = json.load(exc)
            except Exception:
                raise PromQLError(f"HTTP {exc.code} from {path}") from None
        if body.get("status") != "success":
            raise PromQLError(f"{body.get('errorType', 'error')}: {body.get('error', body)}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict]:
        """Instant query: the list of ``{"metric": {...}, "value": [t, "v"]}``."""
        data = self.api("query", {"query": expr, "time": at})
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        if data["resultType"] != "vector":
            raise PromQLError(f"{expr!r} returns a {data['resultType']}, not an instant vector")
        return data["result"]

    def query_value(self, expr: str, at: float | None = None) -> float | None:
        """The single value of a query (None when the result is empty; PromQLError when
        there are several series: aggregate them, e.g. with sum(...))."""
        result = self.query(expr, at)
        if not result:
            return None
        if len(result) > 1:
            raise PromQLError(
                f"{expr!r} returns {len(result)} series; aggregate them to one "
                "(e.g. sum(...) or sum by (le) (...) for histogram_quantile)"
            )
        return float(result[0]["value"][1])

    def targets(self) -> list[dict]:
        return self.api("targets")["activeTargets"]

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if condition():
                    return
            except PromQLError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")

    def wait_for_targets(self, timeout: float = 15.0, job: str | None = None) -> list[dict]:
        """Wait until every target (of ``job``) has been scraped successfully at least once."""

        def up() -> bool:
            targets = [t for t in self.targets() if job is None or t["labels"].get("job") == job]
            return bool(targets) and all(t["health"] == "up" for t in targets)

        try:
            self.wait_for(up, timeout, "the scrape targets to be up")
        except TimeoutError:
            states = [(t["scrapeUrl"], t["health"], t.get("lastError")) for t in self.targets()]
            raise TimeoutError(
                f"targets not up after {timeout:.0f} s: {states or 'no targets configured'}; "
                "hint: check the target address (host:port, no http://) and the job"
            ) from None
        return self.targets()

    def wait_for_samples(self, expr: str, count: int, timeout: float = 30.0) -> None:
        """Wait until ``count_over_time(expr[1h])`` reaches ``count`` (scrapes stored)."""
        self.wait_for(
            lambda: (self.query_value(f"min(count_over_time({expr}[1h]))") or 0) >= count,
            timeout,
            f"{count} samples of {expr}",
        )


def _stop_all() -> None:
    for server in list(PrometheusServer._running):
        try:
            server.stop()
        except Exception:
            pass


atexit.register(_stop_all)
