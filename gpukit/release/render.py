"""Render lab templates (Jinja, StrictUndefined) into nbgrader master notebooks and rubrics."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2
import nbformat
from nbformat.notebooknode import NotebookNode

from gpukit.config import Lab, LoadedConfig
from gpukit.course.layout import COURSE_LABS, CourseLayout
from gpukit.release.student_wheel import student_wheel_filename
from gpukit.errors import TemplateError
from gpukit.labs import LABS_DIR
from gpukit.notebooks.markers import strip_marker
from gpukit.notebooks.textformat import text_to_notebook

NOTEBOOK_TEMPLATE = "notebook.nb.j2"
RUBRIC_TEMPLATE = "rubric.md.j2"


@functools.cache
def environment(lab_folder: Path) -> jinja2.Environment:
    """A lab's templates: its folder first, then the kit's shared ones (gpukit/labs/).
    A missing parameter is an error, never a blank."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([lab_folder, LABS_DIR]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render_text(lab: Lab, template_name: str, params: dict) -> str:
    """Render one of a lab's templates; undefined parameters and syntax errors raise
    TemplateError."""
    where = f"{lab.folder.name}/{template_name}"
    try:
        return environment(lab.folder).get_template(template_name).render(**params)
    except jinja2.UndefinedError as error:
        raise TemplateError(f"{where}: {error.message} (a template parameter is missing).",
                            hint=f"Template parameters are the settings of {lab.folder.name}'s "
                            "Lab class, under their own names.") from error
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(f"{where}:{error.lineno}: {error.message}") from error


def render_notebook(lab: Lab) -> NotebookNode:
    """The nbgrader master notebook of a lab, with the lab's parameters filled in."""
    params = {**lab.template_params(), "student_wheel": student_wheel_filename()}
    text = render_text(lab, NOTEBOOK_TEMPLATE, params)
    return text_to_notebook(text, origin=f"{lab.lab_id}/{NOTEBOOK_TEMPLATE}")


def _reference_text(source: str) -> str:
    lines = strip_marker(source).splitlines()
    return "\n".join(line for line in lines if "SOLUTION -->" not in line).strip()


def render_rubric(lab: Lab, master: NotebookNode) -> str:
    """The graders' rubric: criteria per written question plus the reference answers."""
    answers = {cell.id: _reference_text(cell.source) for cell in master.cells}
    questions = [dict(q, points=getattr(lab.points, q["id"])) for q in lab.questions()]
    return render_text(lab, RUBRIC_TEMPLATE,
                       {**lab.template_params(), "lab_folder": _shown_folder(lab),
                        "title": lab.title, "questions": questions, "answers": answers})


def _shown_folder(lab: Lab) -> str:
    """Where the lab's files are, as an instructor finds them: in the kit, or in the course."""
    if lab.folder.is_relative_to(LABS_DIR):
        return f"gpukit/labs/{lab.lab_id}"
    return f"{COURSE_LABS}/{lab.lab_id}"


def write_notebook(nb: NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def render_sources(loaded: LoadedConfig) -> list[Path]:
    """Render every assignment's master notebook into source/<assignment>/."""
    layout = CourseLayout(loaded.root)
    return [write_notebook(render_notebook(lab), layout.source(lab))
            for lab in loaded.course.assignments]
