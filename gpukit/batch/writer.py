"""The one writer: what a grading job found goes into the course as each result arrives.

Jobs (gpukit/batch/job.py) grade in scratch courses and may finish in any order, on this machine
or another; only this writer opens the course's gradebook. For each result it:

1. builds the submission's record (status, every check's outcome, cells that did not finish);
2. merges the scores into the course's gradebook by names, as nbgrader's SaveAutoGrades would:
   automatic scores and comments are replaced, manual scores (the instructor's) are kept, and a
   review hold from the scan is applied again (gpukit.pipeline.review.hold_for_review); a
   submission failed by the grading environment is not merged at all;
3. puts the submitted and the autograded notebook where nbgrader and formgrader keep them,
   and, once nbgrader made it in the course (feedback.py), the feedback page into the output
   folder;
4. writes the record, then the CSV of every record so far (each file written whole and renamed
   into place), so a batch stopped at any moment leaves complete files, and a rerun skips what
   is recorded (the record holds the submission's fingerprint).
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from gpukit.batch.gradebook import CellGrade, SubmissionGrades, register_ungradable
from gpukit.batch.job import JobResult
from gpukit.batch.nbgrader_job import last_exception
from gpukit.batch.records import (
    SubmissionRecord,
    build_record,
    environment_failure,
    overloaded_stop,
)
from gpukit.config import Lab, LoadedConfig
from gpukit.course.layout import CourseLayout
from gpukit.grading.outcome import TAMPERING_OUTCOME
from gpukit.pipeline.metadata import NOTEBOOK_METADATA
from gpukit.pipeline.review import hold_for_review
from gpukit.sandbox.kernel import NOTE_MARKER, PEAK_MARKER, STOP_MARKER
from gpukit.sandbox.pressure import overloaded
from gpukit.untrusted import SpreadsheetWriter


class CourseWriter:
    """Writes results into the course (gradebook, autograded/, feedback/) and ``output``."""

    def __init__(self, loaded: LoadedConfig, lab: Lab, output: Path):
        self.loaded, self.lab, self.output = loaded, lab, output
        self.layout = CourseLayout(loaded.root)
        self.records: dict[str, SubmissionRecord] = {}
        for folder in ("records", "feedback"):
            (output / folder).mkdir(parents=True, exist_ok=True)

    def keep(self, record: SubmissionRecord) -> None:
        """A record from an earlier run, kept as it is (its submission did not change)."""
        self.records[record.student] = record
        self._write_csv()

    def invalid(self, student: str, problem: str, fingerprint: str = "") -> SubmissionRecord:
        """A submission nothing could be graded of: registered as nbgrader would, recorded."""
        register_ungradable(self.loaded.gradebook_url, self.lab, student)
        return self._finish(SubmissionRecord(student, self.lab.name, "invalid", problem,
                                             fingerprint=fingerprint))

    def graded(self, result: JobResult, note: str, fingerprint: str,
               submitted: bytes) -> SubmissionRecord:
        """The record of a job's result, after its scores went into the course (``submitted``:
        the notebook as handed in, kept in the course's submitted/ as nbgrader keeps it)."""
        _write_whole(self.layout.submitted(result.student, self.lab), submitted)
        record, findings = _read_result(self.loaded, self.lab, result, note)
        record.fingerprint = fingerprint
        record.grading_seconds, record.notebook_seconds = result.seconds, result.cell_seconds
        record.phases, record.node = result.phases, result.node
        if record.status in ("graded", "integrity"):
            self._merge(result, findings)
            self._keep_files(result)
        return self._finish(record)

    # ------------------------------------------------------------------------- the course

    def _merge(self, result: JobResult, findings: list[str]) -> None:
        """The job's scores into the course's gradebook, as nbgrader's SaveAutoGrades and the
        kit's HoldForReview would write them there."""
        notebook = Path(self.lab.notebook).stem
        rows = {row.name: row for row in result.grades}
        with warnings.catch_warnings(), \
                Gradebook(self.loaded.gradebook_url) as gb:
            warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notes on nbgrader's code
            gb.update_or_create_student(result.student)
            gb.update_or_create_submission(self.lab.name, result.student)
            nb = gb.find_submission_notebook(notebook, self.lab.name, result.student)
            for grade in nb.grades:
                row = rows.get(grade.name)
                if row is None:
                    continue
                grade.auto_score = row.auto_score
                # nbgrader's rule: an instructor's manual score, or no automatic one, needs a look
                grade.needs_manual_grade = grade.manual_score is not None or \
                    grade.auto_score is None
            for comment in nb.comments:
                comment.auto_comment = result.comments.get(comment.name)
            gb.db.commit()
            if findings:
                hold_for_review(gb, self.lab.name, notebook, result.student, findings)

    def _keep_files(self, result: JobResult) -> None:
        student = result.student
        autograded = self.layout.autograded(student, self.lab)
        for name, data in result.files.items():
            target = (autograded.parent / name).resolve()
            if target.is_relative_to(autograded.parent.resolve()):  # no '..' out of the folder
                _write_whole(target, data)
        if result.autograded is not None:
            _write_whole(autograded, result.autograded)

    def feedback_page(self, student: str, problem: str) -> None:
        """The feedback page nbgrader made in the course (feedback.py) into the output folder;
        or, when there is none, why, in the student's record (the grader's fault: the score
        stands)."""
        page = self.layout.feedback(student, self.lab)
        if not problem and page.is_file():
            _write_whole(self.output / "feedback" / f"{student}.html", page.read_bytes())
            return
        record = self.records[student]
        note = (f"no feedback page (the grader's fault, not yours: "
                f"{problem or 'nbgrader wrote no feedback page'}); the score stands")
        record.message = f"{record.message}; {note}" if record.message else note
        self._finish(record)

    # ------------------------------------------------------------------------- the outputs

    def _finish(self, record: SubmissionRecord) -> SubmissionRecord:
        record = record.cleaned()
        _write_whole(self.output / "records" / f"{record.student}.json",
                     record.to_json().encode())
        self.records[record.student] = record
        self._write_csv()
        return record

    def _write_csv(self) -> None:
        records = [self.records[name] for name in sorted(self.records)]
        # Every graded record lists the same checks, in the notebook's order (from the
        # gradebook).
        checks = next(([c.check for c in r.checks] for r in records if r.checks), [])
        text = io.StringIO(newline="")
        writer = SpreadsheetWriter(text)
        writer.writerow(["student", "assignment", "status", "score", "max_score",
                         "manual_points_pending", "needs_gpu_regrade", *checks, "message"])
        for r in records:
            by_check = {c.check: f"{c.points:g}" for c in r.checks}
            scored = bool(r.checks)
            writer.writerow([r.student, r.assignment, r.status,
                             f"{r.score:g}" if scored else "",
                             f"{r.max_score:g}" if scored else "",
                             f"{r.manual_max:g}" if scored else "",
                             " ".join(r.needs_gpu_regrade),
                             *(by_check.get(c, "") for c in checks), r.message])
        _write_whole(self.output / "grades.csv", text.getvalue().encode())


