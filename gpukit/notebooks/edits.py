"""Submission variants as small edits of a notebook, addressed by cell id.

Demo submissions and test fixtures are written as what a student changed, not as whole notebooks,
so they stay readable and can never silently drift from the lab they exercise::

    # The PyTorch model sees 600 images once: it stays below the accuracy threshold.
    %% edit id=torch_train_code
    - train_torch(torch_model, xt_train, yt_train, EPOCHS, 128, device)
    + train_torch(torch_model, xt_train[:600], yt_train[:600], 1, 128, device)

Each ``-`` block must occur exactly once in the cell, otherwise the edit fails loudly (the lab
changed and the variant needs updating). ``%% replace id=X`` replaces the whole cell source;
``%% insert after=X`` adds a code cell of the student's own (no nbgrader metadata) after cell X.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_code_cell

from gpukit.errors import TemplateError

HEADER = re.compile(r"^%% (?:(?P<action>edit|replace) id|(?P<insert>insert) after)"
                    r"=(?P<id>[A-Za-z0-9_-]+) *$")


@dataclass
class CellEdit:
    action: str
    cell_id: str
    line: int
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)


def parse_edits(text: str, origin: str) -> list[CellEdit]:
    edits: list[CellEdit] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("%%"):
            match = HEADER.match(line)
            if not match:
                raise TemplateError(f"{origin}:{number}: bad header {line!r}.",
                                    hint="Write '%% edit id=CELL', '%% replace id=CELL' or "
                                    "'%% insert after=CELL'.")
            edits.append(CellEdit(match["action"] or match["insert"], match["id"], number))
        elif not edits:
            if line.strip() and not line.startswith("#"):
                raise TemplateError(f"{origin}:{number}: text before the first '%%' header.")
        elif edits[-1].action in ("replace", "insert"):
            edits[-1].new.append(line)
        elif line.startswith(("- ", "+ ")) or line in ("-", "+"):
            _add_diff_line(edits[-1], line)
        elif line.strip():
            raise TemplateError(f"{origin}:{number}: edit lines start with '- ' or '+ '.")
    for edit in edits:
        _close_pair(edit)
    return edits


def _add_diff_line(edit: CellEdit, line: str) -> None:
    sign, text = line[0], line[2:]
    if sign == "-" and edit.new:  # a new '-' block after '+' lines starts the next pair
        _close_pair(edit)
    (edit.old if sign == "-" else edit.new).append(text)


def _close_pair(edit: CellEdit) -> None:
    if edit.action == "edit" and (edit.old or edit.new):
        edit.pairs.append(("\n".join(edit.old), "\n".join(edit.new)))
        edit.old, edit.new = [], []


def apply_edits(nb: NotebookNode, edits: list[CellEdit], origin: str) -> NotebookNode:
    """A copy of nb with the edits applied; the original is left untouched."""
    result = copy.deepcopy(nb)
    cells = {cell.get("id"): cell for cell in result.cells}
    for edit in edits:
        cell = cells.get(edit.cell_id)
        if cell is None:
            raise TemplateError(f"{origin}:{edit.line}: no cell with id {edit.cell_id!r}.")
        if edit.action == "replace":
            cell.source = "\n".join(edit.new).strip("\n")
            continue
        if edit.action == "insert":
            # As Jupyter adds a cell: a new id, no nbgrader metadata.
            own = new_code_cell("\n".join(edit.new).strip("\n"))
            own.id = f"own-cell-{edit.line}"
            result.cells.insert(result.cells.index(cell) + 1, own)
            continue
        for old, new in edit.pairs:
            count = cell.source.count(old)
            if count != 1:
                raise TemplateError(f"{origin}:{edit.line}: the text to replace occurs {count} "
                                    f"times in cell {edit.cell_id!r} (must be exactly once):\n"
                                    f"{old}", hint="Update the variant to the current lab.")
            cell.source = cell.source.replace(old, new)
    return result


def apply_edits_file(nb: NotebookNode, path: Path) -> NotebookNode:
    return apply_edits(nb, parse_edits(path.read_text(), str(path)), str(path))
