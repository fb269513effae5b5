"""How an answer earns points: a fraction of the question's points that a student who
guesses (or picks every option, or none) does not get.

single     the key option: all; anything else: nothing
multiple   (right options ticked / right options) - (wrong options ticked / wrong options),
           at least 0: ticking all, or none, earns nothing
matching   items matched right, minus those one option given to every item gets
           (the most items the key gives one option), over the items left:
           max(0, (c - c0) / (n - c0)); matching every item with one letter earns nothing
ordering   Kendall's tau of the student's order against the key, at least 0: pairs of
           steps in the right order minus pairs in the wrong order, over all pairs
number     within the tolerance of the key: all; else nothing

The explanation shown with a score says how much was right, never which option is."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import combinations

from mlops_course.labs.quiz.questions import (
    MATCHING,
    MULTIPLE,
    NUMBER,
    ORDERING,
    SINGLE,
    Question,
    QuestionError,
)


@dataclass(frozen=True)
class Marking:
    fraction: float  # of the question's points, 0..1
    detail: str  # what was right, without naming the key


def check_key(question: Question, key, tolerance: float = 0.0):
    """The key in canonical form; a QuestionError names an author's mistake (a key that
    is no answer to the question, or that makes a strategy earn points)."""
    try:
        canonical = question.normalise(key)
    except AssertionError as exc:
        raise QuestionError(f"the key of {question.name} is not a valid answer: {exc}") from None
    if question.kind == MULTIPLE and not 0 < len(canonical) < len(question.options):
        raise QuestionError(
            f"{question.name}: a multiple-choice key needs at least one right and one wrong option"
        )
    if question.kind == MATCHING and max(Counter(canonical.values()).values()) == len(canonical):
        raise QuestionError(
            f"{question.name}: a matching key that gives every item one option scores nothing"
        )
    if tolerance < 0:
        raise QuestionError(f"{question.name}: the tolerance cannot be negative")
    return canonical


def mark(question: Question, answer, key, tolerance: float = 0.0) -> Marking:
    """The fraction of the points a canonical ``answer`` earns against a canonical ``key``."""
    if question.kind == SINGLE:
        right = answer == key
        return Marking(float(right), "right" if right else "not the right option")
    if question.kind == MULTIPLE:
        wrong_options = len(question.options) - len(key)
        hits, false_alarms = len(answer & key), len(answer - key)
        fraction = max(0.0, hits / len(key) - false_alarms / wrong_options)
        if fraction == 1.0:
            return Marking(1.0, "right")
        missing = "you missed some right options" if hits < len(key) else ""
        extra = "you ticked some wrong options" if false_alarms else ""
        return Marking(fraction, " and ".join(part for part in (missing, extra) if part))
    if question.kind == MATCHING:
        items, right = len(key), sum(answer[item] == option for item, option in key.items())
        floor = max(Counter(key.values()).values())
        return Marking(max(0.0, (right - floor) / (items - floor)), f"{right} of {items} matched right")
    if question.kind == ORDERING:
        position = {step: index for index, step in enumerate(answer)}
        pairs = list(combinations(key, 2))  # each pair in the key's order
        in_order = sum(position[first] < position[second] for first, second in pairs)
        tau = (2 * in_order - len(pairs)) / len(pairs)
        return Marking(max(0.0, tau), f"{in_order} of {len(pairs)} pairs of steps in the right order")
    if question.kind == NUMBER:
        right = abs(answer - key) <= tolerance
        return Marking(float(right), "right" if right else f"{answer:g} is not the value asked for")
    raise QuestionError(f"{question.name}: cannot score a {question.kind} question")
