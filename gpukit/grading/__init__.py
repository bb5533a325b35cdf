"""The grader's side of the kernel: hidden checks, probes, and what they report.

Hidden test cells of a master notebook hold one line, ``check(assignment, name, globals())``;
the check itself is a pytest test in the course's ``autograder/`` directory, which is never
released. See autograder/README.md for what each check verifies.
"""

from gpukit.grading.runner import check

__all__ = ["check"]
