"""Release: templates -> source/ (masters) -> release/ (student) and solutions/ (with rubric)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from gpukit.config import LoadedConfig
from gpukit.course import nbgrader_steps
from gpukit.course.layout import CourseLayout
from gpukit.course.nbgrader_settings import write_shim
from gpukit.course.render import render_notebook, render_rubric, write_notebook


@dataclass(frozen=True)
class ReleasedLab:
    name: str
    source: Path
    release: Path
    solution: Path
    rubric: Path


def release_course(loaded: LoadedConfig, *, progress: bool = True) -> list[ReleasedLab]:
    """Render and release every assignment of the course; return where the files went."""
    layout = CourseLayout(loaded.root)
    write_shim(loaded.root)
    released = []
    labs = loaded.course.assignments
    with tqdm(total=3 * len(labs), desc="release", unit="step", disable=not progress) as bar:
        for lab in labs:
            bar.set_postfix_str(f"{lab.name}: render")
            master = render_notebook(lab)
            write_notebook(master, layout.source(lab))
            bar.update()
            bar.set_postfix_str(f"{lab.name}: nbgrader generate_assignment")
            nbgrader_steps.generate_assignment(loaded.root, lab.name)
            bar.update()
            bar.set_postfix_str(f"{lab.name}: nbgrader generate_solution")
            nbgrader_steps.generate_solution(loaded.root, lab.name)
            # After generate_solution: with --force it empties solutions/<lab>/ first.
            layout.rubric(lab).write_text(render_rubric(lab, master))
            bar.update()
            released.append(ReleasedLab(lab.name, layout.source(lab), layout.release(lab),
                                        layout.solution(lab), layout.rubric(lab)))
    return released
