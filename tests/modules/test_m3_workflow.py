"""m3_workflow: the offline Prefect helpers, the MLflow helpers, and typical mistakes
losing the right points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections import Counter

import pytest
from helpers import computed_question, source_answer

from mlops_course.labs.workflow import prefect_local, tracking

ASSIGNMENT = "m3_workflow"


# --- unit tests of mlops_course.labs.workflow.prefect_local ----------------------------------------------


def test_transient_fault_fails_then_passes():
    fault = prefect_local.TransientFault().arm(2)
    for _ in range(2):
        with pytest.raises(ConnectionError, match="transient"):
            fault.check()
    fault.check()
    prefect_local.TransientFault().check()  # unarmed: never fails


def test_task_run_info_flags():
    retried = prefect_local.TaskRunInfo(
        "ingest-1", "ingest", "Completed", "COMPLETED", 2, ["Pending", "Running", "Retrying", "Completed"]
    )
    assert retried.retried and not retried.cached
    cached = prefect_local.TaskRunInfo(
        "train-1", "train", "Cached", "COMPLETED", 1, ["Pending", "Running", "Cached"]
    )
    assert cached.cached and not cached.retried
    assert prefect_local._task_name("train-6718ab", "train-0a7") == "train"
    assert prefect_local._task_name("", "load_data-0a7") == "load_data"


# A real Prefect run in a fresh process: configure() must come before `import prefect`.
PREFECT_SCRIPT = textwrap.dedent("""
    import json, os, sys
    from mlops_course.labs.workflow import prefect_local
    home = prefect_local.configure(sys.argv[1])
    env = {k: os.environ.get(k) for k in ("PREFECT_HOME", "PREFECT_LOGGING_LEVEL", "DO_NOT_TRACK",
                                          "PREFECT_SERVER_ANALYTICS_ENABLED", "PREFECT_API_URL")}
    from prefect import flow, task
    from prefect.cache_policies import INPUTS, TASK_SOURCE
    again = str(prefect_local.configure(sys.argv[1]))  # a re-run cell: same home, fine
    try:
        prefect_local.configure(sys.argv[1] + "-other")
        refused = False
    except RuntimeError:
        refused = True
    fault = prefect_local.TransientFault().arm(1)

    @task(retries=1, retry_delay_seconds=0)
    def flaky():
        fault.check()
        return 3

    @task(cache_policy=INPUTS + TASK_SOURCE)
    def square(x):
        return x * x

    @flow
    def pipeline(x):
        return square(flaky() + x)

    states = [pipeline(1, return_state=True), pipeline(1, return_state=True)]
    runs = [[r.__dict__ for r in prefect_local.task_runs(s.state_details.flow_run_id, expected=2)]
            for s in states]
    print(json.dumps({"home": str(home), "env": env, "again": again, "refused": refused,
                      "db": os.path.exists(os.path.join(str(home), "prefect.db")),
                      "results": [s.result() for s in states],
                      "flow_state": prefect_local.flow_run_state(states[0].state_details.flow_run_id),
                      "runs": runs}))
