"""Production data for the drift exercise: what the model API served, and plotting.

The service's prediction log records every row (64 pixel values) it answered; those
served rows, in windows of a fixed size, are what drift detection compares with the
training data. The traffic that produces them is seeded: clean rows drawn from held-out
digits, then, from some window on, rows from "a new scanner" that shifts every image
one pixel to the right and adds sensor noise (a sudden, real change of the inputs).
The graded part (PSI, the KS test, the thresholds) is written by the student; this
module only makes and reads the data and draws the result.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def new_scanner(rows, rng: np.random.Generator) -> np.ndarray:
    """8x8 digit images as a new scanner would deliver them: one pixel to the right,
    with noise, rounded and clipped to the 0..16 range of the training data."""
    images = np.asarray(rows, dtype=float).reshape(-1, 8, 8)
    shifted = np.roll(images, 1, axis=2)
    shifted[:, :, 0] = 0
    noisy = shifted + rng.normal(0, 1.5, shifted.shape)
    return np.clip(np.round(noisy), 0, 16).reshape(-1, 64) + 0.0  # + 0.0: no -0.0 in the requests


def production_windows(
    samples, seed: int, n_windows: int = 8, window_size: int = 200, drift_from: int = 5
) -> tuple[list[np.ndarray], list[bool]]:
    """Windows of production rows drawn from ``samples``; from window ``drift_from`` on
    they come from the new scanner. Returns (windows, truth: drifted or not)."""
    rng = np.random.default_rng(seed)
    samples = np.asarray(samples, dtype=float)
    windows, truth = [], []
    for index in range(n_windows):
        rows = samples[rng.integers(0, len(samples), window_size)]
        drifted = index >= drift_from
        windows.append(new_scanner(rows, rng) if drifted else rows)
        truth.append(drifted)
    return windows, truth


def served_rows(prediction_log: str | Path, request_ids=None) -> np.ndarray:
    """The rows the API answered, in the order it answered them, from its prediction
    log (only the requests in ``request_ids`` when given)."""
    wanted = None if request_ids is None else set(request_ids)
    rows = []
    path = Path(prediction_log)
    if not path.exists():
        return np.empty((0, 0))
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if wanted is None or record.get("request_id") in wanted:
            rows.extend(record.get("instances", []))
    return np.asarray(rows, dtype=float)


def windows_of(rows: np.ndarray, window_size: int) -> list[np.ndarray]:
    """Consecutive windows of ``window_size`` rows (an incomplete last one is left out)."""
    return [rows[start : start + window_size] for start in range(0, len(rows) - window_size + 1, window_size)]


def plot_drift(
    scores: list[float],
    flags: list[bool],
    threshold: float,
    truth: list[bool] | None = None,
    title: str = "Drift per production window",
    ylabel: str = "share of drifted features",
    ax=None,
):
    """Bar chart of a drift score per window, the threshold, flagged windows in red."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3))
    colours = ["tab:red" if flag else "tab:blue" for flag in flags]
    ax.bar(range(len(scores)), scores, color=colours)
    ax.axhline(threshold, color="black", linestyle="--", label=f"threshold {threshold}")
    if truth is not None:
        for index, drifted in enumerate(truth):
            if drifted:
                ax.axvspan(index - 0.5, index + 0.5, color="orange", alpha=0.15, lw=0)
    ax.set_xlabel("window")
    ax.set_ylabel(ylabel)
    ax.set_title(title + " (red: flagged; shaded: drifted in truth)")
    ax.legend(loc="upper left")
    return ax
