"""Broken submissions in a batch: each gets its status and a message, the others still grade.

The files in tests/fixtures/faults/ are named for what they exercise; EXPECTED is the status each
must end with. The batch also holds the reference solution, which must keep full marks.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from gpukit.course.layout import CourseLayout
from gpukit.demo.run import prepare_demo_course
from gpukit.notebooks.edits import apply_edits_file
from tests.conftest import FIXTURES
from tests.test_sanitize import strip_metadata

pytestmark = pytest.mark.slow

EXPECTED = {
    "reference-solution": ("graded", "autograded"),
    "reference-metadata-stripped": ("graded", "13 answer cells matched by their marker line"),
    "corrupt-json": ("invalid", "is not a readable Jupyter notebook"),
    "not-utf8": ("invalid", "is not a readable Jupyter notebook"),
    "valid-json-wrong-shape": ("invalid", "is not a readable Jupyter notebook"),
    "infinite-loop-ignoring-sigint": ("timeout", "(limits: 40 s per cell, 90 s per notebook)"),
}


@pytest.fixture(scope="module")
def batch(released_course, mnist_data_dir, tmp_path_factory):
    lab = released_course.course.assignments[0]
    work = tmp_path_factory.mktemp("faults")
    course = prepare_demo_course(released_course, work / "course")
    config = course.root / "grading_config.py"
    config.write_text(config.read_text() + "config = dataclasses.replace(config, "
                      "cell_timeout_s=40, notebook_timeout_s=90)\n")
    submissions = work / "submissions"
    submissions.mkdir()
    solution_path = CourseLayout(released_course.root).solution(lab)
    shutil.copy(solution_path, submissions / "reference-solution.ipynb")
    solution = nbformat.read(str(solution_path), as_version=4)
    # As saved by an editor that drops nbgrader's metadata (Colab, VS Code): nbformat 4.4.
    nbformat.write(strip_metadata(solution), str(submissions / "reference-metadata-stripped"
                                                                ".ipynb"))
    for path in sorted((FIXTURES / "faults").iterdir()):
        if path.suffix == ".ipynb":
            shutil.copy(path, submissions / path.name)
        elif path.suffix == ".edits":
            nbformat.write(apply_edits_file(solution, path), str(submissions / f"{path.stem}"
                                                                               ".ipynb"))
    assert {p.stem for p in submissions.iterdir()} == set(EXPECTED)
    originals = {p.name: p.read_bytes() for p in submissions.iterdir()}
    done = subprocess.run(
        [sys.executable, "-m", "gpukit", "grade", str(submissions), "--output",
         str(work / "out"), "--no-progress"], cwd=course.root, capture_output=True, text=True,
        timeout=900, env={**os.environ, "GPUKIT_DATA_DIR": str(mnist_data_dir)})
    assert done.returncode == 0, done.stdout + done.stderr
    with (work / "out" / "grades.csv").open() as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return {"rows": rows, "out": work / "out", "course": course.root,
            "submissions": submissions, "originals": originals}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_every_submission_gets_its_status_and_a_message(batch, student):
    status, message = EXPECTED[student]
    row = batch["rows"][student]
    assert row["status"] == status
    assert message in row["message"]
    record = json.loads((batch["out"] / "records" / f"{student}.json").read_text())
    assert record["status"] == status


@pytest.mark.parametrize("student", ["reference-solution", "reference-metadata-stripped"])
def test_correct_submissions_in_a_broken_batch_keep_full_marks(batch, student):
    assert float(batch["rows"][student]["score"]) == 22


def test_no_kernel_outlives_its_timeout(batch):
    course = str(batch["course"])
    survivors = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.readlink(proc / "cwd").startswith(course):
                survivors.append((proc / "cmdline").read_bytes().replace(b"\0", b" "))
        except OSError:  # exited meanwhile, or not ours to read
            continue
    assert survivors == []


def test_submitted_files_are_left_untouched(batch):
    now = {p.name: p.read_bytes() for p in batch["submissions"].iterdir()}
    assert now == batch["originals"]
