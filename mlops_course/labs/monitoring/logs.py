"""Log collection: rsyslog receiving on 127.0.0.1, ``logger`` shipping lines to it.

A service writes its logs to stdout, one JSON object per line; the platform ships them
to a collector (Docker's ``syslog`` log driver, journald, a Kubernetes node agent...).
Here the shipper is util-linux's ``logger``, which sends every line it reads as one
syslog message over TCP, and the collector is :class:`SyslogCollector`, an rsyslog of
our own that parses each message as JSON (``mmjsonparse``) and appends it to one file,
one object per line::

    {"received": "<rsyslog's time>", "app": "<the sender's tag>", "host": "...", "event": {...}}

where ``event`` is the service's own JSON object (``{"msg": "..."}`` for a line that was
not JSON). :func:`json_handler` does the same for a Python program (the pipeline):
its log records become JSON lines shipped by a ``logger``.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from mlops_course.infra.parts import PartStatus
from mlops_course.labs.monitoring.service import LocalService, programs_status, require_binary, wait_until

INSTALL_HINT = (
    "rsyslog or logger is missing. On Debian/Ubuntu: `sudo apt-get install "
    "--no-install-recommends rsyslog` (`logger` comes with util-linux/bsdutils, which every "
    "Debian system has). The course starts its own rsyslog on 127.0.0.1 as your user; the "
    "system service is not needed."
)
COLLECTED = "collected.jsonl"
MAX_MESSAGE = 65536  # bytes; syslog's traditional limit is 1 KiB


def status() -> PartStatus:
    """Are rsyslogd and logger installed? Never raises."""
    return programs_status("rsyslog", ("rsyslogd", "logger"), INSTALL_HINT, version_flag="-v")


RSYSLOG_CONF = """\
global(workDirectory="{workdir}" maxMessageSize="{max_message}")
module(load="imtcp")
module(load="mmjsonparse")
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="collect")
template(name="collected" type="list") {{
  constant(value="{{\\"received\\":\\"")
  property(name="timegenerated" dateFormat="rfc3339")
  constant(value="\\",\\"app\\":\\"")
  property(name="programname" format="json")
  constant(value="\\",\\"host\\":\\"")
  property(name="hostname" format="json")
  constant(value="\\",\\"event\\":")
  property(name="$!all-json")
  constant(value="}}\\n")
}}
ruleset(name="collect") {{
  action(type="mmjsonparse" cookie="")
  action(type="omfile" file="{output}" template="collected")
}}
"""


class SyslogCollector(LocalService):
    """rsyslog on 127.0.0.1:<port>, TCP, writing every message it gets to ``output``."""

    program = "rsyslogd"
    label = "rsyslog"
    install_hint = INSTALL_HINT
    ready_path = None  # no HTTP: ready when the TCP port accepts connections

    @property
    def output(self) -> Path:
        return self.workdir / COLLECTED

    def config(self) -> str:
        return RSYSLOG_CONF.format(
            workdir=self.workdir, port=self.port, output=self.output, max_message=MAX_MESSAGE
        )

    def write_files(self) -> None:
        (self.workdir / "rsyslog.conf").write_text(self.config())

    def command(self, binary: str, port: int) -> list[str]:
        return [
            binary,
            "-n",
            "-f",
            str(self.workdir / "rsyslog.conf"),
            "-i",
            str(self.workdir / "rsyslogd.pid"),
        ]

    def ship(self, app: str) -> LogShipper:
        """A ``logger`` that sends every line written to it, tagged ``app``, to this collector."""
        return LogShipper(self.port, app)

    def events(self, app: str | None = None) -> list[dict]:
        """Everything collected so far (only ``app``'s messages when given)."""
        return read_collected(self.output, app)

    def wait_for(self, condition: Callable[[list[dict]], bool], timeout: float, what: str) -> list[dict]:
        """Wait until ``condition(events)`` holds; TimeoutError saying ``what`` if not."""
        return wait_until(self.events, condition, timeout, f"{what} in the collected logs")


def read_collected(path: str | Path, app: str | None = None) -> list[dict]:
    """The collected messages of a collector's file, oldest first (a line being written
    at this moment is left out)."""
    path = Path(path)
    if not path.exists():
        return []
    events = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if app is None or message.get("app") == app:
            events.append(message)
    return events


class LogShipper:
    """A ``logger`` process: every line written to ``stdin`` becomes one syslog message
    tagged ``app``, sent over TCP to 127.0.0.1:``port``. Give ``stdin`` to a child
    process as its stdout, or wrap it with ``text()`` for a Python logging handler;
    ``close()`` ends it once everything is sent."""

    def __init__(self, port: int, app: str):
        tool = require_binary("logger", INSTALL_HINT)
        self.app = app
        self.process = subprocess.Popen(
            [
                tool,
                "--tcp",
                "--server",
                "127.0.0.1",
                "--port",
                str(port),
                "--tag",
                app,
                "--size",
                str(MAX_MESSAGE),
                "--skip-empty",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.stdin = self.process.stdin
        self._text: io.TextIOWrapper | None = None

    def text(self) -> io.TextIOWrapper:
        """The input as a line-buffered text stream (for ``logging.StreamHandler``)."""
        if self._text is None:
            self._text = io.TextIOWrapper(self.stdin, encoding="utf-8", line_buffering=True)
        return self._text

    def close(self, timeout: float = 10) -> None:
        """Close the input; ``logger`` sends what it has and exits."""
        stream = self._text or self.stdin
        try:
            stream.close()
        except (OSError, ValueError):
            pass
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts (ISO 8601, UTC), level, logger, message, the
    ``fields`` given in ``extra=`` when present, and the exception's text."""

    def __init__(self, fields: tuple[str, ...] = ("run_id",)):
        super().__init__()
        self.fields = fields

    def format(self, record: logging.LogRecord) -> str:
        event = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        event.update({name: getattr(record, name) for name in self.fields if hasattr(record, name)})
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str)


def json_handler(shipper: LogShipper, fields: tuple[str, ...] = ("run_id",)) -> logging.Handler:
    """A logging handler that ships JSON lines through ``shipper``."""
    handler = logging.StreamHandler(shipper.text())
    handler.setFormatter(JsonFormatter(fields))
    return handler
