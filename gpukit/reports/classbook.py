"""One assignment's results, as the gradebook and the grading records hold them.

Scores come from nbgrader's gradebook only (a manual score overrides the automatic one, as in
formgrader); the records add what the gradebook cannot hold: each submission's status and
message, each check's outcome and message, the written answers' completeness, the grader's
times. A student in the gradebook without a record (graded by plain `nbgrader autograde`) still
gets a row; a record without gradebook scores (an invalid submission) too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from gpukit.batch.records import SubmissionRecord
from gpukit.config import Lab, LoadedConfig
from gpukit.course.layout import notebook_stem
from gpukit.errors import GpukitError


@dataclass(frozen=True)
class GradedItem:
    """A graded cell of the notebook: a hidden check, or a written answer graded by hand."""

    name: str
    max_points: float
    written: bool


@dataclass(frozen=True)
class Score:
    points: float          # what nbgrader's gradebook counts (manual over automatic)
    needs_manual: bool     # still waiting for an instructor in formgrader


@dataclass
class StudentResult:
    student: str           # nbgrader's student id
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_user_id: str = ""
    scores: dict[str, Score] = field(default_factory=dict)  # empty: nothing in the gradebook
    record: SubmissionRecord | None = None
    feedback: Path | None = None

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def status(self) -> str:
        if self.record is not None:
            return self.record.status
        return "graded" if self.scores else "not graded"

    @property
    def message(self) -> str:
        return self.record.message if self.record is not None else ""

    @property
    def total(self) -> float:
        return sum(score.points for score in self.scores.values())

    def points(self, item: str) -> float | None:
        score = self.scores.get(item)
        return score.points if score is not None else None

    def check_status(self, item: str) -> str:
        if self.record is not None:
            for check in self.record.checks:
                if check.check == item:
                    return check.status
        return ""


@dataclass
class ClassResults:
    course_id: str
    assignment: str
    items: list[GradedItem]
    students: list[StudentResult]
    output: Path  # the grading output folder (grades.csv, records/, feedback/)

    @property
    def max_total(self) -> float:
        return sum(item.max_points for item in self.items)

    @property
    def checks(self) -> list[GradedItem]:
        return [item for item in self.items if not item.written]

    @property
    def written(self) -> list[GradedItem]:
        return [item for item in self.items if item.written]

    def scored(self) -> list[StudentResult]:
        """Students whose notebook has scores in the gradebook."""
        return [student for student in self.students if student.scores]


def load_class(loaded: LoadedConfig, lab: Lab, output: Path | None = None) -> ClassResults:
    """The results of ``lab``: its gradebook rows, joined with the records in ``output``."""
    output = output or loaded.root / "graded" / lab.name
    if loaded.gradebook_file is not None and not loaded.gradebook_file.is_file():
        raise GpukitError(f"No gradebook at {loaded.gradebook_file}.",
                          hint=f"Grade the class first: gpukit grade SUBMISSIONS "
                          f"--assignment {lab.name}")
    records = _records(output)
    items: dict[str, GradedItem] = {}
    students: dict[str, StudentResult] = {}
    with Gradebook(loaded.gradebook_url) as gb:
        try:
            assignment = gb.find_assignment(lab.name)
        except MissingEntry:
            raise GpukitError(f"The gradebook holds no assignment {lab.name!r}.",
                              hint="Release and grade it first: gpukit release, then gpukit "
                              "grade.") from None
        for notebook in assignment.notebooks:
            if notebook.name == notebook_stem(lab):
                for cell in notebook.grade_cells:
                    items[cell.name] = GradedItem(cell.name, cell.max_score,
                                                  cell.cell_type == "markdown")
        for submission in gb.assignment_submissions(lab.name):
            who = submission.student
            result = StudentResult(who.id, who.first_name or "", who.last_name or "",
                                   who.email or "", who.lms_user_id or "")
            try:
                grades = list(gb.find_submission_notebook(notebook_stem(lab), lab.name,
                                                          who.id).grades)
            except MissingEntry:
                grades = []
            # A notebook nothing was scored of (invalid, stopped, the grader's failure) has no
            # score, not zero: an export leaves the LMS unchanged for it.
            if any(g.auto_score is not None or g.manual_score is not None for g in grades):
                result.scores = {g.name: Score(float(g.score), bool(g.needs_manual_grade))
                                 for g in grades}
            students[who.id] = result
        for student in records.keys() - students.keys():  # graded, but nothing in the gradebook
            try:
                who = gb.find_student(student)
                students[student] = StudentResult(student, who.first_name or "",
                                                  who.last_name or "", who.email or "",
                                                  who.lms_user_id or "")
            except MissingEntry:
                students[student] = StudentResult(student)
    for student, record in records.items():
        students[student].record = record
    for result in students.values():
        feedback = output / "feedback" / f"{result.student}.html"
        result.feedback = feedback if feedback.is_file() else None
    ordered = sorted(items.values(), key=lambda item: (item.written, _order(item, lab)))
    return ClassResults(loaded.course.course_id, lab.name, ordered,
                        sorted(students.values(), key=lambda s: s.student), output)


def _order(item: GradedItem, lab: Lab) -> int:
    names = list(getattr(lab.points, "__dataclass_fields__", {}))
    return names.index(item.name) if item.name in names else len(names)


def _records(output: Path) -> dict[str, SubmissionRecord]:
    folder = output / "records"
    if not folder.is_dir():
        return {}
    records = {}
    for path in sorted(folder.glob("*.json")):
        try:
            records[path.stem] = SubmissionRecord.from_json(path.read_text())
        except (ValueError, TypeError) as error:
            raise GpukitError(f"{path} is not a grading record ({error}).",
                              hint="Grade the class again with gpukit grade --regrade, or "
                              "remove the file.") from None
    return records
