"""m0_setup: typical mistakes lose the right points (graded for real); each exercise
whose learning goal rests on two cells keeps the points of the cell it gets right."""

from __future__ import annotations

import pytest
from helpers import source_answer

ASSIGNMENT = "m0_setup"


@pytest.mark.slow
def test_typical_mistakes_lose_the_right_points(grade_variant):
    """One variant: the interpreter's input never resized to the batch, and the accuracy
    measured on the training set. One row through LiteRT and the reproducibility keep
    their points; the batch and the held-out evaluation lose theirs."""
    no_resize = source_answer(
        ASSIGNMENT, "predict_tflite", ("    interpreter.resize_tensor_input(index, list(x.shape))\n", "")
    )
    on_training_data = source_answer(
        ASSIGNMENT,
        "train_and_predict",
        (
            "return accuracy_score(y_test, predictions), predictions",
            "return accuracy_score(y_train, model.predict(X_train)), predictions",
        ),
    )
    result = grade_variant(ASSIGNMENT, {"predict_tflite": no_resize, "train_and_predict": on_training_data})
    s, m = result.scores, result.max_scores
    for lost in ("test_predict_tflite_batch", "test_train_and_predict_model"):
        assert s[lost] == 0, (lost, s)
    for kept in (
        "test_predict_tflite",
        "test_train_and_predict_reproducible",
        "test_environment_report",
        "test_pin_checker_parse",
        "test_q_small_box",
    ):
        assert s[kept] == m[kept], (kept, s)
