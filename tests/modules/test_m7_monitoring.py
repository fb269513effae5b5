"""m7_monitoring: the helpers of every monitoring part against the real programs
(Prometheus and promtool, the Pushgateway, the Alertmanager and amtool, node_exporter,
rsyslog and logger, the module-1 model API as a process), and typical mistakes losing
the right points.

Tests that need a program skip on a machine without it, except in CI (CI=true), where
they fail: .ci/run installs the Debian packages."""

from __future__ import annotations

import ast
import json
import logging
import socket
import time
import urllib.request
from pathlib import Path

import nbformat
import numpy as np
import pytest
import yaml
from helpers import require
from prometheus_client import CollectorRegistry, Counter, Gauge, push_to_gateway, pushadd_to_gateway
from prometheus_client.parser import text_string_to_metric_families

from mlops_course import doctor
from mlops_course.errors import MonitoringPartMissing, PromQLError, ServiceStartError
from mlops_course.infra.processes import free_port
from mlops_course.labs.monitoring import alertmanager as am
from mlops_course.labs.monitoring import (
    dashboards,
    drift,
    logs,
    model_api,
    node_exporter,
    pushgateway,
    service,
)
from mlops_course.labs.monitoring import prometheus as pl
from mlops_course.labs.monitoring.parts import STATUS

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "m7_monitoring"
SOURCE = REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
APP_DIR = REPO / "source" / ASSIGNMENT / "model_api"


def need(part: str):
    """The status of a monitoring part, or skip (fail in CI) with its install hint."""
    status = STATUS[part]()
    require(status.available, status.message)
    return status


@pytest.fixture
def tools():
    return need("prometheus")


RULES = """
groups:
  - name: g
    rules:
      - alert: Down
        expr: max(up) == 0
        for: 2m
        labels: {severity: page, team: ml}
        annotations: {summary: the target is down}
"""
TESTS = """
tests:
  - interval: 1m
    input_series:
      - {series: 'up{job="a"}', values: '1 1 0 0 0 0 0 0'}
    alert_rule_test:
      - {eval_time: 3m, alertname: Down, exp_alerts: []}
      - eval_time: 5m
        alertname: Down
        exp_alerts:
          - exp_labels: {severity: page, team: ml}
            exp_annotations: {summary: the target is down}
"""
ALWAYS = """
groups:
  - name: always
    rules:
      - alert: Always
        expr: vector(1) > 0
        labels: {severity: ticket}
"""


# ------------------------------------------------------------------ parts and doctor


def test_every_part_names_its_version_or_how_to_install(monkeypatch):
    for part in STATUS:
        status = STATUS[part]()
        if status.available:
            assert status.version and status.version[0].isdigit() and str(status.location) in status.message
    monkeypatch.setattr(service, "find_binary", lambda name: None)
    for part, hint in {
        "prometheus": "apt-get install --no-install-recommends prometheus",
        "pushgateway": "prometheus-pushgateway",
        "alertmanager": "prometheus-alertmanager",
        "node-exporter": "prometheus-node-exporter",
        "rsyslog": "apt-get install --no-install-recommends rsyslog",
    }.items():
        status = STATUS[part]()
        assert not status.available and hint in status.message, (part, status.message)
    with pytest.raises(MonitoringPartMissing, match="apt-get install"):
        pl.check_rules(RULES)
    with pytest.raises(MonitoringPartMissing, match="prometheus-alertmanager"):
        am.Alertmanager().start()
    assert not service.LocalService._running


def test_doctor_reports_the_monitoring_parts():
    checks = {check.name: check for check in doctor.monitoring_checks()}
    assert set(checks) == set(STATUS) and not any(check.required for check in checks.values())
    for name, check in checks.items():
        assert check.ok == doctor.part_available(name) == STATUS[name]().available
        assert "m7_monitoring" in check.detail and (check.ok or "apt-get install" in check.fix)


def test_rsyslogd_is_found_outside_path(monkeypatch):
    """Debian puts rsyslogd in /usr/sbin, which is not on an ordinary user's PATH."""
    need("rsyslog")
    monkeypatch.setenv("PATH", "/nonexistent")
    assert service.find_binary("rsyslogd") in {"/usr/sbin/rsyslogd", "/usr/bin/rsyslogd"}
    assert service.find_binary("no-such-program-here") is None


# ------------------------------------------------------------------ promtool


