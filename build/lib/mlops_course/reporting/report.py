"""`mlops-course report`: the class report.

exports/class_report.csv     student x module (and attempt): score, max, status,
                             level per criterion, counted/proficient, pass
exports/students.csv         one row per student: result, grade, course-level levels
exports/item_analysis.csv    every test: pass rate, point-biserial, upper-lower 27%
exports/class_report.html    self-contained (plots as base64 PNG): score distribution
                             per module, levels per learning goal (heat map), item
                             analysis, resits beside the first attempt
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import math
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from mlops_course.reporting.assess import ClassResult
from mlops_course.settings import TIMEZONE

LEVEL_COLORS = ["#d7301f", "#fdae61", "#a6d96a", "#1a9641"]  # nyp, proficient, advanced, expert
NOT_ASSESSED = "#e0e0e0"
UPPER_LOWER = 0.27


def _local(moment, tz):
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S %z")


def rows_frame(result: ClassResult) -> pd.DataFrame:
    """The CSV: one row per student, module and attempt (1 = first, 2 = resit)."""
    tz = result.rubric.timezone
    records = []
    for r in result.rows:
        student = result.students[r.student]
        rec = {
            "student": r.student,
            "name": student.student.name,
            "tiao": student.student.tiao,
            "module": r.module,
            "attempt": "resit" if r.attempt == 2 else "first",
            "effective": r.effective,
            "status": r.status,
            "counted": r.counted,
            "score": r.score,
            "max_score": r.max_score,
            "submitted_at": _local(r.submitted_at, tz),
            "deadline": _local(r.deadline, tz),
            "demo_week": r.demo_week or "",
            "second_demo_in_week": r.second_demo_in_week,
            "needs_manual_grade": r.needs_manual_grade,
            "proficient": r.proficient,
        }
        for criterion in result.criteria:
            rec[f"level_{criterion}"] = r.levels.get(criterion) or ""
        rec.update(
            {
                "student_result": student.result,
                "student_pass": student.passed,
                "grade": student.grade,
                "reason": r.reason,
            }
        )
        records.append(rec)
    return pd.DataFrame.from_records(records, columns=None if records else ["student", "module"])


def students_frame(result: ClassResult) -> pd.DataFrame:
    records = []
    for sid, s in result.students.items():
        rec = {
            "student": sid,
            "name": s.student.name,
            "email": s.student.email,
            "tiao": s.student.tiao,
            "result": s.result,
            "pass": s.passed,
            "grade": s.grade,
            "technical_ok": s.technical_ok,
        }
        for criterion in result.criteria:
            rec[f"level_{criterion}"] = s.course_levels.get(criterion) or ""
        rec["failing_modules"] = " ".join(s.failing_modules)
        rec["open_modules"] = " ".join(s.open_modules)
        records.append(rec)
    return pd.DataFrame.from_records(records, columns=None if records else ["student", "result"])


def _pearson(xs, ys):
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


def _flag(n, pass_rate, r_pb, d_ul) -> str:
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


# --- plots ---------------------------------------------------------------------------


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _pyplot():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_score_distribution(result: ClassResult):
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
    plt = _pyplot()
    from matplotlib.colors import ListedColormap

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
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=rubric.levels[i].label) for i, c in enumerate(LEVEL_COLORS)]
    handles.append(Patch(color=NOT_ASSESSED, label="not assessed yet"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    ax.set_title("Rubric level per learning goal and criterion (course level)")
    return fig


def plot_item_analysis(items: pd.DataFrame):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    judged = items.dropna(subset=["pass_rate"]) if len(items) else items
    if len(judged):
        disc = judged["point_biserial"].fillna(0.0)
        colors = ["#d7301f" if f else "#3182bd" for f in judged["flag"]]
        ax.scatter(judged["pass_rate"], disc, c=colors, s=28)
        for _, row in judged[judged["flag"] != ""].iterrows():
            ax.annotate(
                f"{row['module']}:{row['grade_id']}",
                (row["pass_rate"], disc[_]),
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


# --- HTML ----------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{margin-bottom:0}.meta{color:#666;margin-top:.2em}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left}th{background:#f3f3f3}
td.pass{background:#c7e9c0}td.fail{background:#fcbba1}td.pending{background:#fff7bc}
td.not_yet_proficient{background:#fcbba1}td.proficient{background:#fee08b}
td.advanced{background:#d9ef8b}td.expert{background:#91cf60}
td.late,td.absent,td.grading_error{background:#fcbba1}td.open{background:#eee}
img{max-width:100%;border:1px solid #eee}.flag{color:#b30000}
.cards{display:flex;gap:1em}.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em}
.card b{font-size:1.4em;display:block}.wide{overflow-x:auto}
"""


