"""The model-serving API of module 1 (source/m1_docker/app/app.py), with monitoring added.

Same routes, payloads and model file as in module 1: GET /health, POST /predict with
``{"instances": [[64 pixel values], ...]}``, a scikit-learn linear classifier exported
to ``model.npz``. Module 7 adds three things a service in production needs:

- ``GET /metrics``: the Prometheus exposition of the process's default registry. The
  request metrics themselves are defined in a separate module (``METRICS_MODULE``, the
  file you write in module 7), which must provide ``request_started()`` and
  ``request_finished(endpoint, status, seconds, predictions)``; the service calls
  them around every /predict request. A module that fails to load is logged and the
  service runs without it (metrics are never worth an outage).
- logs: one JSON object per line on stdout (12-factor: the platform collects stdout;
  module 7 ships it to a syslog collector), every line with the service's ``run_id``;
- the prediction log (``PREDICTION_LOG``) also records the features it served, which
  drift detection compares with the training data.

Configuration comes from the environment:
  MODEL_PATH      the exported model (default: model.npz next to this file)
  MODEL_VERSION   optional: the model version this deployment must serve; the service
                  refuses to start when the model file holds another version
  HOST, PORT      where to listen (default 0.0.0.0:8000, all interfaces of a container)
  PREDICTION_LOG  optional JSON-lines file that gets one line per successful /predict
  METRICS_MODULE  optional path of the Python file with the request metrics
  RUN_ID          optional id of this run of the service (default: a random one)
"""
import importlib.util
import json
import logging
import os
import signal
import sys
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from prometheus_client import CONTENT_TYPE_LATEST, Info, generate_latest

