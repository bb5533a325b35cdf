"""`gpukit export`: the class's scores in the files gradebooks import.

* ``csv``: one row per student, every check and written answer in its own column;
* ``canvas``: Canvas's gradebook import (Student, ID, SIS User ID, SIS Login ID, Section, then one
  column per assignment named "Name (id)" when the Canvas assignment id is known);
* ``moodle``: Moodle's grade import, keyed by a user field Moodle maps (email, idnumber or
  username), one column per assignment;
* ``gradescope``: see gpukit/reports/gradescope.py.

Scores are the gradebook's (manual over automatic), never recomputed. The LMS's own identifiers
come from a student mapping file (``--students``, a CSV with a ``student`` column holding the
nbgrader id, and columns named as the LMS names them) or, failing that, from nbgrader's student
table (names, email, lms_user_id). A student the LMS cannot identify stops the export with the
list of who is missing: a file that silently drops students is worse than none.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gpukit.errors import GpukitError
from gpukit.reports.classbook import ClassResults, StudentResult
from gpukit.untrusted import SpreadsheetWriter

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_KEYS = ("email", "idnumber", "username")


class ExportError(GpukitError):
    """An export cannot be written as asked (students missing from the mapping, a bad file)."""


@dataclass(frozen=True)
class StudentMapping:
    """LMS fields per nbgrader student id, from the instructor's mapping file."""

    rows: dict[str, dict[str, str]]

    @classmethod
    def read(cls, path: Path | None) -> StudentMapping:
        if path is None:
            return cls({})
        try:
            text = path.read_text(encoding="utf-8-sig")  # a BOM from Excel is fine
        except (OSError, UnicodeDecodeError) as error:
            raise ExportError(f"Cannot read the student mapping {path}: {error}.",
                              hint="Give a UTF-8 CSV file with a 'student' column.") from None
        reader = csv.DictReader(io.StringIO(text))
        if "student" not in (reader.fieldnames or []):
            raise ExportError(f"{path} has no 'student' column (its columns: "
                              f"{', '.join(reader.fieldnames or []) or 'none'}).",
                              hint="Add a column 'student' holding each nbgrader student id.")
        rows: dict[str, dict[str, str]] = {}
        for line, row in enumerate(reader, start=2):
            student = (row.get("student") or "").strip()
            if not student:
                raise ExportError(f"{path}:{line}: the 'student' cell is empty.")
            if student in rows:
                raise ExportError(f"{path}:{line}: student {student!r} appears twice.")
            rows[student] = {key: (value or "").strip() for key, value in row.items() if key}
        return cls(rows)

    def field(self, student: StudentResult, name: str) -> str:
        return self.rows.get(student.student, {}).get(name, "")


def checks_csv(results: ClassResults) -> str:
    """Every student's status, total and points per graded item, properly quoted."""
    out = io.StringIO()
    writer = SpreadsheetWriter(out, lineterminator="\n")
    writer.writerow(["student", "first_name", "last_name", "email", "status", "score",
                     "max_score", *(item.name for item in results.items),
                     "needs_manual_grading", "message"])
    writer.writerow(["(points possible)", "", "", "", "", "", _number(results.max_total),
                     *(_number(item.max_points) for item in results.items), "", ""])
    for s in results.students:
        waiting = [name for name, score in s.scores.items() if score.needs_manual]
        writer.writerow([s.student, s.first_name, s.last_name, s.email, s.status,
                         _number(s.total) if s.scores else "", _number(results.max_total),
                         *(_number(s.points(item.name)) for item in results.items),
                         " ".join(waiting), s.message])
    return out.getvalue()


def canvas_csv(classes: list[ClassResults], mapping: StudentMapping,
               assignment_ids: dict[str, str]) -> str:
    students = _students(classes)
    missing = [s.student for s in students.values()
               if not (mapping.field(s, "ID") or s.lms_user_id)]
    _refuse_missing(missing, "Canvas ID", "ID")
    out = io.StringIO()
    writer = SpreadsheetWriter(out, lineterminator="\n")
    titles = [f"{c.assignment} ({assignment_ids[c.assignment]})"
              if c.assignment in assignment_ids else c.assignment for c in classes]
    writer.writerow([*CANVAS_COLUMNS, *titles])
    writer.writerow(["    Points Possible", "", "", "", "",
                     *(_number(c.max_total) for c in classes)])
    scores = _totals(classes)
    for student_id, s in sorted(students.items()):
        name = mapping.field(s, "Student") or _last_first(s) or student_id
        writer.writerow([name, mapping.field(s, "ID") or s.lms_user_id,
                         mapping.field(s, "SIS User ID"), mapping.field(s, "SIS Login ID"),
                         mapping.field(s, "Section"),
                         *(totals.get(student_id, "") for totals in scores)])
    return out.getvalue()


def moodle_csv(classes: list[ClassResults], mapping: StudentMapping, key: str) -> str:
    if key not in MOODLE_KEYS:
        raise ExportError(f"Moodle identifies users by {', '.join(MOODLE_KEYS)}, not {key!r}.")
    students = _students(classes)

    def identity(s: StudentResult) -> str:
        return mapping.field(s, key) or (s.email if key == "email" else "")

    _refuse_missing([s.student for s in students.values() if not identity(s)], f"Moodle {key}",
                    key)
    out = io.StringIO()
    writer = SpreadsheetWriter(out, lineterminator="\n")
    writer.writerow([key, *(c.assignment for c in classes)])
    scores = _totals(classes)
    for student_id, s in sorted(students.items()):
        writer.writerow([identity(s), *(totals.get(student_id, "") for totals in scores)])
    return out.getvalue()


def _students(classes: Iterable[ClassResults]) -> dict[str, StudentResult]:
    found: dict[str, StudentResult] = {}
    for results in classes:
        for student in results.students:
            found.setdefault(student.student, student)
    return found


def _totals(classes: list[ClassResults]) -> list[dict[str, str]]:
    """Per assignment, the score of every student something was scored of; the others get an
    empty cell (no change in the LMS): no submission, or one that could not be graded."""
    return [{s.student: _number(s.total) for s in results.students if s.scores}
            for results in classes]


def _refuse_missing(missing: list[str], what: str, column: str) -> None:
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more"
                                           if len(missing) > 10 else "")
        raise ExportError(f"{len(missing)} students have no {what}: {shown}.",
                          hint=f"Give --students FILE, a CSV with the columns 'student' (the "
                          f"nbgrader id) and '{column}', holding every student.")


def _last_first(s: StudentResult) -> str:
    return ", ".join(part for part in (s.last_name, s.first_name) if part)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
