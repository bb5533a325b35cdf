"""A lab's sample class and the points each of its submissions must get.

The sample class is the lab's demo class (the reference solution, the untouched release and
``demo/*.edits``) and its fixtures (``fixtures/*.edits``), each an edit of the solution named for
what it exercises. The lab's ``fixtures/expected.py`` holds the points each gets: EXPECTED on a
CPU grader, and GPU, the rows that differ on a GPU grader. The test suite's lab tiers
(tests/lab_tier.py) and scripts/gpu-acceptance --grade both grade it through `gpukit grade`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import nbformat

from gpukit.config import Lab
from gpukit.demo.run import demo_submissions
from gpukit.notebooks.edits import apply_edits_file


def sample_class(course_root: Path, lab: Lab) -> dict[str, nbformat.NotebookNode]:
    """Every sample submission of ``lab`` by student, as edits of the solution released in
    ``course_root``."""
    notebooks = {s.student: s.notebook for s in demo_submissions(course_root, lab)}
    solution = notebooks["reference-solution"]
    for path in sorted((lab.folder / "fixtures").glob("*.edits")):
        notebooks[path.stem] = apply_edits_file(solution, path)
    return notebooks


def expected_of(lab: Lab | type[Lab]) -> ModuleType:
    """A lab's table: its folder's ``fixtures/expected.py``."""
    module = lab.__module__ if isinstance(lab, type) else type(lab).__module__
    return importlib.import_module(f"{module}.fixtures.expected")


def expected_points(lab: Lab, *, gpu: bool) -> dict[str, dict[str, float]]:
    """The points of every check each sample submission must get, on a GPU grader or not."""
    expected = expected_of(lab)
    return {**expected.EXPECTED, **(getattr(expected, "GPU", {}) if gpu else {})}
