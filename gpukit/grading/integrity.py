"""Has the notebook tampered with the machinery the hidden checks rely on?

The grading kernel (gpukit/sandbox/kernel.py) takes a *baseline* before any student code runs:
IPython's traceback display and cell runners, its input and AST transformers and event hooks,
the interpreter's hooks, the modules the checks import, and every function, class and module
those modules hold (builtins, the clock, torch, numpy, pytest, gpukit itself). Each hidden check
calls :func:`verify` before and after it runs; what changed is reported as findings, and the
check's outcome is "integrity" (zero points) instead of trusting a result the notebook could
have bent.

Two rules, so that libraries may still do their normal work:

* what the baseline recorded must be the very same object now (nothing reassigns
  ``torch.cuda.is_available`` or ``time.perf_counter`` legitimately), or a library's own wrapper
  of it: a function defined in an installed package that holds the very original and calls it
  (``torch.compile`` wraps ``nn.Module.__init__`` and ``__setstate__`` to tag modules; a student
  following PyTorch's tutorial is not tampering);
* what may legitimately grow (event hooks, import hooks, transformers, modules imported later
  such as TensorFlow) may not grow with, or be replaced by, code defined in the notebook itself
  or a mock object.

This runs in the student's own process, so it detects generic tampering; it cannot stop a
student who studies gpukit and targets its internals. THREAT_MODEL.md lists both.
"""

from __future__ import annotations

import builtins
import sys
import types
from dataclasses import dataclass, field
from typing import Any

# IPython machinery a check's verdict passes through.
SHELL_METHODS = ("showtraceback", "_showtraceback", "showsyntaxerror", "run_cell",
                 "run_cell_async", "run_ast_nodes", "run_code", "transform_cell",
                 "transform_ast", "_run_cell", "should_run_async", "excepthook", "displayhook",
                 "display_pub")
TRANSFORMER_LISTS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")
# Modules whose callables and classes must stay as the baseline saw them.
WATCHED_MODULES = ("builtins", "time", "math", "os", "random", "numpy", "pytest",
                   "_pytest.outcomes", "_pytest.python_api", "torch", "torch.cuda",
                   "torch.nn", "torch.nn.functional", "torch.nn.modules.module",
                   "torch.overrides", "IPython.display", "IPython.core.interactiveshell",
                   "gpukit.grading", "gpukit.grading.runner", "gpukit.grading.outcome",
                   "gpukit.grading.placement", "gpukit.grading.architecture",
                   "gpukit.grading.integrity", "gpukit.grading.values", "gpukit.grading.basics",
                   "gpukit.grading.autograder", "gpukit.grading.harness",
                   "gpukit_student", "gpukit_student.clock",
                   "gpukit_student.training", "gpukit_student.data",
                   "gpukit_student.data.loader")
WATCHED_CLASSES = ("torch.Tensor", "torch.nn.Module", "torch.device")
# Imported by the notebook after the baseline: checked by the second rule only.
LATE_MODULES = ("tensorflow", "tensorflow.config", "keras")
# IPython keeps the last outputs in builtins and swaps exit, quit and input while a cell runs.
IGNORED_NAMES = {"_", "__", "___", "exit", "quit", "input"}


def import_checked_modules() -> None:
    """Import what the checks use, and nothing more: no device is asked about (CUDA must not
    start in a kernel server that forks kernels: warm.py), no clock or hook installed."""
    import IPython.display  # noqa: F401
    import pytest  # noqa: F401

    import gpukit.grading.autograder  # noqa: F401
    import gpukit.grading.basics  # noqa: F401
    import gpukit.grading.harness  # noqa: F401
    import gpukit.grading.runner  # noqa: F401
    import gpukit.grading.values  # noqa: F401
    import gpukit_student  # noqa: F401
    import gpukit_student.clock  # noqa: F401
    import gpukit_student.data.cli  # noqa: F401
    import gpukit_student.data.held_back  # noqa: F401
    try:
        import torch  # noqa: F401
        import torch._dynamo  # noqa: F401  (wraps torch.manual_seed and others when imported)

        import gpukit.grading.architecture  # noqa: F401
        import gpukit.grading.placement  # noqa: F401
        import gpukit_student.training  # noqa: F401
    except ImportError:  # a lab without PyTorch
        pass


