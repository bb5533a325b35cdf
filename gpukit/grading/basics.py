"""Building blocks the labs' hidden checks share (gpukit/labs/<lab>/checks.py).

Failures are one sentence for the student (no traceback, no expected value); student functions
are called so that whatever they raise becomes such a sentence; device selection is checked the
same way in every lab, with its CPU path made meaningful by a simulated CUDA.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any
from unittest import mock


class CheckFailure(AssertionError):
    """A check's verdict on the notebook: one sentence for the student (the grading runner
    reports it without a traceback). An AssertionError, so the checks run under pytest or, as
    scripts/gpu-acceptance calls them, without it."""


def fail(message: str) -> None:
    raise CheckFailure(message)


class IntegrityFinding(Exception):
    """Raised by a check that found the notebook's code behaving differently on the data it is
    graded with than anywhere else: the check scores zero and the submission is reported with
    status "integrity", for an instructor's review (gpukit.grading.runner)."""


def fail_on(problem: Any) -> None:
    """Fail with a :class:`gpukit.grading.architecture.Problem`'s sentence, if there is one; an
    integrity problem marks the submission for review."""
    if problem is None:
        return
    if problem.integrity:
        raise IntegrityFinding(problem.message)
    fail(problem.message)


def call(function: Callable, *args: Any, what: str) -> Any:
    """Call a student's function; any exception becomes a one-sentence failure."""
    try:
        return function(*args)
    except Exception as error:  # the student's code: report, never crash the check
        fail(f"{what} raised {type(error).__name__}: {error}")


@contextmanager
def cuda_reported(gpus: int, names: Sequence[str] = ()) -> Iterator[None]:
    """Make torch.cuda report ``gpus`` GPUs (named ``names``, else "Grader Simulated GPU i"), so
    the code paths of machines with one or several GPUs are graded on a CPU grader too.

    Only what code asks *about* GPUs is simulated (availability, count, names, properties, as
    ``nn.DataParallel``'s constructor reads them); moving a tensor to CUDA still fails.
    """
    import torch

    names = tuple(names) or tuple(f"Grader Simulated GPU {i}" for i in range(gpus))

    def index_of(device: Any = None) -> int:
        if isinstance(device, str):
            device = torch.device(device)
        index = device.index if isinstance(device, torch.device) else device
        return index or 0

    def properties(device: Any = None) -> SimpleNamespace:
        return SimpleNamespace(name=names[index_of(device)], total_memory=80 * 1024 ** 3,
                               multi_processor_count=132, major=9, minor=0)

    with mock.patch.object(torch.cuda, "is_available", return_value=gpus > 0), \
            mock.patch.object(torch.cuda, "device_count", return_value=gpus), \
            mock.patch.object(torch.cuda, "get_device_name",
                              side_effect=lambda device=None: names[index_of(device)]), \
            mock.patch.object(torch.cuda, "get_device_properties", side_effect=properties):
        yield


@contextmanager
def notebook_global(nb: Any, name: str, value: Any) -> Iterator[None]:
    """Set one of the notebook's globals for the duration of a check."""
    saved = getattr(nb, name)
    nb.set(name, value)
    try:
        yield
    finally:
        nb.set(name, saved)


def notebook_device(nb: Any, device: Any):
    """Set the notebook's global `device` for a check: code that reads the global is as right
    as code that uses its argument."""
    return notebook_global(nb, "device", device)


def check_device_selection(nb: Any, gpu_available: bool) -> None:
    """`device` is CUDA exactly when CUDA is available, and `pick_device()` chooses it.

    On a CPU grader the same function is asked again with torch.cuda reporting a GPU: a
    hard-coded "cpu" fails there as it would on a GPU machine.
    """
    import torch

    device = nb.device
    if not isinstance(device, torch.device):
        fail("`device` must be a torch.device.")
    expected = "cuda" if gpu_available else "cpu"
    if device.type != expected:
        fail(f"`device` is {device.type!r} on a machine where CUDA is "
             f"{'available' if gpu_available else 'not available'}.")
    chosen = call(nb.pick_device, what="pick_device()")
    if not gpu_available:
        with cuda_reported(1):
            chosen = call(nb.pick_device, what="pick_device()")
        if getattr(chosen, "type", None) != "cuda":
            fail("pick_device() does not choose CUDA when CUDA is available: do not hard-code "
                 "the device, ask torch.cuda.is_available().")
    elif getattr(chosen, "type", None) != "cuda":
        fail("pick_device() does not choose CUDA on a machine with a GPU.")
