"""The package's layers, read from its imports (function-level imports included): no
import circles, and each layer imports only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mlops_course"

# Lowest first. A module may import its own layer and the layers below it.
LAYERS = [
    (
        "foundation",
        ["mlops_course.settings", "mlops_course.errors", "mlops_course.course", "mlops_course.authoring"],
    ),
    ("infra", ["mlops_course.infra"]),
    ("labs", ["mlops_course.labs"]),
    (
        "applications",
        ["mlops_course.grading", "mlops_course.reporting", "mlops_course.student", "mlops_course.hub"],
    ),
    ("commands", ["mlops_course.cli", "mlops_course.demo", "mlops_course.doctor"]),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The mlops_course modules a file imports (``from a import b`` counts ``a.b`` when
    ``a.b`` is a module, else ``a``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("mlops_course")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mlops_course"):
            assert node.level == 0, f"{path}: relative import; use absolute imports"
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in MODULES else node.module)
    return found - {module_name(path)}


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}
GRAPH = {name: imports_of(path) & set(MODULES) for name, path in MODULES.items()}


def layer_of(name: str) -> int | None:
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return index
    return None


def test_every_module_has_a_layer():
    assert [m for m in MODULES if m != "mlops_course" and layer_of(m) is None] == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_module_imports_only_its_own_layer_and_those_below(name):
    own = layer_of(name)
    above = [
        m for m in sorted(GRAPH[name]) if layer_of(m) is not None and own is not None and layer_of(m) > own
    ]
    assert above == [], f"{name} ({LAYERS[own][0]}) imports from a higher layer: {above}"


def test_labs_and_grading_never_import_each_other():
    def within(name, prefix):
        return name == prefix or name.startswith(prefix + ".")

    crossing = [
        (a, b)
        for a, targets in GRAPH.items()
        for b in targets
        if (within(a, "mlops_course.labs") and within(b, "mlops_course.grading"))
        or (within(a, "mlops_course.grading") and within(b, "mlops_course.labs"))
    ]
    assert crossing == []


def test_no_import_circles():
    circles, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for target in sorted(GRAPH[node]):
            if state.get(target) == "open":
                circles.append(trail[trail.index(target) :] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[node] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    # a package's __init__ importing its own modules is not a circle of concern
    circles = [c for c in circles if not all(c[0].startswith(m) or m.startswith(c[0]) for m in c)]
    assert circles == []


def test_the_layer_test_sees_real_imports():
    """Guard against a silent parser: the grading pipeline's imports are found."""
    assert "mlops_course.grading.gradebook" in GRAPH["mlops_course.grading.pipeline"]
    assert "mlops_course.infra.resources" in GRAPH["mlops_course.grading.pipeline"]
