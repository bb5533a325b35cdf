"""One record per submission: every check's outcome and message, the written answers' state.

Points come from nbgrader's gradebook (the source of truth). What each check concluded comes from
the autograded notebook: the hidden check's outcome travels in its cell's output (see
gpukit/grading/outcome.py); a visible self-check that failed first leaves its assertion error.
Every other code cell that did not finish normally (stopped at the per-cell time limit,
interrupted, or raising) is recorded too, with how long it ran (LimitedExecute notes it in the
cell's metadata): it costs no points by itself, but the student and the instructor should know.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field

from nbformat.notebooknode import NotebookNode

from gpukit.batch.gradebook import SubmissionGrades
from gpukit.grading.outcome import MIME_TYPE, CheckOutcome
from gpukit.pipeline.metadata import CELL_METADATA, INTEGRITY_ERROR
from gpukit.sandbox.pressure import overloaded
from gpukit.untrusted import plain_text

STUB = "YOUR ANSWER HERE"
STATUSES = {
    "graded": "autograded; the score is final for the automatic checks",
    "integrity": "autograded, but the notebook tampered with the grader: checks it affected "
                 "score zero, and the submission needs an instructor's review",
    "invalid": "not a gradable notebook (unreadable, missing, or ambiguous); nothing ran",
    "timeout": "stopped at the per-cell or whole-notebook time limit",
    "error": "grading could not finish: the kernel died or hit a memory or process limit",
    "environment": "the grading environment failed (a cell the instructor wrote raised before "
                   "any of the student's code ran, a time limit was reached while the grading "
                   "machine was overloaded, or the machine grading it was lost): no score, to "
                   "be graded again",
}


@dataclass(frozen=True)
class CheckRecord:
    check: str
    points: float
    max_points: float
    status: str   # passed / failed / skipped / needs_gpu / error / integrity / not_run
    message: str
    # Reported times beside the grader's clock: {name: {"reported": s, "clock": s}}
    measured: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class WrittenRecord:
    question: str
    max_points: float
    state: str    # complete / missing / too_short (points are given by hand)
    words: int


@dataclass(frozen=True)
class CellRecord:
    """A code cell that did not finish normally (checks' cells have their CheckRecord)."""

    cell: str     # the answer's id, the given cell's id, or "own cell after <id>"
    kind: str     # answer / given / own
    event: str    # timeout / interrupted / error
    seconds: float | None
    message: str

    def text(self) -> str:
        took = f" after {self.seconds:.1f} s" if self.seconds is not None else ""
        return f"{self.kind} cell {self.cell}: {self.message}{took}"


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
    cells: list[CellRecord] = field(default_factory=list)  # cells that did not finish normally
    fingerprint: str = ""  # the submission's content and the grader's version (resume)
    grading_seconds: float = 0.0   # the whole job: nbgrader, kernel, checks
    notebook_seconds: float = 0.0  # the notebook's own cells, summed
    phases: dict[str, float] = field(default_factory=dict)  # where the job's time went
    node: str = ""  # the machine that graded it (and its Ray node, on a cluster)
    # When a time limit was reached on an overloaded machine (status environment): the share of
    # the stopped span during which some task waited for a CPU (gpukit/sandbox/pressure.py).
    overloaded: float | None = None

    def cleaned(self) -> SubmissionRecord:
        """This record with every text a student can influence made plain (no lone surrogates
        or control characters, bounded: gpukit/untrusted.py), as it is written out."""
        return dataclasses.replace(
            self, message=plain_text(self.message),
            checks=[dataclasses.replace(c, message=plain_text(c.message)) for c in self.checks],
            cells=[dataclasses.replace(c, message=plain_text(c.message)) for c in self.cells])

    @property
    def needs_gpu_regrade(self) -> list[str]:
        return [c.check for c in self.checks if c.status == "needs_gpu"]

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "needs_gpu_regrade": self.needs_gpu_regrade},
                          indent=2)

    @classmethod
    def from_json(cls, text: str) -> SubmissionRecord:
        data = json.loads(text)
        data.pop("needs_gpu_regrade", None)
        return cls(**{**data, "checks": [CheckRecord(**c) for c in data.get("checks", [])],
                      "written": [WrittenRecord(**w) for w in data.get("written", [])],
                      "cells": [CellRecord(**c) for c in data.get("cells", [])]})


