"""Prepared folders kept in the cache and built once: e.g. a Prefect or MLflow database
already migrated, copied into each run instead of being migrated again (~10 s)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from mlops_course.settings import cache_dir


def cached_folder(name: str, build: Callable[[Path], None]) -> Path | None:
    """``<cache>/templates/<name>``, built once (atomically) by ``build(folder)``; None
    when the cache is read-only or the build fails (the caller then works without)."""
    target = cache_dir() / "templates" / name
    if (target / "ready").exists():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
        build(work)
        (work / "ready").write_text("ok")
        try:
            os.rename(work, target)
        except OSError:  # someone else finished first
            shutil.rmtree(work, ignore_errors=True)
        return target if (target / "ready").exists() else None
    except Exception:  # a read-only cache or a failed build: run without a template
        return None
