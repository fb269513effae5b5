"""What guessing earns on a module's theory questions.

A student who does not read can still answer: at random, always the same letter, the
longest option, every option or none. Each strategy answers every question from what
that student sees (the options in the student's own order, their texts, the order they
are written in the cell), never from the key, and leaves unanswered what it cannot
answer:

    random          a random option (single), each option with probability 1/2
                    (multiple), a random option per item (matching), a random order
                    (ordering), a random number in the question's range (number,
                    also the computed ones: typed by hand)
    letter a..d     the option shown as that letter (single), only it (multiple), it
                    for every item (matching), the steps as shown (ordering)
    longest         the longest option text, used as a letter is
    first written   the option written first in the cell's code, used as a letter is;
                    the steps in the order they are written (ordering)
    select all      every option of a multiple-choice question
    select none     no option of a multiple-choice question

``answers_for`` gives a strategy's answers for one student (what the widgets would
save, plus numbers typed in code); ``expected_points`` scores them against the keys
of the source notebook without running it (a computed key is unknown without running
the notebook, so a random guess there counts with its exact chance of hitting it);
benchmarks/guessing.py grades the same answers through the real pipeline."""

from __future__ import annotations

import copy
import hashlib
import random
from dataclasses import dataclass

from mlops_course.authoring import question_kind
from mlops_course.labs.quiz.definitions import Key, read_keys, read_questions
from mlops_course.labs.quiz.identity import shown_order
from mlops_course.labs.quiz.questions import MATCHING, MULTIPLE, NUMBER, ORDERING, SINGLE, Question
from mlops_course.labs.quiz.scoring import check_key, mark

LETTERS = ("a", "b", "c", "d")
STRATEGIES = (
    "random",
    *(f"letter {letter}" for letter in LETTERS),
    "longest",
    "first written",
    "select all",
    "select none",
)


@dataclass(frozen=True)
class Theory:
    """A module's theory questions (from its release) and their keys (from its source)."""

    questions: dict[str, Question]
    keys: dict[str, Key]

    @classmethod
    def read(cls, release_nb, source_nb) -> Theory:
        questions, keys = read_questions(release_nb), read_keys(source_nb)
        missing = sorted(set(questions) ^ set(keys))
        if missing:
            raise ValueError(f"questions without a hidden key, or keys without a question: {missing}")
        return cls(questions, keys)

    @property
    def points(self) -> float:
        return sum(key.points for key in self.keys.values())


def question_test_points(nb) -> dict[str, float]:
    """The points of every theory question's test cell, by question name."""
    points = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if question_kind(cell) and meta.get("grade"):
            points[meta["grade_id"].removeprefix("test_")] = float(meta["points"])
    return points


def _rng(strategy: str, student: str) -> random.Random:
    return random.Random(hashlib.sha256(f"{strategy}/{student}".encode()).digest())


def _pick(question: Question, strategy: str, student: str) -> str | None:
    """The one option a fixed strategy settles on (None: it has none here)."""
    shown = shown_order(question.name, question.options, student)
    if strategy.startswith("letter "):
        index = LETTERS.index(strategy.removeprefix("letter "))
        return shown[index] if index < len(shown) else None
    if strategy == "longest":
        return max(shown, key=lambda option: len(question.options[option]))
    if strategy == "first written":
        return next(iter(question.options))
    return None


def answer_for(question: Question, strategy: str, student: str, rng: random.Random):
    """One strategy's answer to one question (None: left unanswered)."""
    shown = shown_order(question.name, question.options, student)
    if question.kind == NUMBER:
        if strategy != "random":
            return None
        if question.integer:
            return rng.randint(int(question.low), int(question.high))
        return rng.uniform(question.low, question.high)
    if strategy == "random":
        if question.kind == SINGLE:
            return rng.choice(shown)
        if question.kind == MULTIPLE:
            return {option for option in shown if rng.random() < 0.5}
        if question.kind == MATCHING:
            return {item: rng.choice(shown) for item in question.items}
        return rng.sample(shown, len(shown))
    if question.kind == MULTIPLE and strategy in ("select all", "select none"):
        return set(question.options) if strategy == "select all" else set()
    if question.kind == ORDERING:
        if strategy == "first written":
            return list(question.options)
        return None if strategy.startswith("select") else shown
    option = _pick(question, strategy, student)
    if option is None:
        return None
    if question.kind == SINGLE:
        return option
    if question.kind == MULTIPLE:
        return {option}
    return {item: option for item in question.items}


def answers_for(theory: Theory, strategy: str, student: str) -> dict[str, object]:
    """A strategy's answers for one student, by question (unanswered ones left out)."""
    rng = _rng(strategy, student)
    answers = {}
    for name, question in theory.questions.items():
        answer = answer_for(question, strategy, student, rng)
        if answer is not None:
            answers[name] = answer
    return answers


def expected_points(theory: Theory, answers: dict[str, object]) -> dict[str, float]:
    """The points each answer earns, by question, scored as the hidden tests score it.
    A computed key is not known here: a guess earns its chance of hitting the key."""
    earned = {}
    for name, question in theory.questions.items():
        key, answer = theory.keys[name], answers.get(name)
        if answer is None:
            earned[name] = 0.0
        elif key.key is None:
            earned[name] = key.points * _chance_of_hitting(question, key.tolerance)
        else:
            canonical_key = check_key(question, key.key, key.tolerance)
            marking = mark(question, question.normalise(answer), canonical_key, key.tolerance)
            earned[name] = round(key.points * marking.fraction, 2)
    return earned


def _chance_of_hitting(question: Question, tolerance: float) -> float:
    """The chance that a random number in the question's range is within ``tolerance``
    of a key in that range (at most: a key near an end is hit less often)."""
    if question.integer:
        return min(1.0, (2 * int(tolerance) + 1) / (int(question.high - question.low) + 1))
    return min(1.0, 2 * tolerance / (question.high - question.low))


def guessed_submission(release_nb, theory: Theory, strategy: str, student: str):
    """The release notebook as a guessing ``student`` hands it in, and the answers its
    question widgets saved: ``(notebook, answers)``. Numbers of computed questions are
    typed into their cells (they are answered with code), the rest goes to answers.json."""
    import nbformat

    nb = nbformat.from_dict(copy.deepcopy(release_nb))
    answers = answers_for(theory, strategy, student)
    saved = {}
    for cell in nb.cells:
        name = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if name not in answers or cell.metadata["nbgrader"].get("grade"):
            continue
        if theory.questions[name].computed:
            cell.source += f"\n{name} = {answers[name]!r}"
        else:
            saved[name] = answers[name]
    return nb, saved
