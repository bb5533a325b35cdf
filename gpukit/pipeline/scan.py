"""Read the student's code, outside the kernel, for tampering with the grader.

The integrity checks in the kernel (gpukit/grading/integrity.py) see what code *did*; this scan
sees what it *says*, where the student's code cannot interfere: it runs in the grader's process
on the rebuilt notebook, before anything executes. It flags code with no place in a lab answer:
replacing IPython's machinery, the clock or torch.cuda's answers, registering event hooks,
trace functions or import hooks, editing builtins or sys.modules, mocks, digging through the
garbage collector or raw memory, and any reference to gpukit itself (the grader). The student
runtime (gpukit_student) is the students' own: the setup cell teaches them to import it, so
using the names it exports is lab code; reaching past them (its clock's records, the loader's
cache, a function's globals) is tampering. A flagged submission is
graded as usual and reported with status "integrity", naming the line, for the instructor to
review. Code that hides its intent (exec of a built string) escapes a scan: THREAT_MODEL.md.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from nbformat.notebooknode import NotebookNode

import gpukit_student

# Assigning or deleting these attributes replaces grading machinery.
MACHINERY = {"showtraceback", "_showtraceback", "showsyntaxerror", "run_cell", "run_cell_async",
             "run_code", "run_ast_nodes", "transform_cell", "excepthook", "displayhook",
             "display_pub", "input_transformers_cleanup", "input_transformers_post",
             "ast_transformers", "is_available", "device_count", "get_device_name",
             "synchronize", "perf_counter", "perf_counter_ns", "monotonic", "monotonic_ns",
             "process_time", "__import__", "list_physical_devices"}
# module.attribute = ... on these modules (time.time, builtins.print, ...).
PROTECTED_MODULES = {"time", "builtins", "__builtins__", "sys", "torch", "cuda", "np", "numpy",
                     "pytest", "math", "tf", "tensorflow"}
# Calls that install hooks into the interpreter or inspect it from below.
HOOK_CALLS = {"settrace", "setprofile", "addaudithook", "get_objects", "get_referrers",
              "get_referents", "register"}
FORBIDDEN_MODULES = {"gpukit", "ctypes", "unittest", "inspect"}
# Lists of machinery that grow by calls (x.ast_transformers.append(...)).
MACHINERY_LISTS = {"input_transformers_cleanup", "input_transformers_post", "ast_transformers",
                   "meta_path", "path_hooks"}


# The student runtime: its modules a notebook may name, and the names it may use from them (what
# the runtime exports at its top level, wherever they are imported from).
RUNTIME = "gpukit_student"
RUNTIME_MODULES = {RUNTIME, f"{RUNTIME}.data", f"{RUNTIME}.clock"}
RUNTIME_NAMES = set(gpukit_student.__all__)


@dataclass(frozen=True)
class Finding:
    cell: str
    line: int
    what: str

    def text(self) -> str:
        return f"{self.what} (cell {self.cell}, line {self.line})"


def scan_cells(cells: list[tuple[str, str]]) -> list[Finding]:
    """Findings for ``(label, code)`` pairs: the student's answer cells and own cells."""
    findings = []
    # Names bound to the runtime, across cells; the given setup cell binds its exports.
    runtime_names = {RUNTIME: RUNTIME, **{name: f"{RUNTIME}.{name}" for name in RUNTIME_NAMES}}
    for label, source in cells:
        tree = _parse(source)
        if tree is not None:
            findings.extend(Finding(label, line, what)
                            for line, what in _visit(tree, runtime_names))
    return findings


def student_code_cells(notebook: NotebookNode) -> list[tuple[str, str]]:
    """The code the student wrote in a rebuilt notebook: answer cells and cells of their own."""
    cells = []
    for cell in notebook.cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        own = str(cell.get("id", "")).startswith("student-extra-")
        if cell.cell_type == "code" and (nbgrader.get("solution") or own):
            cells.append((nbgrader.get("grade_id") or cell.get("id", "?"), cell.source))
    return cells


def _parse(source: str) -> ast.AST | None:
    from IPython.core.inputtransformer2 import TransformerManager

    try:  # magics (%timeit, !pip) become plain calls first
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return None  # the cell fails when it runs; nothing to scan


