"""Print the figures module m5_edge rests on, per seed, and how far each stays from the
threshold the notebook's tests hold it to (the margin), so that thresholds and the
device's budget are set from measurements, not from one lucky run.

    .venv/bin/python benchmarks/edge.py [--students 30] [--seeds 42 7] [--device 3] [--full]

Per seed, the m5 model answer (64 -> 512 -> 256 -> 10 on scikit-learn's digits, FAST
settings unless --full): Keras accuracy (test >= 0.93), the full-int8 file against
float32 (<= 0.30x) and its accuracy drop (<= 1 point), 80% magnitude pruning after
fine-tuning (gzip <= 0.5x, accuracy >= 0.90), quantization-aware int8 against
post-training int8 (>= 0.93). With ``--device N``, the first N seeds also run float32 and
int8 on the edge device of the notebook (0.25 CPU, 128 MB) against the meter reader's
budget (flash <= 256 KiB, RAM <= 768 KiB, <= 0.1 ms per digit, integer only).

``--students N`` takes the seeds the grader gives students seed-000 ... (the ones
``benchmarks/seeds.py`` grades). A report, not a timed test; exit code 1 when a figure
misses its threshold for some seed.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mlops_course.labs.edge import tflite_eval  # before TensorFlow: quiet logs

# (figure, threshold, "min" when the figure must be >= the threshold, else "max")
THRESHOLDS = {
    "keras_acc": (0.93, "min"),
    "int8_ratio": (0.30, "max"),
    "int8_drop_points": (1.0, "max"),
    "pruned_gzip_ratio": (0.5, "max"),
    "pruned_acc": (0.90, "min"),
    "qat_int8_acc": (0.93, "min"),
    "device_int8_ram_kb": (768, "max"),
    "device_int8_ms": (0.1, "max"),
    "device_float32_ram_kb": (768, "min"),  # float32 must miss the RAM budget...
    "device_float32_kb": (256, "min"),  # ...and the flash budget
}


def classes(model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    """Predicted classes with the LiteRT interpreter, one sample at a time."""
    interpreter = tflite_eval.load_interpreter(model_bytes)
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    predicted = []
    for row in x:
        interpreter.set_tensor(inp["index"], tflite_eval.quantize(row[None, :], inp))
        interpreter.invoke()
        predicted.append(int(np.argmax(interpreter.get_tensor(out["index"])[0])))
    return np.array(predicted)


def run_seed(seed: int, fast: bool, device) -> dict:
    """The model answer's figures for one seed (the notebook's steps, in order)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from mlops_course.labs.edge import pruning, qat

    tf = tflite_eval.import_tensorflow()
    epochs, finetune_epochs, qat_epochs = (10, 2, 1) if fast else (30, 5, 3)
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.25, random_state=seed, stratify=digits.target
    )
    tf.keras.utils.set_random_seed(seed)
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model = tf.keras.Sequential(
        [
            tf.keras.Input(shape=(64,)),
            tf.keras.layers.Dense(512, activation="relu"),
            tf.keras.layers.Dense(256, activation="relu"),
            tf.keras.layers.Dense(10),
        ]
    )
    model.compile(optimizer="adam", loss=loss)
    model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0)

    def convert(keras_model, int8: bool) -> bytes:
        converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
        if int8:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([row[None, :]] for row in x_train[:200])
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        with tflite_eval.native_stderr_silenced():
            return converter.convert()

    def accuracy(model_bytes: bytes) -> float:
        return float(np.mean(classes(model_bytes, x_test) == y_test))

    float32, int8 = convert(model, False), convert(model, True)
    figures = {"keras_acc": float(np.mean(np.asarray(model(x_test)).argmax(axis=1) == y_test))}
    figures["int8_ratio"] = len(int8) / len(float32)
    figures["int8_drop_points"] = 100 * (accuracy(float32) - accuracy(int8))

    # 80% magnitude pruning per kernel, fine-tuned with the zeros kept (the notebook's Part 5)
    pruned = tf.keras.models.clone_model(model)
    pruned.set_weights(
        [
            np.where(np.abs(w) <= np.sort(np.abs(w), axis=None)[int(round(0.8 * w.size)) - 1], 0, w)
            if w.ndim >= 2
            else w
            for w in model.get_weights()
        ]
    )
    pruned.compile(optimizer="adam", loss=loss)
    pruned.fit(
        x_train,
        y_train,
        epochs=finetune_epochs,
        batch_size=64,
        verbose=0,
        callbacks=[pruning.keep_pruned(pruned)],
    )
    figures["pruned_acc"] = float(np.mean(np.asarray(pruned(x_test)).argmax(axis=1) == y_test))
    figures["pruned_gzip_ratio"] = len(gzip.compress(convert(pruned, False), 9, mtime=0)) / len(
        gzip.compress(float32, 9, mtime=0)
    )

    # quantization-aware copy, fine-tuned, then full int8 (Part 6)
    qat_model = tf.keras.Sequential(
        [tf.keras.Input(shape=(64,))]
        + [qat.FakeQuantDense(layer.units, activation=layer.activation) for layer in model.layers]
    )
    for new_layer, old_layer in zip(qat_model.layers, model.layers):
        new_layer.kernel.assign(old_layer.kernel)
        new_layer.bias.assign(old_layer.bias)
    qat_model.compile(optimizer=tf.keras.optimizers.Adam(1e-4), loss=loss)
    qat_model.fit(x_train, y_train, epochs=qat_epochs, batch_size=64, verbose=0)
    figures["qat_int8_acc"] = accuracy(convert(qat_model, True))
    figures["ptq_int8_acc"] = accuracy(int8)

    if device is not None:  # Part 7: the edge device
        with tempfile.TemporaryDirectory() as tmp:
            paths = {"float32": Path(tmp) / "float32.tflite", "int8": Path(tmp) / "int8.tflite"}
            paths["float32"].write_bytes(float32)
            paths["int8"].write_bytes(int8)
            runs = device.run(paths, x_test)
        figures["device_int8_ram_kb"] = runs["int8"].model_ram_kb
        figures["device_int8_ms"] = runs["int8"].ms_per_inference
        figures["device_float32_ram_kb"] = runs["float32"].model_ram_kb
        figures["device_float32_kb"] = len(float32) / 1024
        figures["device_float32_ms"] = runs["float32"].ms_per_inference
    return figures


