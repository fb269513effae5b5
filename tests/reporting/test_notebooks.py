"""The lecturer dashboard and my_progress notebooks run headless without errors
(on the course's own gradebook, or the demo class when there is none)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def run(name, **parameters):
    from nbclient import NotebookClient

    nb = nbformat.read(str(NOTEBOOKS / name), as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source += "\n" + "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
    NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    return nb


def outputs(nb):
    text = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            text.append(data.get("text/markdown", "") + data.get("text/plain", "") + out.get("text", ""))
    return "\n".join(text)


@pytest.mark.slow
def test_dashboard_on_the_demo_class():
    text = outputs(run("lecturer_dashboard.ipynb", DEMO=True, AS_OF="2027-01-20T12:00:00+01:00"))
    assert "DEMO CLASS" in text and "16 students" in text
    assert "Dropdown(description='module'" in text


@pytest.mark.slow
def test_my_progress(tmp_path):
    text = outputs(run("my_progress.ipynb", FOLDER=str(tmp_path)))
    assert "not started" in text and "m7_monitoring" in text
