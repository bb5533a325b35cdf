"""A time limit reached because the grader was busy is never the student's.

Unit level: the machine's CPU pressure rises under CPU-bound programs (gpukit/sandbox/pressure.py);
a job's result stopped by a limit while the machine was overloaded, or lost with its machine,
gives a record of status environment (no score), where the same stop on a quiet machine is the
notebook's timeout.

End to end, through the real CLI: a notebook whose last cell needs about 1.5 s of CPU, graded
under a per-cell limit of 4 s while CPU-bound programs (three per core, each in a session of its
own, as grading kernels are) share the machine, is
stopped at the limit, recognised as stopped by the load, graded again once the programs ended,
and gets full marks; the same notebook graded on a quiet machine is never stopped.
(bench/grading_under_load.py does the same for the whole demo class beside a second batch.)
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time

import nbformat
import pytest

from gpukit.batch.job import JobResult
from gpukit.batch.writer import record_of
from gpukit.course.layout import CourseLayout
from gpukit.sandbox import pressure
from tests.mixed_class import course_copy, grade
from tests.test_autograde_gpu_basics import FULL

needs_pressure = pytest.mark.skipif(pressure.stalled_microseconds() is None,
                                    reason="this Linux kernel reports no CPU pressure")


def _busy(seconds: float) -> None:
    # A session of its own, as every grading kernel has: Linux's autogroup scheduling shares
    # the CPUs between sessions first, so programs sharing one session would load it little.
    os.setsid()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def _hogs(seconds: float) -> list[multiprocessing.Process]:
    """Three CPU-bound programs per core, for ``seconds``."""
    hogs = [multiprocessing.get_context("fork").Process(target=_busy, args=(seconds,),
                                                         daemon=True)
            for _ in range(3 * (os.cpu_count() or 1))]
    for hog in hogs:
        hog.start()
    return hogs


@needs_pressure
def test_the_pressure_of_cpu_bound_programs_is_overload():
    hogs = _hogs(3.0)
    try:
        time.sleep(0.5)
        span = pressure.Span.start()
        time.sleep(2.0)
        assert pressure.overloaded(span.stalled_share())
    finally:
        for hog in hogs:
            hog.join()


def test_a_timeout_on_an_overloaded_machine_is_the_environments(released_course):
    lab = released_course.course.lab("gpu_basics")
    busy = record_of(released_course, lab, JobResult("ada", "timeout", stalled=0.62))
    assert (busy.status, busy.checks, busy.overloaded) == ("environment", [], 0.62)
    assert "overloaded" in busy.message and "not your fault" in busy.message
    assert "notebook_timeout_s" in busy.message
    quiet = record_of(released_course, lab, JobResult("ada", "timeout", stalled=0.03))
    assert (quiet.status, quiet.overloaded) == ("timeout", None)
    unmeasured = record_of(released_course, lab, JobResult("ada", "timeout", stalled=None))
    assert unmeasured.status == "timeout"
    lost = record_of(released_course, lab, JobResult("ada", "lost", "NodeDiedError: node 3"))
    assert lost.status == "environment" and "NodeDiedError: node 3" in lost.message


def _iterations_per_second() -> int:
    count, end = 0, time.perf_counter() + 0.5
    while time.perf_counter() < end:
        for _ in range(10_000):
            count += 1
    return count * 2


@pytest.fixture(scope="module")
def busy_notebook(released_course, tmp_path_factory) -> tuple:
    """Lab 2's solution with a last cell of its own that counts for about 1.5 s of CPU (in the
    grading kernel; 0.8 s here), in a course whose per-cell limit is 4 s."""
    lab = released_course.course.lab("gpu_basics")
    work = tmp_path_factory.mktemp("under-load")
    root = course_copy(released_course, work / "course",
                       "config = dataclasses.replace(config, cell_timeout_s=4, "
                       "notebook_timeout_s=60)\n")
    notebook = nbformat.read(str(CourseLayout(released_course.root).solution(lab)),
                             as_version=4)
    count = int(0.8 * _iterations_per_second())  # about 1.5 s in a grading kernel
    notebook.cells.append(nbformat.v4.new_code_cell(
        f"# a long computation of the student's own\ntotal = 0\nfor i in range({count}):\n"
        "    total += 1"))
    folder = work / "submissions"
    folder.mkdir()
    nbformat.write(notebook, str(folder / "long-last-cell.ipynb"))
    return lab, root, folder, work


@needs_pressure
def test_a_cell_stopped_by_the_load_is_graded_again_when_the_machine_is_quiet(busy_notebook):
    lab, root, folder, work = busy_notebook
    quiet = grade(root, lab.name, folder, work / "quiet", "--workers", "1", "--no-canary")
    assert "grading them again" not in quiet.stdout
    # The load lasts until the first grading of the notebook is recorded, then goes.
    hogs = _hogs(300.0)
    record = work / "loaded" / "records" / "long-last-cell.json"
    batch = subprocess.Popen([sys.executable, "-m", "gpukit", "grade", str(folder),
                              "--assignment", lab.name, "--output", str(work / "loaded"),
                              "--no-progress", "--workers", "1", "--no-canary"], cwd=root,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while not record.is_file() and batch.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        first = json.loads(record.read_text())
    finally:
        for hog in hogs:
            hog.terminate()
    log, _ = batch.communicate(timeout=600)
    assert batch.returncode == 0, log[-3000:]
    assert first["status"] == "environment" and first["overloaded"] > pressure.OVERLOADED, first
    assert "the per-cell limit" in first["message"] and "not your fault" in first["message"]
    assert "reached a time limit while the machine was overloaded" in log
    assert "graded again: long-last-cell: graded" in log
    for output in ("quiet", "loaded"):
        record = json.loads((work / output / "records" / "long-last-cell.json").read_text())
        assert (record["status"], record["score"], record["overloaded"]) == \
            ("graded", sum(FULL.values()), None), output
