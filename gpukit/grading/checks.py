"""Building blocks the labs' hidden checks share (autograder/<lab>/test_<lab>.py).

Failures are one sentence for the student (no traceback, no expected value); student functions
are called so that whatever they raise becomes such a sentence; device selection is checked the
same way in every lab, with its CPU path made meaningful by a simulated CUDA.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest


def fail(message: str) -> None:
    pytest.fail(message, pytrace=False)


def call(function: Callable, *args: Any, what: str) -> Any:
    """Call a student's function; any exception becomes a one-sentence failure."""
    try:
        return function(*args)
    except Exception as error:  # the student's code: report, never crash the check
        fail(f"{what} raised {type(error).__name__}: {error}")


@contextmanager
def cuda_reported_available() -> Iterator[None]:
    """Make torch.cuda report one GPU, so device selection can be tested without a GPU."""
    import torch

    with mock.patch.object(torch.cuda, "is_available", return_value=True), \
            mock.patch.object(torch.cuda, "device_count", return_value=1):
        yield


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
        with cuda_reported_available():
            chosen = call(nb.pick_device, what="pick_device()")
        if getattr(chosen, "type", None) != "cuda":
            fail("pick_device() does not choose CUDA when CUDA is available: do not hard-code "
                 "the device, ask torch.cuda.is_available().")
    elif getattr(chosen, "type", None) != "cuda":
        fail("pick_device() does not choose CUDA on a machine with a GPU.")