def _table(df: pd.DataFrame, classes: dict[str, callable] | None = None, fmt=None) -> str:
    classes = classes or {}
    out = [
        "<div class='wide'><table><thead><tr>",
        *(f"<th>{html.escape(str(c))}</th>" for c in df.columns),
        "</tr></thead><tbody>",
    ]
    for _, row in df.iterrows():
        out.append("<tr>")
        for col in df.columns:
            value = row[col]
            if isinstance(value, float):
                text = "" if math.isnan(value) else (f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}")
            else:
                text = "" if value is None else str(value)
            css = classes[col](value) if col in classes else ""
            out.append(f'<td class="{html.escape(css)}">{html.escape(text)}</td>')
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def render_html(result: ClassResult, items: pd.DataFrame | None = None) -> str:
    items = item_analysis(result) if items is None else items
    students = students_frame(result)
    level_cols = [c for c in students.columns if c.startswith("level_")]
    level_css = {c: (lambda v: str(v)) for c in level_cols}
    n = len(result.students)
    counts = {
        k: sum(1 for s in result.students.values() if s.result == k) for k in ("pass", "fail", "pending")
    }
    as_of = result.as_of.astimezone(ZoneInfo(result.rubric.timezone)).strftime("%Y-%m-%d %H:%M %Z")
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>mlops-course class report</title><style>{CSS}</style></head><body>",
        "<h1>mlops-course: class report</h1>",
        f"<p class='meta'>as of {html.escape(as_of)}; {n} students; modules: "
        f"{html.escape(', '.join(result.modules))}</p>",
        "<div class='cards'>"
        + "".join(f"<div class='card'><b>{counts[k]}</b>{k}</div>" for k in counts)
        + "</div>",
    ]
    if n == 0:
        parts.append(
            "<p>No students in the gradebook yet: import a roster "
            "(<code>mlops-course roster import FILE.csv</code>).</p>"
        )
    parts.append("<h2>Score distribution per module</h2>")
    parts.append(
        f"<img alt='score distribution per module' src='data:image/png;base64,{_png(plot_score_distribution(result))}'>"
    )
    parts.append("<h2>Rubric levels per learning goal</h2>")
    parts.append(
        f"<img alt='rubric levels heat map' src='data:image/png;base64,{_png(plot_level_heatmap(result))}'>"
    )
    parts.append(
        "<h2>Students</h2><p>Pass rule: every technical criterion at least proficient "
        "(every lab delivered on time and proficient) and a grade of at least "
        f"{result.rubric.pass_mark:g}/20; reporting criteria move the grade only.</p>"
    )
    parts.append(_table(students, {"result": str, **level_css}))
    parts.append("<h2>Labs: status per module</h2>")
    status = pd.DataFrame(
        [
            {
                "student": s,
                **{
                    m: (
                        r.modules[m].status
                        + (" (resit)" if r.modules[m].attempt == 2 else "")
                        + (" !2nd demo in week" if r.modules[m].second_demo_in_week else "")
                    )
                    for m in result.modules
                },
            }
            for s, r in result.students.items()
        ],
        columns=["student", *result.modules],
    )
    parts.append(
        _table(
            status,
            {m: (lambda v: "late" if "2nd demo" in str(v) else str(v).split(" ")[0]) for m in result.modules},
        )
    )
    resit_rows = [r for r in result.rows if r.attempt == 2]
    if resit_rows:
        firsts = {(r.student, r.module): r for r in result.rows if r.attempt == 1}
        resit_df = pd.DataFrame(
            [
                {
                    "student": r.student,
                    "module": r.module,
                    "first: status": firsts[(r.student, r.module)].status,
                    "first: score": _score(firsts[(r.student, r.module)]),
                    "first: proficient": firsts[(r.student, r.module)].proficient,
                    "resit: status": r.status,
                    "resit: score": _score(r),
                    "resit: proficient": r.proficient,
                }
                for r in resit_rows
            ]
        )
        parts.append("<h2>Resits beside the first attempt</h2>")
        parts.append(_table(resit_df, {"first: status": str, "resit: status": str}))
    parts.append(
        "<h2>Item analysis</h2><p>Every grade cell over the graded first attempts. "
        "Pass rate = share with full marks; point-biserial = correlation of passing with the "
        "rest of the module score; upper-lower = pass rate of the top 27% minus the bottom 27%.</p>"
    )
    parts.append(f"<img alt='item analysis' src='data:image/png;base64,{_png(plot_item_analysis(items))}'>")
    parts.append(_table(items, {"flag": lambda v: "flag" if v else ""}))
    parts.append("</body></html>")
    return "\n".join(parts)


