"""A trained model's test accuracy: measured by the grader, then compared with the report.

The notebook's accuracy is never taken on trust: the grader measures the trained weights on its
own copy of the test set (for PyTorch models with its own forward pass, so the model's forward
cannot decide it), requires the lab's threshold of that measurement, and accepts the reported
number only within the lab's tolerance of it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gpukit.grading.architecture import Network, grader_logits
from gpukit.grading.checks import fail, fail_on
from gpukit.grading.values import plain_number


def trained_model(value: Any, name: str, network: Network) -> torch.nn.Module:
    """The notebook's trained model ``name``, once it is an nn.Module (else the check fails)."""
    if not isinstance(value, torch.nn.Module):
        fail(f"`{name}` must be your trained {network.name}.")
    return value


def grader_accuracy(model: torch.nn.Module, network: Network, images: torch.Tensor,
                    labels: np.ndarray) -> float:
    """The accuracy of ``model``'s weights, computed by the grader's forward pass of
    ``network`` (gpukit/grading/architecture.py), on the CPU."""
    logits, problem = grader_logits(model, network, images)
    fail_on(problem)
    return float((logits.argmax(dim=1).numpy() == labels).mean())


def check_accuracy(measured: float, reported: Any, *, name: str, threshold: float,
                   tolerance: float, framework: str = "") -> None:
    """The measured accuracy reaches ``threshold``, and the notebook's ``name`` reports it."""
    model = f"{framework} model" if framework else "model"
    if measured < threshold:
        fail(f"The grader measured your trained {model}'s test accuracy at {measured:.4f}, "
             f"below the threshold {threshold}.")
    reported = plain_number(reported)
    if reported is None:
        fail(f"`{name}` must be a number (a float).")
    if abs(reported - measured) > tolerance:
        kind = f"{framework} test accuracy" if framework else "test accuracy"
        fail(f"You report a {kind} of {reported:.4f}, but the grader measured {measured:.4f} "
             "for your trained model: report what you measured.")
