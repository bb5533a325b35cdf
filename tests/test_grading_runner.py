"""The in-kernel check runner: how each way a check ends becomes an outcome, reading nothing of
the course but its autograder/ folder."""

from __future__ import annotations

import gc
import importlib.util
import json

import pytest

from gpukit.grading.autograder import AUTOGRADER_VARIABLE, Autograder, FrozenLab
from gpukit.grading.harness import Grader, call_check
from gpukit.grading.outcome import MIME_TYPE, CheckFailed, CheckOutcome
from gpukit.grading.runner import run_check

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

def test_unset_setting(lab):
    lab.epochs

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


def write_autograder(root, gpu_policy="require"):
    """autograder/probe/ as gpukit release writes it: the checks and the frozen settings."""
    folder = root / "autograder" / "probe"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test_probe.py").write_text(CHECKS)
    lab = FrozenLab("probe", "probe", "How checks end", "probe.ipynb", gpu_policy,
                    {"keras_accuracy_threshold": 0.91}, {"ok": 1}, {})
    (folder / "settings.json").write_text(json.dumps(lab.to_json()))


@pytest.fixture
def course(tmp_path, monkeypatch):
    write_autograder(tmp_path)
    monkeypatch.setenv(AUTOGRADER_VARIABLE, str(tmp_path / "autograder"))
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
    ("unset_setting", "error", "The check could not run on your notebook: AttributeError: The "
     "lab 'probe' has no setting 'epochs'"),
])
def test_outcomes(course, name, status, message):
    outcome = run_check("probe", name, {"answer": 42})
    assert outcome.status == status
    assert outcome.message.startswith(message)


def test_prefer_policy_skips_gpu_only_checks(course):
    write_autograder(course, gpu_policy="prefer")
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


def test_a_missing_autograder_is_the_graders_fault(tmp_path, monkeypatch):
    monkeypatch.setenv(AUTOGRADER_VARIABLE, str(tmp_path / "autograder"))
    outcome = run_check("probe", "ok", {"answer": 42})
    assert outcome.status == "error"
    assert outcome.message.startswith("The grader's checks of probe are missing")
    assert "settings.json is missing" in outcome.message


def test_the_kernel_reads_no_course_configuration(course, monkeypatch):
    """A grading_config.py the kernel could find (here, beside the autograder, with another
    threshold) is not read: the frozen settings are what grades."""
    (course / "grading_config.py").write_text("raise SystemExit('read by the kernel')\n")
    monkeypatch.chdir(course)
    assert run_check("probe", "threshold", {}).status == "passed"


@pytest.mark.parametrize("name", ["ok", "fails", "plain_assert", "missing_name", "crashes",
                                  "gpu_only", "threshold", "unset_setting", "timed"])
def test_a_check_called_without_pytest_ends_as_in_the_kernel(course, name):
    """scripts/gpu-acceptance calls checks directly (its GPU machine has no pytest): the same
    fixtures and outcome rules (gpukit/grading/harness.py) give the same outcome."""
    autograder = Autograder.of("probe")
    spec = importlib.util.spec_from_file_location("probe_checks", autograder.test_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    direct = call_check(getattr(module, f"test_{name}"), name, {"answer": 42},
                        Grader(autograder.lab, gpu_available=False, clock=None))
    assert direct == run_check("probe", name, {"answer": 42})
