"""Similarity across a cohort (`mlops-course similarity ASSIGNMENT`): which pairs of
students handed in the same work, and where.

Only a student's own work counts: the code of the answer cells and of every cell the
student added or changed, the code files handed in beside the notebook, and the open
answers (markdown answer cells, compared apart as written text). What the release
gives (every cell and file of ``release/<assignment>/``) never counts. By default the
lecturer's model answer (``source/<assignment>/``) does not count either: two students
who hand in the model answer share it with the source, not necessarily with each
other; the student table shows each one's share of it (``count_model_answer`` ranks
with it).

The detector is copydetect (PyPI): each cell and file is tokenized on its own with
the Pygments lexer of its language (no match runs across a cell boundary), names,
strings and comments are abstracted away (renamed variables and rewritten comments
hide nothing), k-grams of what remains are winnowed (Schleimer, Wilkerson and Aiken,
2003), so moved or reordered statements still match run by run, and ``compare_files``
finds the shared fragments in the raw text. Two parts are done here instead: k-grams
get a stable hash (copydetect's is salted per process, so its scores change from run
to run), and given code is removed here, not with copydetect's ``boilerplate``
argument, which also drops a fingerprint that occurs twice in one student's code.

A pair's similarity is the share of the two students' own tokens that the other one
has too: (covered in A + covered in B) / (own tokens of A + own tokens of B); a
student with no code of their own pairs with nobody."""

from __future__ import annotations

import functools
import hashlib
import itertools
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path

import nbformat
import numpy as np

from mlops_course.course import Course
from mlops_course.errors import SimilarityError, SubmissionError
from mlops_course.grading.submissions import read_notebook_file

CODE, TEXT = "code", "text"
# copydetect's defaults: shared runs under 25 filtered characters never count, runs of
# 30 or more always do (window = 30 - 25 + 1).
K_GRAM = {CODE: 25, TEXT: 50}
WINDOW = {CODE: 6, TEXT: 11}  # text: runs of 60 characters, about ten words

# Files beside the notebook that are compared as code (data and binaries are not).
CODE_FILE_NAMES = {"Dockerfile", "Containerfile", "Makefile", "requirements.txt"}
CODE_SUFFIXES = set(".py .sh .bash .yml .yaml .toml .cfg .ini .js .mjs .ts .sql".split())
MAX_FILE_BYTES = 512_000


# -- what is compared ---------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """One cell or file: the unit that is fingerprinted."""

    label: str  # "m0_setup.ipynb, cell 31 (pin_checker)" or "app/app.py"
    kind: str  # CODE or TEXT
    text: str
    language: str | None  # a Pygments lexer name; None: compared as plain text


@dataclass
class Submission:
    """What one student handed in that can be compared."""

    student: str
    pieces: list[Piece]
    files: list[str]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Skipped:
    student: str
    reason: str


@dataclass(frozen=True)
class Given:
    """What no student gets credit for: fingerprints of the release (and of the model
    answer), and the release's cells, which are left out unchanged."""

    release: dict[str, set[int]]
    model_answer: dict[str, set[int]]
    release_cells: frozenset[str]
    release_notebooks: frozenset[str]


def _plain(text: str) -> str:
    """Text compared without a lexer: runs of white space are one space."""
    return " ".join(text.split())


def _language(path: Path) -> str | None:
    from pygments.lexers import get_lexer_for_filename
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_for_filename(path.name)
    except ClassNotFound:
        return None
    return None if lexer.name == "Text only" else lexer.aliases[0]


def _notebook_pieces(nb, name: str, language: str, skip_sources: frozenset[str] = frozenset()) -> list[Piece]:
    """The cells of a notebook that may hold a student's own work: code cells but the
    test cells (the grader restores those), and markdown answer cells."""
    pieces = []
    for number, cell in enumerate(nb.cells, start=1):
        source = cell.get("source", "")
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not source.strip() or source in skip_sources:
            continue
        grade_id = meta.get("grade_id")
        label = f"{name}, cell {number}" + (f" ({grade_id})" if grade_id else "")
        if cell.cell_type == "code" and not (meta.get("grade") and not meta.get("solution")):
            pieces.append(Piece(label, CODE, source, language))
        elif cell.cell_type == "markdown" and meta.get("solution"):
            pieces.append(Piece(label, TEXT, _plain(source), None))
    return pieces


def _code_files(folder: Path) -> list[Path]:
    """Code files under ``folder`` (not notebooks, hidden folders, caches or data)."""
    found = []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if any(part.startswith(".") or part == "__pycache__" for part in parts) or not path.is_file():
            continue
        if path.name in CODE_FILE_NAMES or path.suffix.lower() in CODE_SUFFIXES:
            found.append(path)
    return found


