"""Write the class report's files (three CSV files and the HTML page) into a folder."""

from __future__ import annotations

from pathlib import Path

from mlops_course.reporting.assess import ClassResult
from mlops_course.reporting.html_page import render_html
from mlops_course.reporting.item_analysis import item_analysis
from mlops_course.reporting.tables import rows_frame, students_frame


def write_report(result: ClassResult, out_dir: str | Path) -> dict[str, Path]:
    """Write the report into ``out_dir`` (created if needed); returns kind -> path
    (csv, students, items, html)."""
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
