"""`gpukit grade`: grade a directory of submissions through nbgrader, and write what it found.

For each submission it runs `nbgrader autograde` (the gradebook stays the source of truth) and
`nbgrader generate_feedback` (with hidden tests removed), then writes:

* ``grades.csv``: one row per submission: status, points, every check, regrade flags;
* ``feedback/<student>.html``: the student's feedback, without hidden-test text;
* ``records/<student>.json``: every check's outcome and message, and the written answers' state.

What decides a grade happens inside nbgrader, as with `nbgrader autograde` or formgrader
(gpukit/autograde/preprocessors.py): the rebuild on the instructor's release (answer cells matched
by metadata or marker line, everything else the instructor's), the scan and its hold for review,
the checks' outcome verification. This module adds what only a batch runner can: discovery of a
folder, one record per entry (whatever happened), the CSV, feedback and the summary. The
submitted files themselves are only read, never changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from tqdm import tqdm

import gpukit
import gpukit_student
from gpukit.autograde.job import GradingJob, prepare_template
from gpukit.autograde.preflight import (
    canary_job,
    canary_passed_before,
    check_autograder,
    judge_canary,
    preflight,
)
from gpukit.autograde.records import STATUSES, SubmissionRecord
from gpukit.autograde.runners import LocalWorkers, RayCluster, default_workers
from gpukit.autograde.submissions import Submission, find_submissions
from gpukit.autograde.writer import CourseWriter
from gpukit.config import Lab, LoadedConfig
from gpukit.course import nbgrader_steps
from gpukit.course.nbgrader_settings import hidden_from_kernels
from gpukit.sandbox import processes
from gpukit.sandbox.settings import Walls


@dataclass(frozen=True)
class GradingOptions:
    """How a batch runs (the `gpukit grade` flags)."""

    runner: LocalWorkers | RayCluster | None = None  # None: local workers, as many as fit
    regrade: bool = False    # grade again what the records show graded with this grader
    preflight: bool = True   # check the datasets, the sandbox and the GPU policy first
    canary: bool = True      # grade the lab's solution first; stop if it loses a point


def grade_directory(course: LoadedConfig, lab: Lab, submissions_dir: Path, output: Path,
                    *, progress: bool = True, options: GradingOptions = GradingOptions(),
                    say: Callable[[str], None] = print) -> list[SubmissionRecord]:
    """Grade every submission in ``submissions_dir``; write the outputs into ``output`` as each
    result arrives (a stopped batch loses nothing; a rerun grades only what is missing)."""
    submissions = find_submissions(submissions_dir, lab)
    output.mkdir(parents=True, exist_ok=True)
    walls = kernel_walls(course, submissions_dir, output)
    try:  # a kernel's orphaned processes come back to us, to be ended (nbgrader_steps)
        processes.become_subreaper()
    except OSError:
        pass
    runner = options.runner or LocalWorkers(default_workers())
    limits = course.course
    if isinstance(runner, RayCluster) and limits.gpu_policy != "ignore" and \
            runner.cluster_gpus():
        # Every lab has checks that need a GPU to mean anything: with GPU nodes in the cluster,
        # jobs go there, so those checks are graded rather than skipped or flagged.
        runner = dataclasses.replace(runner, gpus=1)
    check_autograder(course, lab, say=say)
    if options.preflight:
        preflight(course, lab, say=say,
                  cluster_gpus=runner.cluster_gpus() if isinstance(runner, RayCluster) else None)
    nbgrader_steps.generate_assignment(course.root, lab.name)  # the gradebook knows the lab
    work = Path(tempfile.mkdtemp(prefix="gpukit-grade-"))
    try:
        template = prepare_template(course, lab, work / "course")
        version = grader_version(template)
        if options.canary and not canary_passed_before(output, version):
            say(f"canary: grading the lab's own solution first ({runner.describe()})")
            (result,) = runner.run([canary_job(course, lab)], template,
                                   timeout_s=limits.notebook_timeout_s, walls=walls)
            judge_canary(course, lab, result, output, version)
            say(f"canary: full marks in {result.seconds:.0f} s")
        return _grade_batch(course, lab, submissions, output, template, version, runner,
                            walls, options.regrade, progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _grade_batch(course: LoadedConfig, lab: Lab, submissions: list[Submission], output: Path,
                 template: Path, version: str, runner, walls: Walls, regrade: bool,
                 progress: bool) -> list[SubmissionRecord]:
    writer = CourseWriter(course, lab, output)
    jobs: dict[str, tuple[GradingJob, str, str]] = {}
    for submission in submissions:
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
        if not regrade and previous is not None and previous.fingerprint == fingerprint \
                and previous.status != "environment":  # the grader's fault: always again
            writer.keep(previous)
            continue
        jobs[student] = (GradingJob(student, lab.name, content), submission.note, fingerprint)
    with tqdm(total=len(jobs), desc=f"grade {lab.name}", unit="submission",
              disable=not progress) as bar:
        for result in runner.run((job for job, _, _ in jobs.values()), template,
                                 timeout_s=course.course.notebook_timeout_s, walls=walls):
            job, note, fingerprint = jobs[result.student]
            writer.graded(result, note, fingerprint, job.content)
            bar.set_postfix_str(result.student)
            bar.update()
    return [writer.records[s.student] for s in submissions]


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


def kernel_walls(course: LoadedConfig, submissions: Path, output: Path) -> Walls:
    """Walls for the grading kernels (gpukit/sandbox), which run in scratch courses: the course
    itself is hidden (its master notebooks and solutions, its gradebook, its students' folders),
    and so are the submissions and the outputs (another student's notebook, records or
    feedback). What a kernel needs inside them (the data, the kit) its job's settings put back."""
    hidden = [submissions, output, *hidden_from_kernels(course)]
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