def preload() -> None:
    """Import what the checks use and install the student runtime's recorders (clocks,
    torch.cuda.synchronize, training steps), so the baseline holds the real objects.

    The student runtime is imported here, from the grader's environment, before any notebook
    code and before the kernel puts its working directory on ``sys.path``: a ``gpukit_student``
    folder or wheel handed in beside a submission is never what the notebook imports.
    """
    import_checked_modules()
    from gpukit_student.clock import record_clock_readings

    record_clock_readings()
    try:
        import torch  # noqa: F401
    except ImportError:  # a lab without PyTorch
        return
    from gpukit_student.clock import count_cuda_synchronize
    from gpukit_student.training import watch_training
    count_cuda_synchronize()
    watch_training()


@dataclass
class Baseline:
    shell: Any
    methods: dict[str, Any] = field(default_factory=dict)
    transformers: dict[str, list] = field(default_factory=dict)
    events: dict[str, list] = field(default_factory=dict)
    hooks: dict[str, Any] = field(default_factory=dict)
    import_hooks: dict[str, list] = field(default_factory=dict)
    modules: dict[str, types.ModuleType] = field(default_factory=dict)
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)


_baseline: Baseline | None = None


def baseline_at_first_cell(shell: Any) -> None:
    """Take the baseline when the first cell starts: the kernel has finished setting up (it
    installs its own display and exception hooks when it starts), no notebook code has run."""

    def first_cell(*_: Any) -> None:
        shell.events.unregister("pre_run_cell", first_cell)
        take_baseline(shell)

    shell.events.register("pre_run_cell", first_cell)


def take_baseline(shell: Any) -> Baseline:
    global _baseline
    baseline = Baseline(shell)
    baseline.methods = {name: getattr(shell, name, None) for name in SHELL_METHODS}
    baseline.transformers = {name: list(getattr(shell, name, [])) for name in TRANSFORMER_LISTS}
    baseline.events = {name: list(hooks) for name, hooks in shell.events.callbacks.items()}
    baseline.hooks = _interpreter_hooks()
    baseline.import_hooks = {"meta_path": list(sys.meta_path), "path_hooks": list(sys.path_hooks)}
    for name in WATCHED_MODULES:
        if name in sys.modules:
            baseline.modules[name] = sys.modules[name]
            baseline.attributes[name] = _watched_attributes(vars(sys.modules[name]))
    for dotted in WATCHED_CLASSES:
        cls = _resolve(dotted)
        if cls is not None:
            baseline.attributes[dotted] = _watched_attributes(dict(vars(cls)))
    _baseline = baseline
    return baseline


def verify() -> list[str]:
    """What the notebook changed since the baseline, in words; [] when nothing (or no baseline:
    a kernel not started by the sandbox, e.g. an instructor's own Jupyter)."""
    baseline = _baseline
    if baseline is None:
        return []
    shell, findings = baseline.shell, []
    for name, original in baseline.methods.items():
        if not _same(getattr(shell, name, None), original):
            findings.append(f"IPython's {name} was replaced")
    for name, original in baseline.transformers.items():
        added = _added(original, getattr(shell, name, []))
        if added is None:
            findings.append(f"IPython's {name} were changed")
        elif any(_from_notebook(t) for t in added):
            findings.append(f"an input transformer defined in the notebook was added "
                            f"({name})")
    for event, hooks in shell.events.callbacks.items():
        added = _added(baseline.events.get(event, []), hooks)
        if added is None:
            findings.append(f"IPython's {event} event hooks were removed or reordered")
        elif any(_from_notebook(h) for h in added):
            findings.append(f"a {event} event hook defined in the notebook was registered")
    for name, original in baseline.hooks.items():
        if _interpreter_hooks()[name] is not original:
            findings.append(f"{name} was changed")
    # While a cell runs, IPython points the interpreter's hooks at its own.
    if not _same(sys.excepthook, shell.excepthook):
        findings.append("sys.excepthook was changed")
    if sys.displayhook is not shell.displayhook:
        findings.append("sys.displayhook was changed")
    for name, original in baseline.import_hooks.items():
        added = _added(original, getattr(sys, name))
        if added is None or any(_from_notebook(h) for h in added):
            findings.append(f"sys.{name} (the import machinery) was changed")
    for name, module in baseline.modules.items():
        if sys.modules.get(name) is not module:
            findings.append(f"the module {name} was replaced in sys.modules")
    for owner, attributes in baseline.attributes.items():
        current = _current_namespace(owner, baseline)
        changed = [n for n, v in attributes.items() if current.get(n, _MISSING) is not v
                   and not _library_wrapper(current.get(n, _MISSING), v)]
        findings.extend(f"{owner}.{n} was replaced or deleted" for n in changed)
    for name in LATE_MODULES:
        module = sys.modules.get(name)
        if module is not None:
            findings.extend(f"{name}.{n} was replaced by code from the notebook"
                            for n, v in list(vars(module).items()) if _from_notebook(v))
    return findings


