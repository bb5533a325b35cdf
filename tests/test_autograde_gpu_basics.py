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

import json
import shutil

import nbformat
import pytest

from gpukit.course.layout import CourseLayout
from gpukit.demo.run import prepare_demo_course
from tests.grading import read_rows, run_gpukit_grade
from tests.lab_tier import LabTier, lab_of

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
    "other-spellings": FULL,
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


class TestGpuBasicsSampleClass(LabTier):
    template = "gpu_basics"
    FULL = FULL
    EXPECTED = EXPECTED
    MESSAGES = MESSAGES
    GPU_ONLY = {"gpu_memory"}
    WRITTEN = {"reference-solution": {"q_same_device": "complete", "q_empty_cache": "complete"},
               "empty-written-answers": {"q_same_device": "missing",
                                         "q_empty_cache": "too_short"}}
    FEEDBACK = ("output-left-on-device", "returns the output on `device`")

    def test_summary_names_each_problem(self, graded):
        assert "lost points on: forward_on" in graded["stdout"]
        assert "written answers incomplete: q_same_device, q_empty_cache" in graded["stdout"]
        assert float(graded["rows"]["empty-written-answers"]["manual_points_pending"]) == 4


@pytest.fixture(scope="module")
def course_settings_run(released_course, tmp_path_factory):
    """The reference solution graded with gpu_policy='require' and a 5 s cell limit on this
    CPU-only machine, beside two variants with a cell of the student's own that loops until the
    cell limit stops it, or raises."""
    lab = lab_of(released_course, "gpu_basics")
    work = tmp_path_factory.mktemp("require")
    course_dir = work / "course"
    prepare_demo_course(released_course, course_dir)
    config = course_dir / "grading_config.py"
    config.write_text(config.read_text() + "config = dataclasses.replace(config, "
                      "gpu_policy='require', cell_timeout_s=5)\n")
    submissions = work / "submissions"
    submissions.mkdir()
    solution = CourseLayout(released_course.root).solution(lab)
    shutil.copy(solution, submissions / "alice.ipynb")
    for student, code in (("loops-in-own-cell", "while True:\n    pass"),
                          ("raises-in-own-cell", "raise ValueError('my own experiment')")):
        notebook = nbformat.read(str(solution), as_version=4)
        setup = next(i for i, c in enumerate(notebook.cells) if c.get("id") == "setup")
        notebook.cells.insert(setup + 1, nbformat.v4.new_code_cell(code))
        nbformat.write(notebook, str(submissions / f"{student}.ipynb"))
    done = run_gpukit_grade(course_dir, lab.name, submissions, work / "out", timeout=900)
    records = {p.stem: json.loads(p.read_text()) for p in (work / "out" / "records").iterdir()}
    return read_rows(work / "out"), records, done.stdout


def test_require_policy_flags_gpu_only_checks_for_regrade(course_settings_run):
    rows, _, stdout = course_settings_run
    row = rows["alice"]
    assert row["needs_gpu_regrade"] == "gpu_memory"
    assert float(row["gpu_memory"]) == 0  # no silent zero: the row says why
    assert float(row["score"]) == sum(FULL.values()) - FULL["gpu_memory"]
    assert "needs a GPU regrade: gpu_memory" in stdout


def test_a_cell_stopped_at_the_cell_limit_or_raising_is_recorded(course_settings_run):
    """The own cell costs no points (the checks re-run the answers), but the record and the
    summary say what happened there, and for how long."""
    rows, records, stdout = course_settings_run
    assert records["alice"]["cells"] == []
    for student, event, message in (
            ("loops-in-own-cell", "timeout",
             "stopped at the per-cell time limit (cell_timeout_s = 5)"),
            ("raises-in-own-cell", "error", "raised ValueError: my own experiment")):
        assert rows[student]["status"] == "graded"
        assert rows[student]["score"] == rows["alice"]["score"]
        (cell,) = records[student]["cells"]
        assert (cell["cell"], cell["kind"], cell["event"], cell["message"]) == \
            ("after setup", "own", event, message)
        assert f"cells that did not finish: own cell after setup: {message}" in stdout
    (loop,) = records["loops-in-own-cell"]["cells"]
    assert 5 <= loop["seconds"] < 30
