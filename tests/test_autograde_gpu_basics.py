"""End to end: lab 2's sample submissions graded by `gpukit grade` (real nbgrader, real kernels),
on this CPU-only machine.

Each submission is a notebook named for what it exercises: the reference solution, the untouched
release, the demo class (gpukit/demo/submissions/gpu_basics/), and the fixtures in
tests/fixtures/gpu_basics/ (edits of the solution). EXPECTED is the explicit table of the points
every check must give; every check appears with zero points in at least one row. The GPU-only
check (gpu_memory) can only lose its points here to the untouched release; on this machine it is
skipped with full points, or flagged for a GPU regrade under gpu_policy='require'.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from gpukit.course.layout import CourseLayout
from gpukit.demo.run import prepare_demo_course
from tests.conftest import FIXTURES
from tests.grading import grade_sample_class, read_rows, run_gpukit_grade

pytestmark = pytest.mark.slow

FULL = {"cuda_status": 2, "device": 1, "move_batch": 2, "forward_on": 3, "tensor_megabytes": 2,
        "measure_allocation": 1, "gpu_memory": 2}
ZERO = dict.fromkeys(FULL, 0)

EXPECTED = {
    "reference-solution": FULL,
    "untouched-release": ZERO,
    # the demo class
    "to-without-assignment": {**FULL, "move_batch": 0},
    "output-left-on-device": {**FULL, "forward_on": 0},
    # tests/fixtures/gpu_basics/
    "cuda-status-typed": {**FULL, "cuda_status": 0},
    "device-hardcoded-cpu": {**FULL, "device": 0},
    "batch-partly-moved": {**FULL, "move_batch": 0},
    "model-never-moved": {**FULL, "forward_on": 0},
    "input-never-moved": {**FULL, "forward_on": 0},
    "gradients-tracked": {**FULL, "forward_on": 0},
    "megabytes-assumes-float32": {**FULL, "tensor_megabytes": 0},
    "megabytes-via-finfo": {**FULL, "tensor_megabytes": 0},
    "cuda-counters-on-cpu": {**FULL, "measure_allocation": 0},
    "allocation-size-typed": {**FULL, "measure_allocation": 0},
    "empty-written-answers": FULL,
}

# What the student reads for a failed check: one sentence naming the problem. Where the visible
# self-check already catches the mistake, its message is the one the student sees.
MESSAGES = {
    ("cuda-status-typed", "cuda_status"): "On a machine with two GPUs, cuda_status() reports",
    ("device-hardcoded-cpu", "device"): "does not choose CUDA when CUDA is available",
    ("to-without-assignment", "move_batch"): "returns tensors that are not on `device`",
    ("batch-partly-moved", "move_batch"): "returns tensors that are not on `device`",
    ("model-never-moved", "forward_on"): "whose parameters are not on `device`",
    ("input-never-moved", "forward_on"): "an input that is not on `device`",
    ("output-left-on-device", "forward_on"): "returns the output on `device`",
    ("gradients-tracked", "forward_on"): "must run the model under torch.no_grad()",
    ("megabytes-assumes-float32", "tensor_megabytes"): "a float16 element takes 2 bytes",
    ("megabytes-via-finfo", "tensor_megabytes"): "on a torch.int64 tensor raised TypeError",
    ("cuda-counters-on-cpu", "measure_allocation"): "report None for the four CUDA measurements",
    ("allocation-size-typed", "measure_allocation"): "reports a tensor_mb that is not the size",
}


def gpu_basics_lab(loaded):
    return next(lab for lab in loaded.course.assignments if lab.template == "gpu_basics")


@pytest.fixture(scope="module")
def graded(released_course, tmp_path_factory):
    """All sample submissions, graded once by `gpukit grade` run as a subprocess."""
    return grade_sample_class(released_course, gpu_basics_lab(released_course),
                              tmp_path_factory.mktemp("grading"), set(EXPECTED))


def test_every_check_fails_on_some_submission():
    for check in FULL:
        assert any(row[check] == 0 for row in EXPECTED.values()), check
    fixtures = {p.stem for p in (FIXTURES / "gpu_basics").glob("*.edits")}
    for check in set(FULL) - {"gpu_memory"}:  # GPU-only: no CPU submission can fail it
        assert any(EXPECTED[name][check] == 0 for name in fixtures), check


def test_fixture_files_say_what_they_exercise():
    for path in sorted((FIXTURES / "gpu_basics").glob("*.edits")):
        assert path.read_text().startswith("# "), path.name


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_check_scores_as_expected(graded, student):
    row = graded["rows"][student]
    assert row["status"] == "graded"
    assert {check: float(row[check]) for check in FULL} == EXPECTED[student]
    assert float(row["score"]) == sum(EXPECTED[student].values())
    assert float(row["max_score"]) == sum(FULL.values())


@pytest.mark.parametrize(("student", "check"), sorted(MESSAGES))
def test_failed_check_tells_the_student_why(graded, student, check):
    outcome = next(c for c in graded["records"][student]["checks"] if c["check"] == check)
    assert outcome["status"] == "failed"
    assert MESSAGES[student, check] in outcome["message"]
    assert "\n" not in outcome["message"].strip()  # one sentence, no traceback


def test_gpu_only_check_is_skipped_with_full_points_on_a_cpu_grader(graded):
    outcome = next(c for c in graded["records"]["reference-solution"]["checks"]
                   if c["check"] == "gpu_memory")
    assert outcome["status"] == "skipped" and "gpu_policy='prefer'" in outcome["message"]
    assert graded["rows"]["reference-solution"]["needs_gpu_regrade"] == ""


def test_cpu_gradable_checks_really_ran_on_the_cpu_grader(graded):
    statuses = {c["check"]: c["status"] for c in graded["records"]["reference-solution"]["checks"]}
    assert statuses == {**dict.fromkeys(FULL, "passed"), "gpu_memory": "skipped"}


def test_written_answers_completeness_is_recorded_not_scored(graded):
    def states(student):
        return {w["question"]: w["state"] for w in graded["records"][student]["written"]}

    assert states("reference-solution") == {"q_same_device": "complete",
                                            "q_empty_cache": "complete"}
    assert states("empty-written-answers") == {"q_same_device": "missing",
                                               "q_empty_cache": "too_short"}
    assert float(graded["rows"]["empty-written-answers"]["manual_points_pending"]) == 4


def test_feedback_shows_no_hidden_test_text(graded):
    feedback = graded["output"] / "feedback"
    assert len(list(feedback.glob("*.html"))) == len(EXPECTED)
    html = (feedback / "output-left-on-device.html").read_text()
    assert "returns the output on `device`" in html  # the student learns what failed
    for secret in ("HIDDEN TESTS", "import check", "check(&quot;", "observe_training",
                   "HostCopies", "SIMULATED_DEVICE"):
        assert secret not in html


def test_submissions_are_not_modified(graded):
    now = {p.name: p.read_bytes() for p in graded["submissions"].iterdir()}
    assert now == graded["originals"]


def test_summary_names_each_problem(graded):
    assert f"{len(EXPECTED)} submissions: {len(EXPECTED)} graded" in graded["stdout"]
    assert "lost points on: forward_on" in graded["stdout"]
    assert "written answers incomplete: q_same_device, q_empty_cache" in graded["stdout"]


def test_reference_solution_passes_nbgrader_validate(graded):
    course = graded["course"]
    notebook = CourseLayout(course.root).submitted("reference-solution", graded["lab"])
    done = subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(notebook)],
                          cwd=course.root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success! Your notebook passes all the tests." in done.stdout


@pytest.fixture(scope="module")
def require_policy_run(released_course, tmp_path_factory):
    """The reference solution alone, graded with gpu_policy='require' on this CPU-only machine."""
    lab = gpu_basics_lab(released_course)
    work = tmp_path_factory.mktemp("require")
    course_dir = work / "course"
    prepare_demo_course(released_course, course_dir)
    config = course_dir / "grading_config.py"
    config.write_text(config.read_text() + "config = dataclasses.replace(config, "
                      "gpu_policy='require')\n")
    submissions = work / "submissions"
    submissions.mkdir()
    shutil.copy(CourseLayout(released_course.root).solution(lab), submissions / "alice.ipynb")
    done = run_gpukit_grade(course_dir, lab.name, submissions, work / "out", timeout=900)
    return read_rows(work / "out")["alice"], done.stdout


def test_require_policy_flags_gpu_only_checks_for_regrade(require_policy_run):
    row, stdout = require_policy_run
    assert row["needs_gpu_regrade"] == "gpu_memory"
    assert float(row["gpu_memory"]) == 0  # no silent zero: the row says why
    assert float(row["score"]) == sum(FULL.values()) - FULL["gpu_memory"]
    assert "needs a GPU regrade: gpu_memory" in stdout

