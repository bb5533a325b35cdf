"""nbgrader preprocessors the kit adds to the stock pipelines (see nbgrader_settings.py).

Every step that decides a submission's grade is one of these, so that `nbgrader autograde`,
formgrader's Autograde button (nbgrader's API) and `gpukit grade` give the same grades, holds and
comments:

* sanitize stage: :class:`RebuildOnRelease` first (answer cells by metadata, then marker line,
  onto the release), nbgrader's own steps, then :class:`ScanForTampering`;
* autograde stage: :class:`LimitedExecute` instead of nbgrader's Execute, nbgrader's steps, and
  before grades are saved :class:`StderrIsNotFailure` and :class:`VerifyCheckOutcomes`; after
  they are saved, :class:`HoldForReview`.

What a step found for later steps and for `gpukit grade`'s records travels in the notebook's
metadata under ``gpukit`` (NOTEBOOK_METADATA), which the autograded notebook keeps.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor
from traitlets import Integer, Unicode

from gpukit.grading.outcome import FAILING, MIME_TYPE, CheckOutcome
from gpukit.pipeline.metadata import CELL_METADATA, INTEGRITY_ERROR, NOTEBOOK_METADATA
from gpukit.pipeline.rebuild import rebuild
from gpukit.pipeline.review import hold_for_review
from gpukit.pipeline.scan import scan_cells, student_code_cells
from gpukit.sandbox import pressure


class RebuildOnRelease(NbGraderPreprocessor):
    """Grade the release notebook with the student's answers in it (gpukit/pipeline/rebuild.py).

    Answer cells are matched by nbgrader metadata, then by the marker line each starts with, so
    a notebook saved by Colab or VS Code (metadata gone) grades like the original, and nbgrader's
    own checks after this step (cell metadata, locked cells) see the instructor's cells. What the
    rebuild did is noted for the records.
    """

    release_directory = Unicode("", help="The course's release/ folder (absolute).").tag(
        config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict
                   ) -> tuple[NotebookNode, ResourcesDict]:
        ids = resources["nbgrader"]
        path = Path(self.release_directory) / ids["assignment"] / f"{ids['notebook']}.ipynb"
        rebuilt = rebuild(nb, nbformat.read(str(path), as_version=4))
        rebuilt.notebook.metadata.setdefault(NOTEBOOK_METADATA, {})["rebuild"] = \
            rebuilt.summary()
        return rebuilt.notebook, resources


class ScanForTampering(NbGraderPreprocessor):
    """Read the student's code for tampering with the grader (gpukit/pipeline/scan.py), before
    anything runs; the findings are noted for :class:`HoldForReview` and the records."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict
                   ) -> tuple[NotebookNode, ResourcesDict]:
        findings = scan_cells(student_code_cells(nb))
        nb.metadata.setdefault(NOTEBOOK_METADATA, {})["scan"] = [f.text() for f in findings]
        return nb, resources


class HoldForReview(NbGraderPreprocessor):
    """A submission whose code the scan flagged scores 0 on every check until an instructor
    reviews it: manual scores of 0 marked "needs manual grade", the notebook flagged, and the
    findings in its first comment (see gpukit.batch.gradebook.hold_for_review). Runs after
    nbgrader saved the automatic scores, which stay in the gradebook."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict
                   ) -> tuple[NotebookNode, ResourcesDict]:
        findings = nb.metadata.get(NOTEBOOK_METADATA, {}).get("scan", [])
        if findings:
            ids = resources["nbgrader"]
            with Gradebook(ids["db_url"]) as gradebook:
                hold_for_review(gradebook, ids["assignment"], ids["notebook"], ids["student"],
                                findings)
        return nb, resources


class StderrIsNotFailure(NbGraderPreprocessor):
    """In autograded test cells, turn stderr output into stdout before grades are saved.

    Stock nbgrader scores a test cell zero when anything reaches stderr, and TensorFlow and
    PyTorch write warnings and log lines there on their own. gpukit's checks fail by raising (an
    "error" output, still zero), so stderr carries no verdict; the text stays visible.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict, index: int
                        ) -> tuple[NotebookNode, ResourcesDict]:
        if cell.cell_type == "code" and utils.is_grade(cell):
            for output in cell.outputs:
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
        return cell, resources


class HideHiddenTests(ClearHiddenTests):
    """Remove hidden test regions again before feedback is rendered.

    Autograding restores the hidden tests into the graded notebook, and stock
    `nbgrader generate_feedback` shows them to the student; the kit's feedback does not.
    """

    enforce_metadata = False  # feedback of a graded notebook: no metadata to police here

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict, index: int
                        ) -> tuple[NotebookNode, ResourcesDict]:
        # Only the instructor's test cells hold hidden tests. A student's own cell or answer
        # may hold the marker text (in a comment, a string, a written answer): it is their
        # text, shown as written, and must neither be cut nor fail the feedback.
        if utils.is_grade(cell) and not utils.is_solution(cell):
            return super().preprocess_cell(cell, resources, index)
        return cell, resources


