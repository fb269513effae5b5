"""A throwaway Prometheus for a notebook or a test, plus promtool wrappers.

``PrometheusServer(config_yaml, rule_files).start()`` runs Debian's ``prometheus``
with that configuration on ``127.0.0.1:<free port>`` (a
:class:`~mlops_course.labs.monitoring.service.LocalService`), with its TSDB in its work
folder, answers PromQL through the HTTP API, lists alerts, and takes a new
configuration or new rule files without a restart (``reload``). ``check_config``,
``check_rules`` and ``test_rules`` run ``promtool``.
"""

from __future__ import annotations

import json
import subprocess
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

from mlops_course.errors import PromQLError, ServiceStartError
from mlops_course.infra.parts import PartStatus
from mlops_course.labs.monitoring.service import LocalService, programs_status, require_binary, wait_until

INSTALL_HINT = (
    "Prometheus is not installed. On Debian/Ubuntu: "
    "`sudo apt-get install --no-install-recommends prometheus` (it brings `prometheus` and "
    "`promtool`; you do not need to enable its system service: the course starts its own "
    "Prometheus on 127.0.0.1). Elsewhere, download the release from prometheus.io and put "
    "`prometheus` and `promtool` on your PATH."
)


def require(name: str) -> str:
    return require_binary(name, INSTALL_HINT)


def status() -> PartStatus:
    """Are prometheus and promtool installed? Never raises."""
    return programs_status("Prometheus", ("prometheus", "promtool"), INSTALL_HINT)


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


def write_rule_files(folder: Path, rule_files: dict[str, str]) -> None:
    """Rule files by path relative to the folder of prometheus.yml (``rules/api.yml``)."""
    for name, text in rule_files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def check_config(config_yaml: str, rule_files: dict[str, str] | None = None) -> ToolResult:
    """``promtool check config`` on a prometheus.yml text (rule files beside it)."""
    with tempfile.TemporaryDirectory(prefix="promtool-") as tmp:
        write_rule_files(Path(tmp), rule_files or {})
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


class PrometheusServer(LocalService):
    """A Prometheus process of our own on 127.0.0.1 (see the module docstring)."""

    program = "prometheus"
    label = "Prometheus"
    install_hint = INSTALL_HINT

    def __init__(
        self,
        config_yaml: str,
        rule_files: dict[str, str] | None = None,
        port: int | None = None,
        workdir: str | Path | None = None,
        startup_timeout: float = 20.0,
    ):
        super().__init__(port=port, workdir=workdir, startup_timeout=startup_timeout)
        self.config_yaml = config_yaml
        self.rule_files = dict(rule_files or {})

    def write_files(self) -> None:
        write_rule_files(self.workdir, self.rule_files)
        (self.workdir / "prometheus.yml").write_text(self.config_yaml)

    def command(self, binary: str, port: int) -> list[str]:
        return [
            binary,
            f"--config.file={self.workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",  # POST /-/reload takes a new configuration
            "--rules.alert.resend-delay=2s",  # firing alerts reach a (re)configured Alertmanager soon
            "--log.level=warn",
        ]

    def reload(self, config_yaml: str | None = None, rule_files: dict[str, str] | None = None) -> None:
        """Write a new configuration and/or rule files and make Prometheus load them;
        ServiceStartError with Prometheus' reason when it rejects them (it then keeps
        the old ones)."""
        if config_yaml is not None:
            self.config_yaml = config_yaml
        if rule_files:
            self.rule_files.update(rule_files)
        self.write_files()
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30):
                return
        except urllib.error.HTTPError as exc:
            reason = exc.read().decode(errors="replace").strip()
            raise ServiceStartError(f"Prometheus rejected the new configuration: {reason}") from None

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
        wait_until(condition, bool, timeout, what, interval=0.2, ignore=(PromQLError,))

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

    def query_range(self, expr: str, start: float, end: float, step: float = 1.0) -> list[dict]:
        """Range query: the list of ``{"metric": {...}, "values": [[t, "v"], ...]}``."""
        data = self.api("query_range", {"query": expr, "start": start, "end": end, "step": step})
        return data["result"]

    def alerts(self) -> list[dict]:
        """The alerts Prometheus holds now (pending and firing), with labels and state."""
        return self.api("alerts")["alerts"]

    def alert_state(self, alertname: str, **labels: str) -> str | None:
        """``firing``, ``pending`` or None (inactive) for the alerts of that name (and labels)."""
        states = {
            alert["state"]
            for alert in self.alerts()
            if alert["labels"].get("alertname") == alertname
            and all(alert["labels"].get(k) == v for k, v in labels.items())
        }
        return "firing" if "firing" in states else "pending" if "pending" in states else None

    def wait_for_alert(
        self, alertname: str, state: str | None = "firing", timeout: float = 20.0, **labels
    ) -> float:
        """Wait until the alert is in ``state`` (None: inactive); the seconds it took."""
        started = time.monotonic()
        self.wait_for(
            lambda: self.alert_state(alertname, **labels) == state,
            timeout,
            f"{alertname} to be {state or 'inactive'}",
        )
        return time.monotonic() - started

    def fired_between(self, alertname: str, start: float, end: float, **labels: str) -> bool:
        """Did the alert fire at some point between two times? Prometheus keeps the
        history itself, in its ``ALERTS`` series."""
        selector = ",".join(
            [f'alertname="{alertname}"', 'alertstate="firing"', *(f'{k}="{v}"' for k, v in labels.items())]
        )
        return bool(self.query_range(f"ALERTS{{{selector}}}", start, end, 1.0))
