"""m6_tuning: the tuning helpers (curves, compute, worker processes on a shared SQLite
study) and typical mistakes losing the right points."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from helpers import source_answer

from mlops_course.labs.tuning import studies as tuning

ASSIGNMENT = "m6_tuning"
tuning.quiet_optuna()


def _study(values, direction="maximize", steps=None, pruned=()):
    """An in-memory study with given final values (None = failed) and step counts."""
    study = optuna.create_study(direction=direction)
    for index, value in enumerate(values):
        trial = study.ask()
        for step in range((steps or [0] * len(values))[index]):
            trial.report(0.0, step)
        if index in pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        elif value is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, value)
    return study


def test_best_so_far_maximise_and_minimise():
    up = tuning.best_so_far(_study([0.5, None, 0.7, 0.6]))
    assert up[0] == 0.5 and up[1] == 0.5 and list(up[2:]) == [0.7, 0.7]
    down = tuning.best_so_far(_study([3.0, 1.0, 2.0], direction="minimize"))
    assert list(down) == [3.0, 1.0, 1.0]
    first_failed = tuning.best_so_far(_study([None, 0.2]))
    assert math.isnan(first_failed[0]) and first_failed[1] == 0.2


def test_compute_counts_reported_steps():
    study = _study([0.5, 0.1, 0.9], steps=[4, 1, 4], pruned={1})
    assert tuning.compute_used(study) == 9
    assert list(tuning.compute_curve(study)) == [4, 5, 9]
    assert tuning.compute_to_reach(study, 0.5) == 4
    assert tuning.compute_to_reach(study, 0.8) == 9
    assert tuning.compute_to_reach(study, 0.95) is None
    silent = _study([0.5, 0.6])  # finished trials that never reported
    assert tuning.compute_used(silent) == 0
    assert tuning.compute_used(silent, full_steps=8) == 16


def test_trials_by_worker_and_sqlite_url(tmp_path):
    study = optuna.create_study()
    study.enqueue_trial({})
    trial = study.ask()
    trial.set_user_attr("worker", "w1")
    study.tell(trial, 1.0)
    study.tell(study.ask(), 2.0)
    assert tuning.trials_by_worker(study) == {"w1": 1, "notebook": 1}
    url = tuning.sqlite_url(tmp_path / "x.db")
    assert url.startswith("sqlite:////") and url.endswith("/x.db")


def test_replayed_curves_follow_the_median_rule_of_part_1():
    """What Q10 and Q11 ask, on curves made by hand: the best value so far is compared
    with the median of the *completed* trials at that step, from the warm-up step on."""
    curves = [
        [0.5, 0.6, 0.7],
        [0.4, 0.5, 0.6],
        [0.3, 0.4, 0.5],
        [0.2, 0.1, 0.1],  # below the median at step 0 (warm-up: not judged), stopped at step 1
        [0.45, 0.55, 0.9],
        [0.8, 0.3, 0.3],  # worse than the median from step 1 on, but its best so far is not
        [0.47, 0.47, 0.47],  # above the median only if the stopped trial's 0.1 counted
    ]
    study = tuning.replay_curves(curves, optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1))
    pruned = [t.number for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned == [3, 6]
    assert tuning.compute_used(study) == 3 * 5 + 2 * 2


def learning_curves(seed: int) -> list:
    """LEARNING_CURVES of the notebook's locked cell for ``seed``."""
    namespace = {"np": np, "SEED": seed, "print": lambda *args: None}
    exec(source_answer(ASSIGNMENT, "given_learning_curves"), namespace)
    return namespace["LEARNING_CURVES"]


def pruning_answers(seed: int) -> tuple[int, int]:
    """The keys of Q10 and Q11 for ``seed``: trials stopped, steps run."""
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    study = tuning.replay_curves(learning_curves(seed), pruner)
    stopped = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    return stopped, tuning.compute_used(study)


def test_the_pruning_questions_differ_from_student_to_student():
    """A neighbour's numbers (or those printed with the default SEED) are mostly wrong."""
    answers = [pruning_answers(seed) for seed in range(40)]
    steps = [steps for _, steps in answers]
    assert all(0 < stopped < 10 for stopped, _ in answers)
    assert max(steps.count(value) for value in set(steps)) <= 10, sorted(steps)
    assert len(set(answers)) >= 10


