"""The model service of module 1, reduced to what CI tests: load a model, predict."""
import os

import joblib
import numpy as np

N_FEATURES = 64  # 8x8 grey-scale digits


def load_model(path=None):
    """The model saved by train.py (path from MODEL_PATH, default model.joblib)."""
    return joblib.load(path or os.environ.get("MODEL_PATH", "model.joblib"))


def predict(model, rows):
    """Predicted digits for a list of rows of 64 pixel values (0..16)."""
    X = np.asarray(rows, dtype=float)
    if X.ndim != 2 or X.shape[1] != N_FEATURES:
        raise ValueError(f"expected rows of {N_FEATURES} pixel values, got shape {X.shape}")
    return [int(label) for label in model.predict(X)]


def health():
    return {"status": "ok"}
