"""Batch scoring with the model the API serves: python3 batch_score.py INPUT OUTPUT

INPUT is a JSON-lines file with one instance per line (a JSON list of the model's
features, e.g. the 64 pixel values of a digit); OUTPUT gets one JSON line per instance,
{"prediction": ..., "model": ..., "version": ...}. The model, and its check of
MODEL_VERSION, are the API's own (app.py): a Job in a cluster scores with exactly the
model version the service serves. Exit code 0 when every line was scored, 1 for a bad
input file (nothing is written then), 2 for wrong arguments.
"""
import json
import sys
from pathlib import Path

import app


def read_instances(path):
    """The instances of a JSON-lines file; ValueError naming the first bad line."""
    instances = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}:{number} is not JSON: {exc}") from None
        if not isinstance(row, list) or len(row) != app.N_FEATURES:
            raise ValueError(f"{path}:{number} must be a list of {app.N_FEATURES} numbers")
        instances.append(row)
    if not instances:
        raise ValueError(f"{path} holds no instance")
    return instances


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python3 batch_score.py INPUT OUTPUT", file=sys.stderr)
        return 2
    source, target = args
    try:
        instances = read_instances(source)
    except (OSError, ValueError) as exc:
        print(f"batch_score: {exc}", file=sys.stderr)
        return 1
    predictions = app.model.predict(instances)
    with open(target, "w") as out:
        for prediction in predictions:
            out.write(json.dumps({"prediction": int(prediction), "model": app.model.name,
                                  "version": app.model.version}) + "\n")
    app.log(f"scored {len(instances)} instances from {source} with {app.model.name} "
            f"version {app.model.version or '(none)'} into {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
