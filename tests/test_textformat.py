"""The template text format and its nbgrader metadata."""

from __future__ import annotations

import pytest
from nbgrader.nbgraderformat import MetadataValidator

from gpukit.errors import TemplateError
from gpukit.notebooks.textformat import parse, text_to_notebook

SAMPLE = """\
%% markdown
# Title
%% code id=setup
import os
%% solution id=f
def f():
    ### BEGIN SOLUTION
    return 1
    ### END SOLUTION
%% tests id=f_tests points=2
assert f() == 1
%% answer id=q1 points=1.5
Because.
"""


def test_roles_map_to_nbgrader_metadata():
    nb = text_to_notebook(SAMPLE)
    meta = {cell.id: cell.metadata["nbgrader"] for cell in nb.cells}
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code", "code", "markdown"]
    assert meta["markdown-00"]["locked"] and not meta["markdown-00"]["grade"]
    assert meta["setup"] == {"grade": False, "grade_id": "setup", "locked": True,
                             "schema_version": 3, "solution": False, "task": False}
    assert meta["f"]["solution"] and not meta["f"]["locked"] and not meta["f"]["grade"]
    assert meta["f_tests"]["grade"] and meta["f_tests"]["locked"] and meta["f_tests"]["points"] == 2
    assert meta["q1"]["grade"] and meta["q1"]["solution"] and meta["q1"]["points"] == 1.5
    MetadataValidator().validate_nb(nb)  # nbgrader's own validator accepts every cell


def test_cell_sources_are_kept_verbatim():
    cells = parse(SAMPLE)
    assert cells[2].source.splitlines()[1] == "    ### BEGIN SOLUTION"
    assert cells[4].source == "Because."


@pytest.mark.parametrize(("text", "message"), [
    ("%% codez\nx", "bad cell header"),
    ("%%code\nx", "bad cell header"),
    ("x = 1\n%% code\ny", "text before the first"),
    ("%% code id=a\nx\n%% code id=a\ny", "used twice"),
    ("%% tests id=t\nassert 1", "needs points="),
    ("%% code id=c points=1\nx", "must not have points="),
    ("%% tests id=t points=many\nassert 1", "is not a number"),
    ("%% code id=bad.id\nx", "not a valid grade id"),
    ("%% code id=c\n\n", "is empty"),
])
def test_errors_name_the_line(text, message):
    with pytest.raises(TemplateError, match=message) as error:
        parse(text, origin="lab.nb.j2")
    assert str(error.value).startswith("lab.nb.j2:")
