"""Execute one prepared notebook, the way nbgrader autograde would, in its own process.

    python -m mlops_course.grading.run_notebook JOB.json

The job names the input and output notebook, the working directory, the per-cell
timeout and the environment. This module imports no gradebook code: it is what runs
next to student code (locally or inside the grading sandbox). It writes the executed
notebook and an outcome JSON; if the kernel dies, every grade cell that did not run
gets an error output so that it cannot score."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

NOT_RUN = "NotExecuted"


def mark_unexecuted_grade_cells(nb, reason: str) -> int:
    """A test cell with no output would count as passed: give the ones that never ran
    an error instead."""
    from nbformat.v4 import new_output

    marked = 0
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and cell.get("execution_count") is None:
            cell.outputs = [new_output("error", ename=NOT_RUN, evalue=reason,
                                       traceback=[f"{NOT_RUN}: {reason}"])]
            marked += 1
    return marked


def timed_out_cells(nb) -> list[str]:
    names = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "error" and output.get("ename") == "CellTimeoutError":
                names.append(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {index + 1}")
    return names


def execute(job: dict) -> dict:
    import nbformat
    from nbclient.exceptions import DeadKernelError
    from nbgrader.preprocessors.execute import Execute

    nb = nbformat.read(job["input"], as_version=4)
    os.environ.update(job.get("env", {}))
    executor = Execute(timeout=job["cell_timeout"], kernel_name="python3")
    started = time.monotonic()
    outcome = {"status": "executed", "reason": None, "timeouts": []}
    try:
        executor.preprocess(nb, {"metadata": {"path": job["workdir"]}})
    except DeadKernelError:
        outcome = {"status": "kernel_died",
                   "reason": "the kernel died while running the notebook (a crash, "
                             "os._exit, or running out of memory); cells after that did not run"}
    except Exception as exc:  # the executor's own failures, e.g. a kernel that never starts
        outcome = {"status": "failed", "reason": f"execution failed: {type(exc).__name__}: {exc}"[:500]}
    if outcome["status"] != "executed":
        mark_unexecuted_grade_cells(nb, outcome["reason"])
    outcome["timeouts"] = timed_out_cells(nb)
    outcome["seconds"] = round(time.monotonic() - started, 2)
    Path(job["output"]).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(job["output"]).with_suffix(".tmp")
    nbformat.write(nb, str(tmp))
    tmp.replace(job["output"])
    return outcome


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(argv[0]).read_text())
    outcome = execute(job)
    Path(job["outcome"]).write_text(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main())
