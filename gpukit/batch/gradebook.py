"""Reading grades back from nbgrader's gradebook (the source of truth)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from nbgrader.api import Gradebook, MissingEntry

from gpukit.config import Lab


@dataclass(frozen=True)
class CellGrade:
    grade_id: str
    # The check's score: nbgrader's automatic one, unless a manual score overrides it (see
    # hold_for_review). None: not scored automatically (a written answer graded by hand).
    auto_score: float | None
    max_score: float
    written: bool  # a markdown answer cell, graded by hand


@dataclass(frozen=True)
class SubmissionGrades:
    student: str
    cells: dict[str, CellGrade]

    @property
    def auto_score(self) -> float:
        return sum(c.auto_score or 0 for c in self.cells.values() if not c.written)

    @property
    def auto_max(self) -> float:
        return sum(c.max_score for c in self.cells.values() if not c.written)

    @property
    def manual_max(self) -> float:
        return sum(c.max_score for c in self.cells.values() if c.written)


def read_grades(gradebook_url: str, lab: Lab, notebook: str) -> dict[str, SubmissionGrades]:
    """Per student, every graded cell's automatic score from the gradebook."""
    grades: dict[str, SubmissionGrades] = {}
    with Gradebook(gradebook_url) as gb:
        for submission in gb.assignment_submissions(lab.name):
            student = submission.student.id
            try:
                nb = gb.find_submission_notebook(notebook, lab.name, student)
            except MissingEntry:
                grades[student] = SubmissionGrades(student, {})
                continue
            grades[student] = SubmissionGrades(student, {
                g.name: CellGrade(g.name, g.score if g.auto_score is not None else None,
                                  g.max_score, g.cell.cell_type == "markdown")
                for g in nb.grades})
    return grades


def register_ungradable(gradebook_url: str, lab: Lab, student: str) -> None:
    """Put a submission nothing could be graded of into the gradebook, as `nbgrader autograde`
    leaves one whose notebook it cannot read: every cell without a score, needing a manual
    grade, so formgrader lists the student."""
    with warnings.catch_warnings(), Gradebook(gradebook_url) as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notes on nbgrader's own code
        gb.update_or_create_student(student)
        gb.update_or_create_submission(lab.name, student)
