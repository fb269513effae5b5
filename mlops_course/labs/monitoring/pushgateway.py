"""A Prometheus Pushgateway on 127.0.0.1, for metrics of runs that end (a pipeline run).

Prometheus pulls, but a batch job may be gone before the next scrape: it pushes its
metrics to the Pushgateway, which keeps the last push of every group (job and grouping
labels) and serves them on ``/metrics`` for Prometheus (scraped with
``honor_labels: true``, so that the pushed ``job`` label stays). Debian's
``prometheus-pushgateway``, in memory only (no persistence file).
"""

from __future__ import annotations

import json
import urllib.request

from mlops_course.infra.parts import PartStatus
from mlops_course.labs.monitoring.service import LocalService, programs_status, wait_until

PROGRAM = "prometheus-pushgateway"
INSTALL_HINT = (
    "The Prometheus Pushgateway is not installed. On Debian/Ubuntu: "
    "`sudo apt-get install --no-install-recommends prometheus-pushgateway` (the course "
    "starts its own on 127.0.0.1; the system service is not needed). Elsewhere, download "
    "`pushgateway` from prometheus.io and put it on your PATH as `prometheus-pushgateway`."
)


def status() -> PartStatus:
    """Is the Pushgateway installed? Never raises."""
    return programs_status("Pushgateway", (PROGRAM,), INSTALL_HINT)


class Pushgateway(LocalService):
    """A Pushgateway of our own; ``target`` is what ``push_to_gateway`` and Prometheus take."""

    program = PROGRAM
    label = "the Pushgateway"
    install_hint = INSTALL_HINT

    def command(self, binary: str, port: int) -> list[str]:
        return [
            binary,
            f"--web.listen-address=127.0.0.1:{port}",
            "--persistence.file=",  # in memory: nothing outlives the run
            "--log.level=warn",
        ]

    def groups(self) -> list[dict]:
        """What was pushed, per group: ``{"labels": {"job": ...}, "metrics": {name: value},
        "types": {name: "GAUGE" | "COUNTER" | ...}}`` (``push_time_seconds`` is the time of
        the group's last push)."""
        with urllib.request.urlopen(f"{self.url}/api/v1/metrics", timeout=10) as response:
            data = json.load(response)["data"]
        groups = []
        for group in data:
            metrics, types = {}, {}
            for name, family in group.items():
                if not isinstance(family, dict) or "metrics" not in family:
                    continue
                types[name] = family.get("type")
                samples = family["metrics"]
                if samples and "value" in samples[0]:
                    metrics[name] = float(samples[0]["value"])
            groups.append({"labels": group.get("labels", {}), "metrics": metrics, "types": types})
        return groups

    def _group(self, job: str) -> dict:
        for group in self.groups():
            if group["labels"].get("job") == job:
                return group
        return {"labels": {}, "metrics": {}, "types": {}}

    def pushed(self, job: str) -> dict[str, float]:
        """The values of the last pushes of ``job`` by metric name (empty if it never pushed)."""
        return self._group(job)["metrics"]

    def types(self, job: str) -> dict[str, str]:
        """The metric types (``GAUGE``, ``COUNTER``...) of what ``job`` pushed, by name."""
        return self._group(job)["types"]

    def delete(self, job: str, timeout: float = 5) -> None:
        """Forget everything pushed for ``job``. The Pushgateway answers a DELETE with
        202 Accepted and deletes a moment later: wait until the group is gone."""
        request = urllib.request.Request(f"{self.url}/metrics/job/{job}", method="DELETE")
        with urllib.request.urlopen(request, timeout=10):
            pass
        wait_until(
            lambda: self.pushed(job), lambda pushed: not pushed, timeout, f"the deletion of job {job}", 0.05
        )
