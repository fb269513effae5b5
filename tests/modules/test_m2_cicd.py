"""m2_cicd: the workflow checks, actionlint through node, the local runner helpers,
and typical mistakes losing the right points."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from helpers import computed_question, notebook_requires, require, require_parts, source_answer

from mlops_course.errors import ActionlintUnavailable, ExpressionError, GitHubParserUnavailable, WorkflowError
from mlops_course.labs.cicd import (
    actionlint,
    credentials,
    dependabot,
    expressions,
    filters,
    github_parser,
    local_runner,
    node_packages,
    simulation,
    workflow,
    workflow_checks,
    yaml_schema,
)

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


def needs_part(status):
    state = status()
    require(state.available, state.message)


def needs_actionlint():
    needs_part(actionlint.status)


@pytest.fixture
def github_parser_ready():
    needs_part(github_parser.status)


# --- the workflow checks ------------------------------------------------------------------------------


def test_good_workflow_has_no_problems(github_parser_ready):
    report = workflow_checks.check_workflow(GOOD)
    assert report.ok(), str(report)
    assert report.simulation["version tag"]["pushes"] == ["jobs.build-and-push.steps[1]"]
    assert not report.simulation["push to main"]["pushes"]


def test_on_stays_a_string_key():
    doc = yaml_schema.load_mapping("on: push\njobs: {}\n")
    assert "on" in doc and True not in doc
    assert workflow.triggers(doc) == {"push": None}
    assert workflow.triggers({"on": ["push", "pull_request"]}) == {"push": None, "pull_request": None}


def test_invalid_yaml_is_reported_with_its_line():
    with pytest.raises(WorkflowError, match="line 3"):
        yaml_schema.load_mapping("on: push\njobs:\n\tbuild: {}\n")
    assert yaml_schema.yaml_error("on: push\njobs:\n\tbuild: {}\n")[0] == 3
    assert yaml_schema.yaml_error("on: push\n") is None
    report = workflow_checks.check_workflow("on: [push\n")
    assert not report.ok("yaml") and not report.ok("jobs") and report.doc is None


TAG = {"event_name": "push", "ref": "refs/tags/v1.2.0", "ref_name": "v1.2.0", "ref_type": "tag"}
MAIN = {"event_name": "push", "ref": "refs/heads/main", "ref_name": "main", "ref_type": "branch"}
V_BRANCH = {"event_name": "push", "ref": "refs/heads/v-next", "ref_name": "v-next", "ref_type": "branch"}

# GitHub's documented rules (docs.github.com, "Evaluate expressions in workflows and
# actions"): loose equality coerces to numbers (null 0, true 1, '' 0, other strings as
# JSON numbers or NaN), strings compare ignoring case, && and || return an operand.
EXPRESSIONS = [
    ("'1' == 1", True),
    ("'1.50' == 1.5", True),
    ("'' == 0", True),
    ("null == 0", True),
    ("true == 1", True),
    ("'true' == true", False),  # 'true' is NaN as a number, true is 1
    ("'abc' == 0", False),
    ("'ABC' == 'abc'", True),
    ("fromJSON('[1]') == fromJSON('[1]')", False),  # arrays are equal only to themselves
    ("github.ref_type == 'TAG'", True),
    ("github.nothing", None),
    ("github['ref_name']", "v1.2.0"),
    ("github.nothing || 'fallback'", "fallback"),
    ("github.ref_type && 'yes'", "yes"),
    ("contains('Hello world', 'LLO')", True),
    ('contains(fromJSON(\'["push", "pull_request"]\'), github.event_name)', True),
    ("contains(github.ref, 'heads')", False),
    ("startsWith('Hello world', 'he')", True),
    ("endsWith(github.ref, '.0')", True),
    ("format('Hello {0} {1} {2}', 'Mona', 'the', 'Octocat')", "Hello Mona the Octocat"),
    ("format('{{Hello {0} {1} {2}!}}', 'Mona', 'the', 'Octocat')", "{Hello Mona the Octocat!}"),
    ("format('{0}-{1}', github.ref_name, 3)", "v1.2.0-3"),
    ("join(fromJSON('[\"a\", \"b\"]'), ', ')", "a, b"),
    ("join(fromJSON('[1, true]'))", "1,true"),
    ("join('abc', '-')", "abc"),
    ("toJSON(github.ref_type)", '"tag"'),
    ("toJSON(fromJSON('{\"a\": [1, 2]}'))", '{\n  "a": [\n    1,\n    2\n  ]\n}'),
    ("fromJSON('{\"a\": [1, 2]}').a[1]", 2),
    ("fromJSON('true')", True),
    ("'it''s ''quoted'''", "it's 'quoted'"),
]


@pytest.mark.parametrize("expression, expected", EXPRESSIONS)
def test_expressions_follow_github(github_parser_ready, expression, expected):
    assert expressions.evaluate(expression, {"github": TAG}) == expected
    assert expressions.evaluate("${{ " + expression + " }}", {"github": TAG}) == expected


# (condition, job or step, event, does the job or step run?)
CONDITIONS = [
    ("startsWith(github.ref, 'refs/tags/v')", "job", TAG, True),
    ("startsWith(github.ref, 'refs/tags/v')", "job", MAIN, False),
    ("startsWith(github.ref_name, 'v')", "job", V_BRANCH, True),  # a branch named v-next
    ("github.ref_type == 'tag'", "job", V_BRANCH, False),
    ("${{ github.ref == 'refs/tags/v1.2.0' }}", "job", TAG, True),
    ("github.event_name == 'push' && contains(github.ref, 'refs/tags/')", "job", TAG, True),
    ("github.ref != 'refs/heads/main'", "job", MAIN, False),
    (None, "job", MAIN, True),  # no if: means success()
    ("always()", "job", MAIN, True),
    ("success()", "job", MAIN, True),
    ("failure()", "job", MAIN, False),  # needs are assumed to succeed
    ("failure() || github.ref_type == 'tag'", "job", TAG, True),
    ("!cancelled() && github.ref_type == 'tag'", "job", MAIN, False),
    ("matrix.python-version == '3.11'", "step", MAIN, True),
    (False, "step", TAG, False),
    ("true", "step", TAG, True),
]


@pytest.mark.parametrize("condition, where, github, holds", CONDITIONS)
def test_if_conditions_follow_github(github_parser_ready, condition, where, github, holds):
    context = {"github": github, "matrix": {"python-version": "3.11"}}
    assert expressions.condition_holds(condition, context, where) is holds


@pytest.mark.parametrize(
    "condition, where, message",
    [
        ("matrix.os == 'linux'", "job", "Unrecognized named-value: 'matrix'"),  # no matrix yet
        ("secrets.TOKEN != ''", "step", "Unrecognized named-value: 'secrets'"),
        ('startsWith(github.ref, "refs/tags/")', "job", "Unexpected symbol"),  # strings use ' '
        ("startsWith(github.ref)", "job", "Too few parameters"),
        ("nothing(1)", "step", "Unrecognized function"),
    ],
)
def test_expressions_github_rejects(github_parser_ready, condition, where, message):
    with pytest.raises(ExpressionError, match=message):
        expressions.condition_holds(condition, {"github": TAG}, where)


def test_substitute_and_interpolation(github_parser_ready):
    context = {"matrix": {"python-version": "3.12"}}
    assert expressions.substitute("py${{ matrix.python-version }}-x", context) == "py3.12-x"
    assert expressions.evaluate("a-${{ matrix.python-version }}", context) == "a-3.12"
    assert expressions.substitute("echo '${{ matrix.python-version }}' 'a'", context) == "echo '3.12' 'a'"
    assert expressions.substitute("${{ '{{ not an expression }}' }}", context) == "{{ not an expression }}"
    assert expressions.substitute("n=${{ 1 == 1 }} ${{ github.nothing }}.", context) == "n=true ."
    assert expressions.substitute(True, context) == "true"  # what an action gets for `push: true`
    with pytest.raises(ExpressionError, match="not closed"):
        expressions.substitute("${{ matrix.python-version", context)


def test_github_parser_reports_with_lines(github_parser_ready):
    assert github_parser.workflow_errors(GOOD) == []
    errors = github_parser.workflow_errors(GOOD.replace("needs: lint", "needs: lnt"))
    assert errors and "ci.yml (Line: 18" in errors[0] and "unknown job 'lnt'" in errors[0]
    report = workflow_checks.check_workflow(GOOD.replace("runs-on: ubuntu", "runz-on: ubuntu", 1))
    assert "(Line: 11, Col: 5): Unexpected value 'runz-on'" in report.hints("parser")
    assert not report.ok("schema") and report.ok("jobs", "push")  # the other topics judge on


def test_one_helper_per_process_restarted_when_gone(github_parser_ready):
    def helper():
        return github_parser._helpers.get(os.getpid())

    helpers = github_parser._helpers
    expressions.evaluate("1", {})
    first = helper().process
    expressions.evaluate("2", {})
    assert helper().process is first  # one process serves every request
    first.kill()
    first.wait()
    assert expressions.evaluate("github.ref_type", {"github": TAG}) == "tag"
    assert helper().process is not first
    assert github_parser._helpers is helpers  # changed in place: the grader's guard sees no rebinding
    github_parser.stop()
    assert helper() is None and expressions.evaluate("3", {}) == 3
    with pytest.raises(GitHubParserUnavailable, match="failed on no-such-operation"):
        github_parser.request("no-such-operation")
    dying = helper()
    dying.process.kill()  # dies in the middle of a request
    with pytest.raises(GitHubParserUnavailable, match="did not answer"):
        dying.ask({"op": "expression", "text": "1", "definition": "step-if", "contexts": {}})
    assert expressions.evaluate("4", {}) == 4


def test_node_packages_status_explains_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("MLOPS_COURSE_CACHE", str(tmp_path))
    monkeypatch.delenv("MLOPS_COURSE_ACTIONLINT", raising=False)
    monkeypatch.delenv("MLOPS_COURSE_NPM_PREFIX", raising=False)
    assert f"--prefix {tmp_path / 'npm'} " in node_packages.install_command()
    for status in (actionlint.status, github_parser.status):
        state = status()
        assert not state.available and node_packages.install_command() in state.message
    with pytest.raises(ActionlintUnavailable):
        actionlint.lint_text(GOOD)
    # Another version counts as missing: a graded check must not change with it.
    old = tmp_path / "npm" / "node_modules" / "@actions" / "expressions"
    old.mkdir(parents=True)
    (old / "package.json").write_text('{"version": "0.3.1"}')
    assert "@actions/expressions 0.3.1 in" in github_parser.status().message
    monkeypatch.setenv("PATH", str(tmp_path))
    assert all("Node.js" in status().message for status in (actionlint.status, github_parser.status))


def test_missing_parser_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("MLOPS_COURSE_CACHE", str(tmp_path))
    monkeypatch.delenv("MLOPS_COURSE_NPM_PREFIX", raising=False)
    github_parser.stop()
    with pytest.raises(GitHubParserUnavailable, match="npm install"):
        workflow_checks.check_workflow(GOOD)


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
    assert filters.filter_matches(patterns, value) is expected


def test_branch_filter_alone_means_no_tag_builds():
    doc = yaml_schema.load_mapping("on:\n  push:\n    branches: [main]\njobs: {}\n")
    assert workflow.triggered_by(doc, workflow.EVENTS["push to main"])
    assert not workflow.triggered_by(doc, workflow.EVENTS["version tag"])
    doc = yaml_schema.load_mapping("on: push\njobs: {}\n")
    assert workflow.triggered_by(doc, workflow.EVENTS["version tag"])


def test_simulation_evaluates_if_and_push(github_parser_ready):
    doc = yaml_schema.load_mapping(
        GOOD.replace("  build-and-push:\n", "  build-and-push:\n    if: failure()\n")
    )
    assert simulation.simulate(doc, TAG)["jobs"] == {"lint": True, "test": True, "build-and-push": False}
    doc = yaml_schema.load_mapping(GOOD)
    assert simulation.simulate(doc, V_BRANCH) == {
        "triggered": False,  # the branch filter is [main]
        "jobs": {},
        "pushes": [],
    }
    step_if = GOOD.replace(
        "      - uses: docker/build-push-action",
        "      - if: github.ref_type == 'tag'\n        uses: docker/build-push-action",
    )
    step_if = step_if.replace("${{ startsWith(github.ref, 'refs/tags/v') }}", "true")
    doc = yaml_schema.load_mapping(step_if)
    assert simulation.simulate(doc, TAG)["pushes"] == ["jobs.build-and-push.steps[1]"]
    assert simulation.simulate(doc, MAIN)["pushes"] == []


PUSH_STEP = "      - uses: docker/build-push-action@v6\n"
PUSH_STEP_IF_BRANCH = "      - if: github.ref_type == 'branch'\n        uses: docker/build-push-action@v6\n"
PUSH_IF_TAG = "${{ startsWith(github.ref, 'refs/tags/v') }}"

# A mistake in GOOD -> the topics whose checks it fails (all others stay OK).
MISTAKES = [
    (("    needs: lint\n", ""), {"jobs"}),
    (("needs: lint", "needs: lnt"), {"jobs", "parser", "push"}),  # test never runs, so no push
    (('    tags: ["v*"]\n', ""), {"triggers", "push"}),
    (('tags: ["v*"]', 'tags: ["*"]'), {"triggers"}),
    (("branches: [main]", "branches: [master]"), {"triggers"}),
    (("  pull_request:\n", "  pull_request_target:\n"), {"triggers"}),
    (('["3.11", "3.12"]', "[3.10, 3.11]"), {"matrix"}),
    (('["3.11", "3.12"]', '["3.11"]'), {"matrix"}),
    (("${{ matrix.python-version }}", "'3.11'"), {"matrix"}),
    (("          cache: pip\n      - run: python", "      - run: python"), {"cache"}),
    (("docker/login-action@v3", "docker/setup-buildx-action@v3"), {"login"}),
    (("${{ secrets.GITHUB_TOKEN }}", "hunter2"), {"login", "secrets"}),
    (("${{ secrets.GITHUB_TOKEN }}", "${{ env.PASSWORD }}"), {"login"}),
    (
        (
            "      - run: python -m pytest -q\n",
            "      - run: python -m pytest -q\n        env: {API_TOKEN: ghp_abcdefghijklmnopqrstuvwxyz0123456789}\n",
        ),
        {"secrets"},
    ),
    ((PUSH_IF_TAG, "true"), {"push"}),
    ((PUSH_IF_TAG, "${{ github.event_name == 'push' }}"), {"push"}),
    ((PUSH_IF_TAG, '${{ startsWith(github.ref, "refs/tags/v") }}'), {"parser", "push"}),
    ((PUSH_STEP, PUSH_STEP_IF_BRANCH), {"push"}),
    (
        ("    steps:\n      - uses: docker", "    stepz:\n      - uses: docker"),
        {"schema", "parser", "login", "push"},
    ),
]


@pytest.mark.parametrize("mistake, topics", MISTAKES, ids=[m[0][1].strip()[:40] for m in MISTAKES])
def test_mistakes_fail_their_own_topics(github_parser_ready, mistake, topics):
    old, new = mistake
    assert old in GOOD
    report = workflow_checks.check_workflow(GOOD.replace(old, new, 1))
    assert {topic for topic, problems in report.problems.items() if problems} == topics, str(report)


def test_docker_push_in_a_run_step_counts_as_a_push(github_parser_ready):
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
    findings = credentials.hardcoded_credentials(yaml_schema.load_mapping(text), text)
    joined = " ".join(findings)
    assert "with.password" in joined and "command line" in joined and "env.API_TOKEN" in joined
    assert all("secrets" in f and "rotate" in f for f in findings)
    clean = credentials.hardcoded_credentials(yaml_schema.load_mapping(GOOD), GOOD)
    assert clean == []


def test_matrix_numbers_and_missing_cache(github_parser_ready):
    text = GOOD.replace('["3.11", "3.12"]', "[3.10, 3.11]").replace(
        "          cache: pip\n      - run: python -m pytest", "      - run: python -m pytest"
    )
    report = workflow_checks.check_workflow(text)
    assert "3.1" in report.hints("matrix") and not report.ok("cache")


def test_dependabot_checks():
    ok = "version: 2\nupdates:\n  - package-ecosystem: github-actions\n    directory: /\n    schedule:\n      interval: weekly\n"
    assert dependabot.check_dependabot(ok).ok
    daily = dependabot.check_dependabot(ok.replace("weekly", "daily"))
    assert not daily.ok and "weekly" in daily.hints()
    assert not dependabot.check_dependabot(ok.replace("github-actions", "actions")).ok  # schema enum
    assert not dependabot.check_dependabot("version: 2\nupdates: [\n").ok


def test_schema_errors_point_at_the_field():
    doc = yaml_schema.load_mapping("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    errors = yaml_schema.schema_errors(doc)
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
        assert (yaml_schema.schema_errors(yaml_schema.load_mapping(text)) == []) is valid


# --- mlops_course.labs.cicd.actionlint ---------------------------------------------------------------


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


# --- the questions computed from each SEED ------------------------------------------------------

THEORY_SETUP = "from mlops_course.labs import quiz\n"
COMPUTED = ["q_tag_minutes", "q_pr_jobs"]
SEEDS = range(60)


@pytest.mark.parametrize("question", COMPUTED)
def test_a_computed_question_gives_the_model_answer_full_marks_for_every_seed(question):
    """The model answer and the hidden test's key agree for every student, and a number
    copied from a neighbour is mostly wrong."""
    answers = []
    for seed in SEEDS:
        namespace, points = computed_question(
            ASSIGNMENT, question, seed, setup=THEORY_SETUP, given=["given_pipeline"]
        )
        assert points == 1, (seed, namespace[question])
        answers.append(namespace[question])
    assert max(Counter(answers).values()) < len(answers) / 3, Counter(answers)


@pytest.mark.parametrize(
    "question, edits",
    [
        (
            "q_tag_minutes",
            [
                (
                    "q_tag_minutes = max(minute for minute in finished.values() if minute is not None)",
                    'q_tag_minutes = sum(PIPELINE[job]["minutes"] for job, end in finished.items() if end is not None)',
                )
            ],
        ),
        ("q_pr_jobs", [("combinations *= len(values)", "combinations = 1")]),
    ],
    ids=["minutes-one-after-another", "pr-jobs-matrix-once"],
)
def test_a_typical_mistake_in_a_computed_question_earns_nothing_for_most_students(question, edits):
    wrong = source_answer(ASSIGNMENT, question, *edits)
    points = [
        computed_question(
            ASSIGNMENT, question, seed, setup=THEORY_SETUP, given=["given_pipeline"], answer=wrong
        )[1]
        for seed in SEEDS
    ]
    assert points.count(0) >= 0.75 * len(points), points


def test_the_jobs_the_questions_count_are_those_github_runs(github_parser_ready):
    """For Q8 and Q9 the model answer decides which jobs run; GitHub's own evaluator,
    replaying the printed workflow for a version tag and a pull request, agrees."""
    for seed in range(15):
        namespace, _ = computed_question(
            ASSIGNMENT, "q_tag_minutes", seed, setup=THEORY_SETUP, given=["given_pipeline"]
        )
        doc = yaml_schema.load_mapping(namespace["workflow_text"](namespace["PIPELINE"]))
        on_tag = simulation.simulate(doc, workflow.EVENTS["version tag"])
        assert on_tag["jobs"] == {job: end is not None for job, end in namespace["finished"].items()}, seed
        namespace, _ = computed_question(
            ASSIGNMENT, "q_pr_jobs", seed, setup=THEORY_SETUP, given=["given_pipeline"]
        )
        assert simulation.simulate(doc, workflow.EVENTS["pull request"])["jobs"] == namespace["runs"], seed


# --- typical mistakes lose the right points (graded for real) ------------------------------


@pytest.fixture
def notebook_parts():
    require_parts(notebook_requires(REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    needs_actionlint()


WORKFLOW_TESTS = [
    "test_workflow_schema",
    "test_workflow_actionlint",
    "test_workflow_triggers",
    "test_workflow_jobs",
    "test_workflow_matrix_cache",
    "test_workflow_push_on_tags",
    "test_workflow_login",
    "test_workflow_secrets",
]

LOGIN_STEP = """      - uses: docker/login-action@v3
        with:
          registry: ${{ vars.REGISTRY }}
          username: ${{ github.actor }}
          password: ${{ secrets.REGISTRY_TOKEN }}
