"""An nbgrader process of a batch: autograde one student, or render one feedback page.

It works through nbgrader's API as formgrader calls it, so the course's nbgrader_config.py
decides every step (STEPS). Two ways to run:

* ``python -m gpukit.batch.nbgrader_job ASSIGNMENT STUDENT``: autograde one job, in the current
  directory (a job's scratch course, gpukit/batch/job.py); nbgrader's log on stderr; exit
  status 1 when autograding failed.
* ``python -m gpukit.batch.nbgrader_job --serve [--kernels]``: a process kept from request to
  request, so that importing nbgrader (seconds) is paid once, not once per submission: a local
  worker's (``--kernels``: autograde, its kernels forked by a kernel server that imported the
  grader once: gpukit/sandbox/warm.py) or the batch's feedback pages' (gpukit/batch/feedback.py,
  in the course). It reads one request per line on stdin (JSON: the course folder, the assignment,
  the student, the step, where to write logs), writes nbgrader's log to ``job.log`` there,
  and answers one line on stdout (JSON: ``{"ok": true}``). Whoever runs it (:class:`Server`)
  kills it when a request outruns its time, and starts another.

The process is a subreaper: what a grading kernel leaves behind is re-parented here and ended
after each job, so jobs running side by side only ever end their own processes. It dies with the
batch that started it (and its kernel with it), so a batch killed outright leaves no grading
behind.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from gpukit.errors import NbgraderError
from gpukit.sandbox import processes, warm

LOG_NAME = "job.log"
KERNEL_LOG_NAME = "kernel.log"
PHASES_NAME = "phases.json"  # how long nbgrader's steps took: {"autograde": s, "feedback": s}
# The log line of a feedback page that could not be made after the notebook was graded: the
# grade stands (feedback rendering is not grading), and the record says why there is no page.
FEEDBACK_FAILED = "gpukit-feedback-failed:"


def autograde(assignment: str, student: str) -> tuple[bool, str]:
    """Autograde one student in the current directory's course: (autograded, log). How long
    nbgrader's configuration and autograding took goes to PHASES_NAME."""
    phases, began = {}, time.monotonic()
    api = _api()
    phases["configuration"] = _since(began)
    try:
        graded = api.autograde(assignment, student)
        phases["autograde"] = _since(began) - phases["configuration"]
        return graded["success"], graded.get("log", "") + graded.get("error", "")
    finally:
        Path(PHASES_NAME).write_text(json.dumps(phases))
        processes.kill_descendants(os.getpid(), keep=_KEPT)


def render_feedback(assignment: str, student: str) -> tuple[bool, str]:
    """Generate one student's feedback page in the current directory's course (graded
    before): (True, log); a page that could not be made says why on a FEEDBACK_FAILED line."""
    feedback = _api().generate_feedback(assignment, student)
    log = feedback.get("log", "") + feedback.get("error", "")
    if not feedback["success"]:
        log += f"\n{FEEDBACK_FAILED} {last_exception(feedback.get('error', ''))}\n"
    return True, log


STEPS = {"autograde": autograde, "feedback": render_feedback}


def _api():
    from nbgrader.apps import NbGraderAPI
    from nbgrader.apps.baseapp import NbGrader
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory

    app = NbGrader()
    app.load_config_file()
    return NbGraderAPI(CourseDirectory(parent=app), Authenticator(parent=app), parent=app)


_KEPT: frozenset[int] = frozenset()  # this process's kernel server, kept from job to job


def _start_kernel_server() -> None:
    """Kernels started ahead: a kernel server imports the grader once and forks every kernel
    this process starts from then on (gpukit/sandbox/warm.py)."""
    global _KEPT
    if not _KEPT:
        address = warm.new_address()
        os.environ[warm.SERVER_VARIABLE] = address
        _KEPT = frozenset([warm.start_server(address).pid])


def _since(began: float) -> float:
    return round(time.monotonic() - began, 3)


