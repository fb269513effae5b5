"""Write docs/reference.md from the code: every `mlops-course` subcommand with its
arguments (from ``mlops_course.cli.build_parser()``, the reporting and student
subcommands included), the same for ``python -m mlops_course.hub``, and every
environment variable the package reads (``mlops_course.settings.ENVIRONMENT`` and
``mlops_course.hub.settings.ENVIRONMENT``), with those the course's nbgrader_config.py
reads.

    python docs/build_reference.py   # rewrite docs/reference.md (what `make docs` runs)

tests/test_docs.py fails when docs/reference.md differs from ``render()``, and uses
``environment_reads`` to check that every variable read is declared."""

from __future__ import annotations

import argparse
import ast
import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from mlops_course import cli, settings
from mlops_course.hub import __main__ as hub_command
from mlops_course.hub import settings as hub_settings

# This script sits in the course repository (docs/), never in the installed package.
ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference.md"
COMMAND = "make docs"

# Where each group of variables is declared, and who reads it.
DECLARATIONS = (
    (
        "mlops_course.settings.ENVIRONMENT",
        "the package reads them with `settings.env()`",
        settings.ENVIRONMENT,
    ),
    (
        "mlops_course.hub.settings.ENVIRONMENT",
        "`python -m mlops_course.hub` and `hub/jupyterhub_config.py` read them",
        hub_settings.ENVIRONMENT,
    ),
)


# ----------------------------------------------------------------- environment reads


@dataclass(frozen=True)
class EnvironmentRead:
    name: str
    default: str | None  # the literal default given at the read, if any
    via: str  # "os.environ" (os.environ / os.getenv) or the function called: "env", "env_or_default"
    line: int


def _module_strings(tree: ast.Module) -> dict[str, str]:
    """Module-level NAME = "string" constants, so that reads through a constant count."""
    strings = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            if isinstance(node.value.value, str):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        strings[target.id] = node.value.value
    return strings


def _is_os_environ(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute) and node.attr == "environ":
        return isinstance(node.value, ast.Name) and node.value.id == "os"
    return isinstance(node, ast.Name) and node.id == "environ"


def _reader(func: ast.AST) -> str | None:
    """How a call reads the environment, or None when it does not."""
    if isinstance(func, ast.Attribute) and func.attr == "get" and _is_os_environ(func.value):
        return "os.environ"
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name == "getenv":
        return "os.environ"
    if name in {"env", "env_or_default"}:  # settings.env(), hub.settings.env_or_default()
        return name
    return None


def environment_reads(path: Path) -> list[EnvironmentRead]:
    """Every read of a named environment variable in a Python file: ``os.environ.get``,
    ``os.environ[...]``, ``"X" in os.environ``, ``os.getenv``, ``env(...)``,
    ``env_or_default(...)``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    strings = _module_strings(tree)

    def text(node: ast.AST | None) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return strings.get(node.id)
        return None

    reads = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and (via := _reader(node.func)):
            name = text(node.args[0])
            default = text(node.args[1]) if len(node.args) > 1 else None
            if name:
                reads.append(EnvironmentRead(name, default, via, node.lineno))
        elif (
            isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_os_environ(node.value)
        ):
            if name := text(node.slice):
                reads.append(EnvironmentRead(name, None, "os.environ", node.lineno))
        elif isinstance(node, ast.Compare) and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops):
            if _is_os_environ(node.comparators[-1]) and (name := text(node.left)):
                reads.append(EnvironmentRead(name, None, "os.environ", node.lineno))
    return sorted(reads, key=lambda read: read.line)


# ----------------------------------------------------------------------- rendering
# argparse keeps its actions in private attributes (_actions, _SubParsersAction):
# stable since Python 3.2, and what Sphinx's argparse extensions read too.


def _cell(text: str) -> str:
    """Text fit for one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    """(help, parser) of each subcommand, in the order they were added."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            found.extend((helps.get(name, ""), sub) for name, sub in action.choices.items())
    return found


def _arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        action
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
    ]


def _invocation(action: argparse.Action) -> str:
    metavar = action.metavar or action.dest.upper()
    if not action.option_strings:
        return {"*": f"[{metavar} ...]", "+": f"{metavar} [{metavar} ...]", "?": f"[{metavar}]"}.get(
            action.nargs, metavar
        )
    names = ", ".join(action.option_strings)
    if action.nargs == 0:
        return names
    return f"{names} [{metavar}]" if action.nargs == "?" else f"{names} {metavar}"


def _default(action: argparse.Action) -> str:
    # argparse marks a bare nargs="*" positional as required, yet it may be left out.
    if action.required and action.nargs not in {"*", "?"}:
        return "required"
    if action.nargs == 0:
        return "on" if action.default else "off"
    if action.default is None:
        return "-"
    if action.nargs == "*" and not action.default:
        return "none"
    return f"`{action.default}`"


def _help(action: argparse.Action) -> str:
    words = [(action.help or "") % {**vars(action), "default": action.default}]
    if action.choices:
        words.append("one of " + ", ".join(f"`{choice}`" for choice in action.choices))
    if isinstance(action, argparse._AppendAction) and "repeatable" not in words[0].lower():
        words.append("repeatable")
    return _cell("; ".join(word for word in words if word))


def _synopsis(parser: argparse.ArgumentParser) -> str:
    words = [parser.prog]
    if any(action.option_strings for action in _arguments(parser)):
        words.append("[options]")
    words.extend(_invocation(action) for action in _arguments(parser) if not action.option_strings)
    if _subcommands(parser):
        words.append("COMMAND ...")
    return " ".join(words)


def _argument_table(parser: argparse.ArgumentParser) -> list[str]:
    actions = _arguments(parser)
    if not actions:
        return []
    lines = ["| argument | default | meaning |", "|---|---|---|"]
    for action in actions:
        lines.append(f"| `{_invocation(action)}` | {_default(action)} | {_help(action)} |")
    return lines + [""]


def _command_sections(parser: argparse.ArgumentParser, level: int) -> list[str]:
    lines = []
    for summary, sub in _subcommands(parser):
        lines += [f"{'#' * level} `{sub.prog}`", "", _cell(summary), "", "```", _synopsis(sub), "```", ""]
        lines += _argument_table(sub)
        lines += _command_sections(sub, level + 1)
    return lines


def declared_names() -> set[str]:
    """Every variable declared in the package's ENVIRONMENT tuples."""
    return {variable.name for _, _, variables in DECLARATIONS for variable in variables}


