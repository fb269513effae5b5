"""m7_monitoring: the Prometheus/promtool helpers against the real tools, the model
server, the drift stream, and typical mistakes losing the right points.

Tests that need prometheus/promtool skip on a machine without them, except in CI
(CI=true), where they fail: .ci/run installs Debian's `prometheus`."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
import yaml
from helpers import require
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.parser import text_string_to_metric_families

from mlops_course.infra.processes import free_port
from mlops_course.labs.monitoring import drift, model_server
from mlops_course.labs.monitoring import prometheus as pl

ASSIGNMENT = "m7_monitoring"
SOURCE = Path(__file__).resolve().parents[2] / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


@pytest.fixture
def tools():
    """prometheus and promtool, or skip (fail in CI) with the install hint."""
    status = pl.status()
    require(status.available, status.message)
    return status


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


# ------------------------------------------------------------------ promtool


def test_status_names_the_version(tools):
    assert tools.version and tools.version.startswith("2.")
    assert "promtool" in tools.message


def test_missing_prometheus_says_how_to_install(monkeypatch):
    monkeypatch.setattr(pl, "find_binary", lambda name: None)
    status = pl.status()
    assert not status.available and "apt-get install --no-install-recommends prometheus" in status.message
    with pytest.raises(pl.PrometheusMissing, match="apt-get install"):
        pl.check_rules(RULES)
    with pytest.raises(pl.PrometheusMissing):
        pl.PrometheusServer(pl.scrape_config("127.0.0.1:1")).start()


def test_check_config(tools):
    assert pl.check_config(pl.scrape_config("127.0.0.1:9100")).ok
    bad = pl.check_config("scrape_configs:\n  - job_name: x\n    static_configz: []\n")
    assert not bad.ok and "static_configz" in bad.output
    with_rules = "rule_files: [rules.yml]\n" + pl.scrape_config("127.0.0.1:9100")
    assert pl.check_config(with_rules, {"rules.yml": RULES}).ok
    assert not pl.check_config(with_rules, {"rules.yml": RULES.replace("max(up)", "max(up")}).ok


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


# ------------------------------------------------------------------ model server


def instrumented():
    registry = CollectorRegistry()
    requests = Counter("app_requests_total", "Requests", ["status"], registry=registry)
    latency = Histogram("app_latency_seconds", "Latency", registry=registry)
    in_flight = Gauge("app_in_flight", "In flight", registry=registry)

    def handle(payload):
        with latency.time(), in_flight.track_inprogress():
            if payload == "boom":
                raise RuntimeError("a bug")
            if (
                not isinstance(payload, dict)
                or not isinstance(payload.get("features"), list)
                or len(payload["features"]) != 3
            ):
                requests.labels("400").inc()
                return 400, {"error": "bad input"}
            requests.labels("200").inc()
            return 200, {"prediction": sum(payload["features"])}

    return registry, handle


def test_model_server_routes_and_errors():
    registry, handle = instrumented()
    with model_server.ModelServer(handle, registry) as server:
        assert server.url.startswith("http://127.0.0.1:") and server.port > 0
        assert model_server.request(f"{server.url}/health") == (200, {"status": "ok"})
        assert model_server.request(f"{server.url}/predict", {"features": [1, 2, 3]}) == (
            200,
            {"prediction": 6},
        )
        assert model_server.request(f"{server.url}/predict", {"x": 1})[0] == 400
        status, body = model_server.request(f"{server.url}/predict", "boom")
        assert status == 500 and "RuntimeError" in body["error"] and server.errors == ["RuntimeError: a bug"]
        assert model_server.request(f"{server.url}/nothing")[0] == 404
        families = {f.name: f for f in text_string_to_metric_families(model_server.scrape(server.url))}
        assert families["app_requests"].type == "counter" and families["app_in_flight"].type == "gauge"
        port = server.port
    import socket

    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "the server is stopped"


def test_send_traffic_counts_statuses_with_a_seed():
    registry, handle = instrumented()
    samples = [[1, 2, 3], [4, 5, 6]]
    with model_server.ModelServer(handle, registry) as server:
        first = model_server.send_traffic(server.url, samples, n=40, bad_fraction=0.25, seed=3)
        again = model_server.send_traffic(server.url, samples, n=40, bad_fraction=0.25, seed=3)
    assert first == again and sum(first.values()) == 40 and set(first) == {200, 400}


def test_traffic_thread_keeps_its_rate():
    registry, handle = instrumented()
    with model_server.ModelServer(handle, registry) as server:
        traffic = model_server.TrafficThread(server.url, [[1, 2, 3]], rate=50, bad_fraction=0, seed=1)
        traffic.start()
        time.sleep(1.0)
        counts = traffic.stop()
    sent = sum(counts.values())
    assert not traffic.is_alive() and 20 <= sent <= 60 and set(counts) == {200}


# ------------------------------------------------------------------ a real Prometheus


def test_prometheus_scrapes_and_answers_promql(tools):
    registry, handle = instrumented()
    with (
        model_server.ModelServer(handle, registry) as server,
        pl.PrometheusServer(pl.scrape_config(server.target)) as prometheus,
    ):
        workdir = prometheus.workdir
        assert prometheus.running and prometheus.url.startswith("http://127.0.0.1:")
        traffic = model_server.TrafficThread(server.url, [[1, 2, 3]], rate=20, bad_fraction=0.2, seed=0)
        traffic.start()
        try:
            targets = prometheus.wait_for_targets(timeout=20, job="model-api")
            assert targets[0]["health"] == "up"
            prometheus.wait_for_samples("app_requests_total", count=4, timeout=20)
        finally:
            traffic.stop()
        at = time.time()
        rate = prometheus.query_value("sum(rate(app_requests_total[3s]))", at=at)
        assert rate is not None and 5 < rate < 40
        p95 = prometheus.query_value(
            "histogram_quantile(0.95, sum by (le) (rate(app_latency_seconds_bucket[3s])))", at=at
        )
        assert p95 is not None and 0 < p95 <= 0.005
        assert prometheus.query_value("vector(2) * 3") == 6
        assert prometheus.query_value('app_requests_total{status="418"}') is None
        with pytest.raises(pl.PromQLError, match="aggregate"):
            prometheus.query_value("app_requests_total")
        with pytest.raises(pl.PromQLError, match="parse error"):
            prometheus.query_value("sum(rate(app_requests_total[1m])")
        process = prometheus.process
    assert process.poll() is not None, "Prometheus is stopped on leaving the with block"
    assert not workdir.exists(), "its temporary TSDB is deleted"


def test_prometheus_with_a_bad_config_fails_fast_with_its_log(tools):
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="exited with code"):
        pl.PrometheusServer("scrape_configs: [{job_name: x, nonsense: 1}]\n").start()
    assert time.monotonic() - start < 15
    assert not pl.PrometheusServer._running


def test_wait_for_targets_times_out_with_a_hint(tools):
    port = free_port()  # nobody listens there
    with pl.PrometheusServer(pl.scrape_config(f"127.0.0.1:{port}")) as prometheus:
        with pytest.raises(TimeoutError, match="hint"):
            prometheus.wait_for_targets(timeout=2)


# ------------------------------------------------------------------ drift stream


def test_simulated_stream_is_seeded_and_drifts_late():
    a, b = drift.simulate_stream(7), drift.simulate_stream(7)
    assert np.array_equal(a.reference, b.reference) and all(
        np.array_equal(x, y) for x, y in zip(a.windows, b.windows)
    )
    assert a.drifted == [False] * 8 + [True] * 4 and len(a.windows) == 12 and len(a.windows[0]) == 400
    clean, drifted = np.mean([w.mean() for w in a.windows[:8]]), np.mean([w.mean() for w in a.windows[8:]])
    assert drifted > 1.3 * clean
    assert not np.array_equal(drift.simulate_stream(8).reference, a.reference)


def test_plot_drift_draws_without_a_display():
    import matplotlib

    matplotlib.use("Agg")
    ax = drift.plot_drift([0.01, 0.5], [False, True], 0.2, truth=[False, True])
    assert len(ax.patches) >= 2


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


def test_the_notebook_declares_prometheus():
    nb = nbformat.read(str(SOURCE), as_version=4)
    assert nb.metadata["mlops_course"]["requires"] == ["prometheus"]


@pytest.mark.slow
def test_typical_monitoring_mistakes_lose_the_right_points(tools, grade_variant):
    """A counter used for a gauge; an alert without for:; a drift threshold that flags
    clean data; a rate query that is not aggregated; 4xx counted as errors."""
    result = grade_variant(
        ASSIGNMENT,
        {
            "instrumentation": edit(
                "instrumentation",
                (
                    'IN_FLIGHT = Gauge("model_requests_in_flight"',
                    'IN_FLIGHT = Counter("model_requests_in_flight"',
                ),
                ("        IN_FLIGHT.dec()\n", ""),
            ),
            "alert_rules": edit("alert_rules", ("        for: 2m\n", "")),
            "drift_detection": edit(
                "drift_detection",
                ("PSI_THRESHOLD = 0.2", "PSI_THRESHOLD = 0.01"),
                ("KS_ALPHA = 0.01", "KS_ALPHA = 0.5"),
            ),
            "promql": edit(
                "promql",
                (
                    "q_request_rate = 'sum(rate(model_requests_total{endpoint=\"/predict\"}[10s]))'",
                    "q_request_rate = 'rate(model_requests_total[10s])'",
                ),
            ),
            "json_logs": edit("json_logs", ('e["status"] >= 500', 'e["status"] >= 400')),
        },
    )
    s, m = result.scores, result.max_scores
    assert s["test_instrumentation_metric_types"] == 0, (
        "an in-flight Counter must lose the metric-type points"
    )
    assert s["test_instrumentation_metric_values"] == m["test_instrumentation_metric_values"], (
        "the request counts are still right"
    )
    assert s["test_alert_rules_behaviour"] == 0, (
        "an alert without for: fires at once and must lose the behaviour points"
    )
    assert s["test_alert_rules_valid"] == m["test_alert_rules_valid"], "the rule file is still valid"
    assert s["test_drift_detection_flags"] == 0, (
        "thresholds that flag clean windows must lose the flag points"
    )
    assert s["test_drift_detection_psi"] == m["test_drift_detection_psi"], "psi() itself is still right"
    assert s["test_promql_queries"] == 0, (
        "a rate query returning one series per status must lose the PromQL points"
    )
    assert s["test_json_logs_summary"] == 0 and s["test_json_logs_format"] == m["test_json_logs_format"]
    for cell in ("test_prometheus_config_valid", "test_q_for", "test_q_golden_signals"):
        assert s[cell] == m[cell], f"{cell} should keep its points"