def record_of(loaded: LoadedConfig, lab: Lab, result: JobResult, note: str = ""
              ) -> SubmissionRecord:
    """The record of a job's result: its status, every check's outcome, why."""
    return _read_result(loaded, lab, result, note)[0]


def _read_result(loaded: LoadedConfig, lab: Lab, result: JobResult, note: str
                 ) -> tuple[SubmissionRecord, list[str]]:
    """The record of a job's result, and the scan's findings in its autograded notebook (read
    once: the writer holds the submission for review by them)."""
    student, limits = result.student, loaded.course
    if result.outcome == "timeout" and overloaded(result.stalled):
        return overloaded_record(student, lab, "the whole-notebook limit "
                                 f"(notebook_timeout_s = {limits.notebook_timeout_s})",
                                 result.stalled), []
    if result.outcome == "lost":
        return SubmissionRecord(
            student, lab.name, "environment",
            f"The machine grading your notebook was lost before it finished ({result.log}). "
            "This is not your fault, and your submission will be graded again."), []
    if result.outcome == "timeout":
        return SubmissionRecord(
            student, lab.name, "timeout",
            "Grading stopped: a cell ran too long or never ended (limits: "
            f"{limits.cell_timeout_s} s per cell, {limits.notebook_timeout_s} s per "
            "notebook). Restart and run all cells before submitting, and check your "
            "loops."), []
    if result.outcome != "graded" or result.autograded is None:
        status, message = failure_of(result.log)
        return SubmissionRecord(student, lab.name, status, message), []
    notebook = nbformat.reads(result.autograded.decode(), as_version=4)
    stopped = overloaded_stop(notebook)
    if stopped is not None:
        cell, share = stopped
        return overloaded_record(student, lab, f"the per-cell limit in cell {cell} "
                                 f"(cell_timeout_s = {limits.cell_timeout_s})", share), []
    broken = environment_failure(notebook)
    if broken is not None:
        return SubmissionRecord(
            student, lab.name, "environment",
            f"The grading environment failed in the instructor's cell {broken.cell} "
            f"({broken.message}) before any of your code ran: this is not your fault, and "
            "your submission will be graded again.", cells=[broken]), []
    record = build_record(student, lab.name, _grades(result), notebook,
                          limits.written_min_words)
    record.kernel_peak = kernel_peak(result.log)
    steps = notebook.metadata.get(NOTEBOOK_METADATA, {})
    findings = steps.get("scan", [])
    notes = [n for n in (note, steps.get("rebuild", "")) if n]
    integrity = [c for c in record.checks if c.status == "integrity"]
    # The in-kernel baseline's findings (the notebook changed the grader), and the checks'
    # own (a model that computes something else on the test images than anywhere else, or
    # that trained on them).
    changed = [c.check for c in integrity if c.message.startswith(TAMPERING_OUTCOME)]
    suspect = [c.check for c in integrity if not c.message.startswith(TAMPERING_OUTCOME)]
    if integrity or findings:
        record.status = "integrity"
        reasons = []
        if changed:
            reasons.append("checks not graded because the notebook changed the grader: "
                           + ", ".join(changed))
        if suspect:
            reasons.append("checks marked for review, the model recognises or learnt from "
                           "the data it is graded with: " + ", ".join(suspect))
        if findings:
            reasons.append("code that tampers with the grader: " + "; ".join(findings)
                           + "; every check scores 0 until an instructor reviews it")
        record.message = "; ".join(reasons)
    elif notes:
        record.message = f"autograded; {'; '.join(notes)}"
    return record, findings


