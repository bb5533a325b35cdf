"""Grading a whole course: workers, resuming, Ray, pre-flight, canary, environment failures.

One mixed class of lab 2 (the cheapest lab) is graded with one worker, with two workers, through
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
from gpukit.demo.run import prepare_demo_course
from tests.lab_tier import lab_of
from tests.test_autograde_gpu_basics import FULL

pytestmark = pytest.mark.slow

LIMITS = "config = dataclasses.replace(config, cell_timeout_s=5, notebook_timeout_s=30)\n"
# student -> (status, score); the class every runner grades.
CLASS = {
    "reference": ("graded", sum(FULL.values())),
    "output-left-on-device": ("graded", sum(FULL.values()) - FULL["forward_on"]),
    "tampering": ("integrity", 0),
    "loops-ignoring-interrupts": ("timeout", None),
    "not-a-notebook": ("invalid", None),
    "colab-saved": ("graded", sum(FULL.values())),
}
# What differs from run to run by nature: times, memory peaks, and the fingerprint (it holds
# the grader's version, which names the course's own data directory).
VARYING = ("grading_seconds", "notebook_seconds", "kernel_peak", "fingerprint")


def make_class(solution_path: Path, folder: Path) -> Path:
    from tests.test_sanitize import strip_metadata

    folder.mkdir(parents=True)
    solution = nbformat.read(str(solution_path), as_version=4)

    def variant(name: str, edit) -> None:
        notebook = nbformat.read(str(solution_path), as_version=4)
        edit(notebook)
        nbformat.write(notebook, str(folder / f"{name}.ipynb"))

    def cell(notebook, cell_id):
        return next(c for c in notebook.cells if c.get("id") == cell_id)

    shutil.copy(solution_path, folder / "reference.ipynb")
    variant("output-left-on-device", lambda nb: setattr(
        cell(nb, "forward_code"), "source",
        cell(nb, "forward_code").source.replace("return output.cpu()", "return output")))
    variant("tampering", lambda nb: nb.cells.append(
        nbformat.v4.new_code_cell("import gpukit.grading  # the grader's machinery")))
    variant("loops-ignoring-interrupts", lambda nb: nb.cells.insert(2, nbformat.v4.new_code_cell(
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass")))
    (folder / "not-a-notebook.ipynb").write_text("I will send it tomorrow")
    nbformat.write(strip_metadata(solution), str(folder / "colab-saved.ipynb"))
    return folder


def course_copy(released_course, where: Path, extra: str = LIMITS):
    course = prepare_demo_course(released_course, where)
    config = course.root / "grading_config.py"
    config.write_text(config.read_text() + extra)
    return course.root


def grade(course_root: Path, lab: str, submissions: Path, output: Path, *args: str,
          check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "gpukit", "grade", str(submissions),
                           "--assignment", lab, "--output", str(output), "--no-progress", *args],
                          cwd=course_root, capture_output=True, text=True, timeout=1800,
                          env=env or dict(os.environ))
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def state(course_root: Path, output: Path, lab) -> dict:
    """Everything a batch leaves that must not depend on how it ran."""
    records = {}
    for path in sorted((output / "records").glob("*.json")):
        record = json.loads(path.read_text())
        for key in VARYING:
            record.pop(key, None)
        records[path.stem] = record
    csv_lines = (output / "grades.csv").read_text().splitlines()
    gradebook = {}
    notebook = Path(CourseLayout(course_root).release(lab).name).stem
    with Gradebook(f"sqlite:///{course_root / 'gradebook.db'}") as gb:
        for student in CLASS:
            try:
                nb = gb.find_submission_notebook(notebook, lab.name, student)
            except MissingEntry:
                gradebook[student] = None
                continue
            gradebook[student] = ({g.name: (g.auto_score, g.manual_score, g.needs_manual_grade)
                                   for g in nb.grades}, nb.flagged,
                                  {c.name: c.auto_comment for c in nb.comments})
    return {"records": records, "csv": csv_lines, "gradebook": gradebook}


@pytest.fixture(scope="module")
def lab(released_course):
    return lab_of(released_course, "gpu_basics")


@pytest.fixture(scope="module")
def submissions(released_course, lab, tmp_path_factory) -> Path:
    solution = CourseLayout(released_course.root).solution(lab)
    return make_class(solution, tmp_path_factory.mktemp("class") / "submissions")


@pytest.fixture(scope="module")
def one_worker(released_course, lab, submissions, tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("one")
    root = course_copy(released_course, work / "course")
    done = grade(root, lab.name, submissions, work / "out", "--workers", "1")
    return {"state": state(root, work / "out", lab), "stdout": done.stdout}


def test_one_worker_grades_the_class_as_expected(one_worker):
    records = one_worker["state"]["records"]
    assert {name: (r["status"], r["score"] if r["checks"] else None)
            for name, r in records.items()} == CLASS
    assert "canary: full marks" in one_worker["stdout"]
    assert "pre-flight: sandbox" in one_worker["stdout"]


def test_two_workers_give_exactly_the_one_worker_results(released_course, lab, submissions,
                                                         one_worker, tmp_path):
    root = course_copy(released_course, tmp_path / "course")
    grade(root, lab.name, submissions, tmp_path / "out", "--workers", "2")
    assert state(root, tmp_path / "out", lab) == one_worker["state"]


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
    lab = lab_of(released_course, "fashion_ann")
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
    assert "Pre-flight: the lab lab3_fashion_ann needs the dataset fashion-mnist" in done.stderr
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
    assert "reference,lab3_fashion_ann,environment,,," in rows
    assert "2 submissions: 2 environment." in done.stdout
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:  # nothing merged
        with pytest.raises(MissingEntry):
            gb.find_submission(lab.name, "reference")


def test_a_check_the_solution_fails_stops_the_batch_at_the_canary(released_course, lab,
                                                                  submissions, tmp_path):
    root = course_copy(released_course, tmp_path / "course")
    checks = root / "autograder" / "gpu_basics" / "test_gpu_basics.py"
    checks.write_text(checks.read_text().replace(
        "def test_tensor_megabytes(nb):",
        "def test_tensor_megabytes(nb):\n    fail('a check broken by its instructor')\n\n\n"
        "def _unused(nb):"))
    done = grade(root, lab.name, submissions, tmp_path / "out", check=False)
    assert done.returncode == 1
    assert "The canary failed" in done.stderr
    assert "tensor_megabytes: a check broken by its instructor" in done.stderr
    assert not list((tmp_path / "out" / "records").glob("*.json"))
