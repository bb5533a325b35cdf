"""Network and file isolation for a grading kernel, with Linux namespaces (no root needed).

The kernel process enters a new network namespace (only a loopback interface, down: no
network at all; the kernel talks to nbgrader over Unix sockets, which namespaces do not cut)
and a new mount namespace in which

* the course directory (and any path in ``read_only``) is mounted read-only: the hidden checks,
  grading_config.py and the release stay readable, nothing can be changed;
* ``hidden`` paths are covered: directories by an empty read-only tmpfs, files by /dev/null
  (the gradebook, the other students' submissions, autograded notebooks and feedback, and the
  folder of the other grading jobs running beside this one);
* what a covered directory holds that the kernel needs is put back: the course directory
  (read-only: a grading job's scratch course lives inside the covered jobs folder) and the
  kernel's working directory (its own autograded folder, writable).

An unprivileged user gets the same through a user namespace mapping only its own uid. When the
platform refuses namespaces (some container runtimes, hardened kernels), :func:`isolate` raises
:class:`IsolationUnavailable` with the reason and grading goes on without isolation.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
# statvfs flags -> mount flags: a read-only remount must repeat the locked flags it inherits.
_KEPT_FLAGS = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC,
               os.ST_NOATIME: MS_NOATIME, os.ST_NODIRATIME: MS_NODIRATIME,
               os.ST_RELATIME: MS_RELATIME}
O_PATH = getattr(os, "O_PATH", 0o10000000)


class IsolationUnavailable(Exception):
    """The platform refused a namespace or mount; the message says which and why."""


_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise IsolationUnavailable(f"{what}: {os.strerror(error)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    _check(_libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)),
           f"mount {target}")


def _bytes(text: str | None) -> bytes | None:
    return text.encode() if text is not None else None


def isolate(read_only: list[str], hidden: list[str], workdir: str,
            course_root: str | None = None) -> list[str]:
    """Enter the namespaces and arrange the mounts; return what was done, in words.

    Must run while the process has a single thread (a user namespace requires it).
    """
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNS | CLONE_NEWNET | (CLONE_NEWUSER if os.geteuid() != 0 else 0)
    _check(_libc.unshare(flags), "unshare (network and mount namespaces)")
    if flags & CLONE_NEWUSER:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here leaks to the grader
    done = ["no network"]

    # Held open before anything covers them, to be put back afterwards: the course (read-only)
    # and the working directory (writable), outermost first.
    kept = [Kept(path, os.open(path, O_PATH | os.O_DIRECTORY), writable)
            for path, writable in ((course_root, False), (workdir, True)) if path]
    try:
        for path in _existing(read_only):
            _mount(path, path, None, MS_BIND | MS_REC)
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _kept_flags(path))
            done.append(f"read-only {path}")
        for path in sorted(_existing(hidden), key=lambda p: len(Path(p).parts)):
            if os.path.isdir(path):
                _cover(path, [k for k in kept if _inside(k.path, path)])
            else:
                _mount("/dev/null", path, None, MS_BIND)
            done.append(f"hidden {path}")
        os.chdir(workdir)
    finally:
        for k in kept:
            os.close(k.fd)
    return done


@dataclass(frozen=True)
class Kept:
    """A path to put back inside a covered directory, by the descriptor opened before."""

    path: str
    fd: int
    writable: bool


def _existing(paths: list[str]) -> list[str]:
    return [str(Path(p).resolve()) for p in dict.fromkeys(paths) if os.path.exists(p)]


def _inside(path: str, directory: str) -> bool:
    return Path(path).resolve().is_relative_to(Path(directory).resolve())


def _kept_flags(path: str) -> int:
    current = os.statvfs(path).f_flag
    return sum(ms for st, ms in _KEPT_FLAGS.items() if current & st)


def _cover(directory: str, kept: list[Kept]) -> None:
    """Cover a directory with an empty read-only tmpfs; put the kept paths back in it."""
    options = "size=64k,mode=755"
    _mount("tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV, options)
    for k in kept:  # outermost first: the course, then the working directory inside it
        os.makedirs(k.path, exist_ok=True)
        _mount(f"/proc/self/fd/{k.fd}", k.path, None, MS_BIND | MS_REC)
        if not k.writable:
            _mount(None, k.path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _kept_flags(k.path))
    # Read-only from here; the kept paths are mounts of their own and keep their flags.
    _mount(None, directory, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, options)
