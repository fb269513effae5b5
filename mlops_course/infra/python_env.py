"""The running Python environment as a container sees it: the folders this interpreter
and its packages live in, mounted read-only at the same paths, so that a container made
from the course base image runs exactly the versions installed here (the grading
sandbox's kernels, m5's edge device)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

# A system Python's prefix is never mounted over the image's own system folders: the
# base image's Python 3.11 (Debian bookworm) serves a venv made from it instead.
SYSTEM_PREFIXES = {Path("/usr"), Path("/usr/local")}


def environment_folders() -> set[Path]:
    """The venv (``sys.prefix``) and the Python it was made from, unless that is a
    system Python."""
    folders = {Path(sys.prefix).resolve()}
    base = Path(sys.base_prefix).resolve()
    if base not in SYSTEM_PREFIXES:
        folders.add(base)
    return folders


def read_only_mounts(folders: Iterable[Path]) -> dict[str, dict]:
    """Docker SDK ``volumes`` mounting each folder read-only at its own path; a folder
    inside another one of them is left out (the outer mount brings it)."""
    folders = set(folders)
    keep = [p for p in folders if not any(p != q and q in p.parents for q in folders)]
    return {str(p): {"bind": str(p), "mode": "ro"} for p in sorted(keep)}
