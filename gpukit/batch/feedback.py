"""Feedback pages, made beside the grading rather than on each job's path.

A feedback page needs the grades, not the kernel: once the writer has put a submission's scores
and autograded notebook into the course (writer.py), one nbgrader process of the batch's own
renders the page there, as `nbgrader generate_feedback` would (the kit's exporter: no hidden
tests, cleaned markup, a Content-Security-Policy), while the workers grade the next notebooks.
A job is then done when its grades are; the page follows within a second or so, and the batch
waits for the last ones before it ends. What was made (or why nothing was) comes back to the
writer on the batch's own thread (:meth:`FeedbackPages.finished`), so the writer stays the one
writer.

A batch stopped before every page was made loses nothing: the next run makes the pages of the
records it keeps that have none in the output folder.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path
from queue import Empty, Queue

from gpukit.batch.nbgrader_job import FEEDBACK_FAILED, Server
from gpukit.config import Lab, LoadedConfig
from gpukit.errors import NbgraderError

FEEDBACK_TIMEOUT_S = 300  # one page; nbgrader takes about a second for the first


class FeedbackPages:
    """A queue of students whose pages to make in ``loaded``'s course, worked by one thread and
    one nbgrader process, started on the first page."""

    def __init__(self, loaded: LoadedConfig, lab: Lab):
        self.loaded, self.lab = loaded, lab
        self._wanted: Queue[str | None] = Queue()
        self._made: Queue[tuple[str, str]] = Queue()
        self._logs = Path(tempfile.mkdtemp(prefix="gpukit-feedback-"))
        self.seconds: list[float] = []  # each page's time, for the benchmark
        self._server = Server({})
        self._server.start()  # nbgrader imported before the first page is wanted
        self._thread = threading.Thread(target=self._work, name="gpukit-feedback", daemon=True)
        self._thread.start()

    def make(self, student: str) -> None:
        """Make ``student``'s page once their grades are in the course."""
        self._wanted.put(student)

    def finished(self) -> list[tuple[str, str]]:
        """The pages made since the last call: (student, why there is no page or "")."""
        made = []
        while True:
            try:
                made.append(self._made.get_nowait())
            except Empty:
                return made

    def close(self) -> list[tuple[str, str]]:
        """Wait for the pages asked for; return the ones not yet collected by finished()."""
        self._wanted.put(None)
        self._thread.join()
        shutil.rmtree(self._logs, ignore_errors=True)
        return self.finished()

    def _work(self) -> None:
        try:
            while (student := self._wanted.get()) is not None:
                began = time.monotonic()
                self._made.put((student, self._render(self._server, student)))
                self.seconds.append(time.monotonic() - began)
        finally:
            self._server.close()

    def _render(self, server: Server, student: str) -> str:
        what = f"nbgrader generate_feedback {self.lab.name} --student {student}"
        try:
            log = server.grade(self.loaded.root, self.lab.name, student, step="feedback",
                               timeout_s=FEEDBACK_TIMEOUT_S, what=what, logs=self._logs)
        except NbgraderError as error:
            return error.message
        return next((line.split(FEEDBACK_FAILED, 1)[1].strip() for line in log.splitlines()
                     if FEEDBACK_FAILED in line), "")
