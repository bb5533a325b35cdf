"""Finding what each student handed in: every entry of the folder becomes one submission."""

from __future__ import annotations

import pytest

from gpukit.autograde.grade import find_submissions
from gpukit.errors import GpukitError
from gpukit.labs import core_mnist

LAB = core_mnist.Lab()
NAME = "core_mnist.ipynb"


def make(root, files: dict[str, str]):
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return {s.student: s for s in find_submissions(root, LAB)}


def test_files_and_folders(tmp_path):
    found = make(tmp_path, {"alice.ipynb": "{}", f"bob/lab1/{NAME}": "{}",
                            f"bob/.ipynb_checkpoints/{NAME}": "{}", ".DS_Store": ""})
    assert sorted(found) == ["alice", "bob"]
    assert found["bob"].path == tmp_path / "bob" / "lab1" / NAME and not found["bob"].note


def test_a_renamed_notebook_alone_in_its_folder_is_graded_with_a_note(tmp_path):
    found = make(tmp_path, {"carol/final.ipynb": "{}"})
    assert found["carol"].path.name == "final.ipynb"
    assert found["carol"].note == f"graded final.ipynb (the lab's notebook is {NAME})"


def test_extra_notebooks_are_ignored_with_a_note(tmp_path):
    found = make(tmp_path, {f"dan/{NAME}": "{}", "dan/scratch.ipynb": "{}"})
    assert found["dan"].path.name == NAME
    assert found["dan"].note == "other notebooks ignored: scratch.ipynb"


@pytest.mark.parametrize("files, problem", [
    ({"erin/notes.txt": ""}, "No notebook in erin/"),
    ({"erin/a.ipynb": "{}", "erin/b.ipynb": "{}"}, "2 notebooks in erin/ and none is named"),
    ({"erin.zip": ""}, "erin.zip is not a Jupyter notebook (.ipynb)"),
])
def test_nothing_to_grade_is_a_submission_with_a_problem(tmp_path, files, problem):
    found = make(tmp_path, files)
    assert found["erin"].path is None and problem in found["erin"].problem


def test_an_empty_folder_is_an_error_that_says_what_to_do(tmp_path):
    with pytest.raises(GpukitError, match="No submissions in"):
        find_submissions(tmp_path, LAB)
