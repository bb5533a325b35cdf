"""`gpukit grade`: grade a directory of submissions through nbgrader, and write what it found.

For each submission it runs `nbgrader autograde` (the gradebook stays the source of truth) and,
beside the grading, `nbgrader generate_feedback` (with hidden tests removed), then writes:

* ``grades.csv``: one row per submission: status, points, every check, regrade flags;
* ``feedback/<student>.html``: the student's feedback, without hidden-test text;
* ``records/<student>.json``: every check's outcome and message, and the written answers' state.

What decides a grade happens inside nbgrader, as with `nbgrader autograde` or formgrader
(gpukit/pipeline/preprocessors.py): the rebuild on the instructor's release (answer cells matched
by metadata or marker line, everything else the instructor's), the scan and its hold for review,
the checks' outcome verification. This module adds what only a batch runner can: discovery of a
folder, one record per entry (whatever happened), the CSV, feedback and the summary. The
submitted files themselves are only read, never changed.

A batch is BATCH_STAGES run in order over one :class:`Batch` (as a job is JOB_STEPS over a
JobRun): discover, check_before_grading, make_template, grade_canary, grade_submissions; then
:func:`summary` says what it found.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from tqdm import tqdm

import gpukit
import gpukit_student
from gpukit.batch.feedback import FeedbackPages
from gpukit.batch.job import GradingJob, JobResult, prepare_template
from gpukit.batch.preflight import (
    canary_job,
    canary_passed_before,
    check_autograder,
    judge_canary,
    preflight,
)
from gpukit.batch.records import STATUSES, SubmissionRecord
from gpukit.batch.runners import LocalWorkers, RayCluster, default_workers
from gpukit.batch.submissions import Submission, find_submissions
from gpukit.batch.writer import CourseWriter, record_of
from gpukit.config import Lab, LoadedConfig
from gpukit.course import nbgrader_steps
from gpukit.pipeline.nbgrader_settings import hidden_from_kernels
from gpukit.sandbox import pressure, processes
from gpukit.sandbox.settings import Walls


@dataclass(frozen=True)
class GradingOptions:
    """How a batch runs (the `gpukit grade` flags)."""

    runner: LocalWorkers | RayCluster | None = None  # None: local workers, as many as fit
    regrade: bool = False    # grade again what the records show graded with this grader
    preflight: bool = True   # check the datasets, the sandbox and the GPU policy first
    canary: bool = True      # grade the lab's solution first; stop if it loses a point


@dataclass
class Batch:
    """One `gpukit grade` run, as its stages (BATCH_STAGES) hand it on."""

    loaded: LoadedConfig
    lab: Lab
    submissions_dir: Path
    output: Path
    options: GradingOptions
    say: Callable[[str], None]
    progress: bool
    submissions: list[Submission] = field(default_factory=list)
    runner: LocalWorkers | RayCluster | None = None
    walls: Walls | None = None
    work: Path | None = None       # the batch's scratch folder (the template lives there)
    template: Path | None = None
    version: str = ""              # the grader's fingerprint (grader_version)
    records: list[SubmissionRecord] = field(default_factory=list)
    feedback_seconds: list[float] = field(default_factory=list)  # each feedback page's time
    stage_seconds: dict[str, float] = field(default_factory=dict)  # each stage's time


def grade_directory(loaded: LoadedConfig, lab: Lab, submissions_dir: Path, output: Path,
                    *, progress: bool = True, options: GradingOptions = GradingOptions(),
                    say: Callable[[str], None] = print) -> list[SubmissionRecord]:
    """Grade every submission in ``submissions_dir``; write the outputs into ``output`` as each
    result arrives (a stopped batch loses nothing; a rerun grades only what is missing)."""
    return run_batch(Batch(loaded, lab, submissions_dir, output, options, say, progress)).records


def run_batch(batch: Batch) -> Batch:
    """BATCH_STAGES over ``batch``, each timed; the workers and scratch folder gone after."""
    try:
        for stage in BATCH_STAGES:
            began = time.monotonic()
            stage(batch)
            batch.stage_seconds[stage.__name__] = round(time.monotonic() - began, 3)
    finally:
        if batch.runner is not None:
            batch.runner.close()
        if batch.work is not None:
            shutil.rmtree(batch.work, ignore_errors=True)
    return batch


def discover(batch: Batch) -> None:
    """The folder's submissions, the output folder, the kernels' walls and the runner."""
    batch.submissions = find_submissions(batch.submissions_dir, batch.lab)
    batch.output.mkdir(parents=True, exist_ok=True)
    batch.walls = kernel_walls(batch.loaded, batch.submissions_dir, batch.output)
    try:  # a kernel's orphaned processes come back to us, to be ended (nbgrader_steps)
        processes.become_subreaper()
    except OSError:
        pass
    runner = batch.options.runner or LocalWorkers(default_workers())
    if isinstance(runner, RayCluster) and batch.loaded.course.gpu_policy != "ignore" and \
            runner.cluster_gpus():
        # Every lab has checks that need a GPU to mean anything: with GPU nodes in the cluster,
        # jobs go there, so those checks are graded rather than skipped or flagged.
        runner = dataclasses.replace(runner, gpus=1)
    batch.runner = runner


def check_before_grading(batch: Batch) -> None:
    """The autograder is the released one (always); pre-flight (unless turned off)."""
    check_autograder(batch.loaded, batch.lab, say=batch.say)
    if batch.options.preflight:
        runner = batch.runner
        preflight(batch.loaded, batch.lab, say=batch.say,
                  cluster_gpus=runner.cluster_gpus() if isinstance(runner, RayCluster) else None)


def make_template(batch: Batch) -> None:
    """The course the jobs grade in (job.prepare_template), and the grader's fingerprint."""
    # The course's gradebook must know the assignment; the template is made from the course's
    # source alone: two nbgrader processes of a few seconds each, side by side.
    with ThreadPoolExecutor(max_workers=1) as beside:
        registered = beside.submit(nbgrader_steps.generate_assignment, batch.loaded.root,
                                   batch.lab.name)
        batch.work = Path(tempfile.mkdtemp(prefix="gpukit-grade-"))
        batch.template = prepare_template(batch.loaded, batch.lab, batch.work / "course")
        registered.result()
    batch.version = grader_version(batch.template)
    batch.runner.start(batch.template, batch.walls)  # workers ready while the canary is made


