"""Helpers for hyperparameter tuning with Optuna (module m6_tuning).

- quiet logging, SQLite storage that waits for locks instead of failing;
- best-so-far curves and the compute (training steps) a study used, so that searches
  are compared per unit of work, not per trial;
- a replay of given learning curves under a pruner (which trials it stops, and when);
- worker processes that optimise a study in shared storage: the notebook's objective
  is shipped to them with cloudpickle, each worker loads the study *by name* from the
  storage (so a study that was not stored cannot be resumed) and tags its trials with
  a ``worker`` user attribute.

The worker is this module run as a program:
``python -m mlops_course.labs.tuning.studies --objective FILE --storage URL --study NAME ...``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SQLITE_TIMEOUT_S = 60


def quiet_optuna() -> None:
    """Only warnings and errors from Optuna; no ExperimentalWarning noise."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def sqlite_url(path: str | os.PathLike) -> str:
    """``sqlite:///`` URL of an absolute path (a relative URL breaks in a worker that
    runs in another folder)."""
    return "sqlite:///" + str(Path(path).resolve())


def storage(url: str, timeout: float = SQLITE_TIMEOUT_S):
    """An RDB storage; for SQLite, writers wait up to ``timeout`` seconds for the lock
    (several processes share one file) instead of failing with "database is locked"."""
    import optuna

    if url.startswith("sqlite"):
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": timeout}})
    return optuna.storages.RDBStorage(url)


def _trials(study_or_trials) -> list:
    return list(getattr(study_or_trials, "trials", study_or_trials))


def _sign(study_or_trials, direction: str | None) -> float:
    if direction is None:
        direction = getattr(getattr(study_or_trials, "direction", None), "name", "MAXIMIZE")
    return 1.0 if str(direction).upper().endswith("MAXIMIZE") else -1.0


def best_so_far(study_or_trials, direction: str | None = None) -> np.ndarray:
    """Best objective value after each trial (NaN before the first completed trial;
    pruned and failed trials carry the previous best)."""
    from optuna.trial import TrialState

    sign = _sign(study_or_trials, direction)
    best, curve = -np.inf, []
    for trial in _trials(study_or_trials):
        if trial.state == TrialState.COMPLETE and trial.value is not None:
            best = max(best, sign * trial.value)
        curve.append(sign * best if np.isfinite(best) else np.nan)
    return np.array(curve, dtype=float)


def steps_used(trial, full_steps: int | None = None) -> int:
    """Training steps one trial ran: the number of intermediate values it reported;
    a finished trial that reported nothing counts ``full_steps`` (if given)."""
    steps = len(trial.intermediate_values)
    if steps == 0 and full_steps is not None and trial.state.is_finished():
        return full_steps
    return steps


def compute_curve(study_or_trials, full_steps: int | None = None) -> np.ndarray:
    """Cumulative training steps after each trial."""
    return np.cumsum([steps_used(t, full_steps) for t in _trials(study_or_trials)])


def compute_used(study_or_trials, full_steps: int | None = None) -> int:
    """Training steps all trials of a study ran together."""
    return int(sum(steps_used(t, full_steps) for t in _trials(study_or_trials)))


def compute_to_reach(
    study_or_trials, target: float, direction: str | None = None, full_steps: int | None = None
) -> int | None:
    """Steps the study had spent when its best value first reached ``target``
    (None if it never did)."""
    sign = _sign(study_or_trials, direction)
    best = best_so_far(study_or_trials, direction)
    spent = compute_curve(study_or_trials, full_steps)
    for value, steps in zip(best, spent):
        if np.isfinite(value) and sign * value >= sign * target - 1e-12:
            return int(steps)
    return None


def replay_curves(curves, pruner, direction: str = "maximize"):
    """An in-memory study whose trials report the given learning ``curves`` (the
    intermediate value after every step, one curve per trial, in the order they ran)
    under ``pruner``: which trials Optuna's pruner stops, and after how many steps,
    without training anything."""
    import optuna

    study = optuna.create_study(direction=direction, pruner=pruner)

    def objective(trial):
        curve = curves[trial.number]
        for step, value in enumerate(curve):
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return curve[-1]

    study.optimize(objective, n_trials=len(curves))
    return study


