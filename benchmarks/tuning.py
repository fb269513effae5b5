"""Print the figure module m6_tuning reports, over several seeds: the compute TPE +
median pruning needs to reach the best value of a random search with the same number of
trials (target: <= 50% of random search's compute), exactly and within 1 accuracy point
(the notebook's REACH_TOLERANCE; one estimate's standard error is about 0.6 points),
plus the compute pruning saved.

    .venv/bin/python benchmarks/tuning.py [--seeds 1 2 3 42] [--trials 25] [--epochs 8]

The objective and settings are those of the m6 reference solution (SGD on the digits,
3-fold cross-validation on the training data, one step = one epoch on every fold).
A report, not a timed test."""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np


def run_seed(seed: int, n_trials: int, epochs: int, tolerance: float) -> dict:
    import optuna
    from sklearn.datasets import load_digits
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import StratifiedKFold, train_test_split

    from mlops_course.labs.tuning import studies as tuning

    x, y = load_digits(return_X_y=True)
    x_train, _, y_train, _ = train_test_split(x / 16.0, y, test_size=0.25, random_state=seed, stratify=y)
    classes = np.unique(y)
    folds = list(StratifiedKFold(n_splits=3, shuffle=True, random_state=seed).split(x_train, y_train))

    def objective(trial):
        alpha = trial.suggest_float("alpha", 1e-7, 1.0, log=True)
        eta0 = trial.suggest_float("eta0", 1e-5, 10.0, log=True)
        models = [
            SGDClassifier(
                loss="log_loss", alpha=alpha, learning_rate="constant", eta0=eta0, random_state=seed
            )
            for _ in folds
        ]
        for step in range(epochs):
            scores = []
            for model, (fit_rows, val_rows) in zip(models, folds):
                model.partial_fit(x_train[fit_rows], y_train[fit_rows], classes=classes)
                scores.append(model.score(x_train[val_rows], y_train[val_rows]))
            score = float(np.mean(scores))
            trial.report(score, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return score

    random = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=seed),
        pruner=optuna.pruners.NopPruner(),
    )
    random.optimize(objective, n_trials=n_trials)
    pruned = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed + 1, n_startup_trials=4, multivariate=True),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
    )
    pruned.optimize(objective, n_trials=2 * n_trials)
    random_compute = tuning.compute_used(random, full_steps=epochs)
    exact = tuning.compute_to_reach(pruned, random.best_value)
    within = tuning.compute_to_reach(pruned, random.best_value - tolerance)
    return {
        "seed": seed,
        "random_best": random.best_value,
        "pruned_best": pruned.best_value,
        "pruned_trials": sum(t.state == optuna.trial.TrialState.PRUNED for t in pruned.trials),
        "saved": 1 - tuning.compute_used(pruned) / (len(pruned.trials) * epochs),
        "exact": None if exact is None else exact / random_compute,
        "within": None if within is None else within / random_compute,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6, 7, 8, 42])
    parser.add_argument("--trials", type=int, default=25)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--tolerance", type=float, default=0.01)
    args = parser.parse_args(argv)

    from sklearn.exceptions import ConvergenceWarning

    from mlops_course.labs.tuning import studies as tuning

    tuning.quiet_optuna()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    share = lambda v: "never" if v is None else f"{v:.0%}"  # noqa: E731
    print(
        f"{args.trials} random trials vs {2 * args.trials} TPE + median-pruning trials, "
        f"{args.epochs} steps per full trial"
    )
    print(
        f"{'seed':>5} {'random best':>11} {'TPE+P best':>10} {'pruned':>6} {'saved':>6} "
        f"{'reach exact':>11} {'reach +-' + str(100 * args.tolerance) + 'pt':>13}"
    )
    rows, start = [], time.perf_counter()
    for seed in args.seeds:
        r = run_seed(seed, args.trials, args.epochs, args.tolerance)
        rows.append(r)
        print(
            f"{r['seed']:>5} {r['random_best']:>11.4f} {r['pruned_best']:>10.4f} {r['pruned_trials']:>6} "
            f"{r['saved']:>6.0%} {share(r['exact']):>11} {share(r['within']):>13}",
            flush=True,
        )
    met_exact = sum(r["exact"] is not None and r["exact"] <= 0.5 for r in rows)
    met_within = sum(r["within"] is not None and r["within"] <= 0.5 for r in rows)
    print(
        f"target (<= 50% of random search's compute) met for {met_exact}/{len(rows)} seeds exactly, "
        f"{met_within}/{len(rows)} within {100 * args.tolerance:.1f} points; "
        f"median compute saved by pruning {np.median([r['saved'] for r in rows]):.0%} "
        f"({time.perf_counter() - start:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
