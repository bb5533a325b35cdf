"""One small hierarchy of errors, each carrying what went wrong and what to do about it.

The CLI catches :class:`GpukitError` and prints ``str(error)`` without a traceback, so every
message must stand on its own: name the file, field or dataset, and say what the reader can do.
"""

from __future__ import annotations

# The base class and the dataset error live in the student runtime, which the kit depends on:
# one hierarchy for both packages.
from gpukit_student.errors import DatasetError, GpukitError

__all__ = ["ConfigError", "DatasetError", "GpukitError", "NbgraderError", "TemplateError"]


class ConfigError(GpukitError):
    """grading_config.py is missing, does not load, or holds an invalid value."""


class TemplateError(GpukitError):
    """A lab template failed to render or to parse into a notebook."""


class NbgraderError(GpukitError):
    """An nbgrader step (release, solution, autograde) failed; ``log`` is its whole output."""

    def __init__(self, message: str, *, hint: str | None = None, log: str = ""):
        super().__init__(message, hint=hint)
        self.log = log
