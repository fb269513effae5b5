"""An Alertmanager on 127.0.0.1, amtool, and a webhook receiver standing in for the team chat.

Prometheus evaluates alert rules and sends the firing alerts to the Alertmanager, which
groups them, holds back silenced ones and routes the rest to receivers (mail, chat,
pager...). Here the receiver is :class:`WebhookReceiver`, a small HTTP server in this
process on 127.0.0.1 that keeps every notification it gets, so a notebook or a test can
read exactly what "the chat" received. Debian's ``prometheus-alertmanager`` and
``amtool``; clustering is off (it would listen on all interfaces).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from mlops_course.errors import ServiceStartError
from mlops_course.infra.parts import PartStatus
from mlops_course.labs.monitoring.service import LocalService, programs_status, require_binary, wait_until

PROGRAM = "prometheus-alertmanager"
INSTALL_HINT = (
    "The Prometheus Alertmanager is not installed. On Debian/Ubuntu: "
    "`sudo apt-get install --no-install-recommends prometheus-alertmanager` (it brings "
    "`amtool`; the course starts its own Alertmanager on 127.0.0.1, the system service is "
    "not needed). Elsewhere, download `alertmanager` and `amtool` from prometheus.io and put "
    "them on your PATH (the first as `prometheus-alertmanager`)."
)

# Until a notebook configures its own routes: every alert goes to a receiver that sends nothing.
SILENT_CONFIG = """
route:
  receiver: nobody
receivers:
  - name: nobody
"""


def status() -> PartStatus:
    """Are the Alertmanager and amtool installed? Never raises."""
    return programs_status("Alertmanager", (PROGRAM, "amtool"), INSTALL_HINT)


def check_config(config_yaml: str) -> tuple[bool, str]:
    """``amtool check-config`` on an alertmanager.yml text: (ok, amtool's output)."""
    tool = require_binary("amtool", INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="amtool-") as tmp:
        path = Path(tmp) / "alertmanager.yml"
        path.write_text(config_yaml)
        out = subprocess.run([tool, "check-config", str(path)], capture_output=True, text=True, timeout=60)
    return out.returncode == 0, (out.stdout + out.stderr).strip()


class Alertmanager(LocalService):
    """An Alertmanager of our own; ``reload`` takes a new configuration without a restart."""

    program = PROGRAM
    label = "the Alertmanager"
    install_hint = INSTALL_HINT

    def __init__(self, config_yaml: str = SILENT_CONFIG, **options):
        super().__init__(**options)
        self.config_yaml = config_yaml

    def write_files(self) -> None:
        (self.workdir / "alertmanager.yml").write_text(self.config_yaml)

    def command(self, binary: str, port: int) -> list[str]:
        return [
            binary,
            f"--config.file={self.workdir / 'alertmanager.yml'}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # no high-availability gossip (it binds 0.0.0.0)
            "--log.level=warn",
        ]

    def reload(self, config_yaml: str) -> None:
        """Load a new configuration; ServiceStartError with the reason when it is rejected
        (the Alertmanager then keeps the old one)."""
        self.config_yaml = config_yaml
        self.write_files()
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30):
                return
        except urllib.error.HTTPError as exc:
            reason = exc.read().decode(errors="replace").strip()
            raise ServiceStartError(f"the Alertmanager rejected the configuration: {reason}") from None

    def _api(self, path: str, payload: dict | None = None):
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"{self.url}/api/v2/{path}", data=data, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            reason = exc.read().decode(errors="replace").strip()
            raise ValueError(f"the Alertmanager refused {path}: HTTP {exc.code}: {reason}") from None

    def add_silence(self, silence: dict) -> str:
        """Create a silence (the API's JSON: matchers, startsAt, endsAt, createdBy,
        comment); its id. ValueError with the Alertmanager's reason when it is refused."""
        return self._api("silences", silence)["silenceID"]

    def silences(self) -> list[dict]:
        """Every silence with its ``status.state`` (active, pending, expired)."""
        return self._api("silences")

    def alerts(self) -> list[dict]:
        """The alerts the Alertmanager holds, with ``status.state`` (active, suppressed)."""
        return self._api("alerts")


def silence_window(minutes: float) -> tuple[str, str]:
    """(startsAt, endsAt) of a silence from now on, as the API wants them (RFC 3339, UTC)."""
    now = datetime.now(UTC)
    return now.isoformat(), (now + timedelta(minutes=minutes)).isoformat()


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that keeps every Alertmanager notification it gets.

    ``url`` goes into a ``webhook_configs`` entry; ``notifications`` are the payloads
    (``status``, ``groupLabels``, ``alerts`` with their labels and status...) in the
    order they arrived."""

    def __init__(self):
        self.notifications: list[dict] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/alerts"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {"unreadable": body.decode(errors="replace")}
                payload["received_at"] = time.time()
                with receiver._lock:
                    receiver.notifications.append(payload)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # keep the notebook quiet
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> WebhookReceiver:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    def received(self) -> list[dict]:
        """A copy of the notifications so far."""
        with self._lock:
            return list(self.notifications)

    def alert_names(self, status: str | None = "firing") -> set[str]:
        """The names of the alerts received (with that status; None: any)."""
        return {
            alert["labels"].get("alertname")
            for notification in self.received()
            for alert in notification.get("alerts", [])
            if status is None or alert.get("status") == status
        }

    def wait_for(self, condition: Callable[[list[dict]], bool], timeout: float, what: str) -> list[dict]:
        """Wait until ``condition(notifications)`` holds; TimeoutError saying ``what`` if not."""
        return wait_until(self.received, condition, timeout, what)
