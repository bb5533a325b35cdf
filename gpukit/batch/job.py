"""Grading one submission as a self-contained job: the unit that local workers and Ray run.

A job is a function of plain data. In: the notebook's bytes as the student handed it in, and a
*template course* (:func:`prepare_template`: a snapshot of the course's settings, the lab's
source and release, the course's own labs, the assignment's autograder, and a gradebook holding
the assignment and nothing of any student). The job grades in a private scratch copy of the
template (its own gradebook, folders and kernel sockets, so jobs cannot collide), through
nbgrader's own pipeline: autograde in an nbgrader process, through the API formgrader calls
(nbgrader_job.py). Its steps are declared in order in JOB_STEPS. Out: a :class:`JobResult` of
plain data (the gradebook rows, the autograded notebook, nbgrader's log, times). A job never
touches the course: the one writer merges results (writer.py), whatever ran the job and in
whatever order results come back. The feedback page is made beside the grading, in the course,
once the grades are there (feedback.py): not on a job's path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

import gpukit.config as config_module
from gpukit.batch.nbgrader_job import PHASES_NAME, Server
from gpukit.config import CONFIG_FILE_NAME, Lab, LoadedConfig
from gpukit.course import nbgrader_steps
from gpukit.course.layout import COURSE_LABS, CourseLayout, notebook_stem
from gpukit.errors import NbgraderError
from gpukit.pipeline.metadata import CELL_METADATA, NOTEBOOK_METADATA
from gpukit.pipeline.nbgrader_settings import write_shim
from gpukit.release.autograder import AUTOGRADER_DIR
from gpukit.sandbox import pressure
from gpukit.sandbox.settings import NO_WALLS, Walls

# Environment variables that cap a grading kernel's threads (NumPy's BLAS, PyTorch, TensorFlow):
# W kernels on C cores get C // W threads each instead of C each.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")

FILES_LIMIT = 64 * 1024 * 1024  # bytes of a notebook's own files brought back from a job

TEMPLATE_CONFIG = '''\
# A snapshot of the course's settings for grading jobs, written by gpukit grade
# (gpukit/batch/job.py). Do not edit: it is made again for every batch.
{course}'''
# What a job's course holds: files a job copies (it writes them), and folders it links (shared
# by every job): the lab's source (without its master notebook) and release, the course's own
# labs (its settings' classes) and the assignment's autograder. The kernel sees none of them but
# the autograder (gpukit/sandbox).
TEMPLATE_COPIED = (CONFIG_FILE_NAME, "nbgrader_config.py", "gradebook.db")
MASTER_DIGEST = "master.sha256"  # the template's trace of the master notebook it no longer holds
TEMPLATE_LINKED = ("source", "release", COURSE_LABS, AUTOGRADER_DIR)


@dataclass(frozen=True)
class GradingJob:
    student: str
    assignment: str
    content: bytes  # the notebook, byte for byte as handed in


@dataclass(frozen=True)
class GradeRow:
    """One graded cell of the submission, as nbgrader saved it in the job's gradebook."""

    name: str
    auto_score: float | None
    manual_score: float | None
    max_score: float
    written: bool  # a markdown answer, graded by hand


@dataclass
class JobResult:
    student: str
    outcome: str  # graded / timeout / error / lost (the machine grading it was lost)
    log: str = ""
    grades: list[GradeRow] = field(default_factory=list)
    flagged: bool = False
    comments: dict[str, str | None] = field(default_factory=dict)
    autograded: bytes | None = None  # the autograded notebook
    # The other files of the student's autograded folder (what the notebook wrote, the
    # release's files), by name: nbgrader keeps them beside the autograded notebook.
    files: dict[str, bytes] = field(default_factory=dict)
    seconds: float = 0.0             # the job's wall time
    cell_seconds: float = 0.0        # the notebook's own execution time, its cells summed
    phases: dict[str, float] = field(default_factory=dict)  # where the job's time went (PHASES)
    # The share of the autograde during which some task on the machine waited for a CPU
    # (gpukit/sandbox/pressure.py; None where not measured): a timeout on an overloaded
    # machine is the grader's.
    stalled: float | None = None
    node: str = ""                   # where it ran (a host name)


# ------------------------------------------------------------------------------------- template


