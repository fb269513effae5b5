"""One model's path across the modules: what each module hands the next.

Module 3's pipeline registers a version of ``digits-classifier`` in MLflow; module 1's
image serves exactly that version; module 2's pipeline builds, tests and pushes that
image for a release tag; module 4's manifests deploy it from the course registry; module
7 scrapes the same service. Each assignment ships the previous module's result as a
*checkpoint*, so that every module can be done, and graded, on its own:

- the **model checkpoint**, a folder with ``model.npz`` (the weights of a linear
  classifier, ``coef``, ``intercept`` and ``classes``, with its ``name`` and ``version``:
  numpy alone loads it, no pickle, whose loading runs code) and ``model.json`` (the model
  card: name, version, the MLflow run, its parameters, metrics and test split).
  m1_docker ships it in ``app/model/``, m2_cicd in ``model_api/model/``;
- the **image checkpoint** of m4_kubernetes, ``image.json``: the image module 2 pushes
  for the release tag (:func:`service_image`), the model it serves, and its commands.

``tools/checkpoint.py`` makes both from the model answer of m3_workflow; a student who
did module 3 exports their own model with :func:`export`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlops_course.errors import CheckpointError
from mlops_course.infra.files import write_atomic

# Where a course cluster (kind, minikube) pulls images from: m4's manifests name it.
COURSE_REGISTRY = "127.0.0.1:5000"
# The repository module 2's pipeline pushes the model service to (its github.repository),
# and the git tag of the release it pushes.
SERVICE_REPOSITORY = "mlops-course/model-api"
RELEASE_TAG = "v1.0.0"
MODEL_FILE, CARD_FILE, IMAGE_FILE = "model.npz", "model.json", "image.json"
INPUTS = "64 raw pixel values 0..16 of an 8x8 digit (scaling folded into the weights)"
# Where each assignment ships a checkpoint, relative to its source folder.
MODEL_CHECKPOINTS = {"m1_docker": "app/model", "m2_cicd": "model_api/model"}
IMAGE_CHECKPOINT = "m4_kubernetes"
# What the service's image runs: the API (its CMD), and one batch scoring run over a
# JSON-lines file of instances (m4's Job and CronJob, with a volume at /data).
SERVICE_COMMANDS = {
    "serve": ["python3", "app.py"],
    "batch": ["python3", "batch_score.py", "/data/input.jsonl", "/data/scores.jsonl"],
}


def service_image(registry: str = COURSE_REGISTRY, tag: str = RELEASE_TAG) -> str:
    """The reference of the model service's image: ``<registry>/mlops-course/model-api:<tag>``."""
    return f"{registry}/{SERVICE_REPOSITORY}:{tag}"


def write(
    folder: str | Path,
    coef,
    intercept,
    classes,
    *,
    name: str,
    version: str | int,
    card: dict[str, Any] | None = None,
) -> Path:
    """Write a linear classifier's weights and its card into ``folder``; returns it."""
    coef = np.atleast_2d(np.asarray(coef, dtype=float))
    intercept = np.asarray(intercept, dtype=float).reshape(-1)
    classes = np.asarray(classes)
    if coef.shape[0] != intercept.shape[0] or coef.shape[0] not in (len(classes), 1):
        raise CheckpointError(
            f"coef {coef.shape}, intercept {intercept.shape} and {len(classes)} classes do not "
            "make one linear classifier: one row of coef and one intercept per class"
        )
    folder = Path(folder)
    buffer = io.BytesIO()
    np.savez(buffer, coef=coef, intercept=intercept, classes=classes, name=str(name), version=str(version))
    write_atomic(folder / MODEL_FILE, buffer.getvalue())
    full_card = {"inputs": INPUTS, **(card or {}), "name": str(name), "version": str(version)}
    write_atomic(folder / CARD_FILE, json.dumps(full_card, indent=2, sort_keys=True, default=str) + "\n")
    return folder


