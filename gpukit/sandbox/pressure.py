"""How busy the grading machine's CPUs were over a span of time: Linux's pressure stall
information (/proc/pressure/cpu, "some": the time at least one runnable task waited for a CPU).

A grading time limit is wall-clock time. On a machine that also runs something else (a second
batch, another user's training), honest work runs slower and may reach a limit it would never
reach alone: that limit is the grader's doing, not the student's. The kit therefore measures the
pressure over the span a limit stopped (a cell, a whole notebook); past OVERLOADED the stop is
reported as the grading environment's and graded again when the machine is quiet
(gpukit/batch/stages.py), never scored.

Where the kernel offers no pressure file (Linux before 4.20, or PSI turned off), nothing is
measured and a limit is the notebook's, as it always was: `gpukit grade`'s pre-flight says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

PRESSURE_FILE = Path("/proc/pressure/cpu")
# The share of a span during which some task waited for a CPU, past which the machine counts as
# overloaded. Measured on the 2-core grader: grading alone (two workers) 0-5 %; with a second
# batch or CPU-bound programs beside it, 40-90 % (bench/README.md, "Grades under load").
OVERLOADED = 0.25


def stalled_microseconds() -> int | None:
    """The machine's total CPU stall time so far ("some"), or None where it is not measured."""
    try:
        for line in PRESSURE_FILE.read_text().splitlines():
            if line.startswith("some"):
                return int(line.rsplit("total=", 1)[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


@dataclass(frozen=True)
class Span:
    """A span of time, from its start: how much of it the machine was stalled."""

    began: float
    stalled: int | None

    @classmethod
    def start(cls) -> Span:
        return cls(time.monotonic(), stalled_microseconds())

    def stalled_share(self) -> float | None:
        """The share of the span so far during which some task waited for a CPU (0-1)."""
        now = stalled_microseconds()
        elapsed = time.monotonic() - self.began
        if now is None or self.stalled is None or elapsed <= 0:
            return None
        return min(1.0, (now - self.stalled) / 1e6 / elapsed)


def overloaded(share: float | None) -> bool:
    return share is not None and share > OVERLOADED


def wait_until_quiet(max_wait_s: float, window_s: float = 2.0) -> float | None:
    """Wait (at most ``max_wait_s``) until a ``window_s`` window passes without overload;
    return the last window's stalled share (None where it is not measured)."""
    deadline = time.monotonic() + max_wait_s
    while True:
        span = Span.start()
        time.sleep(window_s)
        share = span.stalled_share()
        if not overloaded(share) or time.monotonic() >= deadline:
            return share
