"""The docs stay true to the code: docs/reference.md is what docs/build_reference.py
makes of the argument parsers and the settings, and every MLOPS_* variable the code
reads is declared in ``mlops_course.settings.ENVIRONMENT``."""

from __future__ import annotations

import argparse
import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

from mlops_course.cli import build_parser
from mlops_course.settings import ENVIRONMENT

REPO = Path(__file__).resolve().parents[1]
DECLARED = {variable.name for variable in ENVIRONMENT}
# The MLOPS_HUB_* variables are being declared in a settings module of the hub
# package (another change); until it lands they are exempt here.
EXEMPT_PREFIXES = ("MLOPS_HUB_",)


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_reference", REPO / "docs" / "build_reference.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


builder = _load_builder()


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


def test_reference_lists_every_subcommand_and_option():
    page = builder.render()
    for parser in _all_parsers(build_parser()):
        assert parser.prog in page
        for action in parser._actions:
            for option in action.option_strings:
                if option not in {"-h", "--help"}:
                    assert option in page, f"{parser.prog} {option} missing from the reference"
    for variable in ENVIRONMENT:
        assert f"`{variable.name}`" in page


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
            os.environ["MLOPS_WRITTEN"] = "1"  # a write, not a read
            """
        )
    )
    reads = builder.environment_reads(source)
    assert [read.name for read in reads] == [f"MLOPS_{letter}" for letter in "ABCDEFG"]
    assert reads[0].default == "fallback"
    assert [read.via for read in reads] == ["os.environ"] * 5 + ["env", "env"]


def test_every_mlops_variable_read_is_declared():
    undeclared = sorted(
        f"{path}:{read.line} {read.name}"
        for path, read in _reads(_code_files())
        if read.name.startswith("MLOPS_")
        and not read.name.startswith(EXEMPT_PREFIXES)
        and read.name not in DECLARED
    )
    assert not undeclared, "declare these in mlops_course.settings.ENVIRONMENT: " + ", ".join(undeclared)


def test_every_declared_variable_is_read():
    read = {read.name for _, read in _reads(_code_files())}
    assert not DECLARED - read, f"declared but read nowhere: {sorted(DECLARED - read)}"


@pytest.mark.parametrize(
    "path",
    [
        path
        for path in sorted((REPO / "mlops_course").rglob("*.py"))
        # settings.env() itself reads os.environ; the hub module gets its own settings
        if path.name != "settings.py" and path != REPO / "mlops_course" / "hub.py"
    ],
    ids=lambda path: str(path.relative_to(REPO)),
)
def test_package_reads_declared_variables_through_settings_env(path):
    direct = [
        f"line {read.line}: {read.name}"
        for read in builder.environment_reads(path)
        if read.name in DECLARED and read.via == "os.environ"
    ]
    assert not direct, f"use mlops_course.settings.env() instead of os.environ: {direct}"
