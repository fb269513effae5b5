"""The reporting subcommands plug into the `mlops-course` parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_course import cli
from mlops_course.reporting import register

ROSTER = "student_id,name,email,tiao\nr1,An Claes,an@x.be,no\nr2,Bo Dierckx,bo@x.be,yes\n"


@pytest.fixture
def main(monkeypatch):
    monkeypatch.setattr(cli, "_plugins", lambda: [register])
    return cli.main


def test_subcommands_through_the_course_cli(main, tmp_path, capsys):
    (tmp_path / "source").mkdir()
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    course = ["--course", str(tmp_path)]
    assert main([*course, "roster", "import", str(roster)]) == 0
    assert main([*course, "schedule", "--start", "2026-09-21", "--apply"]) == 0
    assert main([*course, "report", "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "class_report.html").is_file()
    assert main([*course, "resit", "r1", "--dry-run"]) == 0
    assert main([*course, "progress", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "2 added" in out and "1 TIAO" in out and "2 students" in out


def test_every_subcommand_is_registered():
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    register(sub)
    assert set(sub.choices) == {"roster", "schedule", "report", "resit", "progress"}
    assert Path(__file__).parent.name == "reporting"
