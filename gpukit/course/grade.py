"""`gpukit grade`: grade a directory of submissions through nbgrader, and write what it found.

For each submission it runs `nbgrader autograde` (the gradebook stays the source of truth) and
`nbgrader generate_feedback` (with hidden tests removed), then writes:

* ``grades.csv``: one row per submission: status, points, every check, regrade flags;
* ``feedback/<student>.html``: the student's feedback, without hidden-test text;
* ``records/<student>.json``: every check's outcome and message, and the written answers' state.

What decides a grade happens inside nbgrader, as with `nbgrader autograde` or formgrader
(gpukit/course/preprocessors.py): the rebuild on the instructor's release (answer cells matched
by metadata or marker line, everything else the instructor's), the scan and its hold for review,
the checks' outcome verification. This module adds what only a batch runner can: discovery of a
folder, one record per entry (whatever happened), the CSV, feedback and the summary. The
submitted files themselves are only read, never changed.
"""

from __future__ import annotations

import csv
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from tqdm import tqdm

from gpukit.config import Lab, LoadedConfig
from gpukit.course import nbgrader_steps
from gpukit.course.autograde import autograde_student, notebook_stem, submit
from gpukit.course.grades import read_grades, register_ungradable
from gpukit.course.layout import CourseLayout, files_of
from gpukit.course.nbgrader_steps import NbgraderTimeout
from gpukit.course.records import NOTEBOOK_METADATA, STATUSES, SubmissionRecord, build_record
from gpukit.errors import GpukitError, NbgraderError
from gpukit.grading.outcome import TAMPERING_OUTCOME
from gpukit.sandbox import processes
from gpukit.sandbox.kernel import PEAK_MARKER, STOP_MARKER
from gpukit.sandbox.settings import PROTECT_VARIABLE


@dataclass(frozen=True)
class Submission:
    """What one student handed in, and which notebook (if any) will be graded."""

    student: str
    path: Path | None    # the notebook to grade; None when there is none
    problem: str = ""    # why nothing can be graded (status invalid)
    note: str = ""       # a choice the grader made (a renamed notebook, notebooks ignored)


def find_submissions(directory: Path, lab: Lab) -> list[Submission]:
    """One Submission per ``<student>.ipynb`` file, ``<student>/`` folder or other file.

    Nothing a student hands in is skipped silently: a folder without a notebook, a folder with
    several notebooks none of which has the lab's name, and a file that is not a notebook each
    become a Submission with a problem (status invalid), so every student gets a record.
    """
    if not directory.is_dir():
        raise GpukitError(f"{directory} is not a directory of submissions.",
                          hint="Pass a folder holding <student>.ipynb files or <student>/ "
                          "folders with the notebook inside.")
    expected = files_of(lab).notebook_name
    found = []
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith((".", "__MACOSX")):
            continue
        if entry.is_dir():
            found.append(_folder_submission(entry, expected))
        elif entry.suffix == ".ipynb":
            found.append(Submission(entry.stem, entry))
        else:
            found.append(Submission(entry.stem, None, f"{entry.name} is not a Jupyter notebook "
                                    f"(.ipynb): submit the notebook file {expected} itself."))
    if not found:
        raise GpukitError(f"No submissions in {directory}.",
                          hint="Put one <student>.ipynb per student, or <student>/ folders.")
    return found


def _folder_submission(folder: Path, expected: str) -> Submission:
    notebooks = sorted((p for p in folder.rglob("*.ipynb")
                        if ".ipynb_checkpoints" not in p.parts),
                       key=lambda p: (len(p.relative_to(folder).parts), str(p)))
    named = [p for p in notebooks if p.name == expected]
    if named:
        others = [p.name for p in notebooks if p != named[0]]
        note = f"other notebooks ignored: {', '.join(others)}" if others else ""
        return Submission(folder.name, named[0], note=note)
    if len(notebooks) == 1:
        return Submission(folder.name, notebooks[0],
                          note=f"graded {notebooks[0].name} (the lab's notebook is {expected})")
    if not notebooks:
        return Submission(folder.name, None, f"No notebook in {folder.name}/: submit {expected}.")
    return Submission(folder.name, None, f"{len(notebooks)} notebooks in {folder.name}/ and none "
                      f"is named {expected}: name the one to grade {expected}.")


def grade_directory(course: LoadedConfig, lab: Lab, submissions_dir: Path, output: Path,
                    *, progress: bool = True) -> list[SubmissionRecord]:
    """Grade every submission in ``submissions_dir``; write the outputs into ``output``."""
    submissions = find_submissions(submissions_dir, lab)
    _protect_from_kernels(submissions_dir, output)
    try:  # a kernel's orphaned processes come back to us, to be ended (nbgrader_steps)
        processes.become_subreaper()
    except OSError:
        pass
    nbgrader_steps.generate_assignment(course.root, lab.name)
    records = []
    with tqdm(submissions, desc=f"grade {lab.name}", unit="submission",
              disable=not progress) as bar:
        for submission in bar:
            bar.set_postfix_str(submission.student)
            records.append(_grade_one(course, lab, submission))
    write_outputs(course, lab, records, output)
    return records


def _protect_from_kernels(*paths: Path) -> None:
    """The submissions and the outputs are read-only for grading kernels (gpukit/sandbox)."""
    os.environ[PROTECT_VARIABLE] = os.pathsep.join(str(p.resolve()) for p in paths)


