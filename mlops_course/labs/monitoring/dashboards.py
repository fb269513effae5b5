"""Dashboards: PromQL results over time as plots in the notebook, and optionally as a
Grafana dashboard (JSON) for a Grafana of one's own (Grafana is not a Debian package,
so the course draws its panels with matplotlib)."""

from __future__ import annotations

import json
from pathlib import Path


def plot_panels(
    prometheus, panels: dict[str, str], start: float, end: float, step: float = 1.0, columns: int = 2
):
    """One plot per ``title: PromQL`` panel, each series of the range query a line
    (labelled by the labels that differ); returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    rows = -(-len(panels) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(6 * columns, 2.8 * rows), squeeze=False)
    for ax, (title, expr) in zip(axes.flat, panels.items()):
        try:
            result = prometheus.query_range(expr, start, end, step)
        except Exception as exc:  # one broken query must not hide the other panels
            ax.text(0.5, 0.5, f"query failed:\n{str(exc)[:120]}", ha="center", va="center", wrap=True)
            result = []
        for series in result:
            times = [float(t) - start for t, _ in series["values"]]
            values = [float(v) for _, v in series["values"]]
            label = ",".join(f"{k}={v}" for k, v in series["metric"].items() if k != "__name__") or None
            ax.plot(times, values, label=label)
        if any(series["metric"] for series in result) and len(result) <= 6:
            ax.legend(fontsize="x-small")
        ax.set_title(title, fontsize="small")
        ax.set_xlabel("seconds")
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    figure.tight_layout()
    return figure


def grafana_dashboard(title: str, panels: dict[str, str], datasource: str = "Prometheus") -> dict:
    """A Grafana dashboard (JSON model) with one time-series panel per ``title: PromQL``;
    import it in Grafana (Dashboards > New > Import) with a Prometheus data source."""
    width = 12
    return {
        "title": title,
        "schemaVersion": 39,
        "time": {"from": "now-15m", "to": "now"},
        "refresh": "5s",
        "panels": [
            {
                "id": index + 1,
                "type": "timeseries",
                "title": panel_title,
                "datasource": {"type": "prometheus", "uid": datasource},
                "gridPos": {"x": (index % 2) * width, "y": (index // 2) * 8, "w": width, "h": 8},
                "targets": [{"refId": "A", "expr": expr}],
            }
            for index, (panel_title, expr) in enumerate(panels.items())
        ],
    }


def write_grafana_dashboard(path: str | Path, title: str, panels: dict[str, str]) -> Path:
    """Write :func:`grafana_dashboard` as a JSON file."""
    path = Path(path)
    path.write_text(json.dumps(grafana_dashboard(title, panels), indent=2) + "\n")
    return path