def test_check_config(tools):
    assert pl.check_config(pl.scrape_config("127.0.0.1:9100")).ok
    bad = pl.check_config("scrape_configs:\n  - job_name: x\n    static_configz: []\n")
    assert not bad.ok and "static_configz" in bad.output
    with_rules = "rule_files: [rules/*.yml]\n" + pl.scrape_config("127.0.0.1:9100")
    assert pl.check_config(with_rules, {"rules/a.yml": RULES}).ok
    assert not pl.check_config(with_rules, {"rules/a.yml": RULES.replace("max(up)", "max(up")}).ok


def test_check_rules_reports_the_parse_error(tools):
    assert pl.check_rules(RULES).ok
    result = pl.check_rules(RULES.replace("max(up) == 0", "max(up) =="))
    assert not result.ok and "parse error" in result.output and not result


def test_test_rules_passes_and_fails_for_the_right_reasons(tools):
    assert pl.test_rules(RULES, TESTS).ok
    without_for = RULES.replace("        for: 2m\n", "")
    result = pl.test_rules(without_for, TESTS)
    assert not result.ok and "time: 3m" in result.output, "without for: the alert fires at 3m already"
    assert "no `tests:` list" in pl.test_rules(RULES, "rule_files: [x.yml]\n").output


def test_normalised_rules_keep_only_timing_and_severity(tools):
    normalised = pl.normalise_alert_rules(RULES)
    rule = pl.alert_rules(normalised)["Down"]
    assert rule["labels"] == {"severity": "page"} and "annotations" not in rule and rule["for"] == "2m"
    tests = yaml.safe_load(TESTS)
    tests["tests"][0]["alert_rule_test"][1]["exp_alerts"] = [{"exp_labels": {"severity": "page"}}]
    assert pl.test_rules(normalised, tests).ok


def test_check_metrics_lints_an_exposition(tools):
    registry = CollectorRegistry()
    Counter("jobs_total", "Jobs done", registry=registry).inc()
    from prometheus_client import generate_latest

    assert pl.check_metrics(generate_latest(registry).decode()).ok
    assert not pl.check_metrics(
        "# HELP x_seconds_total t\n# TYPE x_seconds_total gauge\nx_seconds_total 1\n"
    ).ok


# ------------------------------------------------------------------ Prometheus


def test_prometheus_scrapes_answers_promql_and_cleans_up(tools):
    need("node-exporter")
    with (
        node_exporter.NodeExporter() as node,
        pl.PrometheusServer(pl.scrape_config(node.target, job="node")) as prometheus,
    ):
        workdir = prometheus.workdir
        assert prometheus.running and prometheus.url.startswith("http://127.0.0.1:")
        assert prometheus.wait_for_targets(timeout=20, job="node")[0]["health"] == "up"
        prometheus.wait_for_samples("node_cpu_seconds_total", count=3, timeout=20)
        busy = prometheus.query_value('1 - avg(rate(node_cpu_seconds_total{mode="idle"}[5s]))')
        assert busy is not None and 0 <= busy <= 1
        assert prometheus.query_value("vector(2) * 3") == 6
        assert prometheus.query_value('node_load1{job="nothing"}') is None
        with pytest.raises(PromQLError, match="aggregate"):
            prometheus.query_value("node_cpu_seconds_total")
        with pytest.raises(PromQLError, match="parse error"):
            prometheus.query_value("sum(rate(node_cpu_seconds_total[1m])")
        now = time.time()
        series = prometheus.query_range("sum(up)", now - 5, now, 1)
        assert len(series) == 1 and len(series[0]["values"]) >= 2
        process = prometheus.process
    assert process.poll() is not None, "Prometheus is stopped on leaving the with block"
    assert not workdir.exists(), "its temporary TSDB is deleted"


def test_prometheus_reload_takes_rules_and_keeps_the_old_config_when_rejected(tools):
    config = "global: {evaluation_interval: 1s}\nrule_files: [rules/*.yml]\n"
    with pl.PrometheusServer(config) as prometheus:
        assert prometheus.alert_state("Always") is None
        started = time.time()
        prometheus.reload(rule_files={"rules/always.yml": ALWAYS})
        prometheus.wait_for_alert("Always", "firing", timeout=15)
        assert prometheus.alerts()[0]["labels"] == {"alertname": "Always", "severity": "ticket"}
        with pytest.raises(ServiceStartError, match="rejected"):
            prometheus.reload(config_yaml="scrape_configs: [{job_name: x, nonsense: 1}]\n")
        assert prometheus.alert_state("Always") == "firing", (
            "a rejected configuration leaves the old one running"
        )
        time.sleep(1.5)  # one more evaluation, so the ALERTS series has a sample in range
        assert prometheus.fired_between("Always", started, time.time())
        assert not prometheus.fired_between("Always", started - 3600, started - 3000)


