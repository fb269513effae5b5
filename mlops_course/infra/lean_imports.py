"""Start-up cost of a command: skip what importing nbgrader's gradebook drags in and no
command of the course uses.

Every lecturer command that opens the gradebook imports ``nbgrader.api``. Three costs
come with it that the command never uses (CPU seconds measured on a 2-core machine):

- jsonschema (through nbformat) imports ``rfc3987_syntax`` when it is installed, and
  that builds a URI grammar (0.7 s, seconds on a busy machine) for a format no
  notebook uses; without it jsonschema simply skips that format;
- ``nbgrader/__init__.py`` loads its Jupyter server extensions (formgrader, the
  exchange, nbconvert, jupyter_server): about 0.6 s, for a web server the command
  does not start;
- ``nbgrader.utils`` imports ``setuptools.archive_util``, and ``setuptools/__init__.py``
  loads ``pkg_resources``: about 0.8 s, for unpacking archives (``zip_collect``).

:func:`lean_startup` blocks the first and imports the ``nbgrader`` and ``setuptools``
packages without running their ``__init__``; their modules import as usual. The first
time anything asks such a package for a name it lacks (a server extension hook when
Jupyter loads it, ``setuptools.setup``), the real ``__init__`` runs into the same
module first, so nothing changes for that caller."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

DEFERRED_INITS = ("nbgrader", "setuptools")


def lean_startup() -> None:
    """Call once, before anything imports nbformat or nbgrader (the CLI's first step)."""
    sys.modules.setdefault("rfc3987_syntax", None)
    for name in DEFERRED_INITS:
        if name not in sys.modules:
            _install_bare_package(name)


def _install_bare_package(name: str) -> None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return  # not installed: the command says so when it needs it
    package = types.ModuleType(name)
    package.__spec__, package.__file__ = spec, spec.origin
    package.__path__ = list(spec.submodule_search_locations)
    package.__package__ = name

    def load_the_rest(attribute: str):
        """PEP 562: a submodule (``from . import utils``) is imported; any other name
        the bare package lacks runs the real ``__init__`` first."""
        if attribute.startswith("__") and attribute != "__version__":
            raise AttributeError(attribute)
        if importlib.util.find_spec(f"{name}.{attribute}") is not None:
            return importlib.import_module(f"{name}.{attribute}")
        del package.__getattr__  # run __init__ once
        spec.loader.exec_module(package)
        return getattr(package, attribute)

    package.__getattr__ = load_the_rest
    sys.modules[name] = package
