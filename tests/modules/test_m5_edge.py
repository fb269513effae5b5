"""m5_edge: the TFLite measuring helpers, the pruning helpers, and typical mistakes
losing the right points."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import source_answer

from mlops_course.labs.edge import pruning, tflite_eval

ASSIGNMENT = "m5_edge"


# --- unit tests of mlops_course.labs.edge.tflite_eval ---------------------------------------------


@pytest.fixture(scope="module")
def tiny_models():
    """A small Keras model on random data, converted to float32 and full int8 bytes."""
    tf = tflite_eval.import_tensorflow()
    rng = np.random.default_rng(0)
    x = rng.random((64, 8), dtype=np.float32)
    y = (x[:, 0] > 0.5).astype(int)
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential(
        [tf.keras.Input(shape=(8,)), tf.keras.layers.Dense(16, activation="relu"), tf.keras.layers.Dense(2)]
    )
    model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=3, verbose=0)

    def convert(int8: bool) -> bytes:
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if int8:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([row[None, :]] for row in x[:32])
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        with tflite_eval.native_stderr_silenced():
            return converter.convert()

    return {"model": model, "x": x, "y": y, "float32": convert(False), "int8": convert(True)}


def test_quiet_env_is_set_on_import():
    for name, value in tflite_eval.QUIET_TF_ENV.items():
        assert __import__("os").environ[name] == value


def test_quantize_and_dequantize_round_trip():
    detail = {"dtype": np.int8, "quantization": (0.5, -3)}
    q = tflite_eval.quantize(np.array([[0.0, 1.0, 1000.0, -1000.0]], dtype=np.float32), detail)
    assert q.dtype == np.int8
    assert q.tolist() == [[-3, -1, 127, -128]]  # round(x / scale + zero_point), clipped
    assert tflite_eval.dequantize(q, detail)[0, :2].tolist() == [0.0, 1.0]
    floats = {"dtype": np.float32, "quantization": (0.0, 0)}
    assert tflite_eval.quantize(np.array([1, 2]), floats).dtype == np.float32


def test_quantize_refuses_integer_tensor_without_parameters():
    with pytest.raises(ValueError):
        tflite_eval.quantize(np.zeros((1, 2)), {"dtype": np.int8, "quantization": (0.0, 0)})


def test_sizes(tmp_path, tiny_models):
    path = tmp_path / "m.tflite"
    path.write_bytes(tiny_models["float32"])
    assert tflite_eval.file_size(path) == len(tiny_models["float32"])
    assert 0 < tflite_eval.gzip_size(path) < tflite_eval.file_size(path)
    assert tflite_eval.gzip_size(path) == tflite_eval.gzip_size(tiny_models["float32"])  # deterministic


def test_predict_accuracy_and_types(tiny_models):
    x, y = tiny_models["x"], tiny_models["y"]
    keras_pred = tiny_models["model"].predict(x, verbose=0).argmax(axis=1)
    float_pred = tflite_eval.predict(tiny_models["float32"], x).argmax(axis=1)
    int8_out = tflite_eval.predict(tiny_models["int8"], x)
    assert np.array_equal(keras_pred, float_pred)
    assert int8_out.dtype == np.float32 and int8_out.shape == (len(x), 2)  # dequantised
    assert np.mean(int8_out.argmax(axis=1) == keras_pred) >= 0.9
    assert tflite_eval.accuracy(tiny_models["float32"], x, y) == pytest.approx(np.mean(keras_pred == y))
    assert tflite_eval.is_full_integer(tiny_models["int8"])
    assert not tflite_eval.is_full_integer(tiny_models["float32"])
    types = tflite_eval.tensor_types(tiny_models["int8"])
    assert types["input"] == types["output"] == "int8" and set(types["weights"]) == {"int8"}


def test_latency_and_evaluate_all(tmp_path, tiny_models):
    paths = {}
    for kind in ("float32", "int8"):
        paths[kind] = tmp_path / f"{kind}.tflite"
        paths[kind].write_bytes(tiny_models[kind])
    latency = tflite_eval.median_latency_ms(paths["int8"], tiny_models["x"], n=20)
    assert 0 < latency < 50
    table = tflite_eval.evaluate_all(paths, tiny_models["x"], tiny_models["y"], latency_samples=10)
    assert list(table.index) == ["float32", "int8"]
    assert {"accuracy", "size_kb", "gzip_kb", "latency_ms", "size_ratio", "acc_drop_points"} <= set(
        table.columns
    )
    assert table.loc["float32", "size_ratio"] == 1.0


# --- unit tests of mlops_course.labs.edge.pruning -------------------------------------------------


def test_sparsity_counts_kernels_only():
    weights = [np.array([[0.0, 1.0], [0.0, 2.0]]), np.zeros(2)]
    assert pruning.sparsity(weights) == 0.5  # the zero bias does not count
    assert pruning.sparsity([np.ones(3)]) == 0.0
    masks = pruning.masks(weights)
    assert masks[1] is None and masks[0].tolist() == [[0.0, 1.0], [0.0, 1.0]]


def test_keep_pruned_keeps_zeros_while_fine_tuning():
    tf = tflite_eval.import_tensorflow()
    tf.keras.utils.set_random_seed(1)
    model = tf.keras.Sequential(
        [tf.keras.Input(shape=(4,)), tf.keras.layers.Dense(8), tf.keras.layers.Dense(2)]
    )
    model.compile(optimizer="sgd", loss="mse")
    weights = [w.copy() for w in model.get_weights()]
    weights[0][:, :4] = 0
    model.set_weights(weights)
    x = np.random.default_rng(1).random((32, 4), dtype=np.float32)
    model.fit(x, np.ones((32, 2)), epochs=2, verbose=0, callbacks=[pruning.keep_pruned(model)])
    after = model.get_weights()
    assert np.all(after[0][:, :4] == 0), "pruned weights regrew during fine-tuning"
    assert not np.allclose(after[0][:, 4:], weights[0][:, 4:]), "the other weights should train"


# --- the notebook: typical mistakes lose the right points --------------------------------

INT8_WITHOUT_REPRESENTATIVE_DATA = """
def representative_dataset():
    for row in x_train[:200]:
        yield [row[None, :]]


