"""The fixtures of the hidden checks and the rules by which a check's end becomes an outcome.

One harness for every way a check runs: in the grading kernel under pytest (runner.py, which
``pytest autograder/`` also reads the outcomes of) and called directly, without pytest, on a GPU
machine that has only PyTorch (scripts/gpu-acceptance, :func:`call_check`). The fixtures a check
asks for by name: ``nb`` (:class:`Notebook`), ``grader`` (:class:`Grader`) and ``lab`` (the
lab's frozen settings, autograder.py). Nothing here imports pytest.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gpukit.grading.autograder import FrozenLab
from gpukit.grading.basics import CheckFailure, IntegrityFinding
from gpukit.grading.outcome import CheckOutcome
from gpukit_student.clock import CellClock


class NeedsGpu(Exception):
    """Raised by a check that cannot be graded on this machine under gpu_policy='require'."""


class CheckSkipped(Exception):
    """Raised by a check that is not graded on this machine (a GPU-only check without a GPU
    under gpu_policy 'prefer' or 'ignore'): the cell keeps its points."""


@dataclass
class Grader:
    """What a check knows about the grading machine and course (the ``grader`` fixture)."""

    lab: FrozenLab
    gpu_available: bool
    clock: CellClock | None
    measured: dict[str, dict[str, float]] = field(default_factory=dict)

    def note_time(self, name: str, reported: float, clock_seconds: float) -> None:
        """Keep a reported time beside the grader's clock for its cell (the class report plots
        them); the verdict is the check's."""
        self.measured[name] = {"reported": float(reported), "clock": float(clock_seconds)}

    @property
    def gpu_policy(self) -> str:
        return self.lab.gpu_policy

    def require_gpu(self, what: str) -> None:
        """Stop a GPU-only check on a CPU grader, as gpu_policy says (gpukit/labs/README.md)."""
        if self.gpu_available:
            return
        if self.gpu_policy == "require":
            raise NeedsGpu(f"{what} can only be checked on a GPU grader; this submission is "
                           "flagged for regrading on one.")
        raise CheckSkipped(f"{what} is not checked without a GPU "
                           f"(gpu_policy={self.gpu_policy!r}).")


class Notebook:
    """The student's notebook namespace, with a clear failure for a name that is not defined."""

    def __init__(self, namespace: dict[str, Any]):
        self._namespace = namespace

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._namespace[name]
        except KeyError:
            raise CheckFailure(f"Your notebook does not define `{name}`: run every cell, and "
                               "keep the names the instructions give.") from None

    def set(self, name: str, value: Any) -> None:
        self._namespace[name] = value


def fixtures(namespace: dict[str, Any], grader: Grader) -> dict[str, Any]:
    """The fixtures a check may ask for, by name."""
    return {"nb": Notebook(namespace), "grader": grader, "lab": grader.lab}


def passed(name: str, grader: Grader) -> CheckOutcome:
    return CheckOutcome(name, "passed", "", grader.gpu_available, dict(grader.measured))


def outcome_of(name: str, error: BaseException, grader: Grader) -> CheckOutcome:
    """How a check that raised ``error`` ends: skipped, needs a GPU, integrity, failed (its
    sentence for the student) or error (the check could not run)."""
    gpu = grader.gpu_available
    kind = _pytest_outcome(error)
    if isinstance(error, CheckSkipped) or kind == "Skipped":
        status, message = "skipped", str(error)
    elif isinstance(error, NeedsGpu):
        status, message = "needs_gpu", str(error)
    elif isinstance(error, IntegrityFinding):
        status, message = "integrity", str(error)
    elif isinstance(error, CheckFailure) or kind == "Failed":
        status, message = "failed", str(error)
    elif isinstance(error, AssertionError):  # a plain assert: its message, not its expression
        status, message = "failed", str(error).split("\n")[0]
    else:
        status, message = "error", ("The check could not run on your notebook: "
                                    f"{type(error).__name__}: {error}")
    return CheckOutcome(name, status, message, gpu, dict(grader.measured))


def call_check(check: Callable[..., Any], name: str, namespace: dict[str, Any],
               grader: Grader) -> CheckOutcome:
    """Call the test function ``check`` with the fixtures it names, without pytest."""
    given = fixtures(namespace, grader)
    try:
        check(**{parameter: given[parameter]
                 for parameter in inspect.signature(check).parameters})
    except BaseException as error:  # every way a check ends is an outcome (pytest's are not
        if isinstance(error, (KeyboardInterrupt, SystemExit)):  # Exceptions)
            raise
        return outcome_of(name, error, grader)
    return passed(name, grader)


def _pytest_outcome(error: BaseException) -> str | None:
    """pytest.skip() and pytest.fail() in a check (a course's own may use them): their kind."""
    for kind in type(error).__mro__:
        if kind.__module__ == "_pytest.outcomes" and kind.__name__ == "OutcomeException":
            return type(error).__name__  # Skipped, Failed (pytest names them so)
    return None