def grade_canary(batch: Batch) -> None:
    """The lab's own solution first, through the students' path; stop unless it gets full
    marks (once per grader version: the output folder remembers)."""
    if not batch.options.canary or canary_passed_before(batch.output, batch.version):
        return
    batch.say(f"canary: grading the lab's own solution first ({batch.runner.describe()})")
    job = canary_job(batch.loaded, batch.lab)
    result = _grade_one(batch, job)
    if record_of(batch.loaded, batch.lab, result).overloaded is not None:
        batch.say("canary: stopped by a time limit while the machine was overloaded; "
                  "grading it again once the machine is quiet")
        pressure.wait_until_quiet(QUIET_WAIT_S)
        result = _grade_one(batch, job)
    judge_canary(batch.loaded, batch.lab, result, batch.output, batch.version)
    batch.say(f"canary: full marks in {result.seconds:.0f} s")


def _grade_one(batch: Batch, job: GradingJob) -> JobResult:
    """One job on the batch's runner (the canary, a submission graded again), alone."""
    (result,) = batch.runner.run([job], batch.template,
                                 timeout_s=batch.loaded.course.notebook_timeout_s,
                                 walls=batch.walls)
    return result


def grade_submissions(batch: Batch) -> None:
    """Every submission not graded before with this grader, merged as each result arrives; one
    record per entry of the folder, in its order."""
    writer = CourseWriter(batch.loaded, batch.lab, batch.output)
    pages = FeedbackPages(batch.loaded, batch.lab)
    try:
        _grade_all(batch, writer, pages)
    finally:  # the pages asked for are made, even when the batch was stopped
        for student, problem in pages.close():
            writer.feedback_page(student, problem)
    batch.feedback_seconds = pages.seconds
    batch.records = [writer.records[s.student] for s in batch.submissions]


def _grade_all(batch: Batch, writer: CourseWriter, pages: FeedbackPages) -> None:
    loaded, lab, output, version = batch.loaded, batch.lab, batch.output, batch.version
    jobs: dict[str, tuple[GradingJob, str, str]] = {}
    for submission in batch.submissions:
        student = submission.student
        if submission.path is None:
            writer.invalid(student, submission.problem)
            continue
        content = submission.path.read_bytes()
        try:
            nbformat.reads(content.decode(), as_version=4)
        except Exception as error:  # not JSON, not a notebook: report it, grade the others
            writer.invalid(student, f"{submission.path.name} is not a readable Jupyter notebook "
                           f"({error}). Save the notebook from Jupyter and submit it again.")
            continue
        fingerprint = hashlib.sha256(version.encode() + content).hexdigest()
        previous = _previous_record(output, student)
        unchanged = previous is not None and previous.fingerprint == fingerprint
        if unchanged and not batch.options.regrade and previous.status != "environment":
            # (a record of the grader's fault is always graded again)
            writer.keep(previous)
            if previous.status in HAVE_FEEDBACK and \
                    not (output / "feedback" / f"{student}.html").is_file():
                pages.make(student)  # a batch stopped before its page was made
            continue
        jobs[student] = (GradingJob(student, lab.name, content), submission.note, fingerprint)
    with tqdm(total=len(jobs), desc=f"grade {lab.name}", unit="submission",
              disable=not batch.progress) as bar:
        results = batch.runner.run((job for job, _, _ in jobs.values()), batch.template,
                                   timeout_s=loaded.course.notebook_timeout_s, walls=batch.walls)
        for result in results:
            _merge(result, jobs, writer, pages)
            bar.set_postfix_str(result.student)
            bar.update()
    overloaded = [student for student in jobs if writer.records[student].overloaded is not None]
    if overloaded:
        _regrade_when_quiet(batch, {student: jobs[student] for student in overloaded}, writer,
                            pages)


