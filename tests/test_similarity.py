"""`mlops-course similarity`: pairs of submissions ranked by the similarity of the
students' own code, on the example class plus a pair of near-copies.

The example class is cut from the model answer: ada's answers are the model answer,
eve's notebook is ada's under another file name, ben's two finished functions are
ada's, cleo's notebook is the blank release and dan's is truncated. So the test adds
fay, who writes her own answers (not the model answer), and gus, whose notebook is
fay's with renamed variables, reordered statements and other comments."""

from __future__ import annotations

import ast
import csv
import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import nbformat
import pytest
from helpers import REPO

from mlops_course.cli import main
from mlops_course.course import Course
from mlops_course.demo import copy_example_class
from mlops_course.grading.similarity import CODE, TEXT, find_similar, read_given, read_submission
from mlops_course.grading.similarity_page import page, pairs_csv, write_outputs

MODULE = "m0_setup"

FAY = {
    "environment_report": '''def environment_report(packages, docker_url=None):
    """Python version, installed package versions and whether a Docker engine answers."""
    import sys

    import docker

    found = dict.fromkeys(packages)
    for package in packages:
        # ask the installed distribution for its version
        try:
            found[package] = metadata.distribution(package).version
        except metadata.PackageNotFoundError:
            pass
    status = {"available": False, "message": "Docker is not available: install docker.io, start it."}
    try:
        engine = docker.DockerClient(base_url=docker_url) if docker_url else docker.from_env()
        try:
            if engine.ping():
                status = {"available": True, "message": "Docker answers at " + engine.api.base_url}
        finally:
            engine.close()
    except docker.errors.DockerException as problem:
        status["message"] += f" ({problem.__class__.__name__})"
    major, minor, micro = sys.version_info[:3]
    return {"python": f"{major}.{minor}.{micro}", "packages": found, "docker": status}
''',
    "predict_tflite": '''from mlops_course.labs.edge.tflite_eval import native_stderr_silenced


def predict_tflite(model_path, x):
    """Class probabilities (n, 3) for the rows of x (n, 4), computed by the LiteRT interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    rows = np.array(x, dtype=np.float32)
    if rows.ndim == 1:
        rows = rows[np.newaxis, :]
    with native_stderr_silenced():
        runner = Interpreter(model_path=str(model_path))
    first_input = runner.get_input_details()[0]
    runner.resize_tensor_input(first_input["index"], rows.shape)
    runner.allocate_tensors()
    runner.set_tensor(first_input["index"], rows)
    runner.invoke()
    output = runner.get_output_details()[0]
    return runner.get_tensor(output["index"])
''',
    "pin_checker": '''def parse_pins(text):
    """{normalised name: version} for a requirements text in which every line is pinned."""
    import re

    result = {}
    for index, line in enumerate(text.splitlines()):
        # drop comments and blank lines first
        line = line.partition("#")[0].strip()
        if line == "":
            continue
        found = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\\s*==\\s*([^\\s*,;]+)", line)
        if found is None:
            raise ValueError(f"line {index + 1} is not pinned with ==: {line}")
        package, version = found.groups()
        result[re.sub(r"[-_.]+", "-", package).lower()] = version
    return result


def check_pins(pins, installed=None):
    """{name: (pinned, installed or None)} for every pin the environment does not match."""
    mismatches = {}
    for package, wanted in sorted(pins.items()):
        if installed is not None:
            have = installed.get(package)
        else:
            have = next((d.version for d in metadata.distributions(name=package)), None)
        if have != wanted:
            mismatches[package] = (wanted, have)
    return mismatches
''',
    "train_and_predict": '''def train_and_predict(seed, fast=True):
    """(test accuracy, test predictions) of a random forest on digits, fully seeded."""
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    features_train, features_test, labels_train, labels_test = train_test_split(
        digits.data, digits.target, test_size=0.3, random_state=seed, stratify=digits.target
    )
    trees = 30 if fast else 300
    forest = RandomForestClassifier(n_estimators=trees, random_state=seed)
    forest.fit(features_train, labels_train)
    predicted = forest.predict(features_test)
    accuracy = float((predicted == labels_test).mean())
    return accuracy, predicted
''',
    "open_technical_debt": "Our recommender read features from a table that another team also wrote "
    "to. They renamed a column, our pipeline filled it with zeros and nobody noticed for a month: an "
    "unstable data dependency. A schema check in CI and a versioned feature store would have stopped it.",
}
GUS_ESSAY = (
    "Glue code: our notebook grew into a thousand lines of pandas calls around a small model, "
    "so every change of the model meant rewriting the glue. A package with tests and a pinned "
    "Docker image would have kept the model replaceable."
)


