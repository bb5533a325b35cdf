"""Records of cells that did not finish normally, read from an autograded notebook."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from gpukit.batch.records import unfinished_cells
from gpukit.pipeline.metadata import CELL_METADATA


def _cell(source: str, cell_id: str, *, nbgrader: dict | None = None, seconds: float = 0.5,
          stopped: str | None = None, error: tuple[str, str] | None = None):
    cell = new_code_cell(source)
    cell.id = cell_id
    if nbgrader:
        cell.metadata["nbgrader"] = nbgrader
    cell.metadata[CELL_METADATA] = {"seconds": seconds, **({"stopped": stopped} if stopped else {})}
    if error:
        cell.outputs = [new_output("error", ename=error[0], evalue=error[1], traceback=[])]
    return cell


def test_every_unfinished_cell_but_the_checks_is_recorded_with_its_time():
    answer = {"solution": True, "grade": False, "grade_id": "train_code", "locked": False}
    test = {"solution": False, "grade": True, "grade_id": "accuracy", "locked": True,
            "points": 2}
    notebook = new_notebook(cells=[
        _cell("import torch", "setup", nbgrader={"locked": True, "solution": False,
                                                  "grade": False, "grade_id": "setup"},
              error=("ModuleNotFoundError", "No module named 'torch'")),
        new_markdown_cell("## Part 1"),
        _cell("while True: pass", "train_code", nbgrader=answer, seconds=120.2,
              stopped="cell_timeout_s = 120", error=("KeyboardInterrupt", "")),
        _cell("raise ValueError('mine')\nmore", "student-extra-1", error=("ValueError", "mine")),
        _cell("x = 1", "student-extra-2"),
        _cell("assert False", "accuracy", nbgrader=test, error=("AssertionError", "")),
        _cell("import sys; sys.exit(3)", "student-extra-3", seconds=0.01,
              error=("SystemExit", "3")),
        _cell("input()", "student-extra-4", error=("KeyboardInterrupt", "")),
    ])
    notebook = nbformat.from_dict(notebook)
    assert [(c.cell, c.kind, c.event, c.seconds, c.message) for c in unfinished_cells(notebook)] \
        == [("setup", "given", "error", 0.5, "raised ModuleNotFoundError: No module named 'torch'"),
            ("train_code", "answer", "timeout", 120.2,
             "stopped at the per-cell time limit (cell_timeout_s = 120)"),
            ("after train_code", "own", "error", 0.5, "raised ValueError: mine"),
            ("after accuracy", "own", "error", 0.01, "raised SystemExit: 3"),
            ("after accuracy", "own", "interrupted", 0.5, "interrupted")]
    assert unfinished_cells(notebook)[1].text() == \
        "answer cell train_code: stopped at the per-cell time limit (cell_timeout_s = 120) " \
        "after 120.2 s"
