"""Render lab templates (Jinja, StrictUndefined) into nbgrader master notebooks and rubrics."""

from __future__ import annotations

from pathlib import Path

import jinja2
import nbformat
from nbformat.notebooknode import NotebookNode

from gpukit.config import Lab, LoadedConfig
from gpukit.course.layout import CourseLayout, files_of
from gpukit.course.student_wheel import student_wheel_filename
from gpukit.errors import TemplateError
from gpukit.labs import LABS_DIR
from gpukit.notebooks.markers import strip_marker
from gpukit.notebooks.textformat import text_to_notebook

# One environment for every template: a missing parameter is an error, never a blank.
ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(LABS_DIR),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,
)


def render_text(template_name: str, params: dict) -> str:
    """Render one template; undefined parameters and syntax errors raise TemplateError."""
    try:
        return ENVIRONMENT.get_template(template_name).render(**params)
    except jinja2.UndefinedError as error:
        raise TemplateError(f"{template_name}: {error.message} (a template parameter is missing).",
                            hint="Add it to the lab's template_params() in gpukit/config.py.") \
            from error
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(f"{template_name}:{error.lineno}: {error.message}") from error


def render_notebook(lab: Lab) -> NotebookNode:
    """The nbgrader master notebook of a lab, with the lab's parameters filled in."""
    files = files_of(lab)
    params = {**lab.template_params(), "student_wheel": student_wheel_filename()}
    text = render_text(files.notebook_template, params)
    return text_to_notebook(text, origin=files.notebook_template)


def _reference_text(source: str) -> str:
    lines = strip_marker(source).splitlines()
    return "\n".join(line for line in lines if "SOLUTION -->" not in line).strip()


def render_rubric(lab: Lab, master: NotebookNode) -> str:
    """The graders' rubric: criteria per written question plus the reference answers."""
    files = files_of(lab)
    answers = {cell.id: _reference_text(cell.source) for cell in master.cells}
    questions = [dict(q, points=getattr(lab.points, q["id"])) for q in files.questions()]
    return render_text(files.rubric_template,
                       {**lab.template_params(), "template": files.template, "title": files.title,
                        "questions": questions, "answers": answers})


def write_notebook(nb: NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def render_sources(loaded: LoadedConfig) -> list[Path]:
    """Render every assignment's master notebook into source/<assignment>/."""
    layout = CourseLayout(loaded.root)
    return [write_notebook(render_notebook(lab), layout.source(lab))
            for lab in loaded.course.assignments]
