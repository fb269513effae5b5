"""Checks that must fail, made to look like the notebook's own test cells.

A few canaries go in at random places after the student's first answer, each right
after one of the notebook's test cells, with that test's docstring, a cell id in the
same style and an assert that can never hold. The kernel cannot tell them from real
tests (cell metadata never reaches it). After execution, a canary that ran without an
error means the kernel was made to skip or alter cells; the canaries are then removed,
so nbgrader, the gradebook and the feedback never see them."""

from __future__ import annotations

import ast
import random
import re
import secrets

import nbformat

MARK = "canary"  # metadata.mlops_course.canary
WORDS = ("shape", "count", "label", "value", "order", "layer", "split", "score", "rows", "model")


def _is_test(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def _is_answer(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return meta.get("solution") and not meta.get("grade")


def is_canary(cell) -> bool:
    return bool(cell.metadata.get("mlops_course", {}).get(MARK))


def _answer_names(source: str) -> list[str]:
    return re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=", source, re.M)


def _docstring(source: str) -> str:
    try:
        text = ast.get_docstring(ast.parse(source)) or "Checks your answer."
    except SyntaxError:
        text = "Checks your answer."
    return '"""' + text.replace('"', "'") + '"""'


def _canary_source(test, names: list[str], rng: random.Random) -> str:
    docstring = _docstring(test.source)
    word = rng.choice(WORDS)
    token = f"{word}-{secrets.token_hex(3)}"
    name = rng.choice(names) if names else "_"
    templates = (
        # (name, token) == (token, name) only if name == token: never, for a random token
        f'assert ({name}, "{token}") == ("{token}", {name}), "Check the {word}: see the lesson above."',
        f'expected = "{token}"\nassert str({name}) == expected, "The {word} is not what the question asks."',
        f'assert "{token}" in repr({name}), "Your {word} is missing something; read the task again."',
    )
    return f"{docstring}\n{rng.choice(templates)}"


def add_canaries(nb, rng: random.Random, count: int = 3):
    """A copy of ``nb`` with ``count`` canaries after test cells that follow an answer."""
    nb = nbformat.from_dict(nb)
    first_answer = next((i for i, c in enumerate(nb.cells) if _is_answer(c)), None)
    if first_answer is None:
        return nb
    tests = [i for i, c in enumerate(nb.cells) if i > first_answer and _is_test(c)]
    if not tests:
        return nb
    names_before: dict[int, list[str]] = {}
    names: list[str] = []
    for index, cell in enumerate(nb.cells):
        if _is_answer(cell):
            names = names + _answer_names(cell.source)
        names_before[index] = names
    for index in sorted(rng.sample(tests, min(count, len(tests))), reverse=True):
        test = nb.cells[index]
        canary = nbformat.v4.new_code_cell(_canary_source(test, names_before[index], rng))
        canary.id = f"{test.get('id') or 'test'}-{secrets.token_hex(2)}"
        canary.metadata["mlops_course"] = {MARK: True}
        nb.cells.insert(index + 1, canary)
    return nb


def check_and_remove(nb) -> list[str]:
    """What the canaries say (executed without an error = tampered); removes them."""
    findings = []
    for position, cell in enumerate(nb.cells):
        if not is_canary(cell) or cell.get("execution_count") is None:
            continue  # a canary after a dead kernel never ran: that is no evidence
        if not any(output.get("output_type") == "error" for output in cell.get("outputs", [])):
            findings.append(
                f"a check that must fail passed (after cell {position}): the kernel was made to skip or alter cells"
            )
    nb.cells = [cell for cell in nb.cells if not is_canary(cell)]
    return findings