class NearCopy(ast.NodeTransformer):
    """What a student does to hide a copy: rename the local variables, reorder
    statements (functions of a cell, imports of a function, constant assignments
    first), drop the comments and write others."""

    def visit_FunctionDef(self, node):
        stored = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        self.renamed = {name: f"my_{name}" for name in stored}
        self.generic_visit(node)
        body = node.body
        doc = body[:1] if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else []
        rest = body[len(doc) :]
        imports = [s for s in rest if isinstance(s, ast.Import | ast.ImportFrom)]
        constants = [
            s
            for s in rest
            if isinstance(s, ast.Assign) and not any(isinstance(n, ast.Name) for n in ast.walk(s.value))
        ]
        others = [s for s in rest if s not in imports and s not in constants]
        node.body = doc + imports[::-1] + constants + others
        return node

    def visit_Name(self, node):
        node.id = getattr(self, "renamed", {}).get(node.id, node.id)
        return node


def near_copy(source: str) -> str:
    tree = NearCopy().visit(ast.parse(source))
    defs = [i for i, s in enumerate(tree.body) if isinstance(s, ast.FunctionDef)]
    for i, s in zip(defs, [tree.body[i] for i in defs][::-1]):
        tree.body[i] = s
    lines = []
    for line in ast.unparse(tree).splitlines():
        if line.startswith("def "):
            lines += ["", "# my solution, tested on my own examples"]
        lines.append(line + ("  # done" if line.strip().startswith("return") else ""))
    return "\n".join(lines) + "\n"


