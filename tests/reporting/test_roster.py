"""Roster import: all or nothing, errors with line numbers."""

from __future__ import annotations

import pytest

from mlops_course import cli
from mlops_course.reporting.roster import RosterError, import_roster, parse_roster
from mlops_course.reporting.store import open_gradebook, tiao_flags

GOOD = """student_id,name,email,tiao
r0001,Jan De Smet,jan.desmet@student.example.org,no
r0002,Fatima El Amrani,fatima.elamrani@student.example.org,yes
r0003,Lotte Peeters,lotte.peeters@student.example.org,
"""


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'gradebook.db'}"


def write(tmp_path, text, name="roster.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def students(db):
    with open_gradebook(db) as gb:
        return {s.id: (s.first_name, s.last_name, s.email) for s in gb.students}, tiao_flags(gb)


def test_import_and_update(tmp_path, db):
    counts = import_roster(db, write(tmp_path, GOOD))
    assert counts == {"added": 3, "updated": 0, "tiao": 1}
    found, flags = students(db)
    assert found["r0001"] == ("Jan", "De Smet", "jan.desmet@student.example.org")
    assert flags == {"r0001": False, "r0002": True, "r0003": False}
    changed = GOOD.replace(
        "r0003,Lotte Peeters,lotte.peeters@student.example.org,",
        "r0003,Lotte Peeters,lotte.peeters@student.example.org,ja",
    )
    assert import_roster(db, write(tmp_path, changed))["updated"] == 3
    assert students(db)[1]["r0003"] is True


def test_semicolons_first_last_name_and_bom(tmp_path, db):
    text = "\ufeffstudent_id;first_name;last_name;email;TIAO\nr1;An;Claes;an@x.be;1\n"
    import_roster(db, write(tmp_path, text))
    found, flags = students(db)
    assert found == {"r1": ("An", "Claes", "an@x.be")} and flags == {"r1": True}


def test_bad_rows_are_all_reported_with_line_numbers_and_nothing_is_written(tmp_path, db):
    bad = GOOD + (
        "r0004,Tom Janssens,not-an-email,no\n"  # line 5
        "r0001,Jan Again,jan2@student.example.org,no\n"  # line 6: duplicate id
        "r0006,Eva Wouters,eva@student.example.org,maybe\n"  # line 7
        "\n"  # line 8: blank, ignored
        "r 0009,Space Id,space@student.example.org,no\n"  # line 9
        "r0010,Too Many,x@student.example.org,no,extra\n"
    )  # line 10
    with pytest.raises(RosterError) as info:
        import_roster(db, write(tmp_path, bad))
    lines = [line for line, _ in info.value.errors]
    assert lines == [5, 6, 7, 9, 10]
    message = str(info.value)
    assert "roster.csv:5: email 'not-an-email' is not a valid address" in message
    assert "roster.csv:6: student_id 'r0001' appears twice (first on line 2)" in message
    assert "nothing was written" in message
    assert not (tmp_path / "gradebook.db").exists()  # checked before anything is written
    # With an existing gradebook: the valid new rows are not imported either.
    import_roster(db, write(tmp_path, "student_id,name,email\nold,Old One,old@x.be\n", "first.csv"))
    with pytest.raises(RosterError):
        import_roster(db, write(tmp_path, bad))
    found, flags = students(db)
    assert set(found) == {"old"} and flags == {"old": False}


def test_bad_header(tmp_path, db):
    with pytest.raises(RosterError) as info:
        import_roster(db, write(tmp_path, "id,name,mail\nr1,A,a@b.be\n"))
    assert info.value.errors[0][0] == 1 and "student_id, email" in info.value.errors[0][1]
    with pytest.raises(RosterError, match="empty"):
        parse_roster("")
    with pytest.raises(RosterError, match="only a header"):
        parse_roster("student_id,name,email,tiao\n")


def test_a_database_failure_midway_rolls_everything_back(tmp_path, db, monkeypatch):
    import_roster(db, write(tmp_path, "student_id,name,email\nold,Old One,old@x.be\n"))
    from sqlalchemy.orm import Session

    calls = []
    real_add = Session.add

    def add(self, obj, *args, **kwargs):  # the 4th row written fails
        calls.append(obj)
        if len(calls) == 4:
            raise RuntimeError("disk full")
        return real_add(self, obj, *args, **kwargs)

    monkeypatch.setattr(Session, "add", add)
    with pytest.raises(RuntimeError, match="disk full"):
        import_roster(db, write(tmp_path, GOOD))
    monkeypatch.undo()
    found, flags = students(db)
    assert set(found) == {"old"} and flags == {"old": False}


def test_cli_exit_code_and_message(tmp_path, capsys):
    (tmp_path / "source").mkdir()
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    bad = write(tmp_path, GOOD + "x,,bad,no\n")
    assert cli.main(["--course", str(tmp_path), "roster", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert ":5: name is empty" in err and ":5: email 'bad'" in err
    assert (
        not (tmp_path / "gradebook.db").exists()
        or students(f"sqlite:///{tmp_path / 'gradebook.db'}")[0] == {}
    )
    assert cli.main(["--course", str(tmp_path), "roster", "import", str(write(tmp_path, GOOD))]) == 0
    assert "3 added" in capsys.readouterr().out
