"""The model API of module 1, run as a local process on 127.0.0.1, and traffic for it.

:class:`ModelApi` starts the assignment's copy of the module-1 service
(``model_api/app.py``: GET /health, POST /predict with ``{"instances": [...]}``, GET
/metrics) with the kernel's Python, on a free loopback port. Its stdout (JSON log lines)
goes to a :class:`~mlops_course.labs.monitoring.logs.SyslogCollector` when one is
given, else to its log file. :func:`send_traffic` and :class:`TrafficThread` are its
clients: seeded requests of 1 to 5 instances, some of them malformed.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from mlops_course.labs.monitoring.logs import LogShipper, SyslogCollector
from mlops_course.labs.monitoring.service import LocalService

APP = "model-api"  # its tag in the collected logs


def export_model(model, path: str | Path, name: str | None = None) -> Path:
    """Save a scikit-learn linear classifier as the service loads it (module 1's
    ``model.npz``: coef, intercept, classes, name; numpy only, no pickle)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        coef=model.coef_,
        intercept=model.intercept_,
        classes=model.classes_,
        name=name or type(model).__name__,
    )
    return path


class ModelApi(LocalService):
    """``model_api/app.py`` of an assignment folder as a process on 127.0.0.1:<port>."""

    name = APP
    label = "the model API"
    ready_path = "/health"

    def __init__(
        self,
        app_dir: str | Path,
        model_path: str | Path,
        metrics_module: str | Path | None = None,
        prediction_log: str | Path | None = None,
        collector: SyslogCollector | None = None,
        run_id: str | None = None,
        **options,
    ):
        super().__init__(**options)
        self.program = sys.executable  # the kernel's Python has numpy and prometheus_client
        self.app = Path(app_dir) / "app.py"
        self.model_path = Path(model_path)
        self.metrics_module = metrics_module
        self.prediction_log = prediction_log
        self.collector = collector
        self.run_id = run_id
        self.shipper: LogShipper | None = None

    def command(self, binary: str, port: int) -> list[str]:
        return [binary, str(self.app.resolve())]

    def environment(self) -> dict[str, str]:
        env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port), "PYTHONUNBUFFERED": "1"}
        env["MODEL_PATH"] = str(self.model_path.resolve())
        for name, value in (
            ("METRICS_MODULE", self.metrics_module),
            ("PREDICTION_LOG", self.prediction_log),
            ("RUN_ID", self.run_id),
        ):
            if value:
                env[name] = str(value)
            else:
                env.pop(name, None)
        return env

    def stdout(self) -> IO | None:
        if self.collector is None:
            return None
        self.shipper = self.collector.ship(APP)
        return self.shipper.stdin

    def _spawn(self, binary: str) -> None:
        super()._spawn(binary)
        if self.shipper is not None:
            self.shipper.stdin.close()  # the service holds the pipe now; logger ends when it does

    def _stop_process(self) -> None:
        super()._stop_process()
        if self.shipper is not None:
            self.shipper.close()  # logger sends the last lines, then exits
            self.shipper = None

    def health(self) -> dict:
        return request(f"{self.url}/health")[1]


def request(url: str, payload: Any = None, timeout: float = 5.0) -> tuple[int, Any]:
    """POST JSON (or GET when payload is None); (status, decoded body)."""
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode("utf-8", "replace")


def scrape(url: str, timeout: float = 5.0) -> str:
    """The text of ``<url>/metrics``."""
    with urllib.request.urlopen(f"{url.rstrip('/')}/metrics", timeout=timeout) as response:
        return response.read().decode()


BAD_PAYLOADS = (
    {"instances": "not numbers"},
    {"rows": [[0.0] * 64]},
    {"instances": [[1.0, 2.0]]},
    {"instances": []},
)


def make_payload(rng: random.Random, samples, bad_fraction: float, max_batch: int = 5) -> dict:
    """A valid request of 1 to ``max_batch`` rows of ``samples``, or, with
    ``bad_fraction``, a malformed one."""
    if rng.random() < bad_fraction:
        return rng.choice(BAD_PAYLOADS)
    rows = [samples[rng.randrange(len(samples))] for _ in range(rng.randint(1, max_batch))]
    return {"instances": [[float(x) for x in row] for row in rows]}


@dataclass
class Traffic:
    """What a client sent and got: responses per HTTP status, rows predicted."""

    by_status: dict[int, int] = field(default_factory=dict)
    predicted: int = 0

    @property
    def requests(self) -> int:
        return sum(self.by_status.values())

    def count(self, status: int, body: Any) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1
        if status == 200 and isinstance(body, dict):
            self.predicted += len(body.get("predictions", []))


def send_traffic(
    url: str, samples, n: int, bad_fraction: float = 0.1, seed: int = 0, max_batch: int = 5
) -> Traffic:
    """Send ``n`` requests to ``<url>/predict``, one after the other."""
    rng = random.Random(seed)
    traffic = Traffic()
    for _ in range(n):
        traffic.count(
            *request(f"{url.rstrip('/')}/predict", make_payload(rng, samples, bad_fraction, max_batch))
        )
    return traffic


class TrafficThread(threading.Thread):
    """Background traffic at about ``rate`` requests per second until ``stop()``."""

    def __init__(self, url: str, samples, rate: float = 20.0, bad_fraction: float = 0.1, seed: int = 0):
        super().__init__(name="traffic", daemon=True)
        self.url, self.samples, self.rate, self.bad_fraction = url.rstrip("/"), samples, rate, bad_fraction
        self.rng = random.Random(seed)
        self.traffic = Traffic()
        self.started_at = self.stopped_at = None
        self._stop_event = threading.Event()

    def run(self) -> None:
        self.started_at = time.time()
        period = 1.0 / self.rate
        next_at = time.monotonic()
        while not self._stop_event.is_set():
            try:
                self.traffic.count(
                    *request(
                        f"{self.url}/predict", make_payload(self.rng, self.samples, self.bad_fraction), 5
                    )
                )
            except OSError:
                self.traffic.count(0, None)
            next_at += period
            self._stop_event.wait(max(0.0, next_at - time.monotonic()))
        self.stopped_at = time.time()

    def stop(self) -> Traffic:
        self._stop_event.set()
        self.join(timeout=10)
        return self.traffic