def _file_piece(path: Path, label: str) -> Piece:
    """A code file as a piece; SubmissionError when it is too large or not text."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise SubmissionError(f"{label} is larger than {MAX_FILE_BYTES // 1000} kB: not compared")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SubmissionError(f"{label} is not a text file (not UTF-8): not compared") from None
    language = _language(path)
    return Piece(label, CODE, text if language else _plain(text), language)


def _notebook_language(nb) -> str:
    return (nb.metadata.get("language_info") or {}).get("name") or "python"


def _given_pieces(folder: Path) -> tuple[list[Piece], set[str]]:
    """Every cell and code file of a release or source folder, and the cells' sources.
    Every markdown cell counts: a student who quotes the question copies nobody."""
    pieces, sources = [], set()
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            sources.add(cell.source)
            if cell.cell_type == "code":
                pieces.append(Piece(path.name, CODE, cell.source, _notebook_language(nb)))
            elif cell.cell_type == "markdown":
                pieces.append(Piece(path.name, TEXT, _plain(cell.source), None))
    for path in _code_files(folder):
        try:
            pieces.append(_file_piece(path, str(path.relative_to(folder))))
        except SubmissionError:
            continue  # a given file that is not code gives no code
    return pieces, sources


def read_given(course: Course, assignment: str) -> Given:
    """Fingerprints of what the release gives and of the model answer."""
    release_folder, source_folder = course.release / assignment, course.source / assignment
    if not course.source_notebook(assignment).is_file():
        raise SimilarityError(
            f"no assignment {assignment!r}: source/{assignment}/{assignment}.ipynb is missing"
        )
    release_notebooks = sorted(release_folder.glob("*.ipynb")) if release_folder.is_dir() else []
    if not release_notebooks:
        raise SimilarityError(
            f"{assignment} was never released (no notebook in release/{assignment}/): "
            f"run `mlops-course release {assignment}` first"
        )

    release_pieces, release_cells = _given_pieces(release_folder)
    model_pieces, _ = _given_pieces(source_folder)
    return Given(
        release=_all_kgrams(release_pieces),
        model_answer=_all_kgrams(model_pieces),
        release_cells=frozenset(release_cells),
        release_notebooks=frozenset(path.name for path in release_notebooks),
    )


def read_submission(course: Course, student: str, assignment: str, given: Given) -> Submission | Skipped:
    """A student's comparable work, or Skipped with the reason when nothing is readable."""
    folder = course.submission_dir(student, assignment)
    pieces, files, problems, notes = [], [], [], []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            nb = read_notebook_file(path)
        except SubmissionError as exc:
            problems.append(str(exc))
            continue
        files.append(path.name)
        if path.name not in given.release_notebooks:
            notes.append(f"compared {path.name}, a name the release does not have")
        pieces += _notebook_pieces(nb, path.name, _notebook_language(nb), given.release_cells)
    for path in _code_files(folder):
        label = str(path.relative_to(folder))
        try:
            pieces.append(_file_piece(path, label))
        except SubmissionError as exc:
            problems.append(str(exc))
            continue
        files.append(label)
    if not files:
        return Skipped(student, "; ".join(problems) or "no notebook or code file handed in")
    return Submission(student, pieces, files, notes + [f"not compared: {p}" for p in problems])


# -- fingerprints -----------------------------------------------------------------------


@dataclass(frozen=True)
class Fingerprint:
    """A piece's winnowed fingerprints: the fields of copydetect's CodeFingerprint that
    its ``compare_files`` reads, with stable hashes (winnowing keeps the smallest hash of
    each window, so a hash salted per process would keep other fingerprints each run)."""

    filtered_code: str
    offsets: np.ndarray  # copydetect's map from filtered to raw positions (empty: none)
    k: int
    hash_idx: dict[int, list[int]]  # hash -> positions in filtered_code

    @functools.cached_property
    def hashes(self) -> set[int]:
        return set(self.hash_idx)

    @functools.cached_property
    def token_coverage(self) -> int:
        """Tokens (filtered characters) inside at least one kept k-gram."""
        from copydetect.utils import get_token_coverage

        return int(get_token_coverage(self.hash_idx, self.k, len(self.filtered_code)))

    def keep(self, wanted) -> Fingerprint:
        """Only the hashes that ``wanted(hash)`` accepts."""
        return replace(self, hash_idx={h: i for h, i in self.hash_idx.items() if wanted(h)})


