"""``pytest autograder/<assignment> [--notebook PATH]``: the hidden checks on one notebook.

What ``otter run`` is for Otter: the instructor runs the very checks that grade, on any notebook,
with plain pytest. The ``conftest.py`` files ``gpukit release`` writes into ``autograder/`` import
these hooks. For each assignment folder collected:

1. the notebook (``--notebook PATH``; without it, the assignment's solution in ``solutions/``)
   is rebuilt on the release as grading rebuilds it (rebuild.py), and the master's hidden
   test cells are put back, as nbgrader's autograde does;
2. it runs, once, in a ``gpukit-sandbox`` kernel with the course's limits and walls, the data
   directory and this ``autograder/`` (gpukit/pipeline/nbgrader_settings.py gives them);
3. each hidden check's cell shows its outcome (gpukit/grading/runner.py, the one harness); each
   check becomes one pytest item, passed, failed or skipped, and the terminal summary lists them
   with their points.

So ``pytest autograder/`` grades every lab's solution: a canary for the whole course.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from jupyter_client import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils

from gpukit.config import CONFIG_FILE_NAME, LoadedConfig, load_config
from gpukit.course.datasets import check_datasets
from gpukit.course.layout import CourseLayout
from gpukit.errors import GpukitError
from gpukit.grading.autograder import (
    SETTINGS_FILE,
    Autograder,
    FrozenLab,
    test_file_name,
)
from gpukit.grading.outcome import FAILING, MIME_TYPE, CheckOutcome
from gpukit.pipeline.nbgrader_settings import kernel_variables, sandbox_settings, socket_path
from gpukit.pipeline.preprocessors import CHECK_CALL
from gpukit.pipeline.rebuild import rebuild
from gpukit.sandbox import kernelspec
from gpukit.sandbox.settings import VARIABLE as SANDBOX_VARIABLE
from gpukit.untrusted import plain_text

NOTEBOOK_OPTION = "--notebook"
NOT_GRADED = "not graded: the grading environment, not the notebook:"
_RESULTS = pytest.StashKey[list]()
_ASSIGNMENTS = pytest.StashKey[set]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("gpukit").addoption(
        NOTEBOOK_OPTION, metavar="PATH", default=None,
        help="the notebook to grade with autograder/<assignment>'s hidden checks (a student's "
        "submission, a fixture); default: the assignment's solution in solutions/")


def pytest_configure(config: pytest.Config) -> None:
    """A --notebook that is missing or not a notebook stops the run before anything starts."""
    given = config.getoption(NOTEBOOK_OPTION, default=None)
    if not given:
        return
    path = Path(given).expanduser()
    if not path.is_file():
        raise pytest.UsageError(f"{NOTEBOOK_OPTION} {given}: no such file.")
    try:
        nbformat.read(path, as_version=4)
    except Exception as error:  # not JSON, not a notebook: say so, run nothing
        raise pytest.UsageError(f"{NOTEBOOK_OPTION} {given} is not a readable Jupyter notebook "
                                f"({type(error).__name__}: {error}).") from None


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector):
    """An assignment's test file is collected as checks on an executed notebook."""
    folder = module_path.parent
    if module_path.name == test_file_name(folder.name) and (folder / SETTINGS_FILE).is_file():
        return AssignmentChecks.from_parent(parent, path=module_path)
    return None


@dataclass(frozen=True)
class CheckResult:
    lab: FrozenLab
    notebook: Path
    outcome: CheckOutcome
    points: float

    @property
    def earned(self) -> float:
        """As nbgrader scores the cell: a skipped check keeps its points (gpu_policy)."""
        return 0.0 if self.outcome.status in FAILING else self.points


