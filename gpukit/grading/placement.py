"""Did the student's training loop put the model and every batch on ``device``?

On a GPU grader the question answers itself: run the student's ``train_torch`` with
``device=cuda`` and look at where the model's inputs and parameters are when it runs forward.

On a CPU-only grader every tensor is on the CPU whether or not the student moved it, so looking
at ``tensor.device`` proves nothing. The grader therefore *simulates a second device* on the CPU:

1. It passes ``torch.device("cpu", 0)`` as ``device``. That is a real device (tensors moved there
   compute normally), yet it compares unequal to ``torch.device("cpu")``, so a loop that
   hard-codes ``.to("cpu")`` does not count as moving to ``device``.
2. While the student's code runs, a ``TorchFunctionMode`` sees every tensor operation. The result
   of ``.to(device)`` is marked as *on the device*, and so is everything computed from a marked
   tensor (slices, arithmetic, ...), the way everything computed from a GPU tensor is on the GPU.
   A whole dataset moved once before the loop therefore counts, as it would on a GPU.
3. A forward pre-hook on the model records, for every call, whether all its input tensors and all
   its parameters are marked.

A loop that never moves its batches feeds the model unmarked tensors; a model never moved has
unmarked parameters: the same submissions that would fail (or silently run on the CPU) on a GPU
grader fail here, without a GPU.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

MARK = "_gpukit_on_device"
SIMULATED_DEVICE = torch.device("cpu", 0)


@dataclass
class PlacementReport:
    device: torch.device
    forward_calls: int = 0
    inputs_off_device: int = 0   # forward calls with an input tensor not on the device
    params_off_device: int = 0   # forward calls with a parameter not on the device
    examples: list[str] = field(default_factory=list)


def observe_training(train: Callable[[torch.device], Any], model: torch.nn.Module,
                     device: torch.device | None = None) -> PlacementReport:
    """Run ``train(device)`` and report where ``model`` saw its inputs and parameters.

    ``device`` defaults to CUDA when available, else the simulated device described above.
    """
    device = device or (torch.device("cuda") if torch.cuda.is_available() else SIMULATED_DEVICE)
    report = PlacementReport(device)
    simulated = device == SIMULATED_DEVICE

    def on_device(tensor: torch.Tensor) -> bool:
        if simulated:
            return bool(getattr(tensor, MARK, False))
        return tensor.device.type == device.type

    def before_forward(module: torch.nn.Module, inputs: tuple) -> None:
        report.forward_calls += 1
        tensors = [t for t in _tensors(inputs) if t.is_floating_point() or t.dtype == torch.long]
        if not all(on_device(t) for t in tensors):
            report.inputs_off_device += 1
        if not all(on_device(p) for p in module.parameters()):
            report.params_off_device += 1

    handle = model.register_forward_pre_hook(before_forward)
    try:
        if simulated:
            with _DeviceMarking(device):
                train(device)
        else:
            train(device)
    finally:
        handle.remove()
        if simulated:
            _unmark(model.parameters())
    return report


class _DeviceMarking(TorchFunctionMode):
    """Marks results of ``.to(device)`` and everything computed from marked tensors."""

    def __init__(self, device: torch.device):
        super().__init__()
        self.device = device
        self._module_to = torch.nn.Module.to

    def __enter__(self):
        # Module.to copies into each parameter's .data: the Parameter objects the model keeps
        # are not results of a tensor operation, so they are marked here instead.
        original, device = self._module_to, self.device

        def module_to(module: torch.nn.Module, *args: Any, **kwargs: Any) -> torch.nn.Module:
            result = original(module, *args, **kwargs)
            target = torch._C._nn._parse_to(*args, **kwargs)[0]
            if target is not None and torch.device(target) == device:
                _mark(list(module.parameters()) + list(module.buffers()))
            elif target is not None:
                _unmark(list(module.parameters()) + list(module.buffers()))
            return result

        torch.nn.Module.to = module_to
        return super().__enter__()

    def __exit__(self, *exc_info: Any) -> None:
        torch.nn.Module.to = self._module_to
        super().__exit__(*exc_info)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if func in (torch.Tensor.to, torch.Tensor.cuda) and self._targets_device(args, kwargs):
            _mark(result)
        elif func is not torch.Tensor.to and any(
                getattr(t, MARK, False) for t in _tensors((args, kwargs))):
            _mark(result)
        elif func is torch.Tensor.to and args and getattr(args[0], MARK, False) \
                and not self._moves_elsewhere(args, kwargs):
            _mark(result)  # .to(dtype) of a tensor on the device stays on the device
        return result

    def _targets_device(self, args: tuple, kwargs: dict) -> bool:
        return any(as_device(value) == self.device for value in (*args[1:], *kwargs.values()))

    def _moves_elsewhere(self, args: tuple, kwargs: dict) -> bool:
        devices = [as_device(v) for v in (*args[1:], *kwargs.values())]
        return any(d is not None and d != self.device for d in devices)


def as_device(value: Any) -> torch.device | None:
    """The device a ``.to(...)`` argument names (a torch.device or a string), else None."""
    if isinstance(value, torch.device):
        return value
    if isinstance(value, str):
        try:
            return torch.device(value)
        except RuntimeError:
            return None
    return None


def _tensors(value: Any) -> Iterable[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def _mark(value: Any) -> None:
    for tensor in _tensors(value):
        try:
            setattr(tensor, MARK, True)
        except (AttributeError, RuntimeError):  # some tensor subclasses refuse attributes
            pass


def _unmark(tensors: Iterable[torch.Tensor]) -> None:
    for tensor in tensors:
        if hasattr(tensor, MARK):
            delattr(tensor, MARK)