def plot_best_so_far(studies: dict, x: str = "trial", ax=None, full_steps: int | None = None):
    """One best-so-far line per study (``{label: study}``) against the trial number or
    the cumulative compute (``x="compute"``). Returns the matplotlib axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for label, study in studies.items():
        curve = best_so_far(study)
        xs = np.arange(1, len(curve) + 1) if x == "trial" else compute_curve(study, full_steps)
        ax.step(xs, curve, where="post", label=label)
    ax.set(
        xlabel="trial" if x == "trial" else "compute (training steps)",
        ylabel="best value so far",
        title=f"best so far per {x}",
    )
    ax.legend()
    return ax


def trials_by_worker(study) -> dict:
    """Number of trials per ``worker`` user attribute ("notebook" when there is none)."""
    counts: dict[str, int] = {}
    for trial in study.trials:
        worker = trial.user_attrs.get("worker", "notebook")
        counts[worker] = counts.get(worker, 0) + 1
    return counts


@dataclass
class WorkerResult:
    name: str
    returncode: int | None
    seconds: float
    log: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _dump_objective(objective, folder: Path) -> Path:
    import cloudpickle

    path = folder / "objective.pkl"
    # A function from a module the worker may not import (a test file, a script) goes by
    # value too, like one defined in a notebook (__main__).
    module = sys.modules.get(getattr(objective, "__module__", "") or "")
    by_value = (
        module is not None
        and module.__name__ not in ("__main__",)
        and not module.__name__.startswith(("mlops_course", "optuna", "sklearn"))
    )
    try:
        if by_value:
            cloudpickle.register_pickle_by_value(module)
        path.write_bytes(cloudpickle.dumps(objective))
    except Exception as exc:  # the objective refers to something that cannot travel
        raise TypeError(
            "the objective cannot be sent to a worker process "
            f"({type(exc).__name__}: {exc}); let it use only data, numbers and imported "
            "modules (no open files, studies or plots)"
        ) from exc
    finally:
        if by_value:
            cloudpickle.unregister_pickle_by_value(module)
    return path


def run_workers(
    objective,
    storage_url: str,
    study_name: str,
    n_trials: int,
    n_workers: int = 2,
    seed: int = 0,
    pruner: str = "median",
    timeout: float = 300,
    name_prefix: str = "worker",
) -> list[WorkerResult]:
    """Start ``n_workers`` processes that each run ``n_trials`` trials of the *stored*
    study ``study_name`` at the same time, wait for them (killing any still running
    after ``timeout`` seconds) and return how each ended."""
    with tempfile.TemporaryDirectory(prefix="mlops-course-tuning-") as tmp:
        pickled = _dump_objective(objective, Path(tmp))
        procs = []
        for index in range(n_workers):
            name = f"{name_prefix}-{index + 1}"
            log = open(Path(tmp) / f"{name}.log", "w+")
            cmd = [
                sys.executable,
                "-m",
                "mlops_course.labs.tuning.studies",
                "--objective",
                str(pickled),
                "--storage",
                storage_url,
                "--study",
                study_name,
                "--n-trials",
                str(n_trials),
                "--seed",
                str(seed + index),
                "--worker",
                name,
                "--pruner",
                pruner,
            ]
            procs.append(
                (name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log, time.perf_counter())
            )
        results = []
        deadline = time.perf_counter() + timeout
        for name, proc, log, start in procs:
            try:
                proc.wait(timeout=max(deadline - time.perf_counter(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.seek(0)
            text = log.read()
            log.close()
            results.append(WorkerResult(name, proc.returncode, time.perf_counter() - start, text[-3000:]))
    return results


def resume_in_subprocess(
    objective,
    storage_url: str,
    study_name: str,
    n_trials: int,
    seed: int = 0,
    pruner: str = "median",
    timeout: float = 300,
) -> WorkerResult:
    """Run ``n_trials`` more trials of a stored study from a second Python process."""
    return run_workers(
        objective,
        storage_url,
        study_name,
        n_trials,
        n_workers=1,
        seed=seed,
        pruner=pruner,
        timeout=timeout,
        name_prefix="resumed",
    )[0]


def _pruner(name: str):
    import optuna

    return {
        "median": optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
        "hyperband": optuna.pruners.HyperbandPruner(),
        "none": optuna.pruners.NopPruner(),
    }[name]


def worker_main(argv: list[str] | None = None) -> int:
    """The worker process: load the stored study by name and optimise it."""
    parser = argparse.ArgumentParser(description="an Optuna worker for a stored study")
    parser.add_argument("--objective", required=True, help="cloudpickled objective(trial)")
    parser.add_argument("--storage", required=True)
    parser.add_argument("--study", required=True)
    parser.add_argument("--n-trials", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", default=f"pid-{os.getpid()}")
    parser.add_argument("--pruner", default="median", choices=["median", "hyperband", "none"])
    args = parser.parse_args(argv)

    import cloudpickle
    import optuna

    quiet_optuna()
    objective = cloudpickle.loads(Path(args.objective).read_bytes())
    try:
        study = optuna.load_study(
            study_name=args.study,
            storage=storage(args.storage),
            sampler=optuna.samplers.TPESampler(seed=args.seed),
            pruner=_pruner(args.pruner),
        )
    except KeyError:
        print(
            f"no study named {args.study!r} in {args.storage}: the study must be created "
            "in the storage first (optuna.create_study(storage=..., study_name=...))"
        )
        return 2

    def tagged(trial):
        trial.set_user_attr("worker", args.worker)
        return objective(trial)

    study.optimize(tagged, n_trials=args.n_trials)
    print(f"{args.worker}: {args.n_trials} trials done; the study now has {len(study.trials)}")
    return 0


if __name__ == "__main__":
    sys.exit(worker_main())