HAVE_FEEDBACK = ("graded", "integrity")  # the statuses whose scores are in the gradebook
# How long a batch waits, in all, for the machine to be quiet before it grades again the
# submissions a time limit stopped while the machine was overloaded.
QUIET_WAIT_S = 600


def _merge(result: JobResult, jobs: dict[str, tuple[GradingJob, str, str]],
           writer: CourseWriter, pages: FeedbackPages) -> None:
    job, note, fingerprint = jobs[result.student]
    if writer.graded(result, note, fingerprint, job.content).status in HAVE_FEEDBACK:
        pages.make(result.student)
    for student, problem in pages.finished():
        writer.feedback_page(student, problem)


def _regrade_when_quiet(batch: Batch, jobs: dict[str, tuple[GradingJob, str, str]],
                        writer: CourseWriter, pages: FeedbackPages) -> None:
    """Grade again, one at a time and each once the machine is quiet, the submissions that a
    time limit stopped while the machine was overloaded (gpukit/sandbox/pressure.py). One that
    is overloaded again keeps its environment record and is graded on the next run."""
    batch.say(f"{len(jobs)} submission(s) reached a time limit while the machine was "
              "overloaded (not their fault): grading them again, one at a time, once it is quiet")
    deadline = time.monotonic() + QUIET_WAIT_S
    for student, (job, _, _) in jobs.items():
        share = pressure.wait_until_quiet(max(0.0, deadline - time.monotonic()))
        if pressure.overloaded(share):
            batch.say(f"the machine is still overloaded ({share:.0%} stalled): {student} is "
                      "graded now, alone")
        result = _grade_one(batch, job)
        _merge(result, jobs, writer, pages)
        batch.say(f"graded again: {student}: {writer.records[student].status}")


# The stages of a batch, in order (summary() then says what it found).
BATCH_STAGES = (discover, check_before_grading, make_template, grade_canary, grade_submissions)


def grader_version(template: Path) -> str:
    """What a record's grades depend on besides the notebook: the course's settings, the lab's
    source and release, the hidden checks, the kit and its runtime."""
    digest = hashlib.sha256(f"gpukit {gpukit.__version__} runtime {gpukit_student.__version__}"
                            .encode())
    for path in sorted(template.rglob("*")):
        if path.is_file() and path.name != "gradebook.db" and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(template)).encode() + path.read_bytes())
    return digest.hexdigest()


def _previous_record(output: Path, student: str) -> SubmissionRecord | None:
    try:
        return SubmissionRecord.from_json((output / "records" / f"{student}.json").read_text())
    except (OSError, ValueError, TypeError):
        return None


def kernel_walls(loaded: LoadedConfig, submissions: Path, output: Path) -> Walls:
    """Walls for the grading kernels (gpukit/sandbox), which run in scratch courses: the course
    itself is hidden (its master notebooks and solutions, its gradebook, its students' folders),
    and so are the submissions and the outputs (another student's notebook, records or
    feedback). What a kernel needs inside them (the data, the kit) its job's settings put back."""
    hidden = [submissions, output, *hidden_from_kernels(loaded)]
    return Walls(tuple(str(p.resolve()) for p in hidden))


def summary(records: list[SubmissionRecord], output: Path) -> str:
    counts = ", ".join(f"{sum(r.status == s for r in records)} {s}" for s in STATUSES
                       if any(r.status == s for r in records))
    lines = [f"{len(records)} submissions: {counts}."]
    width = max((len(r.student) for r in records), default=0)
    for r in records:
        flags = []
        if r.needs_gpu_regrade:
            flags.append(f"needs a GPU regrade: {', '.join(r.needs_gpu_regrade)}")
        failed = [c.check for c in r.checks if c.status in ("failed", "error")]
        if failed:
            flags.append(f"lost points on: {', '.join(failed)}")
        if r.cells:
            flags.append("cells that did not finish: " + "; ".join(c.text() for c in r.cells))
        incomplete = [w.question for w in r.written if w.state != "complete"]
        if incomplete:
            flags.append(f"written answers incomplete: {', '.join(incomplete)}")
        if r.status == "integrity":
            flags.insert(0, "INTEGRITY: " + r.message)
        score = f"{r.score:g}/{r.max_score:g}" if r.checks else r.status.upper()
        lines.append(f"  {r.student:{width}} {score:>8}  {'; '.join(flags) or r.message}")
    again = [r.student for r in records if r.status == "environment"]
    if again:
        lines.append(f"The grading environment failed for {len(again)} submission(s), not their "
                     f"authors ({', '.join(again)}): fix it, and run gpukit grade again to grade "
                     "just those.")
    lines.append(f"Grades: {output / 'grades.csv'}; feedback: {output / 'feedback'}; "
                 f"records: {output / 'records'}")
    return "\n".join(lines)