def last_exception(text: str) -> str:
    """The exception a traceback or log ends with ("ValueError: ..."), else its last line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    named = [line for line in lines if _EXCEPTION_LINE.match(line)]
    return (named or lines or ["no error text"])[-1][:500]


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b:?")


def serve(kernels: bool) -> int:
    if kernels:
        _start_kernel_server()
    import nbgrader.apps  # noqa: F401  (seconds: before the first request, not in it)

    jupyter_path = os.environ.get("JUPYTER_PATH", "")
    standard_error = os.dup(2)
    for line in sys.stdin:
        request = json.loads(line)
        step = request.get("step", "autograde")
        os.chdir(request["root"])
        logs = Path(request.get("logs") or request["root"])
        os.environ["JUPYTER_PATH"] = jupyter_path  # each course installs its own kernelspec
        # The kernel inherits file descriptor 2: what its supervisor says (a limit that stopped
        # it, its peak) goes into this job's log, as it would in a one-job process.
        with open(logs / KERNEL_LOG_NAME, "wb") as kernel_log:
            os.dup2(kernel_log.fileno(), 2)
        try:
            ok, log = STEPS[step](request["assignment"], request["student"])
        except Exception as error:  # nbgrader's own failure: reported, the worker lives on
            ok, log = False, f"{type(error).__name__}: {error}"
        finally:
            os.dup2(standard_error, 2)
        (logs / LOG_NAME).write_text(log + (logs / KERNEL_LOG_NAME).read_text(errors="replace"))
        sys.stdout.write(json.dumps({"ok": ok}) + "\n")
        sys.stdout.flush()
    return 0


def main(argv: list[str]) -> int:
    try:
        processes.become_subreaper()
        processes.die_with_parent()
    except OSError:  # not Linux: the caller's timeout still ends the process group
        pass
    if argv[:1] == ["--serve"]:
        return serve(kernels="--kernels" in argv)
    ok, log = autograde(*argv)
    sys.stderr.write(log)
    return 0 if ok else 1


class Server:
    """A ``--serve`` process, started on first use (or by start()) and again after one was
    killed; with ``kernels``, a grading worker's, whose kernels are forked by a kernel server."""

    def __init__(self, environment: dict[str, str], kernels: bool = False):
        self.environment = environment
        self.command = [sys.executable, "-m", "gpukit.batch.nbgrader_job", "--serve",
                        *(["--kernels"] if kernels else [])]
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the process now (it imports nbgrader, and starts its kernel server, while
        whoever started it goes on), unless it runs."""
        from gpukit.course import nbgrader_steps

        if self.process is None or self.process.poll() is not None:
            self.process = nbgrader_steps.start_server(self.command, self.environment)

    def grade(self, root: Path, assignment: str, student: str, *, timeout_s: float,
              what: str, step: str = "autograde", logs: Path | None = None) -> str:
        """Run ``step`` (a name of STEPS) in the course ``root``, its logs written in ``logs``
        (default: ``root``); return nbgrader's log, or raise as nbgrader_steps.run_command."""
        from gpukit.course import nbgrader_steps

        self.start()
        logs = logs or root
        request = json.dumps({"root": str(root), "assignment": assignment, "student": student,
                              "step": step, "logs": str(logs)})
        self.process.stdin.write(request + "\n")
        self.process.stdin.flush()
        answer = self._answer(timeout_s)
        if answer is None:  # too long: the worker goes, with its kernel
            self.close()
            raise nbgrader_steps.NbgraderTimeout(f"`{what}` ran longer than {timeout_s:.0f} s "
                                                 "and was stopped.", log=_log(logs))
        if answer == "died":
            self.close()
            raise NbgraderError(f"`{what}`: its worker process ended.", log=_log(logs))
        return nbgrader_steps.check_log(what, root, 0 if answer["ok"] else 1, _log(logs))

    def _answer(self, timeout_s: float) -> dict | str | None:
        """The worker's answer; "died" when it ended; None when the time ran out."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.process.stdout], [], [], left)
            if ready:
                line = self.process.stdout.readline()
                return json.loads(line) if line else "died"

    def close(self) -> None:
        from gpukit.course import nbgrader_steps

        if self.process is None:
            return
        if self.process.poll() is None:
            processes.kill_descendants(self.process.pid)
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()
        nbgrader_steps.forget(self.process)
        self.process = None


def _log(root: Path) -> str:
    parts = [root / LOG_NAME, root / KERNEL_LOG_NAME]
    return next((path.read_text(errors="replace") for path in parts if path.is_file()), "")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