def prepare_template(loaded: LoadedConfig, lab: Lab, folder: Path) -> Path:
    """The course a job grades in, as a folder: the course's settings (a snapshot with the data
    directory made absolute), the lab's release and the source's other files, the assignment's
    autograder, and a gradebook made by `nbgrader generate_assignment`, so it holds the
    assignment and no student's data.

    The master notebook (every solution) is gone once the gradebook is made: nbgrader's
    autograde needs only the gradebook and the source's other files, and a job holds nothing of
    the instructor's that grading does not need, whatever the kernel's walls (a platform without
    namespaces has none). Its digest stays, for the grader's version."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    # The job's own gradebook, whatever database the course's is in (the writer merges).
    course = dataclasses.replace(loaded.course, data_dir=str(loaded.data_dir),
                                 assignments=[lab], gradebook_url="")
    (folder / CONFIG_FILE_NAME).write_text(TEMPLATE_CONFIG.format(
        course=config_module.python_source(course)))
    write_shim(folder)
    layout = CourseLayout(loaded.root)
    shutil.copytree(layout.source(lab).parent, folder / "source" / lab.name)
    if layout.labs.is_dir():  # the course's own labs (the kit's are in the installed package)
        shutil.copytree(layout.labs, folder / COURSE_LABS,
                        ignore=shutil.ignore_patterns("__pycache__"))
    # The checks that grade, as released (pre-flight saw that they are current); the conftest.py
    # is plain pytest's, which the kernel never loads.
    shutil.copytree(layout.autograder / lab.name, folder / AUTOGRADER_DIR / lab.name,
                    ignore=shutil.ignore_patterns("__pycache__", "conftest.py"))
    nbgrader_steps.generate_assignment(folder, lab.name)
    master = CourseLayout(folder).source(lab)
    (folder / MASTER_DIGEST).write_text(hashlib.sha256(master.read_bytes()).hexdigest())
    master.unlink()
    return folder


def pack_template(folder: Path) -> bytes:
    """The template as a tar archive, for jobs that run on other machines (Ray)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name in (*TEMPLATE_COPIED, *TEMPLATE_LINKED):
            if (folder / name).exists():
                archive.add(folder / name, arcname=name)
    return buffer.getvalue()


def unpack_template(archive: bytes, folder: Path) -> Path:
    """Unpack a packed template into ``folder`` (once: a folder already there is reused)."""
    marker = folder / ".unpacked"
    if not marker.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as archive_file:
            archive_file.extractall(folder, filter="data")
        marker.write_text("")
    return folder


# ------------------------------------------------------------------------------------- the job


@dataclass
class JobRun:
    """What the steps of one job hand each other."""

    job: GradingJob
    template: Path
    scratch: Path
    timeout_s: float
    threads: int
    scratch_parent: Path
    server: Server | None
    walls: Walls
    started: float = field(default_factory=time.monotonic)
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step
    span: pressure.Span | None = None  # the autograde's, for how busy the machine was
    lab: Lab | None = None
    log: str = ""
    result: JobResult | None = None  # set by the step that ends the job

    def ended(self, outcome: str, log: str) -> JobResult:
        return JobResult(self.job.student, outcome, log, seconds=_since(self.started),
                         node=os.uname().nodename)


def run_job(job: GradingJob, template: Path, *, timeout_s: float, threads: int,
            scratch_parent: Path, server: Server | None = None,
            walls: Walls = NO_WALLS) -> JobResult:
    """Grade one submission in a scratch copy of ``template`` made in ``scratch_parent`` (a
    folder of jobs only: kernels see it hidden but for their own); never raises for the
    student's doing: a notebook that outruns ``timeout_s`` or kills its kernel gives that
    outcome. With a ``server`` (a local worker's nbgrader process, started with
    :func:`job_environment`), nbgrader runs there; else in a process of its own."""
    scratch = Path(tempfile.mkdtemp(prefix="gpukit-job-", dir=scratch_parent))
    run = JobRun(job, template, scratch, timeout_s, threads, scratch_parent, server, walls)
    try:
        for step in JOB_STEPS:
            began = time.monotonic()
            step(run)
            run.phases[step.__name__] = _since(began)
            if run.result is not None:
                break
        run.result.seconds = _since(run.started)
        run.result.phases = job_phases(run.phases, run.scratch, run.result)
        return run.result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def make_scratch_course(run: JobRun) -> None:
    """The template's files in the scratch folder: settings and gradebook copied (the job
    writes them), the lab's source and release, the course's own labs and the assignment's
    autograder linked (shared; the kernel sees only the autograder, read-only)."""
    for name in TEMPLATE_COPIED:
        shutil.copy2(run.template / name, run.scratch / name)
    for name in TEMPLATE_LINKED:
        if (run.template / name).exists():
            (run.scratch / name).symlink_to(run.template / name)
    run.lab = config_module.load_config(run.scratch / CONFIG_FILE_NAME).course.assignments[0]


def hand_in(run: JobRun) -> None:
    """The notebook, byte for byte as handed in, where nbgrader looks for it."""
    submitted = CourseLayout(run.scratch).submitted(run.job.student, run.lab)
    submitted.parent.mkdir(parents=True)
    submitted.write_bytes(run.job.content)


def autograde(run: JobRun) -> None:
    """nbgrader's autograde, in the worker's nbgrader process or one of the job's own; a
    timeout or a failed nbgrader ends the job with that outcome."""
    job = run.job
    what = f"nbgrader autograde {job.assignment} --student {job.student}"
    run.span = pressure.Span.start()
    try:
        if run.server is not None:
            run.log = run.server.grade(run.scratch, job.assignment, job.student,
                                       timeout_s=run.timeout_s, what=what)
        else:
            command = [sys.executable, "-m", "gpukit.batch.nbgrader_job", job.assignment,
                       job.student]
            run.log = nbgrader_steps.run_command(
                run.scratch, command, what=what, timeout_s=run.timeout_s,
                environment=job_environment(run.template, run.scratch_parent, run.threads,
                                            run.walls),
                reap_strays=False)
    except nbgrader_steps.NbgraderTimeout as error:
        run.result = run.ended("timeout", error.log)
        run.result.stalled = run.span.stalled_share()
    except NbgraderError as error:
        run.result = run.ended("error", error.log or error.message)


