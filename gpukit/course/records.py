"""One record per submission: every check's outcome and message, the written answers' state.

Points come from nbgrader's gradebook (the source of truth). What each check concluded comes from
the autograded notebook: the hidden check's outcome travels in its cell's output (see
gpukit/grading/outcome.py); a visible self-check that failed first leaves its assertion error.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from gpukit.course.grades import SubmissionGrades
from gpukit.grading.outcome import MIME_TYPE, CheckOutcome

INTEGRITY_ERROR = "GpukitIntegrityError"  # the ename VerifyCheckOutcomes gives its errors

STUB = "YOUR ANSWER HERE"
STATUSES = {
    "graded": "autograded; the score is final for the automatic checks",
    "integrity": "autograded, but the notebook tampered with the grader: checks it affected "
                 "score zero, and the submission needs an instructor's review",
    "invalid": "not a gradable notebook (unreadable, missing, or ambiguous); nothing ran",
    "timeout": "stopped at the per-cell or whole-notebook time limit",
    "error": "grading could not finish: the kernel died or hit a memory or process limit",
}


@dataclass(frozen=True)
class CheckRecord:
    check: str
    points: float
    max_points: float
    status: str   # passed / failed / skipped / needs_gpu / error / integrity / not_run
    message: str


@dataclass(frozen=True)
class WrittenRecord:
    question: str
    max_points: float
    state: str    # complete / missing / too_short (points are given by hand)
    words: int


@dataclass
class SubmissionRecord:
    student: str
    assignment: str
    status: str   # graded / integrity / invalid / timeout / error (see STATUSES)
    message: str
    score: float = 0.0
    max_score: float = 0.0
    manual_max: float = 0.0
    checks: list[CheckRecord] = field(default_factory=list)
    written: list[WrittenRecord] = field(default_factory=list)
    kernel_peak: str = ""  # the grading kernel's peak memory and processes (sandbox supervisor)

    @property
    def needs_gpu_regrade(self) -> list[str]:
        return [c.check for c in self.checks if c.status == "needs_gpu"]

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "needs_gpu_regrade": self.needs_gpu_regrade},
                          indent=2)


def build_record(student: str, assignment: str, grades: SubmissionGrades,
                 autograded: Path, min_words: int) -> SubmissionRecord:
    """The record of a submission that autograded."""
    cells = _cells_by_grade_id(nbformat.read(str(autograded), as_version=4))
    record = SubmissionRecord(student, assignment, "graded", "autograded",
                              grades.auto_score, grades.auto_max, grades.manual_max)
    for grade_id, grade in grades.cells.items():
        cell = cells.get(grade_id)
        if grade.written:
            record.written.append(_written(grade_id, grade.max_score, cell, min_words))
        else:
            status, message = _check_outcome(cell)
            record.checks.append(CheckRecord(grade_id, grade.auto_score or 0.0, grade.max_score,
                                             status, message))
    return record


def _cells_by_grade_id(nb: NotebookNode) -> dict[str, NotebookNode]:
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in nb.cells
            if "grade_id" in cell.metadata.get("nbgrader", {})}


def _check_outcome(cell: NotebookNode | None) -> tuple[str, str]:
    if cell is None:
        return "not_run", "the graded cell is missing from the submission"
    for output in cell.get("outputs", []):
        if output.get("ename") == INTEGRITY_ERROR:  # added by VerifyCheckOutcomes
            return "integrity", output.evalue
    for output in cell.get("outputs", []):
        bundle = output.get("data", {})
        if MIME_TYPE in bundle:
            outcome = CheckOutcome.from_json(bundle[MIME_TYPE])
            return outcome.status, outcome.message
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            # The visible self-check failed before the hidden check ran.
            return "failed", f"{output.ename}: {output.evalue}".rstrip(": ")
    return "passed", ""


def _written(question: str, max_points: float, cell: NotebookNode | None,
             min_words: int) -> WrittenRecord:
    text = (cell.source if cell is not None else "").replace(STUB, "").strip()
    words = len(text.split())
    if words == 0:
        state = "missing"
    elif words < min_words:
        state = "too_short"
    else:
        state = "complete"
    return WrittenRecord(question, max_points, state, words)
