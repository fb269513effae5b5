"""Run a prepared notebook in a child process with a whole-notebook wall clock.

The child (mlops_course.grading.run_notebook) starts the kernel; when the wall clock
runs out, the child and every process under it (the kernel and whatever the student
started) are killed, and the grade cells that did not run score nothing."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass
class ExecutionJob:
    input: Path
    output: Path
    outcome: Path
    workdir: Path
    cell_timeout: int
    wall_clock: int
    env: dict

    def to_dict(self) -> dict:
        return {"input": str(self.input), "output": str(self.output), "outcome": str(self.outcome),
                "workdir": str(self.workdir), "cell_timeout": self.cell_timeout, "env": self.env}


def kill_tree(pid: int) -> None:
    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    procs = parent.children(recursive=True) + [parent]
    for proc in procs:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=10)


def run_local(job: ExecutionJob) -> dict:
    """Execute on this machine, in a child process (no sandbox)."""
    job_file = job.outcome.with_name("job.json")
    job_file.parent.mkdir(parents=True, exist_ok=True)
    job_file.write_text(json.dumps(job.to_dict()))
    job.outcome.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "mlops_course.grading.run_notebook", str(job_file)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=job.wall_clock)
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid)
        proc.communicate()
        return {"status": "wall_clock",
                "reason": f"the notebook ran longer than the {job.wall_clock} s limit for a whole "
                          "notebook and was stopped (an endless loop or very slow code?)"}
    finally:
        # the kernel runs in its own session: make sure nothing the student started survives
        kill_tree(proc.pid)
    if job.outcome.is_file():
        return json.loads(job.outcome.read_text())
    tail = stderr.decode(errors="replace").strip().splitlines()[-3:]
    return {"status": "failed", "reason": "the notebook runner stopped unexpectedly: " + " | ".join(tail)}