def test_prometheus_with_a_bad_config_fails_fast_with_its_log(tools):
    start = time.monotonic()
    with pytest.raises(ServiceStartError, match="exited with code"):
        pl.PrometheusServer("scrape_configs: [{job_name: x, nonsense: 1}]\n").start()
    assert time.monotonic() - start < 15
    assert not service.LocalService._running


def test_a_taken_port_is_retried_unless_it_was_asked_for(tools):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServiceStartError, match="address already in use"):
            pl.PrometheusServer(pl.scrape_config("127.0.0.1:1"), port=port).start()


def test_wait_for_targets_times_out_with_a_hint(tools):
    port = free_port()  # nobody listens there
    with pl.PrometheusServer(pl.scrape_config(f"127.0.0.1:{port}")) as prometheus:
        with pytest.raises(TimeoutError, match="hint"):
            prometheus.wait_for_targets(timeout=2)


# ------------------------------------------------------------------ Pushgateway


def test_pushgateway_keeps_the_last_push_and_pushadd_keeps_the_rest():
    need("pushgateway")
    with pushgateway.Pushgateway() as gateway:
        first = CollectorRegistry()
        Gauge("run_score", "s", registry=first).set(0.9)
        Gauge("run_last_success", "t", registry=first).set(100)
        push_to_gateway(gateway.target, job="pipe", registry=first)
        assert gateway.pushed("pipe")["run_score"] == 0.9 and gateway.types("pipe")["run_score"] == "GAUGE"
        second = CollectorRegistry()
        Gauge("run_score", "s", registry=second).set(0.4)
        pushadd_to_gateway(gateway.target, job="pipe", registry=second)
        assert (
            gateway.pushed("pipe")["run_score"] == 0.4 and gateway.pushed("pipe")["run_last_success"] == 100
        )
        push_to_gateway(gateway.target, job="pipe", registry=second)
        assert "run_last_success" not in gateway.pushed("pipe"), "a PUT replaces the whole group"
        assert gateway.pushed("other") == {}
        gateway.delete("pipe")
        assert gateway.pushed("pipe") == {}


# ------------------------------------------------------------------ Alertmanager and the team chat


WEBHOOK_CONFIG = """
route:
  receiver: chat
  group_by: [job]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: chat
    webhook_configs:
      - url: {url}
        send_resolved: true
"""