"""


@pytest.mark.slow
def test_typical_mistakes_lose_the_right_points(grade_variant, notebook_parts):
    """One variant: no `needs` from test to lint, push on every branch, no registry
    login; a gate that evaluates on the training data; a runner that ignores the clean
    checkout. Each loses its own cell's points only, and the other half of every
    criterion split in two (secrets, quality-gate, local-ci) keeps its points."""
    workflow = source_answer(
        ASSIGNMENT,
        "workflow",
        ("    needs: lint\n", ""),
        ("    if: startsWith(github.ref, 'refs/tags/v')\n", ""),
        (LOGIN_STEP, ""),
    )
    gate = source_answer(
        ASSIGNMENT,
        "quality_gate",
        ("_, X_test, _, y_test = load_split()", "X_test, _, y_test, _ = load_split()"),
    )
    runner = source_answer(
        ASSIGNMENT,
        "run_job_locally",
        ("checkout = local_runner.clean_checkout(repo_dir)", "checkout = Path(repo_dir)"),
    )
    result = grade_variant(
        ASSIGNMENT, {"workflow": workflow, "quality_gate": gate, "run_job_locally": runner}
    )
    s, m = result.scores, result.max_scores
    for lost in (
        "test_workflow_jobs",
        "test_workflow_push_on_tags",
        "test_workflow_login",
        "test_quality_gate_held_out",
        "test_run_job_locally_like_a_runner",
    ):
        assert s[lost] == 0, (lost, s)
    for kept in (
        "test_workflow_schema",
        "test_workflow_actionlint",
        "test_workflow_triggers",
        "test_workflow_matrix_cache",
        "test_workflow_secrets",
        "test_dependabot_config",
        "test_quality_gate",
        "test_run_job_locally",
        "test_q_delivery",
        "test_q_ml_ci",
    ):
        assert s[kept] == m[kept], (kept, s)


@pytest.mark.slow
def test_invalid_yaml_loses_every_workflow_point_only(grade_variant, notebook_parts):
    """A tab in the workflow: every workflow cell scores 0, and so does the local run of
    its test job; a gate with a fixed threshold loses only the threshold's cell; the
    runner's own rules and the other exercises keep their points."""
    workflow = source_answer(ASSIGNMENT, "workflow", ("  lint:\n    runs-on", "  lint:\n\truns-on"))
    dependabot = source_answer(ASSIGNMENT, "dependabot_config", ("interval: weekly", "interval: daily"))
    gate = source_answer(
        ASSIGNMENT,
        "quality_gate",
        ('MIN_ACCURACY = float(os.environ.get("MIN_ACCURACY", "0.90"))', "MIN_ACCURACY = 0.90"),
    )
    result = grade_variant(
        ASSIGNMENT, {"workflow": workflow, "dependabot_config": dependabot, "quality_gate": gate}
    )
    s, m = result.scores, result.max_scores
    assert all(s[t] == 0 for t in WORKFLOW_TESTS), s
    assert s["test_dependabot_config"] == 0 and s["test_run_job_locally"] == 0, s
    assert s["test_quality_gate_held_out"] == 0, s
    for kept in ("test_quality_gate", "test_run_job_locally_like_a_runner", "test_q_rollout"):
        assert s[kept] == m[kept], (kept, s)
