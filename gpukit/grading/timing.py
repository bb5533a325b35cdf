"""Times the notebook reports, checked against the grader's cell clock.

The lab's setup cell installs the cell clock (gpukit_student/clock.py): it times every cell and
remembers the cell that last assigned each watched variable, with the clock readings taken in it.
A reported time must come from that cell; the lab says how strictly: within a fraction of the
cell's duration (``min_fraction``), or exactly the difference of two of its clock readings.
Every checked time is noted beside the clock's (``grader.note_time``) for the class report.

On a GPU, a timing function's result is judged against the GPU's own events instead
(:class:`QueuedWork`, :func:`check_gpu_time`).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from gpukit.grading.basics import fail
from gpukit.grading.values import plain_number

# The cell also runs a few statements around the timed region.
CELL_SLACK_S = 0.05


def reported_seconds(nb: Any, name: str) -> float:
    """The notebook's ``name`` as a plain positive number (else the check fails)."""
    reported = plain_number(getattr(nb, name))
    if reported is None or reported <= 0:
        fail(f"`{name}` must be a positive number of seconds.")
    return reported


def check_against_clock(grader: Any, name: str, reported: float, *, hint: str,
                        min_fraction: float | None = None) -> Any:
    """The clock's record (a CellRun) of the cell that set ``name``, once ``reported`` agrees
    with it: between ``min_fraction`` of the cell's duration and the whole of it, or, without
    ``min_fraction``, a measurement taken in the cell. ``hint``: where to measure, if the
    clock never saw it."""
    run = grader.clock.assigned_in.get(name) if grader.clock else None
    if run is None:
        fail(f"The grader did not see `{name}` being measured: {hint}")
    grader.note_time(name, reported, run.seconds)
    if min_fraction is not None:
        low = min_fraction * run.seconds - CELL_SLACK_S
        if not low <= reported <= run.seconds + CELL_SLACK_S:
            fail(f"`{name}` = {reported:.2f} s does not match the grader's clock: the cell that "
                 f"set it ran for {run.seconds:.2f} s. Report the time you measured.")
    elif reported > run.seconds + CELL_SLACK_S or not run.measured(reported):
        fail(f"`{name}` = {reported:.3f} s is not a time measured in the cell that set it (that "
             f"cell ran for {run.seconds:.3f} s): report what your timing function returned.")
    return run


def check_trained_in(grader: Any, name: str, run: Any, model: Any, model_name: str) -> None:
    """The cell that measured ``name`` (the clock's ``run``) is the one that trained ``model``
    (updated its parameters), and no later cell trained it further: a time measured around a
    throw-away model, or around part of the training, is not the graded model's. A model whose
    training the clock did not see (parameters updated through ``.data``, which PyTorch does
    not count) is not judged."""
    cells = grader.clock.cells_training(model.parameters()) if grader.clock else []
    if not cells:
        return
    if all(cell.index != run.index for cell in cells):
        fail(f"`{name}` was measured in a cell that did not train `{model_name}` (the grader saw "
             "it trained elsewhere): time the training of the model you hand in.")
    if cells[-1].index > run.index:
        fail(f"`{model_name}` was trained further after the cell that measured `{name}`: time "
             "all of its training, in that cell.")


@dataclass(frozen=True)
class QueuedWork:
    """What the GPU's own events recorded of a timed run, in seconds of the GPU's clock.

    A timing function on a GPU reads the host's clock while the GPU works through a queue. The
    verdict on its result needs no calibrated GPU speed (a GPU's clock changes: a cold H200 ran
    the same queued kernel at 1,261 M cycles/s, then at 1,969 M from the second call on), only
    the order of things: a result shorter than the timed work itself means the clock stopped
    before the GPU finished; one longer than everything since the warm-up's work ended means the
    warm-up's queued work was timed too."""

    timed_s: float   # from the start of the first timed step's work to the end of the last work
    window_s: float  # from the end of the warm-up's last work to the end of the last work
    step_s: float    # one timed step's own work (the median)

    @classmethod
    def from_marks(cls, marks: list[tuple[str, float]], warmup: int) -> QueuedWork:
        """``marks``: ("start" | "end", seconds) in the order the host recorded them, each the
        GPU's time when the work queued before it had finished; a "start" opens each step."""
        starts = [i for i, (kind, _) in enumerate(marks) if kind == "start"]
        first = starts[warmup]
        last = marks[-1][1]
        warmup_end = max((t for kind, t in marks[:first] if kind == "end"), default=marks[0][1])
        steps = [next(t for kind, t in marks[i + 1:] if kind == "end") - marks[i][1]
                 for i in starts[warmup:]]
        return cls(last - marks[first][1], last - warmup_end, statistics.median(steps))


def check_gpu_time(reported: float | None, work: QueuedWork, what: str) -> None:
    """``reported`` (seconds a timing function returned) against the GPU's record of its work.

    Between the two bounds lies what any correct function returns, whatever the GPU's speed and
    however the host's steps interleave with the GPU's: at least the timed work (its clock
    started before the first timed step was queued and stopped after the last one finished), at
    most everything since the warm-up's work ended, plus the host's own half step of slack."""
    if reported is None or reported < work.timed_s - 0.1 * work.step_s:
        fail(f"{what} on the GPU stops the clock before the GPU has finished its work: call "
             "torch.cuda.synchronize() before reading the clock.")
    if reported > work.window_s + 0.5 * work.step_s:
        fail(f"{what} on the GPU also times the warm-up's queued work: call "
             "torch.cuda.synchronize() before starting the clock too.")


@contextmanager
def clock_readings_during() -> Iterator[dict[str, list[float]] | None]:
    """The readings of Python's clocks the code in the block took (a dict filled when the block
    ends), as the student runtime's cell clock records them (gpukit_student/clock.py); None
    where no recording is installed (outside a grading kernel), so no rule rests on them."""
    from gpukit_student.clock import CLOCK_READINGS, HALF_KEPT

    if not CLOCK_READINGS.installed:
        yield None
        return
    before = {clock: len(values) for clock, values in CLOCK_READINGS.values.items()}
    taken: dict[str, list[float]] = {}
    try:
        yield taken
    finally:
        for clock, values in CLOCK_READINGS.values.items():
            # Past HALF_KEPT readings the record keeps the first and last ones only: all count.
            start = before.get(clock, 0) if len(values) < HALF_KEPT else 0
            taken[clock] = values[start:]


def reading_span(readings: dict[str, list[float]]) -> float | None:
    """The longest time between the first and the last reading of one clock (seconds), or None
    when no clock was read. A function's result can be no longer than the span of its own
    readings, whether it returns one difference or sums one per step (d2l's Timer does)."""
    spans = [(max(values) - min(values)) * (1e-9 if clock.endswith("_ns") else 1.0)
             for clock, values in readings.items() if values]
    return max(spans) if spans else None