def collect_results(run: JobRun) -> None:
    """The job's gradebook rows, autograded notebook and files, as plain data."""
    run.result = _read_results(run.scratch, run.job, run.lab, run.log)


# The steps of grading one submission, in order; a step that sets ``run.result`` ends the job.
JOB_STEPS = (make_scratch_course, hand_in, autograde, collect_results)


# Where a job's time goes, in order (seconds each; bench/grading_throughput.py prints them):
PHASES = {
    "scratch": "the job's scratch course made and the notebook handed in",
    "configuration": "nbgrader's configuration read (the course's settings)",
    "nbgrader": "nbgrader's own steps around execution: sanitize, rebuild, scan, gradebook",
    "kernel_start": "the grading kernel started, until the first cell runs",
    "notebook": "the notebook's own cells (the student's work: not overhead)",
    "hidden_checks": "the hidden checks' cells",
    "kernel_end": "the kernel shut down",
    "results": "the job's gradebook rows, notebook and files read back",
    "other": "the rest: hand-over between processes, waiting for the worker",
}


def job_phases(steps: dict[str, float], scratch: Path, result: JobResult) -> dict[str, float]:
    """The job's PHASES, from its steps' times, nbgrader's (PHASES_NAME) and the kernel's
    (noted in the autograded notebook by LimitedExecute)."""
    try:
        inside = json.loads((scratch / PHASES_NAME).read_text())
    except (OSError, ValueError):
        inside = {}
    execution = {}
    if result.autograded:
        notebook = nbformat.reads(result.autograded.decode(), as_version=4)
        execution = notebook.metadata.get(NOTEBOOK_METADATA, {}).get("execution", {})
    phases = {"scratch": steps.get("make_scratch_course", 0.0) + steps.get("hand_in", 0.0),
              "configuration": inside.get("configuration", 0.0),
              "nbgrader": max(0.0, inside.get("autograde", 0.0) - sum(execution.values())),
              **{name: execution.get(name, 0.0) for name in
                 ("kernel_start", "notebook", "hidden_checks", "kernel_end")},
              "results": steps.get("collect_results", 0.0)}
    phases["other"] = max(0.0, result.seconds - sum(phases.values()))
    return {name: round(seconds, 3) for name, seconds in phases.items()}


def job_environment(template: Path, scratch_parent: Path, threads: int,
                    walls: Walls = NO_WALLS) -> dict[str, str]:
    """The environment of a job's nbgrader process: kernels capped at ``threads`` threads, the
    template course (the assignment's gradebook) and the other jobs' scratch courses (other
    students' notebooks) hidden, beside the batch's own walls."""
    return {**dict.fromkeys(THREAD_VARIABLES, str(max(1, threads))),
            **walls.around_job(template, scratch_parent).environment()}


def _read_results(scratch: Path, job: GradingJob, lab: Lab, log: str) -> JobResult:
    result = JobResult(job.student, "graded", log, node=os.uname().nodename)
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{scratch / 'gradebook.db'}") as gb:
        warnings.simplefilter("ignore")
        try:
            nb = gb.find_submission_notebook(notebook_stem(lab), job.assignment, job.student)
        except MissingEntry:  # nbgrader ran but saved nothing: report it as an error
            result.outcome = "error"
            return result
        result.grades = [GradeRow(g.name, g.auto_score, g.manual_score, g.max_score,
                                  g.cell.cell_type == "markdown") for g in nb.grades]
        result.flagged = bool(nb.flagged)
        result.comments = {c.name: c.auto_comment for c in nb.comments}
    autograded = CourseLayout(scratch).autograded(job.student, lab)
    if autograded.is_file():
        result.autograded = autograded.read_bytes()
        executed = nbformat.reads(result.autograded.decode(), as_version=4)
        result.cell_seconds = sum(cell.metadata.get(CELL_METADATA, {}).get("seconds", 0.0)
                                  for cell in executed.cells if cell.cell_type == "code")
    result.files = _folder_files(autograded.parent, skip=autograded)
    return result


def _folder_files(folder: Path, skip: Path) -> dict[str, bytes]:
    """The regular files of a folder (not links), up to FILES_LIMIT bytes in all."""
    files, total = {}, 0
    for path in sorted(folder.rglob("*")):
        if path == skip or path.is_symlink() or not path.is_file():
            continue
        size = path.stat().st_size
        if total + size > FILES_LIMIT:
            continue  # a notebook that wrote gigabytes keeps its grade, not its files
        files[path.relative_to(folder).as_posix()] = path.read_bytes()
        total += size
    return files


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)
