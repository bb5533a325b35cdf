"""Grading sample classes the way an instructor does: the real `gpukit grade` CLI, one run."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

from gpukit.config import Lab, LoadedConfig, load_config
from gpukit.demo.run import prepare_demo_course
from gpukit.demo.sample_class import sample_class
from gpukit.release.autograder import write_autograder
from gpukit.release.release import release_course


def reconfigure(course_root: Path, change: str) -> LoadedConfig:
    """Append ``change`` to the course's grading_config.py and write its autograder/ again, as
    an instructor who changes a setting the checks read (the GPU policy) runs `gpukit release`."""
    config = course_root / "grading_config.py"
    config.write_text(config.read_text() + change)
    loaded = load_config(config)
    for lab in loaded.course.assignments:
        write_autograder(loaded, lab)
    return loaded


def run_gpukit_grade(course_root: Path, lab_name: str, submissions: Path, output: Path, *,
                     env: dict[str, str] | None = None,
                     timeout: float = 1800) -> subprocess.CompletedProcess:
    """`gpukit grade` as a subprocess of the course directory; it must succeed.

    Without the canary: every sample class holds the reference solution, graded and checked
    like any other submission, so grading it first as well would only cost time (the canary's
    own tests are in test_grade_course.py).
    """
    done = subprocess.run(
        [sys.executable, "-m", "gpukit", "grade", str(submissions), "--assignment", lab_name,
         "--output", str(output), "--no-progress", "--no-canary"], cwd=course_root,
        capture_output=True, text=True, timeout=timeout,
        env=env if env is not None else dict(os.environ))
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def read_rows(output: Path) -> dict[str, dict[str, str]]:
    with (output / "grades.csv").open() as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


LAB_SETTINGS = """
# The test tier's variant of one lab (tests/grading.py).
config = dataclasses.replace(config, assignments=[
    dataclasses.replace(lab, **{settings!r}) if lab.name == {name!r} else lab
    for lab in config.assignments])
"""


def grade_sample_class(released_course: LoadedConfig, lab: Lab, work: Path,
                       students: set[str], env: dict[str, str] | None = None,
                       settings: dict | None = None) -> dict:
    """The lab's demo submissions and its fixtures/*.edits, graded in one run.

    ``students`` is the test's expected table: every submission must have its row there.
    ``settings`` overrides some of the lab's settings (a shorter variant): the course is then
    released again with them, and the submissions are edits of that release's solution.
    """
    course = prepare_demo_course(released_course, work / "course")
    masters = released_course.root
    if settings:
        config = course.root / "grading_config.py"
        config.write_text(config.read_text() + LAB_SETTINGS.format(settings=settings,
                                                                    name=lab.name))
        course = load_config(config)
        release_course(course, progress=False)
        lab, masters = course.course.assignment(lab.name), course.root
    notebooks = sample_class(masters, lab)
    assert set(notebooks) == students, "every submission needs its row in EXPECTED"
    submissions = work / "submissions"
    submissions.mkdir()
    for student, notebook in notebooks.items():
        nbformat.write(notebook, str(submissions / f"{student}.ipynb"))
    originals = {p.name: p.read_bytes() for p in submissions.iterdir()}
    output = work / "results"
    done = run_gpukit_grade(course.root, lab.name, submissions, output, env=env)
    records = {p.stem: json.loads(p.read_text()) for p in (output / "records").glob("*.json")}
    return {"course": course, "lab": lab, "rows": read_rows(output), "records": records,
            "output": output, "stdout": done.stdout, "submissions": submissions,
            "originals": originals}
