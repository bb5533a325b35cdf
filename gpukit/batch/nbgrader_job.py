"""A grading job's nbgrader process: autograde one student and generate their feedback.

Run in a job's scratch course directory (gpukit/batch/job.py), it grades through nbgrader's API
as formgrader calls it, so the course's nbgrader_config.py decides every step. Two ways to run:

* ``python -m gpukit.batch.nbgrader_job ASSIGNMENT STUDENT``: one job, in the current
  directory; nbgrader's log on stderr; exit status 1 when autograding failed.
* ``python -m gpukit.batch.nbgrader_job --serve``: a local worker's process, which grades job
  after job, so that importing nbgrader (seconds) is paid once per worker, not once per
  submission. It reads one request per line on stdin (JSON: the scratch course, the assignment,
  the student), grades it there, writes nbgrader's log to ``job.log`` in that course, and
  answers one line on stdout (JSON: ``{"ok": true}``). Whoever runs it (:class:`Server`) kills it
  when a job outruns its time, and starts another.

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
from gpukit.sandbox import processes

LOG_NAME = "job.log"
KERNEL_LOG_NAME = "kernel.log"
# The log line of a feedback page that could not be made after the notebook was graded: the
# grade stands (feedback rendering is not grading), and the record says why there is no page.
FEEDBACK_FAILED = "gpukit-feedback-failed:"


def grade(assignment: str, student: str) -> tuple[bool, str]:
    """Autograde and generate feedback in the current directory's course: (autograded, log).

    A feedback page that fails after autograding succeeded leaves the grade as it is: its
    exception goes into the log on a FEEDBACK_FAILED line."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.apps.baseapp import NbGrader
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory

    app = NbGrader()
    app.load_config_file()
    api = NbGraderAPI(CourseDirectory(parent=app), Authenticator(parent=app), parent=app)
    try:
        graded = api.autograde(assignment, student)
        log = graded.get("log", "") + graded.get("error", "")
        if not graded["success"]:
            return False, log
        feedback = api.generate_feedback(assignment, student)
        log += feedback.get("log", "") + feedback.get("error", "")
        if not feedback["success"]:
            log += f"\n{FEEDBACK_FAILED} {last_exception(feedback.get('error', ''))}\n"
        return True, log
    finally:
        processes.kill_descendants(os.getpid())


def last_exception(text: str) -> str:
    """The exception a traceback or log ends with ("ValueError: ..."), else its last line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    named = [line for line in lines if _EXCEPTION_LINE.match(line)]
    return (named or lines or ["no error text"])[-1][:500]


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b:?")


def serve() -> int:
    jupyter_path = os.environ.get("JUPYTER_PATH", "")
    standard_error = os.dup(2)
    for line in sys.stdin:
        request = json.loads(line)
        os.chdir(request["root"])
        os.environ["JUPYTER_PATH"] = jupyter_path  # each course installs its own kernelspec
        # The kernel inherits file descriptor 2: what its supervisor says (a limit that stopped
        # it, its peak) goes into this job's log, as it would in a one-job process.
        with open(KERNEL_LOG_NAME, "wb") as kernel_log:
            os.dup2(kernel_log.fileno(), 2)
        try:
            ok, log = grade(request["assignment"], request["student"])
        except Exception as error:  # nbgrader's own failure: reported, the worker lives on
            ok, log = False, f"{type(error).__name__}: {error}"
        finally:
            os.dup2(standard_error, 2)
        Path(LOG_NAME).write_text(log + Path(KERNEL_LOG_NAME).read_text(errors="replace"))
        sys.stdout.write(json.dumps({"ok": ok}) + "\n")
        sys.stdout.flush()
    return 0


def main(argv: list[str]) -> int:
    try:
        processes.become_subreaper()
        processes.die_with_parent()
    except OSError:  # not Linux: the caller's timeout still ends the process group
        pass
    if argv == ["--serve"]:
        return serve()
    ok, log = grade(*argv)
    sys.stderr.write(log)
    return 0 if ok else 1


class Server:
    """A ``--serve`` process, started on first use and again after one was killed."""

    def __init__(self, environment: dict[str, str]):
        self.environment = environment
        self.process: subprocess.Popen | None = None

    def grade(self, root: Path, assignment: str, student: str, *, timeout_s: float,
              what: str) -> str:
        """Grade in ``root``; return nbgrader's log, or raise as nbgrader_steps.run_command."""
        from gpukit.course import nbgrader_steps

        if self.process is None or self.process.poll() is not None:
            self.process = nbgrader_steps.start_server(
                [sys.executable, "-m", "gpukit.batch.nbgrader_job", "--serve"],
                self.environment)
        request = json.dumps({"root": str(root), "assignment": assignment, "student": student})
        self.process.stdin.write(request + "\n")
        self.process.stdin.flush()
        answer = self._answer(timeout_s)
        if answer is None:  # too long: the worker goes, with its kernel
            self.close()
            raise nbgrader_steps.NbgraderTimeout(f"`{what}` ran longer than {timeout_s:.0f} s "
                                                 "and was stopped.", log=_log(root))
        if answer == "died":
            self.close()
            raise NbgraderError(f"`{what}`: its worker process ended.", log=_log(root))
        return nbgrader_steps.check_log(what, root, 0 if answer["ok"] else 1, _log(root))

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
