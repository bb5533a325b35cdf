"""gpu_basics: its settings and points. The rest of the lab is beside this file (see
gpukit/labs/base.py): notebook.nb.j2, rubric.py, checks.py, fixtures/, demo/."""

from __future__ import annotations

from dataclasses import dataclass

from gpukit.labs.base import (
    LabPoints,
    LabSettings,
    assignment_name,
    check_points,
    points_of,
    written_points,
)
from gpukit.settings import positive, setting


@dataclass(frozen=True)
class Points(LabPoints):
    """Points of each graded cell of the PyTorch-on-GPU basics lab (grade ids in the notebook)."""

    cuda_status: float = check_points(
        2,
        help="cuda_status() reports what torch.cuda sees (checked "
        "on a CPU grader too, with torch.cuda reporting two GPUs).",
    )
    device: float = check_points(1, help="`device` is CUDA exactly when CUDA is available.")
    move_batch: float = check_points(
        2,
        help="move_batch() returns every tensor of a batch moved to "
        "`device` (checked on a CPU grader too).",
    )
    forward_on: float = check_points(
        3,
        help="forward_on() runs the model with its parameters and "
        "input on `device`, without gradients, and returns the output "
        "on the CPU (checked on a CPU grader too).",
    )
    tensor_megabytes: float = check_points(
        2,
        help="tensor_megabytes() gives a tensor's size, "
        "checked on the grader's own tensors of several dtypes.",
    )
    measure_allocation: float = check_points(
        1,
        help="measure_allocation() on a CPU device: the "
        "tensor's size, and no CUDA statistics for it.",
    )
    gpu_memory: float = check_points(
        2,
        help="measure_allocation() on the GPU reports what the "
        "grader measures, frees its tensor and empties the cache "
        "(GPU-only check: see gpu_policy).",
    )
    q_same_device: float = written_points(
        2, help="Written: model and inputs on one device (graded by hand)."
    )
    q_empty_cache: float = written_points(
        2, help="Written: what empty_cache() frees and does not (graded by hand)."
    )


@dataclass(frozen=True)
class Lab(LabSettings):
    """Lab 2: PyTorch on the GPU (device choice, .to(device), forward pass, GPU memory)."""

    TITLE = "PyTorch on the GPU: devices, moving data, memory"

    name: str = assignment_name()
    memory_tensor_mb: int = setting(
        15,
        help="Size in MB (1 MB = 2**20 bytes) of the float32 tensor measure_allocation() "
        "creates, in the notebook and in the grader's memory checks. Above 10 MB, the CUDA "
        "caching allocator reserves whole multiples of 2 MB, so an odd size shows reserved "
        "memory exceeding allocated memory.",
        rule=positive,
    )
    points: Points = points_of(Points)
