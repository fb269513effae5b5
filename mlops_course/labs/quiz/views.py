"""How a question looks: ipywidgets in a browser, plain text everywhere else.

A view's display bundle holds both: JupyterLab draws the widget, a terminal, nbval or
an HTML export shows the text. While grading or validating nobody clicks, so only the
text is sent (it is also what the feedback shows)."""

from __future__ import annotations

import os
from collections.abc import Callable
from html import escape

from mlops_course.labs.quiz.identity import LETTERS, lettered, shown_order
from mlops_course.labs.quiz.questions import MATCHING, MULTIPLE, NUMBER, ORDERING, SINGLE, Question
from mlops_course.settings import ANSWERS_FILE

INSTRUCTIONS = {
    SINGLE: "choose one option",
    MULTIPLE: "tick every option that applies",
    MATCHING: "choose the matching option for every item",
    ORDERING: "put the steps in order, first step on top",
    NUMBER: "type a number",
}


def interactive() -> bool:
    """Whether someone may click: not while nbgrader autogrades or validates."""
    return not os.environ.get("NBGRADER_EXECUTION")


def _letter_of(question: Question, option: str, student: str | None) -> str:
    return LETTERS[shown_order(question.name, question.options, student).index(option)]


def describe(question: Question, answer, student: str | None = None) -> str:
    """An answer in the student's own letters, e.g. ``b) the ML code``."""
    if answer is None:
        return "not answered yet"
    try:
        if question.kind == SINGLE:
            return f"{_letter_of(question, answer, student)}) {question.options[answer]}"
        if question.kind == MULTIPLE:
            ticked = sorted(
                (_letter_of(question, option, student), question.options[option]) for option in answer
            )
            return "; ".join(f"{letter}) {text}" for letter, text in ticked) if ticked else "none ticked"
        if question.kind == MATCHING:
            return "; ".join(
                f"{question.items[item]} -> {_letter_of(question, option, student)}"
                for item, option in answer.items()
            )
        if question.kind == ORDERING:
            return ", ".join(_letter_of(question, step, student) for step in answer)
    except (KeyError, ValueError, TypeError, AttributeError):
        return f"{answer!r} (not an answer to this question)"
    return f"{answer:g}" if isinstance(answer, int | float) else repr(answer)


def text_view(question: Question, answer, student: str | None = None) -> str:
    """The question as plain text: options with the student's letters and their ids."""
    if question.kind == NUMBER:
        kind = "a whole number" if question.integer else "a number"
        lines = [f"{question.name}: {kind} between {question.low:g} and {question.high:g}"]
        if question.computed:
            lines.append(
                "Answer with code in this cell: the grader runs it with your own SEED, so a number "
                "typed by hand is wrong there."
            )
    else:
        lines = [f"{question.name}: {INSTRUCTIONS[question.kind]}"]
        if question.kind == MATCHING:
            lines.append("  items: " + "; ".join(f"{text} [{item}]" for item, text in question.items.items()))
        for letter, option, text in lettered(question.name, question.options, student):
            lines.append(f"  {letter}) {text}  [{option}]")
    if not question.computed:  # a computed answer is only set by the code below the call
        lines.append(f"Your answer: {describe(question, answer, student)}")
    if question.kind != NUMBER and interactive():
        lines.append(
            f"(No widgets here? Set it in code below the call: {question.name} = ..., "
            "with the ids in [brackets].)"
        )
    return "\n".join(lines)


class QuestionView:
    """What a question cell displays: the widget (if any) with the text as fallback."""

    def __init__(self, text: str, widget=None):
        self.text, self.widget = text, widget

    def __repr__(self) -> str:
        return self.text

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {}
        if self.widget is not None:
            bundle.update(self.widget._repr_mimebundle_())
        bundle["text/plain"] = self.text
        return bundle


def _displayable(question: Question, answer):
    """What of a saved answer the widget can show (a saved answer may be malformed, or
    a matching half done): the rest is dropped from the view, not from the file."""
    if question.kind == SINGLE:
        return answer if isinstance(answer, str) and answer in question.options else None
    if question.kind == MULTIPLE:
        return (
            {o for o in answer if o in question.options} if isinstance(answer, set | list | tuple) else None
        )
    if question.kind == MATCHING:
        if not isinstance(answer, dict):
            return None
        return {item: o for item, o in answer.items() if item in question.items and o in question.options}
    if question.kind == ORDERING:
        return (
            list(answer)
            if isinstance(answer, list | tuple) and sorted(answer) == sorted(question.options)
            else None
        )
    return answer if isinstance(answer, int | float) and not isinstance(answer, bool) else None


