"""Finding what each student handed in: every entry of the folder becomes one submission."""

from __future__ import annotations

import os
import unicodedata

import pytest

from gpukit.batch.submissions import find_submissions
from gpukit.errors import GpukitError
from gpukit.labs import core_mnist
from gpukit.untrusted import placeholder_id

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


# ------------------------------------------------------------------ names and files a student chose


def test_a_link_is_never_graded_as_the_students_notebook(tmp_path):
    master = tmp_path / "course" / "source" / NAME
    master.parent.mkdir(parents=True)
    master.write_text("{}")
    folder = tmp_path / "submissions"
    (folder / "alice").mkdir(parents=True)
    (folder / "alice" / NAME).symlink_to(master)
    (folder / "bob.ipynb").symlink_to(master)
    (folder / "carol").symlink_to(master.parent, target_is_directory=True)
    found = {s.student: s for s in find_submissions(folder, LAB)}
    assert {s: found[s].path for s in found} == {"alice": None, "bob": None, "carol": None}
    assert "holds a notebook that is a symbolic link" in found["alice"].problem
    assert "bob.ipynb is a symbolic link" in found["bob"].problem
    assert "carol is a symbolic link" in found["carol"].problem


@pytest.mark.parametrize("name, problem", [
    ("x" * 129, "longer than 128 bytes"),
    (os.fsdecode(b"caf\xe9"), "caf\\udce9 is not valid UTF-8"),
    ("\x1b[31mred", "\\x1b[31mred holds characters that are not printable"),
    ("evil\u202egnp", "evil\\u202egnp holds characters that are not printable"),
    (" alice", "begins or ends with a space"),
])
def test_a_name_that_is_no_student_id_is_invalid_under_a_placeholder(tmp_path, name, problem):
    (tmp_path / f"{name}.ipynb").write_text("{}")
    (submission,) = find_submissions(tmp_path, LAB)
    assert submission.student == placeholder_id(name) and submission.path is None
    assert problem in submission.problem
    assert submission.student.isprintable() and len(submission.student) < 60


def test_one_student_handed_in_twice_is_invalid_once(tmp_path):
    decomposed = unicodedata.normalize("NFD", "josé")
    found = make(tmp_path, {"alice.ipynb": "{}", f"alice/{NAME}": "{}",
                            f"{decomposed}.ipynb": "{}", "josé/x.ipynb": "{}"})
    assert sorted(found) == ["alice", "josé"]
    assert found["alice"].problem.startswith("2 submissions for alice (alice, alice.ipynb)")
    assert found["josé"].path is None and "2 submissions for josé" in found["josé"].problem


def test_a_decomposed_name_is_the_same_student(tmp_path):
    found = make(tmp_path, {f"{unicodedata.normalize('NFD', 'zoë')}.ipynb": "{}"})
    assert list(found) == ["zoë"] and found["zoë"].path is not None


def test_a_notebook_name_that_is_not_utf8_is_graded_and_shown_escaped(tmp_path):
    (tmp_path / "dan").mkdir()
    (tmp_path / "dan" / os.fsdecode(b"lab\xff.ipynb")).write_text("{}")
    (submission,) = find_submissions(tmp_path, LAB)
    assert submission.path is not None
    assert submission.note == f"graded lab\\udcff.ipynb (the lab's notebook is {NAME})"
