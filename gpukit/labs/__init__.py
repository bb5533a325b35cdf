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
