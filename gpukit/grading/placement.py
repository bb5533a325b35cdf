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

The way back needs help too: ``.cpu()`` of a tensor on the simulated device returns that very
tensor, still marked. :class:`HostCopies` (entered with :func:`host_semantics`) makes it return an
unmarked copy and makes ``model.cpu()`` unmark the model's parameters, so an output moved back to
the CPU can be told from one left on the device (:func:`left_on_device`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

MARK = "_gpukit_on_device"
SIMULATED_DEVICE = torch.device("cpu", 0)
HOST = torch.device("cpu")


def grading_device(gpu_available: bool) -> torch.device:
    """The device placement checks pass as ``device``: CUDA on a GPU grader, else the simulated
    device."""
    return torch.device("cuda") if gpu_available else SIMULATED_DEVICE


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

    def before_forward(module: torch.nn.Module, inputs: tuple) -> None:
        report.forward_calls += 1
        tensors = [t for t in _tensors(inputs) if t.is_floating_point() or t.dtype == torch.long]
        if not all(on_device(t, device) for t in tensors):
            report.inputs_off_device += 1
        if not all(on_device(p, device) for p in module.parameters()):
            report.params_off_device += 1

    handle = model.register_forward_pre_hook(before_forward)
    try:
        with device_moves(device, model):
            train(device)
    finally:
        handle.remove()
    return report


def on_device(tensor: torch.Tensor, device: torch.device) -> bool:
    """Whether ``tensor`` is on ``device`` (on the simulated device: whether it is marked)."""
    if device == SIMULATED_DEVICE:
        return bool(getattr(tensor, MARK, False))
    return tensor.device.type == device.type


@contextmanager
def device_moves(device: torch.device, *modules: torch.nn.Module) -> Iterator[None]:
    """Inside, moves to the simulated device are tracked (nothing to do on a real device); on
    exit the given modules' parameters are unmarked, so the models serve again unmarked."""
    if device != SIMULATED_DEVICE:
        yield
        return
    try:
        with _DeviceMarking(device):
            yield
    finally:
        for module in modules:
            _unmark([*module.parameters(), *module.buffers()])


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


# ---------------------------------------------------------------------------------------------
# The way back to the host.
# ---------------------------------------------------------------------------------------------


@contextmanager
def host_semantics(device: torch.device) -> Iterator[None]:
    """On the simulated device, moves back to the CPU behave as from a real device (enter it
    inside :func:`observe_training`'s ``train``, above its device marking)."""
    if device != SIMULATED_DEVICE:
        yield
        return
    with HostCopies():
        yield


def left_on_device(tensor: torch.Tensor, device: torch.device) -> bool:
    """Whether a result the student meant to return on the CPU is still on ``device``."""
    if device == SIMULATED_DEVICE:
        return bool(getattr(tensor, MARK, False))
    return tensor.device.type != "cpu"


class HostCopies(TorchFunctionMode):
    """``.cpu()`` and ``.to("cpu")`` return an unmarked copy, and ``Module.cpu()`` unmarks the
    parameters, as a move from a GPU back to the host would."""

    def __enter__(self):
        self._module_cpu = original = torch.nn.Module.cpu

        def module_cpu(module: torch.nn.Module) -> torch.nn.Module:
            result = original(module)
            _unmark([*module.parameters(), *module.buffers()])
            return result

        torch.nn.Module.cpu = module_cpu
        return super().__enter__()

    def __exit__(self, *exc_info: Any) -> None:
        torch.nn.Module.cpu = self._module_cpu
        super().__exit__(*exc_info)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if isinstance(result, torch.Tensor) and _to_host(func, args, kwargs):
            result = result.clone()  # the device marking below marks it: its input is marked
            if hasattr(result, MARK):
                delattr(result, MARK)
        return result


def _to_host(func, args: tuple, kwargs: dict) -> bool:
    if func is torch.Tensor.cpu:
        return True
    if func is torch.Tensor.to:
        return any(as_device(value) == HOST for value in (*args[1:], *kwargs.values()))
    return False
