"""The docs stay true to the code: docs/reference.md is what docs/build_reference.py
makes of the argument parsers and the settings, and every MLOPS_* variable the code
reads is declared (``mlops_course.settings.ENVIRONMENT``, or the hub's)."""

from __future__ import annotations

import argparse
import ast
import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

from mlops_course import cli
from mlops_course.hub import __main__ as hub_command

REPO = Path(__file__).resolve().parents[1]
# Where declared variables are read through os.environ on purpose: the env() functions.
ENV_FUNCTIONS = {REPO / "mlops_course" / "settings.py", REPO / "mlops_course" / "hub" / "settings.py"}


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_reference", REPO / "docs" / "build_reference.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


builder = _load_builder()
DECLARED = builder.declared_names()


def _code_files() -> list[Path]:
    """The Python files whose environment reads must be declared."""
    return [
        *sorted((REPO / "mlops_course").rglob("*.py")),
        REPO / "nbgrader_config.py",
        *sorted((REPO / "hub").rglob("*.py")),
    ]


def _reads(files: list[Path]):
    for path in files:
        for read in builder.environment_reads(path):
            yield path.relative_to(REPO), read


def test_reference_is_up_to_date():
    current = builder.REFERENCE.read_text(encoding="utf-8")
    assert current == builder.render(), f"docs/reference.md is out of date: run `{builder.COMMAND}`"


def _all_parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_parsers(sub)


@pytest.mark.parametrize("command", [cli, hub_command], ids=["mlops-course", "hub"])
def test_reference_lists_every_subcommand_and_option(command):
    page = builder.render()
    for parser in _all_parsers(command.build_parser()):
        assert f"`{parser.prog}`" in page
        for action in parser._actions:
            for option in action.option_strings:
                if option not in {"-h", "--help"}:
                    assert option in page, f"{parser.prog} {option} missing from the reference"
    for name in DECLARED:
        assert f"`{name}`" in page


def test_reference_shows_defaults_whatever_the_shell_sets(monkeypatch):
    """A parser default taken from a declared variable is documented as if it were unset."""
    expected = builder.render()
    monkeypatch.setenv("MLOPS_HUB_PROFILE", "light")
    assert builder.render() == expected
    assert hub_command.build_parser().parse_args(["setup"]).profile == "light"


def test_reference_lists_nbgrader_variables_the_config_reads():
    page = builder.render()
    config_reads = {read.name for read in builder.environment_reads(REPO / "nbgrader_config.py")}
    assert "NBGRADER_EXCHANGE" in config_reads  # the exchange folder on JupyterHub
    for name in config_reads:
        assert f"`{name}`" in page


def test_environment_reads_finds_every_form(tmp_path):
    source = tmp_path / "reads.py"
    source.write_text(
        textwrap.dedent(
            """
            import os
            from os import environ, getenv
            from mlops_course import settings
            from mlops_course.settings import env

            NAME = "MLOPS_E"
            a = os.environ.get("MLOPS_A", "fallback")
            b = os.environ["MLOPS_B"]
            c = "MLOPS_C" in os.environ
            d = getenv("MLOPS_D")
            e = environ.get(NAME)
            f = env("MLOPS_F")
            g = settings.env("MLOPS_G")
            h = env_or_default("MLOPS_H")
            os.environ["MLOPS_WRITTEN"] = "1"  # a write, not a read
            """
        )
    )
    reads = builder.environment_reads(source)
    assert [read.name for read in reads] == [f"MLOPS_{letter}" for letter in "ABCDEFGH"]
    assert reads[0].default == "fallback"
    assert [read.via for read in reads] == ["os.environ"] * 5 + ["env", "env", "env_or_default"]


def test_every_mlops_variable_read_is_declared():
    undeclared = sorted(
        f"{path}:{read.line} {read.name}"
        for path, read in _reads(_code_files())
        if read.name.startswith("MLOPS_") and read.name not in DECLARED
    )
    assert not undeclared, (
        "declare these in mlops_course.settings.ENVIRONMENT (or mlops_course.hub.settings'): "
        + ", ".join(undeclared)
    )


def _names_used(path: Path) -> set[str]:
    """String constants in a file, except the names that Variable(...) declares."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    declarations = {
        id(node.args[0])
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Variable" and node.args
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in declarations
    }


def test_every_declared_variable_is_used():
    used = set().union(*(_names_used(path) for path in _code_files()))
    assert not DECLARED - used, f"declared but used nowhere: {sorted(DECLARED - used)}"


@pytest.mark.parametrize(
    "path",
    [path for path in sorted((REPO / "mlops_course").rglob("*.py")) if path not in ENV_FUNCTIONS],
    ids=lambda path: str(path.relative_to(REPO)),
)
def test_package_reads_declared_variables_through_settings_env(path):
    direct = [
        f"line {read.line}: {read.name}"
        for read in builder.environment_reads(path)
        if read.name in DECLARED and read.via == "os.environ"
    ]
    assert not direct, f"use mlops_course.settings.env() instead of os.environ: {direct}"
