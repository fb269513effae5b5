"""Make the checkpoints of the model's path from the model answer of m3_workflow.

Runs ``source/m3_workflow/m3_workflow.ipynb`` (FAST, SEED 42) with papermill: its
pipeline registers ``digits-classifier`` in MLflow and exports the version of its first
execution as a model checkpoint. This script copies that checkpoint into the
assignments that serve the model (``model_path.MODEL_CHECKPOINTS``) and writes
m4_kubernetes' ``image.json``: the image module 2's pipeline pushes for the release tag,
on the course registry. Run it after a change to m3's pipeline (``make checkpoint``),
then regenerate the releases of the modules it changed.

    PYTHONPATH=$PWD python tools/checkpoint.py [--course .]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import papermill

from mlops_course.infra import model_path

SEED = 42


def export_from_m3(source: Path, folder: Path) -> dict:
    """Execute m3's source notebook with ``CHECKPOINT_DIR=folder``; the model card."""
    notebook = source / "m3_workflow" / "m3_workflow.ipynb"
    with tempfile.TemporaryDirectory(prefix="m3-checkpoint-") as work:
        papermill.execute_notebook(
            str(notebook),
            str(Path(work) / "executed.ipynb"),
            parameters={"FAST": True, "SEED": SEED, "WORK_DIR": work, "CHECKPOINT_DIR": str(folder)},
            cwd=str(notebook.parent),
            kernel_name="python3",
            progress_bar=False,
        )
    return model_path.read_card(folder)


def distribute(folder: Path, source: Path) -> list[Path]:
    """Copy the checkpoint into every assignment that serves it; write m4's image.json."""
    card = model_path.load(folder).card
    written = []
    for assignment, relative in model_path.MODEL_CHECKPOINTS.items():
        target = source / assignment / relative
        target.mkdir(parents=True, exist_ok=True)
        for name in (model_path.MODEL_FILE, model_path.CARD_FILE):
            shutil.copyfile(folder / name, target / name)
            written.append(target / name)
    written.append(
        model_path.write_image_card(
            source / model_path.IMAGE_CHECKPOINT,
            model_path.service_image(),
            card,
            model_path.SERVICE_COMMANDS,
        )
    )
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the course folder (with source/)")
    args = parser.parse_args(argv)
    source = args.course.resolve() / "source"
    with tempfile.TemporaryDirectory(prefix="checkpoint-") as tmp:
        card = export_from_m3(source, Path(tmp))
        print(f"m3's model answer registered {card['name']} version {card['version']}: {card['metrics']}")
        for path in distribute(Path(tmp), source):
            print("wrote", path.relative_to(args.course.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
