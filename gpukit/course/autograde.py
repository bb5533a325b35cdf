"""Autograde submitted notebooks with the real `nbgrader autograde`, one student a call."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from tqdm import tqdm

from gpukit.config import Lab, LoadedConfig
from gpukit.course import nbgrader_steps
from gpukit.course.grades import SubmissionGrades, read_grades
from gpukit.course.layout import CourseLayout, files_of


def submit(course: LoadedConfig, lab: Lab, student: str, notebook: NotebookNode) -> Path:
    """Place a notebook where nbgrader looks for the student's submission."""
    path = CourseLayout(course.root).submitted(student, lab)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path


def autograde_student(course: LoadedConfig, lab: Lab, student: str) -> None:
    """Autograde one submitted student; NbgraderError if nbgrader could not grade it."""
    nbgrader_steps.autograde(course.root, lab.name, "--student", student,
                             timeout_s=course.course.notebook_timeout_s)


def notebook_stem(lab: Lab) -> str:
    return Path(files_of(lab).notebook_name).stem


def autograde_notebooks(course: LoadedConfig, lab: Lab, submissions: dict[str, NotebookNode],
                        *, progress: bool = True) -> dict[str, SubmissionGrades]:
    """Submit each notebook as its student in ``course``, autograde it; grades per student.

    The course directory must hold the lab's master in source/. One nbgrader call per student
    gives a progress bar and keeps one broken submission from stopping the others.
    """
    # The gradebook must know the assignment and the cells' checksums before autograding.
    nbgrader_steps.generate_assignment(course.root, lab.name)
    for student, notebook in submissions.items():
        submit(course, lab, student, notebook)
    for student in tqdm(submissions, desc=f"autograde {lab.name}", unit="submission",
                        disable=not progress):
        autograde_student(course, lab, student)
    return read_grades(course.root, lab, notebook_stem(lab))