class AssignmentChecks(pytest.File):
    """``test_<assignment>.py`` as pytest sees it here: one item per hidden check."""

    def collect(self):
        autograder = Autograder.load(self.path.parent)
        assignments = self.config.stash.setdefault(_ASSIGNMENTS, set())
        assignments.add(autograder.lab.assignment)
        if self.config.getoption(NOTEBOOK_OPTION) and len(assignments) > 1:
            raise pytest.UsageError(
                f"{NOTEBOOK_OPTION} grades one notebook with one assignment's checks: name its "
                f"folder, e.g. pytest autograder/{autograder.lab.assignment} "
                f"{NOTEBOOK_OPTION} PATH")
        self.autograder = autograder
        self.notebook = self._notebook()
        self._outcomes: dict[str, CheckOutcome] | None = None
        for name, points in autograder.lab.check_points.items():
            yield CheckItem.from_parent(self, name=name, points=points)

    def _notebook(self) -> Path:
        """The notebook to grade: --notebook's (it must be a readable notebook), or the
        solution."""
        given = self.config.getoption(NOTEBOOK_OPTION)
        if given:
            return Path(given).expanduser().resolve()  # checked by pytest_configure
        lab = self.autograder.lab
        solution = self.path.parent.parent.parent / "solutions" / lab.assignment / lab.notebook
        if not solution.is_file():
            raise pytest.UsageError(f"{solution} is missing: run `gpukit release`, or pass "
                                    f"{NOTEBOOK_OPTION} PATH.")
        return solution

    def outcomes(self) -> dict[str, CheckOutcome]:
        """Each check's outcome on the notebook (executed the first time it is asked)."""
        if self._outcomes is None:
            try:
                self._outcomes = grade_notebook(self.autograder, self.notebook)
            except GpukitError as error:  # the grader's environment: nothing ran
                why = f"{NOT_GRADED} {error.message}" + \
                    (f" What to do: {error.hint}" if error.hint else "")
                self._outcomes = {name: CheckOutcome(name, "error", why)
                                  for name in self.autograder.lab.check_points}
        return self._outcomes


class CheckNotPassed(Exception):
    def __init__(self, outcome: CheckOutcome):
        super().__init__(outcome.message)
        self.outcome = outcome


class CheckItem(pytest.Item):
    """One hidden check with its points; its verdict is the outcome the kernel showed."""

    def __init__(self, *, points: float, **kwargs):
        super().__init__(**kwargs)
        self.points = points

    def runtest(self) -> None:
        checks: AssignmentChecks = self.parent
        outcome = checks.outcomes()[self.name]
        self.config.stash.setdefault(_RESULTS, []).append(
            CheckResult(checks.autograder.lab, checks.notebook, outcome, self.points))
        if outcome.status == "passed":
            return
        if outcome.status == "skipped":  # shown at the check, not at this line
            raise pytest.skip.Exception(outcome.message, _use_item_location=True)
        raise CheckNotPassed(outcome)

    def repr_failure(self, excinfo, style=None) -> str:
        if isinstance(excinfo.value, CheckNotPassed):
            outcome = excinfo.value.outcome
            return f"{outcome.status} (0/{self.points:g} points): {outcome.message}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        """The check's test function: where a skip or failure is reported."""
        lines = self.path.read_text().splitlines()
        line = next((number for number, text in enumerate(lines)
                     if text.startswith(f"def test_{self.name}(")), 0)
        return self.path, line, f"{self.name} ({self.points:g} points)"


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    results: list[CheckResult] = config.stash.get(_RESULTS, [])
    by_notebook: dict[tuple[str, Path], list[CheckResult]] = {}
    for result in results:
        by_notebook.setdefault((result.lab.assignment, result.notebook), []).append(result)
    for (assignment, notebook), rows in by_notebook.items():
        terminalreporter.section(f"gpukit: {assignment} on {notebook}")
        width = max(len(row.outcome.check) for row in rows)
        environment = {row.outcome.message for row in rows
                       if row.outcome.message.startswith(NOT_GRADED)}
        for row in rows:
            message = row.outcome.message if row.outcome.status != "passed" else ""
            if message in environment:
                message = "not graded: the grading environment (below)"
            terminalreporter.write_line(
                f"{row.outcome.check:<{width}}  {row.earned:>4g}/{row.points:<4g} "
                f"{row.outcome.status}  {message}".rstrip()[:240])
        lab = rows[0].lab
        terminalreporter.write_line(
            f"{'total':<{width}}  {sum(r.earned for r in rows):>4g}/"
            f"{sum(r.points for r in rows):<4g} automatic points; written answers "
            f"{sum(lab.written_points.values()):g} points, graded by hand")
        for message in sorted(environment):
            terminalreporter.write_line(message)