MODEL_PATH = Path(os.environ.get("MODEL_PATH", Path(__file__).with_name("model.npz")))
HOST = os.environ.get("HOST", "0.0.0.0")
PORT = int(os.environ.get("PORT", "8000"))
PREDICTION_LOG = os.environ.get("PREDICTION_LOG")
MODEL_VERSION = os.environ.get("MODEL_VERSION", "")
METRICS_MODULE = os.environ.get("METRICS_MODULE")
RUN_ID = os.environ.get("RUN_ID") or uuid.uuid4().hex[:12]
REQUEST_FIELDS = ("request_id", "method", "path", "status", "latency_ms", "n_instances", "error")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, run_id, request fields."""

    def format(self, record):
        event = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "run_id": RUN_ID,
        }
        event.update({name: getattr(record, name) for name in REQUEST_FIELDS if hasattr(record, name)})
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event)


def make_logger() -> logging.Logger:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("model-api")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


log = make_logger()


class LinearModel:
    """argmax(X @ coef.T + intercept): what LogisticRegression.predict computes."""

    def __init__(self, path):
        with np.load(path, allow_pickle=False) as saved:
            self.coef = saved["coef"]
            self.intercept = saved["intercept"]
            self.classes = saved["classes"]
            self.name = str(saved["name"]) if "name" in saved.files else "LinearModel"
            self.version = str(saved["version"]) if "version" in saved.files else ""

    def predict(self, instances):
        scores = np.asarray(instances, dtype=float) @ self.coef.T + self.intercept
        if scores.shape[1] == 1:  # binary: one column of scores
            return self.classes[(scores[:, 0] > 0).astype(int)]
        return self.classes[scores.argmax(axis=1)]


def load_metrics(path):
    """The request-metrics module, or None (logged) when there is none or it fails."""
    if not path:
        return None
    try:
        spec = importlib.util.spec_from_file_location("request_metrics", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for hook in ("request_started", "request_finished"):
            if not callable(getattr(module, hook, None)):
                raise AttributeError(f"{path} defines no function {hook}()")
        return module
    except Exception:
        log.exception("the metrics module %s failed to load; serving without request metrics", path)
        return None


def load_model(path=MODEL_PATH, expected_version=MODEL_VERSION):
    """The model to serve; refuses a model file of another version than the expected one."""
    loaded = LinearModel(path)
    if expected_version and loaded.version != expected_version:
        raise SystemExit(
            f"{path} holds {loaded.name} version {loaded.version or '(none)'}, but MODEL_VERSION="
            f"{expected_version}: refusing to serve another model than the one declared"
        )
    return loaded


model = load_model()
N_FEATURES = int(model.coef.shape[1])
Info("served_model", "The model this service serves").info({"name": model.name, "version": model.version})
metrics = load_metrics(METRICS_MODULE)


class Handler(BaseHTTPRequestHandler):
    server_version = "mlops-course-api/1.0"

    def _send(self, status: int, body: dict | bytes, content_type: str = "application/json") -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, fmt, *args):  # replaced by one JSON line per request (below)
        pass

    def do_GET(self):
        if self.path == "/health":
            self._send(200, {"status": "ok", "model": model.name, "version": model.version,
                             "n_features": N_FEATURES, "user": os.getuid(), "run_id": RUN_ID,
                             "metrics": metrics is not None})
        elif self.path == "/metrics":
            self._send(200, generate_latest(), CONTENT_TYPE_LATEST)
        else:
            self._send(404, {"error": f"no route GET {self.path}; try /health or /metrics"})

    def do_POST(self):
        if self.path != "/predict":
            self._send(404, {"error": f"no route POST {self.path}; try /predict"})
            return
        started = time.perf_counter()
        self.status, predictions, error = 500, [], None
        request_id = self.headers.get("X-Request-Id") or uuid.uuid4().hex[:16]
        self._hook("request_started")
        try:
            predictions, error = self._predict(request_id)
        except Exception as exc:  # a bug here must not kill the service: answer 500, log it
            error = f"{type(exc).__name__}: {exc}"
            log.exception("prediction failed", extra={"request_id": request_id, "error": error})
            self._send(500, {"error": "internal error", "request_id": request_id})
        finally:
            seconds = time.perf_counter() - started
            self._hook("request_finished", self.path, self.status, seconds, predictions)
            level = logging.INFO if self.status < 400 else logging.WARNING if self.status < 500 else logging.ERROR
            log.log(level, f"POST {self.path} {self.status}", extra={
                "request_id": request_id, "method": "POST", "path": self.path, "status": self.status,
                "latency_ms": round(seconds * 1000, 3), "n_instances": len(predictions),
                **({"error": error} if error else {})})

    def _predict(self, request_id):
        """(predictions, error message) of one /predict call; answers the client."""
        try:
            length = int(self.headers.get("Content-Length", "0"))
            instances = json.loads(self.rfile.read(length))["instances"]
            if not instances or any(len(row) != N_FEATURES for row in instances):
                raise ValueError(f"each instance needs {N_FEATURES} features")
            predictions = [int(label) for label in model.predict(instances)]
        except (KeyError, TypeError, ValueError) as exc:
            self._send(400, {"error": f'send {{"instances": [[...], ...]}}: {exc}'})
            return [], f"{type(exc).__name__}: {exc}"
        if PREDICTION_LOG:
            try:
                with open(PREDICTION_LOG, "a") as out:
                    out.write(json.dumps({"time": time.time(), "request_id": request_id, "n": len(predictions),
                                          "predictions": predictions, "instances": instances}) + "\n")
            except OSError as exc:
                log.warning(f"cannot write {PREDICTION_LOG}: {exc}")
        self._send(200, {"predictions": predictions, "request_id": request_id})
        return predictions, None

    def _hook(self, name, *args):
        """Call a hook of the metrics module; its bugs are logged, never the client's problem."""
        if metrics is None:
            return
        try:
            getattr(metrics, name)(*args)
        except Exception:
            log.exception("metrics hook %s failed", name)


def main() -> None:
    server = ThreadingHTTPServer((HOST, PORT), Handler)
    server.daemon_threads = False  # on stop, requests in flight finish and write their log line
    # As PID 1 a process gets no default SIGTERM handling: stop cleanly on `docker stop`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log.info(f"serving {model.name} from {MODEL_PATH} on {HOST}:{server.server_address[1]}")
    try:
        server.serve_forever()
    finally:
        server.server_close()
        log.info("stopped")


if __name__ == "__main__":
    main()
