"""Lab 4's timing rules on the grader's own objects: the GPU rule on a simulated GPU whose clock
we choose, and the evidence a timing function's clock readings give.

The check cannot be run without a GPU, but its rule can: :class:`SimulatedGpu` is a queue of work
that runs after the host queued it, at a speed the test sets (and changes mid-run, as a GPU's
boost clock does), with events that record when the work before them finished. The timing
functions below are the lab's ways of timing, right and wrong, written against it. The verdicts
must not depend on the speed: the reference passes and every wrong way fails at every clock.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gpukit.grading.basics import CheckFailure
from gpukit.grading.timing import (
    QueuedWork,
    check_gpu_time,
    clock_readings_during,
    reading_span,
)
from gpukit.labs.cpu_vs_gpu.checks import check_measured_by_function

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


# ------------------------------------------------------------------ evidence of a timing function


@pytest.fixture
def recorded_clock(monkeypatch):
    """The cell clock's record of the notebook's clock readings, as a grading kernel has it
    (without patching this process's time module: readings are added by hand)."""
    from gpukit_student.clock import CLOCK_READINGS

    monkeypatch.setattr(CLOCK_READINGS, "installed", True)
    CLOCK_READINGS.clear()
    yield CLOCK_READINGS
    CLOCK_READINGS.clear()


def test_only_the_readings_taken_inside_the_block_count(recorded_clock):
    recorded_clock.add("perf_counter", 1.0)  # before the function ran
    with clock_readings_during() as readings:
        recorded_clock.add("perf_counter", 5.0)
        recorded_clock.add("perf_counter", 5.4)
        recorded_clock.add("time_ns", 2_000_000_000)
    assert readings == {"perf_counter": [5.0, 5.4], "time_ns": [2_000_000_000]}
    assert reading_span(readings) == pytest.approx(0.4)


@pytest.mark.parametrize("readings, reported, verdict", [
    ({"perf_counter": [5.0, 5.4]}, 0.4, "passed"),  # one difference
    ({"time": [10.0, 10.1, 10.15, 10.25, 10.3, 10.4, 10.42, 10.5]}, 0.43, "passed"),  # a sum
    ({"perf_counter": [5.3, 5.4]}, 0.4, "more than the 0.100 s"),  # a quarter, scaled by 4
    ({"perf_counter_ns": [5_300_000_000, 5_400_000_000]}, 0.4, "more than the 0.100 s"),
    ({}, 0.4, "passed"),  # no Python clock read (CUDA events): the range rule alone
])
def test_a_timing_functions_result_is_no_longer_than_its_readings(readings, reported, verdict):
    try:
        check_measured_by_function(reported, "time_training()", readings)
    except CheckFailure as failure:
        assert verdict in str(failure)
    else:
        assert verdict == "passed"
