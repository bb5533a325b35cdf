"""The hold for review: a scan's findings keep a submission's automatic points at zero until an
instructor looks (the pipeline's HoldForReview, and gpukit grade's writer, which applies it to the
course's gradebook)."""

from __future__ import annotations

from nbgrader.api import Gradebook

HOLD_COMMENT = "Held for review: the grader's scan flagged this notebook's code"


def hold_for_review(gb: Gradebook, assignment: str, notebook: str, student: str,
                    findings: list[str]) -> None:
    """Score every automatically graded cell of a submission 0 until an instructor looks.

    The override is a manual score in nbgrader's gradebook, marked as needing manual grading, and
    the notebook is flagged: formgrader lists it, and the instructor restores the automatic
    scores there if the flag was wrong. The automatic scores are kept. nbgrader keeps manual
    scores when it autogrades again, so the hold stays until the instructor lifts it. The
    findings go into the notebook's first comment (formgrader shows it beside the answer).
    """
    nb = gb.find_submission_notebook(notebook, assignment, student)
    nb.flagged = True
    for grade in nb.grades:
        if grade.auto_score is not None and grade.cell.cell_type == "code":
            grade.manual_score = 0.0
            grade.needs_manual_grade = True
    comments = sorted(nb.comments, key=lambda comment: comment.name)
    if comments:
        comments[0].auto_comment = f"{HOLD_COMMENT}: {'; '.join(findings)}."
    gb.db.commit()
