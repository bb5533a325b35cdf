"""What every lab is: settings with an assignment name and points, and one folder of files.

A lab is a package (``gpukit/labs/<lab>/`` for the kit's, ``labs/<lab>/`` in a course for an
instructor's own; ``gpukit new-lab`` scaffolds one). Its ``__init__.py`` declares

* ``Points(LabPoints)``: one field per graded cell, named by the cell's grade id, declared with
  :func:`check_points` (autograded by a hidden check) or :func:`written_points` (graded by hand);
* ``Lab(LabSettings)``: the lab's title and datasets, and its settings.

The folder's name is the lab's one name: its module, its checks' and fixtures' place, its
notebook's file name (``<lab>.ipynb``) and, unless the course names it otherwise, its assignment
id in nbgrader.

Beside it, the folder holds what the base class finds by name: ``notebook.nb.j2`` (the master
notebook; every setting is a template parameter under its own name), ``rubric.py`` (criteria of
the written questions), ``checks.py`` (the hidden checks, ``test_<grade id>``), ``fixtures/``
(sample submissions and ``expected.py``, the table of points each must get) and ``demo/`` (the
demo class's submissions).
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from gpukit.settings import identifier, non_negative, setting


def check_points(default: float, *, help: str) -> Any:
    """Points of a cell a hidden check grades."""
    return setting(default, help=help, rule=non_negative, graded="check")


def written_points(default: float, *, help: str) -> Any:
    """Points of a written answer, graded by hand."""
    return setting(default, help=help, rule=non_negative, graded="written")


@dataclass(frozen=True)
class LabPoints:
    """Points of each graded cell of a lab, by grade id."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.metadata.get("graded") not in ("check", "written"):
                raise TypeError(f"{type(self).__qualname__}.{f.name}: declare points with "
                                "check_points(...) or written_points(...)")

    def total(self) -> float:
        return sum(self.checks().values()) + sum(self.written().values())

    def checks(self) -> dict[str, float]:
        """The autograded cells' points."""
        return self._of("check")

    def written(self) -> dict[str, float]:
        """The written answers' points (graded by hand)."""
        return self._of("written")

    def _of(self, graded: str) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.metadata.get("graded") == graded}


def assignment_name() -> Any:
    """The ``name`` field every lab has: its assignment id in nbgrader (the lab's own name
    unless the course gives another)."""
    return setting("", help="Assignment id in nbgrader (folder name under source/, release/, "
                   "submitted/); empty: the lab's own name.", rule=identifier)


def points_of(points: type[LabPoints]) -> Any:
    """The ``points`` field every lab has."""
    return setting(default_factory=points, help="Points of each graded cell.")


@dataclass(frozen=True)
class LabSettings:
    """A lab's settings: its assignment ``name``, its own settings, and its ``points``."""

    TITLE: ClassVar[str]  # what the lab teaches, for headings
    DATASETS: ClassVar[tuple[str, ...]] = ()  # what the notebook loads (checked before grading)

    if TYPE_CHECKING:  # declared by each lab: name first, points last (see the helpers above)
        name: str
        points: LabPoints

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.lab_id)

    @property
    def lab_id(self) -> str:
        """The lab's one name: its folder's (template, checks, fixtures, demo)."""
        return self.folder.name

    @property
    def folder(self) -> Path:
        return Path(sys.modules[type(self).__module__].__file__).parent

    @property
    def notebook(self) -> str:
        """The notebook's file name in source/, release/ and submitted/."""
        return f"{self.lab_id}.ipynb"

    @property
    def title(self) -> str:
        return self.TITLE

    @property
    def datasets(self) -> tuple[str, ...]:
        return self.DATASETS

    @property
    def checks_file(self) -> Path:
        return self.folder / "checks.py"

    def template_params(self) -> dict[str, Any]:
        """Every setting, under its own name, for the lab's templates."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def questions(self) -> list[dict]:
        """The written questions' grading criteria (``rubric.py``'s QUESTIONS)."""
        package = type(self).__module__
        return importlib.import_module(f"{package}.rubric").QUESTIONS