_MISSING = object()


def _interpreter_hooks() -> dict[str, Any]:
    return {"the trace function (sys.settrace)": sys.gettrace(),
            "the profile function (sys.setprofile)": sys.getprofile(),
            "builtins.__import__": builtins.__import__}


def _watched_attributes(namespace: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in namespace.items()
            if name not in IGNORED_NAMES and (callable(value) or isinstance(value, types.ModuleType)
                                              or isinstance(value, (classmethod, staticmethod,
                                                                    property)))}


def _current_namespace(owner: str, baseline: Baseline) -> dict[str, Any]:
    if owner in baseline.modules:
        return vars(baseline.modules[owner])
    cls = _resolve(owner)
    return dict(vars(cls)) if cls is not None else {}


def _resolve(dotted: str) -> Any:
    module_name, _, attribute = dotted.rpartition(".")
    module = sys.modules.get(module_name)
    return getattr(module, attribute, None) if module is not None else None


def _same(current: Any, original: Any) -> bool:
    """The same object, or the same method of the same object (bound methods are made anew on
    every attribute access)."""
    if isinstance(current, types.MethodType) and isinstance(original, types.MethodType):
        return current.__func__ is original.__func__ and current.__self__ is original.__self__
    return current is original


def _added(original: list, current: list) -> list | None:
    """Items appended to ``original`` (which must still be there, in order), else None."""
    current = list(current)
    position = 0
    for item in current:
        if position < len(original) and item is original[position]:
            position += 1
    if position != len(original):
        return None
    kept = {id(item) for item in original}
    return [item for item in current if id(item) not in kept]


def _library_wrapper(current: Any, original: Any) -> bool:
    """``current`` is an installed library's wrapper of ``original``: a function whose code is
    in a package of the grader's environment (not a cell, not a string run with exec) and which
    holds the original itself, in its closure or as ``__wrapped__``."""
    function = getattr(current, "__func__", current)
    code = getattr(function, "__code__", None)
    if code is None or not _is_installed_file(code.co_filename):
        return False
    held = [getattr(function, "__wrapped__", None),
            *(_cell_contents(cell) for cell in function.__closure__ or ())]
    return any(item is original for item in held)


def _cell_contents(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None


def _is_installed_file(filename: str) -> bool:
    import sysconfig

    folders = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    return any(filename.startswith(folder.rstrip("/") + "/") for folder in folders)


def _from_notebook(obj: Any) -> bool:
    """Defined by code in the notebook's cells, or a mock standing in for something real."""
    if type(obj).__module__ == "unittest.mock":
        return True
    function = getattr(obj, "__func__", obj)
    code = getattr(function, "__code__", None)
    if code is not None:
        return _is_cell_file(code.co_filename)
    cls = obj if isinstance(obj, type) else type(obj)
    return cls.__module__ == "__main__"


def _is_cell_file(filename: str) -> bool:
    # ipykernel compiles each cell to /tmp/ipykernel_<pid>/<hash>.py; plain IPython uses
    # <ipython-input-...>. (exec() of a string escapes this rule: THREAT_MODEL.md.)
    return "ipykernel_" in filename or filename.startswith("<ipython-input")
