"""The harness of the hidden checks: run one (a pytest test) on a notebook's live objects.

A master notebook's hidden test cell is the single line ``check(assignment, name, globals())``.
In the grading kernel, :func:`check` finds the assignment's folder of the course's
``autograder/`` (autograder.py), runs its ``test_<name>`` with pytest in this process (the test
needs the live objects: the student's trained models), and shows the outcome: one sentence for
the student, and a machine-readable copy for gpukit grade. A failing outcome is raised as
:class:`CheckFailed`, so nbgrader scores the cell zero.

:func:`run_test` runs one test under pytest with the integrity scan around it; its fixtures and
the rules by which a test's end becomes an outcome are harness.py's, which
``scripts/gpu-acceptance`` calls without pytest. ``pytest autograder/`` reads the outcomes the
kernel shows.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import warnings
from pathlib import Path
from typing import Any

import pytest

from gpukit.grading import integrity
from gpukit.grading.autograder import Autograder, AutograderMissing, FrozenLab
from gpukit.grading.harness import Grader, Notebook, fixtures, outcome_of, passed
from gpukit.grading.outcome import FAILING, TAMPERING_OUTCOME, CheckFailed, CheckOutcome
from gpukit_student.clock import current_clock

# Plugins a hidden check does not need: fewer plugins, faster start, nothing written to disk.
PYTEST_ARGS = ["-s", "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:junitxml",
               "-p", "no:pastebin", "-p", "no:doctest", "-p", "no:faulthandler",
               "-p", "no:stepwise", "-p", "no:warnings",
               # These two run gc.collect() twice per session: in a kernel holding TensorFlow
               # and PyTorch that alone costs most of a second per check.
               "-p", "no:unraisableexception", "-p", "no:threadexception",
               "--import-mode=importlib",
               # The autograder folder's conftest.py is for plain pytest (it executes notebooks);
               # in the kernel the notebook is this process, and the fixtures are this module's.
               "--noconftest",
               "-o", "addopts=", "-o", "pythonpath=", "-o", "python_files=test_*.py"]


def check(assignment: str, name: str, namespace: dict[str, Any]) -> CheckOutcome:
    """Run hidden check ``name`` of ``assignment`` against the notebook's ``namespace``."""
    outcome = run_check(assignment, name, namespace)
    from IPython.display import display

    display(outcome.bundle(), raw=True)
    if outcome.status in FAILING:
        raise CheckFailed(outcome)
    return outcome


def run_check(assignment: str, name: str, namespace: dict[str, Any]) -> CheckOutcome:
    """Hidden check ``name`` of ``assignment``, from the autograder/ this kernel was given."""
    import torch

    try:
        autograder = Autograder.of(assignment)
    except AutograderMissing as missing:
        return CheckOutcome(name, "error", f"The grader's checks of {assignment} are missing "
                            f"({missing}); tell your instructor.")
    grader = Grader(autograder.lab, torch.cuda.is_available(), current_clock())
    return run_test(autograder.test_file, name, namespace, grader)


def run_test(test_file: Path, name: str, namespace: dict[str, Any],
             grader: Grader) -> CheckOutcome:
    """``test_<name>`` of ``test_file`` on ``namespace``, with the integrity scan around it."""
    tampered = integrity.verify()
    if tampered:
        return _integrity_outcome(name, tampered, grader.gpu_available)
    plugin = _CheckPlugin(name, namespace, grader)
    # A check's own warnings or library log lines must not reach the cell's stderr, which
    # nbgrader would count as a failure.
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()), \
            _environment_variable("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1"), _own_garbage_freed():
        warnings.simplefilter("ignore")
        pytest.main([*PYTEST_ARGS, "--rootdir", str(test_file.parent),
                     f"{test_file}::test_{name}"], plugins=[plugin])
    tampered = integrity.verify()  # the check ran the student's functions: look again
    if tampered:
        return _integrity_outcome(name, tampered, grader.gpu_available)
    return plugin.outcome or CheckOutcome(name, "error", f"The grader has no check named "
                                          f"{name!r}; tell your instructor.")


def _integrity_outcome(name: str, findings: list[str], gpu: bool) -> CheckOutcome:
    shown = "; ".join(findings[:3]) + (f" (and {len(findings) - 3} more)"
                                      if len(findings) > 3 else "")
    return CheckOutcome(name, "integrity", f"{TAMPERING_OUTCOME} ({shown}). Remove that code "
                        "and submit again.", gpu)


@contextlib.contextmanager
def _own_garbage_freed():
    """Free what a check leaves in reference cycles (pytest's reports and tracebacks hold its
    frames, with the grader's models and tensors) before the next cell runs.

    Left to Python's collector, that garbage is freed at some allocation in a later cell of the
    student's: a GPU memory measurement there (gpu_basics' measure_allocation) then saw the
    grader's tensors vanish between two readings of torch.cuda.memory_allocated(), and a correct
    notebook failed its own self-check on a GPU grader. Objects that existed before the check are
    frozen out of the collection, so it costs what the check allocated, not the whole kernel."""
    gc.freeze()
    try:
        yield
    finally:
        gc.collect()
        gc.unfreeze()


@contextlib.contextmanager
def _environment_variable(name: str, value: str):
    """Set an environment variable for the duration of a block (third-party plugins found
    through entry points are not loaded into a check: fewer surprises, faster start)."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            del os.environ[name]
        else:
            os.environ[name] = previous


class _CheckPlugin:
    """Hands the notebook and grader to the test as fixtures and collects its outcome."""

    def __init__(self, name: str, namespace: dict[str, Any], grader: Grader):
        # Private names: pytest scans a plugin's attributes for fixtures ("nb", "grader", "lab").
        self.name = name
        self._namespace = namespace
        self._grader = grader
        self.outcome: CheckOutcome | None = None

    @pytest.fixture
    def nb(self) -> Notebook:
        return fixtures(self._namespace, self._grader)["nb"]

    @pytest.fixture
    def grader(self) -> Grader:
        return self._grader

    @pytest.fixture
    def lab(self) -> FrozenLab:
        return self._grader.lab

    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> None:
        if self.outcome is not None and self.outcome.status != "passed":
            return  # the first failure (setup, call or teardown) is the outcome
        if call.excinfo is None:
            if call.when == "call":
                self.outcome = passed(self.name, self._grader)
            return
        self.outcome = outcome_of(self.name, call.excinfo.value, self._grader)