def _grade_one(course: LoadedConfig, lab: Lab, submission: Submission) -> SubmissionRecord:
    student, path = submission.student, submission.path
    if path is None:
        register_ungradable(course.root, lab, student)
        return SubmissionRecord(student, lab.name, "invalid", submission.problem)
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as error:  # not JSON, not a notebook: report it, grade the others
        register_ungradable(course.root, lab, student)  # as nbgrader autograde leaves it
        return SubmissionRecord(student, lab.name, "invalid",
                                f"{path.name} is not a readable Jupyter notebook ({error}). "
                                "Save the notebook from Jupyter and submit it again.")
    try:
        submit(course, lab, student, notebook)  # nbgrader rebuilds it on the release
        log = autograde_student(course, lab, student)
    except NbgraderTimeout:
        limits = course.course
        return SubmissionRecord(student, lab.name, "timeout",
                                "Grading stopped: a cell ran too long or never ended (limits: "
                                f"{limits.cell_timeout_s} s per cell, {limits.notebook_timeout_s}"
                                " s per notebook). Restart and run all cells before submitting, "
                                "and check your loops.")
    except NbgraderError as error:
        return SubmissionRecord(student, lab.name, "error", _failure_message(error))
    grades = read_grades(course.root, lab, notebook_stem(lab))[student]
    autograded = CourseLayout(course.root).autograded(student, lab)
    record = build_record(student, lab.name, grades, autograded, course.course.written_min_words)
    record.kernel_peak = _kernel_peak(log)
    # What nbgrader's rebuild and scan steps noted in the graded notebook; a flagged scan held
    # the submission for review in the gradebook (HoldForReview).
    steps = nbformat.read(str(autograded), as_version=4).metadata.get(NOTEBOOK_METADATA, {})
    findings = steps.get("scan", [])
    notes = [n for n in (submission.note, steps.get("rebuild", "")) if n]
    integrity = [c for c in record.checks if c.status == "integrity"]
    # The in-kernel baseline's findings (the notebook changed the grader), and the checks' own
    # (e.g. a model that computes something else on the test images than anywhere else).
    affected = [c.check for c in integrity if c.message.startswith(TAMPERING_OUTCOME)]
    suspect = [c.check for c in integrity if not c.message.startswith(TAMPERING_OUTCOME)]
    if integrity or findings:
        record.status = "integrity"
        reasons = []
        if affected:
            reasons.append("checks not graded because the notebook changed the grader: "
                           + ", ".join(affected))
        if suspect:
            reasons.append("checks marked for review, the notebook behaves differently on the "
                           "data it is graded with: " + ", ".join(suspect))
        if findings:
            reasons.append("code that tampers with the grader: " + "; ".join(findings)
                           + "; every check scores 0 until an instructor reviews it")
        record.message = "; ".join(reasons)
    elif notes:
        record.message = f"autograded; {'; '.join(notes)}"
    return record


def _kernel_peak(log: str) -> str:
    """The sandbox supervisor's report of the kernel's peak memory and processes, if any."""
    return next((line.split(PEAK_MARKER, 1)[1].strip() for line in log.splitlines()
                 if PEAK_MARKER in line), "")


def _failure_message(error: NbgraderError) -> str:
    """What the student can do about an autograde that did not finish."""
    for line in error.log.splitlines():
        if STOP_MARKER in line:
            reason = line.split(STOP_MARKER, 1)[1].strip()
            return (f"Grading stopped the notebook: {reason}. Make your code use less (smaller "
                    "batches, fewer copies, no runaway loops), then Restart & Run All.")
    if any(sign in error.log for sign in ("DeadKernelError", "Kernel died",
                                          "UnresponsiveKernelError")):
        return ("The notebook's kernel died while it was graded: a cell ended the Python "
                "process (os._exit, a signal sent to itself) or crashed it. Remove that code, "
                "then Restart & Run All before submitting.")
    return f"nbgrader could not autograde this submission: {error.message}"


def write_outputs(course: LoadedConfig, lab: Lab, records: list[SubmissionRecord],
                  output: Path) -> None:
    (output / "records").mkdir(parents=True, exist_ok=True)
    (output / "feedback").mkdir(parents=True, exist_ok=True)
    for record in records:
        (output / "records" / f"{record.student}.json").write_text(record.to_json())
        if record.checks:  # graded or integrity: nbgrader has the grades
            _write_feedback(course, lab, record.student, output / "feedback")
    _write_csv(records, output / "grades.csv")


def _write_feedback(course: LoadedConfig, lab: Lab, student: str, folder: Path) -> None:
    nbgrader_steps.run_nbgrader(course.root, "generate_feedback", lab.name, "--student",
                                student, "--force")
    shutil.copyfile(CourseLayout(course.root).feedback(student, lab), folder / f"{student}.html")


def _write_csv(records: list[SubmissionRecord], path: Path) -> None:
    # Every graded record lists the same checks, in the notebook's order (from the gradebook).
    checks = next(([c.check for c in r.checks] for r in records if r.checks), [])
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "assignment", "status", "score", "max_score",
                         "manual_points_pending", "needs_gpu_regrade", *checks, "message"])
        for r in records:
            by_check = {c.check: f"{c.points:g}" for c in r.checks}
            writer.writerow([r.student, r.assignment, r.status, f"{r.score:g}",
                             f"{r.max_score:g}", f"{r.manual_max:g}",
                             " ".join(r.needs_gpu_regrade),
                             *(by_check.get(c, "") for c in checks), r.message])


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
    lines.append(f"Grades: {output / 'grades.csv'}; feedback: {output / 'feedback'}; "
                 f"records: {output / 'records'}")
    return "\n".join(lines)
