"""Print the figures module m5_edge promises: size ratio and accuracy drop of every
TFLite variant against float32 (target: full int8 <= 0.30x, drop <= 1 point), plus gzip
size and median latency, measured with the LiteRT interpreter.

    .venv/bin/python benchmarks/edge.py [--seed 42] [--epochs 10]

The model is the one the m5 reference solution trains (64 -> 512 -> 256 -> 10 on
scikit-learn's digits); this script is a report, not a timed test."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from mlops_course.labs.edge import tflite_eval  # before TensorFlow: quiet logs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    tf = tflite_eval.import_tensorflow()
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.25, random_state=args.seed, stratify=digits.target
    )
    tf.keras.utils.set_random_seed(args.seed)
    model = tf.keras.Sequential(
        [
            tf.keras.Input(shape=(64,)),
            tf.keras.layers.Dense(512, activation="relu"),
            tf.keras.layers.Dense(256, activation="relu"),
            tf.keras.layers.Dense(10),
        ]
    )
    model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=64, verbose=0)

    def convert(kind: str) -> bytes:
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if kind != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if kind == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if kind == "int8":
            converter.representative_dataset = lambda: ([row[None, :]] for row in x_train[:200])
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        with tflite_eval.native_stderr_silenced():
            return converter.convert()

    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for kind in tflite_eval.VARIANTS:
            paths[kind] = Path(tmp) / f"digits_{kind}.tflite"
            paths[kind].write_bytes(convert(kind))
        table = tflite_eval.evaluate_all(paths, x_test, y_test, latency_samples=300)
        full_int8 = tflite_eval.is_full_integer(paths["int8"])

    print(
        f"model: {model.count_params():,} parameters, seed {args.seed}, {args.epochs} epochs, "
        f"test set {len(y_test)} digits"
    )
    print(
        table.round(
            {
                "accuracy": 4,
                "size_kb": 1,
                "gzip_kb": 1,
                "latency_ms": 4,
                "size_ratio": 3,
                "acc_drop_points": 2,
            }
        ).to_string()
    )
    ratio = table.loc["int8", "size_ratio"]
    drop = table.loc["int8", "acc_drop_points"]
    ok = ratio <= 0.30 and drop <= 1.0 and full_int8
    print(
        f"full int8 (int8 in/out, int8 weights: {full_int8}): {ratio:.3f}x float32 (target <= 0.30), "
        f"accuracy drop {drop:.2f} points (target <= 1): {'MET' if ok else 'NOT MET'}"
    )
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
