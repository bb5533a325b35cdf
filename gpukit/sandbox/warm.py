"""Grading kernels started ahead: a kernel server imports the grader once and forks each kernel.

A grading kernel spends seconds importing PyTorch and the checks before the notebook's first
cell; a worker that grades submission after submission paid them every time. A local worker's
nbgrader process (gpukit/batch/nbgrader_job.py) therefore starts a *kernel server*
(``python -P -m gpukit.sandbox.warm ADDRESS``) beside it, which imports what every kernel
imports (kernel.load_grader: no device touched, no thread started) and then waits. nbgrader still
starts each kernel through the gpukit-sandbox kernelspec; that command finds the server's address
in its environment (SERVER_VARIABLE) and becomes a *launcher*: it hands the server its
environment, working folder and standard streams, and the server forks a fresh process that runs
the sandbox from its first step (kernel.run: the walls of this job, then the kernel and its
supervisor). A kernel is used once, as before; only the imports are shared, copy-on-write.

The launcher stands in for the kernel towards jupyter_client: it passes interrupts and
terminations on, exits with the kernel's status, and when jupyter_client kills it outright the
kernel's supervisor sees the connection end and ends the kernel.

The server listens on an abstract Unix socket, which exists only in the network namespace it was
made in: a grading kernel, in a namespace of its own, cannot reach it and ask for a kernel outside
the walls. Connections from another user are refused (SO_PEERCRED).
"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import socket
import struct
import subprocess
import sys

from gpukit.sandbox import processes

SERVER_VARIABLE = "GPUKIT_KERNEL_SERVER"  # the address kernels launched here are forked from
_HEADER = struct.Struct("!I")
_CREDENTIALS = struct.Struct("3i")  # SO_PEERCRED: pid, uid, gid
REQUEST_TIMEOUT_S = 10.0


def new_address() -> str:
    return f"gpukit-kernels-{os.getuid()}-{os.getpid()}-{secrets.token_hex(6)}"


def start_server(address: str) -> subprocess.Popen:
    """A kernel server for kernels launched from this process: call before the first kernel,
    with SERVER_VARIABLE set to ``address`` in the environment they inherit. It listens at
    once and imports while the first launcher waits; it dies with this process."""
    return subprocess.Popen([sys.executable, "-P", "-m", "gpukit.sandbox.warm", address],
                            cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


# --------------------------------------------------------------------------------------------
# The launcher: the process jupyter_client started.
# --------------------------------------------------------------------------------------------


def launch(address: str, argv: list[str]) -> int | None:
    """Have the server at ``address`` start the kernel ``argv`` describes, here; return its exit
    status, or None when there is no server (the caller starts the kernel itself)."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect("\0" + address)
    except OSError:
        connection.close()
        return None
    try:
        processes.die_with_parent()
    except OSError:
        pass
    request = json.dumps({"argv": argv, "cwd": os.getcwd(), "environment": dict(os.environ)})
    data = request.encode()
    socket.send_fds(connection, [_HEADER.pack(len(data))], [0, 1, 2])
    connection.sendall(data)

    def pass_on(signum: int, _frame) -> None:
        try:
            connection.sendall(f"signal {signum}\n".encode())
        except OSError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, pass_on)
    answer = b""
    while True:
        chunk = connection.recv(64)
        if not chunk:  # the supervisor ended without saying how: the kernel is gone
            return 1
        answer += chunk
        if answer.endswith(b"\n"):
            return int(answer.split()[-1])


def read_signal(connection: socket.socket) -> int | None:
    """The signal a launcher passed on (its connection readable); SIGKILL when it ended."""
    try:
        data = connection.recv(64)
    except OSError:
        data = b""
    if not data:
        return signal.SIGKILL
    numbers = [int(word) for word in data.split() if word.isdigit()]
    return numbers[-1] if numbers else None


def tell_exit(connection: socket.socket, status: int) -> None:
    try:
        connection.sendall(f"exit {status}\n".encode())
    except OSError:
        pass


# --------------------------------------------------------------------------------------------
# The server.
# --------------------------------------------------------------------------------------------


def serve(address: str) -> int:
    try:
        processes.die_with_parent()
    except OSError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind("\0" + address)
    listener.listen(16)
    from gpukit.sandbox import kernel

    kernel.load_grader()  # launchers that came meanwhile wait in the backlog
    while True:
        processes.reap()  # the supervisors of kernels that ended
        ready, _, _ = select.select([listener], [], [], 1.0)
        if not ready:
            continue
        connection, _ = listener.accept()
        try:
            request, streams = _receive(connection)
        except (OSError, ValueError):
            connection.close()
            continue
        child = os.fork()
        if child == 0:
            listener.close()
            os._exit(_start_kernel(connection, request, streams))
        for fd in streams:
            os.close(fd)
        connection.close()


def _receive(connection: socket.socket) -> tuple[dict, list[int]]:
    """A launcher's request and its standard streams; refused from another user."""
    pid, uid, gid = _CREDENTIALS.unpack(connection.getsockopt(
        socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDENTIALS.size))
    if uid != os.getuid():
        raise ValueError(f"a connection from uid {uid}")
    connection.settimeout(REQUEST_TIMEOUT_S)
    header, streams, _, _ = socket.recv_fds(connection, _HEADER.size, 3)
    if len(header) != _HEADER.size or len(streams) != 3:
        for fd in streams:
            os.close(fd)
        raise ValueError("an incomplete request")
    (size,) = _HEADER.unpack(header)
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise ValueError("an incomplete request")
        data += chunk
    connection.settimeout(None)
    return json.loads(data), streams


def _start_kernel(connection: socket.socket, request: dict, streams: list[int]) -> int:
    """In the forked child: become what the launcher's command would have been, then run the
    sandbox (kernel.run) from its first step."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()  # the kernel's process group, which interrupts go to
        for target, fd in enumerate(streams):
            os.dup2(fd, target)
            os.close(fd)
        os.environ.clear()
        os.environ.update(request["environment"])
        os.chdir(request["cwd"])
        processes.die_with_parent()
        from gpukit.sandbox import kernel

        return kernel.run(request["argv"], launcher=connection)
    except BaseException as error:  # noqa: BLE001  (anything: the launcher must hear of it)
        os.write(2, f"gpukit-sandbox: the kernel server could not start the kernel: "
                    f"{type(error).__name__}: {error}\n".encode())
        return 1


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))
