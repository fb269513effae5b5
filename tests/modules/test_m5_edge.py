"""m5_edge: the TFLite measuring helpers, pruning, quantization-aware training, the
edge device (container and capped process), no answer keys in the package, and typical
mistakes losing the right points."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time

import nbformat
import numpy as np
import pytest
from helpers import REPO, require_parts, source_answer

import mlops_course
from mlops_course.errors import DeviceError
from mlops_course.labs.edge import device as edge_device
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


def test_quantize():
    detail = {"dtype": np.int8, "quantization": (0.5, -3)}
    q = tflite_eval.quantize(np.array([[0.0, 1.0, 1000.0, -1000.0]], dtype=np.float32), detail)
    assert q.dtype == np.int8
    assert q.tolist() == [[-3, -1, 127, -128]]  # round(x / scale + zero_point), clipped
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


def _classes(model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    """Predicted classes with the LiteRT interpreter (the tests' own reference)."""
    interpreter = tflite_eval.load_interpreter(model_bytes)
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    classes = []
    for row in x:
        interpreter.set_tensor(inp["index"], tflite_eval.quantize(row[None, :], inp))
        interpreter.invoke()
        classes.append(int(np.argmax(interpreter.get_tensor(out["index"])[0])))
    return np.array(classes)


def test_types_and_full_integer(tiny_models):
    x = tiny_models["x"]
    keras_pred = tiny_models["model"].predict(x, verbose=0).argmax(axis=1)
    assert np.array_equal(_classes(tiny_models["float32"], x), keras_pred)
    assert np.mean(_classes(tiny_models["int8"], x) == keras_pred) >= 0.9
    assert tflite_eval.is_full_integer(tiny_models["int8"])
    assert not tflite_eval.is_full_integer(tiny_models["float32"])
    types = tflite_eval.tensor_types(tiny_models["int8"])
    assert types["input"] == types["output"] == "int8" and set(types["weights"]) == {"int8"}


def test_latency(tmp_path, tiny_models):
    path = tmp_path / "int8.tflite"
    path.write_bytes(tiny_models["int8"])
    assert 0 < tflite_eval.median_latency_ms(path, tiny_models["x"], n=20) < 50


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


# --- unit tests of mlops_course.labs.edge.qat ----------------------------------------------------


def test_fake_quant_dense_rounds_kernel_and_output_and_lets_the_gradient_through():
    from mlops_course.labs.edge import qat

    tf = tflite_eval.import_tensorflow()
    tf.keras.utils.set_random_seed(3)
    layer = qat.FakeQuantDense(16, activation="relu")
    model = tf.keras.Sequential([tf.keras.Input(shape=(8,)), layer])
    kernel = layer.quantized_kernel().numpy()
    scale = np.abs(layer.kernel.numpy()).max() / 127
    assert len(np.unique(kernel)) <= 255
    assert np.allclose(kernel / scale, np.round(kernel / scale), atol=1e-3)  # on the int8 grid
    assert np.abs(kernel - layer.kernel.numpy()).max() <= scale / 2 + 1e-6
    x = np.random.default_rng(3).random((32, 8), dtype=np.float32)
    untrained = np.asarray(model(x))
    assert np.allclose(untrained, np.maximum(x @ kernel, 0), atol=1e-5)  # no output range yet: not rounded
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x, training=True))
    gradient = tape.gradient(loss, layer.kernel).numpy()
    assert np.count_nonzero(gradient) > 0  # straight through the rounding
    low, high = float(layer.output_min.numpy()), float(layer.output_max.numpy())
    assert low == pytest.approx(0.0, abs=1e-6) and high > 0  # ReLU outputs seen in training
    levels = np.unique(np.asarray(model(x)))
    assert len(levels) <= 256  # the output is rounded to 8 bits now
    config = layer.get_config()
    assert config["units"] == 16 and qat.FakeQuantDense.from_config(config).units == 16


# --- unit tests of mlops_course.labs.edge.device ------------------------------------------------