def _objective(trial):
    x = trial.suggest_float("x", -5, 5)
    for step in range(3):
        trial.report(-((x - 1) ** 2), step)
    return -((x - 1) ** 2)


def test_workers_share_a_stored_study(tmp_path):
    """Two processes at once on one SQLite study: trials of both, unique numbers, a
    resumed third process adds to the same study."""
    url = tuning.sqlite_url(tmp_path / "s.db")
    optuna.create_study(study_name="s", storage=tuning.storage(url), direction="maximize")
    results = tuning.run_workers(_objective, url, "s", n_trials=5, n_workers=2, seed=3, timeout=240)
    assert all(r.ok for r in results), [r.log for r in results]
    study = optuna.load_study(study_name="s", storage=url)
    assert tuning.trials_by_worker(study) == {"worker-1": 5, "worker-2": 5}
    assert sorted(t.number for t in study.trials) == list(range(10))
    assert len({t.params["x"] for t in study.trials}) == 10
    resumed = tuning.resume_in_subprocess(_objective, url, "s", n_trials=2, timeout=240)
    assert resumed.ok, resumed.log
    assert len(optuna.load_study(study_name="s", storage=url).trials) == 12


def test_worker_cannot_resume_a_study_that_was_never_stored(tmp_path):
    url = tuning.sqlite_url(tmp_path / "empty.db")
    result = tuning.resume_in_subprocess(_objective, url, "nowhere", n_trials=1, timeout=240)
    assert result.returncode == 2 and "no study named 'nowhere'" in result.log


def test_unpicklable_objective_is_explained(tmp_path):
    import threading

    lock = threading.Lock()

    def objective(trial):
        with lock:
            return 0.0

    with pytest.raises(TypeError, match="cannot be sent to a worker"):
        tuning.run_workers(objective, tuning.sqlite_url(tmp_path / "u.db"), "u", n_trials=1)


# --- the notebook: typical mistakes lose the right points --------------------------------

OBJECTIVE_ON_TEST_SET_WITHOUT_REPORTS = """
def objective(trial):
    # two typical mistakes at once: it scores on the test set, and it never reports
    alpha = trial.suggest_float("alpha", 1e-7, 1.0, log=True)
    eta0 = trial.suggest_float("eta0", 1e-5, 10.0, log=True)
    model = make_model(alpha, eta0)
    for step in range(EPOCHS):
        model.partial_fit(x_train, y_train, classes=CLASSES)
    return float(model.score(x_test, y_test))
"""

STUDY_IN_MEMORY = """
def make_study(storage_url, study_name):
    # forgets the storage: the study lives and dies with this process
    return optuna.create_study(study_name=study_name, direction="maximize",
                               sampler=optuna.samplers.TPESampler(seed=SEED))
"""


def _outputs_text(path) -> str:
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    return "\n".join(
        out.get("text", "") + out.get("evalue", "") + "".join(out.get("traceback", []))
        for cell in nb.cells
        for out in cell.get("outputs", [])
    )


