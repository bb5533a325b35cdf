"""End to end: the core lab's sample submissions graded by `gpukit grade` (real nbgrader, real
kernels, real MNIST), on this CPU-only machine.

Each submission is a notebook named for what it exercises: the reference solution, the untouched
release, the demo class, and the fixtures in tests/fixtures/core_mnist/ (edits of the solution).
EXPECTED is the explicit table of the points every check must give; every check appears with
zero points in at least one row, so each is shown to fail on the submission meant to fail it.

The class is graded on a shorter variant of the lab (SETTINGS: one epoch, thresholds 0.93, which
the reference passes at about 0.96 (Keras) and 0.95 (PyTorch) and the softmax mistake misses at
about 0.85); the lab's own settings (five epochs, 0.97) grade the reference solution in
`require_policy_run`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from gpukit.course.layout import CourseLayout
from gpukit.demo.run import prepare_demo_course
from tests.grading import grade_sample_class, read_rows, run_gpukit_grade

pytestmark = pytest.mark.slow

FULL = {"environment": 2, "gpu_report": 2, "device": 1, "keras_model": 2, "keras_accuracy": 4,
        "keras_on_gpu": 1, "torch_model": 2, "torch_placement": 2, "torch_accuracy": 4,
        "timing": 2}
ZERO = dict.fromkeys(FULL, 0)
SETTINGS = {"epochs": 1, "keras_accuracy_threshold": 0.93, "torch_accuracy_threshold": 0.93}

EXPECTED = {
    "reference-solution": FULL,
    "untouched-release": ZERO,
    "fake-environment": {**FULL, "environment": 0},
    "false-gpu-claim": {**FULL, "gpu_report": 0},
    "device-hardcoded-cpu": {**FULL, "device": 0},
    "keras-wrong-architecture": {**FULL, "keras_model": 0},
    "keras-below-threshold": {**FULL, "keras_accuracy": 0},
    "reported-accuracy-mismatch": {**FULL, "keras_accuracy": 0},
    "torch-wrong-architecture": {**FULL, "torch_model": 0},
    "batches-never-moved": {**FULL, "torch_placement": 0},
    "model-never-moved": {**FULL, "torch_placement": 0},
    "torch-below-threshold": {**FULL, "torch_accuracy": 0},
    "accuracy-hardcoded-untrained": {**FULL, "torch_accuracy": 0},
    "fabricated-timings": {**FULL, "timing": 0},
    "empty-written-answers": FULL,
    "tf-warnings-on-stderr": FULL,
    "tutorial-style-spellings": FULL,
    # Trained with a softmax before CrossEntropyLoss, the MLP stays below the threshold (0.85
    # after one epoch): the mistake costs the accuracy too, measured by the grader from the
    # weights.
    "softmax-in-functional-forward": {**FULL, "torch_model": 0, "torch_accuracy": 0},
    "hides-its-errors": ZERO,  # tampering: held at zero for review (see test_grade_corpus.py)
    # Models whose forward recognises the test images: accuracy from the weights, held.
    "forward-looks-up-test-images": {**FULL, "torch_model": 0, "torch_accuracy": 0},
    "forward-nudges-test-images": {**FULL, "torch_model": 0, "torch_accuracy": 0},
    "keras-call-nudges-test-images": {**FULL, "keras_model": 0, "keras_accuracy": 0},
}
STATUS = {"hides-its-errors": "integrity", "forward-looks-up-test-images": "integrity",
          "forward-nudges-test-images": "integrity",
          "keras-call-nudges-test-images": "integrity"}  # every other submission: "graded"
# What the record says of the checks a model that recognises test images is held on.
DIFFERS = "output on the test images differs from what the network its own weights define"
INTEGRITY_MESSAGES = {
    (student, check): DIFFERS
    for student, checks in (("forward-looks-up-test-images", ("torch_model", "torch_accuracy")),
                            ("forward-nudges-test-images", ("torch_model", "torch_accuracy")),
                            ("keras-call-nudges-test-images", ("keras_model", "keras_accuracy")))
    for check in checks}

# What the student reads for a failed check: one sentence naming the problem. Where the visible
# self-check already catches the mistake, its message is the one the student sees.
MESSAGES = {
    ("fake-environment", "environment"): "differently from the kernel it runs in",
    ("false-gpu-claim", "gpu_report"): "differently from what the frameworks see",
    ("device-hardcoded-cpu", "device"): "does not choose CUDA when CUDA is available",
    ("keras-wrong-architecture", "keras_model"): "the Dense layers must have 128 and then 10 "
                                                 "units",
    ("keras-below-threshold", "keras_accuracy"): "is below 0.93",
    ("reported-accuracy-mismatch", "keras_accuracy"): "You report a Keras test accuracy of "
                                                      "0.9950, but the grader measured 0.9",
    ("torch-wrong-architecture", "torch_model"): "must have the layers Linear(784, 128)",
    ("softmax-in-functional-forward", "torch_model"): "MnistMLP must return logits, not "
                                                      "probabilities",
    ("softmax-in-functional-forward", "torch_accuracy"): "is below 0.93",
    ("batches-never-moved", "torch_placement"): "batches that are not on `device`",
    ("model-never-moved", "torch_placement"): "a model that was never moved to `device`",
    ("accuracy-hardcoded-untrained", "torch_accuracy"): "The grader measured your trained "
                                                        "PyTorch model's test accuracy at 0.",
    ("fabricated-timings", "timing"): "`keras_train_time` = 1.25 s does not match the "
                                      "grader's clock",
}


@pytest.fixture(scope="module")
def graded(released_course, mnist_data_dir, tmp_path_factory):
    """All sample submissions, graded once by `gpukit grade` run as a subprocess."""
    return grade_sample_class(released_course, released_course.course.assignments[0],
                              tmp_path_factory.mktemp("grading"), set(EXPECTED),
                              env={**os.environ, "GPUKIT_DATA_DIR": str(mnist_data_dir)},
                              settings=SETTINGS)


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_check_scores_as_expected(graded, student):
    row = graded["rows"][student]
    assert row["status"] == STATUS.get(student, "graded")
    assert {check: float(row[check]) for check in FULL} == EXPECTED[student]
    assert float(row["score"]) == sum(EXPECTED[student].values())
    assert float(row["max_score"]) == sum(FULL.values())


@pytest.mark.parametrize(("student", "check"), sorted(MESSAGES))
def test_failed_check_tells_the_student_why(graded, student, check):
    outcome = next(c for c in graded["records"][student]["checks"] if c["check"] == check)
    assert outcome["status"] == "failed"
    assert MESSAGES[student, check] in outcome["message"]
    assert "\n" not in outcome["message"].strip()  # one sentence, no traceback


@pytest.mark.parametrize(("student", "check"), sorted(INTEGRITY_MESSAGES))
def test_a_model_that_recognises_test_images_is_held_for_review(graded, student, check):
    outcome = next(c for c in graded["records"][student]["checks"] if c["check"] == check)
    assert outcome["status"] == "integrity"
    assert INTEGRITY_MESSAGES[student, check] in outcome["message"]
    assert "behaves differently on the data it is graded with" in \
        graded["rows"][student]["message"]


def test_gpu_only_check_is_skipped_with_full_points_on_a_cpu_grader(graded):
    outcome = next(c for c in graded["records"]["reference-solution"]["checks"]
                   if c["check"] == "keras_on_gpu")
    assert outcome["status"] == "skipped" and "gpu_policy='prefer'" in outcome["message"]
    assert graded["rows"]["reference-solution"]["needs_gpu_regrade"] == ""


def test_written_answers_completeness_is_recorded_not_scored(graded):
    def states(student):
        return {w["question"]: w["state"] for w in graded["records"][student]["written"]}

    assert set(states("reference-solution").values()) == {"complete"}
    assert states("empty-written-answers")["q_normalize"] == "missing"
    assert states("empty-written-answers")["q_relu"] == "too_short"
    assert float(graded["rows"]["empty-written-answers"]["manual_points_pending"]) == 8


def test_stderr_in_a_test_cell_keeps_its_points(graded):
    course = graded["course"]
    autograded = CourseLayout(course.root).autograded("tf-warnings-on-stderr",
                                                      course.course.assignments[0])
    cell = next(c for c in nbformat.read(str(autograded), as_version=4).cells
                if c.id == "environment")
    text = "".join(o.get("text", "") for o in cell.outputs)
    assert "a C++ log line on stderr" in text  # still shown to the student, on stdout
    assert float(graded["rows"]["tf-warnings-on-stderr"]["environment"]) == 2


def test_feedback_shows_no_hidden_test_text(graded):
    feedback = graded["output"] / "feedback"
    assert len(list(feedback.glob("*.html"))) == len(EXPECTED)
    html = (feedback / "batches-never-moved.html").read_text()
    assert "batches that are not on `device`" in html  # the student learns what failed
    # The given setup cell imports gpukit.grading.probes openly; the hidden cells' text is secret.
    for secret in ("HIDDEN TESTS", "import check", "check(&quot;", "observe_training"):
        assert secret not in html


def test_submissions_are_not_modified(graded):
    now = {p.name: p.read_bytes() for p in graded["submissions"].iterdir()}
    assert now == graded["originals"]


def test_summary_names_each_problem(graded):
    held = len(STATUS)
    assert f"{len(EXPECTED)} submissions: {len(EXPECTED) - held} graded, {held} integrity." \
        in graded["stdout"]
    assert "lost points on: torch_placement" in graded["stdout"]


def test_reference_solution_passes_nbgrader_validate(graded, mnist_data_dir):
    course = graded["course"]
    lab = course.course.assignments[0]
    notebook = CourseLayout(course.root).submitted("reference-solution", lab)
    done = subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(notebook)],
                          cwd=course.root, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "GPUKIT_DATA_DIR": str(mnist_data_dir)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success! Your notebook passes all the tests." in done.stdout


@pytest.fixture(scope="module")
def require_policy_run(released_course, mnist_data_dir, tmp_path_factory):
    """The reference solution graded with gpu_policy='require' on this CPU-only machine."""
    work = tmp_path_factory.mktemp("require")
    course_dir = work / "course"
    prepare_demo_course(released_course, course_dir)
    config = course_dir / "grading_config.py"
    config.write_text(config.read_text() + "config = dataclasses.replace(config, "
                      "gpu_policy='require')\n")
    submissions = work / "submissions"
    submissions.mkdir()
    shutil.copy(CourseLayout(released_course.root).solution(released_course.course
                                                            .assignments[0]),
                submissions / "alice.ipynb")
    done = run_gpukit_grade(course_dir, "lab1_mnist", submissions, work / "out", timeout=900,
                            env={**os.environ, "GPUKIT_DATA_DIR": str(mnist_data_dir)})
    return read_rows(work / "out")["alice"], done.stdout


def test_require_policy_flags_gpu_only_checks_for_regrade(require_policy_run):
    row, stdout = require_policy_run
    assert row["needs_gpu_regrade"] == "keras_on_gpu"
    assert float(row["keras_on_gpu"]) == 0  # no silent zero: the row says why
    assert float(row["score"]) == sum(FULL.values()) - FULL["keras_on_gpu"]
    assert "needs a GPU regrade: keras_on_gpu" in stdout
