"""Measuring TensorFlow Lite models the way an edge device stores and runs them
(module m5_edge).

Import this module *before* TensorFlow: it sets the environment variables that keep
TensorFlow's C++ logging quiet (they are read once, when TensorFlow loads). Then
``tf = tflite_eval.import_tensorflow()`` gives a TensorFlow with Keras' progress bars
off and the converter's known warnings filtered.

What a lesson needs beside the student's own code: file size (flash), gzip size (a
download or an over-the-air update), the median latency of one inference with the
LiteRT interpreter (``ai_edge_litert.interpreter.Interpreter``, one sample at a time, as
a device runs it), and what a ``.tflite`` file holds (tensor types, full integer or not).
Running a model and scoring its predictions is the students' exercise; it is not here
(the hidden tests do it themselves), nor anywhere else in the installed package.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

QUIET_TF_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # TensorFlow's C++ INFO/WARNING/ERROR lines
    "TF_ENABLE_ONEDNN_OPTS": "0",  # no oneDNN banner, bit-stable float results
    "ABSL_MIN_LOG_LEVEL": "3",  # absl's "log messages before InitializeLog" lines
}
VARIANTS = ("float32", "dynamic", "float16", "int8")


def quiet_tensorflow_env() -> None:
    """Set the variables that silence TensorFlow's native logging (before its import)."""
    os.environ.update(QUIET_TF_ENV)
    if "tensorflow" in sys.modules:
        warnings.warn(
            "TensorFlow was imported before mlops_course.labs.edge.tflite_eval; "
            "its C++ log settings may not apply.",
            stacklevel=2,
        )


quiet_tensorflow_env()


def import_tensorflow():
    """Import TensorFlow quietly: no progress bars, no known-harmless converter warnings.
    (Safe to call again: the log settings were set when this module was imported.)"""
    os.environ.update(QUIET_TF_ENV)
    import logging

    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    tf.keras.config.disable_interactive_logging()
    # Full-int8 conversion of a Keras model warns about input statistics it then
    # takes from the representative data set: harmless, but it alarms students.
    warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
    warnings.filterwarnings("ignore", module="tensorflow.lite")
    return tf


@contextlib.contextmanager
def native_stderr_silenced():
    """Send file descriptor 2 to /dev/null for a moment: the TFLite converter and the
    LiteRT runtime print INFO lines from C++ that no Python setting reaches."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (some embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _model_bytes(model: str | os.PathLike | bytes) -> bytes:
    return model if isinstance(model, (bytes, bytearray)) else Path(model).read_bytes()


def load_interpreter(model: str | os.PathLike | bytes, num_threads: int = 1):
    """A LiteRT interpreter for a ``.tflite`` path (or its bytes), tensors allocated.

    One thread, as on a small device, and so latencies do not depend on how busy the
    other cores are."""
    from ai_edge_litert.interpreter import Interpreter

    with native_stderr_silenced():
        interpreter = Interpreter(model_content=bytes(_model_bytes(model)), num_threads=num_threads)
        interpreter.allocate_tensors()
    return interpreter


def quantize(x: np.ndarray, detail: dict) -> np.ndarray:
    """Float input -> what the input tensor wants: ``round(x / scale + zero_point)``
    clipped to the integer range for int8/uint8 tensors, a plain cast otherwise."""
    dtype = np.dtype(detail["dtype"])
    if dtype.kind in "iu":
        scale, zero_point = detail["quantization"]
        if scale == 0:
            raise ValueError("integer input tensor without quantisation parameters")
        info = np.iinfo(dtype)
        q = np.round(np.asarray(x, dtype=np.float32) / scale + zero_point)
        return np.clip(q, info.min, info.max).astype(dtype)
    return np.asarray(x, dtype=dtype)


def file_size(model: str | os.PathLike | bytes) -> int:
    """Bytes of the ``.tflite`` file (what flash/storage on the device must hold)."""
    return len(_model_bytes(model))


def gzip_size(model: str | os.PathLike | bytes, level: int = 9) -> int:
    """Bytes after gzip: the cost of a download; it shows what pruning saves."""
    return len(gzip.compress(_model_bytes(model), compresslevel=level, mtime=0))


def median_latency_ms(
    model: str | os.PathLike | bytes, x: np.ndarray, n: int = 200, warmup: int = 10
) -> float:
    """Median wall time of one single-sample inference, in milliseconds (the median is
    robust to the other processes sharing the CPU)."""
    interpreter = load_interpreter(model)
    inp = interpreter.get_input_details()[0]
    samples = [quantize(s[None, ...], inp) for s in np.asarray(x)[: max(n, 1)]]
    for sample in samples[:warmup]:
        interpreter.set_tensor(inp["index"], sample)
        interpreter.invoke()
    times = []
    for sample in samples:
        interpreter.set_tensor(inp["index"], sample)
        start = time.perf_counter()
        interpreter.invoke()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def tensor_types(model: str | os.PathLike | bytes) -> dict:
    """Input/output dtypes and the dtypes of all constant tensors (the weights)."""
    interpreter = load_interpreter(model)
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    weights: dict[str, int] = {}
    for detail in interpreter.get_tensor_details():
        try:
            interpreter.get_tensor(detail["index"])
        except ValueError:  # activations have no data before invoke
            continue
        if len(detail["shape"]) >= 2:  # kernels, not biases or scalars
            name = np.dtype(detail["dtype"]).name
            weights[name] = weights.get(name, 0) + 1
    return {"input": np.dtype(inp["dtype"]).name, "output": np.dtype(out["dtype"]).name, "weights": weights}


def is_full_integer(model: str | os.PathLike | bytes) -> bool:
    """True for a model an integer-only accelerator can run: int8 input and output and
    no float weight matrix left (only a representative data set makes this possible)."""
    types = tensor_types(model)
    return (
        types["input"] == "int8"
        and types["output"] == "int8"
        and not any(name.startswith("float") for name in types["weights"])
    )
