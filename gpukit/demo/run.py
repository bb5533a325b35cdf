"""The demo class: release the course, grade a few sample submissions with nbgrader, print grades.

It runs in a scratch course directory (``demo-class/`` by default) so the instructor's own
gradebook never sees the demo students.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from gpukit.config import Lab, LoadedConfig
from gpukit.course.autograde import autograde_notebooks
from gpukit.course.grades import SubmissionGrades
from gpukit.course.layout import CourseLayout
from gpukit.course.nbgrader_settings import write_shim
from gpukit.course.release import release_course
from gpukit.notebooks.edits import apply_edits_file

SUBMISSIONS_DIR = Path(__file__).parent / "submissions"

DEMO_CONFIG = '''\
# The demo class's configuration: the course's own grading_config.py with the data directory
# made absolute (this scratch directory lies elsewhere). Written by `gpukit demo`.
import dataclasses
import runpy

_course = runpy.run_path({config!r})["config"]
config = dataclasses.replace(_course, data_dir={data_dir!r})
'''


@dataclass(frozen=True)
class DemoSubmission:
    student: str
    description: str
    notebook: nbformat.NotebookNode


def demo_submissions(course_root: Path, lab: Lab) -> list[DemoSubmission]:
    """The reference solution, the untouched release, and each *.edits variant of the solution."""
    layout = CourseLayout(course_root)
    solution = nbformat.read(layout.solution(lab), as_version=4)
    submissions = [
        DemoSubmission("reference-solution", "the reference solution", solution),
        DemoSubmission("untouched-release", "the release as students get it",
                       nbformat.read(layout.release(lab), as_version=4)),
    ]
    for path in sorted(SUBMISSIONS_DIR.glob("*.edits")):
        first_line = path.read_text().splitlines()[0].lstrip("# ")
        submissions.append(DemoSubmission(path.stem, first_line, apply_edits_file(solution, path)))
    return submissions


def prepare_demo_course(loaded: LoadedConfig, workdir: Path) -> LoadedConfig:
    """A fresh scratch course in workdir, configured like the real one, with its masters."""
    from gpukit.config import load_config

    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / "grading_config.py").write_text(DEMO_CONFIG.format(
        config=str(loaded.root / "grading_config.py"), data_dir=str(loaded.data_dir)))
    write_shim(workdir)
    for tree in ("source", "autograder"):
        shutil.copytree(loaded.root / tree, workdir / tree)
    return load_config(workdir / "grading_config.py")


def grade_demo_class(loaded: LoadedConfig, workdir: Path, *, progress: bool = True
                     ) -> dict[str, dict[str, SubmissionGrades]]:
    """Autograde every demo submission of every (released) lab; grades per lab per student."""
    demo = prepare_demo_course(loaded, workdir.resolve())
    return {
        lab.name: autograde_notebooks(
            demo, lab, {s.student: s.notebook for s in demo_submissions(loaded.root, lab)},
            progress=progress)
        for lab in demo.course.assignments
    }


def format_grades(lab: str, grades: dict[str, SubmissionGrades]) -> str:
    """A plain-text table: one row per student, one column per autograded cell."""
    students = sorted(grades)
    reference = max(grades.values(), key=lambda sub: len(sub.cells), default=None)
    cell_ids = [g for g, cell in reference.cells.items() if not cell.written] if reference else []
    header = ["student", *cell_ids, "auto total"]
    rows = [header]
    for student in students:
        sub = grades[student]
        scores = [_score(sub.cells[c].auto_score if c in sub.cells else None) for c in cell_ids]
        rows.append([student, *scores, f"{sub.auto_score:g}/{sub.auto_max:g}"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [f"== {lab} (autograded points; written answers are graded by hand) =="]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def run_demo_class(loaded: LoadedConfig, workdir: Path, *, progress: bool = True) -> int:
    """`gpukit demo`: release the course, grade the demo class, print the grades."""
    release_course(loaded, progress=progress)
    results = grade_demo_class(loaded, workdir, progress=progress)
    for lab, grades in results.items():
        print(format_grades(lab, grades))
    print(f"\nThe demo course (submissions, autograded notebooks, gradebook.db) is in {workdir}.")
    return 0
