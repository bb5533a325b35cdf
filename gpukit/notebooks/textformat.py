"""A plain-text notebook format that reads well in a diff, and its conversion to nbgrader notebooks.

A lab template renders (through Jinja) to text like this::

    %% markdown
    # Lab 1
    %% code id=setup
    import numpy as np
    %% solution id=build_model
    def build_model():
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION
    %% tests id=model_tests points=2
    assert build_model() is not None
    %% answer id=q_relu points=2
    The reference answer, replaced by "YOUR ANSWER HERE" in the release.

Each ``%% KIND key=value ...`` line starts a cell. The kinds map to nbgrader's cell roles:

========  ==========  =========================================================
kind      cell type   nbgrader role
========  ==========  =========================================================
markdown  markdown    read-only instructions
code      code        read-only code (setup the student must not change)
solution  code        code the student writes (ungraded by itself)
tests     code        autograded tests, ``points`` required, read-only
answer    markdown    a written answer, graded by hand, ``points`` required
========  ==========  =========================================================

Every cell gets a grade id (given with ``id=`` or derived from its position) that is also its
nbformat cell id, so cells can be addressed by id, never by index. Answer cells (``solution``,
``answer``) also start with a marker line naming their id (see markers.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import nbformat
from nbformat.notebooknode import NotebookNode

from gpukit.errors import TemplateError
from gpukit.notebooks.markers import code_marker, markdown_marker

HEADER = re.compile(r"^%% (?P<kind>\w+)(?P<attrs>( +\w+=\S+)*) *$")
KINDS = ("markdown", "code", "solution", "tests", "answer")
GRADE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


@dataclass
class TextCell:
    kind: str
    source: str
    attrs: dict[str, str] = field(default_factory=dict)
    line: int = 0  # where the header stood, for error messages


def parse(text: str, origin: str = "<template>") -> list[TextCell]:
    """Split rendered template text into cells; every error names the line."""
    cells: list[TextCell] = []
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if line.startswith("%%"):
            match = HEADER.match(line)
            if not match or match["kind"] not in KINDS:
                raise TemplateError(f"{origin}:{number}: bad cell header {line!r}.",
                                    hint=f"Write '%% KIND key=value', KIND one of {KINDS}.")
            attrs = dict(pair.split("=", 1) for pair in match["attrs"].split())
            cells.append(TextCell(match["kind"], "", attrs, number))
        elif cells:
            cells[-1].source += line + "\n"
        elif line.strip():
            raise TemplateError(f"{origin}:{number}: text before the first '%%' cell header.")
    for cell in cells:
        cell.source = cell.source.strip("\n")
    _check(cells, origin)
    return cells


def _check(cells: list[TextCell], origin: str) -> None:
    seen: set[str] = set()
    for index, cell in enumerate(cells):
        cell.attrs.setdefault("id", f"{cell.kind}-{index:02d}")
        grade_id = cell.attrs["id"]
        if not GRADE_ID.match(grade_id):
            raise TemplateError(f"{origin}:{cell.line}: id {grade_id!r} is not a valid grade id.",
                                hint="Use 1-64 letters, digits, '-' or '_'.")
        if grade_id in seen:
            raise TemplateError(f"{origin}:{cell.line}: id {grade_id!r} is used twice.")
        seen.add(grade_id)
        graded = cell.kind in ("tests", "answer")
        if graded != ("points" in cell.attrs):
            need = "needs" if graded else "must not have"
            raise TemplateError(f"{origin}:{cell.line}: a {cell.kind} cell {need} points=.")
        if graded:
            try:
                float(cell.attrs["points"])
            except ValueError:
                raise TemplateError(f"{origin}:{cell.line}: points={cell.attrs['points']!r} "
                                    "is not a number.") from None
        if not cell.source.strip():
            raise TemplateError(f"{origin}:{cell.line}: the {cell.kind} cell {grade_id!r} "
                                "is empty.")


def nbgrader_metadata(cell: TextCell) -> dict:
    """nbgrader's cell metadata (schema 3) for a text cell's role."""
    meta = {"grade": False, "grade_id": cell.attrs["id"], "locked": True,
            "schema_version": 3, "solution": False, "task": False}
    if cell.kind in ("solution", "answer"):
        meta.update(locked=False, solution=True)
    if cell.kind in ("tests", "answer"):
        meta.update(grade=True, points=_number(cell.attrs["points"]))
    return meta


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value


def to_notebook(cells: list[TextCell]) -> NotebookNode:
    """Build an nbformat 4.5 notebook with nbgrader metadata on every cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = dict(KERNELSPEC)
    nb.metadata.language_info = {"name": "python"}
    for cell in cells:
        make = (nbformat.v4.new_markdown_cell if cell.kind in ("markdown", "answer")
                else nbformat.v4.new_code_cell)
        node = make(_with_marker(cell))
        node.id = cell.attrs["id"]
        node.metadata = {"nbgrader": nbgrader_metadata(cell)}
        nb.cells.append(node)
    nbformat.validate(nb)
    return nb


def _with_marker(cell: TextCell) -> str:
    """Answer cells start with their marker line (see markers.py); a written answer's text is a
    solution region between invisible delimiters, so the marker survives nbgrader's clearing."""
    grade_id = cell.attrs["id"]
    if cell.kind == "solution":
        return f"{code_marker(grade_id)}\n{cell.source}"
    if cell.kind == "answer":
        return (f"{markdown_marker(grade_id)}\n<!-- BEGIN SOLUTION -->\n{cell.source}\n"
                "<!-- END SOLUTION -->")
    return cell.source


def text_to_notebook(text: str, origin: str = "<template>") -> NotebookNode:
    return to_notebook(parse(text, origin))
