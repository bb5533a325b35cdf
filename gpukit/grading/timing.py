"""Times the notebook reports, checked against the grader's cell clock.

The lab's setup cell installs the cell clock (gpukit_student/clock.py): it times every cell and
remembers the cell that last assigned each watched variable, with the clock readings taken in it.
A reported time must come from that cell; the lab says how strictly: within a fraction of the
cell's duration (``min_fraction``), or exactly the difference of two of its clock readings.
Every checked time is noted beside the clock's (``grader.note_time``) for the class report.
"""

from __future__ import annotations

from typing import Any

from gpukit.grading.checks import fail
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