def build_record(student: str, assignment: str, grades: SubmissionGrades,
                 notebook: NotebookNode, min_words: int) -> SubmissionRecord:
    """The record of a submission that autograded (``notebook``: the autograded notebook)."""
    cells = _cells_by_grade_id(notebook)
    record = SubmissionRecord(student, assignment, "graded", "autograded",
                              grades.auto_score, grades.auto_max, grades.manual_max,
                              cells=unfinished_cells(notebook))
    for grade_id, grade in grades.cells.items():
        cell = cells.get(grade_id)
        if grade.written:
            record.written.append(_written(grade_id, grade.max_score, cell, min_words))
        else:
            status, message, measured = _check_outcome(cell)
            record.checks.append(CheckRecord(grade_id, grade.auto_score or 0.0, grade.max_score,
                                             status, message, measured))
    return record


def unfinished_cells(nb: NotebookNode) -> list[CellRecord]:
    """The code cells, other than the checks', that were stopped, interrupted or raised."""
    found, previous = [], "the start"
    for cell in nb.cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        label = nbgrader.get("grade_id") or str(cell.get("id", "?"))
        if cell.cell_type != "code" or nbgrader.get("grade"):
            previous = label
            continue
        own = label.startswith("student-extra-")
        kind = "answer" if nbgrader.get("solution") else "own" if own else "given"
        name = f"after {previous}" if own else label
        previous = label if not own else previous
        run = cell.metadata.get(CELL_METADATA, {})
        seconds = run.get("seconds")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if run.get("stopped"):
            found.append(CellRecord(name, kind, "timeout", seconds,
                                    f"stopped at the per-cell time limit ({run['stopped']})"))
        elif errors and errors[0].get("ename") == "KeyboardInterrupt":
            found.append(CellRecord(name, kind, "interrupted", seconds, "interrupted"))
        elif errors:
            error = errors[0]
            text = f"{error.get('ename', '')}: {error.get('evalue', '')}".strip(": ")
            found.append(CellRecord(name, kind, "error", seconds,
                                    f"raised {text.splitlines()[0][:200] if text else 'an error'}"))
    return found


def environment_failure(nb: NotebookNode) -> CellRecord | None:
    """A cell the instructor wrote that failed before any of the student's code ran (the setup
    cell could not load the data, say): the grading environment's fault, never the student's.
    A given cell failing after the student's code ran may be the student's doing; it stays in
    the record's cells."""
    failed = {record.cell: record for record in unfinished_cells(nb) if record.kind == "given"}
    for cell in nb.cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        label = nbgrader.get("grade_id") or str(cell.get("id", ""))
        if cell.cell_type != "code":
            continue
        if nbgrader.get("solution") or label.startswith("student-extra-"):
            return None  # the student's code ran from here on
        if label in failed:
            return failed[label]
    return None


def overloaded_stop(nb: NotebookNode) -> tuple[str, float] | None:
    """The first cell the per-cell limit stopped while the machine was overloaded (its label,
    and the share of the time some task waited for a CPU): the grader's doing, not the
    notebook's (gpukit/sandbox/pressure.py)."""
    for cell in nb.cells:
        run = cell.metadata.get(CELL_METADATA, {})
        if cell.cell_type == "code" and run.get("stopped") and overloaded(run.get("stalled")):
            nbgrader = cell.metadata.get("nbgrader", {})
            return nbgrader.get("grade_id") or str(cell.get("id", "?")), run["stalled"]
    return None


def _cells_by_grade_id(nb: NotebookNode) -> dict[str, NotebookNode]:
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in nb.cells
            if "grade_id" in cell.metadata.get("nbgrader", {})}


def _check_outcome(cell: NotebookNode | None) -> tuple[str, str, dict]:
    if cell is None:
        return "not_run", "the graded cell is missing from the submission", {}
    for output in cell.get("outputs", []):
        if output.get("ename") == INTEGRITY_ERROR:  # added by VerifyCheckOutcomes
            return "integrity", output.evalue, {}
    for output in cell.get("outputs", []):
        bundle = output.get("data", {})
        if MIME_TYPE in bundle:
            outcome = CheckOutcome.from_json(bundle[MIME_TYPE])
            return outcome.status, outcome.message, outcome.measured
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            # The visible self-check failed before the hidden check ran.
            return "failed", f"{output.ename}: {output.evalue}".rstrip(": "), {}
    return "passed", "", {}


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
