"""m3_workflow: the offline Prefect helpers, the MLflow helpers, and typical mistakes
losing the right points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from helpers import source_answer

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
            '    return SVC(C=C, gamma="scale", random_state=seed).fit(X_train, y_train)',
            "    with mlflow.start_run(experiment_id=tracking.experiment_id(EXPERIMENT, ARTIFACTS)):\n"
            '        mlflow.log_param("C", C)\n'
            '    return SVC(C=C, gamma="scale", random_state=seed).fit(X_train, y_train)',
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