def post_alerts(manager: am.Alertmanager, *alerts: dict) -> None:
    """What Prometheus does: POST firing alerts to the Alertmanager's API."""
    request = urllib.request.Request(
        f"{manager.url}/api/v2/alerts",
        data=json.dumps([{"labels": labels} for labels in alerts]).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def test_amtool_checks_a_configuration():
    need("alertmanager")
    assert am.check_config(WEBHOOK_CONFIG.format(url="http://127.0.0.1:9/x"))[0]
    valid, output = am.check_config("route: {receiver: nowhere}\nreceivers: [{name: chat}]\n")
    assert not valid and "nowhere" in output


def test_alertmanager_groups_routes_and_silences_into_the_webhook():
    need("alertmanager")
    with am.Alertmanager() as manager, am.WebhookReceiver() as chat:
        post_alerts(manager, {"alertname": "Early", "job": "a"})
        time.sleep(1.5)
        assert chat.received() == [], "the silent default configuration sends nothing"
        manager.reload(WEBHOOK_CONFIG.format(url=chat.url))
        starts, ends = am.silence_window(10)
        silence = manager.add_silence(
            {
                "matchers": [{"name": "alertname", "value": "Noisy", "isRegex": False, "isEqual": True}],
                "startsAt": starts,
                "endsAt": ends,
                "createdBy": "test",
                "comment": "planned",
            }
        )
        post_alerts(manager, {"alertname": "A", "job": "pipe"}, {"alertname": "B", "job": "pipe"})
        post_alerts(manager, {"alertname": "Noisy", "job": "node"})
        got = chat.wait_for(lambda n: {"A", "B"} <= chat.alert_names(), timeout=20, what="A and B")
        time.sleep(1.5)
        pipe = [n for n in chat.received() if n["groupLabels"] == {"job": "pipe"}]
        assert pipe and {a["labels"]["alertname"] for a in pipe[0]["alerts"]} == {"A", "B"}, got
        assert "Noisy" not in chat.alert_names(None)
        states = {a["labels"]["alertname"]: a["status"]["state"] for a in manager.alerts()}
        assert states["Noisy"] == "suppressed" and states["A"] == "active"
        assert [s["status"]["state"] for s in manager.silences() if s["id"] == silence] == ["active"]
        with pytest.raises(ValueError, match="refused"):
            manager.add_silence({"matchers": [], "startsAt": starts, "endsAt": ends})
        with pytest.raises(ServiceStartError, match="rejected"):
            manager.reload("route: {receiver: nowhere}\n")
        with pytest.raises(TimeoutError, match="waiting for nothing"):
            chat.wait_for(lambda n: False, timeout=0.2, what="nothing")


# ------------------------------------------------------------------ node_exporter and the disk load


def test_node_exporter_sees_a_bounded_disk_load(tmp_path):
    need("node-exporter")
    mount = node_exporter.mountpoint_of(tmp_path)
    assert Path(tmp_path).resolve().is_relative_to(mount)

    def free_bytes(node) -> float:
        text = urllib.request.urlopen(f"{node.url}/metrics", timeout=10).read().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "node_filesystem_avail_bytes" and sample.labels["mountpoint"] == mount:
                    return sample.value
        raise AssertionError(f"node_exporter has no filesystem {mount}")

    with node_exporter.NodeExporter() as node:
        before = free_bytes(node)
        with node_exporter.DiskFill(tmp_path, megabytes=16, seconds=1) as load:
            while load.running:
                time.sleep(0.05)
            during = free_bytes(node)
            assert load.path.exists() and load.written == 16 * 2**20
        assert not load.path.exists(), "the load's file is deleted at its end"
        # other processes write to this filesystem too: allow them a few MB
        assert before - during > 8 * 2**20, (before, during)
    with pytest.raises(ValueError, match="out of bounds"):
        node_exporter.DiskFill(tmp_path, megabytes=node_exporter.MAX_FILL_MB + 1, seconds=1)
    with pytest.raises(ValueError, match="between"):
        node_exporter.DiskFill(tmp_path, megabytes=1, seconds=node_exporter.MAX_FILL_SECONDS + 1)


def test_disk_fill_keeps_its_rate_and_cancels(tmp_path):
    load = node_exporter.DiskFill(tmp_path, megabytes=4, seconds=1).start()
    time.sleep(0.5)
    halfway = load.written
    load.finish()
    assert 1 * 2**20 <= halfway <= 3 * 2**20, "about half of it after half the time"
    assert load.written == 4 * 2**20 and not load.path.exists()
    early = node_exporter.DiskFill(tmp_path, megabytes=4, seconds=4).start()
    time.sleep(0.3)
    early.cancel()
    assert not early.running and early.written < 4 * 2**20 and not early.path.exists()


# ------------------------------------------------------------------ logs


def test_rsyslog_collects_json_lines_of_programs_and_python_loggers():
    need("rsyslog")
    with logs.SyslogCollector() as collector:
        shipper = collector.ship("pipeline")
        logger = logging.getLogger("m7-test-pipeline")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        handler = logs.json_handler(shipper)
        logger.addHandler(handler)
        try:
            logger.info("started", extra={"run_id": "r1"})
            try:
                raise ValueError("boom")
            except ValueError:
                logger.exception("failed", extra={"run_id": "r1"})
        finally:
            logger.removeHandler(handler)
            shipper.close()
        other = collector.ship("api")
        other.stdin.write(b'{"level": "INFO", "status": 200}\nnot json\n\n')
        other.close()
        events = collector.wait_for(lambda e: len(e) >= 4, timeout=10, what="4 messages")
        assert [m["app"] for m in events] == ["pipeline", "pipeline", "api", "api"]
        assert events[0]["event"]["message"] == "started" and events[0]["event"]["run_id"] == "r1"
        assert (
            events[1]["event"]["level"] == "ERROR" and "ValueError: boom" in events[1]["event"]["exception"]
        )
        assert events[2]["event"] == {"level": "INFO", "status": 200} and events[3]["event"] == {
            "msg": "not json"
        }
        assert all(m["received"] and m["host"] for m in events)
        assert collector.events("api") == events[2:]
        with pytest.raises(TimeoutError, match="collected logs"):
            collector.wait_for(lambda e: len(e) > 4, timeout=0.3, what="a fifth message")
    assert logs.read_collected("/nonexistent/collected.jsonl") == []


# ------------------------------------------------------------------ the model API


METRICS = """
from prometheus_client import Counter, Gauge
REQUESTS = Counter("model_requests_total", "Requests", ["endpoint", "status"])
IN_FLIGHT = Gauge("model_requests_in_flight", "In flight")
def request_started():
    IN_FLIGHT.inc()
def request_finished(endpoint, status, seconds, predictions):
    IN_FLIGHT.dec()
    REQUESTS.labels(endpoint=endpoint, status=str(status)).inc()
    if status == 200 and len(predictions) == 3:
        raise RuntimeError("a bug in the metrics")
"""


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    X, y = load_digits(return_X_y=True)
    model = LogisticRegression(max_iter=200).fit(X[:600], y[:600])
    path = model_api.export_model(model, tmp_path_factory.mktemp("model") / "model.npz")
    return path, model, X[600:700]


def test_the_m7_service_is_module_1_s_service_with_monitoring():
    """Same model class, model loading (with its MODEL_VERSION check), served-model info
    and routes as m1's app; only the monitoring is new."""

    def parts(path):
        tree = ast.parse(path.read_text())
        named = {node.name: node for node in tree.body if isinstance(node, (ast.ClassDef, ast.FunctionDef))}
        calls = {ast.unparse(node) for node in tree.body if isinstance(node, ast.Expr)}
        return named, calls

    (m1, m1_calls), (m7, m7_calls) = parts(REPO / "source/m1_docker/app/app.py"), parts(APP_DIR / "app.py")
    for name in ("LinearModel", "load_model"):
        assert ast.dump(m1[name]) == ast.dump(m7[name]), f"m7's {name} is not m1's"
    served_model = [call for call in m1_calls if "served_model" in call]
    assert served_model and set(served_model) <= m7_calls, "m7 reports the served model as m1 does"
    for route in ("/health", "/predict", "/metrics"):
        assert route in (APP_DIR / "app.py").read_text()
    requirements = (APP_DIR / "requirements.txt").read_text().split()
    numpy_pin = (REPO / "source/m1_docker/app/requirements.txt").read_text().split()
    assert set(numpy_pin) <= set(requirements)
    from importlib import metadata

    assert f"prometheus-client=={metadata.version('prometheus-client')}" in requirements


def test_model_api_serves_logs_and_survives_a_broken_metrics_module(tmp_path, model_file):
    need("rsyslog")
    path, model, rows = model_file
    metrics = tmp_path / "metrics.py"
    metrics.write_text(METRICS)
    predictions = tmp_path / "predictions.jsonl"
    with logs.SyslogCollector() as collector:
        with model_api.ModelApi(
            APP_DIR,
            path,
            metrics_module=metrics,
            prediction_log=predictions,
            collector=collector,
            run_id="run-1",
        ) as api:
            health = api.health()
            assert health["run_id"] == "run-1" and health["metrics"] is True and health["n_features"] == 64
            status, body = model_api.request(f"{api.url}/predict", {"instances": rows[:2].tolist()})
            assert status == 200 and body["predictions"] == [int(p) for p in model.predict(rows[:2])]
            status, body = model_api.request(f"{api.url}/predict", {"instances": rows[:3].tolist()})
            assert status == 200, "a bug in the metrics hooks is logged, not the client's problem"
            assert model_api.request(f"{api.url}/predict", {"rows": []})[0] == 400
            assert model_api.request(f"{api.url}/nothing")[0] == 404
            # a request is counted when its handler finishes, just after the client has its
            # answer: scrape until the last one is in (as Prometheus's next scrape would)
            deadline = time.monotonic() + 5
            while True:
                families = {f.name: f for f in text_string_to_metric_families(model_api.scrape(api.url))}
                by_status = {
                    s.labels["status"]: s.value
                    for s in families["model_requests"].samples
                    if s.name.endswith("_total")
                }
                in_flight = families["model_requests_in_flight"].samples[0].value
                if (by_status == {"200": 2, "400": 1} and in_flight == 0) or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert by_status == {"200": 2, "400": 1} and in_flight == 0, (by_status, in_flight)
            assert "process_cpu_seconds_total" in {s.name for f in families.values() for s in f.samples}
        served = drift.served_rows(predictions)
        assert np.array_equal(served, np.vstack([rows[:2], rows[:3]])), (
            "the rows of the two answered requests"
        )
        events = collector.wait_for(
            lambda e: any(m["event"].get("message") == "stopped" for m in e), 10, "stop"
        )
        lines = [m["event"] for m in events if m["app"] == model_api.APP]
        assert all(line["run_id"] == "run-1" for line in lines)
        requests = [line for line in lines if "status" in line]
        assert [line["status"] for line in requests] == [200, 200, 400]
        assert [line["n_instances"] for line in requests] == [2, 3, 0] and requests[2]["level"] == "WARNING"
        hook_errors = [line for line in lines if line["level"] == "ERROR"]
        assert len(hook_errors) == 1 and "a bug in the metrics" in hook_errors[0]["exception"]

        metrics.write_text("raise NotImplementedError()\n")
        with model_api.ModelApi(APP_DIR, path, metrics_module=metrics, collector=collector) as api:
            assert api.health()["metrics"] is False
            assert model_api.request(f"{api.url}/predict", {"instances": rows[:1].tolist()})[0] == 200
            run = api.health()["run_id"]
        events = collector.wait_for(
            lambda e: sum(m["event"].get("message") == "stopped" for m in e) >= 2, 10, "the second stop"
        )
        failed = [
            m["event"] for m in events if m["event"].get("run_id") == run and m["event"]["level"] == "ERROR"
        ]
        assert failed and "NotImplementedError" in failed[0]["exception"]


def test_model_api_without_a_collector_logs_to_its_file(model_file, tmp_path):
    path, _, rows = model_file
    with model_api.ModelApi(APP_DIR, path, workdir=tmp_path) as api:
        assert api.health()["metrics"] is False
        traffic = model_api.send_traffic(api.url, rows, n=30, bad_fraction=0.3, seed=3)
        again = model_api.send_traffic(api.url, rows, n=30, bad_fraction=0.3, seed=3)
        log = api.log_path
    assert traffic == again and traffic.requests == 30 and set(traffic.by_status) == {200, 400}
    assert 30 - traffic.by_status[400] <= traffic.predicted <= 5 * traffic.by_status[200]
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert sum("status" in line for line in lines) == 60


def test_a_service_that_cannot_start_says_why(tmp_path):
    with pytest.raises(ServiceStartError, match="exited with code"):
        model_api.ModelApi(APP_DIR, tmp_path / "no-model.npz").start()


def test_traffic_thread_keeps_its_rate(model_file):
    path, _, rows = model_file
    with model_api.ModelApi(APP_DIR, path) as api:
        traffic = model_api.TrafficThread(api.url, rows, rate=40, bad_fraction=0, seed=1)
        traffic.start()
        time.sleep(1.0)
        counts = traffic.stop()
    assert not traffic.is_alive() and 15 <= counts.requests <= 50 and set(counts.by_status) == {200}


# ------------------------------------------------------------------ drift and dashboards


def test_production_windows_are_seeded_and_drift_late():
    samples = np.random.default_rng(0).integers(0, 17, (300, 64)).astype(float)
    a, truth = drift.production_windows(samples, 7, n_windows=6, window_size=50, drift_from=4)
    b, _ = drift.production_windows(samples, 7, n_windows=6, window_size=50, drift_from=4)
    assert truth == [False] * 4 + [True] * 2 and all(np.array_equal(x, y) for x, y in zip(a, b))
    assert all(w.shape == (50, 64) for w in a)
    known = {tuple(row) for row in samples}
    assert all(tuple(row) in known for row in a[0]), "clean windows are rows of the samples"
    assert not any(tuple(row) in known for row in a[5]), "the new scanner's rows are new"
    assert (a[5].reshape(-1, 8, 8)[:, :, 0] <= 16).all() and a[5].min() >= 0 and a[5].max() <= 16


def test_new_scanner_shifts_images_one_pixel_right():
    image = np.zeros((1, 64))
    image[0, 3 * 8 + 2] = 16
    shifted = drift.new_scanner(image, np.random.default_rng(0)).reshape(8, 8)
    assert shifted[3, 3] >= 12 and shifted[3, 2] <= 4


def test_served_rows_and_windows(tmp_path):
    log = tmp_path / "p.jsonl"
    log.write_text(
        json.dumps({"request_id": "a", "instances": [[1, 2], [3, 4]]})
        + "\n"
        + "half a line\n"
        + json.dumps({"request_id": "b", "instances": [[5, 6]]})
        + "\n"
    )
    assert drift.served_rows(log).tolist() == [[1, 2], [3, 4], [5, 6]]
    assert drift.served_rows(log, ["b"]).tolist() == [[5, 6]]
    assert [w.tolist() for w in drift.windows_of(drift.served_rows(log), 2)] == [[[1, 2], [3, 4]]]


def test_plots_draw_without_a_display(tools):
    import matplotlib

    matplotlib.use("Agg")
    ax = drift.plot_drift([0.01, 0.5], [False, True], 0.3, truth=[False, True])
    assert len(ax.patches) >= 2
    with pl.PrometheusServer("global: {scrape_interval: 1s}\n") as prometheus:
        time.sleep(1)
        now = time.time()
        figure = dashboards.plot_panels(
            prometheus, {"two": "vector(2)", "broken": "sum(", "three": "vector(3)"}, now - 5, now
        )
    axes = figure.axes
    assert len(axes) == 4 and len(axes[0].lines) == 1 and "query failed" in axes[1].texts[0].get_text()
    assert not axes[3].axison


def test_grafana_dashboard_has_one_panel_per_query(tmp_path):
    panels = {"rate": "sum(rate(x[1m]))", "p95": "histogram_quantile(0.95, x)", "cpu": "1 - y"}
    path = dashboards.write_grafana_dashboard(tmp_path / "d.json", "T", panels)
    model = json.loads(path.read_text())
    assert model["title"] == "T" and [p["targets"][0]["expr"] for p in model["panels"]] == list(
        panels.values()
    )
    assert len({(p["gridPos"]["x"], p["gridPos"]["y"]) for p in model["panels"]}) == 3


# ------------------------------------------------------------------ the notebook


def answer_source(grade_id: str) -> str:
    nb = nbformat.read(str(SOURCE), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    raise KeyError(grade_id)


def edit(grade_id: str, *pairs: tuple[str, str]) -> str:
    source = answer_source(grade_id)
    for old, new in pairs:
        assert old in source, f"{old!r} not in the {grade_id} answer: update this test"
        source = source.replace(old, new)
    return source


class KeyRecorder:
    """Stands in for quiz: a question cell asks nothing, a hidden test's quiz.score
    keeps the key it scores against."""

    def __init__(self):
        self.keys = {}

    def number(self, *args, **kwargs):
        return None

    def score(self, name, answer, key, **kwargs):
        self.keys[name] = key


def hidden_part(source: str) -> str:
    return source.partition("### BEGIN HIDDEN TESTS")[2].partition("### END HIDDEN TESTS")[0]


def computed_questions(seed: int) -> tuple[dict, dict]:
    """Q8 and Q9 for ``seed``: the notebook's namespace after its given cells and model
    answers, and the keys its hidden tests score against."""
    recorder = KeyRecorder()
    namespace = {"np": np, "SEED": seed, "quiz": recorder, "print": lambda *args: None}
    for grade_id in (
        "given_latency_histogram",
        "q_latency_quantile",
        "given_request_counts",
        "q_counter_increase",
    ):
        exec(answer_source(grade_id), namespace)
    for grade_id in ("test_q_latency_quantile", "test_q_counter_increase"):
        exec(hidden_part(answer_source(grade_id)), namespace)
    return namespace, recorder.keys


def test_the_computed_questions_are_scored_as_prometheus_computes(tools):
    """The keys of Q8 and Q9, and the model answers, are what Prometheus itself gives:
    histogram_quantile of the given buckets, increase() across the counter's restarts
    (promtool evaluates both on the same samples)."""
    tests = []
    for seed in (0, 1, 42, 2024):
        namespace, keys = computed_questions(seed)
        assert namespace["q_latency_quantile"] == pytest.approx(keys["q_latency_quantile"])
        assert namespace["q_counter_increase"] == keys["q_counter_increase"]
        series = [
            {"series": f'latency_bucket{{le="{"+Inf" if np.isinf(le) else le}"}}', "values": f"{count}x20"}
            for le, count in namespace["LATENCY_BUCKETS"].items()
        ]
        series.append({"series": "requests_total", "values": " ".join(map(str, namespace["REQUEST_COUNTS"]))})
        quantile = (
            f"abs(histogram_quantile(0.95, latency_bucket) - {keys['q_latency_quantile']!r}) < bool 1e-9"
        )
        increase = f"abs(increase(requests_total[5m]) - {keys['q_counter_increase']}) < bool 1e-6"
        tests.append(
            {
                "interval": "15s",
                "input_series": series,
                "promql_expr_test": [
                    {"expr": expr, "eval_time": "5m", "exp_samples": [{"labels": "{}", "value": 1}]}
                    for expr in (quantile, increase)
                ],
            }
        )
    result = pl.test_rules("groups: []\n", {"tests": tests})
    assert result.ok, result.output


def test_the_computed_questions_differ_from_student_to_student():
    """A neighbour's numbers (or those printed with the default SEED) are wrong."""
    keys = [computed_questions(seed)[1] for seed in range(30)]
    for name in ("q_latency_quantile", "q_counter_increase"):
        values = [round(key[name], 4) for key in keys]
        assert len(set(values)) >= 25, (name, values)
    restarts = [computed_questions(seed)[0]["REQUEST_COUNTS"] for seed in range(30)]
    assert all(any(b < a for a, b in zip(counts, counts[1:])) for counts in restarts)


def test_the_notebook_declares_every_part():
    nb = nbformat.read(str(SOURCE), as_version=4)
    assert nb.metadata["mlops_course"]["requires"] == list(STATUS)


def test_every_m7_criterion_rests_on_two_grade_cells():
    nb = nbformat.read(str(SOURCE), as_version=4)
    cells: dict[str, list[str]] = {}
    for cell in nb.cells:
        meta = cell.metadata.get("mlops_course", {})
        if "criterion" in meta:
            cells.setdefault(meta["criterion"], []).append(cell.metadata.nbgrader.grade_id)
    assert len(cells) >= 8 and all(len(ids) >= 2 for ids in cells.values()), cells


@pytest.mark.slow
def test_typical_monitoring_mistakes_lose_the_right_points(grade_variant):
    """push_to_gateway erasing the last success; an in-flight Counter; a rate query not
    aggregated; an alert without for:; grouping by alertname; a silence on a whole
    severity; errors of every run; drift thresholds that flag clean data; a quantile
    read off a bucket's bound; a counter's increase that forgets its restarts."""
    for part in STATUS:
        need(part)
    result = grade_variant(
        ASSIGNMENT,
        {
            "push_run_metrics": edit(
                "push_run_metrics", ("    pushadd_to_gateway(gateway", "    push_to_gateway(gateway")
            ),
            "api_metrics": edit(
                "api_metrics",
                (
                    'IN_FLIGHT = Gauge("model_requests_in_flight"',
                    'IN_FLIGHT = Counter("model_requests_in_flight"',
                ),
                ("    IN_FLIGHT.dec()\n", ""),
            ),
            "promql": edit(
                "promql",
                (
                    "q_request_rate = 'sum(rate(model_requests_total{endpoint=\"/predict\"}[10s]))'",
                    "q_request_rate = 'rate(model_requests_total[10s])'",
                ),
            ),
            "alert_rules": edit("alert_rules", ("        for: 2m\n", "")),
            "alertmanager_config": edit("alertmanager_config", ("group_by: [job]", "group_by: [alertname]")),
            "load_test": edit(
                "load_test",
                (
                    '{"name": "alertname", "value": "NodeDiskFillingFast", "isRegex": False, "isEqual": True}',
                    '{"name": "severity", "value": "ticket", "isRegex": False, "isEqual": True}',
                ),
            ),
            "log_queries": edit(
                "log_queries",
                (
                    'e.get("run_id") == last_run and e.get("level") in ("ERROR", "CRITICAL")',
                    'e.get("level") in ("ERROR", "CRITICAL")',
                ),
            ),
            "drift_detection": edit(
                "drift_detection",
                ("PSI_THRESHOLD = 0.2", "PSI_THRESHOLD = 0.01"),
                ("KS_ALPHA = 0.01", "KS_ALPHA = 0.5"),
            ),
            "q_latency_quantile": edit(
                "q_latency_quantile",
                (
                    "return lower + (bounds[bucket] - lower) * (rank - below) / (counts[bucket] - below)",
                    "return bounds[bucket]",
                ),
            ),
            "q_counter_increase": edit(
                "q_counter_increase",
                ("after - before if after >= before else after", "max(after - before, 0)"),
            ),
        },
    )
    s, m = result.scores, result.max_scores
    lost = {
        "test_push_run_metrics_failed_run": "push_to_gateway deletes the last success time",
        "test_api_metrics_types": "an in-flight Counter",
        "test_promql_queries": "a rate query returning one series per status",
        "test_alert_rules_behaviour": "an alert without for: fires at once",
        "test_alertmanager_config_valid": "grouping by alertname",
        "test_alertmanager_config_grouping": "the pipeline alerts arrive in two notifications",
        "test_load_test_silenced": "a silence on severity=ticket hides every ticket",
        "test_log_queries_last_run_errors": "errors of earlier runs count",
        "test_drift_detection_flags": "thresholds that flag clean windows",
        "test_q_latency_quantile": "the bucket's upper bound, not interpolated inside it",
        "test_q_counter_increase": "the requests after each restart left out",
    }
    for cell, why in lost.items():
        assert s[cell] == 0, f"{cell} should lose its points: {why}"
    kept = [
        "test_push_run_metrics",
        "test_api_metrics_values",
        "test_prometheus_config_valid",
        "test_prometheus_config_targets",
        "test_alert_rules_valid",
        "test_alert_rules_pipeline",
        "test_load_test_rules",
        "test_load_test_fired",
        "test_log_queries_request_summary",
        "test_drift_detection_psi",
        "test_q_for",
        "test_q_golden_signals",
    ]
    for cell in kept:
        assert s[cell] == m[cell], f"{cell} should keep its points"
