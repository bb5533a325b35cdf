"""The grader's side of the kernel: hidden checks, probes, and what they report.

The cell clock the notebooks install is the student runtime's (gpukit_student.clock): students
have it too, since the lab's setup cell calls it.

Hidden test cells of a master notebook hold one line, ``check(assignment, name, globals())``;
the check itself is a pytest test in the course's ``autograder/<assignment>/`` (autograder.py),
which ``gpukit release`` writes from the lab folder's ``checks.py`` and which is never released.
runner.py is the harness every way of grading uses. Nothing here reads the course's
configuration. See gpukit/labs/README.md for how checks work and each lab's README.md for what
its checks verify.
"""

from typing import Any


def check(assignment: str, name: str, namespace: dict[str, Any]) -> None:
    """Run one hidden check (see gpukit.grading.runner.check).

    Imported lazily: the hidden cells import this package, and students' kernels
    should not load pytest for it. Returns nothing: the outcome is displayed, and a value left
    as the cell's result would be read by nbgrader as a partial-credit score.
    """
    from gpukit.grading.runner import check as run_and_show

    run_and_show(assignment, name, namespace)


__all__ = ["check"]
