"""Lab 3 (fashion_ann) end to end, beyond its sample class (tests/test_lab_tiers.py, with the
table in gpukit/labs/fashion_ann/fixtures/expected.py, graded on the generated Fashion-MNIST
stand-in): what a student hands in beside the notebook.
"""

from __future__ import annotations

import shutil

import pytest

from gpukit.batch.gradebook import read_grades
from gpukit.course import nbgrader_steps
from gpukit.course.layout import CourseLayout, notebook_stem
from gpukit.release.student_wheel import student_wheel_filename

# A student runtime of the student's own, handed in beside the notebook: if the grader imported
# it, the setup cell would load no data and leave a trace.
TAMPERED_RUNTIME = """\
import pathlib
pathlib.Path("tampered-runtime-was-imported").write_text("yes")


def load_fashion_mnist(*args, **kwargs):
    raise RuntimeError("the tampered runtime was imported")
"""


@pytest.mark.slow
def test_a_runtime_handed_in_beside_the_notebook_changes_nothing(sample_class):
    """Plain `nbgrader autograde` copies whatever a student hands in beside the notebook: a
    tampered gpukit_student package and a fake wheel there grade exactly like the plain
    reference, and the release's wheel is put back over the fake one."""
    graded = sample_class("fashion_ann")
    course, lab = graded["course"], graded["lab"]
    layout = CourseLayout(course.root)
    folder = layout.submitted("tampered-runtime", lab).parent
    folder.mkdir(parents=True)
    shutil.copy(layout.submitted("reference-solution", lab), folder)
    (folder / "gpukit_student").mkdir()
    (folder / "gpukit_student" / "__init__.py").write_text(TAMPERED_RUNTIME)
    (folder / student_wheel_filename()).write_bytes(b"not the runtime")
    nbgrader_steps.autograde(course.root, lab.name, "--student", "tampered-runtime")
    grades = read_grades(course.gradebook_url, lab, notebook_stem(lab))
    assert grades["tampered-runtime"].cells == grades["reference-solution"].cells
    autograded = layout.autograded("tampered-runtime", lab).parent
    assert not (autograded / "tampered-runtime-was-imported").exists()
    assert (autograded / student_wheel_filename()).read_bytes() == \
        (layout.release(lab).parent / student_wheel_filename()).read_bytes()
