"""Lab 1 (core_mnist) end to end, beyond its sample class (tests/test_lab_tiers.py, with the
table in gpukit/labs/core_mnist/fixtures/expected.py, graded on a one-epoch variant): a test cell
that writes to stderr, and the lab's own settings (five epochs, thresholds 0.97) grading the
reference solution under gpu_policy='require'.
"""

from __future__ import annotations

import os
import shutil

import nbformat
import pytest

from gpukit.course.layout import CourseLayout
from gpukit.demo.run import prepare_demo_course
from gpukit.labs.core_mnist.fixtures.expected import FULL
from tests.grading import read_rows, reconfigure, run_gpukit_grade

pytestmark = pytest.mark.slow


def test_stderr_in_a_test_cell_keeps_its_points(sample_class):
    graded = sample_class("core_mnist")
    course = graded["course"]
    autograded = CourseLayout(course.root).autograded("tf-warnings-on-stderr",
                                                      course.course.lab("core_mnist"))
    cell = next(c for c in nbformat.read(str(autograded), as_version=4).cells
                if c.id == "environment")
    text = "".join(o.get("text", "") for o in cell.outputs)
    assert "a C++ log line on stderr" in text  # still shown to the student, on stdout
    assert float(graded["rows"]["tf-warnings-on-stderr"]["environment"]) == 2


@pytest.fixture(scope="module")
def require_policy_run(released_course, mnist_data_dir, tmp_path_factory):
    """The reference solution graded with gpu_policy='require' on this CPU-only machine."""
    work = tmp_path_factory.mktemp("require")
    course_dir = work / "course"
    prepare_demo_course(released_course, course_dir)
    reconfigure(course_dir, "config = dataclasses.replace(config, "
                "gpu_policy='require')\n")
    submissions = work / "submissions"
    submissions.mkdir()
    shutil.copy(CourseLayout(released_course.root).solution(released_course.course.lab("core_mnist")),
                submissions / "alice.ipynb")
    done = run_gpukit_grade(course_dir, "core_mnist", submissions, work / "out", timeout=900,
                            env={**os.environ, "GPUKIT_DATA_DIR": str(mnist_data_dir)})
    return read_rows(work / "out")["alice"], done.stdout


def test_require_policy_flags_gpu_only_checks_for_regrade(require_policy_run):
    row, stdout = require_policy_run
    assert row["needs_gpu_regrade"] == "keras_on_gpu"
    assert float(row["keras_on_gpu"]) == 0  # no silent zero: the row says why
    assert float(row["score"]) == sum(FULL.values()) - FULL["keras_on_gpu"]
    assert "needs a GPU regrade: keras_on_gpu" in stdout
