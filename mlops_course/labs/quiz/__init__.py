"""Theory questions in a notebook: single choice, multiple choice, matching, ordering
and numbers, answered with ipywidgets in a browser (plain text elsewhere), with the
options in a per-student order and answers stored by option id in ``answers.json``
next to the notebook, so the grader, Validate, ``mlops-course check`` and nbval read
them back when they run the notebook again.

In a notebook (docs/authoring.md, "Theory questions"):

    from mlops_course.labs import quiz

    q_small_box = quiz.single("q_small_box", {"ml_code": "the ML code", ...})   # answer cell
    quiz.check("q_small_box", q_small_box)                                      # test cell
    quiz.score("q_small_box", q_small_box, "ml_code", points=1, hint="...")     # hidden test

Modules: ``questions`` (the kinds and well-formed answers), ``scoring`` (partial credit
that guessing does not earn), ``identity`` (whose notebook, which order), ``store``
(the answers file), ``views`` (widgets and text), ``ask`` (the calls of an answer
cell), ``checks`` (the calls of a test cell), ``definitions`` (reading questions and
keys from a notebook without running it)."""

from mlops_course.labs.quiz.ask import matching, multiple, number, ordering, single
from mlops_course.labs.quiz.checks import FORMAT_ONLY, check, score

__all__ = ["FORMAT_ONLY", "check", "matching", "multiple", "number", "ordering", "score", "single"]
