"""The nbgrader commands gpukit runs, as the real CLI in a subprocess of the course root.

Running the real command line (not nbgrader's Python API) means gpukit does exactly what an
instructor typing the command would, with the course's nbgrader_config.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from gpukit.errors import NbgraderError
from gpukit.sandbox import processes

LOG_TAIL_LINES = 25
# The nbgrader processes running now (several, with grading workers): Ctrl-C ends them all.
_RUNNING: set[subprocess.Popen] = set()
_RUNNING_LOCK = threading.Lock()


class NbgraderTimeout(NbgraderError):
    """An nbgrader command outran its wall-clock limit and was killed with its kernel."""


def run_nbgrader(root: Path, *args: str, timeout_s: float | None = None,
                 runs_kernels: bool = True) -> str:
    """Run ``nbgrader ARGS`` in the course root; return its log, or raise NbgraderError.
    A command that ``runs_kernels`` has what its kernels leave behind ended afterwards (which
    also ends any other process this one started meanwhile: not for commands run side by
    side)."""
    return run_command(root, [sys.executable, "-m", "nbgrader", *args],
                       what=f"nbgrader {' '.join(args)}", timeout_s=timeout_s,
                       reap_strays=runs_kernels)


def run_command(root: Path, command: list[str], *, what: str, timeout_s: float | None = None,
                environment: dict[str, str] | None = None, reap_strays: bool = True) -> str:
    """Run an nbgrader process (``command``, called ``what`` in messages) in the course root
    with this process's environment plus ``environment``; return its log, or raise
    NbgraderError / NbgraderTimeout.

    ``reap_strays``: afterwards, end the processes a kernel left behind that were re-parented to
    this one. Off where several commands run at once (grading workers): each of their processes
    is a subreaper that ends its own strays (gpukit/batch/nbgrader_job.py).
    """
    # A session of its own: on a timeout the whole group goes, the kernel nbgrader started
    # included (killing nbgrader alone would leave a student's runaway kernel behind).
    before = set(processes.descendants(os.getpid())) if reap_strays else None
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, text=True,
                               env={**_environment(), **(environment or {})},
                               start_new_session=True)
    with _RUNNING_LOCK:
        _RUNNING.add(process)
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired as error:
        _kill_all(process, before)
        raise NbgraderTimeout(f"`{what}` ran longer than {timeout_s:.0f} s "
                              "and was stopped.",
                              hint="Raise notebook_timeout_s in grading_config.py, or find the "
                              "submission that hangs.") from error
    except BaseException:  # Ctrl-C: leave no kernel running
        _kill_all(process, before)
        raise
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(process)
    if before is not None:
        _kill_strays(before)
    return check_log(what, root, process.returncode, stdout + stderr)


def check_log(what: str, root: Path, returncode: int, log: str) -> str:
    """The log of an nbgrader process that ended, or the error its ending means."""
    if returncode != 0 and "CellTimeoutError" in log:
        # nbgrader's per-cell limit fired and the kernel did not recover (it ignored the
        # interrupt): to the student, this is the same as the wall-clock cap.
        raise NbgraderTimeout(f"`{what}`: a cell outran the per-cell limit "
                              "and did not stop when interrupted.",
                              hint="Raise cell_timeout_s in grading_config.py if the cell is "
                              "legitimate.", log=log)
    if returncode != 0:
        tail = "\n".join(log.strip().splitlines()[-LOG_TAIL_LINES:])
        raise NbgraderError(f"`{what}` failed (exit {returncode}) in "
                            f"{root}:\n{tail}",
                            hint="Read nbgrader's log above; rerun the command by hand in the "
                            "course directory for the full log.", log=log)
    return log


def generate_assignment(root: Path, assignment: str) -> str:
    return run_nbgrader(root, "generate_assignment", assignment, "--force", runs_kernels=False)


def generate_solution(root: Path, assignment: str) -> str:
    return run_nbgrader(root, "generate_solution", assignment, "--force")


def autograde(root: Path, assignment: str, *args: str, timeout_s: float | None = None) -> str:
    return run_nbgrader(root, "autograde", assignment, "--force", *args, timeout_s=timeout_s)


def start_server(command: list[str], environment: dict[str, str]) -> subprocess.Popen:
    """A long-running nbgrader process (a local worker's) that takes requests on stdin and
    answers on stdout; a session of its own, ended by kill_running() with the others."""
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True,
                               env={**_environment(), **environment}, start_new_session=True)
    with _RUNNING_LOCK:
        _RUNNING.add(process)
    return process


def forget(process: subprocess.Popen) -> None:
    """A server that ended (see start_server)."""
    with _RUNNING_LOCK:
        _RUNNING.discard(process)


def kill_running() -> None:
    """End every nbgrader process still running, with its kernel (a stopped batch)."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for process in running:
        if process.poll() is None:
            processes.kill_descendants(process.pid)
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _kill_all(process: subprocess.Popen, before: set[int] | None) -> None:
    """End nbgrader and everything it started. The kernel runs in a session of its own (as
    jupyter_client starts it), so killing nbgrader's process group alone would leave it."""
    processes.kill_descendants(process.pid)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.communicate()
    if before is not None:
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
