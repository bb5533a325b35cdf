"""cpu_vs_gpu: its settings and points. The rest of the lab is beside this file (see
gpukit/labs/base.py): notebook.nb.j2, rubric.py, checks.py, fixtures/, demo/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpukit.labs.base import (
    LabPoints,
    LabSettings,
    assignment_name,
    check_points,
    points_of,
    written_points,
)
from gpukit.settings import positive, setting


def batch_sizes(value: Any) -> str | None:
    ok = (
        isinstance(value, list)
        and len(value) >= 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        and value == sorted(set(value))
    )
    return None if ok else "a list of at least two increasing positive integers"


@dataclass(frozen=True)
class Points(LabPoints):
    """Points of each graded cell of the CPU-vs-GPU lab (grade ids in the notebook)."""

    device: float = check_points(1, help="`device` is CUDA exactly when CUDA is available.")
    cnn_model: float = check_points(2, help="AlexNetStyle has the required layers and shapes.")
    training_timing: float = check_points(
        3,
        help="time_training() trains on `device`, excludes its "
        "warm-up steps and times exactly the requested batches "
        "(checked against the grader's clock on a model of known "
        "step time).",
    )
    inference_timing: float = check_points(
        2,
        help="time_inference() runs in eval mode under "
        "torch.no_grad() on `device` and times exactly the "
        "requested batches after its warm-up.",
    )
    timing_report: float = check_points(
        2,
        help="The reported times are times the notebook measured "
        "(differences of clock readings taken in the cells that set "
        "them); GPU times are given exactly when there is a GPU.",
    )
    gpu_timing: float = check_points(
        2,
        help="On the GPU, the timing functions wait for the GPU "
        "(torch.cuda.synchronize) before reading the clock (GPU-only "
        "check: see gpu_policy).",
    )
    bar_chart: float = check_points(
        2,
        help="plot_times() draws one labelled bar per measured time "
        "(checked on the grader's numbers).",
    )
    amp: float = check_points(
        2,
        help="train_amp() runs the forward pass under torch.autocast on "
        "`device`, scales the loss with a GradScaler and times its batches.",
    )
    sweep: float = check_points(
        2,
        help="sweep_batch_sizes() times a fresh model per batch size and "
        "reports images per second.",
    )
    q_speedup: float = written_points(
        2, help="Written: interpreting the CPU and GPU times (graded by hand)."
    )
    q_amp: float = written_points(2, help="Written: what mixed precision does (graded by hand).")
    q_batch_size: float = written_points(
        2, help="Written: throughput against batch size (graded by hand)."
    )


@dataclass(frozen=True)
class Lab(LabSettings):
    """Lab 4: CPU versus GPU with an AlexNet-style CNN on Fashion-MNIST (timing done right,
    a bar chart, mixed precision, a batch-size sweep)."""

    TITLE = "CPU versus GPU with an AlexNet-style CNN"
    DATASETS = ("fashion-mnist",)

    name: str = assignment_name()
    batch_size: int = setting(64, help="Batch size of the timed training runs.", rule=positive)
    train_batches: int = setting(
        20,
        help="Batches each timed training run measures (after its warm-up). Fixed, so "
        "training on a CPU grader stays short whatever the dataset's size.",
        rule=positive,
    )
    inference_batch_size: int = setting(
        256, help="Batch size of the timed inference runs.", rule=positive
    )
    inference_batches: int = setting(
        10, help="Batches each timed inference run measures.", rule=positive
    )
    sweep_batch_sizes: list[int] = setting(
        default_factory=lambda: [32, 64, 128, 256],
        help="Batch sizes of the sweep.",
        rule=batch_sizes,
    )
    sweep_batches: int = setting(
        5, help="Batches timed per batch size in the sweep.", rule=positive
    )
    points: Points = points_of(Points)
