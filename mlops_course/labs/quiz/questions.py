"""The five kinds of question, and what a well-formed answer to each is.

A question names its options by *id* (a short snake_case word chosen by the author),
never by letter or position: letters are only how one student sees them (``order``),
and answers are stored and scored by id."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

# The kinds, as a question's cells name them (metadata.mlops_course.question) and as the
# quiz function that asks each is called.
QUESTION_KINDS = SINGLE, MULTIPLE, MATCHING, ORDERING, NUMBER = (
    "single",
    "multiple",
    "matching",
    "ordering",
    "number",
)
NAME = re.compile(r"q_[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
OPTION_ID = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


class QuestionError(ValueError):
    """A question defined wrongly (an author's mistake, found when its cell runs)."""


class AnswerFormatError(AssertionError):
    """An answer that is missing or not of the question's form; the message is the
    hint a student sees (an AssertionError, so a test cell fails with it)."""


@dataclass(frozen=True)
class Question:
    """One question: its grade id (``name``), its kind, and its choices.

    ``options`` (id -> text) are the choices of single and multiple choice, the answers
    of matching, and the steps of ordering; ``items`` (id -> text) are the things
    matched; ``low``/``high``/``integer`` bound a number; ``computed`` marks a number
    answered with code (it depends on the student's SEED or work), not typed in a box."""

    name: str
    kind: str
    options: dict[str, str] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)
    low: float | None = None
    high: float | None = None
    integer: bool = False
    computed: bool = False

    def __post_init__(self):
        if not NAME.fullmatch(self.name):
            raise QuestionError(f"{self.name!r}: a question is named like its answer variable, q_<topic>")
        if self.kind not in QUESTION_KINDS:
            raise QuestionError(f"{self.name}: unknown kind {self.kind!r}; use one of {QUESTION_KINDS}")
        if self.kind == NUMBER:
            if self.options or self.items:
                raise QuestionError(f"{self.name}: a number question has no options")
            if self.low is None or self.high is None or not self.low < self.high:
                raise QuestionError(f"{self.name}: give the range of sensible answers, low < high")
            return
        if len(self.options) < 2:
            raise QuestionError(f"{self.name}: a {self.kind} question needs at least two options")
        for ids in (self.options, self.items):
            bad = [key for key in ids if not isinstance(key, str) or not OPTION_ID.fullmatch(key)]
            if bad:
                raise QuestionError(f"{self.name}: ids are snake_case words, not {bad}")
            if not all(isinstance(text, str) and text.strip() for text in ids.values()):
                raise QuestionError(f"{self.name}: every option needs a text")
        if (self.kind == MATCHING) != bool(self.items):
            raise QuestionError(f"{self.name}: items (the things to match) belong to matching questions only")
        if self.computed:
            raise QuestionError(f"{self.name}: only a number question is computed")

    # -- answers --------------------------------------------------------------------

    def normalise(self, answer):
        """The answer in its canonical form (str, frozenset, dict, tuple or number), or
        AnswerFormatError with a hint when it is missing or malformed."""
        __tracebackhide__ = True  # IPython shows the student's line and the hint, not these frames
        if answer is None:
            raise AnswerFormatError(self.not_answered())
        return getattr(self, f"_normalise_{self.kind}")(answer)

    def not_answered(self) -> str:
        if self.computed:
            return f"not answered yet: compute {self.name} with code in its cell (see the question)"
        how = {
            SINGLE: "choose one option",
            MULTIPLE: "tick every option that applies",
            MATCHING: "choose a match for every item",
            ORDERING: "put the steps in order",
            NUMBER: "type a number",
        }[self.kind]
        return f"not answered yet: {how} in the widget of {self.name}, then run this cell again"

    def _unknown(self, ids) -> list:
        return sorted(str(i) for i in ids if i not in self.options)

    def _normalise_single(self, answer):
        __tracebackhide__ = True
        if not isinstance(answer, str) or answer not in self.options:
            raise AnswerFormatError(
                f"{self.name} must be one option id of {sorted(self.options)}, not {answer!r} "
                "(letters differ per student: choose with the widget)"
            )
        return answer

    def _normalise_multiple(self, answer):
        __tracebackhide__ = True
        if isinstance(answer, str) or not isinstance(answer, set | frozenset | list | tuple):
            raise AnswerFormatError(
                f"{self.name} must be a set of option ids, e.g. {{'{next(iter(self.options))}'}}"
            )
        unknown = self._unknown(answer)
        if unknown:
            raise AnswerFormatError(f"{self.name}: {unknown} are not options of this question")
        return frozenset(answer)

    def _normalise_matching(self, answer):
        __tracebackhide__ = True
        if not isinstance(answer, dict):
            raise AnswerFormatError(f"{self.name} must be a dict from item id to option id")
        extra = sorted(str(k) for k in answer if k not in self.items)
        if extra:
            raise AnswerFormatError(f"{self.name}: {extra} are not items of this question")
        unknown = self._unknown(answer.values())
        if unknown:
            raise AnswerFormatError(f"{self.name}: {unknown} are not options of this question")
        missing = [text for key, text in self.items.items() if answer.get(key) is None]
        if missing:
            raise AnswerFormatError(f"{self.name}: still to match: {', '.join(missing)}")
        return dict(answer)

    def _normalise_ordering(self, answer):
        __tracebackhide__ = True
        if isinstance(answer, str) or not isinstance(answer, list | tuple):
            raise AnswerFormatError(f"{self.name} must be the list of all step ids, in your order")
        if sorted(answer) != sorted(self.options):
            raise AnswerFormatError(f"{self.name} must hold every step exactly once: {sorted(self.options)}")
        return tuple(answer)

    def _normalise_number(self, answer):
        __tracebackhide__ = True
        if isinstance(answer, bool) or not isinstance(answer, int | float) or not math.isfinite(answer):
            raise AnswerFormatError(f"{self.name} must be a number, not {answer!r}")
        if self.integer and answer != int(answer):
            raise AnswerFormatError(f"{self.name} must be a whole number, not {answer!r}")
        if not self.low <= answer <= self.high:
            raise AnswerFormatError(
                f"{self.name} must lie between {self.low:g} and {self.high:g}, not {answer!r}"
            )
        return int(answer) if self.integer else float(answer)

    def to_variable(self, canonical):
        """What the answer variable holds: a set for multiple choice, a list for ordering."""
        if self.kind == MULTIPLE:
            return set(canonical)
        if self.kind == ORDERING:
            return list(canonical)
        return canonical
