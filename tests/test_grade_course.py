"""Grading a whole course: workers, resuming, Ray, pre-flight, canary, environment failures.

The mixed class of lab 2 (tests/mixed_class.py) is graded with one worker, with two workers, through
a local Ray instance, and by a batch killed with SIGKILL halfway and run again: the records, the
CSV and the gradebook must come out the same every time. Then the grader's own faults: a dataset
missing (stopped at pre-flight), an instructor cell failing (status environment, no score), a
hidden check the solution fails (stopped by the canary).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry

from gpukit.course.layout import CourseLayout
from gpukit.notebooks.edits import apply_edits_file
from tests.mixed_class import CLASS, LIMITS, course_copy, grade, state

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab(mixed_class):
    return mixed_class["lab"]


@pytest.fixture(scope="module")
def submissions(mixed_class) -> Path:
    return mixed_class["submissions"]


@pytest.fixture(scope="module")
def one_worker(mixed_class) -> dict:
    return mixed_class


def test_one_worker_grades_the_class_as_expected(one_worker):
    records = one_worker["state"]["records"]
    assert {name: (r["status"], r["score"] if r["checks"] else None)
            for name, r in records.items()} == CLASS
    assert "canary: full marks" in one_worker["stdout"]
    assert "pre-flight: sandbox" in one_worker["stdout"]


def test_two_workers_give_exactly_the_one_worker_results(released_course, lab, submissions,
                                                         one_worker, tmp_path):
    """... also with the gradebook at a database URL of the instructor's choosing (here a
    SQLite file outside the course: no server in CI), which only the writer opens."""
    (tmp_path / "databases").mkdir()
    url = f"sqlite:///{tmp_path / 'databases' / 'course.db'}"
    root = course_copy(released_course, tmp_path / "course", LIMITS +
                       f"config = dataclasses.replace(config, gradebook_url={url!r})\n")
    grade(root, lab.name, submissions, tmp_path / "out", "--workers", "2")
    assert state(root, tmp_path / "out", lab) == one_worker["state"]
    assert (tmp_path / "databases" / "course.db").is_file()
    assert not (root / "gradebook.db").exists()


def test_a_batch_killed_halfway_resumes_to_the_same_state(released_course, lab, submissions,
                                                          one_worker, tmp_path):
    root = course_copy(released_course, tmp_path / "course")
    output = tmp_path / "out"
    batch = subprocess.Popen([sys.executable, "-m", "gpukit", "grade", str(submissions),
                              "--assignment", lab.name, "--output", str(output),
                              "--no-progress", "--workers", "2"], cwd=root,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    graded = output / "records"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and batch.poll() is None:
        if len([p for p in graded.glob("*.json")
                if json.loads(p.read_text())["status"] != "invalid"]) >= 2:
            break
        time.sleep(0.2)
    os.killpg(batch.pid, signal.SIGKILL)  # the batch, its workers and their kernels
    batch.wait()
    before = {p.stem: p.read_text() for p in graded.glob("*.json")}
    assert 2 <= len(before) < len(CLASS), "killed halfway"
    done = grade(root, lab.name, submissions, output, "--workers", "2")
    assert state(root, output, lab) == one_worker["state"]
    for student, text in before.items():  # recorded before the kill: not graded again
        if json.loads(text)["status"] != "invalid":
            assert (graded / f"{student}.json").read_text() == text, student
    assert "canary" not in done.stdout  # the canary passed before the kill, for this grader


def test_a_local_ray_instance_gives_the_same_results(released_course, lab, submissions,
                                                     one_worker, tmp_path):
    pytest.importorskip("ray")
    root = course_copy(released_course, tmp_path / "course")
    done = grade(root, lab.name, submissions, tmp_path / "out", "--ray")
    assert "with a local Ray instance" in done.stdout
    assert state(root, tmp_path / "out", lab) == one_worker["state"]


# ------------------------------------------------------------------------- the grader's faults


@pytest.fixture(scope="module")
def fashion_class(released_course, tmp_path_factory) -> tuple:
    """Lab 3's reference and its untouched release, in a course whose data directory lacks
    Fashion-MNIST (what an instructor forgets to copy)."""
    lab = released_course.course.lab("fashion_ann")
    work = tmp_path_factory.mktemp("no-data")
    empty = work / "empty-data"
    empty.mkdir()
    root = course_copy(released_course, work / "course",
                       f"config = dataclasses.replace(config, data_dir={str(empty)!r})\n")
    folder = work / "submissions"
    folder.mkdir()
    shutil.copy(CourseLayout(released_course.root).solution(lab), folder / "reference.ipynb")
    shutil.copy(CourseLayout(released_course.root).release(lab), folder / "untouched.ipynb")
    env = {key: value for key, value in os.environ.items() if key != "GPUKIT_DATA_DIR"}
    return lab, root, folder, work, env


def test_a_missing_dataset_stops_the_batch_at_preflight(fashion_class):
    lab, root, folder, work, env = fashion_class
    done = grade(root, lab.name, folder, work / "stopped", check=False, env=env)
    assert done.returncode == 1
    assert "Pre-flight: the lab fashion_ann needs the dataset fashion-mnist" in done.stderr
    assert "gpukit-data fetch fashion-mnist" in done.stderr
    assert not (work / "stopped" / "records").exists() or \
        not list((work / "stopped" / "records").iterdir())


def test_a_failing_instructor_cell_is_the_environments_fault(fashion_class):
    lab, root, folder, work, env = fashion_class
    output = work / "unchecked"
    done = grade(root, lab.name, folder, output, "--no-preflight", "--no-canary", env=env)
    for student in ("reference", "untouched"):
        record = json.loads((output / "records" / f"{student}.json").read_text())
        assert record["status"] == "environment"
        assert record["checks"] == []  # no score
        assert "the instructor's cell setup" in record["message"]
        assert "DatasetError" in record["message"] and "not your fault" in record["message"]
    rows = (output / "grades.csv").read_text()
    assert "reference,fashion_ann,environment,,," in rows
    assert "2 submissions: 2 environment." in done.stdout
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:  # nothing merged
        with pytest.raises(MissingEntry):
            gb.find_submission(lab.name, "reference")


def test_a_check_the_solution_fails_stops_the_batch_at_the_canary(released_course, lab,
                                                                  submissions, tmp_path):
    """An instructor's master notebook whose solution a check fails (here: a tensor size that
    assumes float32) stops the batch before any student is graded."""
    root = course_copy(released_course, tmp_path / "course")
    master = CourseLayout(root).source(lab)
    broken = apply_edits_file(nbformat.read(str(master), as_version=4),
                              lab.folder / "fixtures" / "megabytes-assumes-float32.edits")
    nbformat.write(broken, str(master))
    done = grade(root, lab.name, submissions, tmp_path / "out", check=False)
    assert done.returncode == 1
    assert "The canary failed" in done.stderr
    assert "tensor_megabytes: " in done.stderr and "a float16 element takes 2 bytes" in done.stderr
    assert not list((tmp_path / "out" / "records").glob("*.json"))
