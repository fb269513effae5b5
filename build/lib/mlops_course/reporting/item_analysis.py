"""Item analysis of every grade cell (`item_analysis.csv`): difficulty and
discrimination over the graded first attempts, and a flag for the lecturer."""

from __future__ import annotations

import math

import pandas as pd

from mlops_course.reporting.assess import ClassResult

UPPER_LOWER = 0.27  # share of the cohort in the upper and in the lower group


def _pearson(xs: list[float], ys: list[float]) -> float | None:
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / math.sqrt(sxx * syy)


def item_analysis(result: ClassResult) -> pd.DataFrame:
    """Every grade cell of every module, over the graded first attempts of the cohort.

    pass_rate        share of students with full marks on the cell (difficulty)
    mean_share       mean score / max score
    point_biserial   correlation of passing the cell with the rest of the module score
                     (total minus this cell: the corrected item-total correlation)
    upper_lower      pass rate in the top 27% minus the bottom 27% (by module score)
    flag             what a lecturer should look at"""
    records = []
    by_module: dict[str, list] = {}
    for a in result.attempts:
        if a.attempt == 1 and a.grading_status == "graded" and a.cells:
            by_module.setdefault(a.module, []).append(a)
    for module in result.modules:
        attempts = by_module.get(module, [])
        for grade_id, goal in result.goals.get(module, {}).items():
            got = [
                (a.cells[grade_id].score, a.cells[grade_id].max_score or goal.max_score, a.score)
                for a in attempts
                if grade_id in a.cells and not a.cells[grade_id].needs_manual_grade
            ]
            n = len(got)
            passed = [1.0 if m > 0 and s >= m - 1e-9 else 0.0 for s, m, _ in got]
            rest = [t - s for s, _, t in got]
            pass_rate = sum(passed) / n if n else None
            mean_share = sum(s / m for s, m, _ in got if m > 0) / n if n else None
            r_pb = _pearson(passed, rest) if n >= 3 else None
            d_ul = None
            if n >= 4:
                k = max(1, round(UPPER_LOWER * n))
                order = sorted(range(n), key=lambda i: got[i][2])
                lower, upper = order[:k], order[-k:]
                d_ul = sum(passed[i] for i in upper) / k - sum(passed[i] for i in lower) / k
            records.append(
                {
                    "module": module,
                    "grade_id": grade_id,
                    "learning_goal": goal.goal,
                    "criterion": goal.criterion or "",
                    "kind": "manual" if goal.cell_type == "markdown" else "auto",
                    "max_score": goal.max_score,
                    "n": n,
                    "pass_rate": pass_rate,
                    "mean_share": mean_share,
                    "point_biserial": r_pb,
                    "upper_lower": d_ul,
                    "flag": _flag(n, pass_rate, r_pb, d_ul),
                }
            )
    return pd.DataFrame.from_records(
        records,
        columns=None
        if records
        else ["module", "grade_id", "pass_rate", "point_biserial", "upper_lower", "flag"],
    )


def _flag(n: int, pass_rate: float | None, r_pb: float | None, d_ul: float | None) -> str:
    if n < 5:
        return "too few submissions to judge" if n else "no graded submissions"
    if pass_rate is not None and pass_rate <= 0.05:
        return "nobody passes: broken test or unclear question?"
    if pass_rate is not None and pass_rate >= 0.95:
        return "too easy (almost everyone passes)"
    if r_pb is not None and r_pb < -0.1:
        return "negative discrimination: weak students pass more often, check the test"
    if (r_pb is not None and r_pb < 0.2) or (d_ul is not None and d_ul < 0.2):
        return "weak discrimination"
    if pass_rate is not None and pass_rate < 0.2:
        return "hard"
    return ""
