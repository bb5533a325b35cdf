"""pytest autograder/ [--notebook PATH]: the course's hidden checks on a notebook.

Written by `gpukit release` from the kit (gpukit/release/autograder.py)
and grading_config.py: change those, then run `gpukit release`; never edit this file.
"""

from gpukit.pipeline.plain_pytest import (  # noqa: F401
    pytest_addoption,
    pytest_configure,
    pytest_terminal_summary,
)
