"""``python -m gpukit.course.nbgrader_job ASSIGNMENT STUDENT``: one grading job's nbgrader.

Run in a job's scratch course directory (gpukit/course/job.py): it autogrades the student's
submission and generates their feedback in one process, through nbgrader's API as formgrader
calls it, so the course's nbgrader_config.py decides every step. nbgrader's log goes to stderr;
the exit status is 1 when autograding failed.

The process is a subreaper: what a grading kernel leaves behind is re-parented here and ended
when the job ends, so jobs running side by side only ever end their own processes. It dies
with the batch that started it (and its kernel with it), so a batch killed outright leaves no
grading behind.
"""

from __future__ import annotations

import os
import sys

from gpukit.sandbox import processes


def main(argv: list[str]) -> int:
    assignment, student = argv
    try:
        processes.become_subreaper()
        processes.die_with_parent()
    except OSError:  # not Linux: the caller's timeout still ends the process group
        pass
    from nbgrader.apps import NbGraderAPI
    from nbgrader.apps.baseapp import NbGrader
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory

    app = NbGrader()
    app.load_config_file()
    api = NbGraderAPI(CourseDirectory(parent=app), Authenticator(parent=app), parent=app)
    try:
        graded = api.autograde(assignment, student)
        sys.stderr.write(graded.get("log", "") + graded.get("error", ""))
        if not graded["success"]:
            return 1
        feedback = api.generate_feedback(assignment, student)
        sys.stderr.write(feedback.get("log", "") + feedback.get("error", ""))
        return 0 if feedback["success"] else 1
    finally:
        processes.kill_descendants(os.getpid())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
