"""m6_tuning: Optuna studies on SQLite, compute curves, workers sharing a study."""
