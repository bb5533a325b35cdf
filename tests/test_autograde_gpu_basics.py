"""Lab 2 (gpu_basics) end to end, beyond its sample class (tests/test_lab_tiers.py, with the
table in gpukit/labs/gpu_basics/fixtures/expected.py): the course's GPU policy and cell limit.

The GPU-only check (gpu_memory) is skipped with full points on this CPU-only machine, or flagged
for a GPU regrade under gpu_policy='require'.
"""

from __future__ import annotations

import json
import shutil

import nbformat
import pytest

from gpukit.course.layout import CourseLayout
from gpukit.demo.run import prepare_demo_course
from gpukit.labs.gpu_basics.fixtures import expected
from tests.grading import read_rows, reconfigure, run_gpukit_grade

pytestmark = pytest.mark.slow

FULL = expected.FULL


@pytest.fixture(scope="module")
def course_settings_run(released_course, tmp_path_factory):
    """The reference solution graded with gpu_policy='require' and a 5 s cell limit on this
    CPU-only machine, beside two variants with a cell of the student's own that loops until the
    cell limit stops it, or raises."""
    lab = released_course.course.lab("gpu_basics")
    work = tmp_path_factory.mktemp("require")
    course_dir = work / "course"
    prepare_demo_course(released_course, course_dir)
    reconfigure(course_dir, "config = dataclasses.replace(config, "
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
