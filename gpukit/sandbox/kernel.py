"""``python -m gpukit.sandbox.kernel -f CONNECTION_FILE``: a grading kernel and its supervisor.

1. Enter the namespaces (isolation.py) while this process still has one thread.
2. Fork. The child becomes the IPython kernel: it dies with its supervisor, holds back a
   slice of every training split from the notebook (gpukit_student/data/held_back.py), takes
   the integrity baseline (gpukit/grading/integrity.py) as the first cell starts, and serves
   nbgrader over the connection file's (Unix) sockets.
3. The parent supervises from outside the kernel, where student code cannot reach it: every
   tenth of a second it counts the kernel's whole process tree, and a thread beside it measures
   the tree's memory; past the process or memory limit it stops the kernel, saying why on the
   grader's log; it forwards at most LOG_LIMIT bytes of the
   kernel's own stdout/stderr there (an fd-level flood must not fill the grader's memory); it
   ignores SIGINT (nbgrader interrupts the kernel through the process group) and ends the
   whole tree on SIGTERM or when the kernel exits.

Started ahead (warm.py): when the grading process runs a kernel server, this command is only a
launcher: the server, which imported the grader's modules once, forks the supervisor, and the
steps above run there from step 1, with this process's environment, folder and standard
streams; this process stands in for the kernel towards jupyter_client (signals, exit).
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import threading
from dataclasses import dataclass

from gpukit.sandbox import processes
from gpukit.sandbox.settings import SandboxSettings

STOP_MARKER = "gpukit-sandbox: stopped the kernel:"
PEAK_MARKER = "gpukit-sandbox: the kernel used at most"
NOTE_MARKER = "gpukit-sandbox:"
LOG_LIMIT = 64 * 1024
POLL_S = 0.1


def main(argv: list[str]) -> int:
    from gpukit.sandbox import warm

    address = os.environ.get(warm.SERVER_VARIABLE)
    if address:
        code = warm.launch(address, argv)
        if code is not None:
            return code
        _log(f"{NOTE_MARKER} no kernel server at {address!r}: the kernel starts cold")
    try:  # the supervisor goes when nbgrader goes (and takes the kernel with it)
        processes.die_with_parent()
    except OSError:
        pass
    return run(argv)


def run(argv: list[str], launcher: socket.socket | None = None) -> int:
    """Steps 1-3 in this process: isolate, fork the kernel, supervise it. ``launcher``: the
    connection of a warm start's launcher (warm.py), which relays jupyter_client's signals and
    is told the kernel's exit status; its end ends the kernel."""
    settings = SandboxSettings.from_env()
    if settings.isolate:
        _isolate(settings, argv)
    read_end, write_end = os.pipe()
    kernel = os.fork()
    if kernel == 0:
        if launcher is not None:
            launcher.close()
        os.close(read_end)
        os.dup2(write_end, 1)
        os.dup2(write_end, 2)
        os.close(write_end)
        _run_kernel(argv)
        os._exit(0)
    os.close(write_end)
    return _supervise(kernel, read_end, settings, launcher)


def _isolate(settings: SandboxSettings, argv: list[str]) -> None:
    from gpukit.sandbox.isolation import IsolationUnavailable, isolate

    try:
        done = isolate(settings.read_only, settings.hidden, os.getcwd(),
                       [*settings.shown, *_connection_file(argv)])
    except (IsolationUnavailable, OSError) as error:
        _log(f"{NOTE_MARKER} isolation unavailable, grading without it: {error}")
        return
    os.environ["GPUKIT_SANDBOX_APPLIED"] = "; ".join(done)


def _connection_file(argv: list[str]) -> list[str]:
    """The kernel's connection file (``-f PATH``), which it reads after isolation: kept visible
    wherever jupyter_client wrote it."""
    return [argv[argv.index("-f") + 1]] if "-f" in argv[:-1] else []


# --------------------------------------------------------------------------------------------
# The kernel (child).
# --------------------------------------------------------------------------------------------


def load_grader() -> None:
    """Import the kernel and what the checks use (seconds: PyTorch above all). Touches no
    device and starts no thread, so that a kernel server can fork kernels after it."""
    import ipykernel.kernelapp  # noqa: F401

    from gpukit.grading import integrity
    integrity.import_checked_modules()


def _run_kernel(argv: list[str]) -> None:
    import resource

    processes.die_with_parent()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no multi-GB core dumps
    load_grader()  # nothing to do in a kernel forked from a kernel server
    from ipykernel.kernelapp import IPKernelApp

    # Import what the checks use before the student can: the baseline records the real ones.
    from gpukit.grading import integrity
    integrity.preload()
    # A slice of each training split, which the notebook never sees and the accuracy checks
    # measure the trained models on (gpukit_student/data/held_back.py).
    from gpukit_student.data.held_back import GRADING_SEED, hold_back_training_rows
    hold_back_training_rows(GRADING_SEED)
    app = IPKernelApp.instance()
    app.initialize(argv)
    # The kernelspec starts Python with -P, so nothing beside the submission was importable while
    # the grader loaded; the notebook's folder goes on sys.path now, as in any Jupyter kernel.
    sys.path.insert(0, "")
    integrity.baseline_at_first_cell(app.shell)
    app.start()