def _visit(tree: ast.AST, runtime_names: dict[str, str]) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) \
                else [node.module or ""]
            for name in names:
                if name.split(".")[0] in FORBIDDEN_MODULES:
                    found.append((line, f"imports {name}"))
            found.extend((line, what) for what in _runtime_imports(node, runtime_names))
        if isinstance(node, ast.Attribute):
            what = _runtime_reach(_qualified(node, runtime_names))
            if what:
                found.append((line, what))
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) \
                else [node.target]
            for target in targets:
                what = _tampering_target(target)
                if what:
                    found.append((line, what))
        elif isinstance(node, ast.Call):
            for what in (_tampering_call(node), _runtime_getattr(node, runtime_names)):
                if what:
                    found.append((line, what))
        elif isinstance(node, ast.Name) and node.id in ("gpukit", "__builtins__"):
            found.append((line, f"uses {node.id}"))
    return sorted(set(found))


def _runtime_imports(node: ast.Import | ast.ImportFrom,
                     runtime_names: dict[str, str]) -> list[str]:
    """Findings for imports from the student runtime; records the names they bind."""
    found = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] != RUNTIME:
                continue
            what = _runtime_reach(alias.name)
            if what:
                found.append(what)
            elif alias.asname:
                runtime_names[alias.asname] = alias.name
            else:
                runtime_names[RUNTIME] = RUNTIME
        return found
    module = node.module or ""
    if module.split(".")[0] != RUNTIME or node.level:
        return found
    for alias in node.names:
        qualified = f"{module}.{alias.name}"
        what = _runtime_reach(qualified) if alias.name != "*" else None
        if what:
            found.append(what)
        else:
            runtime_names[alias.asname or alias.name] = qualified
    return found


def _qualified(node: ast.Attribute, runtime_names: dict[str, str]) -> str | None:
    """``a.b.c`` as a dotted path inside the runtime, when ``a`` names part of it."""
    parts = []
    current: ast.AST = node
    while isinstance(current, ast.Attribute):
        parts.append(current.attr)
        current = current.value
    if not isinstance(current, ast.Name) or current.id not in runtime_names:
        return None
    return ".".join([runtime_names[current.id], *reversed(parts)])


def _runtime_reach(qualified: str | None) -> str | None:
    """What a runtime path reaches beyond the student's API, if anything."""
    if qualified is None:
        return None
    parts = qualified.split(".")
    depth = 1
    while depth < len(parts) and ".".join(parts[:depth + 1]) in RUNTIME_MODULES:
        depth += 1
    if depth == len(parts):  # a module students may name
        return None
    if parts[depth] in RUNTIME_NAMES:
        if depth + 1 == len(parts):
            return None
        depth += 1  # an attribute of an exported function: its globals, its code
    offending = ".".join(parts[:depth + 1])
    return f"reaches into the grader's {offending}"


def _runtime_getattr(call: ast.Call, runtime_names: dict[str, str]) -> str | None:
    """``getattr(gpukit_student.clock, "...")`` and the like reach as far as attributes do."""
    if _dotted(call.func) not in ("getattr", "setattr", "delattr", "vars") or not call.args:
        return None
    owner = call.args[0]
    qualified = owner.id if isinstance(owner, ast.Name) else None
    qualified = runtime_names.get(qualified) if qualified else None
    if isinstance(owner, ast.Attribute):
        qualified = _qualified(owner, runtime_names)
    if qualified is None:
        return None
    name = call.args[1] if len(call.args) > 1 else None
    if isinstance(name, ast.Constant) and isinstance(name.value, str):
        return _runtime_reach(f"{qualified}.{name.value}")
    return f"reaches into the grader's {qualified} with {_dotted(call.func)}()"


def _tampering_target(target: ast.AST) -> str | None:
    if isinstance(target, ast.Attribute):
        owner = _dotted(target.value)
        if target.attr in MACHINERY:
            return f"replaces {owner}.{target.attr}"
        if owner.split(".")[-1] in PROTECTED_MODULES:
            return f"replaces {owner}.{target.attr}"
    if isinstance(target, ast.Subscript) and \
            _dotted(target.value).split(".")[-1] in ("modules", "__builtins__"):
        return f"edits {_dotted(target.value)}"
    return None


def _tampering_call(call: ast.Call) -> str | None:
    name = _dotted(call.func)
    last = name.split(".")[-1]
    if last in ("setattr", "delattr") and len(call.args) >= 2 \
            and isinstance(call.args[1], ast.Constant) and call.args[1].value in MACHINERY:
        return f"replaces {call.args[1].value} with {last}()"
    if last in HOOK_CALLS and (last != "register" or name.endswith("events.register")):
        return f"calls {name}()"
    if MACHINERY_LISTS.intersection(name.split(".")[:-1]):
        return f"changes {name.rsplit('.', 1)[0]}"
    return None


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return f"{_dotted(node.func)}()"
    return "…"
