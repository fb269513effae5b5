"""A tiny model server on 127.0.0.1 for the monitoring module, and traffic for it.

The student writes the request handler and its Prometheus instrumentation; this module
only does the HTTP plumbing: ``POST /predict`` (JSON in, JSON out, through the
handler), ``GET /health`` and ``GET /metrics`` (the exposition of a
``prometheus_client`` registry). It runs in a daemon thread on an ephemeral port and
stops with ``stop()`` (or ``with``). ``send_traffic`` / ``TrafficThread`` generate
requests, some of them invalid, with a seed.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handler = Callable[[Any], tuple[int, Any]]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A client that hangs up (Prometheus stopped mid-scrape) is not an error."""
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class ModelServer:
    """Serve ``handler(payload) -> (status, body)`` on 127.0.0.1:<free port>."""

    def __init__(self, handler: Handler, registry=None, host: str = "127.0.0.1", port: int = 0):
        self.handler = handler
        self.registry = registry
        self.host, self._port = host, port
        self.httpd: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.errors: list[str] = []  # exceptions raised by the handler (answered with 500)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1] if self.httpd else self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def target(self) -> str:
        """host:port, as a Prometheus static target."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> ModelServer:
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep the notebook quiet
                pass

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path == "/health":
                    self._send(200, b'{"status": "ok"}', "application/json")
                elif self.path.split("?")[0] == "/metrics" and server.registry is not None:
                    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

                    self._send(200, generate_latest(server.registry), CONTENT_TYPE_LATEST)
                else:
                    self._send(404, b'{"error": "not found"}', "application/json")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if self.path != "/predict":
                    self._send(404, b'{"error": "not found"}', "application/json")
                    return
                try:
                    payload = json.loads(raw or b"null")
                except ValueError:
                    payload = raw.decode("utf-8", "replace")
                try:
                    status, body = server.handler(payload)
                except Exception as exc:  # a bug in the handler must not kill the server
                    server.errors.append(f"{type(exc).__name__}: {exc}")
                    status, body = 500, {"error": f"{type(exc).__name__}: {exc}"}
                self._send(int(status), json.dumps(body, default=str).encode(), "application/json")

        self.httpd = _QuietServer((self.host, self._port), RequestHandler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"model-server-{self.port}",
            daemon=True,
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(timeout=5)
            self.httpd = None

    def __enter__(self) -> ModelServer:
        return self.start() if self.httpd is None else self

    def __exit__(self, *exc) -> None:
        self.stop()


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


def make_payload(rng: random.Random, samples, bad_fraction: float) -> Any:
    """A valid request from ``samples`` (feature rows), or, with ``bad_fraction``, an invalid one."""
    if rng.random() < bad_fraction:
        return rng.choice([{"features": "not numbers"}, {"wrong_key": [1, 2]}, {"features": [1.0, 2.0]}])
    row = samples[rng.randrange(len(samples))]
    return {"features": [float(x) for x in row]}


def send_traffic(
    url: str, samples, n: int, bad_fraction: float = 0.1, seed: int = 0, timeout: float = 5.0
) -> dict[int, int]:
    """Send ``n`` requests to ``<url>/predict``; returns the count per HTTP status."""
    rng = random.Random(seed)
    counts: dict[int, int] = {}
    for _ in range(n):
        status, _ = request(f"{url.rstrip('/')}/predict", make_payload(rng, samples, bad_fraction), timeout)
        counts[status] = counts.get(status, 0) + 1
    return counts


class TrafficThread(threading.Thread):
    """Background traffic at about ``rate`` requests per second until ``stop()``."""

    def __init__(self, url: str, samples, rate: float = 20.0, bad_fraction: float = 0.1, seed: int = 0):
        super().__init__(name="traffic", daemon=True)
        self.url, self.samples, self.rate, self.bad_fraction = url, samples, rate, bad_fraction
        self.rng = random.Random(seed)
        self.counts: dict[int, int] = {}
        self.started_at = self.stopped_at = None
        self._stop_event = threading.Event()

    def run(self) -> None:
        self.started_at = time.time()
        period = 1.0 / self.rate
        next_at = time.monotonic()
        while not self._stop_event.is_set():
            try:
                status, _ = request(
                    f"{self.url}/predict", make_payload(self.rng, self.samples, self.bad_fraction), 5
                )
            except OSError:
                status = 0
            self.counts[status] = self.counts.get(status, 0) + 1
            next_at += period
            self._stop_event.wait(max(0.0, next_at - time.monotonic()))
        self.stopped_at = time.time()

    def stop(self) -> dict[int, int]:
        self._stop_event.set()
        self.join(timeout=10)
        return self.counts
