"""Messy notebooks grade like clean ones: what an honest student's editing does to a
notebook, resolved before nbgrader sees it, each step noted in the result.

- A copied cell keeps its nbgrader metadata (Jupyter's copy/paste), so a grade id
  appears twice. For an answer, the copy that runs last is graded (its code decides the
  answer's value), the others run as plain code. A copied test or given cell goes (the
  gradebook's version comes back anyway). For an open answer, the longest text is kept.
- A test cell moved above its answer goes back right after the answer.
Cell ids, kernel names, saved outputs and non-ASCII text need nothing here: nbformat and
nbgrader's own steps handle them."""

from __future__ import annotations

from collections import defaultdict


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {}) or {}


def _kind(cell) -> str:
    meta = _meta(cell)
    if meta.get("solution") and meta.get("grade"):
        return "open answer"
    if meta.get("solution"):
        return "answer"
    if meta.get("grade"):
        return "test"
    return "given"


def resolve_duplicates(nb) -> list[str]:
    """Keep one cell per grade id (see the module docstring); return what was done."""
    places: dict[str, list[int]] = defaultdict(list)
    for index, cell in enumerate(nb.cells):
        grade_id = _meta(cell).get("grade_id")
        if grade_id:
            places[grade_id].append(index)
    notes, dropped = [], set()
    for grade_id, indices in places.items():
        if len(indices) < 2:
            continue
        kind = _kind(nb.cells[indices[0]])
        if kind == "answer":
            keep = indices[-1]
            why = "the one that runs last, whose code decides the answer"
        elif kind == "open answer":
            keep = max(indices, key=lambda i: len(nb.cells[i].source.strip()))
            why = "the one with the longest answer"
        else:
            keep = indices[0]
            why = "the first; the gradebook's version of it is run"
        for index in indices:
            if index == keep:
                continue
            if kind in ("answer", "open answer"):
                del nb.cells[index].metadata["nbgrader"]  # runs (or stays) as a plain cell
            else:
                dropped.add(index)
        notes.append(f"{kind} cell {grade_id} appeared {len(indices)} times: graded cell {keep + 1}, {why}")
    nb.cells = [cell for index, cell in enumerate(nb.cells) if index not in dropped]
    return notes


def put_tests_after_answers(nb, released) -> list[str]:
    """A test cell that sits above its answer (the answer just before it in the release)
    goes back right after that answer."""
    answer_of: dict[str, str] = {}
    last_answer = None
    for cell in released.cells:
        kind, grade_id = _kind(cell), _meta(cell).get("grade_id")
        if kind == "answer":
            last_answer = grade_id
        elif kind == "test" and last_answer:
            answer_of[grade_id] = last_answer
    notes = []
    for test, answer in answer_of.items():
        ids = [_meta(c).get("grade_id") for c in nb.cells]
        if test not in ids or answer not in ids or ids.index(test) > ids.index(answer):
            continue
        cell = nb.cells.pop(ids.index(test))
        ids = [_meta(c).get("grade_id") for c in nb.cells]
        nb.cells.insert(ids.index(answer) + 1, cell)
        notes.append(f"test cell {test} was above its answer {answer}: it runs right after the answer")
    return notes
