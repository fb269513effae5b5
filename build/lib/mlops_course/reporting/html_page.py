"""The class report as one self-contained HTML page (`class_report.html`): the
figures embedded as base64 PNG, the tables, no external files."""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pandas as pd

from mlops_course.reporting.assess import ClassResult, ModuleResult
from mlops_course.reporting.item_analysis import item_analysis
from mlops_course.reporting.plots import plot_item_analysis, plot_level_heatmap, plot_score_distribution
from mlops_course.reporting.tables import students_frame, verdict_counts

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


def _png(fig) -> str:
    """The figure as base64 PNG; closes it (a report makes many figures)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _image(alt: str, fig) -> str:
    return f"<img alt='{alt}' src='data:image/png;base64,{_png(fig)}'>"


def _table(df: pd.DataFrame, classes: dict[str, Callable[[object], str]] | None = None) -> str:
    """An HTML table; ``classes`` gives the CSS class of a column's cells from their value."""
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


def _score(r: ModuleResult) -> str:
    return "" if r.score is None else f"{r.score:g}/{r.max_score:g}"


def _status_table(result: ClassResult) -> str:
    """Students x modules: the lab status, marked when it is a resit or a second demo."""
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
    return _table(
        status,
        {m: (lambda v: "late" if "2nd demo" in str(v) else str(v).split(" ")[0]) for m in result.modules},
    )


def _resit_table(result: ClassResult) -> str | None:
    """Every resit beside its first attempt; None when there is no resit."""
    resit_rows = [r for r in result.rows if r.attempt == 2]
    if not resit_rows:
        return None
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
    return _table(resit_df, {"first: status": str, "resit: status": str})


def render_html(result: ClassResult, items: pd.DataFrame | None = None) -> str:
    """The whole page; ``items`` is the item analysis when the caller already has it."""
    items = item_analysis(result) if items is None else items
    students = students_frame(result)
    level_cols = [c for c in students.columns if c.startswith("level_")]
    level_css = {c: (lambda v: str(v)) for c in level_cols}
    n = len(result.students)
    counts = verdict_counts(result)
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
    parts.append(_image("score distribution per module", plot_score_distribution(result)))
    parts.append("<h2>Rubric levels per learning goal</h2>")
    parts.append(_image("rubric levels heat map", plot_level_heatmap(result)))
    parts.append(
        "<h2>Students</h2><p>Pass rule: every technical criterion at least proficient "
        "(every lab delivered on time and proficient) and a grade of at least "
        f"{result.rubric.pass_mark:g}/20; reporting criteria move the grade only.</p>"
    )
    parts.append(_table(students, {"result": str, **level_css}))
    parts.append("<h2>Labs: status per module</h2>")
    parts.append(_status_table(result))
    resits = _resit_table(result)
    if resits is not None:
        parts.append("<h2>Resits beside the first attempt</h2>")
        parts.append(resits)
    parts.append(
        "<h2>Item analysis</h2><p>Every grade cell over the graded first attempts. "
        "Pass rate = share with full marks; point-biserial = correlation of passing with the "
        "rest of the module score; upper-lower = pass rate of the top 27% minus the bottom 27%.</p>"
    )
    parts.append(_image("item analysis", plot_item_analysis(items)))
    parts.append(_table(items, {"flag": lambda v: "flag" if v else ""}))
    parts.append("</body></html>")
    return "\n".join(parts)