@pytest.mark.slow
def test_typical_mistakes_lose_points(grade_variant):
    result = grade_variant(
        ASSIGNMENT,
        {
            "objective": OBJECTIVE_ON_TEST_SET_WITHOUT_REPORTS,
            "make_study": STUDY_IN_MEMORY,
            "q_test_set": source_answer(
                ASSIGNMENT, "q_test_set", ('q_test_set = "optimistic"', 'q_test_set = "nothing"')
            ),
            # the old key: a storage counted as reproducibility (issue 14)
            "q_reproducible": source_answer(
                ASSIGNMENT,
                "q_reproducible",
                ('q_reproducible = {"sampler_seed"', 'q_reproducible = {"storage", "sampler_seed"'),
            ),
            # the number printed with the default SEED = 42, not computed from the grader's SEED
            "q_steps_run": source_answer(
                ASSIGNMENT,
                "q_steps_run",
                (
                    "q_steps_run = sum(len(trial.intermediate_values) for trial in replayed.trials)",
                    "q_steps_run = 44",
                ),
            ),
        },
    )
    assert result.result.status == "graded", result.result.reason
    lost = {cell for cell, score in result.scores.items() if score < result.max_scores[cell]}
    # tuning on the test set, and no intermediate values
    assert result.scores["test_objective_cv"] == 0
    # pruning that never reports: nothing is pruned, no compute saved
    assert result.scores["test_pruned_search_savings"] == 0
    # a study that cannot be resumed (in memory): neither the second process nor the workers find it
    assert result.scores["test_make_study_resumable"] == 0
    assert result.scores["test_parallel_workers"] == 0
    assert result.scores["test_q_test_set"] == 0
    assert 0 < result.scores["test_q_reproducible"] < result.max_scores["test_q_reproducible"]
    assert pruning_answers(42)[1] == 44 != pruning_answers(result.result.seed)[1]
    assert result.scores["test_q_steps_run"] == 0
    assert result.scores["test_q_pruned_trials"] == result.max_scores["test_q_pruned_trials"]
    # the comparison of samplers and the final test still work with this objective
    assert result.scores["test_searches_compared"] == result.max_scores["test_searches_compared"]
    assert result.scores["test_final_scores"] == result.max_scores["test_final_scores"]
    assert lost - set(result.manual) == {
        "test_objective_cv",
        "test_pruned_search_savings",
        "test_make_study_resumable",
        "test_parallel_workers",
        "test_q_test_set",
        "test_q_reproducible",
        "test_q_steps_run",
    }
    text = _outputs_text(result.executed)
    assert "call trial.report(score, step) after every epoch" in text
    assert "the second process could not resume the study" in text


STUDY_WITHOUT_LOAD_IF_EXISTS = """
def make_study(storage_url, study_name):
    # stored, but a second call with the same name fails (DuplicatedStudyError)
    return optuna.create_study(study_name=study_name, storage=tuning.storage(storage_url),
                               direction="maximize", sampler=optuna.samplers.TPESampler(seed=SEED))
"""

SEARCHES_WITH_DEFAULT_PRUNER = """
samplers = {
    "grid": optuna.samplers.GridSampler(GRID, seed=SEED),
    "random": optuna.samplers.RandomSampler(seed=SEED),
    "tpe": optuna.samplers.TPESampler(seed=SEED),
}
studies = {}
for name, sampler in samplers.items():
    # Optuna's default MedianPruner stops trials: the budgets are no longer equal
    studies[name] = optuna.create_study(study_name=name, direction="maximize", sampler=sampler)
    studies[name].optimize(objective, n_trials=N_TRIALS)
"""

FINAL_SCORES_ON_TRAINING_DATA = """
def fit_on_training_data(model):
    for _ in range(EPOCHS):
        model.partial_fit(x_train, y_train, classes=CLASSES)
    return model


baseline_model = fit_on_training_data(make_model(alpha=1e-4, eta0=0.01))
tuned_model = fit_on_training_data(make_model(**pruned_study.best_params))
final_scores = {"baseline": float(baseline_model.score(x_train, y_train)),
                "tuned": float(tuned_model.score(x_train, y_train))}
"""


@pytest.mark.slow
def test_more_mistakes_lose_points(grade_variant):
    result = grade_variant(
        ASSIGNMENT,
        {
            "make_study": STUDY_WITHOUT_LOAD_IF_EXISTS,
            "searches": SEARCHES_WITH_DEFAULT_PRUNER,
            "final_scores": FINAL_SCORES_ON_TRAINING_DATA,
        },
    )
    assert result.result.status == "graded", result.result.reason
    lost = {cell for cell, score in result.scores.items() if score < result.max_scores[cell]}
    assert result.scores["test_make_study_resumable"] == 0  # make_study cannot be called again
    assert result.scores["test_searches_compared"] == 0  # pruned trials: unequal budgets
    assert result.scores["test_final_scores"] == 0  # scored on the training data
    assert lost - set(result.manual) == {
        "test_make_study_resumable",
        "test_searches_compared",
        "test_final_scores",
    }
    text = _outputs_text(result.executed)
    assert "load_if_exists=True" in text
    assert "no pruning (pruner=optuna.pruners.NopPruner())" in text