def margin(name: str, value: float) -> float:
    """How many times the threshold the figure clears it by (> 1: holds, < 1: misses);
    the report also prints the headroom, the distance to the threshold (for accuracies,
    0.0167 is 1.67 points, about 7 of the 450 test digits)."""
    threshold, kind = THRESHOLDS[name]
    return value / threshold if kind == "min" else threshold / value if value else float("inf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[], help="explicit seeds")
    parser.add_argument(
        "--students", type=int, default=0, help="the grader's seeds of N students seed-000..."
    )
    parser.add_argument("--device", type=int, default=0, help="run the device for the first N seeds")
    parser.add_argument("--full", action="store_true", help="the students' settings instead of FAST")
    args = parser.parse_args(argv)

    from mlops_course.grading.seeds import student_seed
    from mlops_course.labs.edge import device as edge_device

    seeds = list(args.seeds) + [student_seed(f"seed-{i:03d}", "m5_edge") for i in range(args.students)]
    seeds = seeds or [42]
    device = (
        edge_device.Device(cpus=0.25, memory_mb=128, seconds=0.5, log=lambda line: None)
        if args.device
        else None
    )
    if device is not None:
        print(device.describe())
    started, rows = time.perf_counter(), []
    names = list(THRESHOLDS) + ["ptq_int8_acc", "device_float32_ms"]
    print("seed        " + " ".join(f"{n[:18]:>18s}" for n in names))
    for index, seed in enumerate(seeds):
        figures = run_seed(seed, not args.full, device if index < args.device else None)
        rows.append(figures)
        print(f"{seed:<11d} " + " ".join(f"{figures.get(n, float('nan')):>18.4f}" for n in names), flush=True)

    print(f"\n{len(seeds)} seeds ({'FULL' if args.full else 'FAST'}), {time.perf_counter() - started:.0f} s")
    print(
        f"{'figure':22s} {'threshold':>12s} {'worst':>10s} {'median':>10s} {'best':>10s} "
        f"{'worst margin':>13s} {'headroom':>10s}"
    )
    failed = False
    for name, (threshold, kind) in THRESHOLDS.items():
        values = [row[name] for row in rows if name in row]
        if not values:
            continue
        worst = min(values) if kind == "min" else max(values)
        best = max(values) if kind == "min" else min(values)
        worst_margin = margin(name, worst)
        failed |= worst_margin < 1
        print(
            f"{name:22s} {('>= ' if kind == 'min' else '<= ') + f'{threshold:g}':>12s} {worst:>10.4f} "
            f"{statistics.median(values):>10.4f} {best:>10.4f} {worst_margin:>12.2f}x {abs(worst - threshold):>10.4f}"
        )
    qat_wins = sum(row["qat_int8_acc"] > row["ptq_int8_acc"] for row in rows)
    qat_ties = sum(row["qat_int8_acc"] == row["ptq_int8_acc"] for row in rows)
    print(
        f"quantization-aware int8 beats post-training int8 on {qat_wins}, ties on {qat_ties} of {len(rows)} seeds"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
