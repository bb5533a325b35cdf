# Written by `gpukit release` from the kit's gpukit/labs/gpu_basics/checks.py
# and grading_config.py: change those, then run `gpukit release`; never edit this file.
# The grading kernel runs each test_<grade id> below on the student's live notebook
# (gpukit/grading/runner.py); `pytest autograder/gpu_basics --notebook PATH` runs them all.

"""Hidden checks of lab 2 (PyTorch on the GPU: devices, moving data, memory).

Each ``test_<name>`` is one graded cell of the notebook (grade id ``<name>``), run inside the
grading kernel by ``gpukit.grading.check``. The fixtures: ``nb`` (the student's namespace),
``lab`` (the lab's settings as released: settings.json beside this file in autograder/) and
``grader`` (the machine and policy).

Every failure message is one sentence for the student: it says what is wrong, never the check's
code or the expected value. The grader never trusts a number the notebook reports: it calls the
student's functions on tensors and models of its own and measures.

Placement is checked on a CPU-only grader too, with the *simulated device* of
gpukit/grading/placement.py (``torch.device("cpu", 0)``, with every result of ``.to(device)``
marked as on the device, and moves back to the CPU unmarking, as from a GPU).
"""

from __future__ import annotations

import copy
import gc
import math

import torch
from torch import nn

from gpukit.grading.basics import call, check_device_selection, cuda_reported, fail
from gpukit.grading.observed import (
    check_gradients,
    check_on_host,
    check_placement,
    check_ran,
    observe,
)
from gpukit.grading.values import check_keys, check_report, differing_keys, plain_number

MB = 1024 ** 2
ALLOCATION_KEYS = {"tensor_mb", "allocated_mb", "freed_by_del_mb", "reserved_after_del_mb",
                   "released_by_empty_cache_mb"}
CUDA_COUNTERS = sorted(ALLOCATION_KEYS - {"tensor_mb"})
# Reported megabytes may differ from the grader's measurement by rounding only.
MB_TOLERANCE = 0.01


# ---------------------------------------------------------------------------------------------
# Part 1: GPU status and device selection.
# ---------------------------------------------------------------------------------------------


SIMULATED_GPUS = ("Grader Simulated GPU A", "Grader Simulated GPU B")


def cuda_truth() -> dict:
    available = torch.cuda.is_available()
    count = torch.cuda.device_count()
    return {"available": available, "device_count": count,
            "names": [torch.cuda.get_device_name(i) for i in range(count)] if available else []}


def test_cuda_status(nb, grader):
    check_report("cuda_status()", call(nb.cuda_status, what="cuda_status()"), cuda_truth(),
                 "what torch.cuda sees on the grading machine: ask torch.cuda, do not type the "
                 "values")
    if not grader.gpu_available:
        # The GPU path means something on a CPU grader too: torch.cuda reports two GPUs.
        with cuda_reported(len(SIMULATED_GPUS), SIMULATED_GPUS):
            report = call(nb.cuda_status, what="cuda_status() on a machine with two GPUs")
            truth = cuda_truth()
        wrong = differing_keys(check_keys(report, truth, "cuda_status()"), truth)
        if wrong:
            fail(f"On a machine with two GPUs, cuda_status() reports {', '.join(wrong)} "
                 "differently from torch.cuda: ask torch.cuda.is_available(), device_count() "
                 "and get_device_name(i) for each GPU.")


def test_device(nb, grader):
    check_device_selection(nb, grader.gpu_available)


# ---------------------------------------------------------------------------------------------
# Part 2: moving a batch.
# ---------------------------------------------------------------------------------------------


class Probe(nn.Module):
    """A model without parameters: its forward pre-hook (placement) sees where its inputs are."""

    def forward(self, *tensors):
        return tensors