# --------------------------------------------------------------------------------------------
# The supervisor (parent).
# --------------------------------------------------------------------------------------------


def _supervise(kernel: int, kernel_output: int, settings: SandboxSettings,
               launcher: socket.socket | None = None) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: _end(kernel, 143))
    try:
        processes.become_subreaper()
    except OSError as error:
        _log(f"{NOTE_MARKER} cannot follow orphaned processes: {error}")
    me, forwarded, limit_bytes = os.getpid(), 0, settings.memory_limit_mb * 1024 * 1024
    peak = Peak()
    meter = MemoryMeter(limit_bytes)
    meter.start()
    watched = [kernel_output, *([launcher] if launcher is not None else [])]
    while True:
        readable, _, _ = select.select(watched, [], [], POLL_S)
        if kernel_output in readable:
            chunk = os.read(kernel_output, 65536)
            if chunk and forwarded < LOG_LIMIT:
                os.write(2, chunk[:LOG_LIMIT - forwarded])
            forwarded += len(chunk)
        if launcher is not None and launcher in readable:
            _relay(kernel, launcher)
        status = _reap_kernel(kernel)
        if status is not None:
            processes.kill_descendants(me)
            _log(peak.line())
            if launcher is not None:
                from gpukit.sandbox import warm
                warm.tell_exit(launcher, status)
            return status
        tree = processes.descendants(me)
        if len(tree) > settings.process_limit:
            peak.update(peak.memory_bytes, len(tree))
            _stop(kernel, f"it ran more than {settings.process_limit} processes at once "
                  f"(process_limit = {settings.process_limit})")
        meter.measure(tree)
        used = meter.used_bytes
        peak.update(used, len(tree))
        if used > limit_bytes:
            _stop(kernel, f"it used {used / 2**20:.0f} MB of memory, more than "
                  f"memory_limit_mb = {settings.memory_limit_mb}")


def _relay(kernel: int, launcher: socket.socket) -> None:
    """What the launcher of a warm start passed on: an interrupt goes to the kernel's process
    group, as jupyter_client sends it to a cold one's; a termination, or the launcher's end
    (killed by jupyter_client), ends the kernel."""
    from gpukit.sandbox import warm

    signum = warm.read_signal(launcher)
    if signum == signal.SIGINT:
        os.killpg(os.getpgrp(), signal.SIGINT)  # this supervisor ignores it
    elif signum is not None:
        _end(kernel, 128 + signum)


class MemoryMeter(threading.Thread):
    """Measures the memory of the latest process tree it was given, beside the supervisor's
    loop and never in it.

    A process's fair share (smaps_rollup) cannot be read while that process forks: the read
    waits for the fork, and a fork bomb forks without pause (the loop stalled 10-30 s, long
    past the cell's timeout, before it counted the processes again). So the loop counts and
    this thread measures. The resident sizes, which /proc/PID/stat gives without waiting, bound
    the fair share from above: the fair share is read only when they pass the limit.
    """

    def __init__(self, limit_bytes: int):
        super().__init__(name="memory-meter", daemon=True)
        self.limit_bytes = limit_bytes
        self.used_bytes = 0
        self._tree: dict[int, int] = {}
        self._new_tree = threading.Event()

    def measure(self, tree: dict[int, int]) -> None:
        self._tree = tree
        self._new_tree.set()

    def run(self) -> None:
        while True:
            self._new_tree.wait()
            self._new_tree.clear()
            tree = self._tree
            used = sum(tree.values())
            if used > self.limit_bytes:
                used = sum(processes.memory_bytes(pid, resident)
                           for pid, resident in tree.items())
            self.used_bytes = used


@dataclass
class Peak:
    """The most memory and processes the kernel's tree used, reported when it ends (what an
    instructor needs to set memory_limit_mb and process_limit)."""

    memory_bytes: int = 0
    processes: int = 0

    def update(self, memory_bytes: int, processes: int) -> None:
        self.memory_bytes = max(self.memory_bytes, memory_bytes)
        self.processes = max(self.processes, processes)

    def line(self) -> str:
        plural = "es" if self.processes != 1 else ""
        return (f"{PEAK_MARKER} {self.memory_bytes / 2**20:.0f} MB of memory, "
                f"{self.processes} process{plural}")


def _reap_kernel(kernel: int) -> int | None:
    """The kernel's exit code once it has exited; other children (orphans) are reaped too."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return 1
        if pid == 0:
            return None
        if pid == kernel:
            return os.waitstatus_to_exitcode(status)


def _stop(kernel: int, reason: str) -> None:
    _log(f"{STOP_MARKER} {reason}")
    _end(kernel, 1)


def _end(kernel: int, code: int) -> None:
    processes.kill_descendants(os.getpid())
    os._exit(code)


def _log(line: str) -> None:
    os.write(2, (line + "\n").encode())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
