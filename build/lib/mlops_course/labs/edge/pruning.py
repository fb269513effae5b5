"""Helpers around magnitude pruning of Keras weights with numpy (module m5_edge).

The TensorFlow Model Optimization toolkit (tfmot) cannot prune a Keras 3 model with the
course's TensorFlow, so the course prunes the weight arrays directly: the student writes
the pruning itself; this module only measures sparsity and keeps pruned weights at zero
while the model is fine-tuned."""

from __future__ import annotations

import numpy as np


def is_prunable(weight: np.ndarray) -> bool:
    """Weight matrices (kernels) are pruned; biases and scalars are kept."""
    return np.ndim(weight) >= 2


def sparsity(weights: list) -> float:
    """Share of exact zeros over all prunable weights (kernels) of a weight list."""
    kernels = [np.asarray(w) for w in weights if is_prunable(w)]
    total = sum(k.size for k in kernels)
    if total == 0:
        return 0.0
    return float(sum(int(np.count_nonzero(k == 0)) for k in kernels) / total)


def masks(weights: list) -> list:
    """1 where a kernel weight is non-zero, 0 where it was pruned; None for biases."""
    return [(np.asarray(w) != 0).astype(np.asarray(w).dtype) if is_prunable(w) else None for w in weights]


def keep_pruned(model):
    """A Keras callback that re-applies the model's current zero pattern after every
    training batch, so fine-tuning recovers accuracy without regrowing pruned weights.
    Call it right after ``model.set_weights(pruned)``."""
    import keras

    fixed = masks(model.get_weights())

    class KeepPruned(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.set_weights(
                [w if m is None else w * m for w, m in zip(self.model.get_weights(), fixed)]
            )

    return KeepPruned()