def widget_view(question: Question, answer, save: Callable[[object], str]):
    """An ipywidgets view of the question; every change is handed to ``save``, which
    stores it and returns the status line to show."""
    import ipywidgets as w

    answer = _displayable(question, answer)

    auto = w.Layout(width="auto")
    status = w.HTML(status_line(question, answer))

    def changed(value) -> None:
        status.value = save(value)

    options = lettered(question.name, question.options, None)
    if question.kind == SINGLE:
        radio = w.RadioButtons(
            options=[(f"{letter}) {text}", option) for letter, option, text in options],
            value=answer,
            layout=auto,
        )
        radio.observe(lambda change: changed(change["new"]), names="value")
        body = [radio]
    elif question.kind == MULTIPLE:
        ticked = set(answer or ())
        boxes = {
            option: w.Checkbox(
                value=option in ticked, description=f"{letter}) {text}", indent=False, layout=auto
            )
            for letter, option, text in options
        }
        for box in boxes.values():
            box.observe(
                lambda change: changed({option for option, b in boxes.items() if b.value}), names="value"
            )
        body = list(boxes.values())
    elif question.kind == MATCHING:
        current = answer if isinstance(answer, dict) else {}
        choices = [("(choose)", None)] + [(f"{letter}) {text}", option) for letter, option, text in options]
        menus = {
            item: w.Dropdown(options=choices, value=current.get(item), layout=w.Layout(width="60%"))
            for item in question.items
        }
        for menu in menus.values():
            menu.observe(
                lambda change: changed({i: m.value for i, m in menus.items() if m.value is not None}),
                names="value",
            )
        body = [
            w.HBox([w.Label(question.items[item], layout=w.Layout(width="30%")), menu])
            for item, menu in menus.items()
        ]
    elif question.kind == ORDERING:
        body = _ordering_rows(w, question, answer, changed)
    elif question.computed:
        return None
    else:
        box = w.Text(
            value="" if answer is None else f"{answer:g}",
            placeholder=f"a number between {question.low:g} and {question.high:g}",
            continuous_update=False,
        )

        def typed(change) -> None:
            try:
                changed(float(change["new"]))
            except ValueError:
                status.value = f"<i>{change['new']!r} is not a number</i>"

        box.observe(typed, names="value")
        body = [box]
    return w.VBox([w.HTML(f"<b>{INSTRUCTIONS[question.kind]}</b>"), *body, status])


def _ordering_rows(w, question: Question, answer, changed) -> list:
    """One row per position, with buttons that move its step up or down."""
    letters = {
        option: f"{letter}) {text}"
        for letter, option, text in lettered(question.name, question.options, None)
    }
    order = list(answer) if answer else shown_order(question.name, question.options)
    labels = [w.Label(layout=w.Layout(width="auto")) for _ in order]

    def redraw() -> None:
        for position, label in enumerate(labels):
            label.value = f"{position + 1}. {letters[order[position]]}"

    def move(position: int, step: int) -> None:
        other = position + step
        if 0 <= other < len(order):
            order[position], order[other] = order[other], order[position]
            redraw()
            changed(list(order))

    rows = []
    for position, label in enumerate(labels):
        up, down = (
            w.Button(description="↑", layout=w.Layout(width="3em")),
            w.Button(description="↓", layout=w.Layout(width="3em")),
        )
        up.on_click(lambda _, p=position: move(p, -1))
        down.on_click(lambda _, p=position: move(p, 1))
        rows.append(w.HBox([up, down, label]))
    keep = w.Button(description="This order is my answer", layout=w.Layout(width="auto"))
    keep.on_click(lambda _: changed(list(order)))
    redraw()
    return [*rows, keep]


def status_line(question: Question, answer) -> str:
    """What the widget says under the options (HTML)."""
    if answer is None:
        return f"<i>Not answered yet. Your choice is saved in {ANSWERS_FILE} next to this notebook.</i>"
    return f"<i>Saved in {ANSWERS_FILE}: {escape(describe(question, answer))}</i>"