@contextlib.contextmanager
def _declared_variables_unset():
    """Parsers take some defaults from declared variables: show the defaults they have
    when none is set, whatever this shell has."""
    saved = {name: os.environ.pop(name) for name in declared_names() if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _command_reference(parser: argparse.ArgumentParser) -> list[str]:
    return [
        f"## `{parser.prog}`",
        "",
        "```",
        _synopsis(parser),
        "```",
        "",
        f"Options of `{parser.prog}` itself, given before the command:",
        "",
        *_argument_table(parser),
        *_command_sections(parser, level=3),
    ]


def _variable_table(variables) -> list[str]:
    return [
        "| variable | default | meaning |",
        "|---|---|---|",
        *(f"| `{v.name}` | {_cell(v.default)} | {_cell(v.help)} |" for v in variables),
        "",
    ]


def _nbgrader_config_reads() -> list[str]:
    """The variables the course's nbgrader_config.py reads; each must be declared."""
    names = []
    for read in environment_reads(ROOT / "nbgrader_config.py"):
        if read.name not in declared_names():
            raise SystemExit(
                f"nbgrader_config.py:{read.line} reads {read.name}: declare it in "
                "mlops_course.settings.ENVIRONMENT (or the hub's, if only the hub sets it)"
            )
        names.append(f"`{read.name}`")
    return names


def render() -> str:
    """The whole of docs/reference.md."""
    with _declared_variables_unset():
        parsers = [cli.build_parser(), hub_command.build_parser()]
        lines = [
            "# Reference: commands and environment variables",
            "",
            f"<!-- Generated by docs/build_reference.py from the code: do not edit, run `{COMMAND}`. -->",
            "",
            "Every command with its arguments, and every environment variable the package",
            "reads. `COMMAND --help` prints the same, with a longer description for some.",
            "",
        ]
        for parser in parsers:
            lines += _command_reference(parser)
    lines += ["## Environment variables", "", "An empty value counts as unset.", ""]
    for where, readers, variables in DECLARATIONS:
        lines += [f"Declared in `{where}` ({readers}):", "", *_variable_table(variables)]
    lines.append(
        f"The course's `nbgrader_config.py` reads {', '.join(_nbgrader_config_reads())} too, "
        "so nbgrader's own commands (formgrader, `nbgrader autograde`, ...) see the same values."
    )
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    text = render()
    if not REFERENCE.is_file() or REFERENCE.read_text(encoding="utf-8") != text:
        REFERENCE.write_text(text, encoding="utf-8")
        print(f"wrote {REFERENCE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
