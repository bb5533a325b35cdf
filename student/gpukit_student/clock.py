"""The cell clock the setup cell installs, so that hidden checks use the grader's own clock.

The grader never takes a student's reported time on trust: the cell clock measures every cell's
wall time and remembers in which cell each watched variable (``keras_train_time``, ...) was last
assigned. A check then compares the reported number with the measured duration of that cell.
nbclient does not tell the kernel which cell id it runs, so "the cell that assigned the
variable" is how the measured cell is identified; it also follows a student who moved code.

The clock also keeps every ``time.perf_counter()`` reading the notebook takes during a cell, so a
check can tell whether a reported time is the difference of two readings of that cell, i.e. a
measurement, rather than a number derived or typed afterwards.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["install_cell_clock"]  # for students; the rest is the grader's


@dataclass(frozen=True)
class CellRun:
    execution_count: int
    seconds: float
    cuda_synchronize_calls: int
    clock_readings: tuple[float, ...] = ()  # time.perf_counter() values read during the cell

    def measured(self, seconds: float) -> bool:
        """Whether ``seconds`` is the difference of two clock readings taken in this cell."""
        readings = sorted(self.clock_readings)
        tolerance = 1e-9 * max(1.0, abs(seconds))
        return any(abs((later - earlier) - seconds) <= tolerance
                   for i, earlier in enumerate(readings) for later in readings[i + 1:])


@dataclass
class CellClock:
    watched: tuple[str, ...]
    assigned_in: dict[str, CellRun] = field(default_factory=dict)
    _started: float = 0.0
    _before: dict[str, Any] = field(default_factory=dict)
    _sync_calls_at_start: int = 0
    _namespace: dict = field(default_factory=dict)  # the kernel's user namespace

    def pre_run_cell(self, info: Any = None) -> None:
        self._before = {name: _fingerprint(self._namespace.get(name)) for name in self.watched}
        self._sync_calls_at_start = SYNC_COUNTER.calls
        CLOCK_READINGS.values.clear()
        self._started = _perf_counter()

    def post_run_cell(self, result: Any = None) -> None:
        seconds = _perf_counter() - self._started
        run = CellRun(getattr(result, "execution_count", None) or 0, seconds,
                      SYNC_COUNTER.calls - self._sync_calls_at_start,
                      tuple(CLOCK_READINGS.values))
        for name in self.watched:
            if _fingerprint(self._namespace.get(name)) != self._before.get(name):
                self.assigned_in[name] = run


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
    """The time.perf_counter() values read since the current cell started."""

    values: list[float] = field(default_factory=list)
    installed: bool = False


CLOCK_READINGS = _ClockReadings()
MAX_READINGS_PER_CELL = 100_000  # a loop reading the clock cannot grow this without bound
_perf_counter = time.perf_counter  # the clock's own readings are not the notebook's


def record_clock_readings() -> None:
    """Keep time.perf_counter()'s readings from now on (once; the sandbox kernel calls this
    before its integrity baseline, so the recording wrapper is the function it records)."""
    if CLOCK_READINGS.installed:
        return
    original = time.perf_counter

    def perf_counter() -> float:
        value = original()
        if len(CLOCK_READINGS.values) < MAX_READINGS_PER_CELL:
            CLOCK_READINGS.values.append(value)
        return value

    time.perf_counter = perf_counter
    CLOCK_READINGS.installed = True


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