def overloaded_record(student: str, lab: Lab, limit: str, share: float) -> SubmissionRecord:
    """A submission stopped by a time limit while the grading machine was overloaded: the
    grader's fault; no score, graded again (at the end of this batch, on a quiet machine, and
    on every run until it is)."""
    return SubmissionRecord(
        student, lab.name, "environment",
        f"The grading machine was overloaded while your notebook ran: it reached {limit} while "
        f"the machine's CPUs were busy with other work {share:.0%} of the time. This is not "
        "your fault, and your submission will be graded again on a quiet machine.",
        overloaded=share)


def _grades(result: JobResult) -> SubmissionGrades:
    return SubmissionGrades(result.student, {
        row.name: CellGrade(row.name, (row.manual_score if row.manual_score is not None
                                       else row.auto_score)
                            if row.auto_score is not None else None,
                            row.max_score, row.written)
        for row in result.grades})


def _write_whole(path: Path, data: bytes) -> None:
    """Write a file whole: a temporary file beside it, renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def kernel_peak(log: str) -> str:
    """The sandbox supervisor's report of the kernel's peak memory and processes, if any."""
    return next((line.split(PEAK_MARKER, 1)[1].strip() for line in log.splitlines()
                 if PEAK_MARKER in line), "")


def failure_of(log: str) -> tuple[str, str]:
    """The status and message of an autograde that did not finish, from nbgrader's log: the
    notebook's doing (a limit stopped its kernel, or it killed its kernel) is ``error``; any
    other exception is nbgrader's or the grading environment's, named as it was raised, and the
    submission is ``environment`` (graded again on the next run), never blamed on the student."""
    for line in log.splitlines():
        if STOP_MARKER in line:
            reason = line.split(STOP_MARKER, 1)[1].strip()
            return "error", (f"Grading stopped the notebook: {reason}. Make your code use less "
                             "(smaller batches, fewer copies, no runaway loops), then Restart "
                             "& Run All.")
    if any(sign in log for sign in ("DeadKernelError", "Kernel died", "UnresponsiveKernelError")):
        return "error", ("The notebook's kernel died while it was graded: a cell ended the "
                         "Python process (os._exit, a signal sent to itself) or crashed it. "
                         "Remove that code, then Restart & Run All before submitting.")
    grader_lines = "\n".join(line for line in log.splitlines()
                             if NOTE_MARKER not in line and PEAK_MARKER not in line)
    return "environment", (f"The grader failed, not your notebook: nbgrader could not autograde "
                           f"it ({last_exception(grader_lines)}). This is not your fault, and "
                           "your submission will be graded again.")