def _score(r):
    return "" if r.score is None else f"{r.score:g}/{r.max_score:g}"


def write_report(result: ClassResult, out_dir: str | Path) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    items = item_analysis(result)
    paths = {
        "csv": out / "class_report.csv",
        "students": out / "students.csv",
        "items": out / "item_analysis.csv",
        "html": out / "class_report.html",
    }
    rows_frame(result).to_csv(paths["csv"], index=False)
    students_frame(result).to_csv(paths["students"], index=False)
    items.to_csv(paths["items"], index=False)
    paths["html"].write_text(render_html(result, items), encoding="utf-8")
    return paths


def cmd_report(args) -> int:
    from mlops_course.course import Course
    from mlops_course.reporting.collect import load_class
    from mlops_course.reporting.rubric import load_rubric

    course = Course.find(getattr(args, "course", None))
    as_of = datetime.fromisoformat(args.as_of) if args.as_of else None
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=ZoneInfo(TIMEZONE))
    result = load_class(course, load_rubric(args.rubric, course=course), as_of=as_of)
    paths = write_report(result, args.out or course.exports)
    for kind, path in paths.items():
        print(f"{kind:>8}: {path}")
    counts = {
        k: sum(1 for s in result.students.values() if s.result == k) for k in ("pass", "fail", "pending")
    }
    print(
        f"{len(result.students)} students: {counts['pass']} pass, {counts['fail']} fail, "
        f"{counts['pending']} pending"
    )
    return 0


def register(subparsers) -> None:
    """`mlops-course report [--out DIR] [--as-of DATETIME] [--rubric FILE]`."""
    p = subparsers.add_parser(
        "report",
        help="class report: CSV + HTML with levels, statuses, item analysis",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default=None, help="output folder (default: exports/ of the course)")
    p.add_argument(
        "--as-of",
        default=None,
        help="judge deadlines at this moment (ISO; default now, Europe/Brussels when no offset is given)",
    )
    p.add_argument("--rubric", default=None, help="rubric file (default: rubric.yaml of the course)")
    p.set_defaults(func=cmd_report)


def filter_rows(
    rows: pd.DataFrame,
    module: str | None = None,
    student: str | None = None,
    level: str | None = None,
    criterion: str | None = None,
) -> pd.DataFrame:
    """The class report's rows for a module, a student and/or a level (on one criterion,
    or on any criterion); None or "(all)"/"(any)" means no filter."""

    def given(value):
        return value not in (None, "", "(all)", "(any)")

    out = rows
    if given(module):
        out = out[out["module"] == module]
    if given(student):
        out = out[out["student"] == student]
    if given(level):
        columns = (
            [f"level_{criterion}"] if given(criterion) else [c for c in out.columns if c.startswith("level_")]
        )
        columns = [c for c in columns if c in out.columns]
        mask = pd.Series(False, index=out.index)
        for column in columns:
            mask |= out[column] == level
        out = out[mask]
    return out