def test_move_batch(nb, grader):
    batch = {"images": torch.rand(6, 3, 8, 8), "labels": torch.randint(0, 10, (6,)),
             "weights": torch.rand(6, dtype=torch.float64), "mask": torch.rand(6) > 0.5}
    originals = {name: tensor.clone() for name, tensor in batch.items()}
    probe = Probe()

    def run(d: torch.device) -> dict:
        moved = call(nb.move_batch, batch, d, what="move_batch(batch, device)")
        if type(moved) is dict and set(moved) == set(batch) \
                and all(type(moved[name]) is torch.Tensor for name in batch):
            probe(*(moved[name] for name in batch))
        return moved

    seen = observe(nb, grader, probe, run, host=True)
    moved = seen.returned
    if type(moved) is not dict or set(moved) != set(batch):
        fail("move_batch() must return a dict with the same keys as the batch.")
    if not all(type(moved[name]) is torch.Tensor for name in batch):
        fail("move_batch() must return the batch's tensors as the dict's values.")
    for name, original in originals.items():
        tensor = moved[name]
        if tensor.dtype != original.dtype or tuple(tensor.shape) != tuple(original.shape) \
                or not torch.equal(tensor.detach().cpu(), original):
            fail(f"move_batch() changes the tensor {name!r}: moving must keep its dtype and "
                 "values.")
    if seen.placement.inputs_off_device:  # the probe's inputs: the returned tensors
        fail("move_batch() returns tensors that are not on `device`: .to(device) returns the "
             "moved tensor, so keep what it returns.")


# ---------------------------------------------------------------------------------------------
# Part 3: a forward pass on the device.
# ---------------------------------------------------------------------------------------------


def test_forward_on(nb, grader):
    model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 3))
    x = torch.randn(5, 12)
    with torch.no_grad():
        expected = copy.deepcopy(model)(x)
    seen = observe(nb, grader, model, lambda d: call(nb.forward_on, model, x, d,
                                                     what="forward_on(model, x, device)"),
                   host=True)
    output = seen.returned
    check_ran(seen, "forward_on()")
    check_placement(seen, "forward_on()", inputs="input")
    check_gradients(seen, "forward_on()", enabled=False)
    if type(output) is not torch.Tensor:
        fail("forward_on() must return the model's output as a tensor.")
    check_on_host(seen, output, "forward_on()", "the output")
    if tuple(output.shape) != tuple(expected.shape) or not torch.allclose(
            output.detach().to(expected.dtype), expected, rtol=1e-4, atol=1e-4):
        fail("forward_on() does not return model(x) for the grader's model and input.")


# ---------------------------------------------------------------------------------------------
# Part 4: memory.
# ---------------------------------------------------------------------------------------------


SIZE_CASES = [((1000, 1000), torch.float32), ((256, 1024), torch.float16),
              ((3, 5, 7), torch.int64), ((10,), torch.bool), ((128, 64), torch.float64),
              ((2, 3), torch.complex64), ((513,), torch.uint8), ((), torch.bfloat16),
              ((0, 4), torch.float32)]


def test_tensor_megabytes(nb):
    for shape, dtype in SIZE_CASES:
        tensor = torch.zeros(shape, dtype=dtype)
        truth = tensor.element_size() * tensor.numel() / MB
        reported = plain_number(call(nb.tensor_megabytes, tensor,
                                     what=f"tensor_megabytes() on a {dtype} tensor"))
        if reported is None:
            fail("tensor_megabytes() must return a number (a float).")
        if not math.isclose(reported, truth, rel_tol=1e-9, abs_tol=1e-12):
            fail(f"tensor_megabytes() is wrong for a {dtype} tensor of shape {shape}: multiply "
                 "the bytes per element (t.element_size()) by the number of elements "
                 "(t.numel()), then divide by MB.")


def allocation_report(report) -> dict:
    return check_keys(report, ALLOCATION_KEYS, "measure_allocation()")