def convert(model, kind):
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if kind != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if kind == "float16":
        converter.target_spec.supported_types = [tf.float16]
    # "int8": without a representative data set the converter refuses int8 input/output,
    # so the student drops those settings; the result is a dynamic range model
    return converter.convert()
"""

RESULTS_ON_TRAINING_DATA = """
rows = {}
for kind, path in tflite_paths.items():
    rows[kind] = {
        "accuracy": float(np.mean(run_tflite(path, x_train) == y_train)),
        "size_kb": tflite_eval.file_size(path) / 1024,
        "gzip_kb": tflite_eval.gzip_size(path) / 1024,
        "latency_ms": tflite_eval.median_latency_ms(path, x_train, n=LATENCY_SAMPLES),
    }
results = pd.DataFrame(rows).T
results["size_ratio"] = results["size_kb"] / results.loc["float32", "size_kb"]
results["acc_drop_points"] = 100 * (results.loc["float32", "accuracy"] - results["accuracy"])
"""

PRUNE_BIASES_TOO = """
def magnitude_prune(weights, sparsity):
    pruned = []
    for w in weights:
        w = np.array(w, copy=True)
        k = int(round(sparsity * w.size))
        if k > 0:
            threshold = np.sort(np.abs(w), axis=None)[k - 1]
            w[np.abs(w) <= threshold] = 0
        pruned.append(w)
    return pruned
"""

PICK_IGNORES_LATENCY = """
def pick_variant(results, max_size_kb, min_accuracy, max_latency_ms):
    fits = results[(results["size_kb"] <= max_size_kb) & (results["accuracy"] >= min_accuracy)]
    if fits.empty:
        return None
    return fits.sort_values(["accuracy", "size_kb"], ascending=[False, True]).index[0]
