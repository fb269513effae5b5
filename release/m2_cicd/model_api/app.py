"""A small model-serving API: GET /health, GET /metrics, POST /predict.

Standard library HTTP server + numpy. The model is the one module 3's pipeline
registered, exported to ``model/model.npz`` (coef, intercept, classes, name, version:
the weights of a scikit-learn linear classifier, its pixel scaling folded in): the image
needs neither scikit-learn nor pickle (unpickling a file runs code), and its dependency
layer stays small. ``batch_score.py`` scores a whole file with the same model.
Configuration comes from the environment:
  MODEL_PATH      the exported model (default: model/model.npz next to this file)
  MODEL_VERSION   optional: the model version this image or deployment must serve; the
                  API refuses to start when the model file holds another version
  HOST, PORT      where to listen (default 0.0.0.0:8000, all interfaces of the container)
  PREDICTION_LOG  optional JSON-lines file that gets one line per /predict call
"""
import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from prometheus_client import CONTENT_TYPE_LATEST, Info, generate_latest

MODEL_PATH = Path(os.environ.get("MODEL_PATH", Path(__file__).parent / "model" / "model.npz"))
MODEL_VERSION = os.environ.get("MODEL_VERSION", "")
HOST = os.environ.get("HOST", "0.0.0.0")
PORT = int(os.environ.get("PORT", "8000"))
PREDICTION_LOG = os.environ.get("PREDICTION_LOG")


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


def log(message: str) -> None:
    print(time.strftime("%H:%M:%S"), message, flush=True)


class Handler(BaseHTTPRequestHandler):
    server_version = "mlops-course-api/1.0"

    def _send(self, status: int, body: dict | bytes, content_type: str = "application/json") -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, fmt, *args):  # one line per request, on stdout
        log(f"{self.command} {self.path} {args[1] if len(args) > 1 else ''}")

    def do_GET(self):
        if self.path == "/health":
            self._send(200, {"status": "ok", "model": model.name, "version": model.version,
                             "n_features": N_FEATURES, "user": os.getuid()})
        elif self.path == "/metrics":
            self._send(200, generate_latest(), CONTENT_TYPE_LATEST)
        else:
            self._send(404, {"error": f"no route GET {self.path}; try /health or /metrics"})

    def do_POST(self):
        if self.path != "/predict":
            self._send(404, {"error": f"no route POST {self.path}; try /predict"})
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
            instances = json.loads(self.rfile.read(length))["instances"]
            if not instances or any(len(row) != N_FEATURES for row in instances):
                raise ValueError(f"each instance needs {N_FEATURES} features")
            predictions = [int(label) for label in model.predict(instances)]
        except (KeyError, TypeError, ValueError) as exc:
            self._send(400, {"error": f'send {{"instances": [[...], ...]}}: {exc}'})
            return
        if PREDICTION_LOG:
            try:
                with open(PREDICTION_LOG, "a") as out:
                    out.write(json.dumps({"time": time.time(), "n": len(predictions),
                                          "predictions": predictions}) + "\n")
            except OSError as exc:
                log(f"WARNING cannot write {PREDICTION_LOG}: {exc}")
        self._send(200, {"predictions": predictions})


def main() -> None:
    server = ThreadingHTTPServer((HOST, PORT), Handler)
    # As PID 1 a process gets no default SIGTERM handling: stop cleanly on `docker stop`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log(f"serving {model.name} version {model.version or '(none)'} from {MODEL_PATH} on {HOST}:{PORT}")
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
