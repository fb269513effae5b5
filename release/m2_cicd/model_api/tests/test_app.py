"""Unit tests of the model service (they need no trained model file)."""
import pytest
from sklearn.dummy import DummyClassifier

import app


@pytest.fixture
def model():
    return DummyClassifier(strategy="constant", constant=7).fit([[0] * 64, [1] * 64], [7, 3])


def test_predict_returns_ints(model):
    assert app.predict(model, [[0] * 64, [16] * 64]) == [7, 7]


def test_predict_rejects_wrong_shape(model):
    with pytest.raises(ValueError):
        app.predict(model, [[0] * 10])


def test_health():
    assert app.health() == {"status": "ok"}
