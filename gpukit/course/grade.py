"""`gpukit grade`: grade a directory of submissions through nbgrader, and write what it found.

For each submission it runs `nbgrader autograde` (the gradebook stays the source of truth) and
`nbgrader generate_feedback` (with hidden tests removed), then writes:

* ``grades.csv``: one row per submission: status, points, every check, regrade flags;
* ``feedback/<student>.html``: the student's feedback, without hidden-test text;
* ``records/<student>.json``: every check's outcome and message, and the written answers' state.

Each submission is first rebuilt on the instructor's release (gpukit/course/sanitize.py): answer
cells matched by metadata or marker line, everything else the instructor's. The submitted files
themselves are only read, never changed.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import nbformat
from tqdm import tqdm

from gpukit.config import Lab, LoadedConfig
from gpukit.course import nbgrader_steps
from gpukit.course.autograde import autograde_student, notebook_stem, submit
from gpukit.course.grades import read_grades
from gpukit.course.layout import CourseLayout, files_of
from gpukit.course.nbgrader_steps import NbgraderTimeout
from gpukit.course.records import SubmissionRecord, build_record
from gpukit.course.sanitize import rebuild
from gpukit.errors import GpukitError, NbgraderError


def find_submissions(directory: Path, lab: Lab) -> dict[str, Path]:
    """Student id -> notebook: ``<student>.ipynb`` files or ``<student>/`` folders."""
    if not directory.is_dir():
        raise GpukitError(f"{directory} is not a directory of submissions.",
                          hint="Pass a folder holding <student>.ipynb files or <student>/ "
                          "folders with the notebook inside.")
    found: dict[str, Path] = {}
    for entry in sorted(directory.iterdir()):
        if entry.is_file() and entry.suffix == ".ipynb":
            found[entry.stem] = entry
        elif entry.is_dir():
            notebooks = sorted(entry.rglob("*.ipynb"))
            named = [p for p in notebooks if p.name == files_of(lab).notebook_name]
            if named or notebooks:
                found[entry.name] = (named or notebooks)[0]
    if not found:
        raise GpukitError(f"No notebooks in {directory}.",
                          hint="Put one <student>.ipynb per student, or <student>/ folders.")
    return found


def grade_directory(course: LoadedConfig, lab: Lab, submissions_dir: Path, output: Path,
                    *, progress: bool = True) -> list[SubmissionRecord]:
    """Grade every submission in ``submissions_dir``; write the outputs into ``output``."""
    submissions = find_submissions(submissions_dir, lab)
    nbgrader_steps.generate_assignment(course.root, lab.name)
    records = []
    with tqdm(submissions.items(), desc=f"grade {lab.name}", unit="submission",
              disable=not progress) as bar:
        for student, path in bar:
            bar.set_postfix_str(student)
            records.append(_grade_one(course, lab, student, path))
    write_outputs(course, lab, records, output)
    return records


def _grade_one(course: LoadedConfig, lab: Lab, student: str, path: Path) -> SubmissionRecord:
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as error:  # not JSON, not a notebook: report it, grade the others
        return SubmissionRecord(student, lab.name, "invalid",
                                f"{path.name} is not a readable Jupyter notebook ({error}). "
                                "Save the notebook from Jupyter and submit it again.")
    release = nbformat.read(str(CourseLayout(course.root).release(lab)), as_version=4)
    rebuilt = rebuild(notebook, release)
    try:
        submit(course, lab, student, rebuilt.notebook)
        autograde_student(course, lab, student)
    except NbgraderTimeout:
        limits = course.course
        return SubmissionRecord(student, lab.name, "timeout",
                                "Grading stopped: a cell ran too long or never ended (limits: "
                                f"{limits.cell_timeout_s} s per cell, {limits.notebook_timeout_s}"
                                " s per notebook). Restart and run all cells before submitting, "
                                "and check your loops.")
    except NbgraderError as error:
        return SubmissionRecord(student, lab.name, "error",
                                f"nbgrader could not autograde this submission: {error.message}")
    grades = read_grades(course.root, lab, notebook_stem(lab))[student]
    autograded = CourseLayout(course.root).autograded(student, lab)
    record = build_record(student, lab.name, grades, autograded, course.course.written_min_words)
    if rebuilt.summary():
        record.message = f"autograded; {rebuilt.summary()}"
    return record


def write_outputs(course: LoadedConfig, lab: Lab, records: list[SubmissionRecord],
                  output: Path) -> None:
    (output / "records").mkdir(parents=True, exist_ok=True)
    (output / "feedback").mkdir(parents=True, exist_ok=True)
    for record in records:
        (output / "records" / f"{record.student}.json").write_text(record.to_json())
        if record.status == "graded":
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
    graded = [r for r in records if r.status == "graded"]
    lines = [f"{len(records)} submissions: {len(graded)} graded, "
             f"{len(records) - len(graded)} not graded (invalid, timeout or error)."]
    for r in records:
        flags = []
        if r.needs_gpu_regrade:
            flags.append(f"needs a GPU regrade: {', '.join(r.needs_gpu_regrade)}")
        failed = [c.check for c in r.checks if c.status in ("failed", "error")]
        if failed:
            flags.append(f"lost points on: {', '.join(failed)}")
        incomplete = [w.question for w in r.written if w.state != "complete"]
        if incomplete:
            flags.append(f"written answers incomplete: {', '.join(incomplete)}")
        score = f"{r.score:g}/{r.max_score:g}" if r.status == "graded" else r.status.upper()
        lines.append(f"  {r.student:24} {score:>8}  {'; '.join(flags) or r.message}")
    lines.append(f"Grades: {output / 'grades.csv'}; feedback: {output / 'feedback'}; "
                 f"records: {output / 'records'}")
    return "\n".join(lines)