def test_measure_allocation(nb, lab):
    """The CPU path, graded on every machine: the size, and no CUDA counters for CPU memory."""
    cpu = torch.device("cpu")
    for shape in ((lab.memory_tensor_mb * 256, 1024), (64, 1024)):
        report = allocation_report(call(nb.measure_allocation, shape, torch.float32, cpu,
                                        what="measure_allocation() on the CPU"))
        tensor_mb = plain_number(report["tensor_mb"])
        if tensor_mb is None or not math.isclose(tensor_mb, shape[0] * shape[1] * 4 / MB,
                                                 rel_tol=1e-9):
            fail("measure_allocation() reports a tensor_mb that is not the size of the tensor "
                 "it was asked to create.")
        measured = [key for key in CUDA_COUNTERS if report[key] is not None]
        if measured:
            fail(f"On a CPU device, measure_allocation() must report None for "
                 f"{', '.join(measured)}: torch.cuda's counters do not see CPU tensors.")


def settle(device: torch.device) -> None:
    """No garbage, no queued work and no cached blocks: the same start for every measurement."""
    gc.collect()
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()


def grader_measurement(shape: tuple[int, int], dtype: torch.dtype, device: torch.device) -> dict:
    """The grader's own run of the experiment the notebook describes."""
    settle(device)
    allocated_before = torch.cuda.memory_allocated(device)
    reserved_before = torch.cuda.memory_reserved(device)
    t = torch.empty(shape, dtype=dtype, device=device)
    allocated_with_t = torch.cuda.memory_allocated(device)
    size = t.element_size() * t.numel()
    del t
    allocated_after_del = torch.cuda.memory_allocated(device)
    reserved_after_del = torch.cuda.memory_reserved(device)
    torch.cuda.empty_cache()
    reserved_after_empty = torch.cuda.memory_reserved(device)
    return {
        "tensor_mb": size / MB,
        "allocated_mb": (allocated_with_t - allocated_before) / MB,
        "freed_by_del_mb": (allocated_with_t - allocated_after_del) / MB,
        "reserved_after_del_mb": (reserved_after_del - reserved_before) / MB,
        "released_by_empty_cache_mb": (reserved_after_del - reserved_after_empty) / MB,
    }


def test_gpu_memory(nb, grader, lab):
    grader.require_gpu("Measuring GPU memory with torch.cuda's counters")
    cuda = torch.device("cuda")
    shape = (lab.memory_tensor_mb * 256, 1024)
    size_bytes = shape[0] * shape[1] * 4
    settle(cuda)
    torch.cuda.reset_peak_memory_stats(cuda)
    allocated_before = torch.cuda.memory_allocated(cuda)
    reserved_before = torch.cuda.memory_reserved(cuda)
    report = call(nb.measure_allocation, shape, torch.float32, cuda,
                  what="measure_allocation() on the GPU")
    torch.cuda.synchronize(cuda)
    peak = torch.cuda.max_memory_allocated(cuda) - allocated_before
    kept = torch.cuda.memory_allocated(cuda) - allocated_before
    still_reserved = torch.cuda.memory_reserved(cuda) - reserved_before
    report = allocation_report(report)
    if peak < size_bytes:
        fail("measure_allocation() did not create its tensor on the GPU.")
    if kept >= size_bytes:
        fail("measure_allocation() keeps its tensor alive: after del t, nothing may refer to "
             "it.")
    if still_reserved >= size_bytes:
        fail("measure_allocation() leaves the freed memory in PyTorch's cache: call "
             "torch.cuda.empty_cache() after del t.")
    truth = grader_measurement(shape, torch.float32, cuda)
    wrong = [key for key in sorted(ALLOCATION_KEYS)
             if (value := plain_number(report[key])) is None
             or abs(value - truth[key]) > MB_TOLERANCE]
    if wrong:
        fail(f"measure_allocation() reports {', '.join(wrong)} differently from what the grader "
             "measured on the GPU: report the changes of the counters as the table says.")

