"""A mixed class of lab 2 (the cheapest lab), graded once with one worker for every test that
needs a graded class: the reference, a failed check, tampering, a notebook that loops, a file
that is no notebook, and a Colab-saved copy of the reference.

tests/test_grade_course.py grades it again in other ways (two workers, killed and resumed, Ray)
and compares; tests/test_reports.py builds the class report and the LMS exports from it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from gpukit.config import load_config
from gpukit.course.layout import CourseLayout
from gpukit.demo.run import prepare_demo_course
from tests.test_autograde_gpu_basics import FULL

LIMITS = "config = dataclasses.replace(config, cell_timeout_s=5, notebook_timeout_s=20)\n"
# student -> (status, score); the class every runner grades.
CLASS = {
    "reference": ("graded", sum(FULL.values())),
    "output-left-on-device": ("graded", sum(FULL.values()) - FULL["forward_on"]),
    "tampering": ("integrity", 0),
    "loops-ignoring-interrupts": ("timeout", None),
    "not-a-notebook": ("invalid", None),
    "colab-saved": ("graded", sum(FULL.values())),
}
# What differs from run to run by nature: times, memory peaks, where it ran, and the fingerprint
# (it holds the grader's version, which names the course's own data directory).
VARYING = ("grading_seconds", "notebook_seconds", "phases", "kernel_peak", "node", "fingerprint")


def make_class(solution_path: Path, folder: Path) -> Path:
    from tests.test_sanitize import strip_metadata

    folder.mkdir(parents=True)
    solution = nbformat.read(str(solution_path), as_version=4)

    def variant(name: str, edit) -> None:
        notebook = nbformat.read(str(solution_path), as_version=4)
        edit(notebook)
        nbformat.write(notebook, str(folder / f"{name}.ipynb"))

    def cell(notebook, cell_id):
        return next(c for c in notebook.cells if c.get("id") == cell_id)

    shutil.copy(solution_path, folder / "reference.ipynb")
    variant("output-left-on-device", lambda nb: setattr(
        cell(nb, "forward_code"), "source",
        cell(nb, "forward_code").source.replace("return output.cpu()", "return output")))
    variant("tampering", lambda nb: nb.cells.append(
        nbformat.v4.new_code_cell("import gpukit.grading  # the grader's machinery")))
    variant("loops-ignoring-interrupts", lambda nb: nb.cells.insert(2, nbformat.v4.new_code_cell(
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass")))
    (folder / "not-a-notebook.ipynb").write_text("I will send it tomorrow")
    nbformat.write(strip_metadata(solution), str(folder / "colab-saved.ipynb"))
    return folder


def course_copy(released_course, where: Path, extra: str = LIMITS):
    course = prepare_demo_course(released_course, where)
    config = course.root / "grading_config.py"
    config.write_text(config.read_text() + extra)
    return course.root


def grade(course_root: Path, lab: str, submissions: Path, output: Path, *args: str,
          check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "gpukit", "grade", str(submissions),
                           "--assignment", lab, "--output", str(output), "--no-progress", *args],
                          cwd=course_root, capture_output=True, text=True, timeout=1800,
                          env=env or dict(os.environ))
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def state(course_root: Path, output: Path, lab) -> dict:
    """Everything a batch leaves that must not depend on how it ran."""
    records = {}
    for path in sorted((output / "records").glob("*.json")):
        record = json.loads(path.read_text())
        for key in VARYING:
            record.pop(key, None)
        records[path.stem] = record
    csv_lines = (output / "grades.csv").read_text().splitlines()
    gradebook = {}
    notebook = Path(CourseLayout(course_root).release(lab).name).stem
    with Gradebook(load_config(course_root / "grading_config.py").gradebook_url) as gb:
        for student in CLASS:
            try:
                nb = gb.find_submission_notebook(notebook, lab.name, student)
            except MissingEntry:
                gradebook[student] = None
                continue
            gradebook[student] = ({g.name: (g.auto_score, g.manual_score, g.needs_manual_grade)
                                   for g in nb.grades}, nb.flagged,
                                  {c.name: c.auto_comment for c in nb.comments})
    return {"records": records, "csv": csv_lines, "gradebook": gradebook}
