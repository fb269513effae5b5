"""The system parts of the monitoring lab by name, each with its status: what
``mlops-course doctor`` reports and what a notebook's ``requires`` may name."""

from __future__ import annotations

from collections.abc import Callable

from mlops_course.infra.parts import PartStatus
from mlops_course.labs.monitoring import alertmanager, logs, node_exporter, prometheus, pushgateway

STATUS: dict[str, Callable[[], PartStatus]] = {
    "prometheus": prometheus.status,
    "pushgateway": pushgateway.status,
    "alertmanager": alertmanager.status,
    "node-exporter": node_exporter.status,
    "rsyslog": logs.status,
}
