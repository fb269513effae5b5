"""Executing one notebook (`run_notebook.execute`) with a local kernel, as the process
pool and Dask workers do with --no-sandbox."""

from __future__ import annotations

import os
import tempfile

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from mlops_course.grading.execution import run_notebook
from mlops_course.grading.execution.jobs import ExecutionJob, Outcome

PROBE = (
    "from ipykernel.kernelapp import IPKernelApp\n"
    "import os\n"
    "app = IPKernelApp.instance()\n"
    "print(app.transport, os.path.basename(os.getcwd()), os.environ.get('JOB_MARK'), os.path.dirname(app.ip))"
)


def run(tmp_path, name: str, source: str) -> tuple[Outcome, nbformat.NotebookNode]:
    workdir = tmp_path / name
    workdir.mkdir()
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(source)]), str(path))
    job = ExecutionJob(
        key=name,
        input=path,
        output=tmp_path / f"{name}.out.ipynb",
        workdir=workdir,
        cell_timeout=60,
        wall_clock=120,
        env={"JOB_MARK": name},
    )
    outcome = run_notebook.execute(job)
    return outcome, nbformat.read(str(job.output), as_version=4)


def test_local_kernels_talk_over_private_unix_sockets_and_leave_nothing(tmp_path):
    """Kernels started at once cannot race for TCP ports: they have none."""
    for name in ["first", "second"]:
        outcome, nb = run(tmp_path, name, PROBE)
        assert outcome.status == "executed", outcome
        transport, cwd, mark, folder = nb.cells[0].outputs[0]["text"].split()
        assert (transport, cwd, mark) == ("ipc", name, name)
        assert folder.startswith(tempfile.gettempdir()), folder
        assert not os.path.exists(folder), "the socket folder is removed after the job"


def test_a_kernel_that_dies_is_reported_and_its_folder_removed(tmp_path):
    marker = tmp_path / "folder.txt"
    outcome, _ = run(
        tmp_path,
        "dies",
        "from ipykernel.kernelapp import IPKernelApp\nimport os\n"
        f"open({str(marker)!r}, 'w').write(os.path.dirname(IPKernelApp.instance().ip))\n"
        "os._exit(3)",
    )
    assert outcome.status == "kernel_died"
    assert not os.path.exists(marker.read_text())
