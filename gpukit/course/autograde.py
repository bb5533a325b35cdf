"""Submit a notebook as a student and autograde it with the real `nbgrader autograde`."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from gpukit.config import Lab, LoadedConfig
from gpukit.course import nbgrader_steps
from gpukit.course.layout import CourseLayout, files_of


def submit(course: LoadedConfig, lab: Lab, student: str, notebook: NotebookNode) -> Path:
    """Place a notebook where nbgrader looks for the student's submission."""
    path = CourseLayout(course.root).submitted(student, lab)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path


def autograde_student(course: LoadedConfig, lab: Lab, student: str) -> str:
    """Autograde one submitted student and return nbgrader's log; NbgraderError if nbgrader
    could not grade it."""
    return nbgrader_steps.autograde(course.root, lab.name, "--student", student,
                                    timeout_s=course.course.notebook_timeout_s)


def notebook_stem(lab: Lab) -> str:
    return Path(files_of(lab).notebook_name).stem