@pytest.fixture(scope="module")
def device_models(tmp_path_factory):
    """The m5 architecture (64 -> 512 -> 256 -> 10, untrained: size and speed do not
    depend on the values) as float32 and full int8 files, and a 17 MB float32 model."""
    tf = tflite_eval.import_tensorflow()
    folder = tmp_path_factory.mktemp("device-models")
    rng = np.random.default_rng(5)
    x = rng.random((100, 64), dtype=np.float32)

    def write(name, model, int8):
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if int8:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([row[None, :]] for row in x[:50])
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        with tflite_eval.native_stderr_silenced():
            (folder / name).write_bytes(converter.convert())
        return folder / name

    def dense(*units):
        layers = [tf.keras.layers.Dense(n, activation="relu") for n in units]
        return tf.keras.Sequential([tf.keras.Input(shape=(64,)), *layers, tf.keras.layers.Dense(10)])

    tf.keras.utils.set_random_seed(5)
    digits = dense(512, 256)
    return {
        "x": x,
        "float32": write("float32.tflite", digits, int8=False),
        "int8": write("int8.tflite", digits, int8=True),
        "big": write("big.tflite", dense(2048, 2048), int8=False),
    }


BACKENDS = ["process", "container"]


def _device(backend: str, **kwargs) -> edge_device.Device:
    if backend == "container":
        require_parts(["docker"])
    device = edge_device.Device(backend=backend, log=lambda line: None, **kwargs)
    assert device.backend == backend
    return device


