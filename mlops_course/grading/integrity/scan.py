"""A static scan of the student's cells for code that changes how later cells run.

It reads the cells a student can write (answer cells and cells they added; locked cells
come back from the gradebook anyway), after IPython's own translation of magics
(``%matplotlib inline`` is a call to ``run_line_magic``, which is fine), and reports each
finding with its cell and line. What it looks for:

- IPython's and the kernel's execution machinery: input and AST transformers, custom
  exception handlers, event callbacks, the methods that run or report code;
- ``sys`` hooks: ``excepthook``, ``displayhook``, trace and profile functions;
- ``exec``/``eval``/``compile``/``__import__`` of a string built at run time;
- writing to ``builtins``, ``__builtins__``, ``sys.modules``, a function's ``__code__``
  or ``__module__``, an attribute of a course module or of an imported module (a library
  function replaced: ``np.allclose = lambda *a, **k: True``);
- reaching into the grader (``mlops_course.grading``), ``gc`` object walks, ``ctypes``.

Honest notebooks (plots, ``%%time``, ``display``, tqdm, widgets, ``warnings`` filters,
``logging`` set-up) have none of these; the tests hold every module's model answer and
the example class to zero findings."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from mlops_course.grading.integrity.kernel_guard import (
    ALLOWED_MODULE_PATCHES,
    KERNEL_METHODS,
    SHELL_METHODS,
    TRANSFORMER_LISTS,
)

# what the kernel guard restores, and the other ways into IPython's execution (but
# the short names `ex` and `ev`, which honest objects have too: the guard restores them)
MACHINERY = {
    *(name for name in SHELL_METHODS if name not in {"ex", "ev"}),
    *KERNEL_METHODS,
    *TRANSFORMER_LISTS,
    "input_transformer_manager",
    "custom_exceptions",
    "CustomTB",
    "shell_handlers",
}
EVENT_METHODS = {"register", "unregister"}
SYS_HOOKS = {"excepthook", "displayhook", "settrace", "setprofile", "breakpointhook", "_getframe"}
THREAD_HOOKS = {"settrace", "setprofile", "settrace_all_threads", "setprofile_all_threads"}
DYNAMIC = {"exec", "eval", "compile", "__import__"}
SPECIAL_ATTRIBUTES = {"__code__", "__module__", "__globals__", "__builtins__", "__class__", "__dict__"}
ALLOWED_MODULE_WRITES = ALLOWED_MODULE_PATCHES


@dataclass(frozen=True)
class Finding:
    cell: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.cell}, line {self.line}: {self.what}"


def _dotted(node) -> str | None:
    """``a.b.c`` for a chain of names, attributes and calls (``get_ipython().events``), else None."""
    parts = []
    while isinstance(node, ast.Attribute | ast.Call):
        if isinstance(node, ast.Call):
            node = node.func
            parts.append("()")
            continue
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts)).replace(".()", "()")
    return None


def _literal(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)


class _Scanner(ast.NodeVisitor):
    def __init__(self, cell: str, modules: dict[str, str]):
        self.cell, self.modules = cell, modules  # local name -> imported module
        self.found: list[Finding] = []

    def note(self, node, what: str) -> None:
        self.found.append(Finding(self.cell, getattr(node, "lineno", 0), what))

    # imports bind module names; some imports are findings of their own
    def visit_Import(self, node):
        for alias in node.names:
            self.modules[(alias.asname or alias.name).split(".")[0]] = (
                alias.name if alias.asname else alias.name.split(".")[0]
            )
            self._import(node, alias.name)

    def visit_ImportFrom(self, node):
        for alias in node.names:
            full = f"{node.module}.{alias.name}" if node.module else alias.name
            self.modules[alias.asname or alias.name] = full
            self._import(node, full)

    def _import(self, node, name: str) -> None:
        if name == "mlops_course.grading" or name.startswith("mlops_course.grading."):
            self.note(node, f"imports the grader's own code ({name})")
        if name.split(".")[0] == "ctypes":
            self.note(node, "imports ctypes (it can change the interpreter itself)")

    def visit_Attribute(self, node):
        if node.attr in MACHINERY:
            self.note(node, f"uses IPython's execution machinery (.{node.attr})")
        dotted = _dotted(node) or ""
        if dotted.endswith((".events.register", ".events.unregister", ".events.callbacks")):
            self.note(node, f"changes IPython's event callbacks ({dotted})")
        base = self.modules.get(dotted.split(".")[0]) if dotted else None
        if base == "sys" and node.attr in SYS_HOOKS:
            self.note(node, f"uses sys.{node.attr}")
        if base == "threading" and node.attr in THREAD_HOOKS:
            self.note(node, f"uses threading.{node.attr}")
        if base == "gc" and node.attr in {"get_objects", "get_referrers", "get_referents"}:
            self.note(node, f"walks the interpreter's objects (gc.{node.attr})")
        if base == "sys" and node.attr == "modules":
            self.note(node, "reaches into sys.modules")
        self.generic_visit(node)

    def visit_Call(self, node):
        name = _dotted(node.func)
        if name in DYNAMIC and node.args and not _literal(node.args[0]):
            self.note(node, f"{name}() of a string built at run time")
        if name == "setattr" and node.args:
            self._write_target(node, node.args[0], attribute=None)
        if name in {"builtins.setattr", "object.__setattr__"}:
            self.note(node, f"{name}()")
        self.generic_visit(node)

    def visit_Assign(self, node):
        for target in node.targets:
            self._check_target(node, target)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._check_target(node, node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._check_target(node, node.target)
        self.generic_visit(node)

    def visit_Delete(self, node):
        for target in node.targets:
            self._check_target(node, target)
        self.generic_visit(node)

    def _check_target(self, node, target) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._check_target(node, element)
        elif isinstance(target, ast.Attribute):
            if target.attr in SPECIAL_ATTRIBUTES:
                self.note(node, f"writes {target.attr}")
            self._write_target(node, target.value, target.attr)
        elif isinstance(target, ast.Subscript):
            base = _dotted(target.value) or ""
            if base in {"__builtins__", "builtins.__dict__"} or base.endswith("sys.modules"):
                self.note(node, f"writes into {base}")
        elif isinstance(target, ast.Name) and target.id == "__builtins__":
            self.note(node, "replaces __builtins__")

    def _write_target(self, node, owner, attribute: str | None) -> None:
        """Writing to an attribute of a module: builtins, a course module, a library."""
        dotted = _dotted(owner)
        if dotted is None:
            return
        module = self.modules.get(dotted.split(".")[0])
        if module is None:
            return
        full = ".".join([module, *dotted.split(".")[1:]])
        what = f"{full}.{attribute}" if attribute else f"an attribute of {full}"
        if full.split(".")[0] == "builtins":
            self.note(node, f"replaces {what}")
        elif full.startswith("mlops_course"):
            self.note(node, f"replaces {what} (a course helper the tests use)")
        elif (full.split(".")[0], attribute) not in ALLOWED_MODULE_WRITES and dotted == dotted.split(".")[0]:
            # a write straight onto an imported module (np.allclose = ...), not onto
            # an object inside it (pd.options.display.max_rows = 10 is configuration)
            self.note(node, f"replaces {what} (a library function the tests may call)")


def _python(source: str) -> str:
    """A cell's code as IPython runs it (magics translated)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def scan_cells(cells: list[tuple[str, str]]) -> list[Finding]:
    """``cells``: (name, source) in notebook order. Module names imported in one cell
    are known in the later ones, as in the kernel."""
    modules: dict[str, str] = {}
    found: list[Finding] = []
    for name, source in cells:
        try:
            tree = ast.parse(_python(source))
        except (SyntaxError, ValueError):
            continue  # it fails when it runs; nothing it could change
        scanner = _Scanner(name, modules)
        scanner.visit(tree)
        found.extend(scanner.found)
    return found


def student_cells(nb) -> list[tuple[str, str]]:
    """The code cells a student can write: answer cells and cells without nbgrader
    metadata (locked cells are put back from the gradebook before grading)."""
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("locked") or (meta.get("grade") and not meta.get("solution")):
            continue
        if "injected-parameters" in cell.metadata.get("tags", []):
            continue
        cells.append((meta.get("grade_id") or f"cell {index + 1}", cell.source))
    return cells
