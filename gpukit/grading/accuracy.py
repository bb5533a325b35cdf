"""A trained model's test accuracy: measured by the grader, then compared with the report.

The notebook's accuracy is never taken on trust. The grader runs the model the student built
(its own forward pass, whatever its internals: dtype, containers, raw parameters, compiled or
wrapped, its own input scaling) on the grader's copy of the test set, requires the lab's
threshold of that measurement, and accepts the reported number only within the lab's tolerance
of it. Three findings tell a model that learnt from, or recognises, the test set (each marks
the submission for an instructor's review, as integrity):

* where the grader can recompute what the model's weights define (the specified network or one
  of its usual mistakes, gpukit/grading/architecture.py), the model's own output on the test
  images must be that: a ``forward`` that looks test images up, or nudges them, is not;
* the model may not have taken gradient steps on the test images: the grading kernel keeps a
  fingerprint of every batch a step followed (gpukit_student/training.py) and the grader looks
  for its test images among them;
* the model must score about as well on training images the notebook never saw (the grading
  kernel held them back: gpukit_student/data/held_back.py) as on the test set: a model that was
  trained on the test images some other way, or recognises them, scores far higher on the test
  set. (On a small test set, such as Fashion-MNIST's generated stand-in, only a large gap is
  beyond chance; the fingerprints do not depend on the test set's size.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from gpukit.grading.architecture import (
    Network,
    Problem,
    differs_on_data,
    model_outputs,
    recomputed_outputs,
)
from gpukit.grading.basics import fail, fail_on
from gpukit.grading.values import plain_number
from gpukit_student.training import WATCH

# An honest model scores a little higher on MNIST's test set than on its training images (the
# lab-1 MLP: +0.002 to +0.007 over five epochs, on 5,000 held-back images); a model fine-tuned
# on the test set for one epoch scores +0.016, after five +0.027. The allowance covers the
# first, and chance is allowed HELD_BACK_SIGMAS standard errors of the difference on top.
HELD_BACK_ALLOWANCE = 0.005
HELD_BACK_SIGMAS = 4.0
# A model counts as trained on the test set once its gradient steps followed this fraction of
# the test images (an honest model's: none, bar the odd image that is in both sets).
TEST_STEPS_FRACTION = 0.01


def trained_model(value: Any, name: str, network: Network) -> torch.nn.Module:
    """The notebook's trained model ``name``, once it is an nn.Module (else the check fails)."""
    if not isinstance(value, torch.nn.Module):
        fail(f"`{name}` must be your trained {network.name}.")
    return value


def torch_accuracy(model: torch.nn.Module, network: Network, test: tuple[torch.Tensor, Any],
                   held_back: tuple[torch.Tensor, Any]) -> float:
    """The test accuracy of the model's own output on the grader's ``test`` images, once
    neither finding of this module's docstring holds (else IntegrityFinding)."""
    images, labels = test
    outputs = _outputs_or_fail(model, network, images)
    fail_on(differs_on_data(network, outputs, recomputed_outputs(model, network, images)))
    fail_on(stepped_on_test(WATCH.steps_on(model.parameters(), images), len(images),
                            network.name))
    accuracy = _accuracy(outputs, labels)
    held_images, held_labels = held_back
    if len(held_images):
        held = _accuracy(_outputs_or_fail(model, network, held_images), held_labels)
        fail_on(fitted_to_test(accuracy, len(images), held, len(held_images), network.name))
    return accuracy


def stepped_on_test(steps: int, test_count: int, model: str) -> Problem | None:
    """An integrity problem when the model took gradient steps on ``steps`` of the
    ``test_count`` test images, more than the odd duplicate."""
    if steps < max(1, TEST_STEPS_FRACTION * test_count):
        return None
    return Problem(f"Your {model} took gradient steps on {steps} of the {test_count} test images "
                   "(the grader recognised them among the batches it trained on): train on the "
                   "training set only, the test set measures. This submission is marked for "
                   "review.", integrity=True)


def fitted_to_test(test_accuracy: float, test_count: int, held_accuracy: float,
                   held_count: int, model: str) -> Problem | None:
    """An integrity problem when the model scores more on the test set than on the held-back
    training images than its kind and chance explain."""
    gap = test_accuracy - held_accuracy
    error = math.sqrt(_variance(test_accuracy, test_count) + _variance(held_accuracy, held_count))
    if gap <= HELD_BACK_ALLOWANCE + HELD_BACK_SIGMAS * error:
        return None
    return Problem(f"Your trained {model} scores {test_accuracy:.4f} on the test set but "
                   f"{held_accuracy:.4f} on {held_count} training images your notebook never saw "
                   "(the grader held them back): a model that learnt from the test images, or "
                   "recognises them, scores like this. This submission is marked for review.",
                   integrity=True)


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


def _outputs_or_fail(model: torch.nn.Module, network: Network,
                     images: torch.Tensor) -> torch.Tensor:
    outputs = model_outputs(model, network, images)
    if isinstance(outputs, Problem):
        fail(outputs.message)
    return outputs


def _accuracy(outputs: Any, labels: Any) -> float:
    predicted = np.asarray(outputs.argmax(dim=1) if isinstance(outputs, torch.Tensor)
                           else outputs.argmax(axis=1))
    return float((predicted == np.asarray(labels)).mean())


def _variance(accuracy: float, count: int) -> float:
    # At least one error's worth, so that two perfect scores still leave room for chance.
    p = min(max(accuracy, 1 / count), 1 - 1 / count)
    return p * (1 - p) / count
