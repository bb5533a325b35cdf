"""The process tree under one process, read from /proc: its members, their memory, its end.

A kernel's processes can leave its process group (setsid) or be orphaned (double fork); the
supervisor makes itself a child subreaper, so orphans are re-parented to it and stay in its tree.
"""

from __future__ import annotations

import ctypes
import os
import signal
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def become_subreaper() -> None:
    _prctl(PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent() -> None:
    """Have this process killed when its parent dies, however it dies (a kernel with its
    supervisor, a supervisor with nbgrader, a grading job with its batch)."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _stat(pid: str) -> tuple[int, int] | None:
    """(parent pid, resident pages) of a live process; None if it is gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = text[text.rindex(")") + 2:].split()
    if fields[0] in "ZX":  # exited, waiting to be reaped: holds no memory, runs nothing
        return None
    return int(fields[1]), int(fields[21])


def memory_bytes(pid: int, resident: int) -> int:
    """A process's proportional set size: its own pages, plus its share of pages it shares.

    Forked processes (DataLoader workers, a fork bomb) share their parent's pages copy-on-write;
    adding up resident sizes would count those pages once per process. Falls back to the
    resident size where smaps_rollup is missing (kernels before 4.14) or unreadable.
    """
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resident


def descendants(root: int) -> dict[int, int]:
    """Every process below ``root``: pid -> resident bytes (see memory_bytes for the fair
    share of memory)."""
    parents: dict[int, int] = {}
    resident: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(entry)
            if stat:
                parents[int(entry)], resident[int(entry)] = stat[0], stat[1] * PAGE_SIZE
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found: dict[int, int] = {}
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        if pid not in found:
            found[pid] = resident[pid]
            stack.extend(children.get(pid, []))
    return found


def kill_descendants(root: int, rounds: int = 50, keep: frozenset[int] = frozenset()) -> None:
    """SIGKILL everything below ``root`` but the processes in ``keep`` (what is below them
    goes too), again until nothing is left (a fork bomb refills)."""
    for _ in range(rounds):
        pids = [pid for pid in descendants(root) if pid not in keep]
        if not pids:
            return
        for pid in pids:  # stop them all first, so none forks while the others die
            _signal(pid, signal.SIGSTOP)
        for pid in pids:
            _signal(pid, signal.SIGKILL)
        reap()


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def reap() -> None:
    """Collect exited children (orphans re-parented to a subreaper are its children)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