# ------------------------------------------------------------------------------ the notebook


def grade_notebook(autograder: Autograder, notebook: Path) -> dict[str, CheckOutcome]:
    """Run ``notebook`` as grading runs it; each check's outcome by name."""
    course_root = autograder.folder.parent.parent
    loaded = load_config(course_root / CONFIG_FILE_NAME)
    lab = loaded.course.assignment(autograder.lab.assignment)
    check_datasets(loaded, lab, say=lambda _: None)
    layout = CourseLayout(loaded.root)
    graded = graded_form(nbformat.read(notebook, as_version=4),
                         nbformat.read(layout.release(lab), as_version=4),
                         nbformat.read(layout.source(lab), as_version=4))
    with tempfile.TemporaryDirectory(prefix="gpukit-pytest-") as scratch:
        folder = Path(scratch)
        for path in layout.release(lab).parent.iterdir():  # what the release hands out
            if path.is_file() and path.name != lab.notebook:
                shutil.copy(path, folder / path.name)
        stopped = execute(graded, folder, loaded)
    return outcomes_of(graded, autograder.lab, stopped)


def graded_form(student: NotebookNode, release: NotebookNode,
                master: NotebookNode) -> NotebookNode:
    """The notebook nbgrader would execute: rebuilt on the release, hidden tests put back."""
    notebook = rebuild(student, release).notebook
    tests = {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in master.cells
             if cell.cell_type == "code" and utils.is_grade(cell)
             and not utils.is_solution(cell)}
    for cell in notebook.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in tests:
            cell.source = tests[grade_id]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def execute(notebook: NotebookNode, folder: Path, loaded: LoadedConfig) -> str:
    """Execute in a gpukit-sandbox kernel, in ``folder``, told what nbgrader's grading kernels
    are told (the data, the course's autograder/, the sandbox's limits and walls); why it
    stopped early, or ""."""
    kernelspec.install(loaded.root)
    environment = {**os.environ, **kernel_variables(loaded),
                   SANDBOX_VARIABLE: sandbox_settings(loaded).to_env()}
    manager = KernelManager(kernel_name=kernelspec.KERNEL_NAME, transport="ipc",
                            ip=socket_path())
    client = NotebookClient(notebook, km=manager, timeout=loaded.course.cell_timeout_s,
                            allow_errors=True, resources={"metadata": {"path": str(folder)}})
    try:
        client.execute(env=environment, cwd=str(folder))
    except CellTimeoutError:
        return f"a cell ran past cell_timeout_s = {loaded.course.cell_timeout_s} s"
    except DeadKernelError as error:
        return f"the kernel died ({error})"
    return ""


def outcomes_of(notebook: NotebookNode, lab: FrozenLab, stopped: str) -> dict[str, CheckOutcome]:
    """Each check's outcome as its cell shows it; a cell that failed before its check, or never
    ran, gives a failed or error outcome saying so. Messages are plain text."""
    outcomes = {}
    for cell in notebook.cells:
        call = CHECK_CALL.search(cell.source) if cell.cell_type == "code" else None
        if call is None or call.group(2) not in lab.check_points:
            continue
        name = call.group(2)
        shown = [output.data[MIME_TYPE] for output in cell.get("outputs", [])
                 if MIME_TYPE in output.get("data", {})]
        errors = [output for output in cell.get("outputs", []) if output.output_type == "error"]
        if shown:
            outcomes[name] = CheckOutcome.from_json(copy.deepcopy(shown[-1]))
        elif errors:
            outcomes[name] = CheckOutcome(name, "failed", "the cell failed before the check "
                                          f"ran: {errors[0].ename}: {errors[0].evalue}")
        else:
            outcomes[name] = CheckOutcome(name, "error", "the check did not run: "
                                          f"{stopped or 'its cell was not executed'}")
    for name in lab.check_points:
        outcomes.setdefault(name, CheckOutcome(name, "error", "the notebook has no cell of this "
                                               "check"))
    # A message may quote the student's own exception: to the terminal as a record holds it (no
    # control characters, such as escape sequences that rewrite the instructor's screen).
    return {name: dataclasses.replace(outcome, message=plain_text(outcome.message))
            for name, outcome in outcomes.items()}