def hand_in(course: Course, student: str, answers: dict[str, str], start_from: str = "ada") -> None:
    """``student`` hands in ``start_from``'s notebook with ``answers`` (grade id -> source)."""
    nb = nbformat.read(str(course.submission_dir(start_from, MODULE) / f"{MODULE}.ipynb"), as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    folder = course.submission_dir(student, MODULE)
    folder.mkdir(parents=True)
    nbformat.write(nb, str(folder / f"{MODULE}.ipynb"))


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Course:
    """The example class, fay and gus, in a throwaway course (the committed release)."""
    root = tmp_path_factory.mktemp("similarity")
    shutil.copy(REPO / "nbgrader_config.py", root)
    for folder in ("source", "release"):
        shutil.copytree(REPO / folder / MODULE, root / folder / MODULE)
    shutil.copytree(REPO / "examples", root / "examples")
    course = Course(root)
    copy_example_class(course)
    hand_in(course, "fay", FAY)
    gus = {gid: near_copy(src) for gid, src in FAY.items() if gid != "open_technical_debt"}
    hand_in(course, "gus", {**gus, "open_technical_debt": GUS_ESSAY})
    return course


@pytest.fixture(scope="module")
def ranked(cohort):
    return find_similar(cohort, MODULE)


def test_the_near_copy_is_a_real_rewrite():
    copied = near_copy(FAY["pin_checker"])
    assert "my_mismatches" in copied and "drop comments" not in copied and "# done" in copied
    assert copied.index("def check_pins") < copied.index("def parse_pins")
    body = near_copy(FAY["environment_report"]).splitlines()
    assert body.index("    import docker") < body.index("    import sys")
    assert [n for n in ast.walk(ast.parse(copied)) if isinstance(n, ast.FunctionDef)]


def test_the_near_copies_rank_first(ranked):
    first, second = ranked.pairs[0], ranked.pairs[1]
    assert {first.a, first.b} == {"fay", "gus"}
    assert first.code.similarity >= 0.6, first.code
    assert min(first.code.share_a, first.code.share_b) >= 0.5
    assert second.code.similarity <= first.code.similarity / 2
    matched = {(m.label_a.split("(")[-1], m.label_b.split("(")[-1]) for m in first.matches if m.kind == CODE}
    assert ("pin_checker)", "pin_checker)") in matched
    assert ("train_and_predict)", "train_and_predict)") in matched
    assert first.text.similarity == 0  # their essays are their own


def test_the_blank_submission_pairs_with_nobody(ranked):
    cleo = next(s for s in ranked.students if s.student == "cleo")
    assert cleo.own_code_tokens == 0 and cleo.own_text_chars == 0
    for pair in ranked.pairs:
        if "cleo" in (pair.a, pair.b):
            assert pair.code.similarity <= 0.05 and pair.text.similarity <= 0.05 and not pair.matches


def test_the_model_answer_is_left_out_and_shown_per_student(ranked, cohort):
    students = {s.student: s for s in ranked.students}
    assert students["ada"].model_answer_share == students["eve"].model_answer_share == 1.0
    assert students["fay"].model_answer_share < 0.4 and students["fay"].own_code_tokens > 500
    ada_eve = next(p for p in ranked.pairs if {p.a, p.b} == {"ada", "eve"})
    assert ada_eve.code.similarity == 0 and ada_eve.text.similarity == 1.0  # the same essay
    assert any("m0_setup (1).ipynb" in note for note in students["eve"].notes)

    counted = find_similar(cohort, MODULE, count_model_answer=True)
    assert {counted.pairs[0].a, counted.pairs[0].b} == {"ada", "eve"}
    assert counted.pairs[0].code.similarity == 1.0
    ada_ben = next(p for p in counted.pairs if {p.a, p.b} == {"ada", "ben"})
    assert ada_ben.code.share_b > 0.9 > ada_ben.code.share_a  # ben's code is part of ada's


def test_unreadable_submissions_are_skipped_with_the_reason(ranked, cohort):
    assert [(s.student, "not valid JSON" in s.reason) for s in ranked.skipped] == [("dan", True)]
    empty = cohort.submission_dir("hal", MODULE)
    empty.mkdir(parents=True)
    (empty / f"{MODULE}.ipynb").write_text("")
    (empty / "notes.py").write_bytes(b"\xff\xfe\x00binary")
    try:
        result = find_similar(cohort, MODULE)
    finally:
        shutil.rmtree(empty.parent)
    hal = next(s for s in result.skipped if s.student == "hal")
    assert "is empty" in hal.reason and "not UTF-8" in hal.reason


def test_code_files_count_and_their_released_version_does_not(tmp_path):
    """Files beside the notebook: a released file handed in unchanged gives nothing, a
    student's own file counts, and data files are not code."""
    root = tmp_path / "course"
    source = root / "source" / "lab"
    source.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text("")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import json")])
    nbformat.write(nb, str(source / "lab.ipynb"))
    given = "def load(path):\n    with open(path) as handle:\n        return json.load(handle)\n"
    own = (
        "def summarise(rows):\n    totals = {}\n    for row in rows:\n"
        "        totals[row['kind']] = totals.get(row['kind'], 0) + row['amount']\n"
        "    return sorted(totals.items(), key=lambda item: -item[1])\n"
    )
    (source / "app.py").write_text(given)
    shutil.copytree(source, root / "release" / "lab")
    course = Course(root)
    for student, extra in {"kim": own, "lou": own.replace("totals", "sums"), "max": ""}.items():
        folder = course.submission_dir(student, "lab")
        shutil.copytree(source, folder)
        (folder / "app.py").write_text(given + "\n\n" + extra)
        (folder / "data.json").write_text(json.dumps({"rows": [1, 2, 3] * 50}))
    result = find_similar(course, "lab")
    tokens = {s.student: s.own_code_tokens for s in result.students}
    assert tokens["max"] == 0 and tokens["kim"] > 50
    assert {result.pairs[0].a, result.pairs[0].b} == {"kim", "lou"} and result.pairs[0].code.similarity > 0.9
    assert {m.label_a for m in result.pairs[0].matches} == {"app.py"}
    assert all(p.code.similarity == 0 for p in result.pairs[1:])


class Page(HTMLParser):
    """Ids, local links, and the text inside <mark> per pair section; fails on a
    closing tag that does not close the open element."""

    VOID = {"meta", "br", "img", "hr", "link", "input"}

    def __init__(self):
        super().__init__()
        self.stack, self.ids, self.links, self.marks, self.section = [], set(), [], {}, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in self.VOID:
            self.stack.append(tag)
        if "id" in attrs:
            self.ids.add(attrs["id"])
            if tag == "section":
                self.section = attrs["id"]
        if tag == "a" and attrs.get("href", "").startswith("#"):
            self.links.append(attrs["href"][1:])

    def handle_endtag(self, tag):
        assert self.stack and self.stack.pop() == tag, f"</{tag}> closes nothing open"

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "mark":
            self.marks.setdefault(self.section, []).append(data)


def test_the_page_and_the_csv(ranked, cohort):
    paths = write_outputs(ranked, cohort.exports / "similarity")
    assert paths["html"] == cohort.exports / "similarity" / f"{MODULE}.html"
    parsed = Page()
    parsed.feed(paths["html"].read_text(encoding="utf-8"))
    assert parsed.stack == []
    assert set(parsed.links) <= parsed.ids and "pair-1" in parsed.links
    assert any("partition" in text for text in parsed.marks["pair-1"])  # fay's parse_pins, in both
    assert "dan" in paths["html"].read_text() and "not valid JSON" in paths["html"].read_text()

    rows = list(csv.DictReader(paths["csv"].open()))
    n = len(ranked.students)
    assert len(rows) == n * (n - 1) // 2
    assert {rows[0]["student_a"], rows[0]["student_b"]} == {"fay", "gus"}
    assert rows[0]["details"] == f"{MODULE}.html#pair-1"
    scores = [float(r["code_similarity"]) for r in rows]
    assert scores == sorted(scores, reverse=True)

    short = Page()
    short.feed(page(find_similar(cohort, MODULE, details=1)))
    assert "pair-1" in short.ids and "pair-2" not in short.ids and set(short.links) <= short.ids


def test_the_command_writes_both_files_and_fails_in_one_line(cohort, capsys):
    assert main(["--course", str(cohort.root), "similarity", MODULE]) == 0
    out = capsys.readouterr().out
    assert "1. fay and gus" in out and "skipped dan" in out and f"{MODULE}.html" in out
    assert main(["--course", str(cohort.root), "similarity", "m9_missing"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mlops-course: no assignment") and "\n" not in err


def test_pieces_are_the_students_own_cells(cohort):
    """Answer cells and cells the student added are code, markdown answers are text;
    test cells (the grader restores them) and unchanged release cells are not compared."""
    nb = nbformat.read(str(cohort.submission_dir("fay", MODULE) / f"{MODULE}.ipynb"), as_version=4)
    test_cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_q_cace")
    test_cell.source = "assert True  # nothing to see"
    nb.cells.append(nbformat.v4.new_code_cell("scratch = [n ** 2 for n in range(10)]"))
    folder = cohort.submission_dir("ivy", MODULE)
    folder.mkdir(parents=True)
    nbformat.write(nb, str(folder / f"{MODULE}.ipynb"))
    try:
        pieces = read_submission(cohort, "ivy", MODULE, read_given(cohort, MODULE)).pieces
    finally:
        shutil.rmtree(folder.parent)
    kinds = {p.label.split(", ")[-1]: p.kind for p in pieces}
    assert kinds[f"cell {len(nb.cells)}"] == CODE  # the added cell
    named = {label.split("(")[-1].rstrip(")"): kind for label, kind in kinds.items() if "(" in label}
    assert named["open_technical_debt"] == TEXT and named["pin_checker"] == CODE
    # a choice question's answer is in answers.json: its cell is the release's, not compared
    assert "test_q_cace" not in named and "q_cace" not in named and named["q_test_sevens"] == CODE
    assert not any(label.startswith("test_") for label in named)
    assert len(kinds) == 8  # 2 computed questions, 1 open answer, 4 exercise cells, 1 added cell


def test_the_ranking_is_the_same_in_every_run(ranked, cohort):
    """Winnowing keeps the smallest hash of each window: with Python's salted ``hash``
    the scores would change from one process to the next."""
    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"  # not this process's
    script = (
        "import sys\n"
        "from mlops_course.course import Course\n"
        "from mlops_course.grading.similarity import find_similar\n"
        "from mlops_course.grading.similarity_page import pairs_csv\n"
        f"sys.stdout.write(pairs_csv(find_similar(Course.find({str(cohort.root)!r}), {MODULE!r})))\n"
    )
    other = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONHASHSEED": seed},
        check=True,
        capture_output=True,
        text=True,
    )
    assert other.stdout == pairs_csv(ranked) and "fay,gus" in other.stdout
