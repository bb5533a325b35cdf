"""fashion_ann: its settings and points. The rest of the lab is beside this file (see
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
    """Points of each graded cell of the Fashion-MNIST ANN lab (grade ids in the notebook)."""

    device: float = check_points(1, help="`device` is CUDA exactly when CUDA is available.")
    ann_model: float = check_points(
        2, help="FashionANN has the required layers and returns logits."
    )
    multi_gpu: float = check_points(
        2,
        help="prepare_model() moves the model to `device` and wraps it "
        "in nn.DataParallel exactly when there are several GPUs (checked "
        "on a CPU grader with torch.cuda reporting 0, 1 and 2 GPUs).",
    )
    training_setup: float = check_points(
        1,
        help="The model is trained with nn.CrossEntropyLoss and "
        "an Adam optimizer over its own parameters.",
    )
    train_epoch: float = check_points(
        3,
        help="train_epoch() trains in training mode on `device`, "
        "steps the optimizer on every batch, covers the data once and "
        "returns the mean loss (checked on the grader's own model).",
    )
    predict: float = check_points(
        3,
        help="predict() runs in eval mode under torch.no_grad() on "
        "`device` and returns the predicted classes on the CPU (checked "
        "on the grader's own model, with dropout).",
    )
    accuracy: float = check_points(
        4,
        help="The trained model reaches the accuracy threshold, "
        "measured by the grader, and the reported accuracy agrees.",
    )
    trained_on_gpu: float = check_points(
        1, help="The trained model's parameters are on the GPU (GPU-only check: see gpu_policy)."
    )
    q_softmax: float = written_points(
        2, help="Written: why no softmax before CrossEntropyLoss (graded by hand)."
    )
    q_eval_no_grad: float = written_points(
        2, help="Written: model.eval() versus torch.no_grad() (graded by hand)."
    )
    q_multi_gpu: float = written_points(
        2, help="Written: DataParallel and DistributedDataParallel (graded by hand)."
    )


@dataclass(frozen=True)
class Lab(LabSettings):
    """Lab 3: a Fashion-MNIST ANN in PyTorch on the GPU (nn.Module, training, inference,
    several GPUs)."""

    TITLE = "A Fashion-MNIST ANN on the GPU"
    DATASETS = ("fashion-mnist",)

    name: str = assignment_name()
    epochs: int = setting(5, help="Training epochs.", rule=positive)
    batch_size: int = setting(64, help="Training batch size.", rule=positive)
    learning_rate: float = setting(1e-3, help="Adam's learning rate.", rule=positive)
    accuracy_threshold: float = setting(
        0.85,
        help="Test accuracy the trained ANN must reach, measured by the grader. Published "
        "multi-layer perceptrons reach about 0.87-0.89 on Fashion-MNIST (0.877 for the MLP of "
        "the dataset's benchmark), so 0.85 leaves room for seeds and hardware.",
        rule=fraction,
    )
    accuracy_tolerance: float = setting(
        0.005,
        help="How far the reported accuracy may be from the one the grader measures.",
        rule=fraction,
    )
    points: Points = points_of(Points)
