"""GPU-only checks: the GPU policy first, then whether the trained weights are on the GPU.

``grader.require_gpu`` applies ``gpu_policy`` on a CPU grader (skip, or flag for a GPU regrade:
gpukit/labs/README.md); on a GPU grader the weights must be where training should have put them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpukit.grading.basics import fail


def check_trained_on_gpu(grader: Any, what: str, on_gpu: Callable[[], bool], *, weights: str,
                         framework: str) -> None:
    """``what`` is GPU-only; ``on_gpu()`` says whether the ``weights`` are on the GPU."""
    grader.require_gpu(what)
    if not on_gpu():
        fail(f"{weights} are not on the GPU although {framework} sees one.")
