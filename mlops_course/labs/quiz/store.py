"""The answers file: what the question widgets saved, next to the notebook.

Widget state is not code: re-running the notebook (the grader, Validate, `mlops-course
check`, nbval) would forget a click. So every click is written at once to
``answers.json`` in the notebook's folder (the kernel's working folder), and the
question's cell reads it back when it runs. The file is submitted with the notebook
and the grader copies it into its working folder with the student's other files."""

from __future__ import annotations

import json
from pathlib import Path

from mlops_course.infra.files import write_atomic
from mlops_course.settings import ANSWERS_FILE


def answers_path(folder: str | Path | None = None) -> Path:
    return Path(folder or Path.cwd()) / ANSWERS_FILE


def read_answers(folder: str | Path | None = None) -> dict:
    """Every saved answer, by question name; {} when there is no (readable) file."""
    path = answers_path(folder)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        print(f"{path} cannot be read ({exc}): answer the questions again to rewrite it")
        return {}
    answers = data.get("answers") if isinstance(data, dict) else None
    return answers if isinstance(answers, dict) else {}


def _jsonable(value):
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def save_answer(name: str, value, folder: str | Path | None = None) -> Path:
    """Store one answer (None removes it), keeping the others."""
    answers = read_answers(folder)
    if value is None:
        answers.pop(name, None)
    else:
        answers[name] = _jsonable(value)
    text = json.dumps({"answers": dict(sorted(answers.items()))}, indent=1, ensure_ascii=False) + "\n"
    return write_atomic(answers_path(folder), text)
