"""End to end: the core lab's submissions autograded by the real nbgrader on real MNIST.

Each submission is a notebook named for what it exercises (the demo class plus the fixtures in
tests/fixtures/core_mnist/); EXPECTED is the explicit table of the score every graded cell must get.
"""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from gpukit.course.autograde import autograde_notebooks
from gpukit.course.layout import CourseLayout
from gpukit.demo.run import demo_submissions, prepare_demo_course
from gpukit.notebooks.edits import apply_edits_file
from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow

CHECKS = ("environment", "gpu_report", "device", "keras_model", "keras_accuracy", "torch_model",
          "torch_accuracy", "timing")
FULL = {"environment": 2, "gpu_report": 2, "device": 1, "keras_model": 2, "keras_accuracy": 4,
        "torch_model": 2, "torch_accuracy": 4, "timing": 2}

EXPECTED = {
    "reference-solution": FULL,
    "untouched-release": dict.fromkeys(CHECKS, 0),
    "torch-below-threshold": {**FULL, "torch_accuracy": 0},
    "keras-below-threshold": {**FULL, "keras_accuracy": 0},
    "fake-environment": {**FULL, "environment": 0},
}


@pytest.fixture(scope="module")
def graded(released_course, mnist_data_dir, tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv("GPUKIT_DATA_DIR", str(mnist_data_dir))
    lab = released_course.course.assignments[0]
    course = prepare_demo_course(released_course, tmp_path_factory.mktemp("grading"))
    submissions = {s.student: s.notebook for s in demo_submissions(released_course.root, lab)}
    solution = submissions["reference-solution"]
    for path in sorted((FIXTURES / "core_mnist").glob("*.edits")):
        submissions[path.stem] = apply_edits_file(solution, path)
    assert set(submissions) == set(EXPECTED), "every submission needs its row in EXPECTED"
    return course, autograde_notebooks(course, lab, submissions, progress=False)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_check_scores_as_expected(graded, student):
    _, grades = graded
    got = {check: grades[student].cells[check].auto_score for check in CHECKS}
    assert got == EXPECTED[student]


def test_written_answers_are_left_for_manual_grading(graded):
    _, grades = graded
    reference = grades["reference-solution"]
    written = {g: c for g, c in reference.cells.items() if c.written}
    assert set(written) == {"q_normalize", "q_relu", "q_gpu", "q_compare"}
    assert all(c.auto_score is None for c in written.values())  # answered: left to a human
    untouched = grades["untouched-release"]
    assert all(untouched.cells[g].auto_score == 0 for g in written)  # unanswered: zero


def test_reference_solution_passes_nbgrader_validate(graded):
    course, _ = graded
    lab = course.course.assignments[0]
    notebook = CourseLayout(course.root).submitted("reference-solution", lab)
    done = subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(notebook)],
                          cwd=course.root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success! Your notebook passes all the tests." in done.stdout


def test_autograded_notebook_shows_the_grader_measured_accuracy(graded):
    course, _ = graded
    lab = course.course.assignments[0]
    path = (course.root / "autograded" / "keras-below-threshold" / lab.name
            / CourseLayout(course.root).submitted("x", lab).name)
    cell = next(c for c in nbformat.read(str(path), as_version=4).cells
                if c.id == "keras_accuracy")
    error = next(o for o in cell.outputs if o.output_type == "error")
    assert "is below 0.97" in error.evalue  # the student's own self-check fails first
