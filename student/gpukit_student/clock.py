"""The cell clock the setup cell installs, so that hidden checks use the grader's own clock.

The grader never takes a student's reported time on trust: the cell clock measures every cell's
wall time and remembers in which cell each watched variable (``keras_train_time``, ...) was last
assigned. A check then compares the reported number with the measured duration of that cell.
nbclient does not tell the kernel which cell id it runs, so "the cell that assigned the
variable" is how the measured cell is identified; it also follows a student who moved code.

The clock also keeps every reading the notebook takes of Python's clocks during a cell
(``time.perf_counter()``, ``time.time()``, ``time.monotonic()``, their ``_ns`` forms and
``timeit.default_timer()``: students time with any of them), so a check can tell whether a
reported time is the difference of two readings of one clock in that cell, i.e. a measurement,
rather than a number derived or typed afterwards.

And it keeps, per cell, which model parameters the cell trained (gpukit_student/training.py),
so a check can tell whether the cell that reported a training time is the one that trained the
graded model, and the last one.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from gpukit_student.training import WATCH, watch_training

__all__ = ["install_cell_clock"]  # for students; the rest is the grader's


@dataclass(frozen=True)
class CellRun:
    execution_count: int
    seconds: float
    cuda_synchronize_calls: int
    # Per clock (``"perf_counter"``, ``"time"``, ...), the values read during the cell.
    clock_readings: dict[str, tuple[float, ...]] = field(default_factory=dict)
    index: int = 0  # the how-manieth cell the clock timed (execution counts can repeat)

    def measured(self, seconds: float) -> bool:
        """Whether ``seconds`` is the difference of two readings of one clock in this cell."""
        tolerance = 1e-9 * max(1.0, abs(seconds))
        for clock, values in self.clock_readings.items():
            scale = 1e-9 if clock.endswith("_ns") else 1.0  # nanoseconds, as seconds
            readings = sorted(value * scale for value in values)
            for earlier in readings:  # is there a later reading `seconds` after this one?
                i = bisect.bisect_left(readings, earlier + seconds - 2 * tolerance)
                if any(abs((later - earlier) - seconds) <= tolerance
                       for later in readings[i:i + 8]):
                    return True
        return False


@dataclass
class CellClock:
    watched: tuple[str, ...]
    assigned_in: dict[str, CellRun] = field(default_factory=dict)
    # The cells that updated model parameters, each with those parameters (weakly held).
    trained_in: list[tuple[CellRun, Any]] = field(default_factory=list)
    _runs: itertools.count = field(default_factory=lambda: itertools.count(1))
    _started: float = 0.0
    _before: dict[str, Any] = field(default_factory=dict)
    _sync_calls_at_start: int = 0
    _namespace: dict = field(default_factory=dict)  # the kernel's user namespace

    def pre_run_cell(self, info: Any = None) -> None:
        self._before = {name: _fingerprint(self._namespace.get(name)) for name in self.watched}
        self._sync_calls_at_start = SYNC_COUNTER.calls
        CLOCK_READINGS.clear()
        self._started = _perf_counter()

    def post_run_cell(self, result: Any = None) -> None:
        seconds = _perf_counter() - self._started
        run = CellRun(getattr(result, "execution_count", None) or 0, seconds,
                      SYNC_COUNTER.calls - self._sync_calls_at_start,
                      {clock: tuple(values) for clock, values in CLOCK_READINGS.values.items()},
                      next(self._runs))
        updated = WATCH.end_of_cell()
        if updated:
            self.trained_in.append((run, updated))
        for name in self.watched:
            if _fingerprint(self._namespace.get(name)) != self._before.get(name):
                self.assigned_in[name] = run

    def cells_training(self, parameters: Any) -> list[CellRun]:
        """The cells that updated any of ``parameters``, in the order they ran."""
        parameters = list(parameters)
        return [run for run, updated in self.trained_in
                if any(parameter in updated for parameter in parameters)]


def _fingerprint(value: Any) -> tuple:
    # A re-assignment creates a new object (or a new number): identity plus value tells it apart.
    plain = value if isinstance(value, (int, float, str, type(None))) else None
    return (id(value), plain)


@dataclass
class _SyncCounter:
    """Counts torch.cuda.synchronize() calls, so a check can tell synchronized GPU timing."""

    calls: int = 0
    installed: bool = False


SYNC_COUNTER = _SyncCounter()
CLOCK_ATTRIBUTE = "_gpukit_cell_clock"


@dataclass
class _ClockReadings:
    """Per clock, the values the notebook's thread read since the current cell started.

    A cell that reads a clock in a loop keeps its first and its last HALF_KEPT readings per
    clock (a timed region starts early and ends late), so memory stays bounded.
    """

    head: dict[str, list[float]] = field(default_factory=dict)
    tail: dict[str, deque] = field(default_factory=dict)
    installed: bool = False

    def add(self, clock: str, value: float) -> None:
        head = self.head.setdefault(clock, [])
        if len(head) < HALF_KEPT:
            head.append(value)
        else:
            self.tail.setdefault(clock, deque(maxlen=HALF_KEPT)).append(value)

    @property
    def values(self) -> dict[str, list[float]]:
        return {clock: [*head, *self.tail.get(clock, ())] for clock, head in self.head.items()}

    def clear(self) -> None:
        self.head.clear()
        self.tail.clear()


CLOCK_READINGS = _ClockReadings()


HALF_KEPT = 50_000
#: The clocks of the time module whose readings are kept; timeit.default_timer is perf_counter.
RECORDED_CLOCKS = ("perf_counter", "time", "monotonic", "perf_counter_ns", "time_ns",
                   "monotonic_ns")
_perf_counter = time.perf_counter  # the clock's own readings are not the notebook's


def record_clock_readings() -> None:
    """Keep the readings of the RECORDED_CLOCKS from now on (once; the sandbox kernel calls this
    before its integrity baseline, so the recording wrappers are the functions it records)."""
    if CLOCK_READINGS.installed:
        return
    for name in RECORDED_CLOCKS:
        setattr(time, name, _recording(name, getattr(time, name)))
    import timeit

    timeit.default_timer = time.perf_counter
    CLOCK_READINGS.installed = True


def _recording(name: str, original: Any) -> Any:
    notebook_thread = threading.main_thread()  # cells run there; the kernel's I/O threads don't

    def read() -> float:
        value = original()
        if threading.current_thread() is notebook_thread:
            CLOCK_READINGS.add(name, value)
        return value

    read.__name__ = read.__qualname__ = name
    read.__doc__ = original.__doc__
    return read


def install_cell_clock(*watched: str) -> CellClock:
    """Start timing every following cell of this IPython kernel (called by the setup cell)."""
    shell = _ipython()
    clock = CellClock(tuple(watched))
    if shell is None:  # plain Python (a script): nothing to time
        return clock
    clock._namespace = shell.user_ns
    previous = getattr(shell, CLOCK_ATTRIBUTE, None)
    if previous is not None:  # the setup cell ran twice: replace, never stack, the hooks
        shell.events.unregister("pre_run_cell", previous.pre_run_cell)
        shell.events.unregister("post_run_cell", previous.post_run_cell)
    shell.events.register("pre_run_cell", clock.pre_run_cell)
    shell.events.register("post_run_cell", clock.post_run_cell)
    setattr(shell, CLOCK_ATTRIBUTE, clock)
    count_cuda_synchronize()
    record_clock_readings()
    watch_training()
    return clock


def current_clock() -> CellClock | None:
    return getattr(_ipython(), CLOCK_ATTRIBUTE, None)


def _ipython() -> Any:
    """The running IPython shell, or None (a plain script, or no IPython installed)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def count_cuda_synchronize() -> None:
    """Count torch.cuda.synchronize() calls from now on (once; the sandbox kernel calls this
    before its integrity baseline, so the counting wrapper is the function it records)."""
    try:
        import torch
    except ImportError:  # a lab without PyTorch: nothing to count
        return
    if SYNC_COUNTER.installed or not torch.cuda.is_available():
        return
    original = torch.cuda.synchronize

    def synchronize(*args: Any, **kwargs: Any) -> Any:
        SYNC_COUNTER.calls += 1
        return original(*args, **kwargs)

    torch.cuda.synchronize = synchronize
    SYNC_COUNTER.installed = True
