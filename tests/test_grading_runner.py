"""The in-kernel check runner: how each way a check ends becomes an outcome."""

from __future__ import annotations

import gc
import json
import sys

import pytest

from gpukit.grading.outcome import MIME_TYPE, CheckFailed, CheckOutcome
from gpukit.grading.runner import run_check

# A course's own lab (labs/probe/ beside grading_config.py), whose checks say how checks end.
PROBE_LAB = '''
from dataclasses import dataclass

from gpukit.labs.base import LabPoints, LabSettings, assignment_name, check_points, points_of
from gpukit.settings import fraction, setting


@dataclass(frozen=True)
class Points(LabPoints):
    ok: float = check_points(1, help="The answer.")


@dataclass(frozen=True)
class Lab(LabSettings):
    TITLE = "How checks end"

    name: str = assignment_name()
    keras_accuracy_threshold: float = setting(0.97, help="A threshold.", rule=fraction)
    points: Points = points_of(Points)
'''

CHECKS = '''
import pytest

def test_ok(nb):
    assert nb.answer == 42

def test_fails(nb):
    pytest.fail("The answer is wrong.", pytrace=False)

def test_plain_assert(nb):
    assert nb.answer == 41, "The answer must be 41."

def test_missing_name(nb):
    nb.not_defined

def test_crashes(nb):
    raise ValueError("boom")

def test_gpu_only(grader):
    grader.require_gpu("Training on the GPU")

def test_threshold(lab):
    assert lab.keras_accuracy_threshold == 0.91

def test_leaves_cycles(nb):
    import weakref

    import torch

    held = torch.ones(1000)
    cycle = {"tensor": held}
    cycle["self"] = cycle
    nb.set("probe", weakref.ref(held))
    del held
    pytest.fail("A failure whose traceback keeps the check's frames.", pytrace=False)

def test_timed(grader):
    grader.note_time("train_time", 2.5, 2.75)
    pytest.fail("2.5 s is too short.", pytrace=False)
'''


@pytest.fixture
def course(tmp_path, monkeypatch, write_config):
    folder = tmp_path / "labs" / "probe"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text(PROBE_LAB)
    (folder / "checks.py").write_text(CHECKS)
    write_config('course_id="c1", gpu_policy="require", '
                 'assignments=[probe.Lab(keras_accuracy_threshold=0.91)]',
                 preamble="from labs import probe")
    # Each test's course has its own labs/: import it afresh, and forget it afterwards.
    monkeypatch.setattr(sys, "path", list(sys.path))
    for module in [m for m in sys.modules if m == "labs" or m.startswith("labs.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setenv("GPUKIT_COURSE_ROOT", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(("name", "status", "message"), [
    ("ok", "passed", ""),
    ("fails", "failed", "The answer is wrong."),
    ("plain_assert", "failed", "The answer must be 41."),
    ("missing_name", "failed", "Your notebook does not define `not_defined`"),
    ("crashes", "error", "The check could not run on your notebook: ValueError: boom"),
    ("gpu_only", "needs_gpu", "Training on the GPU can only be checked on a GPU grader"),
    ("threshold", "passed", ""),
    ("no_such_check", "error", "The grader has no check named 'no_such_check'"),
])
def test_outcomes(course, name, status, message):
    outcome = run_check("probe", name, {"answer": 42})
    assert outcome.status == status
    assert outcome.message.startswith(message)


def test_prefer_policy_skips_gpu_only_checks(course):
    config = course / "grading_config.py"
    config.write_text(config.read_text().replace('"require"', '"prefer"'))
    outcome = run_check("probe", "gpu_only", {})
    assert outcome.status == "skipped"
    assert "gpu_policy='prefer'" in outcome.message


def test_failure_renders_one_sentence_without_code():
    error = CheckFailed(CheckOutcome("timing", "failed", "Your time is invented."))
    assert error._render_traceback_() == ["[gpukit check timing: FAILED] Your time is invented."]


def test_a_noted_time_travels_with_the_outcome_and_back(course):
    """What a check measured (for the class report) reaches the record through the outcome's
    JSON, whatever the verdict."""
    outcome = run_check("probe", "timed", {})
    assert (outcome.status, outcome.measured) == ("failed", {"train_time": {
        "reported": 2.5, "clock": 2.75}})
    assert CheckOutcome.from_json(json.dumps(outcome.bundle()[MIME_TYPE])) == outcome


def test_what_a_check_leaves_in_cycles_is_freed_before_the_next_cell(course):
    """A check's frames, reports and tensors sit in reference cycles; left to Python's collector
    they were freed during a later cell, under a GPU memory measurement of the student's (a
    correct gpu_basics notebook failed its own self-check on a GPU grader)."""
    namespace: dict = {}
    gc.disable()  # no collection by chance: only the runner's own may free them
    try:
        outcome = run_check("probe", "leaves_cycles", namespace)
        assert outcome.status == "failed"
        assert namespace["probe"]() is None
    finally:
        gc.enable()