def _kgram_hashes(filtered: str, k: int) -> list[int]:
    """A stable 64-bit hash of every k-gram."""
    return [
        int.from_bytes(
            hashlib.blake2b(filtered[i : i + k].encode(), digest_size=8).digest(), "big", signed=True
        )
        for i in range(len(filtered) - k + 1)
    ]


def _filtered(piece: Piece) -> tuple[str, np.ndarray]:
    """The piece as it is fingerprinted: copydetect's tokens (names, strings and
    comments abstracted) and its offsets back to the raw text; plain text as it is."""
    if piece.language is None:
        return piece.text, np.array([])
    from copydetect.utils import filter_code

    return filter_code(piece.text, piece.label, piece.language)


def _all_kgrams(pieces: list[Piece]) -> dict[str, set[int]]:
    """Every k-gram hash of the pieces (not winnowed: given code is removed whole)."""
    found = {CODE: set(), TEXT: set()}
    for piece in pieces:
        found[piece.kind].update(_kgram_hashes(_filtered(piece)[0], K_GRAM[piece.kind]))
    return found


def _fingerprint(piece: Piece) -> Fingerprint:
    from copydetect.utils import winnow

    filtered, offsets = _filtered(piece)
    k = K_GRAM[piece.kind]
    hashes = np.array(_kgram_hashes(filtered, k), dtype=np.int64)
    kept, positions = winnow(hashes, WINDOW[piece.kind], remove_duplicates=False) if len(hashes) else ([], [])
    hash_idx: dict[int, list[int]] = {}
    for value, position in zip(np.asarray(kept).tolist(), np.asarray(positions).tolist()):
        hash_idx.setdefault(value, []).append(position)
    return Fingerprint(filtered, offsets, k, hash_idx)


@dataclass
class Prints:
    """One student's fingerprints, given code removed."""

    student: str
    files: list[str]
    notes: list[str]
    pieces: dict[str, list[tuple[Piece, Fingerprint]]]  # by kind
    model_answer_share: float  # of the student's code once the release is removed

    def __post_init__(self):
        self._hashes = {
            kind: set().union(*(fp.hashes for _, fp in found)) for kind, found in self.pieces.items()
        }
        self._own = {kind: sum(fp.token_coverage for _, fp in found) for kind, found in self.pieces.items()}

    def hashes(self, kind: str) -> set[int]:
        return self._hashes[kind]

    def own(self, kind: str) -> int:
        """Tokens of this kind that are the student's own (in a kept fingerprint)."""
        return self._own[kind]


def fingerprint(submission: Submission, given: Given, count_model_answer: bool) -> Prints:
    pieces, model_tokens, code_tokens = {CODE: [], TEXT: []}, 0, 0
    for piece in submission.pieces:
        release, model = given.release[piece.kind], given.model_answer[piece.kind]
        own = _fingerprint(piece).keep(lambda h, release=release: h not in release)
        if piece.kind == CODE:
            code_tokens += own.token_coverage
            model_tokens += own.keep(model.__contains__).token_coverage
        if not count_model_answer:
            own = own.keep(lambda h, model=model: h not in model)
        if own.token_coverage:
            pieces[piece.kind].append((piece, own))
    share = model_tokens / code_tokens if code_tokens else 0.0
    return Prints(submission.student, submission.files, submission.notes, pieces, share)


# -- pairs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """A cell or file of each student with the fragments they share (character slices)."""

    kind: str
    label_a: str
    label_b: str
    text_a: str
    text_b: str
    slices_a: tuple[tuple[int, int], ...]
    slices_b: tuple[tuple[int, int], ...]
    tokens: int  # shared tokens, counted in the first student's piece


@dataclass(frozen=True)
class Side:
    """One kind of work (code or written answers) of a pair."""

    similarity: float
    share_a: float  # of A's own tokens, the share that B has too
    share_b: float
    shared_tokens: int  # in A and B together
    longest: int  # tokens of the longest shared run, in A or B


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    code: Side
    text: Side
    matches: tuple[Match, ...] = ()  # filled in for the pairs the page shows

    @property
    def shares_anything(self) -> bool:
        return bool(self.code.shared_tokens or self.text.shared_tokens)


def _longest_run(covered: np.ndarray) -> int:
    edges = np.flatnonzero(np.diff(np.concatenate(([0], covered.astype(np.int8), [0]))))
    return int((edges[1::2] - edges[::2]).max()) if len(edges) else 0


