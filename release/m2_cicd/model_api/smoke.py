"""A smoke test as a second Compose service: call the API by its service name and
exit 0 when it answers sensibly (non-zero otherwise).
  API_URL   where the API is, e.g. http://api:8000 (Compose service name = host name)
  N_REQUESTS how many /predict calls to make (default 3)
"""
import json
import os
import sys
import time
import urllib.request

API_URL = os.environ.get("API_URL", "http://api:8000").rstrip("/")
N_REQUESTS = int(os.environ.get("N_REQUESTS", "3"))


def call(path, payload=None):
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(API_URL + path, data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def main() -> int:
    deadline = time.monotonic() + 30
    while True:  # tolerate an API that is still starting
        try:
            health = call("/health")
            break
        except OSError as exc:
            if time.monotonic() > deadline:
                print(f"smoke: {API_URL}/health does not answer: {exc}", flush=True)
                return 1
            time.sleep(0.5)
    n_features = health["n_features"]
    for i in range(N_REQUESTS):
        answer = call("/predict", {"instances": [[float((i + j) % 16) for j in range(n_features)]]})
        print(f"smoke: request {i + 1}/{N_REQUESTS} -> {answer['predictions']}", flush=True)
    print("smoke: OK", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