"""


def _outputs_text(path) -> str:
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") + out.get("evalue", "") + "".join(out.get("traceback", [])))
    return "\n".join(parts)


@pytest.mark.slow
def test_typical_mistakes_lose_points(grade_variant):
    result = grade_variant(
        ASSIGNMENT,
        {
            "tflite_converter": INT8_WITHOUT_REPRESENTATIVE_DATA,
            "results_table": RESULTS_ON_TRAINING_DATA,
            "magnitude_prune": PRUNE_BIASES_TOO,
            "pick_variant": PICK_IGNORES_LATENCY,
            # int8 weights taken for an int8 model: both ticks wrong, nothing earned
            "q_delegate": source_answer(
                ASSIGNMENT, "q_delegate", ('{"int8_io", "qat_int8_io"}', '{"dynamic_range", "int8_float_io"}')
            ),
            # the biases counted as int8 too
            "q_int8_bytes": source_answer(ASSIGNMENT, "q_int8_bytes", ("outputs * 4", "outputs * 1")),
        },
    )
    assert result.result.status == "graded", result.result.reason
    lost = {cell for cell, score in result.scores.items() if score < result.max_scores[cell]}
    # no representative data set: the "int8" model is not int8, and the targets do not count
    assert result.scores["test_tflite_converter_int8"] == 0
    assert result.scores["test_results_table_targets"] == 0
    # accuracy measured on the training data
    assert result.scores["test_results_table"] == 0
    assert result.scores["test_magnitude_prune"] == 0
    assert result.scores["test_pick_variant"] == 0
    assert result.scores["test_q_delegate"] == 0
    assert result.scores["test_q_int8_bytes"] == 0
    # ...and nothing else is lost (open questions are graded by hand)
    assert lost - set(result.manual) == {
        "test_tflite_converter_int8",
        "test_results_table_targets",
        "test_results_table",
        "test_magnitude_prune",
        "test_pick_variant",
        "test_q_delegate",
        "test_q_int8_bytes",
    }
    text = _outputs_text(result.executed)
    assert "inference_input_type" in text  # the hint of the int8 test
    assert "never on the data the model was trained on" in text
    assert "biases (1-D arrays) must stay unchanged" in text


@pytest.mark.slow
def test_int8_run_without_input_quantisation_loses_points(grade_variant):
    """run_tflite that casts floats to int8 instead of quantising: the int8 predictions
    are garbage; the float32 part still passes, the hidden int8 check fails."""
    result = grade_variant(
        ASSIGNMENT,
        {
            "run_tflite": """
def run_tflite(path, x):
    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    predictions = []
    for row in np.asarray(x, dtype=np.float32):
        interpreter.set_tensor(inp["index"], row[None, :].astype(inp["dtype"]))
        interpreter.invoke()
        predictions.append(int(np.argmax(interpreter.get_tensor(out["index"])[0])))
    return np.array(predictions)
"""
        },
    )
    assert result.scores["test_run_tflite"] == 0
    assert result.scores["test_results_table"] == 0  # its int8 accuracy is not the real one
    assert (
        result.scores["test_tflite_converter_variants"] == result.max_scores["test_tflite_converter_variants"]
    )
    assert result.scores["test_tflite_converter_int8"] == result.max_scores["test_tflite_converter_int8"]


INT8_IO_WITHOUT_REPRESENTATIVE_DATA = """
def representative_dataset():
    for row in x_train[:200]:
        yield [row[None, :]]


def convert(model, kind):
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if kind != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if kind == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if kind == "int8":  # int8 in/out but no representative data set: the converter refuses
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()
"""


@pytest.mark.slow
def test_int8_conversion_that_fails_is_explained(grade_variant):
    """The other form of the same mistake: the converter refuses int8 input/output
    without a representative data set; the notebook goes on, and the int8 test says why."""
    result = grade_variant(ASSIGNMENT, {"tflite_converter": INT8_IO_WITHOUT_REPRESENTATIVE_DATA})
    assert result.result.status == "graded", result.result.reason
    assert result.scores["test_tflite_converter_int8"] == 0
    assert result.scores["test_tflite_converter_variants"] == 0  # only three files
    assert result.scores["test_keras_model_trained"] == result.max_scores["test_keras_model_trained"]
    assert result.scores["test_magnitude_prune"] == result.max_scores["test_magnitude_prune"]
    assert result.scores["test_pick_variant"] == result.max_scores["test_pick_variant"]
    text = _outputs_text(result.executed)
    assert "int8     conversion FAILED" in text
    assert "the int8 conversion failed: with int8 input/output the converter needs" in text
