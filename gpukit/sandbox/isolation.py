"""Network and file isolation for a grading kernel, with Linux namespaces (no root needed).

The kernel process enters a new network namespace (only a loopback interface, down: no
network at all; the kernel talks to nbgrader over Unix sockets, which namespaces do not cut)
and a new mount namespace in which

* paths in ``read_only`` are mounted read-only (the data, the grader's Python environment);
* ``hidden`` paths are covered: directories by an empty read-only tmpfs, files by /dev/null.
  The whole course is hidden (its master notebooks, solutions, rubrics, gradebook, other
  students' work, a git history), and so are the folder of the grading jobs running beside this
  one and the instructor-only files of the labs (their templates, fixtures and demos);
* what a covered directory holds that the kernel needs is put back, by an allow-list: the
  ``shown`` paths read-only (the course's settings and its labs' checks, the data, the kit) and
  the kernel's working directory (its own autograded folder) writable.

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
            shown: list[str] = ()) -> list[str]:
    """Enter the namespaces and arrange the mounts; return what was done, in words.

    ``shown`` (files or folders) and ``workdir`` are put back inside whatever hidden folder
    holds them. Must run while the process has a single thread (a user namespace requires it).
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

    # Held open before anything covers them, to be put back afterwards, outermost first. A
    # kept path keeps the name it was given (a link's name, as the course's labs/ in a job):
    # only the folders above it are resolved.
    wanted = [(path, False) for path in shown] + [(workdir, True)]
    kept = sorted((_keep(path, writable) for path, writable in wanted if os.path.exists(path)),
                  key=lambda k: len(Path(k.path).parts))
    try:
        for path in _existing(read_only):
            _mount(path, path, None, MS_BIND | MS_REC)
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _kept_flags(path))
            done.append(f"read-only {path}")
        for path in sorted(_existing(hidden), key=lambda p: len(Path(p).parts)):
            if not os.path.lexists(path):
                continue  # under a folder covered already
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
    folder: bool


def _keep(path: str, writable: bool) -> Kept:
    given = Path(os.path.abspath(path))
    where = str(given.parent.resolve() / given.name)
    folder = os.path.isdir(path)
    return Kept(where, os.open(path, O_PATH | (os.O_DIRECTORY if folder else 0)), writable,
                folder)


def _existing(paths: list[str]) -> list[str]:
    return [str(Path(p).resolve()) for p in dict.fromkeys(paths) if os.path.exists(p)]


def _inside(path: str, directory: str) -> bool:
    return Path(path) != Path(directory) and Path(path).is_relative_to(directory)


def _kept_flags(path: str) -> int:
    current = os.statvfs(path).f_flag
    return sum(ms for st, ms in _KEPT_FLAGS.items() if current & st)


def _cover(directory: str, kept: list[Kept]) -> None:
    """Cover a directory with an empty read-only tmpfs; put the kept paths back in it."""
    options = "size=64k,mode=755"
    _mount("tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV, options)
    for k in kept:  # outermost first: a kept folder, then what is kept inside it
        if k.folder:
            os.makedirs(k.path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(k.path), exist_ok=True)
            if not os.path.exists(k.path):
                os.close(os.open(k.path, os.O_CREAT | os.O_WRONLY, 0o644))
        _mount(f"/proc/self/fd/{k.fd}", k.path, None, MS_BIND | MS_REC)
        if not k.writable:
            _mount(None, k.path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _kept_flags(k.path))
    # Read-only from here; the kept paths are mounts of their own and keep their flags.
    _mount(None, directory, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, options)
