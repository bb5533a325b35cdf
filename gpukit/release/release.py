"""Release: templates -> source/ (masters) -> release/ (student), solutions/ (with rubric) and
autograder/ (the hidden checks that grade, with the lab's frozen settings: autograder.py).

A lab whose notebook imports the student runtime also gets the runtime's wheel in source/, which
nbgrader copies into release/ and solutions/ with the notebook.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nbformat.notebooknode import NotebookNode
from tqdm import tqdm

from gpukit.config import LoadedConfig
from gpukit.course import nbgrader_steps
from gpukit.course.layout import CourseLayout
from gpukit.pipeline.nbgrader_settings import write_shim
from gpukit.release.autograder import write_autograder
from gpukit.release.render import render_notebook, render_rubric, write_notebook
from gpukit.release.student_wheel import (
    PACKAGE,
    StudentWheel,
    build_student_wheel,
    imports_student_runtime,
)


@dataclass(frozen=True)
class ReleasedLab:
    name: str
    source: Path
    release: Path
    solution: Path
    rubric: Path
    autograder: Path


def release_course(loaded: LoadedConfig, *, progress: bool = True) -> list[ReleasedLab]:
    """Render and release every assignment of the course; return where the files went."""
    layout = CourseLayout(loaded.root)
    write_shim(loaded.root)
    wheel = build_student_wheel()
    released = []
    labs = loaded.course.assignments
    with tqdm(total=3 * len(labs), desc="release", unit="step", disable=not progress) as bar:
        for lab in labs:
            bar.set_postfix_str(f"{lab.name}: render")
            master = render_notebook(lab)
            write_notebook(master, layout.source(lab))
            _place_student_wheel(wheel, master, layout.source(lab).parent)
            bar.update()
            bar.set_postfix_str(f"{lab.name}: nbgrader generate_assignment")
            nbgrader_steps.generate_assignment(loaded.root, lab.name)
            bar.update()
            bar.set_postfix_str(f"{lab.name}: nbgrader generate_solution")
            nbgrader_steps.generate_solution(loaded.root, lab.name)
            # After generate_solution: with --force it empties solutions/<lab>/ first.
            layout.rubric(lab).write_text(render_rubric(lab, master))
            autograder = write_autograder(loaded, lab)
            bar.update()
            released.append(ReleasedLab(lab.name, layout.source(lab), layout.release(lab),
                                        layout.solution(lab), layout.rubric(lab), autograder))
    return released


def _place_student_wheel(wheel: StudentWheel, master: NotebookNode, folder: Path) -> None:
    """The wheel goes beside a notebook whose given or answer cells import the runtime."""
    code = [cell.source for cell in master.cells if cell.cell_type == "code"
            and not cell.metadata.get("nbgrader", {}).get("grade")]
    if imports_student_runtime(code):
        wheel.write_into(folder)
    else:  # a lab that stopped importing it
        for old in folder.glob(f"{PACKAGE}-*.whl"):
            old.unlink()
