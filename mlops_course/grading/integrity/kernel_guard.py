"""The grader's guard inside a graded kernel: it runs before any student code and, before
every test cell, puts back what a fresh kernel has, and says what it had to put back.

Everything the kernel runs before a test cell can change what that cell does: IPython's
input and AST transformers, custom exception handlers, event callbacks, the shell's and
the kernel's methods that run code, ``sys.excepthook``, trace and profile functions,
builtins, the course modules the tests call and the names the notebook's given cells
bound. ``install`` records all of them while the kernel is still fresh; ``check``,
called by the grader through an ``execute_request``'s ``user_expressions`` (evaluated
outside ``run_cell``, so a replaced ``run_cell`` cannot swallow it), restores them and
returns a report signed with a key only the grader and this module know. A missing or
badly signed report means the guard itself was tampered with.

This module runs in the student's kernel: it imports nothing of the course but the
standard library, and nothing it does may print or fail a cell."""

from __future__ import annotations

import ast
import builtins
import hashlib
import hmac
import importlib
import json
import sys
import threading
import types

# IPython's and ipykernel's methods that run or report code; student code that
# replaces one of them decides what the following cells do.
SHELL_METHODS = (
    "run_cell",
    "run_cell_async",
    "should_run_async",
    "run_ast_nodes",
    "run_code",
    "transform_cell",
    "transform_ast",
    "showtraceback",
    "_showtraceback",
    "showsyntaxerror",
    "user_expressions",
    "set_custom_exc",
    "ex",
    "ev",
)
KERNEL_METHODS = ("do_execute", "execute_request", "dispatch_shell")
TRANSFORMER_LISTS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")
MANAGER_LISTS = ("cleanup_transforms", "line_transforms", "token_transformers")
TRAP_NAMES = {"exit", "quit", "get_ipython"}  # IPython's BuiltinTrap adds them during run_cell
ALLOWED_MODULE_PATCHES = {("warnings", "showwarning"), ("warnings", "formatwarning")}

_state: dict = {}


def _made_by_student(obj) -> bool:
    """Whether a callable (or an object whose class) was defined in the notebook."""
    obj = getattr(obj, "func", obj)  # functools.partial
    obj = getattr(obj, "__func__", obj)  # bound methods
    module = getattr(obj, "__module__", None)
    if module is None and not isinstance(obj, type):
        module = getattr(type(obj), "__module__", None)
    return module == "__main__"


def _replaced_code(original, value) -> bool:
    """Whether a course module's attribute change replaced code (a function, class or
    module) or put the notebook's own object there. A module that updates its own data
    (``_RUN_ID = ...`` set on first use, a cache) changes nothing a test relies on; a
    student who assigns data to a course module is named by the static scan."""
    return callable(original) or isinstance(original, types.ModuleType) or _made_by_student(value)


def _describe(obj) -> str:
    obj = getattr(obj, "__func__", obj)
    return getattr(obj, "__qualname__", None) or type(obj).__qualname__


def install(key: str, given_imports: list[str]) -> str:
    """Record the fresh kernel's machinery; ``key`` signs the reports of :func:`check`;
    ``given_imports`` are the import statements of the notebook's given cells, run again
    before each test cell so that the names they bind are the modules' again."""
    from IPython import get_ipython

    shell = get_ipython()
    manager = shell.input_transformer_manager
    _state.update(
        key=key.encode(),
        shell=shell,
        kernel=getattr(shell, "kernel", None),
        given_imports=list(given_imports),
        lists={name: list(getattr(shell, name)) for name in TRANSFORMER_LISTS},
        manager_lists={name: list(getattr(manager, name)) for name in MANAGER_LISTS},
        custom=(shell.custom_exceptions, shell.CustomTB),
        events={name: list(callbacks) for name, callbacks in shell.events.callbacks.items()},
        shell_class={name: getattr(type(shell), name, None) for name in SHELL_METHODS},
        kernel_class={name: getattr(type(_state_kernel(shell)), name, None) for name in KERNEL_METHODS},
        hooks=(sys.excepthook, sys.displayhook, sys.gettrace(), sys.getprofile()),
        thread_hooks=(threading._trace_hook, threading._profile_hook),
        builtins={name: value for name, value in vars(builtins).items() if name not in TRAP_NAMES},
        modules={},
        library={},
    )
    return "installed"


