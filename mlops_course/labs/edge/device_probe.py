"""The program the edge device runs (module m5_edge): measure a LiteRT model within the
device's limits and print what it measured.

It runs *on* the device, started by :mod:`mlops_course.labs.edge.device` in a capped
container or a capped process, never inside the notebook. So it imports only what a
small board has: the standard library, numpy and the LiteRT interpreter (no TensorFlow,
nothing of the course)::

    python -I device_probe.py REQUEST.json

The request names one model (each model gets a freshly booted device, so that no
model is measured in memory another one left behind), a ``.npy`` file of float32
samples, how long to run it (``seconds``), how many warm-up inferences, the device's ``memory_mb`` and
``cap_address_space`` (true for a device that is a plain process, which caps its own
address space once the runtime is loaded; a container has the engine's memory limit).

It measures, one sample at a time as a device does:

- the **sustained** time per inference: the wall time of a run of at least ``seconds``
  divided by the number of inferences. Under a CPU share this is what the device
  delivers: single inferences run at full speed until the share of the period is spent,
  then the device waits;
- the wall time of each ``invoke()`` (median, 99th percentile, worst);
- the **RAM the model adds**: the memory the process allocates (anonymous, exact, from
  ``smaps_rollup``) while the model loads, and while it runs, apart from the samples:
  the flatbuffer, the weights repacked for the CPU, the tensor arena and the runtime's
  set-up for them; not the code of the shared libraries;
- the peak resident set of the whole device process while the model ran (Python, the
  runtime and its shared libraries included).

Output: JSON lines on stdout, ``{"event": "ready", ...}`` once the runtime is loaded,
then ``{"event": "model", ...}`` (with ``"error"`` when the model could not run).
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time


def _status_kb(field: str) -> int:
    """A ``kB`` field of /proc/self/status (VmRSS, VmHWM, VmSize)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _anonymous_kb() -> int:
    """Memory the process allocated itself (anonymous, resident), exact:
    /proc/self/smaps_rollup walks the page tables, while the counters of
    /proc/self/status may lag by a few hundred KiB, as much as a small model needs.
    Shared libraries (file-backed pages) are the runtime's, not the model's."""
    with open("/proc/self/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Anonymous:"):
                return int(line.split()[1])
    raise RuntimeError("/proc/self/smaps_rollup has no Anonymous")


def _emit(**event) -> None:
    print(json.dumps(event), flush=True)


def _cap_address_space(memory_mb: int) -> None:
    """Cap what the process may still map at what the device's memory leaves once the
    runtime is loaded. A container's memory limit is charged with the memory a process
    allocates (anonymous memory), not with shared libraries already in the page cache,
    so the headroom is the limit minus the runtime's anonymous memory; and address space
    is at least resident memory, so the cap is at least as strict as the container's
    for everything a model allocates."""
    anon_kb, size_kb = _status_kb("RssAnon"), _status_kb("VmSize")
    headroom_kb = memory_mb * 1024 - anon_kb
    if headroom_kb <= 0:
        raise MemoryError(f"the runtime alone uses {anon_kb / 1024:.0f} MB of the device's {memory_mb} MB")
    limit = (size_kb + headroom_kb) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))


def _device_inputs(samples, detail, np):
    """Each sample as the input tensor wants it, shape (1, features): int8/uint8 inputs
    are quantised with the tensor's scale and zero point, as the device's sensor code would."""
    dtype = np.dtype(detail["dtype"])
    rows = np.asarray(samples, dtype=np.float32)
    if dtype.kind in "iu":
        scale, zero_point = detail["quantization"]
        info = np.iinfo(dtype)
        rows = np.clip(np.round(rows / scale + zero_point), info.min, info.max)
    return [row[None, ...].astype(dtype) for row in rows]


def _load(interpreter_class, path: str):
    """The model read into RAM (a device without memory-mapped flash; and a container's
    memory limit counts it, which it would not for pages of a mapped file)."""
    with open(path, "rb") as model:
        content = model.read()
    interpreter = interpreter_class(model_content=content, num_threads=1)
    interpreter.allocate_tensors()
    return interpreter


def _needs_more_memory(interpreter_class, path: str) -> bool:
    """After a model failed under the address-space cap: does it load without the cap?
    Then the cap (the device's memory) was what stopped it. The cap is a soft limit for
    this one check; the model's code never runs while it is lifted."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return False
    gc.collect()
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    try:
        interpreter = _load(interpreter_class, path)
        del interpreter
        return True
    except (MemoryError, RuntimeError, ValueError):
        return False
    finally:
        gc.collect()
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# Room for the wall time of every inference of one run, allocated and touched before
# the model loads so that the measurement never counts its own bookkeeping; a run
# ends early when it is full (a quarter of a second at full speed on a fast PC).
MAX_INFERENCES = 250_000


def measure(name: str, path: str, samples, seconds: float, warmup: int, interpreter_class, np) -> dict:
    """Load one model on a freshly booted device and run it for ``seconds``."""
    latencies = np.ones(MAX_INFERENCES)
    before_kb = _anonymous_kb()
    interpreter = _load(interpreter_class, path)
    loaded_kb = _anonymous_kb()
    detail = interpreter.get_input_details()[0]
    inputs = _device_inputs(samples, detail, np)  # the sensor's data, not the model's memory
    prepared_kb = _anonymous_kb()
    for sample in inputs[:warmup]:
        interpreter.set_tensor(detail["index"], sample)
        interpreter.invoke()
    count = 0
    cpu_start, start = time.process_time(), time.perf_counter()
    while True:
        sample = inputs[count % len(inputs)]
        interpreter.set_tensor(detail["index"], sample)
        before = time.perf_counter()
        interpreter.invoke()
        after = time.perf_counter()
        latencies[count] = after - before
        count += 1
        if (count >= len(inputs) and after - start >= seconds) or count == MAX_INFERENCES:
            break
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    model_kb = (loaded_kb - before_kb) + max(0, _anonymous_kb() - prepared_kb)
    ms = latencies[:count] * 1000.0
    return {
        "event": "model",
        "name": name,
        "inferences": count,
        "seconds": wall,
        "ms_per_inference": 1000.0 * wall / count,
        "cpu_ms_per_inference": 1000.0 * cpu / count,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "model_ram_kb": float(model_kb),
        "peak_ram_mb": _status_kb("VmHWM") / 1024.0,
    }


def main(argv: list[str]) -> int:
    with open(argv[1]) as handle:
        request = json.load(handle)
    started = time.perf_counter()
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    samples = np.load(request["samples"])
    try:
        if request["cap_address_space"]:
            _cap_address_space(int(request["memory_mb"]))
    except MemoryError as exc:
        _emit(event="ready", error=f"out of memory: {exc}")
        return 1
    _emit(
        event="ready",
        boot_seconds=time.perf_counter() - started,
        runtime_ram_mb=_status_kb("VmRSS") / 1024,
        runtime_own_mb=_status_kb("RssAnon") / 1024,
    )
    name, path = request["name"], request["model"]
    try:
        _emit(
            **measure(name, path, samples, float(request["seconds"]), int(request["warmup"]), Interpreter, np)
        )
    except (MemoryError, RuntimeError, ValueError) as exc:  # too big, or a file the runtime cannot run
        gc.collect()
        reason = f"{type(exc).__name__}: {(str(exc) or 'an allocation failed').splitlines()[0][:300]}"
        if isinstance(exc, MemoryError) or _needs_more_memory(Interpreter, path):
            reason = (
                f"out of memory: the model needs more than the device's {request['memory_mb']} MB ({reason})"
            )
        _emit(event="model", name=name, error=reason)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
