"""Where things live in a course directory (the repository root is one)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gpukit.config import Lab

RUBRIC_NAME = "RUBRIC.md"
COURSE_LABS = "labs"  # a course's own labs, one folder each (gpukit new-lab)


@dataclass(frozen=True)
class CourseLayout:
    """Paths of one course directory; nbgrader's own names, with solutions/ for solutions."""

    root: Path

    @property
    def labs(self) -> Path:
        return self.root / COURSE_LABS

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"

    def private_to_grader(self) -> list[Path]:
        """What a grading kernel must not see: the whole course (master notebooks, solutions,
        rubrics, the gradebook, every student's files, a git history), and inside it the
        autograded/ folder once more: a kernel's own folder is put back in there, and the
        other students' folders beside it must stay hidden (see :meth:`shown_to_kernels`)."""
        return [self.root, self.root / "autograded"]

    @property
    def autograder(self) -> Path:
        """The hidden checks and frozen settings of every assignment (gpukit release)."""
        return self.root / "autograder"

    def shown_to_kernels(self) -> list[Path]:
        """What a grading kernel needs of the course, put back read-only: its autograder/ (the
        checks and the settings they read), nothing else."""
        return [self.autograder]

    def source(self, lab: Lab) -> Path:
        return self.root / "source" / lab.name / lab.notebook

    def release(self, lab: Lab) -> Path:
        return self.root / "release" / lab.name / lab.notebook

    def solution(self, lab: Lab) -> Path:
        return self.root / "solutions" / lab.name / lab.notebook

    def rubric(self, lab: Lab) -> Path:
        return self.root / "solutions" / lab.name / RUBRIC_NAME

    def submitted(self, student: str, lab: Lab) -> Path:
        return self.root / "submitted" / student / lab.name / lab.notebook

    def autograded(self, student: str, lab: Lab) -> Path:
        return self.root / "autograded" / student / lab.name / lab.notebook

    def feedback(self, student: str, lab: Lab) -> Path:
        notebook = Path(lab.notebook).with_suffix(".html").name
        return self.root / "feedback" / student / lab.name / notebook


def notebook_stem(lab: Lab) -> str:
    """The notebook's name in nbgrader's gradebook (its file name without .ipynb)."""
    return Path(lab.notebook).stem
