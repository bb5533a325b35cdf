"""Submission variants written as edits of a notebook."""

from __future__ import annotations

import pytest

from gpukit.errors import TemplateError
from gpukit.notebooks.edits import apply_edits, parse_edits
from gpukit.notebooks.textformat import text_to_notebook

NB = text_to_notebook("%% code id=a\nx = 1\ny = 2\n%% code id=b\nprint(x)\n")


def sources(nb):
    return {cell.id: cell.source for cell in nb.cells}


def test_edit_replaces_text_and_leaves_the_original_alone():
    edits = parse_edits("# why\n%% edit id=a\n- x = 1\n+ x = 10\n- y = 2\n+ y = 20\n", "t")
    result = apply_edits(NB, edits, "t")
    assert sources(result) == {"a": "x = 10\ny = 20", "b": "print(x)"}
    assert sources(NB)["a"] == "x = 1\ny = 2"


def test_replace_swaps_the_whole_cell():
    result = apply_edits(NB, parse_edits("%% replace id=b\nprint('hi')\n", "t"), "t")
    assert sources(result)["b"] == "print('hi')"


def test_insert_adds_a_cell_of_the_students_own_after_the_named_one():
    result = apply_edits(NB, parse_edits("# why\n%% insert after=a\nimport os\nprint(os)\n",
                                         "t"), "t")
    assert [cell.source for cell in result.cells] == ["x = 1\ny = 2", "import os\nprint(os)",
                                                      "print(x)"]
    own = result.cells[1]
    assert own.cell_type == "code" and "nbgrader" not in own.metadata and own.id not in ("a", "b")


@pytest.mark.parametrize(("text", "message"), [
    ("%% edit id=a\n- z = 3\n+ z = 4\n", "occurs 0 times"),
    ("%% edit id=nope\n- x\n+ y\n", "no cell with id 'nope'"),
    ("%% insert after=nope\nx = 1\n", "no cell with id 'nope'"),
    ("%% edit id=a\nx = 1\n", "edit lines start with"),
    ("%% change id=a\n", "bad header"),
])
def test_stale_or_malformed_edits_fail_loudly(text, message):
    with pytest.raises(TemplateError, match=message):
        apply_edits(NB, parse_edits(text, "t"), "t")
