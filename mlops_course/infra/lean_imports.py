"""Start-up cost of a command: skip what importing nbgrader's gradebook drags in and no
command of the course uses.

Every lecturer command that opens the gradebook imports ``nbgrader.api``. Two costs
come with it that the command never uses:

- jsonschema (through nbformat) imports ``rfc3987_syntax`` when it is installed, and
  that builds a URI grammar for 2-6 s on a busy machine, for a format no notebook
  uses; without it jsonschema simply skips that format;
- ``nbgrader/__init__.py`` loads its Jupyter server extensions (formgrader, the
  exchange, nbconvert, jupyter_server), about 0.6 s of CPU, for a web server the
  command does not start.

:func:`lean_startup` blocks the first and imports the ``nbgrader`` package without
running its ``__init__``; the package's own modules import as usual. The first time
anything asks the package for a name it lacks (a server extension hook, when Jupyter
loads it in the same process), the real ``__init__`` runs into the same module, so
nothing changes for such a caller."""

from __future__ import annotations

import importlib.util
import sys
import types


def lean_startup() -> None:
    """Call once, before anything imports nbformat or nbgrader (the CLI's first step)."""
    sys.modules.setdefault("rfc3987_syntax", None)
    if "nbgrader" not in sys.modules:
        _install_bare_nbgrader()


def _install_bare_nbgrader() -> None:
    spec = importlib.util.find_spec("nbgrader")
    if spec is None or not spec.submodule_search_locations:
        return  # not installed: the command says so when it needs it
    package = types.ModuleType("nbgrader")
    package.__spec__, package.__file__ = spec, spec.origin
    package.__path__ = list(spec.submodule_search_locations)
    package.__package__ = "nbgrader"

    def load_the_rest(name: str):
        """PEP 562: a submodule (``from . import utils``) is imported; any other name
        the bare package lacks runs the real ``__init__`` first."""
        if name.startswith("__") and name != "__version__":
            raise AttributeError(name)
        if importlib.util.find_spec(f"nbgrader.{name}") is not None:
            return importlib.import_module(f"nbgrader.{name}")
        del package.__getattr__  # run __init__ once
        spec.loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = load_the_rest
    sys.modules["nbgrader"] = package
