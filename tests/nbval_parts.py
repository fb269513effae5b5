"""pytest plugin for the nbval run (`make test`, `-p nbval_parts`): a notebook that
declares system parts it needs (metadata.mlops_course.requires) is skipped with the
reason on a machine without them; in CI (CI=true) it runs and fails instead."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import missing_parts, notebook_requires

from mlops_course.settings import in_ci


def pytest_collection_modifyitems(config, items):
    missing_by_path: dict = {}
    for item in items:
        path = Path(str(item.fspath))
        if path.suffix != ".ipynb":
            continue
        if path not in missing_by_path:
            missing_by_path[path] = missing_parts(notebook_requires(path))
        if missing_by_path[path] and not in_ci():
            item.add_marker(
                pytest.mark.skip(
                    reason=f"{path.name} needs {', '.join(missing_by_path[path])} (see `mlops-course doctor`)"
                )
            )
