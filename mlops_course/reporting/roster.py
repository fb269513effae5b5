"""`mlops-course roster import FILE.csv`: the class list into the gradebook.

The CSV has a header with the columns ``student_id``, ``name`` (or ``first_name`` and
``last_name``), ``email`` and optionally ``tiao`` (yes/no, true/false, 1/0, empty = no).
Every row is checked first; any bad row stops the import with its line number and
nothing is written. Then all students and their TIAO flags are written in one
database transaction. Students already in the gradebook are updated; students missing
from the file are left alone."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from mlops_course.errors import RosterError

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")
EMAIL_PATTERN = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
TRUE = {"yes", "y", "true", "1", "tiao", "x", "ja", "j"}
FALSE = {"no", "n", "false", "0", "", "nee"}


@dataclass(frozen=True)
class RosterRow:
    line: int
    student_id: str
    first_name: str
    last_name: str
    email: str
    tiao: bool


def parse_roster(text: str, path: str = "<roster>") -> list[RosterRow]:
    """Check every row; raise RosterError listing every problem with its line number."""
    errors: list[tuple[int, str]] = []
    if text.startswith("\ufeff"):
        text = text[1:]  # Excel's BOM
    if not text.strip():
        raise RosterError(path, [(1, "the file is empty; expected a header: student_id,name,email,tiao")])
    sample = text[:2048]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip().lower() for h in next(reader)]
    has_name = "name" in header or ("first_name" in header and "last_name" in header)
    missing = [c for c in ("student_id", "email") if c not in header] + ([] if has_name else ["name"])
    if missing:
        raise RosterError(
            path,
            [
                (
                    1,
                    f"header lacks column(s) {', '.join(missing)}; "
                    f"expected student_id,name,email,tiao (got {','.join(header)})",
                )
            ],
        )
    dupes = {h for h in header if header.count(h) > 1}
    if dupes:
        raise RosterError(path, [(1, f"duplicate column(s) in header: {', '.join(sorted(dupes))}")])
    rows, seen_ids, seen_emails = [], {}, {}
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue  # blank line
        if len(fields) != len(header):
            errors.append((line, f"expected {len(header)} fields ({','.join(header)}), found {len(fields)}"))
            continue
        row = {h: f.strip() for h, f in zip(header, fields)}
        sid = row["student_id"]
        if not sid:
            errors.append((line, "student_id is empty"))
        elif not ID_PATTERN.match(sid):
            errors.append(
                (
                    line,
                    f"student_id {sid!r} may only hold letters, digits and _ . @ - "
                    "(it becomes a folder name)",
                )
            )
        elif sid in seen_ids:
            errors.append((line, f"student_id {sid!r} appears twice (first on line {seen_ids[sid]})"))
        else:
            seen_ids[sid] = line
        if "name" in row:
            name = row["name"]
            first, _, last = name.partition(" ")
        else:
            first, last = row["first_name"], row["last_name"]
            name = f"{first} {last}".strip()
        if not name.strip():
            errors.append((line, "name is empty"))
        email = row["email"]
        if not EMAIL_PATTERN.match(email):
            errors.append((line, f"email {email!r} is not a valid address"))
        elif email.lower() in seen_emails:
            errors.append(
                (line, f"email {email!r} appears twice (first on line {seen_emails[email.lower()]})")
            )
        else:
            seen_emails[email.lower()] = line
        flag = row.get("tiao", "").lower()
        if flag not in TRUE | FALSE:
            errors.append((line, f"tiao must be yes/no (or true/false, 1/0, empty), not {row.get('tiao')!r}"))
        rows.append(RosterRow(line, sid, first.strip(), last.strip(), email, flag in TRUE))
    if errors:
        raise RosterError(path, errors)
    if not rows:
        raise RosterError(path, [(1, "no students in the file (only a header)")])
    return rows


def read_roster_text(path: Path) -> str:
    """The file's text; RosterError for a folder, a missing file or text that is not
    UTF-8 (with the line of the first bad byte, e.g. an accent saved by Excel as cp1252)."""
    if path.is_dir():
        raise RosterError(path, [(0, "is a folder, not a CSV file; give the roster file itself")])
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RosterError(path, [(0, "no such file")]) from None
    except OSError as exc:
        raise RosterError(path, [(0, f"cannot be read: {exc.strerror}")]) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise RosterError(
            path,
            [
                (
                    line,
                    f"not UTF-8 text (byte 0x{bad}, e.g. an accent saved as Windows-1252); "
                    "save the file as CSV UTF-8 and import it again",
                )
            ],
        ) from None


def import_roster(course_or_url, path: str | Path) -> dict:
    """Validate the whole file, then write every student in one transaction.
    Returns counts {"added", "updated", "tiao"}."""
    from nbgrader.api import Student

    from mlops_course.reporting.store import RosterEntry, open_gradebook, utcnow_naive

    path = Path(path)
    rows = parse_roster(read_roster_text(path), str(path))
    added = updated = 0
    with open_gradebook(course_or_url, create=True) as gb:
        session = gb.db
        try:
            now = utcnow_naive()
            for row in rows:
                student = session.get(Student, row.student_id)
                if student is None:
                    student = Student(id=row.student_id)
                    session.add(student)
                    added += 1
                else:
                    updated += 1
                student.first_name, student.last_name, student.email = (
                    row.first_name,
                    row.last_name,
                    row.email,
                )
                entry = session.get(RosterEntry, row.student_id)
                if entry is None:
                    entry = RosterEntry(student_id=row.student_id)
                    session.add(entry)
                entry.tiao, entry.updated_at = row.tiao, now
            session.commit()
        except Exception:
            session.rollback()
            raise
    return {"added": added, "updated": updated, "tiao": sum(r.tiao for r in rows)}


def cmd_roster_import(args) -> int:
    from mlops_course.course import Course

    counts = import_roster(Course.find(getattr(args, "course", None)), args.file)
    print(
        f"roster imported from {args.file}: {counts['added']} added, {counts['updated']} updated, "
        f"{counts['tiao']} TIAO"
    )
    return 0


def register(subparsers) -> None:
    """`mlops-course roster import FILE.csv`."""
    p = subparsers.add_parser("roster", help="the class list (students, TIAO flag)")
    sub = p.add_subparsers(dest="roster_command", required=True)
    imp = sub.add_parser(
        "import",
        help="import students from a CSV: student_id,name,email,tiao",
        description=__doc__.split("\n\n", 1)[1],
    )
    imp.add_argument("file", help="CSV with a header: student_id,name,email,tiao")
    imp.set_defaults(func=cmd_roster_import)