def _state_kernel(shell):
    return getattr(shell, "kernel", None)


def _restore_callable_attrs(owner, originals: dict, where: str, found: list[str]) -> None:
    """A method the notebook put on the instance goes; a class method the notebook
    replaced comes back. (ipykernel sets some of these itself: only the notebook's own
    functions count.)"""
    for name, original in originals.items():
        value = vars(owner).get(name)
        if value is not None and _made_by_student(value):
            found.append(f"{where}.{name} was replaced ({_describe(value)})")
            delattr(owner, name)
        current = getattr(type(owner), name, None)
        if original is not None and current is not original and _made_by_student(current):
            found.append(f"{type(owner).__name__}.{name} was replaced ({_describe(current)})")
            setattr(type(owner), name, original)


def _restore_list(current: list, original: list, where: str, found: list[str]) -> None:
    """Put a list back; items that the notebook added are tampering, library items are not."""
    added = [item for item in current if not any(item is o for o in original)]
    user_added = [item for item in added if _made_by_student(item)]
    if user_added or len(current) < len(original) or any(not any(o is c for c in current) for o in original):
        found.append(
            f"{where} was changed ({', '.join(_describe(i) for i in user_added) or 'items removed'})"
        )
    current[:] = list(original) + [item for item in added if not _made_by_student(item)]


def _restore_shell(found: list[str]) -> None:
    shell = _state["shell"]
    for name, original in _state["lists"].items():
        current = getattr(shell, name)
        if not isinstance(current, list):
            found.append(f"shell.{name} was replaced")
            setattr(shell, name, list(original))
        else:
            _restore_list(current, original, f"shell.{name}", found)
    manager = shell.input_transformer_manager
    for name, original in _state["manager_lists"].items():
        _restore_list(getattr(manager, name), original, f"input_transformer_manager.{name}", found)
    if (shell.custom_exceptions, shell.CustomTB) != _state["custom"]:
        found.append("a custom exception handler was set (set_custom_exc)")
        shell.custom_exceptions, shell.CustomTB = _state["custom"]
    for name, callbacks in shell.events.callbacks.items():
        _restore_list(callbacks, _state["events"].get(name, []), f"IPython's {name} event", found)
    _restore_callable_attrs(shell, _state["shell_class"], "shell", found)
    if _state["kernel"] is not None:
        _restore_callable_attrs(_state["kernel"], _state["kernel_class"], "kernel", found)


def _restore_sys(found: list[str]) -> None:
    excepthook, displayhook, trace, profile = _state["hooks"]
    if sys.excepthook is not excepthook:
        found.append("sys.excepthook was replaced")
        sys.excepthook = excepthook
    if sys.displayhook is not displayhook and _made_by_student(sys.displayhook):
        found.append("sys.displayhook was replaced")
        sys.displayhook = displayhook
    if sys.gettrace() is not trace:
        found.append("a trace function was set (sys.settrace)")
        sys.settrace(trace)
    if sys.getprofile() is not profile:
        found.append("a profile function was set (sys.setprofile)")
        sys.setprofile(profile)
    if (threading._trace_hook, threading._profile_hook) != _state["thread_hooks"]:
        found.append("a thread trace or profile function was set")
        threading.settrace(_state["thread_hooks"][0])
        threading.setprofile(_state["thread_hooks"][1])


def _restore_builtins(found: list[str]) -> None:
    current = vars(builtins)
    for name, value in _state["builtins"].items():
        if current.get(name) is not value:
            found.append(f"builtins.{name} was replaced")
            current[name] = value
    user_ns = _state["shell"].user_ns
    if user_ns.get("__builtins__") is not builtins:
        found.append("the notebook's __builtins__ was replaced")
        user_ns["__builtins__"] = builtins


def _course_modules() -> list[types.ModuleType]:
    return [
        module
        for name, module in list(sys.modules.items())
        if isinstance(module, types.ModuleType)
        and (name == "mlops_course" or name.startswith("mlops_course."))
        and not name.startswith("mlops_course.grading")
    ]