def _covered(prints: Prints, kind: str, other: set[int]) -> tuple[int, int]:
    """Tokens of one kind of ``prints`` in fingerprints that ``other`` has too, and the
    longest run of them (copydetect's token coverage, restricted to shared hashes)."""
    total = longest = 0
    for _, fp in prints.pieces[kind]:
        shared = fp.hashes & other
        if not shared:
            continue
        covered = np.zeros(len(fp.filtered_code), dtype=bool)
        for start in itertools.chain.from_iterable(fp.hash_idx[h] for h in shared):
            covered[start : start + fp.k] = True
        total += int(covered.sum())
        longest = max(longest, _longest_run(covered))
    return total, longest


def _side(a: Prints, b: Prints, kind: str) -> Side:
    shared = a.hashes(kind) & b.hashes(kind)
    own_a, own_b = a.own(kind), b.own(kind)
    if not shared or not own_a or not own_b:
        return Side(0.0, 0.0, 0.0, 0, 0)
    (covered_a, longest_a), (covered_b, longest_b) = _covered(a, kind, shared), _covered(b, kind, shared)
    return Side(
        (covered_a + covered_b) / (own_a + own_b),
        covered_a / own_a,
        covered_b / own_b,
        covered_a + covered_b,
        max(longest_a, longest_b),
    )


def shared_fragments(a: Prints, b: Prints) -> tuple[Match, ...]:
    """Every pair of pieces that share fragments, code first, most shared first."""
    from copydetect import compare_files

    found = []
    for kind in (CODE, TEXT):
        for (piece_a, fp_a), (piece_b, fp_b) in itertools.product(a.pieces[kind], b.pieces[kind]):
            if not fp_a.hashes & fp_b.hashes:
                continue
            tokens, _, (slices_a, slices_b) = compare_files(fp_a, fp_b)
            found.append(
                Match(
                    kind,
                    piece_a.label,
                    piece_b.label,
                    piece_a.text,
                    piece_b.text,
                    tuple(zip(*(s.tolist() for s in slices_a))),
                    tuple(zip(*(s.tolist() for s in slices_b))),
                    int(tokens),
                )
            )
    return tuple(sorted(found, key=lambda m: (m.kind != CODE, -m.tokens, m.label_a, m.label_b)))


def compare(a: Prints, b: Prints) -> Pair:
    return Pair(a.student, b.student, _side(a, b, CODE), _side(a, b, TEXT))


# -- the cohort ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudentRow:
    student: str
    files: tuple[str, ...]
    own_code_tokens: int
    own_text_chars: int
    model_answer_share: float
    notes: tuple[str, ...]


@dataclass(frozen=True)
class CohortSimilarity:
    assignment: str
    count_model_answer: bool
    detector: str
    students: tuple[StudentRow, ...]
    skipped: tuple[Skipped, ...]
    pairs: tuple[Pair, ...]  # ranked: code similarity, then written answers


def rank(pairs: list[Pair]) -> list[Pair]:
    return sorted(
        pairs,
        key=lambda p: (-p.code.similarity, -p.text.similarity, -p.code.shared_tokens, p.a, p.b),
    )


def find_similar(
    course: Course, assignment: str, count_model_answer: bool = False, details: int = 50
) -> CohortSimilarity:
    """Read, fingerprint and compare every submission of ``assignment``; pairs ranked.
    The first ``details`` pairs of the ranking that share anything carry their fragments."""
    given = read_given(course, assignment)
    students = course.students_with_submissions(assignment)
    if not students:
        raise SimilarityError(f"no submissions of {assignment}: submitted/<student>/{assignment}/ is empty")
    prints, skipped = {}, []
    for student in students:
        read = read_submission(course, student, assignment, given)
        if isinstance(read, Skipped):
            skipped.append(read)
        else:
            prints[student] = fingerprint(read, given, count_model_answer)
    ranked = rank([compare(a, b) for a, b in itertools.combinations(prints.values(), 2)])
    pairs = [
        replace(pair, matches=shared_fragments(prints[pair.a], prints[pair.b]))
        if number < details and pair.shares_anything
        else pair
        for number, pair in enumerate(ranked)
    ]
    rows = tuple(
        StudentRow(p.student, tuple(p.files), p.own(CODE), p.own(TEXT), p.model_answer_share, tuple(p.notes))
        for p in prints.values()
    )
    detector = f"copydetect {metadata.version('copydetect')} (k={K_GRAM[CODE]}, window {WINDOW[CODE]})"
    return CohortSimilarity(assignment, count_model_answer, detector, rows, tuple(skipped), tuple(pairs))
