"""Reading a notebook's questions (and, from a source notebook, their keys) without
running it: the definitions are literal arguments of ``quiz.<kind>(...)`` and the keys
literal arguments of ``quiz.score(...)``, so tools can use them (the contract test,
the guessing benchmark, the item analysis)."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from mlops_course.authoring import question_kind
from mlops_course.labs.quiz.ask import define
from mlops_course.labs.quiz.questions import QUESTION_KINDS, Question, QuestionError


@dataclass(frozen=True)
class Key:
    """What a hidden test scores a question against."""

    name: str
    key: object  # None when the hidden test computes it (a question on per-student data)
    points: float
    tolerance: float = 0.0


def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def _calls(source: str, attribute_names):
    """Every call ``<module>.<name>(...)`` with ``name`` in ``attribute_names``."""
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in attribute_names
            and isinstance(node.func.value, ast.Name)
        ):
            yield node


def _literal(node, where: str):
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise QuestionError(f"{where}: write the arguments as literals (dicts, strings, numbers)") from None


def read_questions(nb) -> dict[str, Question]:
    """The questions of a notebook's question cells, by name, in notebook order."""
    found = {}
    for cell in nb.cells:
        kind, meta = question_kind(cell), cell.get("metadata", {}).get("nbgrader", {})
        if not kind or meta.get("grade"):
            continue
        calls = [call for call in _calls(_source(cell), QUESTION_KINDS) if call.func.attr == kind]
        grade_id = meta.get("grade_id", "?")
        if len(calls) != 1:
            raise QuestionError(f"{grade_id}: its cell must call quiz.{kind}(...) once")
        call = calls[0]
        args = [_literal(arg, grade_id) for arg in call.args]
        kwargs = {keyword.arg: _literal(keyword.value, grade_id) for keyword in call.keywords}
        question = define(kind, *args, **kwargs)
        if question.name != grade_id:
            raise QuestionError(f"{grade_id}: the question is named {question.name!r}, not its grade id")
        found[question.name] = question
    return found


def read_keys(nb) -> dict[str, Key]:
    """The keys of a *source* notebook's question tests (the hidden ``quiz.score`` calls)."""
    keys = {}
    for cell in nb.cells:
        if not question_kind(cell) or not cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            continue
        for call in _calls(_source(cell), {"score"}):
            where = cell.metadata.nbgrader.grade_id
            name = _literal(call.args[0], where)
            keyword = {k.arg: _literal(k.value, where) for k in call.keywords if k.arg != "hint"}
            try:
                key = ast.literal_eval(call.args[2])
            except ValueError:  # computed from the student's SEED or work
                key = None
            keys[name] = Key(name, key, keyword["points"], keyword.get("tolerance", 0.0))
    return keys
