"""core_mnist: its settings and points. The rest of the lab is beside this file (see
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
from gpukit.settings import fraction, positive, setting


@dataclass(frozen=True)
class Points(LabPoints):
    """Points of each graded cell of the core MNIST lab (grade ids in the notebook)."""

    environment: float = check_points(2, help="Environment report matches the grading kernel.")
    gpu_report: float = check_points(2, help="GPU report matches what TensorFlow and PyTorch see.")
    device: float = check_points(1, help="`device` is CUDA exactly when CUDA is available.")
    keras_model: float = check_points(2, help="Keras model has the required architecture.")
    keras_accuracy: float = check_points(
        4,
        help="Keras model reaches the accuracy threshold, "
        "measured by the grader, and the reported accuracy agrees.",
    )
    keras_on_gpu: float = check_points(
        1, help="Keras model trained on the GPU (GPU-only check: see gpu_policy)."
    )
    torch_model: float = check_points(2, help="PyTorch model has the required architecture.")
    torch_placement: float = check_points(
        2,
        help="train_torch moves the model and every batch to "
        "`device` (checked on a CPU grader too).",
    )
    torch_accuracy: float = check_points(
        4,
        help="PyTorch model reaches the accuracy threshold, "
        "measured by the grader, and the reported accuracy agrees.",
    )
    timing: float = check_points(
        2,
        help="Reported training times agree with the grader's clock "
        "(synchronized on a GPU) and are compared correctly.",
    )
    q_normalize: float = written_points(2, help="Written: why normalize inputs (graded by hand).")
    q_relu: float = written_points(2, help="Written: the role of ReLU (graded by hand).")
    q_gpu: float = written_points(2, help="Written: why GPUs for training (graded by hand).")
    q_compare: float = written_points(2, help="Written: compare the frameworks (graded by hand).")


@dataclass(frozen=True)
class Lab(LabSettings):
    """Lab 1: MNIST in Keras and PyTorch (environment, GPU check, two MLPs, timing, questions)."""

    TITLE = "MNIST in Keras and PyTorch"
    DATASETS = ("mnist",)

    name: str = assignment_name()
    epochs: int = setting(5, help="Training epochs for both models.", rule=positive)
    keras_accuracy_threshold: float = setting(
        0.97,
        help="Test accuracy the Keras model must reach, measured by the grader.",
        rule=fraction,
    )
    torch_accuracy_threshold: float = setting(
        0.97,
        help="Test accuracy the PyTorch model must reach, measured by the grader.",
        rule=fraction,
    )
    accuracy_tolerance: float = setting(
        0.005,
        help="How far a reported accuracy may be from the one the grader measures.",
        rule=fraction,
    )
    timing_min_fraction: float = setting(
        0.5,
        help="A reported training time must lie between this fraction of the grader's "
        "measured time for the training cell and that whole time.",
        rule=fraction,
    )
    points: Points = points_of(Points)
