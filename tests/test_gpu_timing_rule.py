"""Lab 4's GPU timing rule, on a simulated GPU whose clock we choose.

The check cannot be run without a GPU, but its rule can: :class:`SimulatedGpu` is a queue of work
that runs after the host queued it, at a speed the test sets (and changes mid-run, as a GPU's
boost clock does), with events that record when the work before them finished. The timing
functions below are the lab's ways of timing, right and wrong, written against it. The verdicts
must not depend on the speed: the reference passes and every wrong way fails at every clock.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gpukit.grading.checks import CheckFailure
from gpukit.grading.timing import QueuedWork, check_gpu_time

STEP_S = 0.1  # the work the grader queues per step, at the speed it was calibrated for
WARMUP, TIMED = 2, 4
HOST_STEP_S = 0.002  # the host's own time per step (Python, launching kernels)


class SimulatedGpu:
    """Work queued by the host runs in order, later; time flows on the host's clock."""

    def __init__(self, speed: Callable[[int], float]):
        self.speed = speed  # the GPU's speed for each step, relative to the calibration
        self.host = 0.0
        self.busy_until = 0.0
        self.marks: list[tuple[str, float]] = []
        self.steps = 0

    def step(self) -> None:
        """One paced step of the grader's model: marks around work of STEP_S / speed."""
        self.host += HOST_STEP_S
        self._mark("start")
        self.busy_until = max(self.busy_until, self.host) + STEP_S / self.speed(self.steps)
        self._mark("end")
        self.steps += 1

    def _mark(self, kind: str) -> None:
        self.marks.append((kind, max(self.busy_until, self.host)))

    def synchronize(self) -> None:
        self.host = max(self.host, self.busy_until)

    def clock(self) -> float:
        return self.host


def reference(gpu: SimulatedGpu) -> float:
    for _ in range(WARMUP):
        gpu.step()
    gpu.synchronize()
    start = gpu.clock()
    for _ in range(TIMED):
        gpu.step()
    gpu.synchronize()
    return gpu.clock() - start


def never_synchronizes(gpu: SimulatedGpu) -> float:
    for _ in range(WARMUP):
        gpu.step()
    start = gpu.clock()
    for _ in range(TIMED):
        gpu.step()
    return gpu.clock() - start


def synchronizes_only_at_the_end(gpu: SimulatedGpu) -> float:
    for _ in range(WARMUP):
        gpu.step()
    start = gpu.clock()  # the warm-up's work is still queued
    for _ in range(TIMED):
        gpu.step()
    gpu.synchronize()
    return gpu.clock() - start


def reads_the_clock_before_synchronizing(gpu: SimulatedGpu) -> float:
    for _ in range(WARMUP):
        gpu.step()
    gpu.synchronize()
    start = gpu.clock()
    for _ in range(TIMED):
        gpu.step()
    stop = gpu.clock()
    gpu.synchronize()
    return stop - start


def synchronizes_every_step(gpu: SimulatedGpu) -> float:  # slower, but right
    for _ in range(WARMUP):
        gpu.step()
        gpu.synchronize()
    start = gpu.clock()
    for _ in range(TIMED):
        gpu.step()
        gpu.synchronize()
    return gpu.clock() - start


SPEEDS = {
    "as calibrated": lambda step: 1.0,
    "boost clock (1.56x)": lambda step: 1969 / 1261,  # what an H200 did after its first call
    "half speed": lambda step: 0.5,
    "boost from the timed steps on": lambda step: 1.0 if step < WARMUP else 1.56,
    "slows down while timed": lambda step: 1.56 if step < WARMUP else 0.7,
}


def verdict(function: Callable[[SimulatedGpu], float], speed: Callable[[int], float]) -> str:
    gpu = SimulatedGpu(speed)
    reported = function(gpu)
    try:
        check_gpu_time(reported, QueuedWork.from_marks(gpu.marks, WARMUP), "time_training()")
    except CheckFailure as failure:
        return str(failure)
    return "passed"


@pytest.mark.parametrize("speed", SPEEDS)
@pytest.mark.parametrize("function", [reference, synchronizes_every_step])
def test_correct_timing_passes_at_any_gpu_clock(function, speed):
    assert verdict(function, SPEEDS[speed]) == "passed"


@pytest.mark.parametrize("speed", SPEEDS)
@pytest.mark.parametrize("function, message", [
    (never_synchronizes, "stops the clock before the GPU has finished its work"),
    (reads_the_clock_before_synchronizing, "stops the clock before the GPU has finished"),
    (synchronizes_only_at_the_end, "also times the warm-up's queued work"),
])
def test_each_timing_mistake_fails_at_any_gpu_clock(function, message, speed):
    assert message in verdict(function, SPEEDS[speed])


def test_the_gpus_record_of_the_work():
    gpu = SimulatedGpu(lambda step: 1.0)
    reference(gpu)
    work = QueuedWork.from_marks(gpu.marks, WARMUP)
    assert work.step_s == pytest.approx(STEP_S)
    assert work.timed_s == pytest.approx(TIMED * STEP_S)
    # the timed work starts when the host queued it, a host step after the warm-up ended
    assert work.window_s == pytest.approx(TIMED * STEP_S + HOST_STEP_S)
