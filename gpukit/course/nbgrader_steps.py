"""The nbgrader commands gpukit runs, as the real CLI in a subprocess of the course root.

Running the real command line (not nbgrader's Python API) means gpukit does exactly what an
instructor typing the command would, with the course's nbgrader_config.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from gpukit.errors import NbgraderError
from gpukit.sandbox import processes

LOG_TAIL_LINES = 25


class NbgraderTimeout(NbgraderError):
    """An nbgrader command outran its wall-clock limit and was killed with its kernel."""


def run_nbgrader(root: Path, *args: str, timeout_s: float | None = None) -> str:
    """Run ``nbgrader ARGS`` in the course root; return its log, or raise NbgraderError."""
    command = [sys.executable, "-m", "nbgrader", *args]
    # A session of its own: on a timeout the whole group goes, the kernel nbgrader started
    # included (killing nbgrader alone would leave a student's runaway kernel behind).
    before = set(processes.descendants(os.getpid()))
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, text=True, env=_environment(),
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired as error:
        _kill_all(process, before)
        raise NbgraderTimeout(f"`nbgrader {' '.join(args)}` ran longer than {timeout_s:.0f} s "
                              "and was stopped.",
                              hint="Raise notebook_timeout_s in grading_config.py, or find the "
                              "submission that hangs.") from error
    except BaseException:  # Ctrl-C: leave no kernel running
        _kill_all(process, before)
        raise
    _kill_strays(before)
    log = stdout + stderr
    if process.returncode != 0 and "CellTimeoutError" in log:
        # nbgrader's per-cell limit fired and the kernel did not recover (it ignored the
        # interrupt): to the student, this is the same as the wall-clock cap.
        raise NbgraderTimeout(f"`nbgrader {' '.join(args)}`: a cell outran the per-cell limit "
                              "and did not stop when interrupted.",
                              hint="Raise cell_timeout_s in grading_config.py if the cell is "
                              "legitimate.", log=log)
    if process.returncode != 0:
        tail = "\n".join(log.strip().splitlines()[-LOG_TAIL_LINES:])
        raise NbgraderError(f"`nbgrader {' '.join(args)}` failed (exit {process.returncode}) in "
                            f"{root}:\n{tail}",
                            hint="Read nbgrader's log above; rerun the command by hand in the "
                            "course directory for the full log.", log=log)
    return log


def generate_assignment(root: Path, assignment: str) -> str:
    return run_nbgrader(root, "generate_assignment", assignment, "--force")


def generate_solution(root: Path, assignment: str) -> str:
    return run_nbgrader(root, "generate_solution", assignment, "--force")


def autograde(root: Path, assignment: str, *args: str, timeout_s: float | None = None) -> str:
    return run_nbgrader(root, "autograde", assignment, "--force", *args, timeout_s=timeout_s)


def _kill_all(process: subprocess.Popen, before: set[int]) -> None:
    """End nbgrader and everything it started. The kernel runs in a session of its own (as
    jupyter_client starts it), so killing nbgrader's process group alone would leave it."""
    processes.kill_descendants(process.pid)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.communicate()
    _kill_strays(before)


def _kill_strays(before: set[int]) -> None:
    """Processes a kernel left behind that were re-parented to this one (a subreaper)."""
    for pid in set(processes.descendants(os.getpid())) - before:
        processes.kill_descendants(pid)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def _environment() -> dict[str, str]:
    """This process's environment, with this interpreter's bin directory first on PATH.

    nbgrader runs the `alembic` executable by name to set up the gradebook; from a virtual
    environment that was not activated, it would not be found otherwise.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env
