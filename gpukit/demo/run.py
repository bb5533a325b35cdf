"""The demo class: release the course, grade a few sample submissions as `gpukit grade` does.

It runs in a scratch course directory (``demo-class/`` by default) so the instructor's own
gradebook never sees the demo students. Its data directory holds the course's datasets (linked,
never copied) and, where the course has no Fashion-MNIST (it cannot be downloaded offline), the
kit's generated stand-in for it, so the labs that train on Fashion-MNIST are graded too.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from gpukit.batch.records import SubmissionRecord
from gpukit.batch.stages import grade_directory, summary
from gpukit.config import Lab, LoadedConfig
from gpukit.course.layout import CourseLayout
from gpukit.notebooks.edits import apply_edits_file
from gpukit.pipeline.nbgrader_settings import write_shim
from gpukit.release.release import release_course
from gpukit_student.data import DATASETS, write_fashion_standin

DEMO_CONFIG = '''\
# The demo class's configuration: the course's own grading_config.py with the demo's own data
# directory (the course's datasets, plus a Fashion-MNIST stand-in if needed). Written by
# `gpukit demo`.
import dataclasses
import runpy
import sys

sys.path.append({root!r})  # the course's own labs/, if it has some
_course = runpy.run_path({config!r})["config"]
config = dataclasses.replace(_course, data_dir={data_dir!r})
'''


@dataclass(frozen=True)
class DemoSubmission:
    student: str
    notebook: nbformat.NotebookNode


def demo_submissions(course_root: Path, lab: Lab) -> list[DemoSubmission]:
    """The reference solution, the untouched release, and each variant of the solution in
    the lab's ``demo/*.edits``."""
    layout = CourseLayout(course_root)
    solution = nbformat.read(layout.solution(lab), as_version=4)
    submissions = [
        DemoSubmission("reference-solution", solution),
        DemoSubmission("untouched-release", nbformat.read(layout.release(lab), as_version=4)),
    ]
    for path in sorted((lab.folder / "demo").glob("*.edits")):
        submissions.append(DemoSubmission(path.stem, apply_edits_file(solution, path)))
    return submissions


def prepare_demo_course(loaded: LoadedConfig, workdir: Path) -> LoadedConfig:
    """A fresh scratch course in workdir, configured like the real one, with its masters and
    the checks that grade them."""
    from gpukit.config import load_config

    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    data_dir = prepare_demo_data(loaded.data_dir, workdir / "data")
    (workdir / "grading_config.py").write_text(DEMO_CONFIG.format(
        root=str(loaded.root), config=str(loaded.root / "grading_config.py"),
        data_dir=str(data_dir)))
    write_shim(workdir)
    shutil.copytree(loaded.root / "source", workdir / "source")
    shutil.copytree(loaded.root / "autograder", workdir / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return load_config(workdir / "grading_config.py")


def prepare_demo_data(course_data: Path, data_dir: Path) -> Path:
    """The demo's data directory: links to the course's datasets, and the generated Fashion-MNIST
    stand-in when the course has no Fashion-MNIST."""
    data_dir.mkdir(parents=True)
    for dataset in DATASETS:
        if (course_data / dataset).is_dir():
            (data_dir / dataset).symlink_to((course_data / dataset).resolve())
    if not (data_dir / "fashion-mnist").exists():
        write_fashion_standin(data_dir)
    return data_dir


def grade_demo_class(loaded: LoadedConfig, workdir: Path, *, progress: bool = True
                     ) -> dict[str, tuple[list[SubmissionRecord], Path]]:
    """Grade every demo submission of every (released) lab with `gpukit grade`'s own path;
    per lab, the records and the folder the outputs went to."""
    demo = prepare_demo_course(loaded, workdir.resolve())
    results = {}
    for lab in demo.course.assignments:
        folder = demo.root / "demo-submissions" / lab.name
        folder.mkdir(parents=True)
        for submission in demo_submissions(loaded.root, lab):
            nbformat.write(submission.notebook, str(folder / f"{submission.student}.ipynb"))
        output = demo.root / "graded" / lab.name
        results[lab.name] = (grade_directory(demo, lab, folder, output, progress=progress),
                             output)
    return results


def format_grades(lab: str, records: list[SubmissionRecord]) -> str:
    """A plain-text table: one row per student, one column per autograded check."""
    checks = next(([c.check for c in r.checks] for r in records if r.checks), [])
    rows = [["student", "status", *checks, "auto total"]]
    for record in sorted(records, key=lambda r: r.student):
        points = {c.check: f"{c.points:g}" for c in record.checks}
        rows.append([record.student, record.status, *(points.get(c, "-") for c in checks),
                     f"{record.score:g}/{record.max_score:g}" if record.checks else "-"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"== {lab} (autograded points; written answers are graded by hand) =="]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def run_demo_class(loaded: LoadedConfig, workdir: Path, *, progress: bool = True) -> int:
    """`gpukit demo`: release the course, grade the demo class, print the grades."""
    from gpukit.config import load_config
    from gpukit.reports.page import write_index, write_report

    release_course(loaded, progress=progress)
    for lab, (records, output) in grade_demo_class(loaded, workdir, progress=progress).items():
        print(format_grades(lab, records))
        print(summary(records, output))
    demo = load_config(workdir.resolve() / "grading_config.py")
    index = write_index(demo, [write_report(demo, lab) for lab in demo.course.assignments])
    print(f"\nThe demo course (submissions, autograded notebooks, gradebook.db) is in {workdir};"
          f"\nthe class reports: open {index} in a browser.")
    return 0
