"""What one hidden check concluded, and how a failure is shown to the student."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

Status = Literal["passed", "failed", "skipped", "needs_gpu", "error", "integrity"]

# The outcome travels in the hidden cell's output under this MIME type, where gpukit grade reads
# it back; the text/plain twin is what a person sees.
MIME_TYPE = "application/vnd.gpukit.check+json"

# How an "integrity" outcome from the in-kernel baseline begins (the notebook changed the
# grader); a check's own integrity findings say something else.
TAMPERING_OUTCOME = "Not graded: your notebook changed the machinery the grader relies on"

# Statuses that score the cell zero (the runner raises); the others keep its points.
FAILING: tuple[Status, ...] = ("failed", "needs_gpu", "error", "integrity")


@dataclass(frozen=True)
class CheckOutcome:
    check: str
    status: Status
    message: str
    gpu_path: bool = False  # True when the check ran its GPU path
    # What the check measured beside the verdict, for the instructor's report: per reported
    # time, {"reported": the student's seconds, "clock": the grader's clock for its cell}.
    measured: dict[str, dict[str, float]] = field(default_factory=dict)

    def text(self) -> str:
        label = {"passed": "passed", "failed": "FAILED", "skipped": "skipped",
                 "needs_gpu": "NEEDS A GPU GRADER", "error": "ERROR",
                 "integrity": "NOT GRADED (INTEGRITY)"}[self.status]
        return f"[gpukit check {self.check}: {label}] {self.message}".rstrip()

    def bundle(self) -> dict:
        return {MIME_TYPE: asdict(self), "text/plain": self.text()}

    @classmethod
    def from_json(cls, data: dict | str) -> CheckOutcome:
        return cls(**(json.loads(data) if isinstance(data, str) else data))


class CheckFailed(Exception):
    """Raised in the hidden cell so nbgrader scores it zero; shows one sentence, no code.

    IPython renders an exception's ``_render_traceback_()`` instead of a traceback, so neither
    the hidden cell's line nor the check's source appears in the student's feedback.
    """

    def __init__(self, outcome: CheckOutcome):
        super().__init__(outcome.text())
        self.outcome = outcome

    def _render_traceback_(self) -> list[str]:
        return [self.outcome.text()]
