"""Rebuild a submission on the instructor's release before it is graded.

What gets graded is the release notebook (the instructor's cells, metadata and kernelspec) with
the student's answers put into its answer cells. The student's cells are matched to answer cells
by nbgrader metadata first, then by the marker line each answer cell starts with (markers.py), so
a notebook that went through Colab or VS Code and lost its metadata grades like the original.

Policy for everything else a student may have done:

* **deleted answer cell**: the release's stub stays, so that answer scores as unanswered;
* **locked or given cells** (edited, moved or deleted): the release's version is used;
* **extra cells** the student added: kept, in order, after the release cell they followed
  (students define helpers in their own cells); cells before any known cell go after the first;
* **duplicated answer cells** (same id or marker twice): the first is the answer, the others are
  dropped and reported;
* **merged cells** (one cell holding a second answer's marker line): split again at the marker,
  so each answer reaches its own cell; **split cells** (an answer continued in a new cell of the
  student's own) work as they are: the new cell is an extra cell right after the answer;
* **changed cell type** of an answer cell: the release's type is kept, with the student's text;
* **changed kernelspec or notebook metadata**: the release's is used.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from nbformat.notebooknode import NotebookNode

from gpukit.notebooks.markers import marked_id


@dataclass
class Rebuilt:
    notebook: NotebookNode
    by_metadata: list[str] = field(default_factory=list)
    by_marker: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    extra_cells: int = 0
    split_cells: int = 0

    def summary(self) -> str:
        parts = []
        if self.by_marker:
            parts.append(f"{len(self.by_marker)} answer cells matched by their marker line "
                         "(nbgrader metadata missing)")
        if self.missing:
            parts.append(f"answer cells not found: {', '.join(self.missing)}")
        if self.duplicates:
            parts.append(f"duplicated answer cells ignored: {', '.join(self.duplicates)}")
        if self.split_cells:
            parts.append(f"{self.split_cells} merged cells split at their marker lines")
        if self.extra_cells:
            parts.append(f"{self.extra_cells} cells of your own kept")
        return "; ".join(parts)


def _grade_id(cell: NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_answer(cell: NotebookNode) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def rebuild(student: NotebookNode, release: NotebookNode) -> Rebuilt:
    """The release with the student's answers and extra cells; ``student`` is not changed."""
    answer_ids = {_grade_id(c) for c in release.cells if _is_answer(c)}
    release_ids = {_grade_id(c) for c in release.cells}
    given_sources = {c.source.strip(): _grade_id(c) for c in release.cells if not _is_answer(c)}
    result = Rebuilt(copy.deepcopy(release))
    answers: dict[str, NotebookNode] = {}
    extras: dict[str | None, list[NotebookNode]] = {}
    anchor: str | None = None
    for cell in _split_merged(student.cells, result):
        by_metadata = _grade_id(cell) if _grade_id(cell) in answer_ids else None
        grade_id = by_metadata or (marked_id(cell.source) if cell.cell_type != "raw" else None)
        if grade_id in answer_ids:
            if grade_id in answers:
                result.duplicates.append(grade_id)
                continue
            answers[grade_id] = cell
            (result.by_metadata if by_metadata else result.by_marker).append(grade_id)
            anchor = grade_id
        elif _grade_id(cell) in release_ids:
            anchor = _grade_id(cell)          # a given cell, metadata intact
        elif cell.source.strip() in given_sources:
            anchor = given_sources[cell.source.strip()]  # a given cell that lost its metadata
        elif cell.cell_type in ("code", "markdown") and cell.source.strip():
            extras.setdefault(anchor, []).append(cell)

    cells = []
    for index, given in enumerate(result.notebook.cells):
        grade_id = _grade_id(given)
        if grade_id in answers:
            given.source = answers[grade_id].source
        elif grade_id in answer_ids:
            result.missing.append(grade_id)
        cells.append(given)
        own = extras.get(grade_id, []) + (extras.get(None, []) if index == 0 else [])
        for cell in own:
            cells.append(_extra_cell(cell, result.extra_cells))
            result.extra_cells += 1
    result.notebook.cells = cells
    return result


def _split_merged(cells: list[NotebookNode], result: Rebuilt) -> list[NotebookNode]:
    """The cells, with any cell that holds a marker line below its top split at that line."""
    split = []
    for cell in cells:
        lines = cell.source.splitlines(keepends=True) if cell.cell_type != "raw" else []
        starts = [i for i, line in enumerate(lines) if marked_id(line)][1:]
        if not starts:
            split.append(cell)
            continue
        result.split_cells += 1
        for begin, end in zip([0, *starts], [*starts, len(lines)], strict=True):
            part = copy.deepcopy(cell)
            part.source = "".join(lines[begin:end]).rstrip("\n")
            if begin:  # the first part keeps the cell's metadata, the others are plain cells
                part.metadata = {}
            split.append(part)
    return split


def _extra_cell(cell: NotebookNode, number: int) -> NotebookNode:
    extra = copy.deepcopy(cell)
    extra.metadata = {}
    extra.id = f"student-extra-{number}"
    if extra.cell_type == "code":
        extra.outputs, extra.execution_count = [], None
    return extra