""")


@pytest.mark.slow
def test_offline_prefect_records_retries_and_cache_hits(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_API_URL"] = "http://127.0.0.1:9/api"  # configure() must remove it
    proc = subprocess.run(
        [sys.executable, "-c", PREFECT_SCRIPT, str(tmp_path / "home")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["env"]["PREFECT_HOME"] == str(tmp_path / "home") and out["env"]["PREFECT_API_URL"] is None
    assert out["env"]["DO_NOT_TRACK"] == "1" and out["env"]["PREFECT_LOGGING_LEVEL"] == "WARNING"
    assert out["again"] == out["home"] and out["refused"] and out["db"]
    assert out["results"] == [16, 16] and out["flow_state"] == "Completed"
    first, second = ({r["task_name"]: r for r in runs} for runs in out["runs"])
    assert first["flaky"]["run_count"] == 2 and "Retrying" in first["flaky"]["history"]
    assert first["square"]["state"] == "Completed" and second["square"]["state"] == "Cached"
    assert second["flaky"]["run_count"] == 1


# --- unit tests of mlops_course.labs.workflow.tracking ---------------------------------------------------


@pytest.fixture
def mlflow_folder(tmp_path, monkeypatch):
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", *tracking.MLFLOW_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLOPS_COURSE_CACHE", str(tmp_path / "cache"))
    import mlflow

    yield tmp_path / "mlflow"
    mlflow.set_tracking_uri(None)  # back to MLflow's default for the rest of the session
    mlflow.set_registry_uri(None)


def test_tracking_runs_and_registry(mlflow_folder):
    import mlflow
    import mlflow.sklearn
    from sklearn.dummy import DummyClassifier

    uri = tracking.configure(mlflow_folder)
    assert uri == f"sqlite:///{mlflow_folder.resolve() / 'mlflow.db'}"
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert (mlflow_folder.parent / "cache" / "templates").exists()  # template made on first use
    assert tracking.runs("nothing-yet") == [] and tracking.versions("none") == []
    exp = tracking.experiment_id("exp", mlflow_folder / "artifacts")
    assert tracking.experiment_id("exp", mlflow_folder / "artifacts") == exp
    model = DummyClassifier(strategy="constant", constant=1).fit([[0], [1]], [0, 1])
    for _ in range(2):
        with mlflow.start_run(experiment_id=exp):
            mlflow.log_param("C", 1)
            mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name="m",
                serialization_format="cloudpickle",
                pip_requirements=["scikit-learn"],
            )
    assert len(tracking.runs("exp")) == 2
    assert [v.version for v in tracking.versions("m")] in (["1", "2"], [1, 2])
    loaded = mlflow.sklearn.load_model("models:/m/2")
    assert list(loaded.predict([[5]])) == [1]
    assert (mlflow_folder / "artifacts").exists()


# --- the questions computed from each SEED --------------------------------------------------------------

THEORY_SETUP = "import numpy as np\nfrom mlops_course.labs import quiz\n"
COMPUTED = {"q_cached_calls": ["given_task_calls"], "q_ingest_attempts": ["given_source_failures"]}
SEEDS = range(60)


@pytest.mark.parametrize("question", COMPUTED)
def test_a_computed_question_gives_the_model_answer_full_marks_for_every_seed(question):
    """The model answer and the hidden test's key agree for every student, and a number
    copied from a neighbour is mostly wrong."""
    answers = []
    for seed in SEEDS:
        namespace, points = computed_question(
            ASSIGNMENT, question, seed, setup=THEORY_SETUP, given=COMPUTED[question]
        )
        assert points == 1, (seed, namespace[question])
        answers.append(namespace[question])
    assert max(Counter(answers).values()) < len(answers) / 3, Counter(answers)


# Ignoring the code version matters only where a later flow run repeats a train call with
# edited code: about half the seeds (32 of these 60); the other mistakes show in almost all.
@pytest.mark.parametrize(
    "question, edits, share",
    [
        (
            "q_cached_calls",
            [('    if "TASK_SOURCE" in policy:\n        key.append(call["code"])\n', "")],
            0.5,
        ),
        (
            "q_ingest_attempts",
            [("min(failures + 1, INGEST_RETRIES + 1)", "min(failures + 1, INGEST_RETRIES)")],
            0.75,
        ),
        ("q_ingest_attempts", [("min(failures + 1, INGEST_RETRIES + 1)", "failures + 1")], 0.75),
    ],
    ids=["cache-code-ignored", "retries-are-all-attempts", "retries-unlimited"],
)
def test_a_typical_mistake_in_a_computed_question_earns_nothing_for_most_students(question, edits, share):
    wrong = source_answer(ASSIGNMENT, question, *edits)
    points = [
        computed_question(
            ASSIGNMENT, question, seed, setup=THEORY_SETUP, given=COMPUTED[question], answer=wrong
        )[1]
        for seed in SEEDS
    ]
    assert points.count(0) > share * len(points), points


# The task calls of one student run through real Prefect, in a fresh process (configure()
# before `import prefect`): every task and version of its code in a module of its own,
# since TASK_SOURCE reads the task's source.
CACHED_CALLS_SCRIPT = textwrap.dedent("""
    import importlib.util, json, sys
    from pathlib import Path
    from mlops_course.labs.workflow import prefect_local
    prefect_local.configure(sys.argv[1])
    from prefect import flow
    calls, policies = json.loads(sys.argv[2])
    folder, tasks = Path(sys.argv[1]).parent, {}

    def task_of(name, version):
        if (name, version) not in tasks:
            path = folder / f"{name}_{version}.py"
            arguments = ", ".join(next(call["arguments"] for call in calls if call["task"] == name))
            path.write_text(
                "from prefect import task\\n"
                "from prefect.cache_policies import INPUTS, NO_CACHE, RUN_ID, TASK_SOURCE\\n"
                f"@task(name={name!r}, cache_policy={policies[name]})\\n"
                f"def {name}({arguments}):\\n    return {version!r}\\n"
            )
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            tasks[name, version] = getattr(module, name)
        return tasks[name, version]

    cached = 0
    for flow_run in sorted({call["flow_run"] for call in calls}):
        these = [call for call in calls if call["flow_run"] == flow_run]

        @flow
        def pipeline():
            for call in these:
                task_of(call["task"], call["code"])(**call["arguments"])

        state = pipeline(return_state=True)
        runs = prefect_local.task_runs(state.state_details.flow_run_id, expected=len(these))
        cached += sum(run.state == "Cached" for run in runs)
    print(cached)
