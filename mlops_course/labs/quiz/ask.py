"""Asking a question in a notebook: define it, show it, and give back the answer saved
for it (``None`` until the student answers).

    q_small_box = quiz.single("q_small_box", {"ml_code": "the ML code", ...})

Every question a cell defines is remembered in this kernel (``asked``), so its test
cell can check and score the answer against the same definition."""

from __future__ import annotations

from pathlib import Path

from mlops_course.labs.quiz.questions import (
    MATCHING,
    MULTIPLE,
    NUMBER,
    ORDERING,
    SINGLE,
    AnswerFormatError,
    Question,
)
from mlops_course.labs.quiz.store import read_answers, save_answer
from mlops_course.labs.quiz.views import (
    QuestionView,
    interactive,
    status_line,
    text_view,
    widget_view,
)

asked: dict[str, Question] = {}


def define(kind: str, name: str, *args, **kwargs) -> Question:
    """A Question from the arguments of ``quiz.<kind>(...)`` (the notebook's own call,
    or the same arguments read from a notebook without running it)."""
    if kind == SINGLE or kind == MULTIPLE:
        (options,) = args
        return Question(name, kind, options=dict(options))
    if kind == MATCHING:
        items, options = args
        return Question(name, kind, options=dict(options), items=dict(items))
    if kind == ORDERING:
        (steps,) = args
        return Question(name, kind, options=dict(steps))
    if kind == NUMBER:
        return Question(name, kind, **kwargs)
    raise ValueError(f"unknown question kind {kind!r}")


def single(name: str, options: dict[str, str]):
    """One right option. Returns the chosen option id, or None."""
    return _ask(define(SINGLE, name, options))


def multiple(name: str, options: dict[str, str]):
    """Every option that applies (at least one, never all). Returns the set of ticked
    option ids, or None."""
    return _ask(define(MULTIPLE, name, options))


def matching(name: str, items: dict[str, str], options: dict[str, str]):
    """Match every item with one option (options may be left over). Returns a dict
    item id -> option id, or None."""
    return _ask(define(MATCHING, name, items, options))


def ordering(name: str, steps: dict[str, str]):
    """Put the steps in order. Returns the list of step ids in the student's order, or None."""
    return _ask(define(ORDERING, name, steps))


def number(name: str, *, low: float, high: float, integer: bool = False, computed: bool = False):
    """A number between ``low`` and ``high``. ``computed=True``: the answer depends on
    the student's SEED or work, so it is written as code below the call (no input box)
    and the grader recomputes it. Returns the typed number, or None."""
    return _ask(define(NUMBER, name, low=low, high=high, integer=integer, computed=computed))


def _ask(question: Question):
    asked[question.name] = question
    folder = Path.cwd()  # the notebook's folder, also if a later cell changes directory
    saved = None if question.computed else read_answers(folder).get(question.name)
    answer = _as_variable(question, saved)
    widget = None
    if interactive():
        try:
            widget = widget_view(question, answer, lambda value: _save(question, value, folder))
        except ImportError:  # ipywidgets is missing: the text is enough
            widget = None
    from IPython.display import display

    display(QuestionView(text_view(question, answer), widget))
    return answer


def _as_variable(question: Question, saved):
    """A saved answer as the variable holds it; a malformed one is kept as it is, so
    the test cell can say what is wrong with it."""
    if saved is None:
        return None
    try:
        return question.to_variable(question.normalise(saved))
    except AnswerFormatError:
        return saved


def _save(question: Question, value, folder: Path) -> str:
    """Store a click and set the answer variable in the notebook's namespace, so the
    test cell below sees it without running the question cell again."""
    try:
        save_answer(question.name, value, folder)
    except OSError as exc:
        return f"<b>Not saved</b>: {exc}"
    answer = _as_variable(question, value)
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None:
        shell.user_ns[question.name] = answer
    return status_line(question, answer)
