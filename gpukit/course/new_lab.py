"""`gpukit new-lab NAME`: scaffold a course's own lab in ``labs/NAME/`` beside grading_config.py.

The scaffold is gpukit/labs/_scaffold/: every file there ends in ``.tmpl`` (so the kit never
imports, lints or ships it as a lab of its own) and holds the placeholder ``@lab@``, replaced by
the lab's name. The result is a small, complete lab (settings and points, master notebook, hidden
checks built on gpukit.grading, a written question with its rubric, a fixture and its expected
table) that releases and grades as it is; docs/new-lab.md explains how to make it your own.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path

from gpukit.course.layout import COURSE_LABS
from gpukit.errors import ConfigError
from gpukit.labs import KIT_LABS, SCAFFOLD_DIR

SUFFIX = ".tmpl"
PLACEHOLDER = "@lab@"
# A module name (labs.NAME) and an nbgrader assignment id (folder name, database key) at once.
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True)
class NewLab:
    name: str
    folder: Path
    files: list[Path]


def kit_lab_ids() -> set[str]:
    """The kit's labs' folder names (gpukit/labs/<id>/)."""
    return {lab().lab_id for lab in KIT_LABS}


def check_name(name: str, course_root: Path) -> None:
    """Raise ConfigError, with what to do instead, if ``name`` cannot be a new lab here."""
    if not NAME_PATTERN.fullmatch(name) or keyword.iskeyword(name):
        raise ConfigError(
            f"{name!r} cannot name a lab: it becomes the Python module labs.{name} and the "
            "assignment's folder name, so it must be a Python identifier made of letters, "
            "digits and '_', starting with a letter (at most 64), and not a Python keyword.",
            hint="Choose a name such as lab5_tensors.")
    if name in kit_lab_ids():
        raise ConfigError(
            f"{name!r} is the id of one of the kit's labs (gpukit/labs/{name}/).",
            hint=f"Choose another name; to use the kit's lab, add `from gpukit.labs import "
            f"{name}` and `{name}.Lab()` to the assignments in grading_config.py.")
    folder = course_root / COURSE_LABS / name
    if folder.exists():
        raise ConfigError(
            f"{folder} already exists: gpukit new-lab never overwrites a lab.",
            hint="Choose another name, or remove (or rename) that folder first.")


def scaffold_lab(name: str, course_root: Path) -> NewLab:
    """Copy the scaffold into ``<course_root>/labs/<name>/``, with ``name`` filled in."""
    check_name(name, course_root)
    folder = course_root / COURSE_LABS / name
    files = []
    for template in sorted(SCAFFOLD_DIR.rglob(f"*{SUFFIX}")):
        target = folder / template.relative_to(SCAFFOLD_DIR)
        target = target.with_name(target.name.removesuffix(SUFFIX).replace(PLACEHOLDER, name))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(template.read_text(encoding="utf-8").replace(PLACEHOLDER, name),
                          encoding="utf-8")
        files.append(target)
    return NewLab(name, folder, files)


def next_steps(lab: NewLab, course_root: Path) -> str:
    """What `gpukit new-lab` prints: the files, the registry line and the next commands."""
    files = "\n".join(f"  {path.relative_to(course_root)}" for path in lab.files)
    return f"""\
Created the lab {lab.name} in {lab.folder}:
{files}

Register it in {course_root / 'grading_config.py'}: add the import and the assignment
    from labs import {lab.name}
    config = Course(..., assignments=[..., {lab.name}.Lab()])

Then release it, and grade a class (the lab's own solution is graded first, as a canary):
    gpukit release
    gpukit grade SUBMISSIONS --assignment {lab.name}

Make it your own: docs/new-lab.md ("Write your own lab") in the gpukit repository."""
