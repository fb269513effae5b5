"""A question's test cell: the visible format check and the hidden scoring.

    quiz.check("q_debt_kinds", q_debt_kinds)                 # visible: the form only
    ### BEGIN HIDDEN TESTS
    quiz.score("q_debt_kinds", q_debt_kinds, {"glue_code", ...}, points=1,
               hint="reread the list of ML-specific debt in Part 1")
    ### END HIDDEN TESTS

``score`` is the cell's last expression: nbgrader gives the number it returns as the
cell's points (partial credit). The key lives only in the hidden test."""

from __future__ import annotations

import os

from mlops_course.labs.quiz.ask import asked
from mlops_course.labs.quiz.questions import AnswerFormatError, Question
from mlops_course.labs.quiz.scoring import check_key, mark

FORMAT_ONLY = "format OK; correctness is checked when your lecturer grades"


def _question(name: str) -> Question:
    __tracebackhide__ = True  # IPython shows the student's line and the hint, not this frame
    try:
        return asked[name]
    except KeyError:
        raise AnswerFormatError(
            f"{name} was never asked in this kernel: run the question's cell (it calls quiz) first"
        ) from None


def check(name: str, answer) -> None:
    """Fail with a hint unless ``answer`` is a well-formed answer to question ``name``;
    it says nothing about whether it is right."""
    __tracebackhide__ = True
    _question(name).normalise(answer)
    if os.environ.get("NBGRADER_EXECUTION") != "autograde":
        print(f"{name}: {FORMAT_ONLY}")


def score(name: str, answer, key, *, points: float, hint: str, tolerance: float = 0.0) -> float:
    """The points ``answer`` earns against ``key`` (see ``scoring``); prints how much was
    right and, unless all of it, the hint (which points to the reading, not the key)."""
    __tracebackhide__ = True
    question = _question(name)
    canonical_key = check_key(question, key, tolerance)
    marking = mark(question, question.normalise(answer), canonical_key, tolerance)
    earned = round(points * marking.fraction, 2)
    if earned == points:
        print(f"{name}: right, {earned:g} of {points:g} point(s).")
    else:
        print(f"{name}: {earned:g} of {points:g} point(s): {marking.detail}. Hint: {hint}")
    return earned
