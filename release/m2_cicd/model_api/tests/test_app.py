"""Unit tests of the model service: the model, the HTTP API and batch scoring, run
against the checkpoint in model/ (no training, no network beyond 127.0.0.1)."""
import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import app
import batch_score

CARD = json.loads((Path(app.__file__).parent / "model" / "model.json").read_text())


@pytest.fixture(scope="module")
def api():
    server = app.ThreadingHTTPServer(("127.0.0.1", 0), app.Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def call(url, payload=None):
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_health_names_the_registered_model_and_its_version(api):
    status, body = call(api + "/health")
    assert status == 200
    health = json.loads(body)
    assert (health["model"], health["version"]) == (CARD["name"], CARD["version"])


def test_predict_returns_one_digit_per_instance(api):
    status, body = call(api + "/predict", {"instances": [[0] * 64, [16] * 64]})
    assert status == 200
    predictions = json.loads(body)["predictions"]
    assert len(predictions) == 2 and all(p in range(10) for p in predictions)


def test_predict_rejects_a_wrong_shape(api):
    assert call(api + "/predict", {"instances": [[0] * 10]})[0] == 400


def test_metrics_name_the_served_model(api):
    status, body = call(api + "/metrics")
    assert status == 200
    assert f'served_model_info{{name="{CARD["name"]}",version="{CARD["version"]}"}} 1.0' in body


def test_another_model_version_is_refused():
    with pytest.raises(SystemExit, match="refusing"):
        app.load_model(app.MODEL_PATH, expected_version=f"not-{CARD['version']}")


def test_batch_score_scores_a_file(tmp_path):
    source = tmp_path / "input.jsonl"
    source.write_text(json.dumps([0] * 64) + "\n\n" + json.dumps([16] * 64) + "\n")
    assert batch_score.main([str(source), str(tmp_path / "scores.jsonl")]) == 0
    scores = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert [s["version"] for s in scores] == [CARD["version"]] * 2


def test_batch_score_rejects_a_bad_line_and_writes_nothing(tmp_path):
    source = tmp_path / "input.jsonl"
    source.write_text(json.dumps([0] * 64) + "\n" + json.dumps([1, 2]) + "\n")
    assert batch_score.main([str(source), str(tmp_path / "scores.jsonl")]) == 1
    assert not (tmp_path / "scores.jsonl").exists()