@pytest.mark.parametrize("backend", BACKENDS)
def test_device_measures_within_its_caps(backend, device_models):
    device = _device(backend, cpus=0.25, memory_mb=128, seconds=0.5)
    runs = device.run(
        {"float32": device_models["float32"], "int8": device_models["int8"]}, device_models["x"]
    )
    assert list(runs) == ["float32", "int8"] and device.runs == list(runs.values())
    for name, run in runs.items():
        assert run.ok, run.error
        assert run.backend == backend and run.sha256 == edge_device.file_sha256(device_models[name])
        assert run.inferences >= len(device_models["x"]) and run.seconds >= 0.5
        # never more CPU than the share (+15% for the measurement itself); under load it gets less
        share = run.cpu_ms_per_inference / run.ms_per_inference
        assert 0 < share <= 0.25 * 1.15, f"{name}: the device used {share:.2f} of a CPU"
        assert run.p50_ms <= run.p99_ms <= run.max_ms
        assert run.max_ms >= 5, "a 0.25 share of 20 ms periods makes some inference wait ~15 ms"
        assert 30 < run.peak_ram_mb < 128
    size_kb = {name: os.path.getsize(device_models[name]) / 1024 for name in runs}
    # the float32 flatbuffer and its weights repacked for the CPU; int8 needs a quarter of that
    assert runs["float32"].model_ram_kb >= 1.5 * size_kb["float32"]
    assert runs["float32"].model_ram_kb >= 2.5 * runs["int8"].model_ram_kb
    assert runs["int8"].model_ram_kb >= 0.9 * size_kb["int8"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_device_runs_out_of_memory_and_goes_on(backend, device_models):
    """17 MB of float32 weights need ~34 MB (file + repacked weights): a 40 MB device (its
    runtime takes ~15 MB) cannot run them, a 64 MB one can; the next model still runs."""
    small = _device(backend, cpus=1.0, memory_mb=40, seconds=0.1)
    runs = small.run({"big": device_models["big"], "int8": device_models["int8"]}, device_models["x"])
    assert not runs["big"].ok and runs["big"].error.startswith("out of memory"), runs["big"].error
    assert runs["int8"].ok, runs["int8"].error
    roomy = _device(backend, cpus=1.0, memory_mb=64, seconds=0.1)
    big = roomy.run(device_models["big"], device_models["x"])["big"]
    assert big.ok and big.model_ram_kb > 30_000, big


def test_container_and_process_measure_the_same_device(device_models):
    require_parts(["docker"])
    runs = {
        backend: _device(backend, cpus=0.25, memory_mb=128, seconds=0.5).run(
            {"float32": device_models["float32"], "int8": device_models["int8"]}, device_models["x"]
        )
        for backend in BACKENDS
    }
    for name in ("float32", "int8"):
        container, process = runs["container"][name], runs["process"][name]
        assert abs(container.model_ram_kb - process.model_ram_kb) <= 200, (container, process)
        ratio = container.ms_per_inference / process.ms_per_inference
        assert 0.4 < ratio < 2.5, (
            f"{name}: container {container.ms_per_inference:.4f} ms, process {process.ms_per_inference:.4f} ms"
        )


def test_cpu_share_holds_a_busy_process():
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        throttle = edge_device.CpuShare(busy.pid, 0.2)
        start, used = time.monotonic(), edge_device.cpu_seconds(busy.pid)
        throttle.start()
        time.sleep(1.0)
        used = edge_device.cpu_seconds(busy.pid) - used
        elapsed = time.monotonic() - start
        throttle.stop()
    finally:
        busy.kill()
        busy.wait()
    # a busy loop would take a whole CPU (less on a busy machine: no lower bound)
    assert used <= 0.2 * elapsed * 1.15 + 0.005, f"{used:.3f} s of CPU in {elapsed:.2f} s at a share of 0.2"


def test_device_without_an_engine_is_a_capped_process(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    device = edge_device.Device(backend="auto", log=lambda line: None)
    assert device.backend == "process"
    assert device.fallback_reason == "no Docker engine answers"
    assert device.describe().endswith("a capped child process (no Docker engine answers)")


def test_device_refuses_impossible_limits_and_missing_files(tmp_path):
    with pytest.raises(DeviceError, match="between 0.05 and 1 CPU"):
        edge_device.Device(cpus=2, backend="process")
    with pytest.raises(DeviceError, match="memory_mb=8"):
        edge_device.Device(memory_mb=8, backend="process")
    with pytest.raises(DeviceError, match="no model file"):
        edge_device.Device(backend="process").run({"m": tmp_path / "missing.tflite"}, np.zeros((2, 64)))


# --- no answer keys: what an answer cell defines is not importable from the package ------------


def answer_names(notebook_path) -> set[str]:
    """Every name the answer cells (solution cells with code) of a notebook bind at top level."""
    names = set()
    for cell in nbformat.read(str(notebook_path), as_version=4).cells:
        if cell.cell_type != "code" or not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def package_definitions() -> dict[str, list[str]]:
    """Name -> modules of the installed package that define it: functions, classes and
    variables at top level, and methods of top-level classes (what ``from mlops_course...
    import`` or an imported class gives a student)."""
    defined: dict[str, list[str]] = {}
    root = mlops_course.__path__[0]
    for folder, _, files in os.walk(root):
        for file in files:
            if not file.endswith(".py"):
                continue
            path = os.path.join(folder, file)
            module = os.path.relpath(path, os.path.dirname(root))[:-3].replace(os.sep, ".")
            tree = ast.parse(open(path).read())
            methods = [
                n
                for c in tree.body
                if isinstance(c, ast.ClassDef)
                for n in c.body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            ]
            for node in [*tree.body, *methods]:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    defined.setdefault(node.name, []).append(module)
                elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for name in {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}:
                        defined.setdefault(name, []).append(module)
    return defined


def test_no_answer_of_m5_is_importable_from_the_package():
    names = answer_names(REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert {
        "run_tflite",
        "convert",
        "magnitude_prune",
        "quantize_aware",
        "pick_variant",
        "device_results",
    } <= names
    leaked = {name: modules for name, modules in package_definitions().items() if name in names}
    assert not leaked, f"answers of {ASSIGNMENT} are importable from mlops_course: {leaked}"
    # the evaluation helpers that were answer keys are gone for good
    assert not {"predict", "accuracy", "evaluate", "evaluate_all"} & set(dir(tflite_eval))


def test_the_answer_key_check_sees_functions_and_methods():
    defined = package_definitions()
    assert "mlops_course.infra.base_image" in defined["ensure_base_image"]
    assert "mlops_course.labs.edge.device" in defined["run"]  # Device.run: a method counts too


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

PICK_FIXED_COLUMNS = """
def pick_variant(table, budget):
    fits = table[(table["size_kb"] <= budget.get("max_size_kb", float("inf")))
                 & (table["accuracy"] >= budget.get("min_accuracy", 0))
                 & (table["latency_ms"] <= budget.get("max_latency_ms", float("inf")))]
    if fits.empty:
        return None
    return fits.sort_values(["accuracy", "size_kb"], ascending=[False, True]).index[0]
"""

DEVICE_RESULTS_MEDIAN = """
device_runs = board.run(tflite_paths, x_test)
device_results = pd.DataFrame.from_dict({
    kind: {
        "accuracy": results.loc[kind, "accuracy"],
        "size_kb": results.loc[kind, "size_kb"],
        "integer_only": tflite_eval.is_full_integer(path),
        "latency_ms": device_runs[kind].p50_ms,  # a single inference's median: the share does not show
        "p99_ms": device_runs[kind].p99_ms,
        "ram_kb": device_runs[kind].model_ram_kb,
        "peak_mb": device_runs[kind].peak_ram_mb,
    }
    for kind, path in tflite_paths.items()
}, orient="index")
"""

QAT_PLAIN_COPY = """
def quantize_aware(model):
    copy = tf.keras.models.clone_model(model)  # the same Dense layers: nothing simulates the rounding
    copy.set_weights(model.get_weights())
    return copy
"""

QAT_FRESH_WEIGHTS = """
def quantize_aware(model):
    return tf.keras.Sequential(
        [tf.keras.Input(shape=(64,))]
        + [qat.FakeQuantDense(layer.units, activation=layer.activation) for layer in model.layers])
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
            "quantize_aware": QAT_PLAIN_COPY,
            "device_results": DEVICE_RESULTS_MEDIAN,
            "pick_variant": PICK_FIXED_COLUMNS,
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
    # no representative data set: the "int8" model is not int8, so neither the targets nor
    # the quantization-aware model count, and int8 does not fit the integer-only device
    assert result.scores["test_tflite_converter_int8"] == 0
    assert result.scores["test_results_table_targets"] == 0
    assert result.scores["test_quantize_aware_int8"] == 0
    assert result.scores["test_device_results_budget"] == 0
    # accuracy measured on the training data
    assert result.scores["test_results_table"] == 0
    assert result.scores["test_magnitude_prune"] == 0
    # a copy without fake quantization
    assert result.scores["test_quantize_aware"] == 0
    # the median of single inferences as the device's latency
    assert result.scores["test_device_results"] == 0
    # a budget of three fixed columns: the RAM and integer-only limits are ignored, so it
    # ships a variant where no variant fits the device
    assert result.scores["test_pick_variant"] == 0
    assert result.scores["test_pick_variant_device"] == 0
    assert result.scores["test_q_delegate"] == 0
    assert result.scores["test_q_int8_bytes"] == 0
    # ...and nothing else is lost (open questions are graded by hand)
    assert lost - set(result.manual) == {
        "test_tflite_converter_int8",
        "test_results_table_targets",
        "test_quantize_aware_int8",
        "test_device_results_budget",
        "test_results_table",
        "test_magnitude_prune",
        "test_quantize_aware",
        "test_device_results",
        "test_pick_variant",
        "test_pick_variant_device",
        "test_q_delegate",
        "test_q_int8_bytes",
    }
    text = _outputs_text(result.executed)
    assert "inference_input_type" in text  # the hint of the int8 test
    assert "never on the data the model was trained on" in text
    assert "biases (1-D arrays) must stay unchanged" in text
    assert "the copy has 0 qat.FakeQuantDense layers" in text
    assert "is not the sustained time per inference the device measured" in text


@pytest.mark.slow
def test_int8_run_without_input_quantisation_loses_points(grade_variant):
    """run_tflite that casts floats to int8 instead of quantising: the int8 predictions
    are garbage; the float32 part still passes, the hidden int8 check fails. (And a
    quantization-aware copy that starts from fresh weights.)"""
    result = grade_variant(
        ASSIGNMENT,
        {
            "quantize_aware": QAT_FRESH_WEIGHTS,
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
""",
        },
    )
    assert result.scores["test_run_tflite"] == 0
    assert result.scores["test_results_table"] == 0  # its int8 accuracy is not the real one
    assert result.scores["test_quantize_aware"] == 0  # the copy forgot the trained weights
    text = _outputs_text(result.executed)
    assert "the copy does not hold the trained weights" in text
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