class LimitedExecute(Execute):
    """nbgrader's Execute, keeping at most ``cell_output_limit_kb`` of output per cell, and
    noting in each code cell's metadata (``gpukit``) how long it ran, whether the per-cell
    time limit stopped it and how busy the machine's CPUs were meanwhile (``stalled``), for the
    records (gpukit/batch/records.py), and in the notebook's where the time went.

    nbclient holds every output message in memory until the notebook is written: a cell that
    prints without end would exhaust the grader before any limit on the notebook fires. Output
    past the limit is dropped as it arrives, and one note says so.
    """

    cell_output_limit_kb = Integer(1024, help="Output kept per cell, in kilobytes."
                                   ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict | None = None,
                   km: Any = None) -> tuple[NotebookNode, ResourcesDict]:
        self._output_bytes: dict[int, int] = {}
        self._cells_began = self._cells_ended = None
        began = time.monotonic()
        try:
            return super().preprocess(nb, resources, km)
        finally:
            nb.metadata.setdefault(NOTEBOOK_METADATA, {})["execution"] = \
                execution_phases(nb, began, self._cells_began, self._cells_ended)

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict, index: int
                        ) -> tuple[NotebookNode, ResourcesDict]:
        if cell.cell_type != "code":
            return super().preprocess_cell(cell, resources, index)
        started = time.monotonic()
        self._cells_began = self._cells_began or started
        self._span = pressure.Span.start()
        try:
            return super().preprocess_cell(cell, resources, index)
        finally:
            self._cells_ended = time.monotonic()
            cell.metadata.setdefault(CELL_METADATA, {})["seconds"] = \
                round(self._cells_ended - started, 3)

    async def _async_handle_timeout(self, timeout: int, cell: NotebookNode | None = None
                                    ) -> None | dict[str, Any]:
        if cell is not None:  # nbgrader interrupts the kernel and goes on with the next cell
            run = cell.metadata.setdefault(CELL_METADATA, {})
            run["stopped"] = f"cell_timeout_s = {timeout}"
            # How busy the machine was meanwhile: a limit reached on an overloaded grader is
            # the grader's, not the student's (gpukit/sandbox/pressure.py).
            share = self._span.stalled_share()
            if share is not None:
                run["stalled"] = round(share, 3)
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None,
               cell_index: int) -> NotebookNode | None:
        size = len(json.dumps(msg.get("content", {}), default=str))
        used = self._output_bytes.get(cell_index, 0)
        self._output_bytes[cell_index] = used + size
        limit = self.cell_output_limit_kb * 1024
        if used + size <= limit:
            return super().output(outs, msg, display_id, cell_index)
        if used <= limit:  # the first output past the limit: say so, once
            note = NotebookNode(output_type="stream", name="stdout",
                                text=f"\n[gpukit: output of this cell past "
                                f"{self.cell_output_limit_kb} KB was dropped]\n")
            outs.append(note)
        return None


# The line a hidden test region holds (see the lab templates): check("<lab>", "<check>", ...).
CHECK_CALL = re.compile(r"""check\(\s*["']([\w-]+)["']\s*,\s*["']([\w-]+)["']""")


def execution_phases(nb: NotebookNode, began: float, cells_began: float | None,
                     cells_ended: float | None) -> dict[str, float]:
    """Where the time of executing a notebook went, in seconds: starting the kernel (until the
    first cell), the notebook's own cells, the hidden checks' cells, and ending the kernel."""
    ended = time.monotonic()
    cells_began, cells_ended = cells_began or ended, cells_ended or ended
    checks = sum(cell.metadata.get(CELL_METADATA, {}).get("seconds", 0.0) for cell in nb.cells
                 if cell.cell_type == "code" and utils.is_grade(cell)
                 and CHECK_CALL.search(cell.source))
    return {"kernel_start": round(cells_began - began, 3),
            "notebook": round(cells_ended - cells_began - checks, 3),
            "hidden_checks": round(checks, 3),
            "kernel_end": round(ended - cells_ended, 3)}


class VerifyCheckOutcomes(NbGraderPreprocessor):
    """Score a hidden check's cell only when the check's own outcome says it passed.

    A graded cell earns its points in nbgrader when it shows no error. A notebook that hides
    errors (a replaced showtraceback, an input transformer that empties the cell, a hook that
    clears its output) would earn them without the check having run. Here every cell holding a
    hidden check must show exactly one outcome, of that check: a failing outcome must come with
    an error, and a cell without an outcome must have failed before the check ran (a visible
    assertion). Anything else gets an error output naming the problem: the cell scores zero,
    and gpukit grade reports the submission as "integrity".
    """

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict, index: int
                        ) -> tuple[NotebookNode, ResourcesDict]:
        if cell.cell_type != "code" or not utils.is_grade(cell):
            return cell, resources
        call = CHECK_CALL.search(cell.source)
        if call is None:
            return cell, resources
        problem = self._problem(cell, call.group(2))
        if problem:
            cell.outputs.append(NotebookNode(
                output_type="error", ename=INTEGRITY_ERROR, evalue=problem,
                traceback=[f"{INTEGRITY_ERROR}: {problem}"]))
        return cell, resources

    @staticmethod
    def _problem(cell: NotebookNode, check: str) -> str | None:
        outcomes = [output.data[MIME_TYPE] for output in cell.outputs
                    if MIME_TYPE in output.get("data", {})]
        errors = [output for output in cell.outputs if output.output_type == "error"]
        if len(outcomes) > 1:
            return f"check {check} showed {len(outcomes)} outcomes; the grader shows one."
        if not outcomes:
            if errors:
                return None  # a visible assertion failed before the hidden check ran
            return (f"check {check} left no outcome although its cell ran without error: "
                    "something in the notebook hid or skipped it.")
        try:
            outcome = CheckOutcome.from_json(outcomes[0])
        except (TypeError, ValueError):
            return f"check {check} shows an outcome the grader did not write."
        if outcome.check != check:
            return f"the cell of check {check} shows the outcome of {outcome.check}."
        if outcome.status in FAILING and not errors:
            return (f"check {check} did not pass, yet its error was not shown: something in "
                    "the notebook hid it.")
        return None
