"""The class report's figures (matplotlib): score distribution per module, rubric
levels per student and criterion, and the item analysis."""

from __future__ import annotations

import pandas as pd

from mlops_course.reporting.assess import ClassResult

LEVEL_COLORS = ["#d7301f", "#fdae61", "#a6d96a", "#1a9641"]  # nyp, proficient, advanced, expert
NOT_ASSESSED = "#e0e0e0"


def _pyplot():
    """pyplot on a headless backend, unless a notebook already shows figures inline."""
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_score_distribution(result: ClassResult):
    """Box plot and points of the first-attempt score (% of max) per module."""
    plt = _pyplot()
    data, labels = [], []
    for module in result.modules:
        shares = [
            100 * r.score / r.max_score
            for r in result.rows
            if r.module == module and r.attempt == 1 and r.score is not None and r.max_score
        ]
        data.append(shares)
        labels.append(f"{module}\n(n={len(shares)})")
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(labels)), 3.8))
    if not any(data):
        ax.text(0.5, 0.5, "no graded submissions yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    positions = range(1, len(data) + 1)
    ax.boxplot(
        [d if d else [float("nan")] for d in data], positions=list(positions), widths=0.5, showfliers=False
    )
    for x, values in zip(positions, data):
        jitter = [x + 0.12 * ((i * 7919) % 11 - 5) / 5 for i in range(len(values))]
        ax.scatter(jitter, values, s=14, alpha=0.6, color="#3182bd", zorder=3)
    ax.axhline(
        100 * result.rubric.thresholds("LG1")[1].min,
        color="#d7301f",
        lw=1,
        ls="--",
        label="proficient threshold",
    )
    ax.set_xticks(list(positions), labels, fontsize=8)
    ax.set_ylabel("score (% of max)")
    ax.set_ylim(-5, 105)
    ax.set_title("Score distribution per module (first attempt)")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_level_heatmap(result: ClassResult):
    """Heat map of the course-level rubric level per student and criterion."""
    plt = _pyplot()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    criteria = result.criteria
    students = list(result.students)
    rubric = result.rubric
    matrix = [[rubric.rank(result.students[s].course_levels.get(c)) for c in criteria] for s in students]
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(criteria) + 2), max(2.5, 0.32 * len(students) + 1.2)))
    if not criteria or not students:
        ax.text(
            0.5,
            0.5,
            "no students or no assessed criteria yet",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        return fig
    cmap = ListedColormap([NOT_ASSESSED] + LEVEL_COLORS)
    ax.imshow([[v + 1 for v in row] for row in matrix], cmap=cmap, vmin=0, vmax=4, aspect="auto")
    ax.set_xticks(range(len(criteria)), criteria, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(students)), [f"{s} ({result.students[s].result})" for s in students], fontsize=7)
    short = {0: "NYP", 1: "P", 2: "A", 3: "E", -1: ""}
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            ax.text(j, i, short.get(v, ""), ha="center", va="center", fontsize=7)
    handles = [Patch(color=c, label=rubric.levels[i].label) for i, c in enumerate(LEVEL_COLORS)]
    handles.append(Patch(color=NOT_ASSESSED, label="not assessed yet"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    ax.set_title("Rubric level per learning goal and criterion (course level)")
    return fig


def plot_item_analysis(items: pd.DataFrame):
    """Pass rate against discrimination for every grade cell; flagged cells in red."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    judged = items.dropna(subset=["pass_rate"]) if len(items) else items
    if len(judged):
        disc = judged["point_biserial"].fillna(0.0)
        colors = ["#d7301f" if f else "#3182bd" for f in judged["flag"]]
        ax.scatter(judged["pass_rate"], disc, c=colors, s=28)
        for index, row in judged[judged["flag"] != ""].iterrows():
            ax.annotate(
                f"{row['module']}:{row['grade_id']}",
                (row["pass_rate"], disc[index]),
                fontsize=6,
                xytext=(3, 3),
                textcoords="offset points",
            )
    ax.axhline(0.2, color="grey", lw=0.8, ls="--")
    ax.axvspan(0.95, 1.02, color="#fee08b", alpha=0.4)
    ax.axvspan(-0.02, 0.05, color="#fdae61", alpha=0.4)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-1, 1)
    ax.set_xlabel("pass rate (share with full marks)")
    ax.set_ylabel("discrimination (point-biserial)")
    ax.set_title("Item analysis: every test (red = flagged)")
    return fig
