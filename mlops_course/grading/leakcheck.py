"""Prove that a release holds no solution code and no hidden test.

Every non-trivial line inside a ### BEGIN SOLUTION / ### BEGIN HIDDEN TESTS block of
the source must be absent from every file of the release."""

from __future__ import annotations

from pathlib import Path

import nbformat

from mlops_course.settings import ANSWERS_FILE

SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
# Lines too generic to prove a leak (they also appear in stubs and given code).
TRIVIAL = {
    "",
    "pass",
    "return",
    "else:",
    "try:",
    "finally:",
    "return None",
    "return True",
    "return False",
    ")",
    "]",
    "}",
    "),",
    "],",
    "},",
    "import os",
    "import json",
}


def _cell_text(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def protected_lines(source_nb) -> dict[str, set[str]]:
    """Lines of solution and hidden-test blocks, by kind, that appear nowhere else in
    the source notebook (a line the release may show anyway is no leak)."""
    found = {"solution": set(), "hidden test": set()}
    public = set()
    for cell in source_nb.cells:
        depth = 0
        for line in _cell_text(cell).splitlines():
            stripped = line.strip()
            if stripped.startswith("### BEGIN"):
                depth += 1
            elif stripped.startswith("### END"):
                depth -= 1
            elif depth == 0:
                public.add(stripped)
    for cell in source_nb.cells:
        for kind, (begin, end) in (("solution", SOLUTION), ("hidden test", HIDDEN)):
            inside = False
            for line in _cell_text(cell).splitlines():
                stripped = line.strip()
                if begin in stripped:
                    inside = True
                    continue
                if end in stripped:
                    inside = False
                    continue
                if inside and stripped not in TRIVIAL and len(stripped) > 3 and not stripped.startswith("#"):
                    found[kind].add(stripped)
    return {kind: lines - public for kind, lines in found.items()}


def find_leaks(source_notebook: Path, release_dir: Path) -> list[str]:
    """Human-readable leak descriptions; empty when the release is clean."""
    lines = protected_lines(nbformat.read(str(source_notebook), as_version=4))
    # files shipped beside the notebook are public by design
    shipped = set()
    for path in source_notebook.parent.rglob("*"):
        if path.is_file() and path.suffix != ".ipynb":
            try:
                shipped |= {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}
            except UnicodeDecodeError:
                continue
    lines = {kind: protected - shipped for kind, protected in lines.items()}
    leaks = []
    if (release_dir / ANSWERS_FILE).exists():
        leaks.append(f"{ANSWERS_FILE}: answers saved by question widgets; a release starts unanswered")
    for path in sorted(release_dir.rglob("*")):
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if path.suffix == ".ipynb":
            nb = nbformat.reads(text, as_version=4)
            released = {line.strip() for cell in nb.cells for line in _cell_text(cell).splitlines()}
            for marker in (*SOLUTION, *HIDDEN):
                if any(marker in line for line in released):
                    leaks.append(f"{path.name}: still contains the marker {marker!r}")
        else:
            released = {line.strip() for line in text.splitlines()}
        for kind, protected in lines.items():
            for line in sorted(protected & released):
                leaks.append(f"{path.name}: {kind} line leaked: {line[:80]}")
    return leaks