""")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 13])
def test_the_cached_calls_key_is_what_prefect_does(tmp_path, seed):
    """Q7's key for two students whose calls hit every rule (INPUTS alone after an edit,
    TASK_SOURCE after an edit, RUN_ID within and across flow runs, NO_CACHE): Prefect's
    own task run states count the same Cached calls."""
    namespace, _ = computed_question(
        ASSIGNMENT, "q_cached_calls", seed, setup=THEORY_SETUP, given=["given_task_calls"]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            CACHED_CALLS_SCRIPT,
            str(tmp_path / "home"),
            json.dumps([namespace["TASK_CALLS"], namespace["CACHE_POLICIES"]]),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert int(proc.stdout.strip().splitlines()[-1]) == namespace["q_cached_calls"]


# --- typical mistakes lose the right points (graded for real) ------------------------------


@pytest.mark.slow
def test_typical_mistakes_lose_the_right_points(grade_variant):
    """One variant, four mistakes: ingest without retries, a cache key that never hits
    across runs (RUN_ID), a tracked run per trained candidate on top of the one in
    register, and C chosen on the test set (no validation stage). Each loses its own
    test; the rest keeps full marks (the flow still completes: test_pipeline_flow_runs)."""
    tasks = source_answer(
        ASSIGNMENT,
        "pipeline_tasks",
        ("@task(retries=2, retry_delay_seconds=0)", "@task"),
        ("@task(cache_policy=INPUTS + TASK_SOURCE)", "@task(cache_policy=INPUTS + TASK_SOURCE + RUN_ID)"),
        (
            "    return LogisticRegression(C=C, max_iter=1000, random_state=seed).fit(X_train, y_train)",
            "    with mlflow.start_run(experiment_id=tracking.experiment_id(EXPERIMENT, ARTIFACTS)):\n"
            '        mlflow.log_param("C", C)\n'
            "    return LogisticRegression(C=C, max_iter=1000, random_state=seed).fit(X_train, y_train)",
        ),
    )
    assert tasks.count("RUN_ID") == 1 and "retries" not in tasks and tasks.count("start_run") == 2
    flow = source_answer(
        ASSIGNMENT,
        "pipeline_flow",
        (
            'val_scores[C] = evaluate(models[C], data["X_val"], data["y_val"])',
            'val_scores[C] = evaluate(models[C], data["X_test"], data["y_test"])',
        ),
        (
            'test_accuracy = evaluate(models[best_C], data["X_test"], data["y_test"])',
            "test_accuracy = val_scores[best_C]",
        ),
    )
    result = grade_variant(ASSIGNMENT, {"pipeline_tasks": tasks, "pipeline_flow": flow})
    s, m = result.scores, result.max_scores
    for lost in (
        "test_pipeline_tasks_retries",
        "test_pipeline_tasks_caching",
        "test_pipeline_flow_tracking",
        "test_pipeline_flow_stages",
    ):
        assert s[lost] == 0, (lost, s)
    for kept in (
        "test_pipeline_tasks_validate",
        "test_pipeline_flow_runs",
        "test_load_registered_model",
        "test_q_stage_order",
        "test_q_tracking",
    ):
        assert s[kept] == m[kept], (kept, s)