def export(
    model,
    folder: str | Path,
    *,
    name: str,
    version: str | int,
    input_scale: float = 1.0,
    card: dict[str, Any] | None = None,
) -> Path:
    """Write a fitted scikit-learn linear classifier (``coef_``, ``intercept_``,
    ``classes_``: LogisticRegression, LinearSVC, SGDClassifier...) as a checkpoint.

    ``input_scale``: the factor the pipeline multiplied the raw inputs by before the model
    (1/16 for module 3's pixels). It is folded into the weights, so that the served model
    takes raw inputs: ``(x * s) @ w = x @ (s * w)``."""
    missing = [a for a in ("coef_", "intercept_", "classes_") if not hasattr(model, a)]
    if missing:
        raise CheckpointError(
            f"{type(model).__name__} has no {', '.join(missing)}: the model API serves fitted linear "
            "classifiers (LogisticRegression, LinearSVC, SGDClassifier), whose weights numpy alone applies"
        )
    coef = np.asarray(model.coef_, dtype=float) * input_scale
    return write(folder, coef, model.intercept_, model.classes_, name=name, version=version, card=card)


def read_card(folder: str | Path) -> dict[str, Any]:
    """The model card (``model.json``) of a checkpoint folder."""
    path = Path(folder) / CARD_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(
            f"no model checkpoint in {folder}: it needs {MODEL_FILE} and {CARD_FILE} "
            "(module 3 exports them; each assignment that serves the model ships a copy)"
        ) from None
    except ValueError as exc:
        raise CheckpointError(f"{path} is not valid JSON: {exc}") from None


@dataclass
class Checkpoint:
    """A loaded model checkpoint; ``predict`` applies the weights as the model API does."""

    coef: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray
    name: str
    version: str
    card: dict[str, Any] = field(default_factory=dict)

    def predict(self, instances) -> np.ndarray:
        """argmax(X @ coef.T + intercept) (one score column: its sign) for rows of raw inputs."""
        scores = np.asarray(instances, dtype=float) @ self.coef.T + self.intercept
        if scores.shape[1] == 1:
            return self.classes[(scores[:, 0] > 0).astype(int)]
        return self.classes[scores.argmax(axis=1)]


def load(folder: str | Path) -> Checkpoint:
    """The checkpoint in ``folder`` (``model.npz`` and ``model.json``)."""
    card = read_card(folder)
    try:
        with np.load(Path(folder) / MODEL_FILE, allow_pickle=False) as saved:
            weights = {key: saved[key] for key in ("coef", "intercept", "classes")}
            name, version = str(saved["name"]), str(saved["version"])
    except (OSError, KeyError, ValueError) as exc:
        raise CheckpointError(f"{Path(folder) / MODEL_FILE} is not a model checkpoint: {exc}") from None
    if (name, version) != (card.get("name"), card.get("version")):
        raise CheckpointError(
            f"{folder}: {MODEL_FILE} holds {name} version {version}, but {CARD_FILE} describes "
            f"{card.get('name')} version {card.get('version')}: export both files together"
        )
    return Checkpoint(**weights, name=name, version=version, card=card)


def write_image_card(folder: str | Path, image: str, model_card: dict[str, Any], commands: dict) -> Path:
    """Write m4's checkpoint: the image to deploy, the model it serves, its commands."""
    card = {
        "image": image,
        "model": {key: model_card[key] for key in ("name", "version")},
        "commands": commands,
    }
    return write_atomic(Path(folder) / IMAGE_FILE, json.dumps(card, indent=2, sort_keys=True) + "\n")


def read_image_card(folder: str | Path) -> dict[str, Any]:
    """m4's checkpoint (``image.json``): ``image``, ``model`` (name, version), ``commands``."""
    path = Path(folder) / IMAGE_FILE
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError) as exc:
        raise CheckpointError(f"no image checkpoint at {path}: {exc}") from None
