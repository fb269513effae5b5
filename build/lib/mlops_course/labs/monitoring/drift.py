"""A simulated production stream for the drift exercise, and plotting.

The graded part of the exercise (PSI, the KS decision, the thresholds) is written by the
student; this module only makes the data (seeded) and draws the result. The reference
PSI that the hidden tests use lives in the test cell itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Stream:
    reference: np.ndarray  # the training-time distribution of the feature
    windows: list[np.ndarray]  # production data, one array per window (e.g. per hour)
    drifted: list[bool]  # ground truth: was the window drawn from a shifted distribution?
    feature: str = "basket_value"


def simulate_stream(
    seed: int,
    n_reference: int = 2000,
    n_windows: int = 12,
    window_size: int = 400,
    drift_from: int = 8,
    shift: float = 0.8,
    scale: float = 1.25,
) -> Stream:
    """A log-normal feature; from window ``drift_from`` on, its log-mean moves by ``shift``
    standard deviations and its spread grows by ``scale`` (a clear, sudden drift)."""
    rng = np.random.default_rng(seed)
    mu, sigma = 3.0, 0.5
    reference = rng.lognormal(mu, sigma, n_reference)
    windows, drifted = [], []
    for index in range(n_windows):
        is_drifted = index >= drift_from
        m, s = (mu + shift * sigma, sigma * scale) if is_drifted else (mu, sigma)
        windows.append(rng.lognormal(m, s, window_size))
        drifted.append(is_drifted)
    return Stream(reference, windows, drifted)


def plot_drift(
    scores: list[float],
    flags: list[bool],
    threshold: float,
    truth: list[bool] | None = None,
    title: str = "PSI per production window",
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
    ax.set_ylabel("score")
    ax.set_title(title + " (red: flagged; shaded: drifted in truth)")
    ax.legend(loc="upper left")
    return ax
