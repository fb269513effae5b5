"""Commands and file modes on the course machine, shared by the hub's set-up steps."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

from mlops_course.errors import HubSetupError

Log = Callable[[str], None]


def run(cmd: list, log: Log, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, logged; on failure raise with the last lines of its output."""
    log("$ " + " ".join(str(c) for c in cmd))
    proc = subprocess.run(
        [str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-25:])
        raise HubSetupError(f"{cmd[0]} failed (exit {proc.returncode}):\n{tail}")
    return proc


def make_readable(path: Path) -> None:
    """chmod -R a+rX: every user runs the hub's environment and reads its configs."""
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(root, name)
            if os.path.islink(full):
                continue
            mode = os.stat(full).st_mode
            extra = stat.S_IROTH | stat.S_IRGRP
            if stat.S_ISDIR(mode) or mode & stat.S_IXUSR:
                extra |= stat.S_IXOTH | stat.S_IXGRP
            if mode & extra != extra:
                os.chmod(full, mode | extra)
    os.chmod(path, os.stat(path).st_mode | 0o755)
