"""What `mlops-course similarity` writes and prints: ``exports/similarity/<assignment>.csv``
(every pair, ranked) and ``.html`` (the ranking, the students, what was skipped, and
each pair's shared fragments side by side, one anchor per pair)."""

from __future__ import annotations

import csv
import html
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from mlops_course.grading.similarity import CODE, CohortSimilarity, Match, Pair
from mlops_course.infra.files import write_atomic
from mlops_course.settings import TIMEZONE

CONTEXT_LINES = 3  # unshared lines kept around a fragment; longer stretches are cut

CSV_COLUMNS = [
    "rank",
    "student_a",
    "student_b",
    "code_similarity",
    "code_share_a",
    "code_share_b",
    "shared_code_tokens",
    "longest_code_fragment_tokens",
    "text_similarity",
    "text_share_a",
    "text_share_b",
    "details",
]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222;max-width:1400px}
.meta{color:#666}table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}th{background:#f3f3f3}
td.high{background:#fcbba1}td.mid{background:#fff7bc}
.side{display:grid;grid-template-columns:1fr 1fr;gap:1em;margin-bottom:1.5em}
.side h4{margin:.2em 0;font-size:13px}
pre{white-space:pre-wrap;word-break:break-word;background:#f8f8f8;border:1px solid #ddd;padding:.5em;margin:0;font-size:12px}
mark{background:#ffd27f}.cut{color:#888}
"""


def anchor(rank: int) -> str:
    return f"pair-{rank}"


def _percent(value: float) -> str:
    return f"{value:.0%}"


def pairs_csv(result: CohortSimilarity) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for rank, pair in enumerate(result.pairs, start=1):
        writer.writerow(
            {
                "rank": rank,
                "student_a": pair.a,
                "student_b": pair.b,
                "code_similarity": f"{pair.code.similarity:.4f}",
                "code_share_a": f"{pair.code.share_a:.4f}",
                "code_share_b": f"{pair.code.share_b:.4f}",
                "shared_code_tokens": pair.code.shared_tokens,
                "longest_code_fragment_tokens": pair.code.longest,
                "text_similarity": f"{pair.text.similarity:.4f}",
                "text_share_a": f"{pair.text.share_a:.4f}",
                "text_share_b": f"{pair.text.share_b:.4f}",
                "details": f"{result.assignment}.html#{anchor(rank)}" if pair.matches else "",
            }
        )
    return out.getvalue()


# -- the page ---------------------------------------------------------------------------------


def _level(value: float) -> str:
    return "high" if value >= 0.5 else "mid" if value >= 0.2 else ""


def _cell(text: str, css: str = "") -> str:
    return f"<td class='{css}'>{html.escape(text)}</td>" if css else f"<td>{html.escape(text)}</td>"


def _table(header: list[str], rows: list[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _unshared(text: str, first: bool, last: bool) -> str:
    """Text between fragments, escaped; a long stretch keeps only its edges."""
    lines = text.split("\n")
    keep_head = 0 if first else CONTEXT_LINES + 1
    keep_tail = 0 if last else CONTEXT_LINES + 1
    if len(lines) <= keep_head + keep_tail + 1:
        return html.escape(text)
    cut = len(lines) - keep_head - keep_tail
    head = "\n".join(lines[:keep_head])
    tail = "\n".join(lines[len(lines) - keep_tail :])
    marker = f"<span class='cut'>[{cut} unshared lines]</span>"
    return (
        html.escape(head + "\n" if keep_head else "") + marker + html.escape("\n" + tail if keep_tail else "")
    )


def highlight(text: str, slices: tuple[tuple[int, int], ...]) -> str:
    """``text`` escaped, the shared slices in <mark>, long unshared stretches cut."""
    merged: list[list[int]] = []
    for start, end in sorted(slices):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, position = [], 0
    for start, end in merged:
        out.append(_unshared(text[position:start], first=position == 0, last=False))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        position = end
    out.append(_unshared(text[position:], first=not merged, last=True))
    return "".join(out)


def _match(pair: Pair, match: Match) -> str:
    kind = "code" if match.kind == CODE else "written answer"
    return (
        "<div class='side'>"
        f"<div><h4>{html.escape(pair.a)}: {html.escape(match.label_a)} ({kind})</h4>"
        f"<pre>{highlight(match.text_a, match.slices_a)}</pre></div>"
        f"<div><h4>{html.escape(pair.b)}: {html.escape(match.label_b)} ({kind})</h4>"
        f"<pre>{highlight(match.text_b, match.slices_b)}</pre></div>"
        "</div>"
    )


def _pair_section(pair: Pair, rank: int) -> str:
    summary = (
        f"code {_percent(pair.code.similarity)} ({_percent(pair.code.share_a)} of {pair.a}'s own code, "
        f"{_percent(pair.code.share_b)} of {pair.b}'s), written answers {_percent(pair.text.similarity)}"
    )
    return (
        f"<section id='{anchor(rank)}'><h3>{rank}. {html.escape(pair.a)} and {html.escape(pair.b)}</h3>"
        f"<p>{html.escape(summary)}. <a href='#pairs'>back to the ranking</a></p>"
        + "".join(_match(pair, match) for match in pair.matches)
        + "</section>"
    )


def _pair_rows(result: CohortSimilarity) -> tuple[list[str], int]:
    rows, unrelated = [], 0
    for rank, pair in enumerate(result.pairs, start=1):
        if not pair.shares_anything:
            unrelated += 1
            continue
        link = f"<td><a href='#{anchor(rank)}'>fragments</a></td>" if pair.matches else "<td></td>"
        rows.append(
            f"<tr>{_cell(str(rank))}{_cell(pair.a)}{_cell(pair.b)}"
            + _cell(_percent(pair.code.similarity), _level(pair.code.similarity))
            + _cell(_percent(pair.code.share_a))
            + _cell(_percent(pair.code.share_b))
            + _cell(str(pair.code.longest))
            + _cell(_percent(pair.text.similarity), _level(pair.text.similarity))
            + link
            + "</tr>"
        )
    return rows, unrelated


def page(result: CohortSimilarity) -> str:
    generated = datetime.now(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M %Z")
    excluded = (
        "the code the release gives"
        if result.count_model_answer
        else "the code the release gives and the model answer (source/)"
    )
    pair_rows, unrelated = _pair_rows(result)
    student_rows = [
        f"<tr>{_cell(s.student)}{_cell(', '.join(s.files))}{_cell(str(s.own_code_tokens))}"
        + _cell(_percent(s.model_answer_share), _level(s.model_answer_share))
        + _cell(str(s.own_text_chars))
        + _cell("; ".join(s.notes))
        + "</tr>"
        for s in result.students
    ]
    skipped_rows = [f"<tr>{_cell(s.student)}{_cell(s.reason)}</tr>" for s in result.skipped]
    sections = [_pair_section(pair, rank) for rank, pair in enumerate(result.pairs, start=1) if pair.matches]
    title = f"Similarity across a cohort: {result.assignment}"
    return "".join(
        [
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>",
            f"<p class='meta'>{len(result.students)} submissions compared, {len(result.skipped)} skipped; "
            f"{html.escape(result.detector)}; generated {html.escape(generated)}.</p>",
            "<p>A pair's code similarity is the share of the two students' own code (answer cells, "
            f"cells they added or changed, code files) that the other one has too; {html.escape(excluded)} "
            "never counts. Names, strings and comments do not matter, so renaming and rewording hide "
            "nothing. Written answers (markdown answer cells) are compared apart. A score is a reason "
            "to read the two submissions, not a verdict: the fragments below show what they share.</p>",
            "<h2 id='pairs'>Pairs, most similar first</h2>",
            _table(
                [
                    "rank",
                    "student A",
                    "student B",
                    "code similarity",
                    "of A's code",
                    "of B's code",
                    "longest code fragment (tokens)",
                    "written answers",
                    "details",
                ],
                pair_rows,
            ),
            f"<p>{unrelated} more pair(s) share nothing.</p>" if unrelated else "",
            "<h2 id='students'>Students</h2>",
            _table(
                [
                    "student",
                    "compared",
                    "own code (tokens)",
                    "of it, the model answer",
                    "own written answers (characters)",
                    "notes",
                ],
                student_rows,
            ),
            "<h2 id='skipped'>Skipped</h2>",
            _table(["student", "reason"], skipped_rows) if skipped_rows else "<p>None.</p>",
            "<h2 id='fragments'>Shared fragments</h2>",
            "".join(sections) or "<p>No pair shares anything.</p>",
            "</body></html>\n",
        ]
    )


def write_outputs(result: CohortSimilarity, folder: Path) -> dict[str, Path]:
    """Write ``<folder>/<assignment>.csv`` and ``.html``; their paths by kind."""
    return {
        "csv": write_atomic(folder / f"{result.assignment}.csv", pairs_csv(result)),
        "html": write_atomic(folder / f"{result.assignment}.html", page(result)),
    }


def format_summary(result: CohortSimilarity, paths: dict[str, Path], top: int = 5) -> str:
    """What the command prints: the counts, the top pairs, the skipped, the files."""
    lines = [
        f"{result.assignment}: {len(result.students)} submissions compared, "
        f"{len(result.skipped)} skipped, {len(result.pairs)} pairs ranked"
    ]
    for rank, pair in enumerate(result.pairs[:top], start=1):
        if pair.shares_anything:
            lines.append(
                f"  {rank}. {pair.a} and {pair.b}: code {_percent(pair.code.similarity)}, "
                f"written answers {_percent(pair.text.similarity)}"
            )
    lines += [f"  skipped {s.student}: {s.reason}" for s in result.skipped]
    lines += [f"CSV:  {paths['csv']}", f"HTML: {paths['html']}"]
    return "\n".join(lines)