def _restore_course_modules(found: list[str]) -> None:
    """A course module's attribute that the notebook replaced comes back; a module first
    seen with such an attribute is reloaded before it is recorded."""
    recorded = _state["modules"]
    for module in _course_modules():
        name = module.__name__
        if name not in recorded:
            if any(_made_by_student(value) for value in vars(module).values()):
                found.append(f"{name} was changed before the first test")
                module = importlib.reload(module)
            recorded[name] = dict(vars(module))
            continue
        original = recorded[name]
        current = vars(module)
        for attr, value in list(current.items()):
            if attr in original and value is not original[attr] and _replaced_code(original[attr], value):
                found.append(f"{name}.{attr} was replaced")
                current[attr] = original[attr]
            elif attr in original and value is not original[attr]:
                original[attr] = value  # the module's own state (a cache, a run id): not code
            elif attr not in original and _made_by_student(value):
                found.append(f"{name}.{attr} was added by the notebook")
                del current[attr]


def _modules_in_reach() -> list[types.ModuleType]:
    """The library modules the notebook's names lead to: each module bound in the user
    namespace and its submodules one attribute away (``np`` and ``np.testing``)."""
    seen: dict[int, types.ModuleType] = {}
    for value in list(_state["shell"].user_ns.values()):
        if isinstance(value, types.ModuleType):
            seen[id(value)] = value
            for attr in list(vars(value).values()):
                if isinstance(attr, types.ModuleType):
                    seen[id(attr)] = attr
    return [
        m for m in seen.values() if not m.__name__.startswith("mlops_course") and m.__name__ != "__main__"
    ]


def _restore_library_functions(found: list[str]) -> None:
    """No library module the notebook uses holds a function the notebook defined (e.g.
    ``np.allclose = lambda *a, **k: True``); such a function is replaced by the module's
    own as first seen, or removed when it was never seen unpatched."""
    seen = _state["library"]
    for module in _modules_in_reach():
        own = vars(module)
        original = seen.setdefault(module.__name__, {})
        for attr, value in list(own.items()):
            if original.get(attr) is value or not callable(value):
                continue  # unchanged since first seen (most of them: the cheap test first)
            if not _made_by_student(value):
                original.setdefault(attr, value)
            elif (module.__name__.split(".")[0], attr) not in ALLOWED_MODULE_PATCHES:
                found.append(f"{module.__name__}.{attr} was replaced by the notebook's {_describe(value)}")
                if attr in original:
                    own[attr] = original[attr]
                else:
                    del own[attr]


def _bound_names(statement: str) -> list[str]:
    """The names an import statement binds (``import a.b`` binds ``a``)."""
    node = ast.parse(statement).body[0]
    return [alias.asname or alias.name.split(".")[0] for alias in node.names]


def _rebind_given_names(found: list[str]) -> None:
    user_ns = _state["shell"].user_ns
    for statement in _state["given_imports"]:
        if not any(name in user_ns for name in _bound_names(statement)):
            continue  # its given cell has not run yet (a later part of the notebook)
        try:
            exec(compile(statement, "<given imports>", "exec"), user_ns)
        except Exception as exc:  # a missing module: the test that uses it fails by itself
            found.append(f"the given import `{statement}` failed again ({type(exc).__name__})")


def check(nonce: str) -> str:
    """Restore the fresh kernel's machinery; return a signed JSON report of what had changed."""
    found: list[str] = []
    if not _state:
        found.append("the guard was never installed")
    else:
        for step in (
            _restore_sys,
            _restore_builtins,
            _restore_shell,
            _restore_course_modules,
            _restore_library_functions,
            _rebind_given_names,
        ):
            try:
                step(found)
            except Exception as exc:  # the guard must answer, whatever the notebook did
                found.append(f"{step.__name__[1:]} failed ({type(exc).__name__}: {exc})")
    body = json.dumps({"nonce": nonce, "found": found}, sort_keys=True)
    signature = hmac.new(_state.get("key", b""), body.encode(), hashlib.sha256).hexdigest()
    return json.dumps({"body": body, "signature": signature})
