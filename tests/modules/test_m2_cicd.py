"""m2_cicd: the workflow checks, actionlint through node, the local runner helpers,
and typical mistakes losing the right points."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import require

from mlops_course.labs.cicd import actionlint, local_runner, workflow_checks

ASSIGNMENT = "m2_cicd"
REPO = Path(__file__).resolve().parents[2]

GOOD = """
name: ci
on:
  push:
    branches: [main]
    tags: ["v*"]
  pull_request:
    branches: [main]
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with: {python-version: "3.11", cache: pip}
      - run: pip install ruff && ruff check .
  test:
    needs: lint
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python-version: ["3.11", "3.12"]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ matrix.python-version }}
          cache: pip
      - run: python -m pytest -q
  build-and-push:
    needs: test
    runs-on: ubuntu-latest
    steps:
      - uses: docker/login-action@v3
        with:
          registry: ghcr.io
          username: ${{ github.actor }}
          password: ${{ secrets.GITHUB_TOKEN }}
      - uses: docker/build-push-action@v6
        with:
          push: ${{ startsWith(github.ref, 'refs/tags/v') }}
          tags: ghcr.io/acme/model:${{ github.ref_name }}
"""


def needs_actionlint():
    state = actionlint.status()
    require(state.available, state.message)


# --- unit tests of mlops_course.labs.cicd.workflow_checks ------------------------------------------


def test_good_workflow_has_no_problems():
    report = workflow_checks.check_workflow(GOOD)
    assert report.ok(), str(report)
    assert report.simulation["version tag"]["pushes"] == ["jobs.build-and-push.steps[1]"]
    assert not report.simulation["push to main"]["pushes"]


def test_on_stays_a_string_key():
    doc = workflow_checks.load_mapping("on: push\njobs: {}\n")
    assert "on" in doc and True not in doc
    assert workflow_checks.triggers(doc) == {"push": None}
    assert workflow_checks.triggers({"on": ["push", "pull_request"]}) == {"push": None, "pull_request": None}


def test_invalid_yaml_is_reported_with_its_line():
    with pytest.raises(workflow_checks.WorkflowError, match="line 3"):
        workflow_checks.load_mapping("on: push\njobs:\n\tbuild: {}\n")
    report = workflow_checks.check_workflow("on: [push\n")
    assert not report.ok("yaml") and not report.ok("jobs") and report.doc is None


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("startsWith(github.ref, 'refs/tags/')", True),
        ("${{ startsWith(github.ref, 'refs/heads/') }}", False),
        ("github.ref_type == 'TAG'", True),  # comparisons of strings ignore case
        ("github.event_name == 'push' && contains(github.ref, 'tags')", True),
        ("!(github.ref_type == 'tag') || false", False),
        ("github.nothing", None),
        ("format('{0}-{1}', github.ref_name, 3)", "v1.0.0-3"),
        ("endsWith(github.ref, '.0')", True),
    ],
)
def test_expressions(expression, expected):
    github = {"ref": "refs/tags/v1.0.0", "ref_type": "tag", "event_name": "push", "ref_name": "v1.0.0"}
    assert workflow_checks.evaluate(expression, {"github": github}) == expected


def test_substitute_and_interpolation():
    context = {"matrix": {"python-version": "3.12"}}
    assert workflow_checks.substitute("py${{ matrix.python-version }}-x", context) == "py3.12-x"
    assert workflow_checks.evaluate("a-${{ matrix.python-version }}", context) == "a-3.12"


@pytest.mark.parametrize(
    "patterns, value, expected",
    [
        (["v*"], "v1.2.0", True),
        (["v*"], "release/v1", False),
        (["**"], "release/v1", True),
        (["v[0-9]+.[0-9]+.[0-9]+"], "v10.2.33", True),
        (["v[0-9]+.[0-9]+.[0-9]+"], "v1.2", False),
        (["v*", "!v*-rc*"], "v2.0.0-rc1", False),
        (["main", "releases/**"], "releases/2024/a", True),
    ],
)
def test_filter_patterns(patterns, value, expected):
    assert workflow_checks.filter_matches(patterns, value) is expected


def test_branch_filter_alone_means_no_tag_builds():
    doc = workflow_checks.load_mapping("on:\n  push:\n    branches: [main]\njobs: {}\n")
    assert workflow_checks.triggered_by(doc, workflow_checks.EVENTS["push to main"])
    assert not workflow_checks.triggered_by(doc, workflow_checks.EVENTS["version tag"])
    doc = workflow_checks.load_mapping("on: push\njobs: {}\n")
    assert workflow_checks.triggered_by(doc, workflow_checks.EVENTS["version tag"])


def test_docker_push_in_a_run_step_counts_as_a_push():
    text = GOOD.replace(
        "      - uses: docker/build-push-action@v6\n        with:\n"
        "          push: ${{ startsWith(github.ref, 'refs/tags/v') }}\n"
        "          tags: ghcr.io/acme/model:${{ github.ref_name }}\n",
        "      - run: docker build -t x . && docker push x\n",
    )
    report = workflow_checks.check_workflow(text)
    assert not report.ok("push")
    assert report.simulation["pull request"]["pushes"] == ["jobs.build-and-push.steps[1]"]


def test_hardcoded_credentials_are_found_and_explained():
    text = (
        GOOD.replace("${{ secrets.GITHUB_TOKEN }}", "hunter2")
        + "      - run: docker login -u me -p s3cret registry.example\n"
        + "        env:\n          API_TOKEN: ghp_abcdefghijklmnopqrstuvwxyz0123456789\n"
    )
    findings = workflow_checks.hardcoded_credentials(workflow_checks.load_mapping(text), text)
    joined = " ".join(findings)
    assert "with.password" in joined and "command line" in joined and "env.API_TOKEN" in joined
    assert all("secrets" in f and "rotate" in f for f in findings)
    clean = workflow_checks.hardcoded_credentials(workflow_checks.load_mapping(GOOD), GOOD)
    assert clean == []


def test_matrix_numbers_and_missing_cache():
    text = GOOD.replace('["3.11", "3.12"]', "[3.10, 3.11]").replace(
        "          cache: pip\n      - run: python -m pytest", "      - run: python -m pytest"
    )
    report = workflow_checks.check_workflow(text)
    assert "3.1" in report.hints("matrix") and not report.ok("cache")


def test_dependabot_checks():
    ok = "version: 2\nupdates:\n  - package-ecosystem: github-actions\n    directory: /\n    schedule:\n      interval: weekly\n"
    assert workflow_checks.check_dependabot(ok).ok
    daily = workflow_checks.check_dependabot(ok.replace("weekly", "daily"))
    assert not daily.ok and "weekly" in daily.hints()
    assert not workflow_checks.check_dependabot(ok.replace("github-actions", "actions")).ok  # schema enum
    assert not workflow_checks.check_dependabot("version: 2\nupdates: [\n").ok


def test_schema_errors_point_at_the_field():
    doc = workflow_checks.load_mapping("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    errors = workflow_checks.schema_errors(doc)
    assert errors and any("jobs.a" in e for e in errors)


def test_schema_check_agrees_with_the_check_jsonschema_cli(tmp_path):
    cli = REPO / ".venv" / "bin" / "check-jsonschema"
    if not cli.exists():
        cli = shutil.which("check-jsonschema")
    require(bool(cli), "the check-jsonschema CLI is not found (it is part of the course environment)")
    bad = GOOD.replace("runs-on: ubuntu-latest\n    steps", "runs-on: ubuntu-latest\n    stepz", 1)
    for text, valid in ((GOOD, True), (bad, False)):
        path = tmp_path / "wf.yml"
        path.write_text(text)
        proc = subprocess.run(
            [str(cli), "--builtin-schema", "vendor.github-workflows", str(path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (proc.returncode == 0) is valid, proc.stdout + proc.stderr
        assert (workflow_checks.schema_errors(workflow_checks.load_mapping(text)) == []) is valid


# --- mlops_course.labs.cicd.actionlint ---------------------------------------------------------------


def test_actionlint_status_explains_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MLOPS_COURSE_CACHE", str(tmp_path))
    monkeypatch.delenv("MLOPS_COURSE_ACTIONLINT", raising=False)
    monkeypatch.delenv("MLOPS_COURSE_NPM_PREFIX", raising=False)
    state = actionlint.status()
    assert not state.available and actionlint.install_command() in state.message
    with pytest.raises(actionlint.ActionlintUnavailable):
        actionlint.lint_text(GOOD)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "Node.js" in actionlint.status().message


def test_actionlint_accepts_good_and_finds_mistakes():
    needs_actionlint()
    assert actionlint.lint_text(GOOD) == []
    findings = actionlint.lint_text(GOOD.replace("needs: lint", "needs: lnt"))
    assert [f.kind for f in findings] == ["job-needs"] and findings[0].line > 1
    broken = actionlint.lint_text("on: push\njobs:\n  a:\n    runs-on: x\n   steps: []\n")
    assert broken and broken[0].kind == "syntax-check"  # the WASM build would panic on it


# --- mlops_course.labs.cicd.local_runner -------------------------------------------------------------


def test_clean_checkout_has_only_committed_files(tmp_path):
    require(bool(shutil.which("git")), "git is not installed")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "a.txt").write_text("a")
    first = local_runner.commit_all(project, "one")
    assert local_runner.commit_all(project, "nothing new") == first  # nothing to commit
    (project / "b.txt").write_text("b")
    checkout = local_runner.clean_checkout(project, tmp_path / "co")
    assert (checkout / "a.txt").exists() and not (checkout / "b.txt").exists()
    proc = local_runner.run_step('test "$CI" = true\nfalse\necho unreachable', checkout)
    assert proc.returncode == 1 and "unreachable" not in proc.stdout
    assert local_runner.run_step("echo ok | cat", checkout).returncode == 0
    assert local_runner.run_step("false | true", checkout).returncode == 1  # pipefail


def test_run_pytest_exit_codes(tmp_path):
    (tmp_path / "test_x.py").write_text("import os\ndef test_x():\n    assert os.environ['X'] == '1'\n")
    assert local_runner.run_pytest(tmp_path, "test_x.py", env={"X": "1"}).returncode == 0
    assert local_runner.run_pytest(tmp_path, "test_x.py", env={"X": "2"}).returncode == 1
    (tmp_path / "test_y.py").write_text("import nothing_here\n")
    assert local_runner.run_pytest(tmp_path, "test_y.py").returncode == 2


# --- typical mistakes lose the right points (graded for real) ------------------------------


def _source_answer(grade_id: str) -> str:
    import nbformat

    nb = nbformat.read(str(REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    raise KeyError(grade_id)


WORKFLOW_TESTS = [
    "test_workflow_schema",
    "test_workflow_actionlint",
    "test_workflow_triggers",
    "test_workflow_jobs",
    "test_workflow_matrix_cache",
    "test_workflow_push_on_tags",
    "test_workflow_secrets",
]


def test_typical_mistakes_lose_the_right_points(grade_variant):
    """One variant: no `needs` from test to lint, push on every branch, a password in
    plain text; a gate that evaluates on the training data; a runner that ignores the
    clean checkout. Each loses its own cell's points only."""
    require(bool(shutil.which("git")), "git is not installed")
    needs_actionlint()
    workflow = _source_answer("workflow")
    wrong = (
        workflow.replace("    needs: lint\n", "", 1)
        .replace("    if: startsWith(github.ref, 'refs/tags/v')\n", "", 1)
        .replace("${{ secrets.GITHUB_TOKEN }}", "ghp_abcdefghijklmnopqrstuvwxyz0123456789")
    )
    assert wrong.count("needs:") == 1 and "startsWith" not in wrong
    gate = _source_answer("quality_gate").replace(
        "_, X_test, _, y_test = load_split()", "X_test, _, y_test, _ = load_split()"
    )
    runner = _source_answer("run_job_locally").replace(
        "checkout = local_runner.clean_checkout(repo_dir)", "checkout = repo_dir"
    )
    result = grade_variant(ASSIGNMENT, {"workflow": wrong, "quality_gate": gate, "run_job_locally": runner})
    s, m = result.scores, result.max_scores
    for lost in (
        "test_workflow_jobs",
        "test_workflow_push_on_tags",
        "test_workflow_secrets",
        "test_quality_gate",
        "test_run_job_locally",
    ):
        assert s[lost] == 0, (lost, s)
    for kept in (
        "test_workflow_schema",
        "test_workflow_actionlint",
        "test_workflow_triggers",
        "test_workflow_matrix_cache",
        "test_dependabot_config",
        "test_q_delivery",
        "test_q_ml_ci",
    ):
        assert s[kept] == m[kept], (kept, s)


def test_invalid_yaml_loses_every_workflow_point_only(grade_variant):
    """A tab in the workflow: every workflow cell scores 0, the other exercises keep theirs."""
    needs_actionlint()
    workflow = _source_answer("workflow").replace("  lint:\n    runs-on", "  lint:\n\truns-on", 1)
    dependabot = _source_answer("dependabot_config").replace("interval: weekly", "interval: daily", 1)
    result = grade_variant(ASSIGNMENT, {"workflow": workflow, "dependabot_config": dependabot})
    s, m = result.scores, result.max_scores
    assert all(s[t] == 0 for t in WORKFLOW_TESTS), s
    assert s["test_dependabot_config"] == 0
    assert s["test_quality_gate"] == m["test_quality_gate"], s
    assert s["test_q_rollout"] == m["test_q_rollout"], s
