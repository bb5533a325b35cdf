"""The kit's labs: one folder each (see base.py for what a lab folder holds), one line each in
the registry below. ``rubric.md.j2`` and ``student_runtime.md.j2`` here are shared by every
lab's templates."""

from __future__ import annotations

from pathlib import Path

from gpukit.labs import core_mnist, cpu_vs_gpu, fashion_ann, gpu_basics
from gpukit.labs.base import LabSettings

LABS_DIR = Path(__file__).parent

# The registry: every kit lab's settings class, in course order.
KIT_LABS: tuple[type[LabSettings], ...] = (
    core_mnist.Lab,
    gpu_basics.Lab,
    fashion_ann.Lab,
    cpu_vs_gpu.Lab,
)

# What a lab folder holds for the instructor alone: the master notebook (every solution), the
# written questions' rubric, sample submissions and the demo class. A grading kernel never sees
# these (gpukit/pipeline/nbgrader_settings.py hides them); it needs only the settings and checks.
INSTRUCTOR_ONLY = ("notebook.nb.j2", "rubric.py", "fixtures", "demo")
SCAFFOLD_DIR = LABS_DIR / "_scaffold"  # gpukit new-lab's templates: a whole lab with solution


def instructor_files(lab_folders: list[Path]) -> list[Path]:
    """The instructor-only files of these lab folders, of the kit's own labs, and the scaffold:
    those that exist."""
    kit = [folder for folder in LABS_DIR.iterdir() if folder.is_dir() and
           (folder / "checks.py").is_file()]
    found = [folder / name for folder in dict.fromkeys([*kit, *lab_folders])
             for name in INSTRUCTOR_ONLY]
    return [path for path in [*found, SCAFFOLD_DIR] if path.exists()]
