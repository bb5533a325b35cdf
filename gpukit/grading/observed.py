"""What a student's function did with the grader's model, observed at every forward pass.

The labs check placement the same way: hand the student's function a model of the grader's, run
it with the grading device (the simulated one of gpukit/grading/placement.py on a CPU grader) as
both its argument and the notebook's global ``device``, and record at each forward pass the
training mode, the gradient state and whether inputs and parameters were on ``device``.
:func:`observe` is that scaffold, once; the ``check_*`` functions below are the verdicts, each
with one sentence per kind of mistake, whichever lab and function it is about.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from gpukit.grading.basics import fail, notebook_device
from gpukit.grading.placement import (
    PlacementReport,
    grading_device,
    host_semantics,
    left_on_device,
    observe_training,
)
from gpukit_student.clock import _perf_counter as grader_clock


@dataclass
class Observation:
    """One run of a student's function on the grader's model."""

    device: torch.device
    placement: PlacementReport
    training: list[bool] = field(default_factory=list)      # module.training, per forward
    grad_enabled: list[bool] = field(default_factory=list)  # torch.is_grad_enabled(), per forward
    returned: Any = None           # what ``run`` returned
    returned_at: float = 0.0       # perf_counter() as soon as it returned
    # The readings of Python's clocks taken while it ran, where a timing check records them
    # (gpukit.grading.timing.clock_readings_during); None: not recorded.
    readings: dict[str, list[float]] | None = None

    @property
    def forward_calls(self) -> int:
        return self.placement.forward_calls


def observe(nb: Any, grader: Any, model: torch.nn.Module, run: Callable[[torch.device], Any],
            *, host: bool = False, pause_gc: bool = False) -> Observation:
    """Run ``run(device)`` (which calls the student's function) with the grading device, and
    observe ``model``'s forward passes.

    ``host``: moves back to the CPU behave as from a real device, so a result left on the
    device can be told (:func:`check_on_host`). ``pause_gc``: no garbage collection while the
    function runs, for timing functions (a collection would look like a timing error).
    """
    device = grading_device(grader.gpu_available)
    seen = Observation(device, PlacementReport(device))

    def record(module: torch.nn.Module, inputs: tuple) -> None:
        seen.training.append(module.training)
        seen.grad_enabled.append(torch.is_grad_enabled())

    def observed_run(d: torch.device) -> None:
        if pause_gc:
            gc.disable()
        try:
            with host_semantics(d) if host else contextlib.nullcontext():
                seen.returned = run(d)
            seen.returned_at = grader_clock()  # never among the notebook's clock readings
        finally:
            if pause_gc:
                gc.enable()

    hook = model.register_forward_pre_hook(record)
    try:
        with notebook_device(nb, device):
            seen.placement = observe_training(observed_run, model, device)
    finally:
        hook.remove()
    return seen


def check_ran(seen: Observation, what: str) -> None:
    if seen.forward_calls == 0:
        fail(f"{what} never runs the model.")


def check_model_placed(seen: Observation, what: str) -> None:
    if seen.placement.params_off_device:
        fail(f"{what} runs a model whose parameters are not on `device` (a model that was never "
             "moved to `device`): call model.to(device) first.")


# How the inputs are called: the batches of a loop, or the single input of one forward pass.
_INPUTS = {"batches": ("batches that are", "every batch"), "input": ("an input that is", "it")}


def check_inputs_placed(seen: Observation, what: str, inputs: str = "batches") -> None:
    off, calls = seen.placement.inputs_off_device, seen.forward_calls
    if off:
        these, each = _INPUTS[inputs]
        count = f" ({off} of {calls} forward passes)" if calls > 1 else ""
        fail(f"{what} feeds the model {these} not on `device`{count}: move {each} with "
             ".to(device) and keep the tensor .to() returns.")


def check_placement(seen: Observation, what: str, inputs: str = "batches") -> None:
    """The model's parameters and every input on ``device`` at every forward pass."""
    check_model_placed(seen, what)
    check_inputs_placed(seen, what, inputs)


def check_mode(seen: Observation, what: str, *, training: bool) -> None:
    """Every forward pass in training mode (``training``) or in evaluation mode."""
    if training and not all(seen.training):
        fail(f"{what} runs the model outside training mode: call model.train() first.")
    if not training and any(seen.training):
        fail(f"{what} runs the model in training mode: call model.eval() first.")


def check_gradients(seen: Observation, what: str, *, enabled: bool) -> None:
    """Every forward pass with gradient tracking (``enabled``, training) or without it."""
    if enabled and not all(seen.grad_enabled):
        fail(f"{what} runs the model with gradient tracking off: train outside "
             "torch.no_grad().")
    if not enabled and any(seen.grad_enabled):
        fail(f"{what} runs the model with gradient tracking on: run it inside "
             "`with torch.no_grad():`.")


def check_on_host(seen: Observation, tensor: torch.Tensor, what: str, result: str) -> None:
    """A result meant for the CPU was moved back from ``device`` (observe with ``host``)."""
    if left_on_device(tensor, seen.device):
        fail(f"{what} returns {result} on `device`: move the result back to the CPU with "
             ".cpu().")
